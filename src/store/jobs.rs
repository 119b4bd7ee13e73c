//! The job table: the latest snapshot of every (collector, account, region) job and the
//! freshness rule.
//!
//! Freshness: a failed run keeps the job's last good snapshot while fewer than
//! `max_stale_intervals` runs in a row have failed, then drops it; `collector_up` is 0 from the
//! first failure and the last-success timestamp tells the data's age. A successful run replaces
//! the snapshot whole, so series that vanished from AWS vanish from `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::collectors::CollectorKind;
use crate::metrics::Family;

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

/// What one run of a job produced.
pub struct RunReport {
    /// When the run started.
    pub started: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// The families of a good run, or why it failed.
    pub result: Result<Vec<Family>, Failure>,
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
    /// The families the job exports now (its last good snapshot while it is kept).
    pub snapshot: Option<Arc<Vec<Family>>>,
}

struct Entry {
    target: String,
    interval: Duration,
    snapshot: Option<Arc<Vec<Family>>>,
    last_attempt: Option<SystemTime>,
    last_duration: Option<Duration>,
    last_success: Option<SystemTime>,
    last_error: Option<Failure>,
    consecutive_failures: u32,
    notes: Vec<String>,
}

impl Entry {
    /// Serving its last good values after failed runs.
    fn stale(&self, max_stale: u32) -> bool {
        self.last_error.is_some()
            && self.snapshot.is_some()
            && self.consecutive_failures < max_stale
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
            last_attempt: None,
            last_duration: None,
            last_success: None,
            last_error: None,
            consecutive_failures: 0,
            notes: Vec::new(),
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
        let max_stale = self.max_stale_intervals.load(Ordering::Relaxed);
        let mut entries = self.lock();
        let e = entries.get_mut(key)?;
        e.last_attempt = Some(report.started);
        e.last_duration = Some(report.duration);
        let failed = match report.result {
            Ok(families) => {
                e.snapshot = Some(Arc::new(families));
                e.last_success = Some(report.started + report.duration);
                e.last_error = None;
                e.consecutive_failures = 0;
                e.notes = report.notes;
                None
            }
            Err(failure) => {
                e.consecutive_failures = e.consecutive_failures.saturating_add(1);
                let kind = failure.kind;
                e.last_error = Some(failure);
                if e.consecutive_failures >= max_stale {
                    e.snapshot = None;
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
                series: e
                    .snapshot
                    .as_ref()
                    .map(|s| s.iter().map(Family::len).sum())
                    .unwrap_or(0),
                consecutive_failures: e.consecutive_failures,
                notes: e.notes.clone(),
                snapshot: e.snapshot.clone(),
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
        let jobs = {
            let entries = self.lock();
            let mut jobs = Vec::with_capacity(entries.len());
            for (k, e) in entries.iter() {
                let n = stale.entry(k.collector).or_insert(0);
                if e.stale(max_stale) {
                    *n += 1;
                }
                job_series +=
                    usize::from(e.last_attempt.is_some()) + usize::from(e.last_success.is_some());
                if let Some(s) = &e.snapshot {
                    jobs.push((s.clone(), e.interval));
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
}
