//! The organization's ACTIVE accounts, listed once and shared by everything in the process that
//! needs them from one account: discovery, and GuardDuty's administrator-mode jobs (one per
//! region, each of which would otherwise list the whole organization itself).
//!
//! Organizations answers ListAccounts 20 accounts a page and its rate is low (2 calls a second
//! by default here): at 10,000 accounts one listing takes about 250 s. Four region jobs and a
//! discovery listing the same organization from one account were five such listings in one
//! bucket, over 20 minutes before the last job's first run could end.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::error::CollectError;

/// One listing: when it was made and the ACTIVE account ids it found.
#[derive(Clone, Debug)]
pub struct Listing {
    /// When the listing ended.
    pub at: Instant,
    /// ACTIVE account ids, in the order AWS listed them.
    pub active: Arc<Vec<String>>,
}

/// Listings by the account they were made from. One listing runs at a time per account:
/// whoever comes while it runs waits for it and takes its result.
#[derive(Default)]
pub struct OrgListings {
    by_caller: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Listing>>>>>,
}

impl OrgListings {
    fn slot(&self, caller: &str) -> Arc<tokio::sync::Mutex<Option<Listing>>> {
        self.by_caller
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(caller.to_string())
            .or_default()
            .clone()
    }

    /// Keeps a listing just made from `caller` (discovery's).
    pub async fn put(&self, caller: &str, active: Vec<String>) {
        let slot = self.slot(caller);
        *slot.lock().await = Some(Listing {
            at: Instant::now(),
            active: Arc::new(active),
        });
    }

    /// The listing from `caller` if one is at most `max_age` old, else the one `list` makes now
    /// (kept for the next caller). A failed listing keeps the previous one for others.
    pub async fn get_or_list<F, Fut>(
        &self,
        caller: &str,
        max_age: Duration,
        list: F,
    ) -> Result<Listing, CollectError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<String>, CollectError>>,
    {
        let slot = self.slot(caller);
        let mut held = slot.lock().await;
        if let Some(l) = held.as_ref().filter(|l| l.at.elapsed() < max_age) {
            return Ok(l.clone());
        }
        let active = list().await?;
        let l = Listing {
            at: Instant::now(),
            active: Arc::new(active),
        };
        *held = Some(l.clone());
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::error::ErrorKind;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{:012}", i)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_askers_share_one_listing_until_it_is_too_old() {
        let l = Arc::new(OrgListings::default());
        let listed = Arc::new(AtomicUsize::new(0));
        let ask = |l: Arc<OrgListings>, listed: Arc<AtomicUsize>| async move {
            l.get_or_list("111111111111", Duration::from_secs(3600), || async {
                listed.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok(ids(3))
            })
            .await
        };
        let four: Vec<_> = (0..4)
            .map(|_| tokio::spawn(ask(l.clone(), listed.clone())))
            .collect();
        for t in four {
            assert_eq!(t.await.unwrap().unwrap().active.len(), 3);
        }
        assert_eq!(listed.load(Ordering::SeqCst), 1, "four askers, one listing");
        // Another account's listing is its own.
        l.get_or_list("222222222222", Duration::from_secs(3600), || async {
            listed.fetch_add(1, Ordering::SeqCst);
            Ok(ids(1))
        })
        .await
        .unwrap();
        assert_eq!(listed.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(3601)).await;
        ask(l.clone(), listed.clone()).await.unwrap();
        assert_eq!(
            listed.load(Ordering::SeqCst),
            3,
            "listed again once too old"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_put_listing_is_used_and_a_failed_listing_keeps_the_last_one() {
        let l = OrgListings::default();
        l.put("111111111111", ids(5)).await;
        let got = l
            .get_or_list("111111111111", Duration::from_secs(60), || async {
                Err(CollectError::new(
                    "ListAccounts",
                    "",
                    "",
                    ErrorKind::Throttled,
                    "x",
                ))
            })
            .await
            .unwrap();
        assert_eq!(got.active.len(), 5, "discovery's listing is reused");
        tokio::time::advance(Duration::from_secs(61)).await;
        let e = l
            .get_or_list("111111111111", Duration::from_secs(60), || async {
                Err(CollectError::new(
                    "ListAccounts",
                    "",
                    "",
                    ErrorKind::Throttled,
                    "x",
                ))
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Throttled);
        let got = l
            .get_or_list("111111111111", Duration::from_secs(3600), || async {
                Ok(ids(1))
            })
            .await
            .unwrap();
        assert_eq!(
            got.active.len(),
            5,
            "the failure did not erase the last listing"
        );
    }
}
