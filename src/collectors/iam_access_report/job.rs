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
//! A run fails (collector_up 0, the previous snapshot kept by the store) only when it learned
//! nothing: a call failed, no job is left in progress and no job finished. Otherwise failing
//! would lose the poll hint (the scheduler would wait a whole interval to poll again) or the
//! report that just completed, so the run succeeds, its errors become notes, and the scheduler
//! comes back after `poll_interval`, when an error that persists fails the run.

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
    /// The run fails with this error (see the module comment for when).
    pub error: Option<CollectError>,
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
    let mut errors: Vec<CollectError> = Vec::new();
    let mut notes = Vec::new();
    let mut finished = false;
    for path in paths {
        let ps = state.paths.entry(path.clone()).or_default();
        // Two steps at most: a read that finds the job gone is followed by a generation.
        for _ in 0..2 {
            match ps.step(now, s) {
                Step::Wait(_) => {}
                Step::Generate => match api.generate(path).await {
                    Ok(id) => {
                        tracing::info!(entity_path = %path, job_id = %id, "IAM access report job generated");
                        ps.generated(id, now);
                    }
                    Err(e) => errors.push(e),
                },
                Step::Poll(job_id) => match read(api, &job_id).await {
                    Ok(progress) => {
                        let failed = matches!(progress, Progress::Failed(_));
                        let running = matches!(progress, Progress::Running(_));
                        if ps.polled(progress, now, s) {
                            finished = true;
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
                        AfterPollError::Retry | AfterPollError::GaveUp => errors.push(e),
                    },
                },
            }
            break;
        }
    }
    let in_progress = state
        .paths
        .values()
        .any(|p| matches!(p.phase, Phase::Generating { .. }));
    if !errors.is_empty() && !in_progress && !finished {
        let mut errors = errors.into_iter();
        let error = errors.next();
        for e in errors {
            tracing::warn!(error = %e, "IAM access report call failed");
            notes.push(e.to_string());
        }
        return Outcome {
            error,
            notes,
            next_run: None,
        };
    }
    for e in errors {
        tracing::warn!(error = %e, "IAM access report call failed; retried at the next poll");
        notes.push(e.to_string());
    }
    // The earliest next step: a poll (or a generation that failed or is due) after
    // `poll_interval`, a regeneration when its report comes of age.
    let next = state
        .paths
        .values()
        .map(|p| match p.step(now, s) {
            Step::Wait(d) => d.max(s.poll_interval),
            Step::Generate | Step::Poll(_) => s.poll_interval,
        })
        .min();
    Outcome {
        error: None,
        notes,
        next_run: next.filter(|d| *d < s.interval),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::super::api::{Page, ServiceAccess};
    use super::super::convert;
    use super::*;

    const ROOT: &str = "o-a1b2c3d4e5/r-f6g7";
    const OU: &str = "o-a1b2c3d4e5/r-f6g7/ou-f6g7-h8i9j0k1";

    fn settings() -> Settings {
        Settings {
            interval: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(10),
        }
    }

    fn sdk_error(op: &'static str, code: &str) -> CollectError {
        CollectError {
            code: Some(code.to_string()),
            ..CollectError::new(
                op,
                "111111111111",
                "us-east-1",
                crate::aws::error::kind_of_code(code),
                format!("{code}: simulated"),
            )
        }
    }

    struct FakeJob {
        polls_left: u32,
        fails: bool,
        seq: u32,
    }

    /// A fake IAM: jobs finish after `polls` reads; completed reports are three pages (2, 3
    /// and 1 services: fewer than MaxItems while truncated) whose values depend on the job.
    #[derive(Default)]
    struct Fake {
        polls: u32,
        jobs: Mutex<HashMap<String, FakeJob>>,
        seq: Mutex<u32>,
        calls: Mutex<Vec<String>>,
        fail_next_jobs: Mutex<u32>,
        generate_errors: Mutex<Vec<(String, CollectError)>>,
        page_errors: Mutex<Vec<CollectError>>,
    }

    impl Fake {
        fn new(polls: u32) -> Self {
            Fake {
                polls,
                ..Default::default()
            }
        }

        /// The calls since the last look.
        fn calls(&self) -> Vec<String> {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }

        /// The next generation for `path` fails with `code`.
        fn fail_generate(&self, path: &str, code: &str) {
            self.generate_errors.lock().unwrap().push((
                path.to_string(),
                sdk_error("GenerateOrganizationsAccessReport", code),
            ));
        }

        /// The next read fails with `code`.
        fn fail_page(&self, code: &str) {
            self.page_errors
                .lock()
                .unwrap()
                .push(sdk_error("GetOrganizationsAccessReport", code));
        }
    }

    fn service(ns: &str, seq: u32, accessed: bool) -> ServiceAccess {
        ServiceAccess {
            namespace: ns.into(),
            name: format!("Service {ns}"),
            last_authenticated: accessed.then_some(1_700_000_000.0 + seq as f64),
            authenticated_entities: accessed.then_some(seq as i64 + 1),
            region: accessed.then(|| "us-east-1".into()),
            entity_path: accessed.then(|| ROOT.into()),
        }
    }

    impl ReportApi for Fake {
        async fn generate(&self, entity_path: &str) -> Result<String, CollectError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("generate {entity_path}"));
            {
                let mut errs = self.generate_errors.lock().unwrap();
                if let Some(i) = errs.iter().position(|(p, _)| p == entity_path) {
                    return Err(errs.remove(i).1);
                }
            }
            let mut seq = self.seq.lock().unwrap();
            *seq += 1;
            let id = format!("job-{}", *seq);
            let mut fail = self.fail_next_jobs.lock().unwrap();
            let fails = *fail > 0;
            *fail = fail.saturating_sub(1);
            self.jobs.lock().unwrap().insert(
                id.clone(),
                FakeJob {
                    polls_left: self.polls,
                    fails,
                    seq: *seq,
                },
            );
            Ok(id)
        }

        async fn page(&self, job_id: &str, marker: Option<&str>) -> Result<Page, CollectError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("page {job_id} {}", marker.unwrap_or("-")));
            if let Some(e) = self.page_errors.lock().unwrap().pop() {
                return Err(e);
            }
            let mut jobs = self.jobs.lock().unwrap();
            let Some(job) = jobs.get_mut(job_id) else {
                return Err(sdk_error("GetOrganizationsAccessReport", "NoSuchEntity"));
            };
            let created = Some(1_700_000_000.0 + job.seq as f64 * 1000.0);
            if job.polls_left > 0 {
                job.polls_left -= 1;
                return Ok(Page {
                    status: IN_PROGRESS.into(),
                    created,
                    ..Default::default()
                });
            }
            let completed = created.map(|c| c + 30.0);
            if job.fails {
                return Ok(Page {
                    status: FAILED.into(),
                    created,
                    completed,
                    error: Some(ErrorDetails {
                        code: "ServiceDataUnavailable".into(),
                        message: "try again later".into(),
                    }),
                    ..Default::default()
                });
            }
            let seq = job.seq;
            let (details, next) = match marker {
                None => (
                    vec![service("ec2", seq, true), service("iam", seq, true)],
                    Some("m1"),
                ),
                Some("m1") => (
                    vec![
                        service("kms", seq, false),
                        service("s3", seq, true),
                        service("sqs", seq, false),
                    ],
                    Some("m2"),
                ),
                Some("m2") => (vec![service("zocalo", seq, false)], None),
                Some(m) => panic!("unexpected marker {m}"),
            };
            Ok(Page {
                status: COMPLETED.into(),
                created,
                completed,
                services_accessible: Some(6),
                services_not_accessed: Some(3),
                details,
                is_truncated: next.is_some(),
                marker: next.map(str::to_string),
                error: None,
            })
        }
    }

    fn text(state: &State, paths: &[String]) -> String {
        convert::families(&convert::entries(state, paths))
            .iter()
            .map(|f| String::from_utf8(f.lines().to_vec()).unwrap())
            .collect()
    }

    fn status_lines(path: &str, current: &str) -> String {
        STATUSES
            .iter()
            .map(|s| {
                format!(
                    "aws_iam_org_access_report_job_status{{entity_path=\"{path}\",status=\"{s}\"}} {}\n",
                    u8::from(*s == current)
                )
            })
            .collect()
    }

    fn completion_line(path: &str, secs: u64) -> String {
        format!(
            "aws_iam_org_access_report_completion_timestamp_seconds{{entity_path=\"{path}\"}} {secs}\n"
        )
    }

    /// The exported lines but the job status: the values of the report served.
    fn values(t: &str) -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("aws_iam_org_access_report_job_status"))
            .map(str::to_string)
            .collect()
    }

    async fn tick(fake: &Fake, st: &mut State, paths: &[String], s: &Settings) -> Outcome {
        run(fake, st, paths, s, Instant::now()).await
    }

    #[tokio::test(start_paused = true)]
    async fn in_progress_across_ticks_then_completed_with_three_pages() {
        let (fake, s, paths) = (Fake::new(2), settings(), vec![ROOT.to_string()]);
        let mut st = State::default();

        let o = tick(&fake, &mut st, &paths, &s).await;
        assert!(o.error.is_none());
        assert_eq!(o.next_run, Some(s.poll_interval));
        assert_eq!(fake.calls(), vec![format!("generate {ROOT}")]);
        assert_eq!(text(&st, &paths), status_lines(ROOT, IN_PROGRESS));

        for _ in 0..2 {
            tokio::time::advance(s.poll_interval).await;
            let o = tick(&fake, &mut st, &paths, &s).await;
            assert_eq!(o.next_run, Some(s.poll_interval));
            assert_eq!(fake.calls(), vec!["page job-1 -".to_string()]);
            assert_eq!(text(&st, &paths), status_lines(ROOT, IN_PROGRESS));
        }

        tokio::time::advance(s.poll_interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert!(o.error.is_none());
        assert_eq!(
            fake.calls(),
            vec!["page job-1 -", "page job-1 m1", "page job-1 m2"]
        );
        // Regeneration is due an interval after the job started, 30 s ago.
        assert_eq!(o.next_run, Some(s.interval - 3 * s.poll_interval));
        let t = text(&st, &paths);
        assert!(t.starts_with(&status_lines(ROOT, COMPLETED)), "{t}");
        assert!(t.contains(&completion_line(ROOT, 1_700_001_030)), "{t}");
        let r = st.paths[ROOT].report.as_ref().unwrap();
        assert_eq!(r.services.len(), 6, "every page was read");
        assert_eq!((r.services_accessible, r.services_not_accessed), (6, 3));
        assert_eq!(t.matches("service_authenticated_entities{").count(), 6);
        assert_eq!(t.matches("service_last_authenticated").count(), 3);

        // Nothing to do until the report comes of age.
        tokio::time::advance(Duration::from_secs(60)).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert!(fake.calls().is_empty());
        assert_eq!(o.next_run, Some(s.interval - Duration::from_secs(90)));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_job_is_exported_and_retried_at_the_next_interval() {
        let (fake, s, paths) = (Fake::new(1), settings(), vec![ROOT.to_string()]);
        *fake.fail_next_jobs.lock().unwrap() = 1;
        let mut st = State::default();
        tick(&fake, &mut st, &paths, &s).await;
        tokio::time::advance(s.poll_interval).await;
        tick(&fake, &mut st, &paths, &s).await;
        tokio::time::advance(s.poll_interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert!(
            o.error.is_none(),
            "a FAILED job is a finding, not a failed run"
        );
        assert_eq!(
            o.notes,
            vec![format!(
                "{ROOT}: job job-1 FAILED: ServiceDataUnavailable: try again later"
            )]
        );
        assert_eq!(
            text(&st, &paths),
            status_lines(ROOT, FAILED),
            "no report yet: only the status"
        );
        assert_eq!(o.next_run, Some(s.interval - 2 * s.poll_interval));
        fake.calls();

        // Not before the interval...
        tokio::time::advance(s.interval - 3 * s.poll_interval).await;
        tick(&fake, &mut st, &paths, &s).await;
        assert!(fake.calls().is_empty());
        // ...then a new job, which completes.
        tokio::time::advance(s.poll_interval).await;
        tick(&fake, &mut st, &paths, &s).await;
        assert_eq!(fake.calls(), vec![format!("generate {ROOT}")]);
        for _ in 0..2 {
            tokio::time::advance(s.poll_interval).await;
            tick(&fake, &mut st, &paths, &s).await;
        }
        let t = text(&st, &paths);
        assert!(t.starts_with(&status_lines(ROOT, COMPLETED)), "{t}");
        assert!(t.contains(&completion_line(ROOT, 1_700_002_030)), "{t}");
        assert_eq!(st.paths[ROOT].failure, None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_old_report_is_served_while_a_new_one_is_generated_or_fails() {
        let (fake, s, paths) = (Fake::new(1), settings(), vec![ROOT.to_string()]);
        let mut st = State::default();
        for _ in 0..3 {
            tick(&fake, &mut st, &paths, &s).await;
            tokio::time::advance(s.poll_interval).await;
        }
        let first = text(&st, &paths);
        assert!(first.contains(&completion_line(ROOT, 1_700_001_030)));

        // Regeneration: job 2 in progress, job 1's values still served.
        tokio::time::advance(s.interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert_eq!(o.next_run, Some(s.poll_interval));
        assert_eq!(fake.calls().last().unwrap(), &format!("generate {ROOT}"));
        let during = text(&st, &paths);
        assert!(
            during.starts_with(&status_lines(ROOT, IN_PROGRESS)),
            "{during}"
        );
        assert_eq!(values(&during), values(&first));

        // Job 2 fails: FAILED, and still job 1's values.
        fake.jobs.lock().unwrap().get_mut("job-2").unwrap().fails = true;
        for _ in 0..2 {
            tokio::time::advance(s.poll_interval).await;
            tick(&fake, &mut st, &paths, &s).await;
        }
        let failed = text(&st, &paths);
        assert!(failed.starts_with(&status_lines(ROOT, FAILED)), "{failed}");
        assert_eq!(values(&failed), values(&first));

        // Next interval: job 3 completes and replaces job 1's values.
        tokio::time::advance(s.interval).await;
        for _ in 0..3 {
            tick(&fake, &mut st, &paths, &s).await;
            tokio::time::advance(s.poll_interval).await;
        }
        let last = text(&st, &paths);
        assert!(last.starts_with(&status_lines(ROOT, COMPLETED)), "{last}");
        assert!(
            last.contains(&completion_line(ROOT, 1_700_003_030)),
            "{last}"
        );
        assert_ne!(values(&last), values(&first));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_generation_fails_the_run_and_is_retried() {
        let (fake, s, paths) = (Fake::new(0), settings(), vec![ROOT.to_string()]);
        fake.fail_generate(ROOT, "ReportGenerationLimitExceeded");
        let mut st = State::default();
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert_eq!(
            o.error.as_ref().and_then(|e| e.code()),
            Some("ReportGenerationLimitExceeded")
        );
        assert_eq!(o.next_run, None);
        assert_eq!(text(&st, &paths), "");
        tokio::time::advance(s.interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert!(o.error.is_none());
        assert_eq!(fake.calls().len(), 2);
        assert!(matches!(st.paths[ROOT].phase, Phase::Generating { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn read_errors_keep_polling_until_the_third_then_give_up() {
        let (fake, s, paths) = (Fake::new(0), settings(), vec![ROOT.to_string()]);
        let mut st = State::default();
        tick(&fake, &mut st, &paths, &s).await;
        for i in 1..=3 {
            fake.fail_page("ServiceFailure");
            tokio::time::advance(s.poll_interval).await;
            let o = tick(&fake, &mut st, &paths, &s).await;
            if i < 3 {
                assert!(o.error.is_none(), "a job in progress keeps the poll hint");
                assert_eq!(o.next_run, Some(s.poll_interval));
                assert_eq!(o.notes.len(), 1);
                assert_eq!(text(&st, &paths), status_lines(ROOT, IN_PROGRESS));
            } else {
                assert_eq!(
                    o.error.as_ref().and_then(|e| e.code()),
                    Some("ServiceFailure")
                );
                assert_eq!(st.paths[ROOT].phase, Phase::Idle);
                assert_eq!(text(&st, &paths), "", "the status is unknown");
            }
        }
        // Retried at the next interval.
        tokio::time::advance(s.interval).await;
        fake.calls();
        tick(&fake, &mut st, &paths, &s).await;
        assert_eq!(fake.calls(), vec![format!("generate {ROOT}")]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_error_between_two_successes_resets_the_count() {
        let (fake, s, paths) = (Fake::new(3), settings(), vec![ROOT.to_string()]);
        let mut st = State::default();
        tick(&fake, &mut st, &paths, &s).await;
        for fail in [true, true, false, true, true, false] {
            if fail {
                fake.fail_page("ServiceFailure");
            }
            tokio::time::advance(s.poll_interval).await;
            let o = tick(&fake, &mut st, &paths, &s).await;
            assert!(o.error.is_none());
        }
        assert!(text(&st, &paths).starts_with(&status_lines(ROOT, IN_PROGRESS)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_iam_forgot_is_generated_anew_in_the_same_run() {
        let (fake, s, paths) = (Fake::new(5), settings(), vec![ROOT.to_string()]);
        let mut st = State::default();
        tick(&fake, &mut st, &paths, &s).await;
        fake.jobs.lock().unwrap().clear();
        fake.calls();
        tokio::time::advance(s.poll_interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert!(o.error.is_none());
        assert_eq!(o.notes.len(), 1, "{:?}", o.notes);
        assert_eq!(
            fake.calls(),
            vec!["page job-1 -".to_string(), format!("generate {ROOT}")]
        );
        assert_eq!(
            st.paths[ROOT].phase,
            Phase::Generating {
                job_id: "job-2".into(),
                started: Instant::now(),
                poll_errors: 0
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_job_is_given_up_until_the_next_interval() {
        let (fake, s, paths) = (Fake::new(u32::MAX), settings(), vec![ROOT.to_string()]);
        let mut st = State::default();
        tick(&fake, &mut st, &paths, &s).await;
        tokio::time::advance(s.interval - s.poll_interval).await;
        tick(&fake, &mut st, &paths, &s).await;
        assert!(matches!(st.paths[ROOT].phase, Phase::Generating { .. }));
        tokio::time::advance(s.poll_interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert_eq!(st.paths[ROOT].phase, Phase::Idle);
        assert_eq!(o.notes.len(), 1, "{:?}", o.notes);
        assert_eq!(o.next_run, None, "retried a whole interval later");
    }

    #[tokio::test(start_paused = true)]
    async fn entity_paths_run_independently() {
        let (fake, s) = (Fake::new(1), settings());
        let paths = vec![ROOT.to_string(), OU.to_string()];
        let mut st = State::default();
        // The OU's first generation is throttled while the root's job runs.
        fake.fail_generate(OU, "Throttling");
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert_eq!(
            fake.calls(),
            vec![format!("generate {ROOT}"), format!("generate {OU}")]
        );
        assert!(
            o.error.is_none(),
            "a job is in progress: the error is a note"
        );
        assert_eq!(o.notes.len(), 1);
        assert!(o.notes[0].contains("Throttling"), "{:?}", o.notes);
        assert_eq!(o.next_run, Some(s.poll_interval));
        tokio::time::advance(s.poll_interval).await;
        tick(&fake, &mut st, &paths, &s).await;
        assert_eq!(
            fake.calls(),
            vec!["page job-1 -".to_string(), format!("generate {OU}")]
        );
        for _ in 0..2 {
            tokio::time::advance(s.poll_interval).await;
            tick(&fake, &mut st, &paths, &s).await;
        }
        let t = text(&st, &paths);
        assert!(
            t.starts_with(&format!(
                "{}{}",
                status_lines(ROOT, COMPLETED),
                status_lines(OU, COMPLETED)
            )),
            "{t}"
        );
        assert!(t.contains(&completion_line(OU, 1_700_002_030)), "{t}");
        // A path removed from the config is forgotten.
        let only = vec![OU.to_string()];
        tick(&fake, &mut st, &only, &s).await;
        assert_eq!(st.paths.keys().collect::<Vec<_>>(), vec![OU]);
    }

    struct Canned(Page);

    impl ReportApi for Canned {
        async fn generate(&self, _: &str) -> Result<String, CollectError> {
            Ok("job".into())
        }
        async fn page(&self, _: &str, _: Option<&str>) -> Result<Page, CollectError> {
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn paging_stops_on_a_missing_marker_and_on_endless_pages() {
        let truncated = Page {
            status: COMPLETED.into(),
            is_truncated: true,
            details: vec![service("s3", 1, true)],
            ..Default::default()
        };
        let e = read(&Canned(truncated.clone()), "job").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
        assert!(e.message.contains("no Marker"), "{}", e.message);
        let endless = Page {
            marker: Some("again".into()),
            ..truncated
        };
        let e = read(&Canned(endless), "job").await.unwrap_err();
        assert!(e.message.contains("1000 pages"), "{}", e.message);
        // Without AWS's counts, they are counted from the pages.
        let one = Page {
            status: COMPLETED.into(),
            details: vec![service("s3", 1, true), service("sqs", 1, false)],
            ..Default::default()
        };
        match read(&Canned(one), "job").await.unwrap() {
            Progress::Completed(r) => {
                assert_eq!((r.services_accessible, r.services_not_accessed), (2, 1))
            }
            p => panic!("{p:?}"),
        }
        // A status AWS adds later is kept raw and polled on.
        let new = Page {
            status: "QUEUED".into(),
            ..Default::default()
        };
        assert_eq!(
            read(&Canned(new), "job").await.unwrap(),
            Progress::Running("QUEUED".into())
        );
    }
}
