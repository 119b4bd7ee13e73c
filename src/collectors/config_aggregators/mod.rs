//! `config_aggregators`: are the configuration aggregators still collecting from their sources?
//!
//! Per (aggregator account, region): DescribeConfigurationAggregators, then
//! DescribeConfigurationAggregatorSourcesStatus for each aggregator, every page of both (100 a
//! page, the model's maximum). The listing is the run's core; each aggregator's sources are a
//! part of their own (`sources of aggregator NAME`), so an aggregator whose sources cannot be
//! read keeps its last values while the others are exported. An aggregator deleted between the two calls
//! (`NoSuchConfigurationAggregatorException`) is dropped from the run, which still succeeds: it
//! is gone, and its series go with the next snapshot. Nothing is filtered by status: every
//! source is needed for the state set, and the FAILED ones come along in the same pages.

pub mod api;
pub mod config;
pub mod convert;

use std::collections::BTreeSet;

use crate::aws::CollectError;
use crate::collect::{Collected, Collector, JobContext, Scope};
use api::Aggregator;
pub use config::Settings;

/// Status-page lines listing failed sources, at most.
const NOTE_SOURCES: usize = 50;

/// Configuration aggregators, from the organization target in each configured region.
pub struct ConfigAggregators;

impl Collector for ConfigAggregators {
    const NAME: &'static str = "config_aggregators";
    const SCOPE: Scope = Scope::Org;
    type Settings = Settings;
    type State = ();

    async fn collect(ctx: &JobContext<Settings>, _: &mut ()) -> Result<Collected, CollectError> {
        collect(ctx).await
    }
}

/// The part of one aggregator's sources.
pub fn sources_part(name: &str) -> String {
    format!("sources of aggregator {name}")
}

/// One run.
pub async fn collect(ctx: &JobContext<Settings>) -> Result<Collected, CollectError> {
    let c = &*ctx.aws;
    let mut names = api::aggregator_names(c).await?;
    names.sort();
    names.dedup();
    let mut out = Collected::default();
    let mut listed = 0;
    let mut notes = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        let mut sources = match api::sources(c, &name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                notes.push(format!(
                    "aggregator {name} was deleted during the run; dropped"
                ));
                continue;
            }
            Err(e) => {
                listed += 1;
                out.failed_part(sources_part(&name), e);
                continue;
            }
        };
        listed += 1;
        // One series per (source, type, region), whatever AWS repeats.
        let mut seen = BTreeSet::new();
        sources.retain(|s| {
            seen.insert((s.source_id.clone(), s.source_type.clone(), s.region.clone()))
        });
        for s in sources.iter().filter(|s| s.status == "FAILED") {
            failed.push(format!(
                "aggregator {name}: source {} ({}, {}) FAILED {}: {}",
                s.source_id,
                s.source_type,
                s.region,
                s.error_code.as_deref().unwrap_or(""),
                s.error_message.as_deref().unwrap_or("")
            ));
        }
        let a = Aggregator { name, sources };
        out.part(
            sources_part(&a.name),
            Ok(convert::source_families(&c.region, &a)),
        );
    }
    notes.push(format!("{listed} aggregators"));
    let more = failed.len().saturating_sub(NOTE_SOURCES);
    failed.truncate(NOTE_SOURCES);
    notes.extend(failed);
    if more > 0 {
        notes.push(format!("... and {more} more failed sources"));
    }
    out.families = vec![convert::count_family(&c.region, listed)];
    out.notes = notes;
    Ok(out)
}
