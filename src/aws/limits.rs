//! Client-side limits: a token bucket per (account, region, service) that keeps every call
//! inside AWS's rate limits, and a global bound on calls in flight so that a cycle over
//! thousands of account-regions neither serializes nor opens thousands of connections at once.
//!
//! A caller that finds its bucket empty waits in line: callers are served in arrival order, and
//! the first in line looks at the bucket's rate as it is when it wakes, so a rate that changes
//! applies to every call not yet sent.
//!
//! The configured rates are ceilings, not promises. AWS may allow less (a lower quota, or other
//! tools spending the same account's budget), so a bucket adapts as the SDK's adaptive retry mode
//! does: a throttled attempt cuts the rate to [`BETA`] of what the bucket was sending at (once
//! per signal: attempts sent before the cut do not cut again), down to [`FLOOR`] of the ceiling,
//! and empties its burst; the rate then climbs back along a cubic curve that is flat near the
//! rate last throttled at and steep beyond it. A throttled call queues for its bucket's next
//! token again, for as long as its run has time ([`throttle_backoff`]); the SDK does not retry
//! throttling itself (`attempts::NoThrottleRetry`), so no attempt bypasses the bucket. What a run
//! lends its calls (deadline, turn) is in [`super::run`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::lanes::{InLane, Lanes};
use super::run::{away, throttle_backoff};
use super::table::Service;
use crate::config::aws::{AwsConfig, RateLimit};

/// A throttle cuts a bucket's rate to this share of the rate it was sending at, as the SDK's
/// adaptive retry mode (CUBIC) does: gentler than halving, so a bucket that found AWS's limit
/// stays near it.
pub const BETA: f64 = 0.7;
/// After a cut the rate climbs back along a cubic curve relative to the rate it was throttled
/// at (`peak`): `peak * (1 + CUBIC * (t - K)^3)`, where `K` is the time it takes to get back to
/// `peak` ([`BACK_TO_PEAK`]). Near `peak` the curve is flat, so the bucket spends most of its
/// time at the rate AWS allowed last; past it, it probes faster and faster, so a lifted limit is
/// found within seconds (from the floor to the ceiling in about 12 s).
pub const BACK_TO_PEAK: Duration = Duration::from_secs(2);
/// The lowest share of its ceiling a bucket slows down to.
pub const FLOOR: f64 = 0.02;
/// How long a caller waiting for a token sleeps at most before it looks at the rate again (a
/// rate that climbs serves it sooner than the rate it started waiting at).
const NAP: Duration = Duration::from_millis(250);

/// A caller expected to wait this long or longer for its token hands its run's turn back
/// meanwhile (see [`Turn`]); shorter waits, the usual ones at the configured rates, keep it.
const AWAY_AFTER: Duration = Duration::from_millis(250);

/// The cubic's scale: the curve is back at `peak` after [`BACK_TO_PEAK`].
fn cubic_scale() -> f64 {
    (1.0 - BETA) / BACK_TO_PEAK.as_secs_f64().powi(3)
}

/// A bucket's state after a throttle.
#[derive(Clone, Copy, Debug)]
struct Cut {
    at: Instant,
    /// The rate it was throttled at.
    peak: f64,
}

/// Calls sent in the current and the previous one-second window: the rate the bucket really
/// sends at, which may be far below its rate when its callers ask for less.
#[derive(Clone, Copy, Debug)]
struct Sent {
    start: Instant,
    now: f64,
    before: f64,
}

impl Sent {
    fn record(&mut self, now: Instant) {
        self.roll(now);
        self.now += 1.0;
    }

    fn roll(&mut self, now: Instant) {
        let age = now.saturating_duration_since(self.start).as_secs_f64();
        if age >= 1.0 {
            self.before = if age < 2.0 { self.now } else { 0.0 };
            self.now = 0.0;
            self.start += Duration::from_secs_f64(age.floor());
        }
    }

    /// Calls in the last second, the previous window weighted by how much of it overlaps.
    fn rate(&mut self, now: Instant) -> f64 {
        self.roll(now);
        let into = now.saturating_duration_since(self.start).as_secs_f64();
        self.now + self.before * (1.0 - into).max(0.0)
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
    /// The last cut; `None` while at the ceiling.
    cut: Option<Cut>,
    /// Bumped by each cut. A throttle reported for a call sent before the latest cut is the
    /// same signal as the one that made it (the attempts in flight when AWS began to throttle
    /// all come back throttled) and does not cut again.
    generation: u64,
    sent: Sent,
    /// Callers waiting for a token, served in arrival order by `turn`.
    waiting: u32,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl Bucket {
    fn new(limit: RateLimit, now: Instant) -> Self {
        Bucket {
            tokens: limit.burst.max(1.0),
            last: now,
            cut: None,
            generation: 0,
            sent: Sent {
                start: now,
                now: 0.0,
                before: 0.0,
            },
            waiting: 0,
            turn: Arc::default(),
        }
    }

    /// The rate now: the ceiling, or the cubic climb from the last cut.
    fn rate(&self, ceiling: f64, now: Instant) -> f64 {
        match self.cut {
            None => ceiling,
            Some(c) => {
                let t =
                    now.saturating_duration_since(c.at).as_secs_f64() - BACK_TO_PEAK.as_secs_f64();
                (c.peak * (1.0 + cubic_scale() * t.powi(3))).clamp(ceiling * FLOOR, ceiling)
            }
        }
    }

    /// Brings the tokens up to `now` at the current rate (which is the ceiling again once the
    /// climb reaches it).
    fn refill(&mut self, limit: RateLimit, now: Instant) -> f64 {
        let rate = self.rate(limit.rate, now);
        if self.cut.is_some() && rate >= limit.rate {
            self.cut = None;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(limit.burst.max(1.0));
        self.last = now;
        rate
    }

    /// Takes a token if there is one: the generation it is sent in, or how long until one.
    fn take(&mut self, limit: RateLimit, now: Instant) -> Result<u64, Duration> {
        let rate = self.refill(limit, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.sent.record(now);
            Ok(self.generation)
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
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
    /// `aws.max_concurrent_calls`.
    slots: usize,
    /// Each account's share of them (see [`super::lanes`]).
    lanes: Arc<Lanes>,
    buckets: Mutex<HashMap<(String, String, Service), Bucket>>,
    limits: HashMap<Service, RateLimit>,
    slot_use: Arc<SlotUse>,
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
    _lane: InLane,
    since: Instant,
    slots: Arc<SlotUse>,
    generation: u64,
}

impl Permit {
    /// The generation of the bucket the call was sent in (see [`Limiter::throttled`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// A caller waiting for its turn at a bucket; counted while it waits, however its wait ends.
struct Waiting<'l> {
    limiter: &'l Limiter,
    key: (String, String, Service),
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut buckets = self.limiter.lock_buckets();
        if let Some(b) = buckets.get_mut(&self.key) {
            b.waiting = b.waiting.saturating_sub(1);
        }
    }
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
        let limits = Service::ALL
            .iter()
            .map(|&s| (s, cfg.rate_limits.get(s)))
            .collect();
        Limiter {
            in_flight: Arc::new(Semaphore::new(cfg.max_concurrent_calls.max(1))),
            slots: cfg.max_concurrent_calls.max(1),
            lanes: Arc::default(),
            buckets: Mutex::new(HashMap::new()),
            limits,
            slot_use: Arc::default(),
            throttle_retry_limit: cfg.throttle_retry_limit.map(|d| d.0),
        }
    }

    /// Waits for a token of (account, region, service), then for a place in the account's lane
    /// (at once unless its calls time out: [`super::lanes`]), then for a slot among the calls in
    /// flight. Callers that find the bucket empty wait in arrival order, and the first of them
    /// looks at the bucket's rate as it is when it wakes: a cut slows every call not yet sent,
    /// a climb speeds them.
    pub async fn acquire(&self, account: &str, region: &str, service: Service) -> Permit {
        let generation = self.token(account, region, service).await;
        let lane = self.lanes.enter(account).await;
        let queued = Instant::now();
        let slot = self.in_flight.clone().acquire_owned().await.ok();
        let since = Instant::now();
        let waited = u64::try_from((since - queued).as_nanos()).unwrap_or(u64::MAX);
        self.slot_use
            .queued_nanos
            .fetch_add(waited, Ordering::Relaxed);
        Permit {
            _slot: slot,
            _lane: lane,
            since,
            slots: self.slot_use.clone(),
            generation,
        }
    }

    fn lock_buckets(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(String, String, Service), Bucket>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn key(account: &str, region: &str, service: Service) -> (String, String, Service) {
        let region = if service.is_global() { "" } else { region };
        (account.to_string(), region.to_string(), service)
    }

    /// A token of the bucket: at once when there is one and nobody waits before, else after
    /// the callers that came first. Returns the generation it was taken in.
    async fn token(&self, account: &str, region: &str, service: Service) -> u64 {
        let limit = self.limits.get(&service).copied().unwrap_or_default();
        if limit.rate <= 0.0 {
            return 0;
        }
        let key = Self::key(account, region, service);
        let turn = {
            let now = Instant::now();
            let mut buckets = self.lock_buckets();
            let b = buckets
                .entry(key.clone())
                .or_insert_with(|| Bucket::new(limit, now));
            if b.waiting == 0 {
                if let Ok(generation) = b.take(limit, now) {
                    return generation;
                }
            }
            // Roughly how long until this caller's turn: past a short wait, the run's turn
            // goes to a run with calls ready meanwhile.
            let rate = b.rate(limit.rate, now);
            let ahead = f64::from(b.waiting) + (1.0 - b.tokens).max(0.0);
            b.waiting += 1;
            (b.turn.clone(), Duration::from_secs_f64(ahead / rate))
        };
        let (turn, expected) = turn;
        let _waiting = Waiting {
            limiter: self,
            key: key.clone(),
        };
        let wait = async {
            let _turn = turn.lock().await;
            loop {
                let now = Instant::now();
                let wait = {
                    let mut buckets = self.lock_buckets();
                    let b = buckets
                        .entry(key.clone())
                        .or_insert_with(|| Bucket::new(limit, now));
                    match b.take(limit, now) {
                        Ok(generation) => return generation,
                        Err(wait) => wait,
                    }
                };
                tokio::time::sleep(wait.min(NAP)).await;
            }
        };
        if expected >= AWAY_AFTER {
            away(wait).await
        } else {
            wait.await
        }
    }

    /// How the slots were used so far.
    pub fn slot_use(&self) -> SlotReading {
        SlotReading {
            calls: self.slot_use.calls.load(Ordering::Relaxed),
            held: Duration::from_nanos(self.slot_use.held_nanos.load(Ordering::Relaxed)),
            queued: Duration::from_nanos(self.slot_use.queued_nanos.load(Ordering::Relaxed)),
        }
    }

    /// A call of `account` in `region` ended: in a timeout (`timed_out`), or with an answer
    /// (AWS's error is one). A timeout cuts the account to one call in flight, an answer
    /// doubles a cut share back (see [`super::lanes`]); the cut is logged once.
    pub fn ended(&self, account: &str, region: &str, timed_out: bool) {
        if self.lanes.ended(account, timed_out, self.slots) {
            tracing::warn!(
                account_id = account,
                region,
                "a call timed out: the account sends one call at a time until one is answered, so that it does not hold the slots other accounts' calls need"
            );
        }
    }

    /// Accounts whose calls timed out and that send one call at a time, or a few (see
    /// [`super::lanes`]).
    pub fn accounts_cut(&self) -> usize {
        self.lanes.cut()
    }

    /// How long a call first sent at `since` and throttled `round + 1` times past the SDK's
    /// retries waits before it is sent again, or `None` to give up (see [`throttle_backoff`]).
    pub fn throttle_wait(&self, round: u32, since: Instant) -> Option<Duration> {
        throttle_backoff(round, since, self.throttle_retry_limit)
    }

    /// AWS throttled an attempt of (account, region, service) sent in `generation`: unless a
    /// cut came since it was sent, cut the bucket's rate to [`BETA`] of the rate it was
    /// sending at (its rate while callers wait in line; else what it sent in the last second,
    /// when that is less), never below [`FLOOR`] of the ceiling, and drop its burst.
    pub fn throttled(&self, account: &str, region: &str, service: Service, generation: u64) {
        let limit = self.limits.get(&service).copied().unwrap_or_default();
        if limit.rate <= 0.0 {
            return;
        }
        let now = Instant::now();
        let mut buckets = self.lock_buckets();
        let b = buckets
            .entry(Self::key(account, region, service))
            .or_insert_with(|| Bucket::new(limit, now));
        if generation != b.generation {
            return;
        }
        let rate = b.refill(limit, now);
        // With callers in line the bucket sends at its rate; without, at what they ask, which
        // may be far less (and is what AWS found too much).
        let sending = if b.waiting > 0 {
            rate
        } else {
            rate.min(b.sent.rate(now))
        };
        let peak = sending.max(limit.rate * FLOOR / BETA);
        b.tokens = b.tokens.min(0.0);
        b.cut = Some(Cut { at: now, peak });
        b.generation += 1;
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
    use super::super::run::{within_run, Turn};
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

    /// Takes `n` tokens of account 1's Config bucket in region `r`; returns the generation of
    /// the last.
    async fn send(l: &Limiter, n: usize) -> u64 {
        let mut generation = 0;
        for _ in 0..n {
            generation = l.acquire("1", "r", Service::Config).await.generation();
        }
        generation
    }

    fn bucket_key() -> (String, String, Service) {
        ("1".to_string(), "r".to_string(), Service::Config)
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_cuts_the_rate_it_was_sending_at_once_per_signal_down_to_the_floor() {
        let l = config_at(10.0, 10.0);
        // Ten calls at once (the burst), then throttled: it was sending 10 a second.
        let generation = send(&l, 10).await;
        l.throttled("1", "r", Service::Config, generation);
        let r = config_rate(&l);
        assert!((r.lowest - 7.0).abs() < 1e-9, "{r:?}");
        // The other attempts sent before the cut are the same signal.
        l.throttled("1", "r", Service::Config, generation);
        assert!((config_rate(&l).lowest - 7.0).abs() < 1e-9);
        // Another region is another bucket.
        l.throttled("1", "other", Service::Config, 0);
        assert_eq!(config_rate(&l).slowed, 2);
        // Calls sent after each cut and throttled too: cut again, down to the floor.
        for _ in 0..30 {
            let generation = l.lock_buckets()[&bucket_key()].generation;
            l.throttled("1", "r", Service::Config, generation);
        }
        let r = config_rate(&l);
        assert!((r.lowest - 10.0 * FLOOR).abs() < 1e-9, "{r:?}");
        assert_eq!(r.ceiling, 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_that_sends_little_is_cut_from_what_it_sends() {
        let l = config_at(10.0, 10.0);
        // Two calls in the last second, at a rate of 10: AWS allowed less than two.
        let generation = send(&l, 2).await;
        l.throttled("1", "r", Service::Config, generation);
        let r = config_rate(&l);
        assert!((r.lowest - 1.4).abs() < 1e-9, "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_rate_climbs_back_flat_near_its_peak_then_fast_to_the_ceiling() {
        let l = config_at(100.0, 1.0);
        l.throttled("1", "r", Service::Config, 0);
        // Sent nothing: the peak is the floor's, the rate the floor.
        let at = |secs: f64| {
            let b = l.lock_buckets();
            b[&bucket_key()].rate(100.0, Instant::now() + Duration::from_secs_f64(secs))
        };
        assert!((at(0.0) - 2.0).abs() < 1e-9);
        // Back at the peak after BACK_TO_PEAK, and flat around it.
        let peak = 2.0 / BETA;
        assert!((at(2.0) - peak).abs() < 1e-9);
        assert!(at(1.0) > 0.95 * peak && at(3.0) < 1.05 * peak);
        // Then steeper: at the ceiling within about 12 s of the cut.
        assert!(at(8.0) > 8.0 * peak);
        assert_eq!(at(12.0), 100.0);
        tokio::time::advance(Duration::from_secs(12)).await;
        let r = config_rate(&l);
        assert_eq!((r.lowest, r.slowed), (100.0, 0), "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_slows_the_calls_already_waiting_and_they_keep_their_order() {
        let l = Arc::new(config_at(10.0, 1.0));
        send(&l, 1).await;
        // Twenty callers in line at 10 a second.
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (l, order) = (l.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                l.acquire("1", "r", Service::Config).await;
                order.lock().unwrap().push((i, Instant::now()));
            }));
            tokio::task::yield_now().await;
        }
        let start = Instant::now();
        tokio::time::sleep(Duration::from_millis(450)).await;
        // Throttled while the line waits, sending at 10 a second: 7 a second from now,
        // climbing slowly, for the callers already in line too.
        let generation = l.lock_buckets()[&bucket_key()].generation;
        l.throttled("1", "r", Service::Config, generation);
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap();
        let ids: Vec<usize> = order.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids, (0..20).collect::<Vec<_>>(), "served in arrival order");
        let before_cut = order
            .iter()
            .filter(|(_, t)| t.duration_since(start) <= Duration::from_millis(450))
            .count();
        assert_eq!(before_cut, 4, "10 a second before the cut");
        // The other 16 at the cut rate (7 climbing towards 10 a second): more than
        // 16 / 10 = 1.6 s, less than 16 / 7 = 2.3 s.
        let rest = order[19].1.duration_since(start) - Duration::from_millis(450);
        assert!(
            rest > Duration::from_millis(1650) && rest < Duration::from_millis(2300),
            "{rest:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_gives_up_leaves_the_line() {
        let l = Arc::new(config_at(1.0, 1.0));
        send(&l, 1).await;
        let waiting = {
            let l = l.clone();
            tokio::spawn(async move { l.acquire("1", "r", Service::Config).await.generation() })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(l.lock_buckets()[&bucket_key()].waiting, 1);
        waiting.abort();
        let _ = waiting.await;
        assert_eq!(l.lock_buckets()[&bucket_key()].waiting, 0);
        // And the next caller is not held behind it.
        tokio::time::advance(Duration::from_secs(1)).await;
        let t = Instant::now();
        send(&l, 1).await;
        assert!(t.elapsed() < Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_hands_its_turn_back_while_it_waits_for_a_token() {
        let permits = Arc::new(Semaphore::new(1));
        let l = Arc::new(config_at(1.0, 1.0));
        let turn = Turn::take(permits.clone()).await;
        assert!(turn.held() && permits.available_permits() == 0);
        let run = {
            let (l, turn) = (l.clone(), turn.clone());
            tokio::spawn(within_run(
                Duration::from_secs(60),
                Some(turn),
                async move {
                    // The burst, then a wait of a second for the next token.
                    send(&l, 2).await;
                },
            ))
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !turn.held(),
            "waiting for its token, the run gave its turn back"
        );
        let other = permits.clone().try_acquire_owned();
        assert!(other.is_ok(), "another run takes it meanwhile");
        drop(other);
        run.await.unwrap();
        assert!(turn.held(), "and takes it again to go on");
        // Nested waits: only the outermost hands the turn back.
        within_run(Duration::from_secs(60), Some(turn.clone()), async {
            away(async {
                assert!(!turn.held());
                away(async { assert!(!turn.held()) }).await;
                assert!(!turn.held(), "the inner wait does not take it again");
            })
            .await;
            assert!(turn.held());
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
