//! `config_compliance`: which Config rules and conformance packs are non-compliant, in which
//! account and region, with how many resources.
//!
//! Two sources, one set of families:
//! - With `aggregator` set, one organization job in the aggregator's account and region reads
//!   DescribeAggregateComplianceByConfigRules (1,000 a page, the model's maximum) and
//!   DescribeAggregateComplianceByConformancePacks (100 a page), every page: the whole
//!   organization in a few calls and no role in any member. The covered (account, region) pairs
//!   are those the aggregator answers for (AWS lists no account that has no rule or pack).
//!   That full listing is repeated every `full_read_interval`; the runs in between read only
//!   the NON_COMPLIANT results and apply them to what the last full listing found ([`view`]),
//!   unless the detail types ask for more than NON_COMPLIANT.
//! - Without it, every (account, region) job reads its own: DescribeComplianceByConfigRule
//!   (every page), DescribeConformancePacks (20 a page), GetConformancePackComplianceSummary for
//!   five packs a call (the model's maximum), and for each NON_COMPLIANT pack only,
//!   DescribeConformancePackCompliance filtered to NON_COMPLIANT to count its failing rules
//!   (a COMPLIANT or INSUFFICIENT_DATA pack has none, by AWS's definition); and where it has
//!   packs, ListConformancePackComplianceScores (20 a page) for each pack's compliance score
//!   (a part of its own, `conformance pack scores`). No aggregate operation answers scores, so
//!   the aggregator source exports none.
//!
//! The section picks one source ([`Collector::scope`] follows it), so the two never both cover
//! an account. The rule results and the conformance pack results are two parts (`rules`,
//! `conformance packs`): a failed call fails its part only, which keeps its last values for the
//! staleness window while the other part is exported.

pub mod api;
pub mod config;
pub mod convert;
pub mod view;

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime};

use crate::aws::{CollectError, RegionClients};
use crate::collect::{Collected, Collector, JobContext, Scope};
use api::{Narrow, PackCompliance, RuleCompliance};
pub use config::Settings;
use convert::Compliance;
use view::{View, LOOKUPS, PACK_ATTENTION, RULE_ATTENTION};

/// Config rule and conformance pack compliance, from an aggregator or per account and region.
pub struct ConfigCompliance;

impl Collector for ConfigCompliance {
    const NAME: &'static str = "config_compliance";
    const SCOPE: Scope = Scope::AccountRegion;
    type Settings = Settings;
    type State = State;

    fn scope(settings: &Settings) -> Scope {
        if settings.aggregator.is_some() {
            Scope::Org
        } else {
            Scope::AccountRegion
        }
    }

    async fn collect(
        ctx: &JobContext<Settings>,
        state: &mut State,
    ) -> Result<Collected, CollectError> {
        collect(ctx, state).await
    }
}

/// What an aggregator job keeps between runs: the last full listing, brought up to date.
#[derive(Debug, Default)]
pub struct State {
    kept: Option<Kept>,
}

#[derive(Debug)]
struct Kept {
    aggregator: String,
    view: View,
    /// When the full listing was read, for the interval and for the exported timestamp.
    at: Instant,
    wall: SystemTime,
}

/// What a run read: the rule results and the pack results, each or why it could not be read.
struct Read {
    /// The (account, region) pairs covered: every pair AWS answered for (an aggregator), or
    /// the job's own.
    covered: BTreeSet<(String, String)>,
    rules: Result<Vec<RuleCompliance>, CollectError>,
    packs: Result<Vec<PackCompliance>, CollectError>,
}

/// The part of the rule results.
pub const RULES_PART: &str = "rules";
/// The part of the conformance pack results.
pub const PACKS_PART: &str = "conformance packs";
/// The part of the conformance pack compliance scores (per account and region only).
pub const SCORES_PART: &str = "conformance pack scores";

/// One run.
pub async fn collect(
    ctx: &JobContext<Settings>,
    state: &mut State,
) -> Result<Collected, CollectError> {
    let c = &*ctx.aws;
    let mut notes = Vec::new();
    let mut out = Collected::default();
    let (read, rollup) = match &ctx.settings.aggregator {
        Some(name) => {
            let read = from_aggregator(ctx, name, state, &mut notes).await;
            if let Some(k) = &state.kept {
                out.families.push(convert::full_read(name, k.wall));
            }
            (read, true)
        }
        None => (from_account(c).await, false),
    };
    let mut got = Compliance {
        covered: read.covered,
        rules: read.rules.as_ref().map(Vec::clone).unwrap_or_default(),
        packs: read.packs.as_ref().map(Vec::clone).unwrap_or_default(),
        rollup,
    };
    tidy(&mut got, &mut notes);
    let non_compliant = got
        .rules
        .iter()
        .filter(|r| r.compliance == "NON_COMPLIANT")
        .count();
    let source = match &ctx.settings.aggregator {
        Some(a) => format!("aggregator {a}"),
        None => "this account and region".to_string(),
    };
    notes.push(format!(
        "{} rule results in {} account-regions from {source}, {non_compliant} non-compliant; \
         {} conformance packs",
        got.rules.len(),
        got.covered.len(),
        got.packs.len(),
    ));
    let detail = &ctx.settings.detail_compliance;
    out.part(
        RULES_PART,
        read.rules.map(|_| convert::rule_reading(&got, detail)),
    );
    // Scores are per account and region (no aggregate operation answers them): read where the
    // account has packs, or where whether it has any is not known.
    let packs_here = !matches!(&read.packs, Ok(p) if p.is_empty());
    out.part(
        PACKS_PART,
        read.packs.map(|_| convert::pack_reading(&got, detail)),
    );
    if ctx.settings.aggregator.is_none() && packs_here {
        let scores = api::pack_scores(c)
            .await
            .map(|s| convert::pack_scores(&c.account_id, &c.region, &s, &mut notes));
        out.part(SCORES_PART, scores.map(|f| vec![f]));
    }
    out.notes = notes;
    Ok(out)
}

/// One entry per (account, region, name), the first AWS gave; an entry without a compliance
/// type (AWS has not evaluated the rule yet) is left out of the counts and noted.
fn tidy(got: &mut Compliance, notes: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    let before = got.rules.len();
    got.rules.retain(|r| {
        !r.compliance.is_empty()
            && seen.insert((r.account_id.clone(), r.region.clone(), r.rule.clone()))
    });
    let mut seen = BTreeSet::new();
    let packs_before = got.packs.len();
    got.packs.retain(|p| {
        !p.compliance.is_empty()
            && seen.insert((p.account_id.clone(), p.region.clone(), p.pack.clone()))
    });
    let dropped = before - got.rules.len() + packs_before - got.packs.len();
    if dropped > 0 {
        notes.push(format!(
            "{dropped} results without a compliance type or repeated; left out"
        ));
    }
}

/// Why this run lists everything, or `None` when the kept view can be brought up to date.
fn full_listing_due(settings: &Settings, name: &str, state: &State) -> Option<&'static str> {
    let Some(k) = &state.kept else {
        return Some("nothing read before");
    };
    if k.aggregator != name {
        return Some("the aggregator changed");
    }
    if !settings.incremental() {
        return Some("the detail types ask for more than NON_COMPLIANT");
    }
    if k.at.elapsed() >= settings.full_read_interval().0 {
        return Some("full_read_interval has passed");
    }
    None
}

async fn from_aggregator(
    ctx: &JobContext<Settings>,
    name: &str,
    state: &mut State,
    notes: &mut Vec<String>,
) -> Read {
    let c = &*ctx.aws;
    let mut why = full_listing_due(&ctx.settings, name, state).map(str::to_string);
    if let (None, Some(k)) = (&why, state.kept.as_mut()) {
        match bring_up_to_date(c, name, &mut k.view).await {
            Ok(Ok(line)) => {
                let next = ctx
                    .settings
                    .full_read_interval()
                    .0
                    .saturating_sub(k.at.elapsed());
                notes.push(format!(
                    "{line}; next full listing in {}",
                    crate::config::duration::HumanDuration(std::time::Duration::from_secs(
                        next.as_secs()
                    ))
                ));
                let got = k.view.compliance();
                return Read {
                    covered: got.covered,
                    rules: Ok(got.rules),
                    packs: Ok(got.packs),
                };
            }
            Ok(Err(reason)) => why = Some(reason.to_string()),
            // The view may be half brought up to date: read everything again.
            Err(e) => {
                why = Some(format!("bringing the last listing up to date failed: {e}"));
                state.kept = None;
            }
        }
    }
    let rules = api::aggregate_rules(c, name, Narrow::ALL).await;
    let packs = api::aggregate_packs(c, name, Narrow::ALL).await;
    let covered = rules
        .iter()
        .flatten()
        .map(|r| (r.account_id.clone(), r.region.clone()))
        .chain(
            packs
                .iter()
                .flatten()
                .map(|p| (p.account_id.clone(), p.region.clone())),
        )
        .collect();
    let read = Read {
        covered,
        rules,
        packs,
    };
    notes.push(format!(
        "full listing ({})",
        why.as_deref().unwrap_or("nothing read before")
    ));
    // Only a whole listing is kept to be brought up to date; after a failed half the next run
    // lists everything again.
    state.kept = match (&read.rules, &read.packs, ctx.settings.incremental()) {
        (Ok(rules), Ok(packs), true) => {
            let mut got = Compliance {
                covered: read.covered.clone(),
                rules: rules.clone(),
                packs: packs.clone(),
                rollup: true,
            };
            tidy(&mut got, &mut Vec::new());
            Some(Kept {
                aggregator: name.to_string(),
                view: View::of(&got),
                at: Instant::now(),
                wall: SystemTime::now(),
            })
        }
        _ => None,
    };
    read
}

/// The NON_COMPLIANT rule results and the packs needing attention, applied to `view`; the
/// results that left those listings looked up one by one. `Ok(Err(why))` when a full listing is
/// needed instead (a result the view does not know, or too many to look up).
async fn bring_up_to_date(
    c: &RegionClients,
    name: &str,
    view: &mut View,
) -> Result<Result<String, &'static str>, CollectError> {
    let rules = api::aggregate_rules(c, name, Narrow::compliance(RULE_ATTENTION)).await?;
    let mut packs = Vec::new();
    for t in PACK_ATTENTION {
        packs.extend(api::aggregate_packs(c, name, Narrow::compliance(t)).await?);
    }
    let Ok((left_rules, left_packs)) = view.apply(&rules, &packs) else {
        return Ok(Err(
            "a rule or pack result the last full listing did not have",
        ));
    };
    let looked_up = left_rules.len() + left_packs.len();
    if looked_up > LOOKUPS {
        return Ok(Err(
            "more results left NON_COMPLIANT than are worth looking up one by one",
        ));
    }
    for l in &left_rules {
        let now =
            api::aggregate_rules(c, name, Narrow::one(&l.name, &l.account_id, &l.region)).await?;
        view.settle_rule(l, now.iter().find(|x| !x.compliance.is_empty()));
    }
    for l in &left_packs {
        let now =
            api::aggregate_packs(c, name, Narrow::one(&l.name, &l.account_id, &l.region)).await?;
        view.settle_pack(l, now.iter().find(|x| !x.compliance.is_empty()));
    }
    Ok(Ok(format!(
        "brought up to date: {} NON_COMPLIANT rule results and {} conformance packs needing \
         attention read, {looked_up} results that left them looked up",
        rules.len(),
        packs.len()
    )))
}

async fn from_account(c: &RegionClients) -> Read {
    Read {
        covered: [(c.account_id.clone(), c.region.clone())].into(),
        rules: api::rules(c).await,
        packs: account_packs(c).await,
    }
}

async fn account_packs(c: &RegionClients) -> Result<Vec<PackCompliance>, CollectError> {
    let mut names = api::pack_names(c).await?;
    names.sort();
    names.dedup();
    let mut summaries = Vec::with_capacity(names.len());
    for chunk in names.chunks(api::SUMMARY_NAMES) {
        match api::pack_summaries(c, chunk).await? {
            Some(s) => summaries.extend(s),
            // A pack of the chunk was deleted since it was listed: ask for each alone, and
            // leave out the one AWS no longer knows.
            None if chunk.len() > 1 => {
                for one in chunk {
                    if let Some(s) = api::pack_summaries(c, std::slice::from_ref(one)).await? {
                        summaries.extend(s);
                    }
                }
            }
            None => {}
        }
    }
    let mut packs = Vec::with_capacity(summaries.len());
    for (pack, compliance) in summaries {
        let noncompliant_rules = if compliance == "NON_COMPLIANT" {
            match api::pack_noncompliant_rules(c, &pack).await? {
                Some(n) => n,
                None => continue,
            }
        } else {
            0
        };
        packs.push(PackCompliance {
            account_id: c.account_id.clone(),
            region: c.region.clone(),
            pack,
            compliance,
            noncompliant_rules,
        });
    }
    Ok(packs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn kept(name: &str, age: Duration) -> State {
        State {
            kept: Some(Kept {
                aggregator: name.into(),
                view: View::default(),
                at: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
                wall: SystemTime::now(),
            }),
        }
    }

    #[test]
    fn a_full_listing_is_due_first_after_the_interval_and_on_a_change_of_aggregator() {
        let mut s = Settings::default();
        s.own.aggregator = Some("org".into());
        s.own.full_read_interval = Some(crate::config::duration::d(600));
        assert_eq!(
            full_listing_due(&s, "org", &State::default()),
            Some("nothing read before")
        );
        assert_eq!(
            full_listing_due(&s, "org", &kept("org", Duration::from_secs(60))),
            None
        );
        assert_eq!(
            full_listing_due(&s, "org", &kept("org", Duration::from_secs(601))),
            Some("full_read_interval has passed")
        );
        assert_eq!(
            full_listing_due(&s, "org", &kept("other", Duration::from_secs(1))),
            Some("the aggregator changed")
        );
        let mut detailed = s.clone();
        detailed.own.detail_compliance = vec!["COMPLIANT".into()];
        assert_eq!(
            full_listing_due(&detailed, "org", &kept("org", Duration::from_secs(1))),
            Some("the detail types ask for more than NON_COMPLIANT")
        );
        let mut every_run = s;
        every_run.own.full_read_interval = Some(crate::config::duration::d(0));
        assert_eq!(
            full_listing_due(&every_run, "org", &kept("org", Duration::ZERO)),
            Some("full_read_interval has passed")
        );
    }
}
