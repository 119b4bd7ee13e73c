//! Readiness, and the progress of each organization listing.
//!
//! `/ready` answers 200 once every configured target has handed over its first accounts (a static
//! target: its account is known; a discovery target: its listing's accounts when the listing
//! ends, or those listed so far once it has run for longer than a hand-over interval, 5 s) and
//! every job that existed when `/ready` first found them all handed over has finished one
//! attempt and is shown in what `/metrics` serves (jobs of pages listed after that are not
//! waited for: a cycle slower than the listing would otherwise wait for its end). From then on
//! it stays 200: accounts listed later, a refresh or a reload add
//! jobs without taking the exporter out of service. So while a first listing of a large
//! organization is still running (500 pages at 10,000 accounts), the exporter serves the accounts
//! listed so far, each with its first results, and says how far the listing is in
//! `/status.json` (`discovery`) and on the overview page.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

/// How far one discovery target's listing of the organization is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    /// When the listing now running (or the last one) started.
    pub started: Option<SystemTime>,
    /// Pages and accounts it has listed so far.
    pub pages: u64,
    /// Accounts listed so far (every status, before selection).
    pub accounts: u64,
    /// When it ended, if it has; `None` while it runs.
    pub finished: Option<SystemTime>,
    /// Why it failed, if it did (the accounts known before are kept).
    pub error: Option<String>,
    /// When a listing of this target last ended complete, and how many accounts it listed.
    pub last_complete: Option<(SystemTime, u64)>,
}

impl Listing {
    /// "listing", "complete" or "failed".
    pub fn state(&self) -> &'static str {
        match (&self.finished, &self.error) {
            (None, _) => "listing",
            (Some(_), None) => "complete",
            (Some(_), Some(_)) => "failed",
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// The targets that have not handed over their first accounts.
    pending: BTreeSet<String>,
    listings: BTreeMap<String, Listing>,
}

/// Pending targets, listings, and whether `/ready` has said yes.
#[derive(Debug, Default)]
pub struct Readiness {
    state: Mutex<State>,
    latched: AtomicBool,
}

impl Readiness {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A target whose accounts are not known yet.
    pub fn add_pending_target(&self, name: &str) {
        self.lock().pending.insert(name.to_string());
    }

    /// A pending target handed over its first accounts (or was removed).
    pub fn target_resolved(&self, name: &str) {
        self.lock().pending.remove(name);
    }

    /// A target was removed from the configuration: its listing goes too.
    pub fn target_removed(&self, name: &str) {
        let mut s = self.lock();
        s.pending.remove(name);
        s.listings.remove(name);
    }

    /// True once every configured target has handed over its first accounts.
    pub fn targets_resolved(&self) -> bool {
        self.lock().pending.is_empty()
    }

    /// Ready: every target resolved and `jobs_attempted` (every job made so far has finished an
    /// attempt and is served); once true, always true.
    pub fn ready(&self, jobs_attempted: impl FnOnce() -> bool) -> bool {
        if self.latched.load(Ordering::Relaxed) {
            return true;
        }
        let now = self.targets_resolved() && jobs_attempted();
        if now {
            self.latched.store(true, Ordering::Relaxed);
        }
        now
    }

    /// A listing of `target` starts.
    pub fn listing_started(&self, target: &str, at: SystemTime) {
        let mut s = self.lock();
        let l = s.listings.entry(target.to_string()).or_default();
        *l = Listing {
            started: Some(at),
            last_complete: l.last_complete,
            ..Listing::default()
        };
    }

    /// The listing of `target` read a page of `accounts` accounts.
    pub fn listing_page(&self, target: &str, accounts: usize) {
        if let Some(l) = self.lock().listings.get_mut(target) {
            l.pages += 1;
            l.accounts += accounts as u64;
        }
    }

    /// The listing of `target` ended: complete with `Ok(accounts)`, or failed.
    pub fn listing_ended(&self, target: &str, at: SystemTime, result: Result<u64, String>) {
        if let Some(l) = self.lock().listings.get_mut(target) {
            l.finished = Some(at);
            match result {
                Ok(accounts) => {
                    l.accounts = accounts;
                    l.last_complete = Some((at, accounts));
                }
                Err(e) => l.error = Some(e),
            }
        }
    }

    /// Every discovery target's listing, by target name.
    pub fn listings(&self) -> Vec<(String, Listing)> {
        self.lock()
            .listings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ready_waits_for_every_target_and_then_for_the_jobs_then_stays() {
        let r = Readiness::default();
        r.add_pending_target("org");
        r.add_pending_target("static");
        assert!(!r.ready(|| true));
        r.target_resolved("org");
        assert!(!r.targets_resolved());
        r.target_resolved("static");
        assert!(r.targets_resolved());
        assert!(!r.ready(|| false), "targets known but a job has not run");
        assert!(r.ready(|| true));
        // Accounts listed later, or a reload's new target, do not take it out of service.
        r.add_pending_target("added by a reload");
        assert!(r.ready(|| false));
    }

    #[test]
    fn a_listing_counts_its_pages_and_keeps_the_last_complete_one() {
        let r = Readiness::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        r.listing_page("org", 20);
        assert!(
            r.listings().is_empty(),
            "a page before a start is not counted"
        );
        r.listing_started("org", t0);
        r.listing_page("org", 20);
        r.listing_page("org", 7);
        let (name, l) = &r.listings()[0];
        assert_eq!(
            (name.as_str(), l.state(), l.pages, l.accounts),
            ("org", "listing", 2, 27)
        );
        r.listing_ended("org", t0 + Duration::from_secs(2), Ok(27));
        let l = &r.listings()[0].1;
        assert_eq!(l.state(), "complete");
        assert_eq!(l.last_complete, Some((t0 + Duration::from_secs(2), 27)));
        // The next listing starts from nothing, fails, and keeps the last complete one.
        r.listing_started("org", t0 + Duration::from_secs(60));
        r.listing_page("org", 20);
        r.listing_ended("org", t0 + Duration::from_secs(61), Err("throttled".into()));
        let l = &r.listings()[0].1;
        assert_eq!((l.state(), l.pages, l.accounts), ("failed", 1, 20));
        assert_eq!(l.error.as_deref(), Some("throttled"));
        assert_eq!(l.last_complete, Some((t0 + Duration::from_secs(2), 27)));
        r.target_removed("org");
        assert!(r.listings().is_empty());
    }
}
