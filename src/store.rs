//! The latest snapshot of every (collector, account, region) job, the freshness rule, and the
//! encoded exposition that `/metrics` serves.
//!
//! Collections write here; scrapes only read an `Arc<Exposition>` built when a job last reported,
//! so a scrape never takes the job lock and never waits for AWS. Reports that arrive close
//! together (a cycle over thousands of accounts) are coalesced by a short debounce in
//! [`Store::run_encoder`], so the cost of encoding follows the number of changes a second, not
//! the number of jobs.
//!
//! Of the four bodies an exposition can have (Prometheus text or OpenMetrics, plain or gzip), the
//! encoder encodes ahead only those asked for in the last [`EAGER_WINDOW`]; Prometheus asks for
//! one (OpenMetrics, gzip), so the others cost neither CPU nor memory. A body nobody asked for
//! lately is encoded by the first request for it and then kept with its exposition.
//!
//! Freshness: a failed run keeps the job's last good snapshot while fewer than
//! `max_stale_intervals` runs in a row have failed, then drops it; `collector_up` is 0 from the
//! first failure and the last-success timestamp tells the data's age. A successful run replaces the
//! snapshot whole, so series that vanished from AWS vanish from `/metrics`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::aws::calls::CallCounter;
use crate::collectors::CollectorKind;
use crate::config::duration::HumanDuration;
use crate::metrics::{self, epoch_seconds, Desc, Family, Format, Kind};

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
    failures_total: u64,
    notes: Vec<String>,
}

/// One job's self-metrics, copied out of the job lock.
struct SelfRow {
    key: JobKey,
    up: bool,
    last_success: Option<SystemTime>,
    last_duration: Option<Duration>,
    failures_total: u64,
    stale: bool,
}

/// A body asked for within this window is encoded ahead by the encoder after every change; other
/// bodies wait for a request.
pub const EAGER_WINDOW: Duration = Duration::from_secs(600);

/// One exposition: the snapshots it is made of, and its four bodies (two formats, plain and
/// gzip), each encoded once, when first needed.
#[derive(Debug, Default)]
pub struct Exposition {
    /// Number of samples.
    pub series: usize,
    parts: Parts,
    bodies: [OnceLock<Bytes>; 4],
}

/// What an exposition is encoded from: shared snapshots (no copy) and the store's own families.
#[derive(Debug, Default)]
struct Parts {
    snapshots: Vec<(Arc<Vec<Family>>, Duration)>,
    own: Vec<(Family, Option<Duration>)>,
    extra: Vec<Family>,
}

fn body_index(format: Format, gzip: bool) -> usize {
    match (format, gzip) {
        (Format::Prometheus, false) => 0,
        (Format::Prometheus, true) => 1,
        (Format::OpenMetrics, false) => 2,
        (Format::OpenMetrics, true) => 3,
    }
}

const BODIES: [(Format, bool); 4] = [
    (Format::Prometheus, false),
    (Format::Prometheus, true),
    (Format::OpenMetrics, false),
    (Format::OpenMetrics, true),
];

impl Exposition {
    /// The body in `format`, gzip-compressed or not; encoded by the first caller that needs it
    /// (concurrent callers wait for that one) and kept for the life of this exposition.
    pub fn body(&self, format: Format, gzip: bool) -> Bytes {
        self.bodies[body_index(format, gzip)]
            .get_or_init(|| {
                if gzip {
                    // Compress the plain body without keeping it unless it was already kept:
                    // a gzip-only scraper should not pay for the plain text's memory.
                    match self.bodies[body_index(format, false)].get() {
                        Some(plain) => gzip_bytes(plain),
                        None => gzip_bytes(&self.parts.encode(format)),
                    }
                } else {
                    Bytes::from(self.parts.encode(format))
                }
            })
            .clone()
    }

    /// Whether that body is already encoded (a request for it will not encode).
    pub fn is_encoded(&self, format: Format, gzip: bool) -> bool {
        self.bodies[body_index(format, gzip)].get().is_some()
    }
}

impl Parts {
    /// Groups the chunks of every family under one header, families sorted by name, and writes
    /// them in `format`.
    fn encode(&self, format: Format) -> Vec<u8> {
        struct Group<'a> {
            desc: &'static Desc,
            interval: Option<Duration>,
            chunks: Vec<&'a [u8]>,
        }
        let mut groups: BTreeMap<&'static str, Group<'_>> = BTreeMap::new();
        fn add<'a>(
            groups: &mut BTreeMap<&'static str, Group<'a>>,
            f: &'a Family,
            interval: Option<Duration>,
        ) {
            let g = groups.entry(f.desc().name).or_insert_with(|| Group {
                desc: f.desc(),
                interval,
                chunks: Vec::new(),
            });
            if !f.is_empty() {
                g.chunks.push(f.lines());
            }
        }
        for (snap, interval) in &self.snapshots {
            for f in snap.iter() {
                add(&mut groups, f, Some(*interval));
            }
        }
        for (f, interval) in &self.own {
            add(&mut groups, f, *interval);
        }
        for f in &self.extra {
            add(&mut groups, f, None);
        }
        let body_len: usize = groups
            .values()
            .map(|g| g.chunks.iter().map(|c| c.len()).sum::<usize>() + 256)
            .sum();
        let mut out = Vec::with_capacity(body_len + 16);
        for g in groups.values() {
            if g.chunks.is_empty() {
                continue;
            }
            let suffix = match g.interval {
                Some(i) => format!(" Collected in the background every {}.", HumanDuration(i)),
                None => String::new(),
            };
            metrics::write_header(&mut out, g.desc, &suffix, format);
            for c in &g.chunks {
                out.extend_from_slice(c);
            }
        }
        metrics::write_trailer(&mut out, format);
        out
    }
}

/// Configuration-level values that are shown as metrics of their own.
#[derive(Clone, Debug, Default)]
pub struct ReloadState {
    /// Whether the last config (re)load succeeded.
    pub last_reload_successful: bool,
    /// When the config was last loaded successfully.
    pub last_reload_success: Option<SystemTime>,
}

/// The shared store. Cheap to share behind an `Arc`.
pub struct Store {
    entries: Mutex<BTreeMap<JobKey, Entry>>,
    extra: Mutex<BTreeMap<String, Family>>,
    reload: Mutex<ReloadState>,
    max_stale_intervals: std::sync::atomic::AtomicU32,
    pending_targets: Mutex<std::collections::BTreeSet<String>>,
    calls: Arc<CallCounter>,
    current: RwLock<Arc<Exposition>>,
    epoch: Instant,
    asked: [AtomicU64; 4],
    changed: Notify,
    debounce: Duration,
    build_version: &'static str,
    build_revision: &'static str,
}

static BUILD_INFO: Desc = Desc {
    name: "posture_exporter_build",
    help: "Build of the running posture-exporter; constant 1.",
    kind: Kind::Info,
    labels: &["version", "revision"],
};
static UP: Desc = Desc {
    name: "posture_exporter_collector_up",
    help: "1 if the last background collection of this collector for this account and region succeeded, 0 if it failed.",
    kind: Kind::Gauge,
    labels: &["collector", "account_id", "region"],
};
static LAST_SUCCESS: Desc = Desc {
    name: "posture_exporter_collector_last_success_timestamp_seconds",
    help: "Unix time of the last successful collection; the age of what is exported.",
    kind: Kind::Gauge,
    labels: &["collector", "account_id", "region"],
};
static DURATION: Desc = Desc {
    name: "posture_exporter_collector_duration_seconds",
    help: "Duration of the last collection attempt.",
    kind: Kind::Gauge,
    labels: &["collector", "account_id", "region"],
};
static FAILURES: Desc = Desc {
    name: "posture_exporter_collector_failures",
    help: "Failed collection attempts since the job started.",
    kind: Kind::Counter,
    labels: &["collector", "account_id", "region"],
};
static STALE: Desc = Desc {
    name: "posture_exporter_collector_stale",
    help: "1 while the exported values of this job are the last good ones kept after failed runs.",
    kind: Kind::Gauge,
    labels: &["collector", "account_id", "region"],
};
static CALLS: Desc = Desc {
    name: "posture_exporter_aws_api_calls",
    help: "AWS API call attempts (retries included) by outcome: ok, throttled or error.",
    kind: Kind::Counter,
    labels: &["service", "operation", "outcome"],
};
static RELOAD_OK: Desc = Desc {
    name: "posture_exporter_config_last_reload_successful",
    help: "1 if the last configuration load succeeded.",
    kind: Kind::Gauge,
    labels: &[],
};
static RELOAD_TS: Desc = Desc {
    name: "posture_exporter_config_last_reload_success_timestamp_seconds",
    help: "Unix time of the last successful configuration load.",
    kind: Kind::Gauge,
    labels: &[],
};

impl Store {
    /// A store with the given freshness window.
    pub fn new(max_stale_intervals: u32, calls: Arc<CallCounter>) -> Self {
        Store {
            entries: Mutex::new(BTreeMap::new()),
            extra: Mutex::new(BTreeMap::new()),
            reload: Mutex::new(ReloadState::default()),
            max_stale_intervals: std::sync::atomic::AtomicU32::new(max_stale_intervals.max(1)),
            pending_targets: Mutex::new(Default::default()),
            calls,
            current: RwLock::new(Arc::new(Exposition::default())),
            epoch: Instant::now(),
            asked: Default::default(),
            changed: Notify::new(),
            debounce: Duration::from_millis(200),
            build_version: env!("CARGO_PKG_VERSION"),
            build_revision: option_env!("POSTURE_EXPORTER_REVISION").unwrap_or("unknown"),
        }
    }

    /// Changes the freshness window (on reload).
    pub fn set_max_stale_intervals(&self, n: u32) {
        self.max_stale_intervals
            .store(n.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// The API call counter this store exports.
    pub fn calls(&self) -> &Arc<CallCounter> {
        &self.calls
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<JobKey, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written in a way that matters
        // more than losing every metric, so poisoning is ignored.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Declares a job, so that `/ready` waits for its first attempt. Keeps a known job's data.
    pub fn register(&self, key: JobKey, target: &str, interval: Duration) {
        let mut entries = self.lock_entries();
        let e = entries.entry(key).or_insert_with(|| Entry {
            target: target.to_string(),
            interval,
            snapshot: None,
            last_attempt: None,
            last_duration: None,
            last_success: None,
            last_error: None,
            consecutive_failures: 0,
            failures_total: 0,
            notes: Vec::new(),
        });
        e.interval = interval;
        e.target = target.to_string();
    }

    /// Forgets a job and its series (its target or collector is gone).
    pub fn remove(&self, key: &JobKey) {
        if self.lock_entries().remove(key).is_some() {
            self.changed.notify_one();
        }
    }

    /// The keys of every registered job.
    pub fn keys(&self) -> Vec<JobKey> {
        self.lock_entries().keys().cloned().collect()
    }

    /// Records the outcome of one run and applies the freshness rule.
    pub fn record(&self, key: &JobKey, report: RunReport) {
        let max_stale = self
            .max_stale_intervals
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut entries = self.lock_entries();
        let Some(e) = entries.get_mut(key) else {
            // The job was removed while it ran: its result has no home any more.
            return;
        };
        e.last_attempt = Some(report.started);
        e.last_duration = Some(report.duration);
        match report.result {
            Ok(families) => {
                e.snapshot = Some(Arc::new(families));
                e.last_success = Some(report.started + report.duration);
                e.last_error = None;
                e.consecutive_failures = 0;
                e.notes = report.notes;
            }
            Err(failure) => {
                e.consecutive_failures = e.consecutive_failures.saturating_add(1);
                e.failures_total += 1;
                e.last_error = Some(failure);
                if e.consecutive_failures >= max_stale {
                    e.snapshot = None;
                }
            }
        }
        drop(entries);
        self.changed.notify_one();
    }

    /// Replaces an extra family that is not tied to a job (e.g. `aws_account_info` of one
    /// discovery target), under `source`.
    pub fn set_extra(&self, source: &str, family: Family) {
        self.extra
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(source.to_string(), family);
        self.changed.notify_one();
    }

    /// Records the result of a configuration (re)load.
    pub fn set_reload(&self, ok: bool, at: SystemTime) {
        let mut r = self.reload.lock().unwrap_or_else(|e| e.into_inner());
        r.last_reload_successful = ok;
        if ok {
            r.last_reload_success = Some(at);
        }
        drop(r);
        self.changed.notify_one();
    }

    /// A target whose accounts are not known yet; `/ready` waits for it.
    pub fn add_pending_target(&self, name: &str) {
        self.pending_targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string());
    }

    /// A pending target was resolved (or removed).
    pub fn target_resolved(&self, name: &str) {
        self.pending_targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    /// True once every configured target's accounts are known (its jobs exist).
    pub fn targets_resolved(&self) -> bool {
        self.pending_targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// True once every target is resolved and every registered job has finished one attempt.
    pub fn ready(&self) -> bool {
        if !self.targets_resolved() {
            return false;
        }
        let entries = self.lock_entries();
        !entries.is_empty() && entries.values().all(|e| e.last_attempt.is_some())
    }

    /// Rows for the status page, in key order.
    pub fn status(&self) -> Vec<StatusRow> {
        self.lock_entries()
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
            })
            .collect()
    }

    /// The exposition encoded last.
    pub fn exposition(&self) -> Arc<Exposition> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Builds the exposition now, encodes the bodies asked for within [`EAGER_WINDOW`], and
    /// publishes it. Other bodies are encoded when first asked for.
    pub fn refresh(&self) -> Arc<Exposition> {
        let exp = Arc::new(self.encode());
        let now = self.epoch.elapsed().as_secs() + 1;
        for (i, (format, gzip)) in BODIES.iter().enumerate() {
            if asked_lately(self.asked[i].load(Ordering::Relaxed), now) {
                exp.body(*format, *gzip);
            }
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = exp.clone();
        exp
    }

    /// The body a scrape asked for, from the exposition built last; notes that it was asked
    /// for, so the encoder keeps it encoded ahead.
    pub fn body(&self, format: Format, gzip: bool) -> Bytes {
        // Seconds since the store was created, plus one: 0 stays "never".
        let now = self.epoch.elapsed().as_secs() + 1;
        self.asked[body_index(format, gzip)].store(now, Ordering::Relaxed);
        self.exposition().body(format, gzip)
    }

    /// Re-encodes after changes until `shutdown`, coalescing changes within the debounce.
    pub async fn run_encoder(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.changed.notified() => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.debounce) => {}
            }
            let store = self.clone();
            let started = tokio::time::Instant::now();
            // Encoding a large exposition is CPU work: keep it off the I/O threads.
            if tokio::task::spawn_blocking(move || store.refresh())
                .await
                .is_err()
            {
                tracing::error!("encoding the exposition panicked; serving the previous one");
            }
            // During a cycle over thousands of jobs changes never stop: rest four times as long
            // as the encode took, so the encoder takes at most a fifth of a core from the
            // collection.
            let rest = started.elapsed() * 4;
            if rest > self.debounce {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(rest - self.debounce) => {}
                }
            }
        }
    }

    /// What the self-metrics need of each job, copied under the job lock so that formatting
    /// (hundreds of thousands of lines at 10,000 accounts) happens outside it: a job reporting
    /// its result must never wait for the encoder.
    fn self_rows(entries: &BTreeMap<JobKey, Entry>, max_stale: u32) -> Vec<SelfRow> {
        entries
            .iter()
            .filter(|(_, e)| e.last_attempt.is_some())
            .map(|(k, e)| SelfRow {
                key: k.clone(),
                up: e.last_error.is_none(),
                last_success: e.last_success,
                last_duration: e.last_duration,
                failures_total: e.failures_total,
                stale: e.last_error.is_some()
                    && e.snapshot.is_some()
                    && e.consecutive_failures < max_stale,
            })
            .collect()
    }

    fn self_families(&self, rows: &[SelfRow]) -> Vec<(Family, Option<Duration>)> {
        let mut build = Family::new(&BUILD_INFO);
        build.push(&[self.build_version, self.build_revision], 1.0);
        let mut up = Family::new(&UP);
        let mut last = Family::new(&LAST_SUCCESS);
        let mut dur = Family::new(&DURATION);
        let mut fails = Family::new(&FAILURES);
        let mut stale = Family::new(&STALE);
        for r in rows {
            let k = &r.key;
            let l = [k.collector.name(), k.account_id.as_str(), k.region.as_str()];
            up.push(&l, if r.up { 1.0 } else { 0.0 });
            if let Some(t) = r.last_success {
                last.push(&l, epoch_seconds(t));
            }
            if let Some(d) = r.last_duration {
                dur.push(&l, d.as_secs_f64());
            }
            fails.push(&l, r.failures_total as f64);
            stale.push(&l, if r.stale { 1.0 } else { 0.0 });
        }
        let mut calls = Family::new(&CALLS);
        for ((service, op, outcome), n) in self.calls.snapshot() {
            calls.push(&[service, op.as_str(), outcome.as_str()], n as f64);
        }
        let r = self
            .reload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut reload_ok = Family::new(&RELOAD_OK);
        let mut reload_ts = Family::new(&RELOAD_TS);
        if let Some(t) = r.last_reload_success {
            reload_ok.push(&[], if r.last_reload_successful { 1.0 } else { 0.0 });
            reload_ts.push(&[], epoch_seconds(t));
        }
        [
            build, up, last, dur, fails, stale, calls, reload_ok, reload_ts,
        ]
        .into_iter()
        .map(|f| (f, None))
        .collect()
    }

    fn encode(&self) -> Exposition {
        let max_stale = self.max_stale_intervals.load(Ordering::Relaxed);
        // Take what is needed under the lock (Arc clones, a few numbers a job); formatting and
        // encoding happen outside it.
        let (snapshots, rows) = {
            let entries = self.lock_entries();
            let snaps: Vec<(Arc<Vec<Family>>, Duration)> = entries
                .values()
                .filter_map(|e| e.snapshot.clone().map(|s| (s, e.interval)))
                .collect();
            (snaps, Self::self_rows(&entries, max_stale))
        };
        let own = self.self_families(&rows);
        drop(rows);
        let extra: Vec<Family> = self
            .extra
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let series = snapshots
            .iter()
            .flat_map(|(s, _)| s.iter())
            .chain(own.iter().map(|(f, _)| f))
            .chain(extra.iter())
            .map(Family::len)
            .sum();
        Exposition {
            series,
            parts: Parts {
                snapshots,
                own,
                extra,
            },
            bodies: Default::default(),
        }
    }
}

/// Whether a body last asked for at `asked` (seconds since the store's creation plus one; 0 for
/// never) was asked for within [`EAGER_WINDOW`] of `now`.
fn asked_lately(asked: u64, now: u64) -> bool {
    asked != 0 && now.saturating_sub(asked) <= EAGER_WINDOW.as_secs()
}

fn gzip_bytes(data: &[u8]) -> Bytes {
    // Level 1: an exposition compresses about 10x even at the fastest level, and the encoder
    // runs after every change.
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 8 + 64), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    Bytes::from(enc.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    static F: Desc = Desc {
        name: "aws_test_value",
        help: "A test value.",
        kind: Kind::Gauge,
        labels: &["account_id"],
    };

    fn key(acct: &str) -> JobKey {
        JobKey {
            collector: CollectorKind::ConfigRecorder,
            account_id: acct.into(),
            region: "us-east-1".into(),
        }
    }

    fn ok(acct: &str, v: f64) -> RunReport {
        let mut f = Family::new(&F);
        f.push(&[acct], v);
        RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(5),
            result: Ok(vec![f]),
            notes: vec![],
        }
    }

    fn fail() -> RunReport {
        RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(5),
            result: Err(Failure {
                kind: "throttled",
                message: "boom".into(),
            }),
            notes: vec![],
        }
    }

    fn text(s: &Store) -> String {
        String::from_utf8(s.refresh().body(Format::Prometheus, false).to_vec()).unwrap()
    }

    #[test]
    fn families_from_many_jobs_share_one_header_and_stale_data_expires() {
        let s = Store::new(2, Arc::new(CallCounter::default()));
        s.register(key("111111111111"), "a", Duration::from_secs(300));
        s.register(key("222222222222"), "b", Duration::from_secs(300));
        assert!(!s.ready());
        s.record(&key("111111111111"), ok("111111111111", 1.0));
        assert!(!s.ready());
        s.record(&key("222222222222"), ok("222222222222", 2.0));
        assert!(s.ready());
        let t = text(&s);
        assert_eq!(t.matches("# TYPE aws_test_value gauge").count(), 1, "{t}");
        assert!(t.contains(
            "# HELP aws_test_value A test value. Collected in the background every 5m.\n"
        ));
        assert!(t.contains("aws_test_value{account_id=\"111111111111\"} 1\n"));
        assert!(t.contains("aws_test_value{account_id=\"222222222222\"} 2\n"));

        // First failure: value kept, up 0, stale 1.
        s.record(&key("111111111111"), fail());
        let t = text(&s);
        assert!(t.contains("aws_test_value{account_id=\"111111111111\"} 1\n"));
        assert!(t.contains("posture_exporter_collector_up{collector=\"config_recorder\",account_id=\"111111111111\",region=\"us-east-1\"} 0\n"));
        assert!(t.contains("posture_exporter_collector_stale{collector=\"config_recorder\",account_id=\"111111111111\",region=\"us-east-1\"} 1\n"));
        // Second failure reaches max_stale_intervals = 2: gone; the other job is untouched.
        s.record(&key("111111111111"), fail());
        let t = text(&s);
        assert!(
            !t.contains("aws_test_value{account_id=\"111111111111\"}"),
            "{t}"
        );
        assert!(t.contains("aws_test_value{account_id=\"222222222222\"} 2\n"));
        assert!(t.contains("posture_exporter_collector_failures_total{collector=\"config_recorder\",account_id=\"111111111111\",region=\"us-east-1\"} 2\n"));
        // A good run brings it back.
        s.record(&key("111111111111"), ok("111111111111", 3.0));
        assert!(text(&s).contains("aws_test_value{account_id=\"111111111111\"} 3\n"));
        // Removing the job removes its series.
        s.remove(&key("111111111111"));
        assert!(!text(&s).contains("111111111111"));
    }

    #[test]
    fn gzip_and_openmetrics_carry_the_same_samples() {
        let s = Store::new(3, Arc::new(CallCounter::default()));
        s.register(key("111111111111"), "a", Duration::from_secs(60));
        s.record(&key("111111111111"), ok("111111111111", 7.0));
        let e = s.refresh();
        // Gzip first, so it is compressed from a plain body encoded for it alone.
        let gz = e.body(Format::Prometheus, true);
        let mut d = flate2::read::GzDecoder::new(&gz[..]);
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut d, &mut plain).unwrap();
        assert_eq!(plain.as_bytes(), &e.body(Format::Prometheus, false)[..]);
        let om = String::from_utf8(e.body(Format::OpenMetrics, false).to_vec()).unwrap();
        assert!(om.ends_with("# EOF\n"));
        assert!(om.contains("# TYPE posture_exporter_build info\n"));
        assert!(om.contains("aws_test_value{account_id=\"111111111111\"} 7\n"));
        assert!(e.series >= 3);
    }

    #[test]
    fn only_the_bodies_asked_for_lately_are_encoded_ahead() {
        let s = Store::new(3, Arc::new(CallCounter::default()));
        s.register(key("111111111111"), "a", Duration::from_secs(60));
        s.record(&key("111111111111"), ok("111111111111", 7.0));
        let e = s.refresh();
        for (f, gz) in BODIES {
            assert!(
                !e.is_encoded(f, gz),
                "{f:?} gzip={gz} encoded before anyone asked"
            );
        }
        // A scrape as Prometheus makes it.
        let gz = s.body(Format::OpenMetrics, true);
        assert!(!gz.is_empty());
        s.record(&key("111111111111"), ok("111111111111", 8.0));
        let e = s.refresh();
        assert!(e.is_encoded(Format::OpenMetrics, true));
        assert!(!e.is_encoded(Format::OpenMetrics, false));
        assert!(!e.is_encoded(Format::Prometheus, false));
        assert!(!e.is_encoded(Format::Prometheus, true));
        // The body encoded ahead is the new one.
        let gz = s.body(Format::OpenMetrics, true);
        let mut d = flate2::read::GzDecoder::new(&gz[..]);
        let mut om = String::new();
        std::io::Read::read_to_string(&mut d, &mut om).unwrap();
        assert!(
            om.contains("aws_test_value{account_id=\"111111111111\"} 8\n"),
            "{om}"
        );
        assert_eq!(om.as_bytes(), &e.body(Format::OpenMetrics, false)[..]);
        // A store nobody scraped still answers: an empty but valid exposition.
        let empty = Store::new(3, Arc::new(CallCounter::default()));
        assert_eq!(&empty.body(Format::OpenMetrics, false)[..], b"# EOF\n");
    }

    #[test]
    fn asked_lately_is_the_eager_window() {
        let w = EAGER_WINDOW.as_secs();
        assert!(!asked_lately(0, 5));
        assert!(asked_lately(1, 1));
        assert!(asked_lately(10, 10 + w));
        assert!(!asked_lately(10, 11 + w));
    }
}
