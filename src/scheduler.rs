//! One loop per (collector, target account, region): a random initial jitter within the
//! interval, a timeout per run, no overlapping runs (a loop awaits its run before it sleeps), ticks
//! missed by a long run are skipped, and cancellation ends a loop at once, mid-run included.
//!
//! The set of jobs is reconciled, not fixed: [`Scheduler::set_targets`] takes the targets known
//! now (from the config, later from discovery or a reload), starts the jobs that are new, stops
//! the ones that are gone and removes their series, and leaves unchanged jobs running with their
//! data.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::aws::run::{within_run, Turn};
use crate::aws::{AccountAws, ErrorKind, RegionClients};
use crate::collect::{Job, Schedule, Scope};
use crate::collectors::CollectorKind;
use crate::config::Config;
use crate::metrics::Family;
use crate::store::{Failure, JobKey, RunReport, Store};
use crate::targets::regions::{coverage_families, AccountRegions, Watch};
use crate::targets::{ResolvedTarget, TargetSink};

/// How jobs are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A loop per job; `jitter` spreads first runs over the interval (production) or starts
    /// every job at once (demo, tests).
    Loops {
        /// Spread first runs.
        jitter: bool,
    },
    /// No loops: jobs run only when [`Scheduler::run_once`] asks (`collect --once`).
    OnDemand,
}

/// One job to run.
struct JobSpec {
    key: JobKey,
    target: String,
    /// The target's credentials and SDK configuration, which `clients` are made of.
    aws: AccountAws,
    clients: Arc<RegionClients>,
    schedule: Schedule,
    scope: Scope,
}

/// How long a new job's loop waits before its first run. With `jitter`, a job per account and
/// region waits a random part (`r` in 0..1) of its interval, at most five minutes: enough to
/// smooth a cycle over thousands of accounts, short enough that a 6h collector starts the same
/// day. An organization job is one job (or one per region): spreading it smooths nothing and
/// only delays what it reads (and `/ready`), so it starts at once.
fn first_delay(jitter: bool, scope: Scope, interval: Duration, r: f64) -> Duration {
    match (jitter, scope) {
        (true, Scope::AccountRegion) => interval
            .min(Duration::from_secs(300))
            .mul_f64(r.clamp(0.0, 1.0)),
        _ => Duration::ZERO,
    }
}

/// A job and its state. The lock is held for the whole of a run, by whichever runs it (its loop
/// or [`Scheduler::run_once`]), so no job ever runs twice at once.
struct Slot {
    key: JobKey,
    target: String,
    /// The job's clients: their credentials are made ready before the job takes a turn.
    clients: Option<Arc<RegionClients>>,
    schedule: Schedule,
    job: tokio::sync::Mutex<Box<dyn Job>>,
    /// The scheduler's bound on jobs running at once (see [`Gate`]); `None` for organization
    /// jobs, which do not wait for it.
    gate: Option<Arc<Gate>>,
    /// The job this one replaces when only its credentials or schedule changed (a reload of
    /// `aws:`, another role): before its first run the job takes over its predecessor's state
    /// (what GuardDuty learned of its administrator, the scans of organization rules), once the
    /// predecessor's cancelled run has let go of it. Without it, a reload made every job start
    /// knowing nothing, and a first run whose calls partly failed exported what the state
    /// exists to tell apart (a managed member's view of its administrator's sets).
    predecessor: Mutex<Option<Arc<Slot>>>,
}

impl Slot {
    /// Takes over the predecessor's state, if any: called with the job's own lock held, before a
    /// run. The predecessor is cleared only once its state is taken, so a reload that replaces
    /// this job before it ran hands the same predecessor on.
    async fn inherit(&self, job: &mut Box<dyn Job>) {
        let pred = self
            .predecessor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(pred) = pred {
            let state = pred.job.lock().await.take_state();
            job.adopt(state);
            *self.predecessor.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    /// The slot whose state a successor should take: this one's own predecessor while it has
    /// not run yet, else itself.
    fn heir_source(self: &Arc<Self>) -> Arc<Slot> {
        self.predecessor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| self.clone())
    }
}

/// How many jobs run at once: [`RUNNING_PER_CALL_SLOT`] per slot of `aws.max_concurrent_calls`.
///
/// Every call waits for a slot anyway, so more jobs running than that only queue. Without the
/// bound, a cycle over 10,000 accounts x 4 regions with every job due at once (a start without
/// jitter, a recovery) put 80,000 tasks on two runtime queues: a call slot handed to a waiting
/// job stayed idle until that job's turn came round, 10% of slot-time at that size, and every
/// job's first futures were alive at once. A job waits for its turn before its run starts (its
/// timeout and duration count from there), parked, costing nothing while it waits. A run hands
/// its turn back while it only waits (for a token of a slowed bucket, for its account's
/// credentials: `aws::limits::away`), so runs held up by the rates AWS allows do not keep the
/// others from their calls.
///
/// Runs that handed their turn back are still runs in flight, holding what they have read so
/// far (a detector's plans, the pages of a listing): without a second bound, every job of a
/// cycle whose calls outrun their buckets' rates was in flight at once, each holding about
/// 6.5 KB at its peak (a heap profile at 1,000 accounts x 4 regions: 52 MB of 130). So a run
/// also takes a place among [`IN_FLIGHT_PER_CALL_SLOT`] runs per call slot, before its turn,
/// and keeps it until it ends.
/// Organization jobs (one per region at most, each a long chain of calls paced by one account's
/// buckets: GuardDuty's administrator, an aggregator) do not wait: queued behind thousands of
/// account jobs, their chain would start late and end the cycle.
struct Gate {
    /// Turns: runs working at once.
    turns: Bound,
    /// Runs in flight, working or waiting.
    runs: Bound,
}

/// Jobs running at once per slot of `aws.max_concurrent_calls`: enough that slots freed by a
/// job between two of its calls (parsing, its rate-limit bucket) find another job's call ready.
const RUNNING_PER_CALL_SLOT: usize = 4;

/// Runs in flight (working, or waiting for a token with their turn handed back) per slot of
/// `aws.max_concurrent_calls`: enough that the slots stay busy while runs wait for their
/// buckets (1,024 at the default 64 slots; a cycle of 20 ms calls needs about 500).
const IN_FLIGHT_PER_CALL_SLOT: usize = 16;

/// A semaphore of a size that follows the configuration.
struct Bound {
    permits: Arc<Semaphore>,
    size: Mutex<usize>,
}

impl Bound {
    fn new(size: usize) -> Self {
        Bound {
            permits: Arc::new(Semaphore::new(size)),
            size: Mutex::new(size),
        }
    }

    /// Follows a reloaded size (holders keep their permits).
    fn resize(&self, want: usize) {
        let mut size = self.size.lock().unwrap_or_else(|e| e.into_inner());
        if want > *size {
            self.permits.add_permits(want - *size);
        } else if want < *size {
            // Permits held now are not forgotten: the bound reaches its new size as runs end
            // and the excess is taken back below.
            let forgotten = self.permits.forget_permits(*size - want);
            let owed = *size - want - forgotten;
            if owed > 0 {
                let permits = self.permits.clone();
                tokio::spawn(async move {
                    if let Ok(p) = permits.acquire_many_owned(owed as u32).await {
                        p.forget();
                    }
                });
            }
        }
        *size = want;
    }
}

impl Gate {
    fn sizes_for(cfg: &Config) -> (usize, usize) {
        let slots = cfg.aws.max_concurrent_calls;
        (
            (slots * RUNNING_PER_CALL_SLOT).max(16),
            (slots * IN_FLIGHT_PER_CALL_SLOT).max(64),
        )
    }

    fn new(cfg: &Config) -> Self {
        let (turns, runs) = Self::sizes_for(cfg);
        Gate {
            turns: Bound::new(turns),
            runs: Bound::new(runs),
        }
    }

    /// Follows a reloaded `aws.max_concurrent_calls` (runs in flight keep their permits).
    fn resize(&self, cfg: &Config) {
        let (turns, runs) = Self::sizes_for(cfg);
        self.turns.resize(turns);
        self.runs.resize(runs);
    }

    /// A place among the runs in flight and a turn for `slot`'s run, once its account's
    /// credentials are ready (within its timeout): a job whose account's one AssumeRole is
    /// queued waits for it with neither, so both go to runs with calls ready, and a run starts
    /// only with what it needs.
    async fn enter_ready(&self, slot: &Slot) -> (Option<OwnedSemaphorePermit>, Arc<Turn>) {
        if let Some(c) = &slot.clients {
            let _ = tokio::time::timeout(slot.schedule.timeout, c.warm_credentials()).await;
        }
        let place = self.runs.permits.clone().acquire_owned().await.ok();
        (place, Turn::take(self.turns.permits.clone()).await)
    }
}

struct Running {
    slot: Arc<Slot>,
    /// Cancels the job's loop (none in [`Mode::OnDemand`]).
    token: CancellationToken,
    /// The configuration the job was made with: a changed section restarts it.
    config: Arc<Config>,
    /// The credentials and SDK configuration it calls with: other ones (a reload that changed
    /// `aws:` or the target's role) restart it.
    aws: AccountAws,
}

/// Runs and reconciles the jobs.
pub struct Scheduler {
    store: Arc<Store>,
    gate: Arc<Gate>,
    config: Mutex<Arc<Config>>,
    jobs: Mutex<HashMap<JobKey, Running>>,
    targets: Mutex<BTreeMap<String, ResolvedTarget>>,
    /// The region coverage last published ([`Scheduler::publish_region_coverage`]).
    coverage: Mutex<Option<Vec<Family>>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    mode: Mode,
}

impl TargetSink for Scheduler {
    fn set_targets(&self, targets: Vec<ResolvedTarget>, remove: &[String]) {
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

    fn replace_targets_of(&self, name: &str, targets: Vec<ResolvedTarget>) {
        {
            let prefix = format!("{name}/");
            let mut t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
            t.retain(|k, _| k != name && !k.starts_with(&prefix));
            for target in targets {
                t.insert(target.name.clone(), target);
            }
        }
        self.reconcile();
    }
}

impl Scheduler {
    /// A scheduler with no jobs yet.
    pub fn new(
        store: Arc<Store>,
        config: Arc<Config>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
        mode: Mode,
    ) -> Arc<Self> {
        Arc::new(Scheduler {
            store,
            gate: Arc::new(Gate::new(&config)),
            config: Mutex::new(config),
            jobs: Mutex::new(HashMap::new()),
            targets: Mutex::new(BTreeMap::new()),
            coverage: Mutex::new(None),
            tracker,
            shutdown,
            mode,
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
    pub fn set_config(&self, config: Arc<Config>) {
        self.store
            .set_max_stale_intervals(config.max_stale_intervals);
        self.gate.resize(&config);
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
        self.reconcile();
    }

    /// Removes the targets of a configured target `name` (itself and, for discovery, every
    /// `name/<account>`) and reconciles.
    pub fn remove_targets_of(&self, name: &str) {
        self.replace_targets_of(name, Vec::new());
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

    fn desired(&self, cfg: &Config) -> Vec<JobSpec> {
        let targets = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for kind in CollectorKind::ALL {
            let schedule = kind.schedule(&cfg.collectors);
            if !schedule.enabled {
                continue;
            }
            let scope = kind.scope(&cfg.collectors);
            let mut push = |t: &ResolvedTarget, region: &str| {
                out.push(JobSpec {
                    key: JobKey {
                        collector: *kind,
                        account_id: t.account_id.clone(),
                        region: region.to_string(),
                    },
                    target: t.name.clone(),
                    aws: t.aws.clone(),
                    clients: Arc::new(t.aws.region(region, &t.account_id)),
                    schedule,
                    scope,
                });
            };
            match scope {
                Scope::AccountRegion => {
                    for t in targets.values().filter(|t| t.account_jobs) {
                        for r in &t.regions {
                            push(t, r);
                        }
                    }
                }
                Scope::Org => {
                    if !cfg.shard.runs_org_collectors() {
                        continue;
                    }
                    for (t, regions) in org_jobs(cfg, *kind, &targets) {
                        for r in &regions {
                            push(t, r);
                        }
                    }
                }
            }
        }
        out
    }

    /// Makes the jobs those of the targets and configuration in force: starts missing jobs,
    /// stops vanished ones (their series go), restarts those whose schedule, target or section
    /// changed, and leaves the others running with their state and data.
    pub fn reconcile(&self) {
        let cfg = self.config();
        self.publish_region_coverage(&cfg);
        let desired = self.desired(&cfg);
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let wanted: HashSet<&JobKey> = desired.iter().map(|s| &s.key).collect();
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
            let mut predecessor = None;
            if let Some(r) = jobs.get(&spec.key) {
                let same_section = spec
                    .key
                    .collector
                    .same_section(&r.config.collectors, &cfg.collectors);
                let same = same_section
                    && r.slot.schedule == spec.schedule
                    && r.slot.target == spec.target
                    && r.aws.same(&spec.aws);
                if same {
                    continue;
                }
                r.token.cancel();
                // What the job learned holds for the same account, region and settings.
                if same_section {
                    predecessor = Some(r.slot.heir_source());
                }
            }
            let token = self.shutdown.child_token();
            self.store
                .register(spec.key.clone(), &spec.target, spec.schedule.interval);
            let slot = Arc::new(Slot {
                clients: Some(spec.clients.clone()),
                job: tokio::sync::Mutex::new(spec.key.collector.job(spec.clients, &cfg.collectors)),
                key: spec.key.clone(),
                target: spec.target,
                schedule: spec.schedule,
                gate: (spec.scope == Scope::AccountRegion).then(|| self.gate.clone()),
                predecessor: Mutex::new(predecessor),
            });
            if let Mode::Loops { jitter } = self.mode {
                let delay =
                    first_delay(jitter, spec.scope, spec.schedule.interval, fastrand::f64());
                self.tracker.spawn(run_job(
                    slot.clone(),
                    self.store.clone(),
                    token.clone(),
                    delay,
                ));
            }
            jobs.insert(
                spec.key,
                Running {
                    slot,
                    token,
                    config: cfg.clone(),
                    aws: spec.aws,
                },
            );
        }
    }

    /// Exports the regions of the targets whose regions came from ListRegions, and the enabled
    /// regions that a collector watching its service (recorders, detectors, hubs) does not read:
    /// a per-account collector reads its target's regions, an organization collector the regions
    /// of its placement. Published only when it changed, so a reconcile that changed no region
    /// costs no re-encoding.
    fn publish_region_coverage(&self, cfg: &Config) {
        let families = {
            let targets = self.targets.lock().unwrap_or_else(|e| e.into_inner());
            // An organization collector watches its section's regions (`aws.region` by
            // default), or with `regions: enabled` the regions of its jobs, which its targets'
            // accounts enable (none before ListRegions answered for them).
            let placements: Vec<(CollectorKind, Option<Vec<String>>)> = CollectorKind::ALL
                .iter()
                .filter(|k| k.watches_regions() && k.schedule(&cfg.collectors).enabled)
                .map(|k| match k.scope(&cfg.collectors) {
                    Scope::AccountRegion => (*k, None),
                    Scope::Org => {
                        let placement = k.placement(&cfg.collectors);
                        if !placement.regions_from_aws() {
                            return (*k, Some(placement.regions_for(&[], &cfg.aws.region)));
                        }
                        let mut regions: Vec<String> = org_jobs(cfg, *k, &targets)
                            .into_iter()
                            .flat_map(|(_, r)| r)
                            .collect();
                        regions.sort();
                        regions.dedup();
                        (*k, Some(regions))
                    }
                })
                .collect();
            let watchers: Vec<(&str, Watch<'_>)> = placements
                .iter()
                .map(|(k, regions)| {
                    let watch = match regions {
                        None => Watch::AccountRegions,
                        Some(list) => Watch::Regions(list),
                    };
                    (k.name(), watch)
                })
                .collect();
            // One account once, whichever target names it.
            let mut accounts = BTreeMap::new();
            for t in targets.values().filter(|t| t.account_jobs) {
                if let Some(states) = t.region_states.as_deref() {
                    accounts
                        .entry(t.account_id.as_str())
                        .or_insert(AccountRegions {
                            account_id: &t.account_id,
                            states,
                            read: &t.regions,
                        });
                }
            }
            let accounts: Vec<AccountRegions<'_>> = accounts.into_values().collect();
            coverage_families(&accounts, &watchers)
        };
        let mut last = self.coverage.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_ref() != Some(&families) {
            self.store.set_extras("regions", families.clone());
            *last = Some(families);
        }
    }

    /// Number of running jobs.
    pub fn job_count(&self) -> usize {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Runs every job once, concurrently, and records the results (for `collect --once`, tests
    /// and benchmarks). State carries over between calls, as it does in a job's loop, and a job
    /// whose loop is running it now is waited for, not run beside it. Returns the number of
    /// failed runs.
    pub async fn run_once(&self) -> usize {
        self.run_once_where(None).await.0
    }

    /// Like [`Scheduler::run_once`], for the jobs in `only` (all when `None`); also returns the
    /// jobs that asked to run again sooner than their interval, with how soon.
    pub async fn run_once_where(
        &self,
        only: Option<&HashSet<JobKey>>,
    ) -> (usize, Vec<(JobKey, Duration)>) {
        self.reconcile();
        let slots: Vec<Arc<Slot>> = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|r| only.is_none_or(|o| o.contains(&r.slot.key)))
            .map(|r| r.slot.clone())
            .collect();
        let mut set = tokio::task::JoinSet::new();
        for slot in slots {
            set.spawn(run_slot(slot, self.store.clone()));
        }
        let mut failed = 0;
        let mut hints = Vec::new();
        while let Some(r) = set.join_next().await {
            match r {
                Ok((key, f, hint)) => {
                    if let Some(h) = hint {
                        hints.push((key, h));
                    }
                    failed += usize::from(f);
                }
                Err(_) => failed += 1,
            }
        }
        (failed, hints)
    }
}

/// The jobs of an organization collector: each placement target once per account, with the
/// regions it reads there (listed, `aws.region`, or with `regions: enabled` those its account
/// enables, none until ListRegions has answered).
fn org_jobs<'t>(
    cfg: &Config,
    kind: CollectorKind,
    targets: &'t BTreeMap<String, ResolvedTarget>,
) -> Vec<(&'t ResolvedTarget, Vec<String>)> {
    let placement = kind.placement(&cfg.collectors);
    let default = cfg.default_org_target().map(|t| t.name.as_str());
    let mut accounts = HashSet::new();
    let mut out = Vec::new();
    for name in placement.target_names(default) {
        let Some(t) = targets.get(&name) else {
            continue;
        };
        // Two names for one account would be one job twice.
        if !accounts.insert(t.account_id.clone()) {
            continue;
        }
        out.push((t, placement.regions_for(&t.regions, &cfg.aws.region)));
    }
    out
}

/// One run of `slot` outside its loop, recorded: whether it failed, and how soon it asks to
/// run again. Waits for a run of its loop in flight.
async fn run_slot(slot: Arc<Slot>, store: Arc<Store>) -> (JobKey, bool, Option<Duration>) {
    let mut job = slot.job.lock().await;
    slot.inherit(&mut job).await;
    let (report, hint) = run_gated(&slot, &mut job).await;
    let failed = match &report.result {
        Ok(c) => c.failed_parts().next().is_some(),
        Err(_) => true,
    };
    store.record(&slot.key, report);
    (slot.key.clone(), failed, hint)
}

/// One run, once the gate (if the job has one) lets it in: a place among the runs in flight,
/// held until it ends, and a turn.
async fn run_gated(slot: &Slot, job: &mut Box<dyn Job>) -> (RunReport, Option<Duration>) {
    let (_place, turn) = match &slot.gate {
        Some(g) => {
            let (place, turn) = g.enter_ready(slot).await;
            (place, Some(turn))
        }
        None => (None, None),
    };
    run_one(slot, job, turn).await
}

/// One run: its report, with the calls it sent, and how soon it asks to run again. Logs each
/// failure in one line: of the run, or of each part that was not read.
async fn run_one(
    slot: &Slot,
    job: &mut Box<dyn Job>,
    turn: Option<Arc<Turn>>,
) -> (RunReport, Option<Duration>) {
    let started = SystemTime::now();
    let start = Instant::now();
    let calls = || slot.clients.as_ref().map_or(0, |c| c.calls());
    let calls_before = calls();
    let timeout = slot.schedule.timeout;
    let result = tokio::time::timeout(timeout, within_run(timeout, turn, job.run())).await;
    let duration = start.elapsed();
    let key = &slot.key;
    let (result, hint) = match result {
        Ok(Ok(c)) => {
            for (part, e) in c.failed_parts() {
                tracing::warn!(
                    collector = key.collector.name(),
                    target = %slot.target,
                    account_id = %key.account_id,
                    region = %key.region,
                    part,
                    operation = e.operation,
                    kind = e.kind.as_str(),
                    error = %e,
                    "part of the collection failed; exporting the rest, keeping this part's last good values within the staleness window"
                );
            }
            let hint = c.next_run;
            (Ok(c), hint)
        }
        Ok(Err(e)) => {
            tracing::warn!(
                collector = key.collector.name(),
                target = %slot.target,
                account_id = %key.account_id,
                region = %key.region,
                kind = e.kind.as_str(),
                error = %e,
                "collection failed; keeping the last good values within the staleness window"
            );
            (Err(Failure::from(&e)), None)
        }
        Err(_) => {
            tracing::warn!(
                collector = key.collector.name(),
                target = %slot.target,
                account_id = %key.account_id,
                region = %key.region,
                timeout = ?timeout,
                "collection timed out"
            );
            let failure = Failure {
                kind: ErrorKind::Timeout,
                message: format!("the run took longer than its timeout of {timeout:?}"),
            };
            (Err(failure), None)
        }
    };
    let report = RunReport {
        started,
        duration,
        calls: calls().saturating_sub(calls_before),
        result,
    };
    (report, hint)
}

/// The time from one run's start to the next: the interval, or sooner when the job asked
/// (`next_run`), never later: a collector's "again soon" (say 30 s) must not hold back a job
/// whose interval is shorter.
fn period(interval: Duration, hint: Option<Duration>) -> Duration {
    hint.map_or(interval, |h| h.min(interval))
        .max(Duration::from_millis(10))
}

async fn run_job(slot: Arc<Slot>, store: Arc<Store>, token: CancellationToken, delay: Duration) {
    if !delay.is_zero() {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    loop {
        let start = Instant::now();
        let (report, hint) = tokio::select! {
            _ = token.cancelled() => return,
            // Boxed: made when the run starts, not part of the loop's future, which every job
            // keeps for as long as it exists and mostly while it sleeps between runs.
            r = Box::pin(async {
                let mut job = slot.job.lock().await;
                slot.inherit(&mut job).await;
                run_gated(&slot, &mut job).await
            }) => r,
        };
        store.record(&slot.key, report);
        let period = period(slot.schedule.interval, hint);
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

#[cfg(test)]
mod tests;
