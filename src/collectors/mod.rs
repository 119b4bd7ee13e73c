//! The collectors: a closed set, dispatched with a `match`.
//!
//! Each collector lives in its own folder: `api.rs` is the only file that sees SDK types (it
//! paginates and maps answers into plain structs), `convert.rs` turns those structs into metric
//! families and is pure, so it is tested on literal structs with golden exposition text.

pub mod config_aggregators;
pub mod config_org_rules;
pub mod config_recorder;
pub mod guardduty;
pub mod iam_access_report;

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
    /// Organization Config rules and their deployment status per member account.
    ConfigOrgRules,
    /// Configuration aggregators and the status of their sources.
    ConfigAggregators,
    /// GuardDuty detectors, findings by severity, members, administrator.
    GuardDuty,
    /// IAM Organizations access report (an asynchronous job).
    IamAccessReport,
}

/// Where a collector runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Once per (target account, region).
    AccountRegion,
    /// Once, from the organization target (management or delegated administrator) in the
    /// collector's region (the home region unless configured).
    Org,
    /// From the organization target, once per configured region.
    OrgRegions,
}

impl CollectorKind {
    /// All collectors.
    pub const ALL: &'static [CollectorKind] = &[
        CollectorKind::ConfigRecorder,
        CollectorKind::ConfigOrgRules,
        CollectorKind::ConfigAggregators,
        CollectorKind::GuardDuty,
        CollectorKind::IamAccessReport,
    ];

    /// The name used in config, labels and logs.
    pub fn name(self) -> &'static str {
        match self {
            CollectorKind::ConfigRecorder => "config_recorder",
            CollectorKind::ConfigOrgRules => "config_org_rules",
            CollectorKind::ConfigAggregators => "config_aggregators",
            CollectorKind::GuardDuty => "guardduty",
            CollectorKind::IamAccessReport => "iam_access_report",
        }
    }

    /// Where the collector runs.
    pub fn scope(self) -> Scope {
        match self {
            CollectorKind::ConfigRecorder | CollectorKind::GuardDuty => Scope::AccountRegion,
            CollectorKind::ConfigOrgRules | CollectorKind::IamAccessReport => Scope::Org,
            CollectorKind::ConfigAggregators => Scope::OrgRegions,
        }
    }

    /// The shared settings of this collector's section.
    pub fn settings(self, cfg: &Config) -> crate::config::CollectorConfig {
        let c = &cfg.collectors;
        match self {
            CollectorKind::ConfigRecorder => c.config_recorder.clone(),
            CollectorKind::ConfigOrgRules => c.config_org_rules.common(),
            CollectorKind::ConfigAggregators => c.config_aggregators.common(),
            CollectorKind::GuardDuty => c.guardduty.clone(),
            CollectorKind::IamAccessReport => c.iam_access_report.common(),
        }
    }

    /// A digest of the collector's whole config section: a job restarts when it changes.
    pub fn section_fingerprint(self, cfg: &Config) -> String {
        let c = &cfg.collectors;
        match self {
            CollectorKind::ConfigRecorder => format!("{:?}", c.config_recorder),
            CollectorKind::ConfigOrgRules => format!("{:?}", c.config_org_rules),
            CollectorKind::ConfigAggregators => format!("{:?}", c.config_aggregators),
            CollectorKind::GuardDuty => format!("{:?}", c.guardduty),
            CollectorKind::IamAccessReport => format!("{:?}", c.iam_access_report),
        }
    }

    /// Whether it is enabled, its interval and its per-run timeout.
    pub fn schedule(self, cfg: &Config) -> (bool, Duration, Duration) {
        let c = self.settings(cfg);
        let enabled = c.enabled
            && match self {
                CollectorKind::IamAccessReport => {
                    !cfg.collectors.iam_access_report.entity_paths.is_empty()
                }
                _ => true,
            };
        (enabled, c.interval.0, c.run_timeout())
    }
}

/// State a collector keeps from one run of a job to the next.
#[derive(Debug, Default)]
pub enum JobState {
    /// Stateless collectors.
    #[default]
    None,
    /// The IAM access report jobs in flight and the last completed reports.
    Iam(Box<iam_access_report::State>),
    /// The member scans of the organization Config rules, reused while a rule is unchanged.
    OrgRules(Box<config_org_rules::State>),
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
    state: &mut JobState,
) -> Result<Collected, CollectError> {
    match kind {
        CollectorKind::ConfigRecorder => config_recorder::collect(ctx).await,
        CollectorKind::ConfigOrgRules => {
            if !matches!(state, JobState::OrgRules(_)) {
                *state = JobState::OrgRules(Box::default());
            }
            match state {
                JobState::OrgRules(s) => config_org_rules::collect(ctx, s).await,
                _ => unreachable_state(),
            }
        }
        CollectorKind::ConfigAggregators => config_aggregators::collect(ctx).await,
        CollectorKind::GuardDuty => guardduty::collect(ctx).await,
        CollectorKind::IamAccessReport => {
            if !matches!(state, JobState::Iam(_)) {
                *state = JobState::Iam(Box::default());
            }
            match state {
                JobState::Iam(s) => iam_access_report::collect(ctx, s).await,
                _ => unreachable_state(),
            }
        }
    }
}

fn unreachable_state() -> Result<Collected, CollectError> {
    Err(CollectError::new(
        "state",
        "",
        "",
        crate::aws::ErrorKind::Internal,
        "collector state of the wrong kind",
    ))
}
