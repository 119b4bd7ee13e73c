//! What a job run lends the calls it makes, through a task-local: its deadline, so that a
//! throttled call is sent again for as long as the run has time and no longer
//! ([`throttle_backoff`]), and its turn among the runs going at once, handed back while the
//! run only waits ([`Turn`], [`away`]).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

tokio::task_local! {
    /// The deadline of the job run this task is in (see [`within_run`]).
    static RUN: RunClock;
}

#[derive(Clone)]
struct RunClock {
    deadline: Instant,
    /// What a throttled call leaves to the rest of the run: it is not sent again when less
    /// than this would remain after the wait.
    reserve: Duration,
    /// The run's turn among the jobs running at once, if the runner bounds them.
    turn: Option<Arc<Turn>>,
}

/// A job run's turn among the jobs that run at once (the scheduler's bound on them): held
/// while the run works, handed back while it only waits, for a token of a slowed bucket or for
/// its account's credentials ([`away`]). When AWS allows less than the configured rates, a
/// run spends most of its time waiting for its buckets; holding its turn meanwhile kept the
/// runs that had calls ready from starting, and the calls in flight far below their bound.
#[derive(Debug)]
pub struct Turn {
    permits: Arc<Semaphore>,
    held: Mutex<Option<OwnedSemaphorePermit>>,
}

impl Turn {
    /// Waits for a permit of `permits`: the turn of a run that starts.
    pub async fn take(permits: Arc<Semaphore>) -> Arc<Turn> {
        let held = permits.clone().acquire_owned().await.ok();
        Arc::new(Turn {
            permits,
            held: Mutex::new(held),
        })
    }

    /// Hands the permit back; whether it was held.
    fn step_out(&self) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .is_some()
    }

    /// Waits for a permit again.
    async fn step_in(&self) {
        let p = self.permits.clone().acquire_owned().await.ok();
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// Whether the permit is held now.
    pub fn held(&self) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

/// Runs `f`, a wait, with the run's turn handed back meanwhile (see [`Turn`]); waits are
/// nested freely (only the outermost hands it back and takes it again).
pub async fn away<F: Future>(f: F) -> F::Output {
    let turn = RUN.try_with(|r| r.turn.clone()).ok().flatten();
    let stepped_out = turn.as_ref().is_some_and(|t| t.step_out());
    let out = f.await;
    if let (true, Some(t)) = (stepped_out, turn) {
        t.step_in().await;
    }
    out
}

/// Runs `f` (one job run) with its deadline and its turn known to the calls it makes, so that
/// a throttled call is sent again for as long as the run has time, and no longer, and waits
/// hand the turn back.
pub fn within_run<F: Future>(
    timeout: Duration,
    turn: Option<Arc<Turn>>,
    f: F,
) -> impl Future<Output = F::Output> {
    RUN.scope(
        RunClock {
            deadline: Instant::now() + timeout,
            reserve: timeout / 2,
            turn,
        },
        f,
    )
}

/// Rounds of a throttled call made outside a job run (discovery, `check`), which has no
/// deadline of its own: about ten seconds of waits.
const ROUNDS_OUTSIDE_A_RUN: u32 = 8;

/// How long a throttled call waits before it queues for its bucket's next token again (its
/// `round` counts from 0; it was first sent at `since`), or `None` when it should give up: when
/// the wait would leave its run less than half its timeout, or take the call past `limit`.
///
/// The bucket paces the call: the throttle cut its rate, and the call waits in line for a
/// token at that rate. The wait before it joins the line is short and grows only when a call
/// is throttled again and again (when AWS allows less than even the floor of the rate): 50 ms
/// doubling to 20 s, with jitter (half to all of it), so that calls throttled together do not
/// come back together.
pub fn throttle_backoff(round: u32, since: Instant, limit: Option<Duration>) -> Option<Duration> {
    let base = Duration::from_millis(50)
        .saturating_mul(1 << round.min(9))
        .min(Duration::from_secs(20));
    let wait = base.mul_f64(0.5 + 0.5 * fastrand::f64());
    if limit.is_some_and(|l| since.elapsed() + wait > l) {
        return None;
    }
    match RUN.try_with(|r| (r.deadline, r.reserve)) {
        Ok((deadline, reserve)) => (Instant::now() + wait + reserve <= deadline).then_some(wait),
        Err(_) => (round < ROUNDS_OUTSIDE_A_RUN).then_some(wait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_throttled_call_is_sent_again_only_while_its_run_has_time() {
        // Outside a run: a few rounds.
        let now = Instant::now();
        assert!(throttle_backoff(0, now, None).is_some());
        assert!(throttle_backoff(ROUNDS_OUTSIDE_A_RUN, now, None).is_none());
        // A limit of its own: none past it.
        assert!(throttle_backoff(0, now, Some(Duration::from_millis(10))).is_none());
        // In a run of 60 s: waits grow, and the last one leaves half the run.
        within_run(Duration::from_secs(60), None, async {
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
}
