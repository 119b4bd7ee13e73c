//! One loop per (collector, target account, region): a random initial jitter within the
//! interval, a timeout per run, no overlapping runs (a loop awaits its run before it sleeps), ticks
//! missed by a long run are skipped, and cancellation ends a loop at once, mid-run included.
//!
//! The set of jobs is reconciled, not fixed: [`Scheduler::set_targets`] takes the targets known
//! now (from the config, later from discovery or a reload), starts the jobs that are new, stops
//! the ones that are gone and removes their series, and leaves unchanged jobs running with their
//! data.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::aws::{AccountAws, AwsFactory, CollectError, ErrorKind, RegionClients};
use crate::collectors::{self, CollectorKind, JobContext, JobState, Scope};
use crate::config::{Config, Shard, TargetConfig};
use crate::store::{Failure, JobKey, RunReport, Store};

/// A target whose account is known, ready to have jobs.
#[derive(Clone)]
pub struct ResolvedTarget {
    /// Target name (config name, or the account name for discovered accounts).
    pub name: String,
    /// Account id.
    pub account_id: String,
    /// Regions read there.
    pub regions: Vec<String>,
    /// Its credentials.
    pub aws: AccountAws,
    /// Whether per-account collectors run for it (false when its account belongs to another
    /// shard, or a discovery target's own account was not selected).
    pub account_jobs: bool,
}

/// Resolves a configured target: the account of a role ARN, or asks STS for ambient credentials.
pub async fn resolve_target(
    factory: &AwsFactory,
    t: &TargetConfig,
    shard: Shard,
) -> Result<ResolvedTarget, CollectError> {
    let (account_id, aws) = crate::discovery::own_credentials(factory, t).await?;
    Ok(ResolvedTarget {
        name: t.name.clone(),
        account_jobs: shard.contains(&account_id),
        account_id,
        regions: t.regions.clone(),
        aws,
    })
}

/// One job to run.
struct JobSpec {
    key: JobKey,
    target: String,
    clients: Arc<RegionClients>,
    interval: Duration,
    timeout: Duration,
}

struct Running {
    token: CancellationToken,
    fingerprint: (Duration, Duration, String, String),
}

/// Runs and reconciles the jobs.
pub struct Scheduler {
    store: Arc<Store>,
    config: Mutex<Arc<Config>>,
    jobs: Mutex<HashMap<JobKey, Running>>,
    targets: Mutex<BTreeMap<String, ResolvedTarget>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    jitter: bool,
    /// Per-job state of `run_once` cycles, kept from one call to the next like a loop keeps it.
    once_states: Mutex<HashMap<JobKey, JobState>>,
}

impl Scheduler {
    /// A scheduler with no jobs yet. `jitter: false` starts every job at once (tests, demo).
    pub fn new(
        store: Arc<Store>,
        config: Arc<Config>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
        jitter: bool,
    ) -> Arc<Self> {
        Arc::new(Scheduler {
            store,
            config: Mutex::new(config),
            jobs: Mutex::new(HashMap::new()),
            targets: Mutex::new(BTreeMap::new()),
            tracker,
            shutdown,
            jitter,
            once_states: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the configuration (reload) and reconciles.
    pub fn set_config(self: &Arc<Self>, config: Arc<Config>) {
        self.store
            .set_max_stale_intervals(config.max_stale_intervals);
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
        self.reconcile();
    }

    /// Adds or replaces targets of one source (keyed by target name) and reconciles.
    pub fn set_targets(self: &Arc<Self>, targets: Vec<ResolvedTarget>, remove: &[String]) {
        {
            let mut t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
            for name in remove {
                t.remove(name);
            }
            for target in targets {
                t.insert(target.name.clone(), target);
            }
        }
        self.reconcile();
    }

    /// Removes the targets of a configured target `name` (itself and, for discovery, every
    /// `name/<account>`) and reconciles.
    pub fn remove_targets_of(self: &Arc<Self>, name: &str) {
        {
            let prefix = format!("{name}/");
            let mut t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
            t.retain(|k, _| k != name && !k.starts_with(&prefix));
        }
        self.reconcile();
    }

    /// Adds targets without starting their jobs (for [`Scheduler::run_once`]).
    pub fn set_targets_quiet(&self, targets: Vec<ResolvedTarget>) {
        let mut t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        for target in targets {
            t.insert(target.name.clone(), target);
        }
    }

    /// Names of the targets known now.
    pub fn target_names(&self) -> Vec<String> {
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    fn desired(&self) -> Vec<JobSpec> {
        let cfg = self.config();
        let targets = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for kind in CollectorKind::ALL {
            let (enabled, interval, timeout) = kind.schedule(&cfg);
            if !enabled {
                continue;
            }
            match kind.scope() {
                Scope::AccountRegion => {
                    for t in targets.values().filter(|t| t.account_jobs) {
                        for r in &t.regions {
                            out.push(JobSpec {
                                key: JobKey {
                                    collector: *kind,
                                    account_id: t.account_id.clone(),
                                    region: r.clone(),
                                },
                                target: t.name.clone(),
                                clients: Arc::new(t.aws.region(r, &t.account_id)),
                                interval,
                                timeout,
                            });
                        }
                    }
                }
                Scope::Org | Scope::OrgRegions => {
                    if !cfg.shard.runs_org_collectors() {
                        continue;
                    }
                    let Some((name, regions)) = cfg.org_placement(*kind) else {
                        continue;
                    };
                    let Some(t) = targets.get(&name) else {
                        continue;
                    };
                    for r in regions {
                        out.push(JobSpec {
                            key: JobKey {
                                collector: *kind,
                                account_id: t.account_id.clone(),
                                region: r.clone(),
                            },
                            target: t.name.clone(),
                            clients: Arc::new(t.aws.region(&r, &t.account_id)),
                            interval,
                            timeout,
                        });
                    }
                }
            }
        }
        out
    }

    /// Starts missing jobs, stops vanished ones, restarts changed ones.
    pub fn reconcile(self: &Arc<Self>) {
        let desired = self.desired();
        let cfg = self.config();
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let wanted: std::collections::HashSet<JobKey> =
            desired.iter().map(|s| s.key.clone()).collect();
        jobs.retain(|k, running| {
            if wanted.contains(k) {
                true
            } else {
                running.token.cancel();
                self.store.remove(k);
                false
            }
        });
        for spec in desired {
            let fingerprint = (
                spec.interval,
                spec.timeout,
                spec.target.clone(),
                spec.key.collector.section_fingerprint(&cfg),
            );
            if let Some(r) = jobs.get(&spec.key) {
                if r.fingerprint == fingerprint {
                    continue;
                }
                r.token.cancel();
            }
            let token = self.shutdown.child_token();
            self.store
                .register(spec.key.clone(), &spec.target, spec.interval);
            // Spread first runs over the interval, at most five minutes: enough to smooth a cycle
            // over thousands of accounts, short enough that a 6h collector starts the same day.
            let jitter = if self.jitter {
                spec.interval
                    .min(Duration::from_secs(300))
                    .mul_f64(fastrand::f64())
            } else {
                Duration::ZERO
            };
            jobs.insert(
                spec.key.clone(),
                Running {
                    token: token.clone(),
                    fingerprint,
                },
            );
            let store = self.store.clone();
            let ctx = JobContext {
                aws: spec.clients.clone(),
                config: cfg.clone(),
            };
            self.tracker.spawn(run_job(spec, ctx, store, token, jitter));
        }
    }

    /// Number of running jobs.
    pub fn job_count(&self) -> usize {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Runs every job once, concurrently, and records the results (for `collect --once`, tests
    /// and benchmarks). State carries over between calls, as it does in a job's loop.
    /// Returns the number of failed runs.
    pub async fn run_once(self: &Arc<Self>) -> usize {
        self.run_once_where(None).await.0
    }

    /// Like [`Scheduler::run_once`], for the jobs in `only` (all when `None`); also returns the
    /// jobs that asked to run again sooner than their interval, with how soon.
    pub async fn run_once_where(
        self: &Arc<Self>,
        only: Option<&std::collections::HashSet<JobKey>>,
    ) -> (usize, Vec<(JobKey, Duration)>) {
        let desired = self.desired();
        let cfg = self.config();
        let mut set = tokio::task::JoinSet::new();
        for spec in desired
            .into_iter()
            .filter(|s| only.is_none_or(|o| o.contains(&s.key)))
        {
            self.store
                .register(spec.key.clone(), &spec.target, spec.interval);
            let store = self.store.clone();
            let ctx = JobContext {
                aws: spec.clients.clone(),
                config: cfg.clone(),
            };
            let mut state = self
                .once_states
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&spec.key)
                .unwrap_or_default();
            set.spawn(async move {
                let (report, hint) = run_one(&spec, &ctx, &mut state).await;
                let failed = report.result.is_err();
                store.record(&spec.key, report);
                (spec.key, state, failed, hint)
            });
        }
        let mut failed = 0;
        let mut hints = Vec::new();
        while let Some(r) = set.join_next().await {
            match r {
                Ok((key, state, f, hint)) => {
                    if let Some(h) = hint {
                        hints.push((key.clone(), h));
                    }
                    self.once_states
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key, state);
                    failed += usize::from(f);
                }
                Err(_) => failed += 1,
            }
        }
        (failed, hints)
    }
}

async fn run_one(
    spec: &JobSpec,
    ctx: &JobContext,
    state: &mut JobState,
) -> (RunReport, Option<Duration>) {
    let started = SystemTime::now();
    let start = Instant::now();
    let result = tokio::time::timeout(
        spec.timeout,
        collectors::collect(spec.key.collector, ctx, state),
    )
    .await;
    let duration = start.elapsed();
    let (result, notes, hint) = match result {
        Ok(Ok(c)) => (Ok(c.families), c.notes, c.next_run),
        Ok(Err(e)) => {
            tracing::warn!(
                collector = spec.key.collector.name(),
                target = %spec.target,
                account_id = %spec.key.account_id,
                region = %spec.key.region,
                kind = e.kind.as_str(),
                error = %e,
                "collection failed; keeping the last good values within the staleness window"
            );
            (
                Err(Failure {
                    kind: e.kind.as_str(),
                    message: e.to_string(),
                }),
                Vec::new(),
                None,
            )
        }
        Err(_) => {
            tracing::warn!(
                collector = spec.key.collector.name(),
                target = %spec.target,
                account_id = %spec.key.account_id,
                region = %spec.key.region,
                timeout = ?spec.timeout,
                "collection timed out"
            );
            (
                Err(Failure {
                    kind: ErrorKind::Timeout.as_str(),
                    message: format!("the run took longer than its timeout of {:?}", spec.timeout),
                }),
                Vec::new(),
                None,
            )
        }
    };
    (
        RunReport {
            started,
            duration,
            result,
            notes,
        },
        hint,
    )
}

async fn run_job(
    spec: JobSpec,
    ctx: JobContext,
    store: Arc<Store>,
    token: CancellationToken,
    jitter: Duration,
) {
    let mut state = JobState::default();
    if !jitter.is_zero() {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(jitter) => {}
        }
    }
    loop {
        let start = Instant::now();
        let (report, hint) = tokio::select! {
            _ = token.cancelled() => return,
            // Boxed: a job's task lives as long as the job, and an unboxed run future would keep
            // the size of its largest state (SDK futures, ~7 KiB) while the job sleeps.
            r = Box::pin(run_one(&spec, &ctx, &mut state)) => r,
        };
        store.record(&spec.key, report);
        let period = hint.unwrap_or(spec.interval).max(Duration::from_millis(10));
        // Skip ticks a long run missed rather than run back to back.
        let now = Instant::now();
        let mut next = start + period;
        if next <= now {
            let behind = now.duration_since(start).as_secs_f64() / period.as_secs_f64();
            next = start + period.mul_f64(behind.floor() + 1.0);
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
    }
}
