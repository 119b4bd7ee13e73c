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
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::collectors::CollectorKind;
use crate::metrics::{Attention, Family, Reading};

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

/// Why a run failed, in the two forms it is shown: a fixed short kind and the whole cause chain.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Fixed short string (`throttled`, `access_denied`, `timeout`, ...).
    pub kind: &'static str,
    /// The error with its whole cause chain, for the log and the status page.
    pub message: String,
}

/// One part of a run (see `collect::Part`): its families, or why reading them failed.
#[derive(Debug)]
pub struct PartReport {
    /// The part's stable name.
    pub name: String,
    /// Its families and items, or the failure.
    pub result: Result<Reading, Failure>,
}

/// What one run of a job produced.
pub struct RunReport {
    /// When the run started.
    pub started: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// The families and items of a good run, or why it failed.
    pub result: Result<Reading, Failure>,
    /// Notes for the status page (e.g. failed member deployments with their messages).
    pub notes: Vec<String>,
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
    /// Last successful attempt.
    pub last_success: Option<SystemTime>,
    /// Error of the last attempt, if it failed.
    pub last_error: Option<Failure>,
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
    /// The parts that failed in the last run, each with its failure and the runs in a row that
    /// failed to read it (already in `last_error` as text).
    pub failed_parts: Vec<(String, Failure, u32)>,
}

/// One part of a job: its last good families and the runs in a row that failed to read it.
struct PartEntry {
    snapshot: Option<Arc<Vec<Family>>>,
    items: Vec<Attention>,
    failures: u32,
    last_error: Option<Failure>,
}

struct Entry {
    target: String,
    interval: Duration,
    snapshot: Option<Arc<Vec<Family>>>,
    items: Vec<Attention>,
    last_attempt: Option<SystemTime>,
    last_duration: Option<Duration>,
    last_success: Option<SystemTime>,
    last_error: Option<Failure>,
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
            .any(|p| p.last_error.is_some() && p.snapshot.is_some());
        let whole = self.last_error.is_some()
            && self.snapshot.is_some()
            && self.consecutive_failures < max_stale;
        part_stale || (whole && !self.last_run_partial())
    }

    /// The last run was good but left parts unread.
    fn last_run_partial(&self) -> bool {
        self.parts.values().any(|p| p.last_error.is_some())
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
    /// within the window, unreported ones go. Returns the failed parts as one failure.
    fn apply_parts(&mut self, parts: Vec<PartReport>, max_stale: u32) -> Option<Failure> {
        let mut old = std::mem::take(&mut self.parts);
        let mut failed: Vec<(String, Failure)> = Vec::new();
        for p in parts {
            let mut e = old.remove(&p.name).unwrap_or(PartEntry {
                snapshot: None,
                items: Vec::new(),
                failures: 0,
                last_error: None,
            });
            match p.result {
                Ok(read) => {
                    e.snapshot = Some(Arc::new(read.families));
                    e.items = read.items;
                    e.failures = 0;
                    e.last_error = None;
                }
                Err(f) => {
                    e.failures = e.failures.saturating_add(1);
                    if e.failures >= max_stale {
                        e.snapshot = None;
                        e.items = Vec::new();
                    }
                    failed.push((p.name.clone(), f.clone()));
                    e.last_error = Some(f);
                }
            }
            self.parts.insert(p.name, e);
        }
        let (_, first) = failed.first()?;
        let kind = first.kind;
        let message = failed
            .iter()
            .map(|(name, f)| format!("part `{name}` not read ({}): {}", f.kind, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Some(Failure {
            kind,
            message: format!("partial result, the rest is fresh; {message}"),
        })
    }
}

/// What a recorded run changed, for the telemetry.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    /// The failure's kind, or `None` for a good run.
    pub failed: Option<&'static str>,
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
}

impl Jobs {
    /// An empty table with the given freshness window.
    pub fn new(max_stale_intervals: u32) -> Self {
        Jobs {
            entries: Mutex::new(BTreeMap::new()),
            extra: Mutex::new(BTreeMap::new()),
            max_stale_intervals: AtomicU32::new(max_stale_intervals.max(1)),
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
            target: target.to_string(),
            interval,
            snapshot: None,
            items: Vec::new(),
            last_attempt: None,
            last_duration: None,
            last_success: None,
            last_error: None,
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

    /// Records the outcome of one run and applies the freshness rule; `None` if the job was
    /// removed while it ran (its result has no home any more).
    pub fn record(&self, key: &JobKey, report: RunReport) -> Option<Recorded> {
        self.record_parts(key, report, Vec::new())
    }

    /// Like [`Jobs::record`], for a run that reported parts beside its core families (ignored
    /// when the run failed as a whole).
    pub fn record_parts(
        &self,
        key: &JobKey,
        report: RunReport,
        parts: Vec<PartReport>,
    ) -> Option<Recorded> {
        let (mut report, mut parts) = (report, parts);
        // Kept until the next run: trimmed before the lock is taken.
        let results =
            std::iter::once(&mut report.result).chain(parts.iter_mut().map(|p| &mut p.result));
        for read in results.filter_map(|r| r.as_mut().ok()) {
            read.families.iter_mut().for_each(Family::shrink_to_fit);
            read.families.shrink_to_fit();
            read.items.shrink_to_fit();
        }
        let max_stale = self.max_stale_intervals.load(Ordering::Relaxed);
        let mut entries = self.lock();
        let e = entries.get_mut(key)?;
        e.last_attempt = Some(report.started);
        e.last_duration = Some(report.duration);
        let failed = match report.result {
            Ok(read) => {
                e.snapshot = Some(Arc::new(read.families));
                e.items = read.items;
                e.notes = report.notes;
                match e.apply_parts(parts, max_stale) {
                    None => {
                        e.last_success = Some(report.started + report.duration);
                        e.last_error = None;
                        e.consecutive_failures = 0;
                        None
                    }
                    Some(partial) => {
                        // "In a row" counts the runs that left some part unread.
                        e.consecutive_failures =
                            e.parts.values().map(|p| p.failures).max().unwrap_or(1);
                        let kind = partial.kind;
                        e.last_error = Some(partial);
                        Some(kind)
                    }
                }
            }
            Err(failure) => {
                e.consecutive_failures = e.consecutive_failures.saturating_add(1);
                let kind = failure.kind;
                e.last_error = Some(failure);
                // No part was read either: each is one more run behind.
                for p in e.parts.values_mut() {
                    p.failures = p.failures.saturating_add(1);
                    if p.failures >= max_stale {
                        p.snapshot = None;
                        p.items = Vec::new();
                    }
                }
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

    /// The families of sources that are not jobs.
    pub fn extras(&self) -> Vec<Arc<Vec<Family>>> {
        self.extra
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// True when jobs exist and every one has finished an attempt.
    pub fn all_attempted(&self) -> bool {
        let entries = self.lock();
        !entries.is_empty() && entries.values().all(|e| e.last_attempt.is_some())
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
                last_success: e.last_success,
                last_error: e.last_error.clone(),
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
                        p.last_error
                            .as_ref()
                            .map(|f| (n.clone(), f.clone(), p.failures))
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
        let mut job_series = 0;
        let mut all_attempted = true;
        let jobs = {
            let entries = self.lock();
            all_attempted &= !entries.is_empty();
            let mut jobs = Vec::with_capacity(entries.len());
            for (k, e) in entries.iter() {
                all_attempted &= e.last_attempt.is_some();
                let n = stale.entry(k.collector).or_insert(0);
                if e.stale(max_stale) {
                    *n += 1;
                }
                job_series +=
                    usize::from(e.last_attempt.is_some()) + usize::from(e.last_success.is_some());
                if let Some(s) = &e.snapshot {
                    jobs.push((s.clone(), e.interval));
                }
                for p in e.parts.values() {
                    if let Some(s) = &p.snapshot {
                        jobs.push((s.clone(), e.interval));
                    }
                }
            }
            jobs
        };
        let extra = self.extras();
        Taken {
            jobs,
            extra,
            stale,
            job_series,
            all_attempted,
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
    /// The exporter's own per-job series: `collector_up` for every job that ran, the last
    /// success timestamp for every job that succeeded once.
    pub job_series: usize,
    /// Whether every job had made an attempt (and there was one).
    pub all_attempted: bool,
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
        RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(1),
            result: Ok(fam(&CORE, v).into()),
            notes: vec![],
        }
    }

    fn part(ok: Option<f64>) -> Vec<PartReport> {
        vec![PartReport {
            name: "findings".into(),
            result: match ok {
                Some(v) => Ok(fam(&PART, v).into()),
                None => Err(Failure {
                    kind: "access_denied",
                    message: "GetFindingsStatistics for account 111111111111 in us-east-1 failed (access_denied): no".into(),
                }),
            },
        }]
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
        let r = j.record_parts(&key(), good(1.0), part(Some(10.0))).unwrap();
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
            let r = j.record_parts(&key(), good(core), part(None)).unwrap();
            assert_eq!(r.failed, Some("access_denied"));
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
            assert_eq!(row.failed_parts[0].0, "findings");
            assert_eq!(row.failed_parts[0].2, run);
            let e = row.last_error.as_ref().unwrap();
            assert_eq!(e.kind, "access_denied");
            assert!(
                e.message
                    .contains("part `findings` not read (access_denied): GetFindingsStatistics"),
                "{}",
                e.message
            );
            assert_eq!(j.snapshots().stale.values().sum::<i64>(), 1);
        }
        // The third: the window of 3 is spent, the part's values go, the core stays.
        j.record_parts(&key(), good(4.0), part(None)).unwrap();
        assert_eq!(shown(&j), vec![("aws_test_core".into(), 4.0)]);
        assert_eq!(j.snapshots().stale.values().sum::<i64>(), 0);

        // Read again: back, and the job is up.
        let r = j.record_parts(&key(), good(5.0), part(Some(11.0))).unwrap();
        assert_eq!(r.failed, None);
        assert!(r.last_success > first_success);
        assert!(j.status()[0].last_error.is_none());
        assert_eq!(
            shown(&j),
            vec![
                ("aws_test_core".into(), 5.0),
                ("aws_test_part".into(), 11.0)
            ]
        );

        // A part no longer reported is gone with its values.
        j.record_parts(&key(), good(6.0), vec![]).unwrap();
        assert_eq!(shown(&j), vec![("aws_test_core".into(), 6.0)]);
    }

    #[test]
    fn a_whole_failure_ages_the_parts_too() {
        let j = Jobs::new(2);
        j.register(key(), "t", Duration::from_secs(60));
        j.record_parts(&key(), good(1.0), part(Some(10.0)));
        let fail = || RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(1),
            result: Err(Failure {
                kind: "throttled",
                message: "slow down".into(),
            }),
            notes: vec![],
        };
        j.record(&key(), fail());
        assert_eq!(shown(&j).len(), 2, "within the window both stay");
        j.record(&key(), fail());
        assert!(shown(&j).is_empty(), "past it both go");
    }
}
