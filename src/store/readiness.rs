//! Readiness: `/ready` answers 200 once every configured target's accounts are known and every
//! job they made has finished one attempt, so a rollout never routes scrapes to an exporter
//! that has nothing to say yet.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// The targets whose accounts are not known yet.
#[derive(Debug, Default)]
pub struct Readiness {
    pending_targets: Mutex<BTreeSet<String>>,
}

impl Readiness {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.pending_targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// A target whose accounts are not known yet.
    pub fn add_pending_target(&self, name: &str) {
        self.lock().insert(name.to_string());
    }

    /// A pending target was resolved (or removed).
    pub fn target_resolved(&self, name: &str) {
        self.lock().remove(name);
    }

    /// True once every configured target's accounts are known.
    pub fn targets_resolved(&self) -> bool {
        self.lock().is_empty()
    }

    /// Ready: every target resolved, and `jobs_attempted` (every job has finished an attempt).
    pub fn ready(&self, jobs_attempted: impl FnOnce() -> bool) -> bool {
        self.targets_resolved() && jobs_attempted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_waits_for_every_target_and_then_for_the_jobs() {
        let r = Readiness::default();
        assert!(r.ready(|| true), "nothing pending, every job attempted");
        r.add_pending_target("org");
        r.add_pending_target("static");
        assert!(!r.ready(|| true));
        r.target_resolved("org");
        assert!(!r.targets_resolved());
        r.target_resolved("static");
        assert!(r.targets_resolved());
        assert!(!r.ready(|| false), "targets known but a job has not run");
        assert!(r.ready(|| true));
    }
}
