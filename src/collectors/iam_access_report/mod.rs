//! `iam_access_report`: which AWS services the principals under an organization entity (root,
//! OU or account) may use, and when they last used each, so unused services can be denied.
//!
//! The IAM Organizations access report is an asynchronous job, so this collector is a state
//! machine across scheduler ticks (`job.rs`): a run generates a job or reads it once, never
//! waits, and asks the scheduler to come back after `poll_interval` while a job is in progress.
//! A completed report is served until it is `interval` old and a newer one completes. IAM is a
//! global service: the scheduler runs this collector once, from the organization target in the
//! home region, whatever the targets' regions.

pub mod api;
pub mod config;
pub mod convert;
pub mod job;

pub use config::Settings;
pub use job::State;

use crate::aws::CollectError;
use crate::collect::{Collected, Collector, JobContext, Scope};

/// The IAM Organizations access report, from the organization target.
pub struct IamAccessReport;

impl Collector for IamAccessReport {
    const NAME: &'static str = "iam_access_report";
    const SCOPE: Scope = Scope::Org;
    type Settings = Settings;
    type State = State;

    async fn collect(
        ctx: &JobContext<Settings>,
        state: &mut State,
    ) -> Result<Collected, CollectError> {
        collect(ctx, state).await
    }
}

/// One run: one step of every configured entity path's job.
pub async fn collect(
    ctx: &JobContext<Settings>,
    state: &mut State,
) -> Result<Collected, CollectError> {
    let cfg = &*ctx.settings;
    let settings = job::Settings {
        interval: cfg.common.interval.0,
        poll_interval: cfg.poll_interval.0,
    };
    let out = job::run(
        &api::Sdk(&ctx.aws),
        state,
        &cfg.entity_paths,
        &settings,
        tokio::time::Instant::now(),
    )
    .await;
    let mut notes = summary(state, &cfg.entity_paths);
    notes.extend(out.notes);
    let mut errors = out.errors;
    let mut collected = Collected {
        notes,
        next_run: out.next_run,
        ..Collected::default()
    };
    for path in &cfg.entity_paths {
        let result = match errors.remove(path) {
            Some(e) => Err(e),
            None => Ok(convert::families(&convert::entries(
                state,
                std::slice::from_ref(path),
            ))),
        };
        collected.part(path_part(path), result);
    }
    Ok(collected)
}

/// The part of one entity path's report.
pub fn path_part(path: &str) -> String {
    format!("entity path {path}")
}

/// One status-page line per entity path: its job and the report served.
fn summary(state: &State, paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter_map(|p| {
            let s = state.paths.get(p)?;
            let job = match &s.phase {
                job::Phase::Generating { job_id, .. } => format!(
                    "job {job_id} {}",
                    s.status.as_deref().unwrap_or(job::IN_PROGRESS)
                ),
                job::Phase::Idle => {
                    format!("last job {}", s.status.as_deref().unwrap_or("unknown"))
                }
            };
            let report = match &s.report {
                Some(r) => format!(
                    "report {}: {} services accessible, {} not accessed",
                    r.job_id, r.services_accessible, r.services_not_accessed
                ),
                None => "no completed report yet".to_string(),
            };
            Some(format!("{p}: {job}; {report}"))
        })
        .collect()
}
