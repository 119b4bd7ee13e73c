//! GuardDuty's slower lists, read on their own interval inside the `guardduty` job: the
//! threat-intel sets, trusted IP sets and suppression rules of each detector and, in accounts
//! mode, the account's pending invitations.
//!
//! They change rarely and cost a call per set and per filter, so they are read on the first run
//! and then once `lists_interval` (30 minutes by default) has passed, within half a run
//! interval, so that a 5-minute job reads them every sixth run rather than every seventh. In
//! between, each part is reported again from what the job kept, so the snapshot holds its
//! families throughout. Each list is a part of its own ([`crate::collect::Part`]): a failing
//! ListFilters leaves the sets exported and names itself; a part that failed is read again on
//! the next run (not a whole `lists_interval` later), and meanwhile the store keeps its last
//! good families under the freshness rule.
//!
//! Calls when read, per detector: 1 + s ListThreatIntelSets / GetThreatIntelSet, 1 + i for IP
//! sets, 1 + f ListFilters / GetFilter (more with over 50 of one kind); per account and region
//! in accounts mode, 1 GetInvitationsCount, plus ListInvitations pages when any is pending.

pub mod api;
pub mod convert;

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::config::Settings;
use crate::aws::CollectError;
use crate::collect::{Collected, JobContext};
use crate::metrics::Family;

/// What a job keeps of its lists between two reads: per part, when it was read and its families.
#[derive(Debug, Default)]
pub struct State {
    parts: BTreeMap<String, (Instant, Vec<Family>)>,
    /// Whether the account is a member of an associated administrator (its sets are the
    /// administrator's), as last learnt from a members part that succeeded; `None` until one
    /// did (then the sets are read). A run whose members part fails keeps it, so that a
    /// throttled GetAdministratorAccount does not make a member export its administrator's sets
    /// for one run.
    pub managed: Option<bool>,
    /// The oldest findings as last read, kept while the counts stay the same (at most
    /// `lists_interval`): see [`super::api::oldest_kept`].
    pub oldest: Option<super::api::OldestRead>,
}

/// Which list a part reads.
#[derive(Clone, Copy)]
enum List {
    ThreatIntelSets,
    IpSets,
    Filters,
    Invitations,
}

/// Whether a job reads the threat-intel and trusted IP sets (see [`Read::sets`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Sets {
    /// Read them.
    Read,
    /// Not: the account is a managed member; its sets are its administrator's.
    Skip,
    /// Not known yet whether they are the account's own, because its members read failed for a
    /// passing cause (`kind`, `why`): their parts fail with it, and the store keeps what they
    /// last exported for the staleness window.
    Held {
        /// The members read's error kind.
        kind: crate::aws::ErrorKind,
        /// Its message.
        why: String,
    },
}

/// Which of the lists a job reads.
#[derive(Clone, Debug)]
pub struct Read {
    /// The threat-intel and trusted IP sets. Not for a member whose administrator is associated
    /// (relationship Enabled): the model's ListIPSets and ListThreatIntelSets say that "if you
    /// use this operation from a member account, the IPSets returned are the IPSets from the
    /// associated administrator account", so reading them there would export the
    /// administrator's sets once per member (and alert once per member on one set in ERROR),
    /// at a call per set each. The administrator's own job exports them.
    pub sets: Sets,
    /// The account's pending invitations (accounts mode).
    pub invitations: bool,
}

/// Adds the lists' parts of this run to `out`: for every detector in `detectors`, its filters
/// and, as `read` says, its sets and the account's invitations.
pub async fn parts(
    ctx: &JobContext<Settings>,
    state: &mut State,
    detectors: &[String],
    read: Read,
    out: &mut Collected,
) {
    let mut wanted: Vec<(String, List, Option<&str>)> = Vec::new();
    for id in detectors {
        if let Sets::Held { kind, why } = &read.sets {
            let c = &ctx.aws;
            for (name, op) in [
                ("threat intel sets", "ListThreatIntelSets"),
                ("trusted IP sets", "ListIPSets"),
            ] {
                let e = CollectError::new(
                    op,
                    &c.account_id,
                    &c.region,
                    *kind,
                    format!("not read: whether the account is a member whose sets are its administrator's is unknown until its members read succeeds ({why})"),
                );
                out.part(format!("{name} of detector {id}"), Err::<Vec<Family>, _>(e));
            }
        }
        if read.sets == Sets::Read {
            wanted.push((
                format!("threat intel sets of detector {id}"),
                List::ThreatIntelSets,
                Some(id.as_str()),
            ));
            wanted.push((
                format!("trusted IP sets of detector {id}"),
                List::IpSets,
                Some(id.as_str()),
            ));
        }
        wanted.push((
            format!("filters of detector {id}"),
            List::Filters,
            Some(id.as_str()),
        ));
    }
    if read.invitations {
        wanted.push(("invitations".into(), List::Invitations, None));
    }
    // A detector that is gone takes its kept parts with it.
    state
        .parts
        .retain(|name, _| wanted.iter().any(|(n, _, _)| n == name));

    let s = &ctx.settings;
    for (name, list, detector) in wanted {
        let kept = state
            .parts
            .get(&name)
            .filter(|(at, _)| !due(at.elapsed(), s.common.interval.0, s.lists_interval.0));
        if let Some((_, families)) = kept {
            out.part(name, Ok(families.clone()));
            continue;
        }
        let got = read_list(ctx, list, detector.unwrap_or("")).await;
        match &got {
            Ok(families) => {
                state
                    .parts
                    .insert(name.clone(), (Instant::now(), families.clone()));
            }
            Err(_) => {
                state.parts.remove(&name);
            }
        }
        out.part(name, got);
    }
}

/// Whether a list read `elapsed` ago is to be read again by a job that runs every `interval`.
pub fn due(elapsed: Duration, interval: Duration, lists_interval: Duration) -> bool {
    elapsed + interval / 2 >= lists_interval
}

async fn read_list(
    ctx: &JobContext<Settings>,
    list: List,
    detector: &str,
) -> Result<Vec<Family>, CollectError> {
    let c = &ctx.aws;
    let (account, region) = (c.account_id.as_str(), c.region.as_str());
    Ok(match list {
        List::ThreatIntelSets => {
            let sets = api::threat_intel_sets(c, detector).await?;
            convert::threat_intel_sets(account, region, &sets)
        }
        List::IpSets => {
            let sets = api::ip_sets(c, detector).await?;
            convert::ip_sets(account, region, &sets)
        }
        List::Filters => {
            let filters = api::filters(c, detector).await?;
            convert::filters(account, region, &filters)
        }
        List::Invitations => {
            let inv = api::invitations(c).await?;
            convert::invitations(account, region, &inv)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_five_minute_job_reads_its_lists_every_sixth_run() {
        let (run, lists) = (Duration::from_secs(300), Duration::from_secs(1800));
        let reads: Vec<u64> = (1..=13u64)
            .scan(0u64, |last, k| {
                // Runs start a few milliseconds late; the read happened a little after its run.
                let elapsed = Duration::from_secs((k - *last) * 300) - Duration::from_millis(40);
                let d = due(elapsed, run, lists);
                if d {
                    *last = k;
                }
                Some((k, d))
            })
            .filter(|(_, d)| *d)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(reads, vec![6, 12]);
        // A list interval shorter than the job's is read every run.
        assert!(due(
            Duration::from_secs(300),
            Duration::from_secs(600),
            Duration::from_secs(60)
        ));
    }
}
