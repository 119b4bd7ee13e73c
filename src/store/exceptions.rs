//! The accepted gaps the configuration lists, resolved to accounts, and their two families:
//! `posture_exporter_exception{exception,account_id,region,signal}` = 1 per covered account
//! (region empty, that is absent to PromQL, for an exception of every region), and
//! `posture_exporter_exception_review_timestamp_seconds{exception}` (its review date).
//!
//! An OU's accounts are what the discovery target's walk of the OU last found
//! ([`Exceptions::with_ou_accounts`]); until a walk answers, an OU exception has no
//! `posture_exporter_exception` series and silences nothing, while its review date is exported
//! at once. The overview asks [`Exceptions::covering`] which exception covers an item, so the
//! page and the alert rules agree on what is excepted.

use std::collections::BTreeMap;

use crate::config::{ExceptionConfig, Signal};
use crate::metrics::{Desc, Family, Kind};

static EXCEPTION: Desc = Desc {
    name: "posture_exporter_exception",
    help: "Accepted gaps from the configuration's exceptions: 1 per account it covers; region empty when it covers every region. Alert rules skip what these cover (unless on (account_id, region)).",
    kind: Kind::Gauge,
    labels: &["exception", "account_id", "region", "signal"],
};

static REVIEW: Desc = Desc {
    name: "posture_exporter_exception_review_timestamp_seconds",
    help: "When each exception is to be reviewed (midnight UTC of its review date), as Unix seconds; PostureExceptionReviewOverdue fires from then on.",
    kind: Kind::Gauge,
    labels: &["exception"],
};

/// The exceptions in force, with the accounts known under their OUs.
#[derive(Debug, Default, Clone)]
pub struct Exceptions {
    /// As configured.
    pub list: Vec<ExceptionConfig>,
    /// Per OU id, the accounts under it (at every level) as last walked.
    ou_accounts: BTreeMap<String, Vec<String>>,
}

impl Exceptions {
    /// The configured list, keeping what is known of the OUs it still names.
    pub fn with_list(&self, list: Vec<ExceptionConfig>) -> Exceptions {
        let mut ou_accounts = self.ou_accounts.clone();
        ou_accounts.retain(|ou, _| list.iter().any(|e| e.ou.as_deref() == Some(ou.as_str())));
        Exceptions { list, ou_accounts }
    }

    /// The same list with `accounts` found under `ou`.
    pub fn with_ou_accounts(&self, ou: &str, mut accounts: Vec<String>) -> Exceptions {
        accounts.sort();
        accounts.dedup();
        let mut next = self.clone();
        next.ou_accounts.insert(ou.to_string(), accounts);
        next
    }

    /// The OUs the exceptions name, to be walked by discovery.
    pub fn ous(&self) -> Vec<String> {
        let mut ous: Vec<String> = self.list.iter().filter_map(|e| e.ou.clone()).collect();
        ous.sort();
        ous.dedup();
        ous
    }

    /// The accounts `e` covers: its own, or those known under its OU.
    pub fn accounts_of<'a>(&'a self, e: &'a ExceptionConfig) -> Vec<&'a str> {
        match (&e.account_id, &e.ou) {
            (Some(a), _) => vec![a.as_str()],
            (None, Some(ou)) => self
                .ou_accounts
                .get(ou)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default(),
            (None, None) => Vec::new(),
        }
    }

    /// The first exception that covers `signal` in `account_id` and `region` (an exception of
    /// every region covers every region, and items without a region).
    pub fn covering(
        &self,
        signal: Signal,
        account_id: &str,
        region: &str,
    ) -> Option<&ExceptionConfig> {
        self.list.iter().find(|e| {
            e.signal() == Some(signal)
                && e.region.as_deref().is_none_or(|r| r == region)
                && self.accounts_of(e).contains(&account_id)
        })
    }

    /// The two families (see the module's documentation).
    pub fn families(&self) -> (Family, Family) {
        let mut exception = Family::new(&EXCEPTION);
        let mut review = Family::new(&REVIEW);
        for e in &self.list {
            let signal = e.signal().map(Signal::as_str).unwrap_or(&e.signal);
            let region = e.region.as_deref().unwrap_or("");
            for a in self.accounts_of(e) {
                exception.push(&[&e.name, a, region, signal], 1.0);
            }
            if let Some(t) = e.review_epoch() {
                review.push(&[&e.name], t as f64);
            }
        }
        (exception, review)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exception(
        name: &str,
        account: Option<&str>,
        ou: Option<&str>,
        region: Option<&str>,
    ) -> ExceptionConfig {
        ExceptionConfig {
            name: name.into(),
            account_id: account.map(Into::into),
            ou: ou.map(Into::into),
            region: region.map(Into::into),
            signal: "guardduty".into(),
            owner: "o".into(),
            reason: "r".into(),
            review: "2027-01-01".into(),
        }
    }

    #[test]
    fn accounts_and_known_ou_members_are_exported_and_covered() {
        let x = Exceptions::default().with_list(vec![
            exception("one", Some("111111111111"), None, Some("eu-west-1")),
            exception("lab", None, Some("ou-ab12-cdef3456"), None),
        ]);
        let (e, r) = x.families();
        assert_eq!(
            e.text(),
            "posture_exporter_exception{exception=\"one\",account_id=\"111111111111\",region=\"eu-west-1\",signal=\"guardduty\"} 1\n"
        );
        // The OU's review date is known before its accounts are.
        assert_eq!(r.len(), 2);
        assert_eq!(
            x.covering(Signal::Guardduty, "111111111111", "eu-west-1")
                .map(|e| e.name.as_str()),
            Some("one")
        );
        assert!(x
            .covering(Signal::Guardduty, "111111111111", "us-east-1")
            .is_none());
        assert!(x
            .covering(Signal::GuarddutyFindings, "111111111111", "eu-west-1")
            .is_none());

        let x = x.with_ou_accounts(
            "ou-ab12-cdef3456",
            vec!["333333333333".into(), "222222222222".into()],
        );
        let (e, _) = x.families();
        assert_eq!(e.len(), 3);
        assert!(e
            .text()
            .contains("exception=\"lab\",account_id=\"222222222222\",region=\"\""));
        // Every region, and an item without one.
        assert!(x
            .covering(Signal::Guardduty, "333333333333", "ap-south-1")
            .is_some());
        assert!(x.covering(Signal::Guardduty, "333333333333", "").is_some());
        // A new list that drops the OU forgets its accounts.
        let y = x.with_list(vec![exception("one", Some("111111111111"), None, None)]);
        assert!(y.ous().is_empty());
        assert_eq!(y.families().0.len(), 1);
    }
}
