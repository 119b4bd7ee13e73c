//! Client-side limits: a token bucket per (account, region, service) that keeps every call
//! inside AWS's rate limits, and a global bound on calls in flight so that a cycle over
//! thousands of account-regions neither serializes nor opens thousands of connections at once.
//!
//! The buckets reserve: a caller that finds the bucket empty takes a token "on credit" and sleeps
//! until it would have been there, so callers are served in arrival order with no polling.
//!
//! The configured rates are ceilings, not promises. AWS may allow less (a lower quota, or other
//! tools spending the same account's budget), so a bucket adapts as the SDK's adaptive retry mode
//! does: every throttled attempt halves its rate (at most once per [`CUT_WINDOW`], down to
//! [`FLOOR`] of the ceiling) and empties its burst, and the rate then climbs back linearly, by
//! the ceiling per [`RECOVERY`], while no throttle comes. A throttled call is sent again, paced
//! by the slower bucket, for as long as its run has time ([`throttle_backoff`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::aws::{AwsConfig, RateLimit};

/// The AWS services the exporter calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// AWS Config.
    Config,
    /// Amazon GuardDuty.
    GuardDuty,
    /// IAM (global).
    Iam,
    /// AWS Organizations (global).
    Organizations,
    /// AWS STS.
    Sts,
}

impl Service {
    /// The label value (`config`, `guardduty`, ...), as in `posture_exporter_aws_api_calls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Config => "config",
            Service::GuardDuty => "guardduty",
            Service::Iam => "iam",
            Service::Organizations => "organizations",
            Service::Sts => "sts",
        }
    }

    /// Global services are limited per account, not per region.
    fn is_global(self) -> bool {
        matches!(self, Service::Iam | Service::Organizations)
    }
}

/// A throttled bucket halves its rate at most once in this window: the attempts in flight when
/// AWS began to throttle all come back throttled, and count as one signal.
pub const CUT_WINDOW: Duration = Duration::from_secs(1);
/// The rate climbs back by its ceiling in this time (from the floor to the ceiling in a bit less).
pub const RECOVERY: Duration = Duration::from_secs(60);
/// The lowest share of its ceiling a bucket slows down to.
pub const FLOOR: f64 = 0.02;

struct Bucket {
    tokens: f64,
    last: Instant,
    /// When the rate was last cut, and to what; `None` while at the ceiling.
    cut: Option<(Instant, f64)>,
}

impl Bucket {
    fn new(limit: RateLimit, now: Instant) -> Self {
        Bucket {
            tokens: limit.burst.max(1.0),
            last: now,
            cut: None,
        }
    }

    /// The rate now: the ceiling, or the cut rate plus what it recovered since.
    fn rate(&self, ceiling: f64, now: Instant) -> f64 {
        match self.cut {
            None => ceiling,
            Some((at, rate)) => {
                let since = now.saturating_duration_since(at).as_secs_f64();
                (rate + since * ceiling / RECOVERY.as_secs_f64()).min(ceiling)
            }
        }
    }
}

tokio::task_local! {
    /// The deadline of the job run this task is in (see [`within_run`]).
    static RUN: RunClock;
}

#[derive(Clone, Copy)]
struct RunClock {
    deadline: Instant,
    /// What a throttled call leaves to the rest of the run: it is not sent again when less
    /// than this would remain after the wait.
    reserve: Duration,
}

/// Runs `f` (one job run) with its deadline known to the calls it makes, so that a throttled
/// call is sent again for as long as the run has time, and no longer.
pub fn within_run<F: Future>(timeout: Duration, f: F) -> impl Future<Output = F::Output> {
    RUN.scope(
        RunClock {
            deadline: Instant::now() + timeout,
            reserve: timeout / 2,
        },
        f,
    )
}

/// Rounds of a throttled call made outside a job run (discovery, `check`), which has no
/// deadline of its own.
const ROUNDS_OUTSIDE_A_RUN: u32 = 4;

/// How long a call throttled past the SDK's retries waits before it is sent again (its `round`
/// counts from 0; it was first sent at `since`), or `None` when it should give up: when the
/// wait would leave its run less than half its timeout, or take the call past `limit`.
/// Exponential from half a second to 20 s, with jitter (half to all of it), so that the calls
/// throttled together do not come back together.
pub fn throttle_backoff(round: u32, since: Instant, limit: Option<Duration>) -> Option<Duration> {
    let base = Duration::from_millis(500)
        .saturating_mul(1 << round.min(6))
        .min(Duration::from_secs(20));
    let wait = base.mul_f64(0.5 + 0.5 * fastrand::f64());
    if limit.is_some_and(|l| since.elapsed() + wait > l) {
        return None;
    }
    match RUN.try_with(|r| *r) {
        Ok(run) => (Instant::now() + wait + run.reserve <= run.deadline).then_some(wait),
        Err(_) => (round < ROUNDS_OUTSIDE_A_RUN).then_some(wait),
    }
}

/// The rates of one service's buckets now, for the exporter's own metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServiceRates {
    /// The configured rate (calls a second per account and region, or per account).
    pub ceiling: f64,
    /// The lowest current rate of its buckets (the ceiling when none is slowed).
    pub lowest: f64,
    /// Buckets below the ceiling.
    pub slowed: usize,
}

/// The limiter shared by every client of the process.
pub struct Limiter {
    in_flight: Arc<Semaphore>,
    buckets: Mutex<HashMap<(String, String, Service), Bucket>>,
    limits: HashMap<Service, RateLimit>,
    slots: Arc<SlotUse>,
    /// `aws.throttle_retry_limit`.
    throttle_retry_limit: Option<Duration>,
}

/// How the slots were used, since the start: calls that held one, for how long in all, and
/// how long calls waited for one. What a cycle longer than its floor spent its time on: in
/// the calls (held time per call above the AWS latency) or between them (slots idle).
#[derive(Debug, Default)]
pub struct SlotUse {
    calls: AtomicU64,
    held_nanos: AtomicU64,
    queued_nanos: AtomicU64,
}

/// A reading of [`SlotUse`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SlotReading {
    /// Calls that held a slot and gave it back.
    pub calls: u64,
    /// Time slots were held, summed over those calls.
    pub held: Duration,
    /// Time calls waited for a slot (after their rate-limit token), summed.
    pub queued: Duration,
}

impl SlotReading {
    /// What happened between `earlier` and this reading.
    pub fn since(&self, earlier: &SlotReading) -> SlotReading {
        SlotReading {
            calls: self.calls.saturating_sub(earlier.calls),
            held: self.held.saturating_sub(earlier.held),
            queued: self.queued.saturating_sub(earlier.queued),
        }
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("free_slots", &self.in_flight.available_permits())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Held for the duration of one call.
pub struct Permit {
    _slot: Option<OwnedSemaphorePermit>,
    since: Instant,
    slots: Arc<SlotUse>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let held = u64::try_from(self.since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.slots.calls.fetch_add(1, Ordering::Relaxed);
        self.slots.held_nanos.fetch_add(held, Ordering::Relaxed);
    }
}

impl Limiter {
    /// A limiter with the configured bounds.
    pub fn new(cfg: &AwsConfig) -> Self {
        let r = &cfg.rate_limits;
        let limits = HashMap::from([
            (Service::Config, r.config),
            (Service::GuardDuty, r.guardduty),
            (Service::Iam, r.iam),
            (Service::Organizations, r.organizations),
            (Service::Sts, r.sts),
        ]);
        Limiter {
            in_flight: Arc::new(Semaphore::new(cfg.max_concurrent_calls.max(1))),
            buckets: Mutex::new(HashMap::new()),
            limits,
            slots: Arc::default(),
            throttle_retry_limit: cfg.throttle_retry_limit.map(|d| d.0),
        }
    }

    /// Waits for a token of (account, region, service), then for a slot among the calls in
    /// flight.
    pub async fn acquire(&self, account: &str, region: &str, service: Service) -> Permit {
        if let Some(wait) = self.reserve(account, region, service) {
            tokio::time::sleep(wait).await;
        }
        let queued = Instant::now();
        let slot = self.in_flight.clone().acquire_owned().await.ok();
        let since = Instant::now();
        let waited = u64::try_from((since - queued).as_nanos()).unwrap_or(u64::MAX);
        self.slots.queued_nanos.fetch_add(waited, Ordering::Relaxed);
        Permit {
            _slot: slot,
            since,
            slots: self.slots.clone(),
        }
    }

    /// How the slots were used so far.
    pub fn slot_use(&self) -> SlotReading {
        SlotReading {
            calls: self.slots.calls.load(Ordering::Relaxed),
            held: Duration::from_nanos(self.slots.held_nanos.load(Ordering::Relaxed)),
            queued: Duration::from_nanos(self.slots.queued_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Takes a token, possibly on credit; returns how long to wait for it.
    fn reserve(&self, account: &str, region: &str, service: Service) -> Option<Duration> {
        let limit = self.limits.get(&service).copied().unwrap_or_default();
        if limit.rate <= 0.0 {
            return None;
        }
        let region = if service.is_global() { "" } else { region };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets
            .entry((account.to_string(), region.to_string(), service))
            .or_insert_with(|| Bucket::new(limit, now));
        let rate = b.rate(limit.rate, now);
        if rate >= limit.rate {
            b.cut = None;
        }
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(limit.burst.max(1.0));
        b.last = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            None
        } else {
            Some(Duration::from_secs_f64(-b.tokens / rate))
        }
    }

    /// How long a call first sent at `since` and throttled `round + 1` times past the SDK's
    /// retries waits before it is sent again, or `None` to give up (see [`throttle_backoff`]).
    pub fn throttle_wait(&self, round: u32, since: Instant) -> Option<Duration> {
        throttle_backoff(round, since, self.throttle_retry_limit)
    }

    /// AWS throttled an attempt of (account, region, service): halve the bucket's rate, unless
    /// it was cut within [`CUT_WINDOW`], and drop its burst.
    pub fn throttled(&self, account: &str, region: &str, service: Service) {
        let limit = self.limits.get(&service).copied().unwrap_or_default();
        if limit.rate <= 0.0 {
            return;
        }
        let region = if service.is_global() { "" } else { region };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets
            .entry((account.to_string(), region.to_string(), service))
            .or_insert_with(|| Bucket::new(limit, now));
        if b.cut
            .is_some_and(|(at, _)| now.saturating_duration_since(at) < CUT_WINDOW)
        {
            return;
        }
        // Bring the tokens up to now at the old rate before the rate changes.
        let old = b.rate(limit.rate, now);
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * old)
            .min(limit.burst.max(1.0))
            .min(0.0);
        b.last = now;
        b.cut = Some((now, (old / 2.0).max(limit.rate * FLOOR)));
    }

    /// The rates of every service's buckets now.
    pub fn rates(&self) -> Vec<(Service, ServiceRates)> {
        let now = Instant::now();
        let mut out: Vec<(Service, ServiceRates)> = Vec::new();
        let mut services: Vec<_> = self.limits.iter().filter(|(_, l)| l.rate > 0.0).collect();
        services.sort_by_key(|(s, _)| **s);
        for (service, limit) in services {
            out.push((
                *service,
                ServiceRates {
                    ceiling: limit.rate,
                    lowest: limit.rate,
                    slowed: 0,
                },
            ));
        }
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        for ((_, _, service), b) in buckets.iter() {
            let Some((_, r)) = out.iter_mut().find(|(s, _)| s == service) else {
                continue;
            };
            let rate = b.rate(r.ceiling, now);
            if rate < r.ceiling {
                r.slowed += 1;
                r.lowest = r.lowest.min(rate);
            }
        }
        out
    }

    /// Calls in flight now.
    pub fn in_flight(&self, max: usize) -> usize {
        max.saturating_sub(self.in_flight.available_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_spaces_calls_at_the_rate_after_the_burst() {
        let rate_limits = crate::config::aws::RateLimits {
            config: RateLimit {
                rate: 10.0,
                burst: 2.0,
            },
            ..Default::default()
        };
        let cfg = AwsConfig {
            rate_limits,
            ..AwsConfig::default()
        };
        let l = Limiter::new(&cfg);
        let start = Instant::now();
        for _ in 0..12 {
            l.acquire("111111111111", "us-east-1", Service::Config)
                .await;
        }
        // 2 from the burst, then 10 at 10/s: 1 second.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(990) && took <= Duration::from_millis(1010),
            "{took:?}"
        );
        // Another account has its own bucket.
        let t = Instant::now();
        l.acquire("222222222222", "us-east-1", Service::Config)
            .await;
        assert!(t.elapsed() < Duration::from_millis(1));
    }

    fn config_at(rate: f64, burst: f64) -> Limiter {
        Limiter::new(&AwsConfig {
            rate_limits: crate::config::aws::RateLimits {
                config: RateLimit { rate, burst },
                ..Default::default()
            },
            ..AwsConfig::default()
        })
    }

    fn config_rate(l: &Limiter) -> ServiceRates {
        l.rates()
            .into_iter()
            .find(|(s, _)| *s == Service::Config)
            .map(|(_, r)| r)
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_halves_the_rate_once_per_window_down_to_the_floor() {
        let l = config_at(10.0, 1.0);
        l.throttled("1", "r", Service::Config);
        assert_eq!(config_rate(&l).lowest, 5.0);
        // Attempts throttled together are one signal.
        l.throttled("1", "r", Service::Config);
        assert_eq!(config_rate(&l).lowest, 5.0);
        // Another region is another bucket.
        l.throttled("1", "other", Service::Config);
        assert_eq!(config_rate(&l).slowed, 2);
        for _ in 0..20 {
            tokio::time::advance(CUT_WINDOW).await;
            l.throttled("1", "r", Service::Config);
        }
        let r = config_rate(&l);
        assert!((r.lowest - 10.0 * FLOOR).abs() < 1e-9, "{r:?}");
        assert_eq!(r.ceiling, 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slowed_bucket_paces_calls_and_recovers_to_the_ceiling() {
        let l = config_at(10.0, 5.0);
        // Throttled three seconds in a row: 10 -> 5 -> 2.5 -> 1.25 calls a second.
        for _ in 0..3 {
            l.throttled("1", "r", Service::Config);
            tokio::time::advance(CUT_WINDOW).await;
        }
        // The burst was dropped at the cut; a second later the bucket holds what it earned
        // since, at about 1.5 calls a second: 3 calls take about 0.95 s, where the ceiling's
        // burst of 5 would have served them at once.
        let start = Instant::now();
        for _ in 0..3 {
            l.acquire("1", "r", Service::Config).await;
        }
        let took = start.elapsed();
        assert!(took > Duration::from_millis(800), "{took:?}");
        // With no throttle the rate climbs back by the ceiling per RECOVERY.
        tokio::time::advance(RECOVERY).await;
        let r = config_rate(&l);
        assert_eq!((r.lowest, r.slowed), (10.0, 0), "{r:?}");
        // And the bucket is back to the configured pace (burst refilled).
        let start = Instant::now();
        for _ in 0..5 {
            l.acquire("1", "r", Service::Config).await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_call_is_sent_again_only_while_its_run_has_time() {
        // Outside a run: a few rounds.
        let now = Instant::now();
        assert!(throttle_backoff(0, now, None).is_some());
        assert!(throttle_backoff(ROUNDS_OUTSIDE_A_RUN, now, None).is_none());
        // A limit of its own: none past it.
        assert!(throttle_backoff(0, now, Some(Duration::from_millis(100))).is_none());
        // In a run of 60 s: waits grow, and the last one leaves half the run.
        within_run(Duration::from_secs(60), async {
            let start = Instant::now();
            let mut rounds = 0;
            while let Some(wait) = throttle_backoff(rounds, start, None) {
                assert!(wait <= Duration::from_secs(20));
                tokio::time::advance(wait).await;
                rounds += 1;
            }
            let spent = start.elapsed();
            assert!(rounds >= 4, "{rounds} rounds");
            assert!(spent <= Duration::from_secs(30), "{spent:?}");
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn slot_use_counts_held_and_queued_time() {
        let cfg = AwsConfig {
            max_concurrent_calls: 1,
            ..AwsConfig::default()
        };
        let l = Arc::new(Limiter::new(&cfg));
        let before = l.slot_use();
        let first = l.acquire("1", "r", Service::Sts).await;
        let second = {
            let l = l.clone();
            tokio::spawn(async move {
                let p = l.acquire("1", "r", Service::Sts).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(p);
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        second.await.unwrap();
        let used = l.slot_use().since(&before);
        assert_eq!(used.calls, 2);
        assert_eq!(used.held, Duration::from_millis(25), "20 ms and 5 ms");
        assert_eq!(
            used.queued,
            Duration::from_millis(20),
            "the second waited for the first"
        );
    }

    #[tokio::test]
    async fn in_flight_is_bounded() {
        let cfg = AwsConfig {
            max_concurrent_calls: 2,
            ..AwsConfig::default()
        };
        let l = Limiter::new(&cfg);
        let a = l.acquire("1", "r", Service::Sts).await;
        let _b = l.acquire("1", "r", Service::Sts).await;
        assert_eq!(l.in_flight(2), 2);
        let waited =
            tokio::time::timeout(Duration::from_millis(50), l.acquire("1", "r", Service::Sts))
                .await;
        assert!(waited.is_err(), "a third call must wait for a slot");
        drop(a);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), l.acquire("1", "r", Service::Sts))
                .await
                .is_ok()
        );
    }
}
