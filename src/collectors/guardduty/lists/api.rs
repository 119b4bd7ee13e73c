//! SDK calls of `guardduty`'s slower lists; with `guardduty::api` and `admin::api`, the only place its
//! SDK types appear.
//!
//! Threat-intel sets and trusted IP sets: ListThreatIntelSets / ListIPSets (every page, ids only),
//! then GetThreatIntelSet / GetIPSet per id for its name and status. Suppression rules: ListFilters
//! (every page, names only), then GetFilter per name for its action and criteria; only the
//! `severity` criterion is kept, as plain numbers and strings for `lists::convert` to judge.
//! Invitations: GetInvitationsCount, and ListInvitations (every page) only when the count is not
//! zero, for the oldest invitation's time: one call where there is none, which is nearly always.

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

use super::super::api::denied;
use crate::aws::{CollectError, RegionClients};

/// Largest page of the four listings (the model's `MaxResults` is 1 to 50).
const PAGE: i32 = 50;

/// A threat-intel set or a trusted IP set.
#[derive(Debug, Clone, PartialEq)]
pub struct ListSet {
    /// The set's id.
    pub id: String,
    /// The name it was given.
    pub name: String,
    /// `ACTIVE`, `ERROR`, ... in AWS's raw spelling.
    pub status: String,
}

/// The conditions of one criterion, as the model has them: the deprecated integer and string
/// forms and their current replacements kept apart, as AWS sends them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    /// `eq` and `equals`: the value is one of these.
    pub equals: Vec<String>,
    /// `neq` and `notEquals`: the value is none of these.
    pub not_equals: Vec<String>,
    /// `gt` and `greaterThan`.
    pub greater_than: Vec<i64>,
    /// `gte` and `greaterThanOrEqual`.
    pub greater_than_or_equal: Vec<i64>,
    /// `lt` and `lessThan`.
    pub less_than: Vec<i64>,
    /// `lte` and `lessThanOrEqual`.
    pub less_than_or_equal: Vec<i64>,
    /// `matches`: wildcard patterns, one of which the value matches.
    pub matches: Vec<String>,
}

/// A suppression rule or saved filter, as GetFilter answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Its name.
    pub name: String,
    /// `ARCHIVE` (a suppression rule), `NOOP` (a saved filter) or a value AWS adds later.
    pub action: String,
    /// Its `severity` criterion, if it has one.
    pub severity: Option<Condition>,
}

/// The account's pending membership invitations in this region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invitations {
    /// GetInvitationsCount: invitations received and not accepted.
    pub count: i64,
    /// The earliest `invitedAt` of ListInvitations, in seconds since the epoch.
    pub oldest: Option<f64>,
}

/// Every threat-intel set of the detector, with its name and status.
pub async fn threat_intel_sets(c: &RegionClients, id: &str) -> Result<Vec<ListSet>, CollectError> {
    let ids = c
        .guardduty(|g| g.list_threat_intel_sets().detector_id(id).max_results(PAGE))
        .all_pages(|out| Ok(out.threat_intel_set_ids().to_vec()))
        .await
        .map_err(denied)?;
    let mut out = Vec::new();
    for set in dedupe(ids) {
        let got = c
            .guardduty(|g| {
                g.get_threat_intel_set()
                    .detector_id(id)
                    .threat_intel_set_id(set.clone())
            })
            .await
            .map_err(denied)?;
        out.push(ListSet {
            name: got.name().unwrap_or_default().to_string(),
            status: got.status().map(|s| s.as_str()).unwrap_or("").to_string(),
            id: set,
        });
    }
    Ok(out)
}

/// Every trusted IP set of the detector, with its name and status.
pub async fn ip_sets(c: &RegionClients, id: &str) -> Result<Vec<ListSet>, CollectError> {
    let ids = c
        .guardduty(|g| g.list_ip_sets().detector_id(id).max_results(PAGE))
        .all_pages(|out| Ok(out.ip_set_ids().to_vec()))
        .await
        .map_err(denied)?;
    let mut out = Vec::new();
    for set in dedupe(ids) {
        let got = c
            .guardduty(|g| g.get_ip_set().detector_id(id).ip_set_id(set.clone()))
            .await
            .map_err(denied)?;
        out.push(ListSet {
            name: got.name().unwrap_or_default().to_string(),
            status: got.status().map(|s| s.as_str()).unwrap_or("").to_string(),
            id: set,
        });
    }
    Ok(out)
}

/// Every filter of the detector, with its action and severity criterion.
pub async fn filters(c: &RegionClients, id: &str) -> Result<Vec<Filter>, CollectError> {
    let names = c
        .guardduty(|g| g.list_filters().detector_id(id).max_results(PAGE))
        .all_pages(|out| Ok(out.filter_names().to_vec()))
        .await
        .map_err(denied)?;
    let mut out = Vec::new();
    for name in dedupe(names) {
        let got = c
            .guardduty(|g| g.get_filter().detector_id(id).filter_name(name.clone()))
            .await
            .map_err(denied)?;
        let severity = got
            .finding_criteria()
            .and_then(|f| f.criterion())
            .and_then(|m| m.get("severity"))
            .map(condition);
        out.push(Filter {
            action: got.action().map(|a| a.as_str()).unwrap_or("").to_string(),
            severity,
            name,
        });
    }
    Ok(out)
}

/// The SDK's condition as plain lists, deprecated and current spellings together.
#[allow(deprecated)]
fn condition(c: &aws_sdk_guardduty::types::Condition) -> Condition {
    let both = |old: Option<i32>, new: Option<i64>| -> Vec<i64> {
        old.map(i64::from).into_iter().chain(new).collect()
    };
    Condition {
        equals: c.eq().iter().chain(c.equals()).cloned().collect(),
        not_equals: c.neq().iter().chain(c.not_equals()).cloned().collect(),
        greater_than: both(c.gt(), c.greater_than()),
        greater_than_or_equal: both(c.gte(), c.greater_than_or_equal()),
        less_than: both(c.lt(), c.less_than()),
        less_than_or_equal: both(c.lte(), c.less_than_or_equal()),
        matches: c.matches().to_vec(),
    }
}

/// The account's pending invitations: GetInvitationsCount, then ListInvitations (every page)
/// only when there are some.
pub async fn invitations(c: &RegionClients) -> Result<Invitations, CollectError> {
    let count = c
        .guardduty(|g| g.get_invitations_count())
        .await
        .map_err(denied)?
        .invitations_count()
        .map(i64::from)
        .unwrap_or(0)
        .max(0);
    if count == 0 {
        return Ok(Invitations::default());
    }
    let times = c
        .guardduty(|g| g.list_invitations().max_results(PAGE))
        .all_pages(|out| {
            Ok(out
                .invitations()
                .iter()
                .filter_map(|i| i.invited_at())
                .filter_map(|t| DateTime::from_str(t, Format::DateTime).ok())
                .map(|t| t.as_secs_f64())
                .collect())
        })
        .await
        .map_err(denied)?;
    Ok(Invitations {
        count,
        oldest: times.into_iter().reduce(f64::min),
    })
}

/// An id or name AWS repeats would become duplicate series: the first one is kept, order kept.
fn dedupe(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for x in list {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn deprecated_and_current_condition_spellings_are_both_kept() {
        let sdk = aws_sdk_guardduty::types::Condition::builder()
            .gte(4)
            .lt(9)
            .greater_than(5)
            .less_than_or_equal(8)
            .eq("7")
            .equals("8")
            .not_equals("9")
            .matches("1*")
            .build();
        let c = condition(&sdk);
        assert_eq!(c.greater_than_or_equal, vec![4]);
        assert_eq!(c.less_than, vec![9]);
        assert_eq!(c.greater_than, vec![5]);
        assert_eq!(c.less_than_or_equal, vec![8]);
        assert_eq!(c.equals, vec!["7".to_string(), "8".to_string()]);
        assert_eq!(c.not_equals, vec!["9".to_string()]);
        assert_eq!(c.matches, vec!["1*".to_string()]);
        assert_eq!(
            dedupe(vec!["a".into(), "b".into(), "a".into()]),
            vec!["a".to_string(), "b".to_string()]
        );
    }
}
