//! Client-side limits: a token bucket per (account, region, service) that keeps every call
//! inside AWS's rate limits, and a global bound on calls in flight so that a cycle over
//! thousands of account-regions neither serializes nor opens thousands of connections at once.
//!
//! The buckets reserve: a caller that finds the bucket empty takes a token "on credit" and sleeps
//! until it would have been there, so callers are served in arrival order with no polling.

use std::collections::HashMap;
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
    /// Global services are limited per account, not per region.
    fn is_global(self) -> bool {
        matches!(self, Service::Iam | Service::Organizations)
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The limiter shared by every client of the process.
pub struct Limiter {
    in_flight: Arc<Semaphore>,
    buckets: Mutex<HashMap<(String, String, Service), Bucket>>,
    limits: HashMap<Service, RateLimit>,
    slots: Arc<SlotUse>,
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
            .or_insert(Bucket {
                tokens: limit.burst.max(1.0),
                last: now,
            });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * limit.rate).min(limit.burst.max(1.0));
        b.last = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            None
        } else {
            Some(Duration::from_secs_f64(-b.tokens / limit.rate))
        }
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
