//! The store: what collections report and what `/metrics`, `/ready` and the status page read,
//! in six parts with one job each.
//!
//! - [`jobs`]: the job table, the latest snapshot of every (collector, account, region) job, and
//!   the freshness rule (how long a failed job's last good values are served).
//! - [`readiness`]: which targets are still being resolved, and so whether `/ready` says yes.
//! - [`exposition`]: the bodies `/metrics` serves, encoded ahead for the formats asked for lately
//!   and on first request for the others, gzip, and the encoder task.
//! - [`runs`]: the posture samples kept encoded per run of snapshots between re-encodes.
//! - [`telemetry`]: the exporter's own metrics in a `prometheus-client` registry.
//! - [`exceptions`]: the accepted gaps in force, resolved to accounts, and their families.
//!
//! [`Store`] is the one handle the rest of the exporter holds; it passes each report to the
//! parts it concerns. A job reporting its result never waits for an encode, and a scrape never
//! waits for a job or for AWS.

pub mod exceptions;
pub mod exposition;
pub mod jobs;
pub mod readiness;
pub mod runs;
pub mod telemetry;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::aws::attempts::CallCounter;
use crate::config::duration::HumanDuration;
use crate::metrics::{Family, Format, Snapshot};

pub use exposition::{Exposition, EAGER_WINDOW};
pub use jobs::Attempted;
pub use jobs::{FailedPart, Failure, JobKey, RunReport, StatusRow};

use exposition::Cache;
use jobs::Jobs;
use readiness::Readiness;
use telemetry::Telemetry;

/// The shared store. Cheap to share behind an `Arc`.
pub struct Store {
    jobs: Jobs,
    readiness: Readiness,
    /// The last job registered when `/ready` first found every target resolved: the jobs it
    /// waits for (see [`Store::ready`]).
    ready_upto: std::sync::Mutex<Option<u64>>,
    cache: Cache,
    telemetry: Arc<Telemetry>,
    calls: Arc<CallCounter>,
    /// Counts changes to the job table (after each is made), for readers that cache what they
    /// derive from it (the overview).
    revision: AtomicU64,
    /// Families the configuration turned off (`exclude_families`), by exposed name: dropped
    /// from every report before it is stored.
    excluded: RwLock<Arc<BTreeSet<String>>>,
    /// The accepted gaps in force (`exceptions`), read by the overview.
    exceptions: RwLock<Arc<exceptions::Exceptions>>,
}

impl Store {
    /// A store with the given freshness window, exporting the calls counted in `calls`.
    pub fn new(max_stale_intervals: u32, calls: Arc<CallCounter>) -> Self {
        let telemetry = Arc::new(Telemetry::new(
            &calls,
            env!("CARGO_PKG_VERSION"),
            option_env!("POSTURE_EXPORTER_REVISION").unwrap_or("unknown"),
        ));
        Store {
            jobs: Jobs::new(max_stale_intervals),
            readiness: Readiness::default(),
            ready_upto: std::sync::Mutex::new(None),
            cache: Cache::new(Exposition::new(
                0,
                Vec::new(),
                telemetry.clone(),
                0,
                0,
                Attempted::default(),
            )),
            telemetry,
            calls,
            revision: AtomicU64::new(0),
            excluded: RwLock::default(),
            exceptions: RwLock::default(),
        }
    }

    /// The accepted gaps in force.
    pub fn exceptions(&self) -> Arc<exceptions::Exceptions> {
        self.exceptions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes `list` the exceptions in force (at start and on each reload), keeping the
    /// accounts known under the OUs it still names; its families replace the previous ones.
    pub fn set_exceptions(&self, list: Vec<crate::config::ExceptionConfig>) {
        self.update_exceptions(|x| x.with_list(list));
    }

    /// Records the accounts a walk of `ou` found, for the exceptions that name it.
    pub fn set_ou_accounts(&self, ou: &str, accounts: Vec<String>) {
        self.update_exceptions(|x| x.with_ou_accounts(ou, accounts));
    }

    fn update_exceptions(&self, f: impl FnOnce(&exceptions::Exceptions) -> exceptions::Exceptions) {
        let next = {
            let mut held = self.exceptions.write().unwrap_or_else(|e| e.into_inner());
            let next = Arc::new(f(&held));
            *held = next.clone();
            next
        };
        let (exception, review) = next.families();
        self.set_extra("exceptions", exception);
        self.set_extra("exceptions/review", review);
    }

    /// A number that changes whenever the job table does (a job registered, removed or
    /// recorded, an extra family replaced). Equal revisions mean equal [`Store::status`] and
    /// [`Store::extras`].
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    /// Called after every change to the job table.
    fn touched(&self) {
        self.revision.fetch_add(1, Ordering::AcqRel);
    }

    /// Changes the freshness window (on reload).
    pub fn set_max_stale_intervals(&self, n: u32) {
        self.jobs.set_max_stale_intervals(n);
        self.cache.changed();
    }

    /// Turns off the families named in `names` (exposed names, as `exclude_families` has them)
    /// and back on those no longer named: from now on they are dropped from every report, and
    /// those held now are dropped at once. A family turned back on returns with each job's next
    /// run.
    pub fn set_excluded_families(&self, names: &[String]) {
        let set: BTreeSet<String> = names.iter().cloned().collect();
        let newly = {
            let mut excluded = self.excluded.write().unwrap_or_else(|e| e.into_inner());
            let newly = set.difference(&excluded).next().is_some();
            *excluded = Arc::new(set.clone());
            newly
        };
        if newly {
            self.jobs
                .retain_families(|f| !set.contains(f.desc().exposed_name().as_ref()));
            self.touched();
            self.cache.changed();
        }
    }

    /// Drops the families turned off from `families`.
    fn drop_excluded(&self, families: &mut Vec<Family>) {
        let excluded = self
            .excluded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if !excluded.is_empty() {
            families.retain(|f| !excluded.contains(f.desc().exposed_name().as_ref()));
        }
    }

    /// The API call counter this store exports.
    pub fn calls(&self) -> &Arc<CallCounter> {
        &self.calls
    }

    /// Declares a job, so that `/ready` waits for its first attempt. Keeps a known job's data.
    pub fn register(&self, key: JobKey, target: &str, interval: Duration) {
        self.jobs.register(key, target, interval);
        self.touched();
    }

    /// Forgets a job and its series (its target or collector is gone).
    pub fn remove(&self, key: &JobKey) {
        if self.jobs.remove(key) {
            self.touched();
            self.telemetry.forget(key);
            self.cache.changed();
        }
    }

    /// The keys of every registered job.
    pub fn keys(&self) -> Vec<JobKey> {
        self.jobs.keys()
    }

    /// Records the outcome of one run, its parts included, and applies the freshness rule
    /// (see [`jobs`]).
    pub fn record(&self, key: &JobKey, mut report: RunReport) {
        let duration = report.duration;
        if let Ok(c) = &mut report.result {
            self.drop_excluded(&mut c.families);
            for part in &mut c.parts {
                if let Ok(r) = &mut part.result {
                    self.drop_excluded(&mut r.families);
                }
            }
        }
        if let Some(r) = self.jobs.record(key, report) {
            self.telemetry
                .attempt(key, duration, r.failed, r.last_success);
            // After the counters: an exposition that reads this revision shows them too.
            self.touched();
            self.cache.changed();
        }
    }

    /// Replaces an extra family that is not tied to a job (e.g. `aws_account_info` of one
    /// discovery target), under `source`.
    pub fn set_extra(&self, source: &str, family: Family) {
        self.set_extras(source, vec![family]);
    }

    /// Replaces the extra families under `source` (those not tied to a job, such as the region
    /// coverage the scheduler computes from its targets).
    pub fn set_extras(&self, source: &str, mut families: Vec<Family>) {
        self.drop_excluded(&mut families);
        self.jobs.set_extra(source, families);
        self.touched();
        self.cache.changed();
    }

    /// Records the result of a configuration (re)load.
    pub fn set_reload(&self, ok: bool, at: SystemTime) {
        self.telemetry.set_reload(ok, at);
        self.cache.changed();
    }

    /// The limiter whose current rates the exposition shows.
    pub fn set_limiter(&self, limiter: Arc<crate::aws::Limiter>) {
        self.telemetry.set_limiter(limiter);
        self.cache.changed();
    }

    /// The URL the overview is reached at (`web.external_url`), for alert links.
    pub fn set_overview_url(&self, url: Option<&str>) {
        self.telemetry.set_overview_url(url);
        self.cache.changed();
    }

    /// A target whose accounts are not known yet; `/ready` waits for it.
    pub fn add_pending_target(&self, name: &str) {
        self.readiness.add_pending_target(name);
    }

    /// A pending target handed over its first accounts.
    pub fn target_resolved(&self, name: &str) {
        self.readiness.target_resolved(name);
    }

    /// A target was removed from the configuration.
    pub fn target_removed(&self, name: &str) {
        self.readiness.target_removed(name);
    }

    /// A listing of discovery target `target` starts.
    pub fn listing_started(&self, target: &str) {
        self.readiness.listing_started(target, SystemTime::now());
    }

    /// The listing of `target` read a page of `accounts` accounts.
    pub fn listing_page(&self, target: &str, accounts: usize) {
        self.readiness.listing_page(target, accounts);
    }

    /// The listing of `target` ended: complete with the accounts listed, or failed.
    pub fn listing_ended(&self, target: &str, result: Result<u64, String>) {
        self.readiness
            .listing_ended(target, SystemTime::now(), result);
    }

    /// True once every target has handed over its first accounts and no listing of the
    /// organization is running: every account listed has a target (its jobs exist).
    pub fn targets_listed(&self) -> bool {
        self.readiness.targets_resolved()
            && self
                .readiness
                .listings()
                .iter()
                .all(|(_, l)| l.finished.is_some())
    }

    /// True when no listing is running and every job made so far has finished an attempt that
    /// the exposition served shows: what `/ready` first said yes to, now (it does not stay).
    pub fn settled(&self) -> bool {
        self.targets_listed() && self.jobs.attempted().all() && self.cache.current().attempted.all()
    }

    /// How far each discovery target's listing is, by target name.
    pub fn listings(&self) -> Vec<(String, readiness::Listing)> {
        self.readiness.listings()
    }

    /// True once every configured target's accounts are known (its jobs exist).
    pub fn targets_resolved(&self) -> bool {
        self.readiness.targets_resolved()
    }

    /// True once every target has handed over its first accounts, every registered job has
    /// finished one attempt, and the exposition served shows those attempts; then true for good
    /// (see [`readiness`]).
    pub fn ready(&self) -> bool {
        // The jobs waited for are those registered when the targets were first seen resolved:
        // while a large organization is still listed, its later pages keep adding jobs, and
        // waiting for those too would wait for the listing whenever a cycle reads fewer
        // accounts a second than the listing lists. The exposition served must show their
        // first results too: the encoder publishes a moment after the last job reports, and a
        // scrape let in by `/ready` then would see none of it.
        self.readiness.ready(|| {
            let upto = {
                let mut upto = self.ready_upto.lock().unwrap_or_else(|e| e.into_inner());
                let last = self.jobs.last_seq();
                if upto.is_none() && last > 0 {
                    *upto = Some(last);
                }
                *upto
            };
            upto.is_some_and(|n| {
                self.jobs.attempted().up_to(n) && self.cache.current().attempted.up_to(n)
            })
        })
    }

    /// Rows for the status page, in key order.
    pub fn status(&self) -> Vec<StatusRow> {
        self.jobs.status()
    }

    /// The families that are not tied to a job (discovery's `aws_account_info`).
    pub fn extras(&self) -> Vec<Arc<Vec<Family>>> {
        self.jobs.extras()
    }

    /// The exposition encoded last.
    pub fn exposition(&self) -> Arc<Exposition> {
        self.cache.current()
    }

    /// Builds the exposition now, encodes the bodies asked for within [`EAGER_WINDOW`], and
    /// publishes it. Other bodies are encoded when first asked for.
    pub fn refresh(&self) -> Arc<Exposition> {
        // Read before the snapshots: a change recorded meanwhile makes this one older.
        let revision = self.revision();
        let taken = self.jobs.snapshots();
        let job_series = taken.job_series;
        let attempted = taken.attempted;
        self.telemetry
            .set_collectors(&taken.stale, &taken.oldest_success);
        self.telemetry.read_limiter();
        // One HELP suffix per distinct interval, shared by every snapshot collected that often.
        let mut suffixes: BTreeMap<Duration, Arc<str>> = BTreeMap::new();
        let mut snapshots = Vec::with_capacity(taken.jobs.len() + taken.extra.len());
        for (families, interval) in taken.jobs {
            let help_suffix = suffixes
                .entry(interval)
                .or_insert_with(|| {
                    Arc::from(format!(
                        " Collected in the background every {}.",
                        HumanDuration(interval)
                    ))
                })
                .clone();
            snapshots.push(Snapshot {
                families,
                help_suffix,
            });
        }
        let none: Arc<str> = Arc::from("");
        for families in taken.extra {
            snapshots.push(Snapshot {
                families,
                help_suffix: none.clone(),
            });
        }
        let posture: usize = snapshots
            .iter()
            .flat_map(|s| s.families.iter())
            .map(Family::len)
            .sum();
        let series = posture + job_series;
        let exp = Exposition::new(
            revision,
            snapshots,
            self.telemetry.clone(),
            series,
            self.cache.size_hint(),
            attempted,
        );
        self.cache.publish(exp)
    }

    /// The body a scrape asked for, from the exposition built last; notes that it was asked
    /// for, so the encoder keeps it encoded ahead.
    pub fn body(&self, format: Format, gzip: bool) -> Bytes {
        self.cache.body(format, gzip)
    }

    /// Re-encodes after changes until `shutdown`, coalescing changes within the debounce.
    pub async fn run_encoder(self: Arc<Self>, shutdown: CancellationToken) {
        let store = self.clone();
        self.cache
            .run(shutdown, move || {
                store.refresh();
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::exposition::BODIES;
    use super::*;
    use crate::aws::ErrorKind;
    use crate::collectors::CollectorKind;
    use crate::metrics::{Desc, Kind};

    static F: Desc = Desc {
        name: "aws_test_value",
        help: "A test value.",
        kind: Kind::Gauge,
        labels: &["account_id"],
    };

    /// The background encoder and a refresh on request overlap: the one that took its
    /// snapshots first publishes last, and must not replace the newer exposition.
    #[test]
    fn an_older_exposition_never_replaces_a_newer_one() {
        let store = Store::new(3, Arc::new(crate::aws::CallCounter::default()));
        let key = JobKey {
            collector: CollectorKind::ALL[0],
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
        };
        store.register(key.clone(), "t", Duration::from_secs(60));
        // Taken before the run below was recorded.
        let stale = Exposition::new(
            store.revision(),
            Vec::new(),
            store.telemetry.clone(),
            0,
            0,
            Attempted::default(),
        );
        let mut f = Family::new(&F);
        f.push(&["111111111111"], 7.0);
        store.record(
            &key,
            RunReport {
                started: SystemTime::now(),
                duration: Duration::from_millis(1),
                result: Ok(vec![f].into()),
                calls: 0,
            },
        );
        let fresh = store.refresh();
        assert_eq!(fresh.revision, store.revision());
        let now = store.cache.publish(stale);
        assert_eq!(now.revision, fresh.revision, "the newer one stays");
        let body = String::from_utf8(now.body(Format::Prometheus, false).to_vec()).unwrap();
        assert!(
            body.contains("aws_test_value{account_id=\"111111111111\"} 7"),
            "{body}"
        );
    }

    #[test]
    fn ready_waits_for_the_jobs_known_when_the_targets_resolved_not_for_those_listed_later() {
        let store = Store::new(3, Arc::new(crate::aws::CallCounter::default()));
        let ran = |k: &JobKey| {
            store.record(
                k,
                RunReport {
                    started: SystemTime::now(),
                    duration: Duration::from_millis(1),
                    result: Ok(Vec::new().into()),
                    calls: 0,
                },
            );
            store.refresh();
        };
        store.add_pending_target("org");
        assert!(!store.ready(), "a target not resolved yet");
        // The first pages of a long listing: two accounts' jobs, then the target counts as
        // resolved.
        let (a, b, c) = (
            key("111111111111"),
            key("222222222222"),
            key("333333333333"),
        );
        store.register(a.clone(), "org", Duration::from_secs(60));
        store.register(b.clone(), "org", Duration::from_secs(60));
        store.target_resolved("org");
        assert!(!store.ready(), "neither has run");
        // A later page adds a third account while the first two run.
        store.register(c.clone(), "org", Duration::from_secs(60));
        ran(&a);
        assert!(!store.ready(), "b has not run");
        ran(&b);
        assert!(
            store.ready(),
            "every job known when the target resolved has run; c, listed later, is not waited for"
        );
        assert!(!store.settled(), "c has not run: not settled");
        ran(&c);
        assert!(store.ready());
    }

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
            result: Ok(vec![f].into()),
            calls: 0,
        }
    }

    fn fail() -> RunReport {
        RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(5),
            result: Err(Failure {
                kind: ErrorKind::Throttled,
                message: "boom".into(),
            }),
            calls: 0,
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
        let t = text(&s);
        assert!(s.ready());
        assert_eq!(t.matches("# TYPE aws_test_value gauge").count(), 1, "{t}");
        assert!(t.contains(
            "# HELP aws_test_value A test value. Collected in the background every 5m.\n"
        ));
        assert!(t.contains("aws_test_value{account_id=\"111111111111\"} 1\n"));
        assert!(t.contains("aws_test_value{account_id=\"222222222222\"} 2\n"));

        // First failure: value kept, up 0, one stale job of the collector.
        s.record(&key("111111111111"), fail());
        let t = text(&s);
        assert!(t.contains("aws_test_value{account_id=\"111111111111\"} 1\n"));
        assert!(t.contains("posture_exporter_collector_up{collector=\"config_recorder\",account_id=\"111111111111\",region=\"us-east-1\"} 0\n"));
        assert!(t.contains("posture_exporter_collector_up{collector=\"config_recorder\",account_id=\"222222222222\",region=\"us-east-1\"} 1\n"));
        assert!(
            t.contains("posture_exporter_collector_stale_jobs{collector=\"config_recorder\"} 1\n"),
            "{t}"
        );
        // The failing job's last success is exported (how old its kept values are); the
        // succeeding job's is not; the collector's oldest success is the failing job's.
        let last_success = |acct: &str| {
            format!("posture_exporter_collector_last_success_timestamp_seconds{{collector=\"config_recorder\",account_id=\"{acct}\",region=\"us-east-1\"}} ")
        };
        let line_value = |t: &str, prefix: &str| -> Option<f64> {
            t.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .and_then(|v| v.parse().ok())
        };
        let failing_since = line_value(&t, &last_success("111111111111")).expect("failing job");
        assert!(!t.contains(&last_success("222222222222")), "{t}");
        let oldest = line_value(
            &t,
            "posture_exporter_collector_oldest_success_timestamp_seconds{collector=\"config_recorder\"} ",
        );
        assert_eq!(oldest, Some(failing_since), "{t}");
        // Second failure reaches max_stale_intervals = 2: gone; the other job is untouched.
        s.record(&key("111111111111"), fail());
        let t = text(&s);
        assert!(
            !t.contains("aws_test_value{account_id=\"111111111111\"}"),
            "{t}"
        );
        assert!(t.contains("aws_test_value{account_id=\"222222222222\"} 2\n"));
        assert!(
            t.contains("posture_exporter_collector_stale_jobs{collector=\"config_recorder\"} 0\n")
        );
        assert!(t.contains("posture_exporter_collector_failures_total{collector=\"config_recorder\",kind=\"throttled\"} 2\n"), "{t}");
        // Three attempts of job 1 and one of job 2 in the duration histogram.
        assert!(t.contains("posture_exporter_collection_duration_seconds_count{collector=\"config_recorder\"} 4\n"), "{t}");
        assert!(t.contains("posture_exporter_collection_duration_seconds_bucket{collector=\"config_recorder\",le=\"0.01\"} 4\n"), "{t}");
        // A good run brings it back.
        s.record(&key("111111111111"), ok("111111111111", 3.0));
        assert!(text(&s).contains("aws_test_value{account_id=\"111111111111\"} 3\n"));
        let t = text(&s);
        assert!(!t.contains(&last_success("111111111111")), "{t}");
        let oldest = line_value(
            &t,
            "posture_exporter_collector_oldest_success_timestamp_seconds{collector=\"config_recorder\"} ",
        );
        assert!(oldest.is_some_and(|o| o > failing_since), "{t}");
        // Removing the job removes its series, its own and the exporter's.
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
        // The sample and the job's collector_up (no last success while it succeeds).
        assert_eq!(e.series, 2);
    }

    #[test]
    fn ready_waits_for_an_exposition_that_shows_every_first_attempt() {
        let s = Store::new(3, Arc::new(CallCounter::default()));
        assert!(!s.ready(), "no job yet");
        s.register(key("111111111111"), "a", Duration::from_secs(60));
        s.register(key("222222222222"), "a", Duration::from_secs(60));
        s.record(&key("111111111111"), ok("111111111111", 7.0));
        s.refresh();
        assert!(!s.ready(), "one job has not run");
        s.record(&key("222222222222"), fail());
        assert!(!s.ready(), "both ran, but what is served shows one");
        let e = s.refresh();
        assert!(s.ready());
        let text = String::from_utf8(e.body(Format::Prometheus, false).to_vec()).unwrap();
        assert!(text.contains("aws_test_value{account_id=\"111111111111\"} 7"));
        assert!(text.contains("collector_up{collector=\"config_recorder\",account_id=\"222222222222\",region=\"us-east-1\"} 0"), "{text}");
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
        // A store nobody scraped still answers: the build, the reload state and nothing else.
        let empty = Store::new(3, Arc::new(CallCounter::default()));
        let om = String::from_utf8(empty.body(Format::OpenMetrics, false).to_vec()).unwrap();
        assert!(om.ends_with("# EOF\n"), "{om}");
        assert!(
            om.contains("posture_exporter_build_info{version=\""),
            "{om}"
        );
        assert!(!om.contains("aws_"), "{om}");
    }
}
