//! The job table: the latest snapshot of every (collector, account, region) job and the
//! freshness rule.
//!
//! Freshness: a failed run keeps the job's last good snapshot while fewer than
//! `max_stale_intervals` runs in a row have failed, then drops it; `collector_up` is 0 from the
//! first failure and the last-success timestamp tells the data's age. A successful run replaces
//! the snapshot whole, so series that vanished from AWS vanish from `/metrics`.
//!
//! Partial results: a run may report parts (see `collect::Part`) beside its core families. Each
//! part has its own snapshot and its own count of failures in a row, so the same rule applies per
//! part: a failed part keeps its last good families while fewer than `max_stale_intervals` runs
//! in a row failed to read it, then they go; the parts that were read replace theirs. A run with
//! a failed part is a failed attempt for `collector_up` and the failure counters (kind of the
//! first failed part) but not for the last-success timestamp, which stays the time of the last
//! run that read everything. A part no longer reported is gone with its families.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::aws::{CollectError, ErrorKind};
use crate::collect::{Collected, Part};
use crate::collectors::CollectorKind;
use crate::metrics::{Attention, Family};

/// Identifies one scheduled job: a collector run against one account in one region.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobKey {
    /// Which collector.
    pub collector: CollectorKind,
    /// The AWS account the job reads (for organization collectors, the account it calls from).
    pub account_id: String,
    /// The region the job reads.
    pub region: String,
}

impl std::fmt::Display for JobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} account {} region {}",
            self.collector.name(),
            self.account_id,
            self.region
        )
    }
}

/// Why a run or a part of it failed: its kind and the error with its whole cause chain, for
/// the log and the status page. Recorded once: a failed part's in its part, a failed run's in
/// its job ([`StatusRow::last_error`] tells both as one).
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// What kind of failure (its label value is `kind.as_str()`).
    pub kind: ErrorKind,
    /// The error with its whole cause chain.
    pub message: String,
}

impl From<&CollectError> for Failure {
    fn from(e: &CollectError) -> Self {
        Failure {
            kind: e.kind,
            message: e.to_string(),
        }
    }
}

/// What one run of a job gives the store: when and how long it ran, the AWS calls it sent, and
/// what it collected (its core families, items, notes and parts) or why it failed as a whole.
#[derive(Debug)]
pub struct RunReport {
    /// When the run started.
    pub started: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// AWS calls the run sent, counted by the runner for every job.
    pub calls: u64,
    /// What the run collected, or why it failed as a whole.
    pub result: Result<Collected, Failure>,
}

/// A part that the last run failed to read: its name, its failure, and the runs in a row that
/// failed to read it.
#[derive(Clone, Debug)]
pub struct FailedPart {
    /// The part's stable name.
    pub name: String,
    /// Why it was not read.
    pub failure: Failure,
    /// Runs in a row that failed to read it.
    pub runs: u32,
}

/// One row of the status page.
#[derive(Clone, Debug)]
pub struct StatusRow {
    /// The job.
    pub key: JobKey,
    /// The configured target it belongs to.
    pub target: String,
    /// Start of the last attempt.
    pub last_attempt: Option<SystemTime>,
    /// Duration of the last attempt.
    pub last_duration: Option<Duration>,
    /// AWS calls of the last attempt.
    pub last_calls: u64,
    /// Last successful attempt.
    pub last_success: Option<SystemTime>,
    /// Why the last attempt failed as a whole, if it did (see [`StatusRow::last_error`]).
    pub failure: Option<Failure>,
    /// Series the job currently contributes.
    pub series: usize,
    /// Runs failed in a row.
    pub consecutive_failures: u32,
    /// Notes of the last good run.
    pub notes: Vec<String>,
    /// The families the job exports now: its last good snapshot and those of its parts, while
    /// they are kept.
    pub snapshots: Vec<Arc<Vec<Family>>>,
    /// What needs attention among those families, kept and dropped with them.
    pub items: Vec<Attention>,
    /// The parts the last run failed to read.
    pub failed_parts: Vec<FailedPart>,
}

impl StatusRow {
    /// The last attempt failed, whole or in part.
    pub fn failing(&self) -> bool {
        self.failure.is_some() || !self.failed_parts.is_empty()
    }

    /// Why the last attempt failed, whole or in part: the run's failure, or the failed parts
    /// as one (the kind of the first), or `None` after a run that read everything.
    pub fn last_error(&self) -> Option<Failure> {
        if let Some(f) = &self.failure {
            return Some(f.clone());
        }
        let first = self.failed_parts.first()?;
        let message = self
            .failed_parts
            .iter()
            .map(|p| {
                format!(
                    "part `{}` not read ({}): {}",
                    p.name,
                    p.failure.kind.as_str(),
                    p.failure.message
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        Some(Failure {
            kind: first.failure.kind,
            message: format!("partial result, the rest is fresh; {message}"),
        })
    }
}

/// One part of a job: its last good families and the runs in a row that failed to read it.
struct PartEntry {
    snapshot: Option<Arc<Vec<Family>>>,
    items: Vec<Attention>,
    failures: u32,
    failure: Option<Failure>,
}

impl PartEntry {
    /// One more run that did not read the part: past the window its families go.
    fn missed(&mut self, max_stale: u32) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= max_stale {
            self.snapshot = None;
            self.items = Vec::new();
        }
    }
}

struct Entry {
    /// The order the job was first registered in (1 for the first): `/ready` waits for the
    /// jobs registered up to a point (see [`Attempted`]).
    seq: u64,
    target: String,
    interval: Duration,
    snapshot: Option<Arc<Vec<Family>>>,
    items: Vec<Attention>,
    last_attempt: Option<SystemTime>,
    last_duration: Option<Duration>,
    last_calls: u64,
    last_success: Option<SystemTime>,
    /// Why the last run failed as a whole; a failed part's failure is in its part.
    failure: Option<Failure>,
    consecutive_failures: u32,
    notes: Vec<String>,
    parts: BTreeMap<String, PartEntry>,
}

impl Entry {
    /// Serving last good values after failed runs, of the whole job or of one of its parts.
    fn stale(&self, max_stale: u32) -> bool {
        let part_stale = self
            .parts
            .values()
            .any(|p| p.failure.is_some() && p.snapshot.is_some());
        let whole = self.failure.is_some()
            && self.snapshot.is_some()
            && self.consecutive_failures < max_stale;
        part_stale || whole
    }

    fn series(&self) -> usize {
        let count = |s: &Option<Arc<Vec<Family>>>| {
            s.as_ref()
                .map(|s| s.iter().map(Family::len).sum())
                .unwrap_or(0)
        };
        count(&self.snapshot)
            + self
                .parts
                .values()
                .map(|p| count(&p.snapshot))
                .sum::<usize>()
    }

    /// Applies a good run's parts: read ones replace their families, failed ones keep theirs
    /// within the window, unreported ones go. Returns the kind of the first failed part.
    fn apply_parts(&mut self, parts: Vec<Part>, max_stale: u32) -> Option<ErrorKind> {
        let mut old = std::mem::take(&mut self.parts);
        let mut first = None;
        for p in parts {
            let mut e = old.remove(&p.name).unwrap_or(PartEntry {
                snapshot: None,
                items: Vec::new(),
                failures: 0,
                failure: None,
            });
            match p.result {
                Ok(read) => {
                    e.snapshot = Some(Arc::new(read.families));
                    e.items = read.items;
                    e.failures = 0;
                    e.failure = None;
                }
                Err(err) => {
                    e.missed(max_stale);
                    first.get_or_insert(err.kind);
                    e.failure = Some(Failure::from(&err));
                }
            }
            self.parts.insert(p.name, e);
        }
        first
    }
}

/// What a recorded run changed, for the telemetry.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    /// The failure's kind (of the run, or of its first failed part), or `None` for a good run.
    pub failed: Option<ErrorKind>,
    /// When the job last succeeded (this run, if it did).
    pub last_success: Option<SystemTime>,
}

/// The job table. Collections write here; the exposition reads `Arc` clones of its snapshots.
pub struct Jobs {
    entries: Mutex<BTreeMap<JobKey, Entry>>,
    /// Families that are not tied to a job (e.g. `aws_account_info` of one discovery target),
    /// by source.
    extra: Mutex<BTreeMap<String, Arc<Vec<Family>>>>,
    max_stale_intervals: AtomicU32,
    /// The last [`Entry::seq`] given.
    seq: AtomicU64,
}

/// Which jobs have finished an attempt: whether any job exists, and the first registered
/// (lowest [`Entry::seq`]) of those that have not.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Attempted {
    /// Jobs exist.
    pub any: bool,
    /// The registration order of the first job without an attempt; `u64::MAX` when every job
    /// has made one.
    pub first_unattempted: u64,
}

impl Attempted {
    /// Jobs exist and every one has finished an attempt.
    pub fn all(&self) -> bool {
        self.any && self.first_unattempted == u64::MAX
    }

    /// Every job registered up to `seq` (the order [`Jobs::last_seq`] gives) has finished an
    /// attempt: jobs registered later may not have.
    pub fn up_to(&self, seq: u64) -> bool {
        self.any && self.first_unattempted > seq
    }
}

impl Jobs {
    /// An empty table with the given freshness window.
    pub fn new(max_stale_intervals: u32) -> Self {
        Jobs {
            entries: Mutex::new(BTreeMap::new()),
            extra: Mutex::new(BTreeMap::new()),
            max_stale_intervals: AtomicU32::new(max_stale_intervals.max(1)),
            seq: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<JobKey, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written in a way that matters
        // more than losing every metric, so poisoning is ignored.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the freshness window (on reload).
    pub fn set_max_stale_intervals(&self, n: u32) {
        self.max_stale_intervals.store(n.max(1), Ordering::Relaxed);
    }

    /// Declares a job. Keeps a known job's data.
    pub fn register(&self, key: JobKey, target: &str, interval: Duration) {
        let mut entries = self.lock();
        let e = entries.entry(key).or_insert_with(|| Entry {
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            target: target.to_string(),
            interval,
            snapshot: None,
            items: Vec::new(),
            last_attempt: None,
            last_duration: None,
            last_calls: 0,
            last_success: None,
            failure: None,
            consecutive_failures: 0,
            notes: Vec::new(),
            parts: BTreeMap::new(),
        });
        e.interval = interval;
        e.target = target.to_string();
    }

    /// Forgets a job; true if it was known.
    pub fn remove(&self, key: &JobKey) -> bool {
        self.lock().remove(key).is_some()
    }

    /// The keys of every registered job.
    pub fn keys(&self) -> Vec<JobKey> {
        self.lock().keys().cloned().collect()
    }

    /// Records the outcome of one run and applies the freshness rule, to the job and to each
    /// of its parts (see `collect::Part`); `None` if the job was removed while it ran (its
    /// result has no home any more).
    pub fn record(&self, key: &JobKey, report: RunReport) -> Option<Recorded> {
        let mut report = report;
        // Kept until the next run: trimmed before the lock is taken.
        if let Ok(c) = &mut report.result {
            let parts = c.parts.iter_mut().filter_map(|p| p.result.as_mut().ok());
            let families = std::iter::once(&mut c.families).chain(parts.map(|r| &mut r.families));
            for f in families {
                f.iter_mut().for_each(Family::shrink_to_fit);
                f.shrink_to_fit();
            }
            c.items.shrink_to_fit();
        }
        let max_stale = self.max_stale_intervals.load(Ordering::Relaxed);
        let mut entries = self.lock();
        let e = entries.get_mut(key)?;
        e.last_attempt = Some(report.started);
        e.last_duration = Some(report.duration);
        e.last_calls = report.calls;
        let failed = match report.result {
            Ok(c) => {
                e.snapshot = Some(Arc::new(c.families));
                e.items = c.items;
                e.notes = c.notes;
                e.failure = None;
                match e.apply_parts(c.parts, max_stale) {
                    None => {
                        e.last_success = Some(report.started + report.duration);
                        e.consecutive_failures = 0;
                        None
                    }
                    Some(kind) => {
                        // "In a row" counts the runs that left some part unread.
                        e.consecutive_failures =
                            e.parts.values().map(|p| p.failures).max().unwrap_or(1);
                        Some(kind)
                    }
                }
            }
            Err(failure) => {
                e.consecutive_failures = e.consecutive_failures.saturating_add(1);
                let kind = failure.kind;
                e.failure = Some(failure);
                // No part was read either: each is one more run behind.
                e.parts.values_mut().for_each(|p| p.missed(max_stale));
                if e.consecutive_failures >= max_stale {
                    e.snapshot = None;
                    e.items = Vec::new();
                    e.parts.clear();
                }
                Some(kind)
            }
        };
        Some(Recorded {
            failed,
            last_success: e.last_success,
        })
    }

    /// Replaces the families of a source that is not a job.
    pub fn set_extra(&self, source: &str, families: Vec<Family>) {
        self.extra
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(source.to_string(), Arc::new(families));
    }

    /// Drops the families `keep` refuses from every snapshot held (a family turned off by a
    /// reload goes now, not at each job's next run). A snapshot that loses none stays the same
    /// `Arc`, so its encoded text stays kept.
    pub fn retain_families(&self, keep: impl Fn(&Family) -> bool) {
        let filter = |s: &mut Arc<Vec<Family>>| {
            if !s.iter().all(&keep) {
                *s = Arc::new(s.iter().filter(|f| keep(f)).cloned().collect());
            }
        };
        for e in self.lock().values_mut() {
            if let Some(s) = &mut e.snapshot {
                filter(s);
            }
            for p in e.parts.values_mut() {
                if let Some(s) = &mut p.snapshot {
                    filter(s);
                }
            }
        }
        for s in self
            .extra
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values_mut()
        {
            filter(s);
        }
    }

    /// The families of sources that are not jobs.
    pub fn extras(&self) -> Vec<Arc<Vec<Family>>> {
        self.extra
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Which jobs have finished an attempt.
    pub fn attempted(&self) -> Attempted {
        attempted(&self.lock())
    }

    /// The registration order of the job registered last (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// Rows for the status page, in key order.
    pub fn status(&self) -> Vec<StatusRow> {
        self.lock()
            .iter()
            .map(|(k, e)| StatusRow {
                key: k.clone(),
                target: e.target.clone(),
                last_attempt: e.last_attempt,
                last_duration: e.last_duration,
                last_calls: e.last_calls,
                last_success: e.last_success,
                failure: e.failure.clone(),
                series: e.series(),
                consecutive_failures: e.consecutive_failures,
                notes: e.notes.clone(),
                snapshots: e
                    .snapshot
                    .iter()
                    .chain(e.parts.values().filter_map(|p| p.snapshot.as_ref()))
                    .cloned()
                    .collect(),
                items: e
                    .items
                    .iter()
                    .chain(e.parts.values().flat_map(|p| p.items.iter()))
                    .cloned()
                    .collect(),
                failed_parts: e
                    .parts
                    .iter()
                    .filter_map(|(n, p)| {
                        p.failure.as_ref().map(|f| FailedPart {
                            name: n.clone(),
                            failure: f.clone(),
                            runs: p.failures,
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    /// What an exposition is made of, taken under the lock as `Arc` clones (no copy of a
    /// family): each job's snapshot with its interval, then the extra families; and how many jobs
    /// of each collector serve stale values.
    pub fn snapshots(&self) -> Taken {
        let max_stale = self.max_stale_intervals.load(Ordering::Relaxed);
        let mut stale = BTreeMap::new();
        let mut oldest_success: BTreeMap<CollectorKind, SystemTime> = BTreeMap::new();
        let mut job_series = 0;
        let (attempted, jobs) = {
            let entries = self.lock();
            let attempted = attempted(&entries);
            let mut jobs = Vec::with_capacity(entries.len());
            for (k, e) in entries.iter() {
                let n = stale.entry(k.collector).or_insert(0);
                if e.stale(max_stale) {
                    *n += 1;
                }
                if let Some(t) = e.last_success {
                    let o = oldest_success.entry(k.collector).or_insert(t);
                    *o = (*o).min(t);
                }
                job_series += usize::from(e.last_attempt.is_some())
                    + usize::from(e.last_success.is_some() && e.consecutive_failures > 0);
                if let Some(s) = &e.snapshot {
                    jobs.push((s.clone(), e.interval));
                }
                for p in e.parts.values() {
                    if let Some(s) = &p.snapshot {
                        jobs.push((s.clone(), e.interval));
                    }
                }
            }
            (attempted, jobs)
        };
        let extra = self.extras();
        Taken {
            jobs,
            extra,
            stale,
            oldest_success,
            job_series,
            attempted,
        }
    }
}

/// The snapshots of the job table at one moment.
pub struct Taken {
    /// Each job's snapshot and its collection interval.
    pub jobs: Vec<(Arc<Vec<Family>>, Duration)>,
    /// Families of sources that are not jobs.
    pub extra: Vec<Arc<Vec<Family>>>,
    /// Jobs serving stale values, per collector that has jobs.
    pub stale: BTreeMap<CollectorKind, i64>,
    /// The oldest last success among each collector's jobs that succeeded once.
    pub oldest_success: BTreeMap<CollectorKind, SystemTime>,
    /// The exporter's own per-job series: `collector_up` for every job that ran, the last
    /// success timestamp for every failing job that succeeded once.
    pub job_series: usize,
    /// Which jobs had made an attempt.
    pub attempted: Attempted,
}

fn attempted(entries: &BTreeMap<JobKey, Entry>) -> Attempted {
    Attempted {
        any: !entries.is_empty(),
        first_unattempted: entries
            .values()
            .filter(|e| e.last_attempt.is_none())
            .map(|e| e.seq)
            .min()
            .unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Desc, Kind};

    static CORE: Desc = Desc {
        name: "aws_test_core",
        help: "core",
        kind: Kind::Gauge,
        labels: &["v"],
    };
    static PART: Desc = Desc {
        name: "aws_test_part",
        help: "part",
        kind: Kind::Gauge,
        labels: &["v"],
    };

    fn key() -> JobKey {
        JobKey {
            collector: CollectorKind::ALL[0],
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
        }
    }

    fn fam(desc: &'static Desc, v: f64) -> Vec<Family> {
        let mut f = Family::new(desc);
        f.push(&["x"], v);
        vec![f]
    }

    fn good(v: f64) -> RunReport {
        with_parts(v, &[])
    }

    /// A good run whose part `findings` is read (`Some(value)`) or fails (`None`).
    fn with_part(v: f64, part: Option<f64>) -> RunReport {
        with_parts(v, &[part])
    }

    fn with_parts(v: f64, parts: &[Option<f64>]) -> RunReport {
        let mut c = Collected::from(crate::metrics::Reading::from(fam(&CORE, v)));
        for p in parts {
            match p {
                Some(v) => c.part("findings", Ok(fam(&PART, *v))),
                None => c.failed_part(
                    "findings",
                    CollectError::new(
                        "GetFindingsStatistics",
                        "111111111111",
                        "us-east-1",
                        ErrorKind::AccessDenied,
                        "no",
                    ),
                ),
            }
        }
        RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(1),
            calls: 3,
            result: Ok(c),
        }
    }

    /// The values the exposition would show: (family, value) of every snapshot.
    fn shown(j: &Jobs) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for (s, _) in j.snapshots().jobs {
            for f in s.iter() {
                for line in f.text().lines() {
                    let (name, v) = line.split_once(' ').unwrap();
                    out.push((
                        name.split('{').next().unwrap().to_string(),
                        v.parse().unwrap(),
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn a_failed_part_keeps_its_last_values_for_the_window_while_the_rest_is_replaced() {
        let j = Jobs::new(3);
        j.register(key(), "t", Duration::from_secs(60));
        let r = j.record(&key(), with_part(1.0, Some(10.0))).unwrap();
        assert_eq!(r.failed, None);
        let first_success = r.last_success;
        assert_eq!(
            shown(&j),
            vec![
                ("aws_test_core".into(), 1.0),
                ("aws_test_part".into(), 10.0)
            ]
        );

        // Two failed reads of the part: the core is fresh, the part keeps 10, the job is down.
        for (run, core) in [(1u32, 2.0), (2, 3.0)] {
            let r = j.record(&key(), with_part(core, None)).unwrap();
            assert_eq!(r.failed, Some(ErrorKind::AccessDenied));
            assert_eq!(
                r.last_success, first_success,
                "a partial run is not a success"
            );
            assert_eq!(
                shown(&j),
                vec![
                    ("aws_test_core".into(), core),
                    ("aws_test_part".into(), 10.0)
                ]
            );
            let row = &j.status()[0];
            assert_eq!(row.consecutive_failures, run);
            assert_eq!(row.failed_parts.len(), 1);
            assert_eq!(row.failed_parts[0].name, "findings");
            assert_eq!(row.failed_parts[0].runs, run);
            assert_eq!(row.last_calls, 3);
            assert!(row.failure.is_none(), "the run as a whole did not fail");
            let e = row.last_error().unwrap();
            assert_eq!(e.kind, ErrorKind::AccessDenied);
            assert!(
                e.message
                    .contains("part `findings` not read (access_denied): GetFindingsStatistics"),
                "{}",
                e.message
            );
            assert_eq!(j.snapshots().stale.values().sum::<i64>(), 1);
        }
        // The third: the window of 3 is spent, the part's values go, the core stays.
        j.record(&key(), with_part(4.0, None)).unwrap();
        assert_eq!(shown(&j), vec![("aws_test_core".into(), 4.0)]);
        assert_eq!(j.snapshots().stale.values().sum::<i64>(), 0);

        // Read again: back, and the job is up.
        let r = j.record(&key(), with_part(5.0, Some(11.0))).unwrap();
        assert_eq!(r.failed, None);
        assert!(r.last_success > first_success);
        assert!(j.status()[0].last_error().is_none());
        assert_eq!(
            shown(&j),
            vec![
                ("aws_test_core".into(), 5.0),
                ("aws_test_part".into(), 11.0)
            ]
        );

        // A part no longer reported is gone with its values.
        j.record(&key(), good(6.0)).unwrap();
        assert_eq!(shown(&j), vec![("aws_test_core".into(), 6.0)]);
    }

    #[test]
    fn a_whole_failure_ages_the_parts_too() {
        let j = Jobs::new(2);
        j.register(key(), "t", Duration::from_secs(60));
        j.record(&key(), with_part(1.0, Some(10.0)));
        let fail = || RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(1),
            calls: 1,
            result: Err(Failure {
                kind: ErrorKind::Throttled,
                message: "slow down".into(),
            }),
        };
        j.record(&key(), fail());
        assert_eq!(shown(&j).len(), 2, "within the window both stay");
        j.record(&key(), fail());
        assert!(shown(&j).is_empty(), "past it both go");
    }
}
