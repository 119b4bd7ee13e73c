//! `guardduty`: is GuardDuty on, what does it see, and which protection plans are on?
//!
//! `mode: accounts` (the default), per (account, region): ListDetectors (every page; none
//! means GuardDuty is off there, itself a finding), then per detector GetDetector (its status
//! and protection plans), GetFindingsStatistics grouped by severity over current findings, and
//! ListMembers (every page, every relationship), and GetFindingsStatistics once more per
//! severity bucket that has current findings, over those created before the bucket's
//! remediation age (`finding_ages`; `aws_guardduty_findings_overdue`), and ListFindings per
//! bucket of `oldest_findings` with current findings (one id, sorted by `createdAt`) with one
//! GetFindings for them all (`aws_guardduty_oldest_finding_created_timestamp_seconds`), only
//! when a bucket's count changed since the last read or `lists_interval` passed. A
//! detector with members belongs to an administrator: it also gets GetFindingsStatistics
//! grouped by account. One without members may belong to a member account: it gets
//! GetAdministratorAccount. That is 5 calls plus one per severity bucket with findings (at most
//! 4) plus the oldest findings' (at most 3 by default) for an ordinary account, 4 plus one per
//! 50 members plus the same for an administrator, and 1 where GuardDuty is off.
//!
//! `mode: administrator`: one job per region on the GuardDuty administrator reads the whole
//! organization (see [`admin`]); the collector then has no per-account jobs at all, so no
//! account is read both ways.
//!
//! Partial results: ListDetectors and GetDetector are the core of an accounts-mode run (an
//! error there fails the run); each detector's findings and its members are parts
//! ([`crate::collect::Part`]): a GetFindingsStatistics that fails (denied, or not served by an
//! emulator) leaves the detectors and their plans exported, names itself, and keeps that part's
//! last values within the staleness window.
//!
//! A detector deleted during the run is dropped (see [`api::fetch`]); an access denial names
//! the missing IAM action.
//!
//! The lists that change rarely (threat-intel and trusted IP sets, suppression rules and, in
//! accounts mode, invitations) are parts read every `lists_interval` rather than every run (see
//! [`lists`]); the detector's finding publishing frequency comes with GetDetector, at no cost.
//! A sub-interval of this collector rather than a collector of its own: the lists belong to the
//! same detectors in the same scope (per account, or the administrator's in administrator
//! mode), which a second section would have to repeat and keep in step with this one.

pub mod admin;
pub mod api;
pub mod config;
pub mod convert;
pub mod lists;

use crate::aws::CollectError;
use crate::collect::{Collected, Collector, JobContext, Scope};
pub use config::{Mode, Settings};

/// GuardDuty detectors, findings, members and protection plans.
pub struct GuardDuty;

/// What a job keeps between runs: the administrator's account list (administrator mode) and
/// the slower lists with the time they were read.
#[derive(Debug, Default)]
pub struct State {
    /// Administrator mode's kept account list.
    pub admin: admin::State,
    /// The lists read every `lists_interval`.
    pub lists: lists::State,
}

impl Collector for GuardDuty {
    const NAME: &'static str = "guardduty";
    const SCOPE: Scope = Scope::AccountRegion;
    const WATCHES_REGIONS: bool = true;
    type Settings = Settings;
    type State = State;

    fn scope(settings: &Settings) -> Scope {
        match settings.mode {
            Mode::Accounts => Scope::AccountRegion,
            Mode::Administrator => Scope::Org,
        }
    }

    async fn collect(
        ctx: &JobContext<Settings>,
        state: &mut State,
    ) -> Result<Collected, CollectError> {
        match ctx.settings.mode {
            Mode::Accounts => collect(ctx, &mut state.lists).await,
            Mode::Administrator => admin::collect(ctx, &mut state.admin, &mut state.lists).await,
        }
    }
}

/// One accounts-mode run.
pub async fn collect(
    ctx: &JobContext<Settings>,
    lists_state: &mut lists::State,
) -> Result<Collected, CollectError> {
    let c = &ctx.aws;
    let data = api::fetch(c).await?;
    let (account, region) = (c.account_id.as_str(), c.region.as_str());
    let mut out = Collected {
        families: convert::core(account, region, &data),
        items: convert::core_items(account, region, &data),
        ..Collected::default()
    };
    let mut anomalies: Vec<String> = convert::one_detector(&data).into_iter().collect();
    // A member's sets are its administrator's (see `lists::Read`): known from the members part,
    // or from the last run whose members part succeeded.
    let mut managed = false;
    let mut members_failed = false;
    // The first passing failure of the members part: its kind and message.
    let mut members_passing: Option<(crate::aws::ErrorKind, String)> = None;
    let ages = &ctx.settings.finding_ages;
    let ages_h = [&ages.low, &ages.medium, &ages.high, &ages.critical].map(Clone::clone);
    let cutoffs = convert::overdue_cutoffs(std::time::SystemTime::now(), ages.by_bucket());
    // AWS allows one detector per account and region; should it list more, the first one's
    // contents are read (see `convert::one_detector`).
    for det in data.detectors.iter().take(1) {
        let severities = api::severities(c, &det.id).await;
        // Only a bucket with current findings can have overdue ones; unknown (the findings
        // part failed, or its list came back full and may miss rare values), ask them all.
        let mut ask = [!matches!(severities, Ok((_, false))); 4];
        let mut counts = [0i64; 4];
        for s in severities.iter().flat_map(|(list, _)| list) {
            ask[convert::bucket(s.severity).0] |= s.count > 0;
            counts[convert::bucket(s.severity).0] += s.count.max(0);
        }
        let counts = matches!(severities, Ok((_, false))).then_some(counts);
        let findings = severities.map(|(list, full)| {
            let d = api::DetectorData {
                severities: list,
                severities_truncated: full,
                ..det.clone()
            };
            convert::findings_reading(account, region, &d, &mut anomalies)
        });
        out.part(format!("findings of detector {}", det.id), findings);
        let overdue = api::overdue(c, &det.id, cutoffs, ask)
            .await
            .map(|n| convert::overdue_reading(account, region, n, &ages_h));
        out.part(format!("overdue findings of detector {}", det.id), overdue);
        let wanted = ctx.settings.oldest_buckets();
        let ask = [0, 1, 2, 3].map(|b| ask[b] && wanted[b]);
        let max_age = ctx.settings.lists_interval.0;
        let kept = &mut lists_state.oldest;
        let oldest = api::oldest_kept(c, &det.id, ask, counts, kept, max_age)
            .await
            .map(|o| convert::oldest_reading(Some(account), region, &o));
        out.part(format!("oldest findings of detector {}", det.id), oldest);
        let members = api::members(c, &det.id).await.map(|m| {
            managed |= m
                .administrator
                .as_ref()
                .is_some_and(|a| a.relationship_status == "Enabled");
            let d = api::DetectorData {
                members: m.members,
                by_account: m.by_account,
                by_account_truncated: m.by_account_truncated,
                administrator: m.administrator,
                ..det.clone()
            };
            convert::members(account, region, &d, &mut anomalies)
        });
        members_failed |= members.is_err();
        // Refused for good (a permission the role lacks, an operation the endpoint does not
        // have) is not a passing failure; throttled, unreachable or a 5xx is.
        if let Err(e) = &members {
            if e.is_passing() && members_passing.is_none() {
                members_passing = Some((e.kind, e.to_string()));
            }
        }
        out.part(format!("members of detector {}", det.id), members);
    }
    let ids: Vec<String> = data
        .detectors
        .iter()
        .take(1)
        .map(|d| d.id.clone())
        .collect();
    if !members_failed {
        lists_state.managed = Some(managed);
    }
    // A member known to be managed reads none, whatever this run's members part. Unknown (no
    // members part has succeeded since the job started): read the sets where the members part
    // is refused for good, as where the role may not call ListMembers; but not in a run whose
    // members part failed for a passing cause (throttled, unreachable, a 5xx): reading them
    // would export a managed member's administrator's sets, and leaving them out would drop an
    // unmanaged account's. Their parts fail with that cause instead, so that what was last
    // exported stays for the staleness window. A job restarted by a reload starts unknown, so
    // this is not only the first run.
    let read = lists::Read {
        sets: match (lists_state.managed, members_passing) {
            (Some(true), _) => lists::Sets::Skip,
            (Some(false), _) | (None, None) => lists::Sets::Read,
            (None, Some((kind, why))) => lists::Sets::Held { kind, why },
        },
        invitations: true,
    };
    lists::parts(ctx, lists_state, &ids, read, &mut out).await;
    for id in &data.vanished {
        tracing::info!(
            account_id = %c.account_id,
            region = %c.region,
            detector_id = %id,
            "GuardDuty detector deleted during the collection; dropped"
        );
        out.notes
            .push(format!("detector {id} was deleted during the collection"));
    }
    for a in anomalies {
        tracing::warn!(account_id = %c.account_id, region = %c.region, "{a}");
        out.notes.push(a);
    }
    Ok(out)
}
