//! The collectors: a closed set, dispatched with a `match`.
//!
//! Each collector lives in its own folder: `api.rs` is the only file that sees SDK types (it
//! paginates and maps answers into plain structs), `convert.rs` turns those structs into metric
//! families and is pure, so it is tested on literal structs with golden exposition text.

pub mod config_recorder;

use std::sync::Arc;
use std::time::Duration;

use crate::aws::{CollectError, RegionClients};
use crate::config::Config;
use crate::metrics::Family;

/// Every collector the exporter has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CollectorKind {
    /// AWS Config recorder status, per account and region.
    ConfigRecorder,
}

/// Where a collector runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Once per (target account, region).
    AccountRegion,
}

impl CollectorKind {
    /// All collectors.
    pub const ALL: &'static [CollectorKind] = &[CollectorKind::ConfigRecorder];

    /// The name used in config, labels and logs.
    pub fn name(self) -> &'static str {
        match self {
            CollectorKind::ConfigRecorder => "config_recorder",
        }
    }

    /// Where the collector runs.
    pub fn scope(self) -> Scope {
        match self {
            CollectorKind::ConfigRecorder => Scope::AccountRegion,
        }
    }

    /// Whether it is enabled, its interval and its per-run timeout.
    pub fn schedule(self, cfg: &Config) -> (bool, Duration, Duration) {
        let c = match self {
            CollectorKind::ConfigRecorder => &cfg.collectors.config_recorder,
        };
        (c.enabled, c.interval.0, c.run_timeout())
    }
}

/// State a collector keeps from one run of a job to the next.
#[derive(Debug, Default)]
pub enum JobState {
    /// Stateless collectors.
    #[default]
    None,
}

/// What one successful run produced.
#[derive(Debug, Default)]
pub struct Collected {
    /// The families of the new snapshot.
    pub families: Vec<Family>,
    /// Lines for the status page.
    pub notes: Vec<String>,
    /// Run again sooner than the interval (e.g. to poll an asynchronous job).
    pub next_run: Option<Duration>,
}

/// Everything a run needs.
pub struct JobContext {
    /// Clients of the job's account and region.
    pub aws: Arc<RegionClients>,
    /// The configuration in force.
    pub config: Arc<Config>,
}

/// Runs one collection.
pub async fn collect(
    kind: CollectorKind,
    ctx: &JobContext,
    _state: &mut JobState,
) -> Result<Collected, CollectError> {
    match kind {
        CollectorKind::ConfigRecorder => config_recorder::collect(ctx).await,
    }
}
