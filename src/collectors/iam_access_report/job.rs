//! The report job of each entity path as a small state machine driven by scheduler ticks.
//!
//! An Organizations access report is an asynchronous job: GenerateOrganizationsAccessReport
//! starts it, GetOrganizationsAccessReport reads it until it is `COMPLETED` or `FAILED`. A run
//! never waits for a job: it does at most one step per entity path (generate, or read once, with
//! every page of a completed report) and asks the scheduler to come back after `poll_interval`
//! while a job is in progress. Time comes in as an argument ([`tokio::time::Instant`]) and the
//! calls through [`ReportApi`], so the whole machine is unit-tested under paused time with a
//! fake IAM, and integration-tested with the real SDK against the simulator.
//!
//! Per entity path:
//! - `Idle`, with no report yet or the last job (completed or failed) started `interval` ago or
//!   more: generate. A failed generation (throttled, limit exceeded) is retried at the next run.
//! - `Generating`: read the job. `IN_PROGRESS` (or a status AWS adds later): poll again.
//!   `COMPLETED`: the report replaces the one served so far. `FAILED`: its `ErrorDetails` are
//!   logged, the status is exported, the last completed report keeps being served, and a new
//!   job is generated at the next interval. A job IAM no longer knows (`NoSuchEntity`) is
//!   generated anew at once; a read that fails three times in a row, or a job still running
//!   after `max(interval, 10 x poll_interval)`, is given up and retried at the next interval.
//!
//! The last completed report is kept while a new job runs, so the exported values never blank
//! between two reports.
//!
//! Each entity path is a part of the run. A path's part fails (collector_up 0, its previous
//! values kept by the store) only when it learned nothing: its call failed and no job of it is
//! left in progress. Otherwise failing would lose the poll hint (the scheduler would wait a
//! whole interval to poll again), so the error becomes a note and the scheduler comes back
//! after `poll_interval`, when an error that persists fails the part. The other paths are
//! exported either way.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::api::{ErrorDetails, Report, ReportApi};
use crate::aws::{CollectError, ErrorKind};

/// Job status: in progress.
pub const IN_PROGRESS: &str = "IN_PROGRESS";
/// Job status: completed.
pub const COMPLETED: &str = "COMPLETED";
/// Job status: failed.
pub const FAILED: &str = "FAILED";
/// The statuses AWS documents, in the order exported.
pub const STATUSES: &[&str] = &[IN_PROGRESS, COMPLETED, FAILED];

/// Reads of a job that may fail in a row before it is given up.
const MAX_POLL_ERRORS: u32 = 3;
/// A job still running after this many poll intervals (or the interval, if longer) is lost.
const STUCK_POLLS: u32 = 10;
/// Bound on the pages of one report (a service answering `IsTruncated` forever).
const MAX_PAGES: usize = 1000;

/// The timing of the collector.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Age at which a report (completed or failed) is generated anew.
    pub interval: Duration,
    /// Pause between two reads of a job in progress.
    pub poll_interval: Duration,
}

impl Settings {
    fn stuck_after(&self) -> Duration {
        self.interval.max(self.poll_interval * STUCK_POLLS)
    }
}

/// Where the job of one entity path stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// No job running.
    Idle,
    /// A job was generated and is read on every run.
    Generating {
        /// Its id.
        job_id: String,
        /// When it was generated.
        started: Instant,
        /// Reads that failed in a row.
        poll_errors: u32,
    },
}

/// The state of one entity path.
#[derive(Debug, Clone)]
pub struct PathState {
    /// The job.
    pub phase: Phase,
    /// When the last finished (completed, failed or given up) job was generated: the next one
    /// is due an interval later.
    pub last_started: Option<Instant>,
    /// Status of the current or last job in AWS's raw spelling; `None` before the first job
    /// and after one was given up (its status is unknown).
    pub status: Option<String>,
    /// Why the last job failed.
    pub failure: Option<ErrorDetails>,
    /// The last completed report, served until a newer one completes.
    pub report: Option<Report>,
}

impl Default for PathState {
    fn default() -> Self {
        PathState {
            phase: Phase::Idle,
            last_started: None,
            status: None,
            failure: None,
            report: None,
        }
    }
}

/// What the next run does for a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Start a job.
    Generate,
    /// Read the job in progress.
    Poll(String),
    /// Nothing until this much time has passed.
    Wait(Duration),
}

/// What one read of a job found.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Not finished: `IN_PROGRESS` or a status AWS adds later (raw).
    Running(String),
    /// Finished, with every page read.
    Completed(Report),
    /// Finished without a report.
    Failed(Option<ErrorDetails>),
}

/// What to do after a read failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterPollError {
    /// IAM does not know the job: generate a new one now.
    Regenerate,
    /// Read again at the next run.
    Retry,
    /// Too many failures in a row: given up until the next interval.
    GaveUp,
}

impl PathState {
    /// The next step at `now`.
    pub fn step(&self, now: Instant, s: &Settings) -> Step {
        match &self.phase {
            Phase::Generating { job_id, .. } => Step::Poll(job_id.clone()),
            Phase::Idle => match self.last_started {
                Some(t) if now.duration_since(t) < s.interval => {
                    Step::Wait(s.interval - now.duration_since(t))
                }
                _ => Step::Generate,
            },
        }
    }

    /// A job was generated.
    pub fn generated(&mut self, job_id: String, now: Instant) {
        self.phase = Phase::Generating {
            job_id,
            started: now,
            poll_errors: 0,
        };
        self.status = Some(IN_PROGRESS.to_string());
    }

    /// A read succeeded. Returns true when the job finished (completed, failed, or given up
    /// because it ran too long).
    pub fn polled(&mut self, progress: Progress, now: Instant, s: &Settings) -> bool {
        let Phase::Generating {
            started,
            poll_errors,
            ..
        } = &mut self.phase
        else {
            return false;
        };
        let started = *started;
        match progress {
            Progress::Running(status) => {
                *poll_errors = 0;
                if now.duration_since(started) >= s.stuck_after() {
                    self.give_up(now);
                    return true;
                }
                self.status = Some(status);
                false
            }
            Progress::Completed(report) => {
                self.report = Some(report);
                self.failure = None;
                self.finish(COMPLETED, started);
                true
            }
            Progress::Failed(details) => {
                self.failure = Some(details.unwrap_or_default());
                self.finish(FAILED, started);
                true
            }
        }
    }

    /// A read failed with `e`.
    pub fn poll_failed(&mut self, e: &CollectError, now: Instant) -> AfterPollError {
        let Phase::Generating { poll_errors, .. } = &mut self.phase else {
            return AfterPollError::Retry;
        };
        if e.code() == Some("NoSuchEntity") {
            self.phase = Phase::Idle;
            self.last_started = None;
            self.status = None;
            return AfterPollError::Regenerate;
        }
        *poll_errors += 1;
        if *poll_errors >= MAX_POLL_ERRORS {
            self.give_up(now);
            return AfterPollError::GaveUp;
        }
        AfterPollError::Retry
    }

    fn finish(&mut self, status: &str, started: Instant) {
        self.phase = Phase::Idle;
        self.last_started = Some(started);
        self.status = Some(status.to_string());
    }

    fn give_up(&mut self, now: Instant) {
        self.phase = Phase::Idle;
        self.last_started = Some(now);
        self.status = None;
    }
}

/// The jobs of every configured entity path, kept from one run to the next.
#[derive(Debug, Default)]
pub struct State {
    /// By entity path.
    pub paths: BTreeMap<String, PathState>,
}

/// What one run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The entity paths whose part fails, with the error (see the module comment for when).
    pub errors: BTreeMap<String, CollectError>,
    /// Errors that did not fail the run, and what happened, for the status page.
    pub notes: Vec<String>,
    /// When to run again, if sooner than the interval.
    pub next_run: Option<Duration>,
}

/// Reads a job: its first page and, once it is `COMPLETED`, every further page. IAM may return
/// fewer items than asked while more exist, so only `IsTruncated` ends the loop.
pub async fn read<A: ReportApi>(api: &A, job_id: &str) -> Result<Progress, CollectError> {
    const OP: &str = "GetOrganizationsAccessReport";
    let mut page = api.page(job_id, None).await?;
    match page.status.as_str() {
        COMPLETED => {}
        FAILED => return Ok(Progress::Failed(page.error)),
        _ => return Ok(Progress::Running(page.status)),
    }
    let mut report = Report {
        job_id: job_id.to_string(),
        created: page.created,
        completed: page.completed,
        services_accessible: 0,
        services_not_accessed: 0,
        services: std::mem::take(&mut page.details),
    };
    let (accessible, not_accessed) = (page.services_accessible, page.services_not_accessed);
    let mut pages = 1;
    while page.is_truncated {
        let Some(marker) = page.marker.take() else {
            return Err(api.error(
                OP,
                ErrorKind::Malformed,
                format!("page {pages} of job {job_id} says IsTruncated but carries no Marker"),
            ));
        };
        if pages >= MAX_PAGES {
            return Err(api.error(
                OP,
                ErrorKind::Malformed,
                format!("job {job_id} is still truncated after {MAX_PAGES} pages"),
            ));
        }
        page = api.page(job_id, Some(&marker)).await?;
        pages += 1;
        if page.status != COMPLETED {
            return Err(api.error(
                OP,
                ErrorKind::Malformed,
                format!(
                    "page {pages} of job {job_id} has status {} after a COMPLETED first page",
                    page.status
                ),
            ));
        }
        report.services.append(&mut page.details);
    }
    // Counts are AWS's when it sends them; otherwise what the pages hold.
    report.services_accessible = accessible.unwrap_or(report.services.len() as i64);
    report.services_not_accessed = not_accessed.unwrap_or(
        report
            .services
            .iter()
            .filter(|s| s.last_authenticated.is_none())
            .count() as i64,
    );
    Ok(Progress::Completed(report))
}

/// One run over every configured entity path at `now`.
pub async fn run<A: ReportApi>(
    api: &A,
    state: &mut State,
    paths: &[String],
    s: &Settings,
    now: Instant,
) -> Outcome {
    state.paths.retain(|p, _| paths.contains(p));
    let mut errors: BTreeMap<String, CollectError> = BTreeMap::new();
    let mut notes = Vec::new();
    for path in paths {
        let ps = state.paths.entry(path.clone()).or_default();
        let mut error = None;
        // Two steps at most: a read that finds the job gone is followed by a generation.
        for _ in 0..2 {
            match ps.step(now, s) {
                Step::Wait(_) => {}
                Step::Generate => match api.generate(path).await {
                    Ok(id) => {
                        tracing::info!(entity_path = %path, job_id = %id, "IAM access report job generated");
                        ps.generated(id, now);
                    }
                    Err(e) => error = Some(e),
                },
                Step::Poll(job_id) => match read(api, &job_id).await {
                    Ok(progress) => {
                        let failed = matches!(progress, Progress::Failed(_));
                        let running = matches!(progress, Progress::Running(_));
                        if ps.polled(progress, now, s) {
                            if failed {
                                let d = ps.failure.clone().unwrap_or_default();
                                tracing::warn!(
                                    entity_path = %path,
                                    job_id = %job_id,
                                    code = %d.code,
                                    message = %d.message,
                                    "IAM access report job failed; the last completed report is kept and a new job is generated at the next interval"
                                );
                                notes.push(format!(
                                    "{path}: job {job_id} FAILED: {}: {}",
                                    d.code, d.message
                                ));
                            } else if running {
                                tracing::warn!(entity_path = %path, job_id = %job_id, "IAM access report job still in progress after too long; given up until the next interval");
                                notes.push(format!(
                                    "{path}: job {job_id} still in progress after {:?}; given up until the next interval",
                                    s.stuck_after()
                                ));
                            }
                        }
                    }
                    Err(e) => match ps.poll_failed(&e, now) {
                        AfterPollError::Regenerate => {
                            notes.push(format!(
                                "{path}: job {job_id} is unknown to IAM; generating a new one"
                            ));
                            continue;
                        }
                        AfterPollError::Retry | AfterPollError::GaveUp => error = Some(e),
                    },
                },
            }
            break;
        }
        let Some(e) = error else { continue };
        if matches!(ps.phase, Phase::Generating { .. }) {
            tracing::warn!(entity_path = %path, error = %e, "IAM access report call failed; retried at the next poll");
            notes.push(format!("{path}: {e}"));
        } else {
            errors.insert(path.clone(), e);
        }
    }
    // The earliest next step: a poll (or a generation that is due) after `poll_interval`, a
    // regeneration when its report comes of age; a path whose part failed waits for the
    // interval.
    let next = state
        .paths
        .iter()
        .filter(|(path, _)| !errors.contains_key(*path))
        .map(|(_, p)| match p.step(now, s) {
            Step::Wait(d) => d.max(s.poll_interval),
            Step::Generate | Step::Poll(_) => s.poll_interval,
        })
        .min();
    Outcome {
        errors,
        notes,
        next_run: next.filter(|d| *d < s.interval),
    }
}

#[cfg(test)]
mod tests;
