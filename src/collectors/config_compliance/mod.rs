//! `config_compliance`: which Config rules and conformance packs are non-compliant, in which
//! account and region, with how many resources.
//!
//! Two sources, one set of families:
//! - With `aggregator` set, one organization job in the aggregator's account and region reads
//!   DescribeAggregateComplianceByConfigRules (1,000 a page, the model's maximum) and
//!   DescribeAggregateComplianceByConformancePacks (100 a page), every page: the whole
//!   organization in a few calls and no role in any member. The covered (account, region) pairs
//!   are those the aggregator answers for (AWS lists no account that has no rule or pack).
//! - Without it, every (account, region) job reads its own: DescribeComplianceByConfigRule
//!   (every page), DescribeConformancePacks (20 a page), GetConformancePackComplianceSummary for
//!   five packs a call (the model's maximum), and for each NON_COMPLIANT pack only,
//!   DescribeConformancePackCompliance filtered to NON_COMPLIANT to count its failing rules
//!   (a COMPLIANT or INSUFFICIENT_DATA pack has none, by AWS's definition).
//!
//! The section picks one source ([`Collector::scope`] follows it), so the two never both cover
//! an account. Every failed call fails the run (that job only; its last values stay for the
//! staleness window).

pub mod api;
pub mod config;
pub mod convert;

use std::collections::BTreeSet;

use crate::aws::{CollectError, RegionClients};
use crate::collect::{Collected, Collector, JobContext, Scope};
use api::{PackCompliance, RuleCompliance};
pub use config::Settings;
use convert::Compliance;

/// Config rule and conformance pack compliance, from an aggregator or per account and region.
pub struct ConfigCompliance;

impl Collector for ConfigCompliance {
    const NAME: &'static str = "config_compliance";
    const SCOPE: Scope = Scope::AccountRegion;
    type Settings = Settings;
    type State = ();

    fn scope(settings: &Settings) -> Scope {
        if settings.aggregator.is_some() {
            Scope::Org
        } else {
            Scope::AccountRegion
        }
    }

    async fn collect(ctx: &JobContext<Settings>, _: &mut ()) -> Result<Collected, CollectError> {
        collect(ctx).await
    }
}

/// One run.
pub async fn collect(ctx: &JobContext<Settings>) -> Result<Collected, CollectError> {
    let c = &*ctx.aws;
    let calls_before = c.calls();
    let mut notes = Vec::new();
    let mut got = match &ctx.settings.aggregator {
        Some(name) => from_aggregator(c, name).await?,
        None => from_account(c).await?,
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
         {} conformance packs; {} AWS calls this run",
        got.rules.len(),
        got.covered.len(),
        got.packs.len(),
        c.calls() - calls_before
    ));
    Ok(Collected {
        families: convert::families(&got, &ctx.settings.detail_compliance),
        notes,
        next_run: None,
        ..Collected::default()
    })
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

async fn from_aggregator(c: &RegionClients, name: &str) -> Result<Compliance, CollectError> {
    let rules = api::aggregate_rules(c, name).await?;
    let packs = api::aggregate_packs(c, name).await?;
    let covered = rules
        .iter()
        .map(|r| (r.account_id.clone(), r.region.clone()))
        .chain(
            packs
                .iter()
                .map(|p| (p.account_id.clone(), p.region.clone())),
        )
        .collect();
    Ok(Compliance {
        covered,
        rules,
        packs,
        rollup: true,
    })
}

async fn from_account(c: &RegionClients) -> Result<Compliance, CollectError> {
    let rules: Vec<RuleCompliance> = api::rules(c).await?;
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
    Ok(Compliance {
        covered: [(c.account_id.clone(), c.region.clone())].into(),
        rules,
        packs,
        rollup: false,
    })
}
