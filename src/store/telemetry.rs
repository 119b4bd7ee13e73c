//! The exporter's own metrics: a `prometheus-client` registry of typed families updated in
//! place as jobs report.
//!
//! Per job only what alerts need: `posture_exporter_collector_up`, and while a job is failing
//! `posture_exporter_collector_last_success_timestamp_seconds` (how old its kept values are): one
//! series a job and one more a failing job; at 10,000 accounts x 4 regions x 5 collectors, 200,000
//! series where five a job made a million. Per collector the rest: the histogram of collection
//! durations, failures by kind, how many jobs serve stale values, and the oldest last success
//! among its jobs (a job that stopped being run at all, which no per-job failure shows). Process-wide: API calls by service, operation and outcome, build
//! info, and the configuration reload state. A removed job's series go with it.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::jobs::JobKey;
use crate::aws::attempts::CallCounter;
use crate::aws::Limiter;
use crate::collectors::CollectorKind;
use crate::metrics::epoch_seconds;

/// The labels of a per-job series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    collector: &'static str,
    account_id: String,
    region: String,
}

impl From<&JobKey> for JobLabels {
    fn from(k: &JobKey) -> Self {
        JobLabels {
            collector: k.collector.name(),
            account_id: k.account_id.clone(),
            region: k.region.clone(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CollectorLabels {
    collector: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UrlLabels {
    url: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    collector: &'static str,
    kind: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Buckets of the collection-duration histogram: 10 ms doubling to about 5.5 minutes (16
/// bounds), which holds a one-call job on a fast network and the slowest organization listing.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

/// The registry and handles to its families.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    up: Family<JobLabels, Gauge>,
    last_success: Family<JobLabels, FloatGauge>,
    durations: Family<CollectorLabels, Histogram, fn() -> Histogram>,
    failures: Family<FailureLabels, Counter>,
    stale_jobs: Family<CollectorLabels, Gauge>,
    oldest_success: Family<CollectorLabels, FloatGauge>,
    reload_ok: Gauge,
    reload_success: FloatGauge,
    overview_url: Family<UrlLabels, Gauge>,
    rate_now: Family<ServiceLabels, FloatGauge>,
    rate_ceiling: Family<ServiceLabels, FloatGauge>,
    slowed_buckets: Family<ServiceLabels, Gauge>,
    limiter: Mutex<Option<Arc<Limiter>>>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: &'static str,
}

/// HELP texts. `Registry::register` appends the final full stop.
const UP_HELP: &str = "1 if the last background collection of this collector for this account and region succeeded, 0 if it failed";
const LAST_SUCCESS_HELP: &str =
    "Unix time of the last successful collection of a job that is failing now: the age of the values it keeps serving (a job whose last collection succeeded has no series; see posture_exporter_collector_oldest_success_timestamp_seconds)";

impl Telemetry {
    /// The registry with every family of the exporter's own, counting calls into `calls`.
    pub fn new(calls: &CallCounter, version: &'static str, revision: &'static str) -> Self {
        let t = Telemetry {
            registry: Registry::default(),
            up: Family::default(),
            last_success: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            failures: Family::default(),
            stale_jobs: Family::default(),
            oldest_success: Family::default(),
            reload_ok: Gauge::default(),
            reload_success: FloatGauge::default(),
            overview_url: Family::default(),
            rate_now: Family::default(),
            rate_ceiling: Family::default(),
            slowed_buckets: Family::default(),
            limiter: Mutex::new(None),
        };
        let mut registry = t.registry;
        registry.register(
            "posture_exporter_build",
            "Build of the running posture-exporter; constant 1",
            Info::new(vec![("version", version), ("revision", revision)]),
        );
        registry.register("posture_exporter_collector_up", UP_HELP, t.up.clone());
        registry.register(
            "posture_exporter_collector_last_success_timestamp_seconds",
            LAST_SUCCESS_HELP,
            t.last_success.clone(),
        );
        registry.register(
            "posture_exporter_collection_duration_seconds",
            "Duration of background collections of each collector, every account and region together",
            t.durations.clone(),
        );
        registry.register(
            "posture_exporter_collector_failures",
            "Failed collection attempts of each collector by error kind (throttled, access_denied, timeout, ...), every account and region together",
            t.failures.clone(),
        );
        registry.register(
            "posture_exporter_collector_stale_jobs",
            "Jobs of each collector serving their last good values after failed runs",
            t.stale_jobs.clone(),
        );
        registry.register(
            "posture_exporter_collector_oldest_success_timestamp_seconds",
            "Unix time of the oldest last successful collection among this collector's jobs (those that succeeded once): the age of its oldest data, failing or not",
            t.oldest_success.clone(),
        );
        registry.register(
            "posture_exporter_aws_api_calls",
            "AWS API call attempts (retries included) by outcome: ok, throttled or error",
            calls.family().clone(),
        );
        registry.register(
            "posture_exporter_config_last_reload_successful",
            "1 if the last configuration load succeeded",
            t.reload_ok.clone(),
        );
        registry.register(
            "posture_exporter_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load",
            t.reload_success.clone(),
        );
        registry.register(
            "posture_exporter_overview_url",
            "Constant 1 labelled with web.external_url, where alert annotations link to the overview page; absent when it is not set",
            t.overview_url.clone(),
        );
        registry.register(
            "posture_exporter_aws_rate_limit",
            "Lowest current client-side rate of a service's buckets, in calls a second per account and region (per account for global services): the configured rate, or less after AWS throttled",
            t.rate_now.clone(),
        );
        registry.register(
            "posture_exporter_aws_rate_limit_ceiling",
            "Configured client-side rate of a service (aws.rate_limits), in calls a second per account and region (per account for global services)",
            t.rate_ceiling.clone(),
        );
        registry.register(
            "posture_exporter_aws_rate_limit_slowed_buckets",
            "Client-side rate buckets of a service (one per account and region) running below the configured rate because AWS throttled them; each climbs back within a minute of the last throttle",
            t.slowed_buckets.clone(),
        );
        Telemetry { registry, ..t }
    }

    /// The limiter whose rates the exposition shows (a reload that changes `aws:` makes another).
    pub fn set_limiter(&self, limiter: Arc<Limiter>) {
        *self.limiter.lock().unwrap_or_else(|e| e.into_inner()) = Some(limiter);
    }

    /// Reads the limiter's rates into their families, before an encoding.
    pub fn read_limiter(&self) {
        let limiter = self
            .limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(limiter) = limiter else { return };
        self.rate_now.clear();
        self.rate_ceiling.clear();
        self.slowed_buckets.clear();
        for (service, r) in limiter.rates() {
            let labels = ServiceLabels {
                service: service.as_str(),
            };
            self.rate_now.get_or_create(&labels).set(r.lowest);
            self.rate_ceiling.get_or_create(&labels).set(r.ceiling);
            self.slowed_buckets
                .get_or_create(&labels)
                .set(i64::try_from(r.slowed).unwrap_or(i64::MAX));
        }
    }

    /// The registry to encode.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// One attempt of a job ended: `failed` is its failure kind, `None` for a success;
    /// `last_success` when the job last succeeded.
    pub fn attempt(
        &self,
        key: &JobKey,
        duration: Duration,
        failed: Option<crate::aws::ErrorKind>,
        last_success: Option<SystemTime>,
    ) {
        let collector = key.collector.name();
        let labels = JobLabels::from(key);
        self.up
            .get_or_create(&labels)
            .set(i64::from(failed.is_none()));
        match (failed, last_success) {
            (Some(_), Some(t)) => {
                self.last_success
                    .get_or_create(&labels)
                    .set(epoch_seconds(t));
            }
            _ => {
                self.last_success.remove(&labels);
            }
        }
        self.durations
            .get_or_create(&CollectorLabels { collector })
            .observe(duration.as_secs_f64());
        if let Some(kind) = failed {
            self.failures
                .get_or_create(&FailureLabels {
                    collector,
                    kind: kind.as_str(),
                })
                .inc();
        }
    }

    /// A job is gone: so are its series.
    pub fn forget(&self, key: &JobKey) {
        let labels = JobLabels::from(key);
        self.up.remove(&labels);
        self.last_success.remove(&labels);
    }

    /// How many jobs of each collector serve stale values, and the oldest last success among
    /// them; collectors without jobs (or without a success) lose the series.
    pub fn set_collectors(
        &self,
        stale: &std::collections::BTreeMap<CollectorKind, i64>,
        oldest_success: &std::collections::BTreeMap<CollectorKind, SystemTime>,
    ) {
        for kind in CollectorKind::ALL {
            let labels = CollectorLabels {
                collector: kind.name(),
            };
            match stale.get(kind) {
                Some(n) => {
                    self.stale_jobs.get_or_create(&labels).set(*n);
                }
                None => {
                    self.stale_jobs.remove(&labels);
                }
            }
            match oldest_success.get(kind) {
                Some(t) => {
                    self.oldest_success
                        .get_or_create(&labels)
                        .set(epoch_seconds(*t));
                }
                None => {
                    self.oldest_success.remove(&labels);
                }
            }
        }
    }

    /// The configured external URL (or none).
    pub fn set_overview_url(&self, url: Option<&str>) {
        self.overview_url.clear();
        if let Some(url) = url {
            self.overview_url
                .get_or_create(&UrlLabels {
                    url: url.to_string(),
                })
                .set(1);
        }
    }

    /// The result of a configuration (re)load.
    pub fn set_reload(&self, ok: bool, at: SystemTime) {
        self.reload_ok.set(i64::from(ok));
        if ok {
            self.reload_success.set(epoch_seconds(at));
        }
    }
}
