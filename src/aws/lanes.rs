//! Each account's share of the calls in flight: a bulkhead between accounts.
//!
//! Every call holds one of `aws.max_concurrent_calls` slots until its answer, and a call that
//! hangs holds it for its whole operation timeout, every attempt of it. A few accounts (or one
//! region of them) that stop answering would otherwise take most slots: their jobs are many
//! (every collector in every region) and start again every interval, so the rest of the
//! organization's calls would queue behind theirs, and jobs of accounts nothing is wrong with
//! would miss their timeouts. So an account whose call timed out sends one call at a time;
//! each answer (any answer: AWS's error is an answer) doubles its share, back to no bound of
//! its own once it reaches the slots there are. An account that answers keeps every slot it can
//! use; only the waiting of a hanging account's jobs is longer, and those fail anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::run::away;

/// A waiter looks again at least this often, whatever it was told.
const NAP: Duration = Duration::from_millis(250);

#[derive(Default)]
struct Lane {
    in_flight: usize,
    /// Calls the account may have in flight; `None` while it answers.
    limit: Option<usize>,
    freed: Arc<Notify>,
}

/// The accounts' lanes.
#[derive(Default)]
pub struct Lanes {
    lanes: Mutex<HashMap<String, Lane>>,
}

/// A call's place in its account's lane, given back when dropped.
pub struct InLane {
    lanes: Arc<Lanes>,
    account: String,
}

impl Drop for InLane {
    fn drop(&mut self) {
        let mut lanes = self.lanes.lock();
        if let Some(l) = lanes.get_mut(&self.account) {
            l.in_flight = l.in_flight.saturating_sub(1);
            if l.limit.is_some() {
                l.freed.notify_one();
            }
            if l.in_flight == 0 && l.limit.is_none() {
                lanes.remove(&self.account);
            }
        }
    }
}

impl Lanes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lane>> {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place in `account`'s lane: at once unless the account's calls time out and it has
    /// as many in flight as its share; then after one of them ends, the run's turn handed back
    /// meanwhile.
    pub async fn enter(self: &Arc<Self>, account: &str) -> InLane {
        let admitted = InLane {
            lanes: self.clone(),
            account: account.to_string(),
        };
        loop {
            let freed = {
                let mut lanes = self.lock();
                let l = lanes.entry(account.to_string()).or_default();
                if l.limit.is_none_or(|m| l.in_flight < m) {
                    l.in_flight += 1;
                    return admitted;
                }
                l.freed.clone()
            };
            let _ = away(tokio::time::timeout(NAP, freed.notified())).await;
        }
    }

    /// A call of `account` ended: `timed_out` cuts its share to one call, an answer doubles
    /// a cut share (no bound once it reaches `slots`). Returns whether this cut it.
    pub fn ended(&self, account: &str, timed_out: bool, slots: usize) -> bool {
        let mut lanes = self.lock();
        if timed_out {
            let l = lanes.entry(account.to_string()).or_default();
            let cut = l.limit.is_none();
            l.limit = Some(1);
            return cut;
        }
        if let Some(l) = lanes.get_mut(account) {
            if let Some(m) = l.limit {
                let grown = m.saturating_mul(2);
                l.limit = (grown < slots).then_some(grown);
                l.freed.notify_waiters();
                l.freed.notify_one();
            }
            if l.in_flight == 0 && l.limit.is_none() {
                lanes.remove(account);
            }
        }
        false
    }

    /// The share of `account` now (`None`: no bound of its own).
    pub fn share(&self, account: &str) -> Option<usize> {
        self.lock().get(account).and_then(|l| l.limit)
    }

    /// Accounts whose share is cut.
    pub fn cut(&self) -> usize {
        self.lock().values().filter(|l| l.limit.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_timed_out_account_sends_one_call_at_a_time_until_it_answers() {
        let lanes = Arc::new(Lanes::default());
        // Unbounded while it answers.
        let held: Vec<InLane> = futures_join(&lanes, "a", 5).await;
        assert_eq!(held.len(), 5);
        drop(held);
        assert!(lanes.ended("a", true, 64), "the first timeout cuts");
        assert!(
            !lanes.ended("a", true, 64),
            "a second one does not cut again"
        );
        assert_eq!(lanes.share("a"), Some(1));

        let first = lanes.enter("a").await;
        let second = {
            let lanes = lanes.clone();
            tokio::spawn(async move { lanes.enter("a").await })
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!second.is_finished(), "a second call waits for the first");
        // Another account is not held up.
        let other = tokio::time::timeout(Duration::from_millis(1), lanes.enter("b")).await;
        assert!(other.is_ok(), "an account that answers is not bounded");
        drop(first);
        let second = tokio::time::timeout(Duration::from_millis(1), second)
            .await
            .expect("the freed place goes to the waiter at once")
            .expect("the waiter did not panic");

        // Answers double the share: 1 -> 2 -> 4 -> ... -> unbounded at 8 slots.
        lanes.ended("a", false, 8);
        assert_eq!(lanes.share("a"), Some(2));
        lanes.ended("a", false, 8);
        assert_eq!(lanes.share("a"), Some(4));
        assert_eq!(lanes.cut(), 1);
        lanes.ended("a", false, 8);
        assert_eq!(lanes.share("a"), None);
        assert_eq!(lanes.cut(), 0);
        drop((second, other));
        assert!(
            lanes.lock().is_empty(),
            "a healthy account with nothing in flight is forgotten"
        );
    }

    async fn futures_join(lanes: &Arc<Lanes>, account: &str, n: usize) -> Vec<InLane> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(
                tokio::time::timeout(Duration::from_millis(1), lanes.enter(account))
                    .await
                    .expect("no wait"),
            );
        }
        out
    }
}
