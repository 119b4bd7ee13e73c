//! What Security Hub holds in every account and region of a [`World`], in both generations
//! (Security Hub CSPM's ASFF findings and Security Hub's OCSF view of the same findings): where
//! it is enabled, the standards subscribed, the control results and other products' findings,
//! the delegated administrator and its members, the central configuration's associations and
//! the finding aggregator; and what the handlers share (errors, paging).
//!
//! Everything is a pure function of the seed and of the account's and region's indexes,
//! computed on each call. Findings are kept as [`Group`]s: findings that agree on every
//! attribute the simulator filters and groups by, with a count. Statistics add counts; a
//! GetFindings page expands only the groups it shows. An account holds about 60 control results
//! and 70 findings of other products per region, so 1,000 accounts cost nothing to hold.
//!
//! The shape of the organization (see [`hub_enabled`], [`subscriptions`], [`groups`],
//! [`member_status`], [`associations`]):
//! - the delegated administrator is the member with index `admin_index` (1 by default,
//!   `member-00001`); it has Security Hub on everywhere, all findings of the organization go to
//!   it, and the finding aggregator in the first region (the home region) links all regions;
//! - Security Hub is off in (account, region) when `(index * regions + region) % 11 == 4`
//!   (never in the administrator or the management account);
//! - the administrator runs FSBP and CIS, READY in the home region, CIS INCOMPLETE
//!   (`NO_AVAILABLE_CONFIGURATION_RECORDER`) in every other region;
//! - other accounts' standards by `(index + region) % 8`: 3 none at all (enabled without
//!   standards); 5 CIS INCOMPLETE (`NO_AVAILABLE_CONFIGURATION_RECORDER`); 6 PCI DSS FAILED
//!   (`INTERNAL_ERROR`); 7 NIST PENDING; 2 PCI DSS DELETING; 1 and 4 NIST READY; FSBP and CIS
//!   READY otherwise;
//! - control results: `IAM.6` fails in every account whose index is not a multiple of 4
//!   (suppressed where the index is 5 mod 8), other results fail with probability 1%, warn
//!   0.5%, are not available 0.3% (about 2% of an account's ~60 results fail); a passed
//!   result is RESOLVED, as the model says;
//! - findings of GuardDuty, Inspector, Config and Macie at every severity, some NOTIFIED, some
//!   SUPPRESSED, and RESOLVED ones ARCHIVED.

use http::StatusCode;
use serde_json::json;

use crate::call::Call;
use crate::draw::{hash, EPOCH};
use crate::guardduty_accounts::find_account;
use crate::wire::{parse_token, AwsError};
use crate::world::securityhub::{
    Product, CONTROLS, CONTROL_PRODUCT, PRODUCTS, SEVERITY_LABELS, STANDARDS, WIDESPREAD,
};
use crate::world::{Account, World};

/// An error of Security Hub's model: restJson with the error's `Code` member too.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> AwsError {
    AwsError::status(status, code, message).with("Code", json!(code))
}

/// InvalidInputException: "The request was rejected because you supplied an invalid or
/// out-of-range value for an input parameter." (HTTP 400 in the model).
pub fn invalid_input(message: impl Into<String>) -> AwsError {
    error(StatusCode::BAD_REQUEST, "InvalidInputException", message)
}

/// InvalidAccessException: "The account doesn't have permission to perform this action."
/// (HTTP 401 in the model).
pub fn invalid_access(message: impl Into<String>) -> AwsError {
    error(StatusCode::UNAUTHORIZED, "InvalidAccessException", message)
}

/// AccessDeniedException (HTTP 403 in the model).
pub fn access_denied(message: impl Into<String>) -> AwsError {
    error(StatusCode::FORBIDDEN, "AccessDeniedException", message)
}

/// ValidationException, the new generation's error for bad input (HTTP 400 in the model).
pub fn validation(message: impl Into<String>) -> AwsError {
    error(StatusCode::BAD_REQUEST, "ValidationException", message)
}

/// ResourceNotFoundException (HTTP 404 in the model).
pub fn not_found(message: impl Into<String>) -> AwsError {
    error(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
}

/// The error of an account without Security Hub CSPM in the region.
pub fn not_subscribed(account: &str) -> AwsError {
    invalid_access(format!(
        "Account {account} is not subscribed to AWS Security Hub"
    ))
}

/// The delegated administrator (of both generations).
pub fn administrator(w: &World) -> Option<&Account> {
    let i = w.opts.securityhub.admin_index;
    w.accounts
        .get(i)
        .filter(|a| a.index == i)
        .or_else(|| w.accounts.iter().find(|a| a.index == i))
}

/// Whether `account` is the delegated administrator.
pub fn is_administrator(w: &World, account: &str) -> bool {
    administrator(w).is_some_and(|a| a.id == account)
}

/// The home region: the finding aggregator's, the first region served.
pub fn home_region(w: &World) -> &str {
    w.opts.regions.first().map_or("us-east-1", String::as_str)
}

/// Whether Security Hub (CSPM, and the OCSF generation with it) is on in (account, region).
pub fn hub_enabled(w: &World, a: &Account, region: &str) -> bool {
    if let Some(o) = w.securityhub.hub.get(&(a.id.clone(), region.to_string())) {
        return *o;
    }
    let Some(r) = w.region_index(region) else {
        return false;
    };
    a.index == 0
        || is_administrator(w, &a.id)
        || (a.index * w.opts.regions.len().max(1) + r) % 11 != 4
}

/// A standards subscription.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Subscription {
    /// Index into [`STANDARDS`].
    pub standard: usize,
    /// PENDING, READY, FAILED, DELETING or INCOMPLETE.
    pub status: &'static str,
    /// The `StatusReasonCode` of a FAILED or INCOMPLETE subscription.
    pub reason: Option<&'static str>,
}

/// The standards subscribed in (account, region); none where Security Hub is off.
pub fn subscriptions(w: &World, a: &Account, region: &str) -> Vec<Subscription> {
    if !hub_enabled(w, a, region) {
        return Vec::new();
    }
    let r = w.region_index(region).unwrap_or(0);
    // The administrator: FSBP and CIS READY in the home region, CIS INCOMPLETE elsewhere (its
    // own subscription's status is what the exporter reads of standards).
    let q = if is_administrator(w, &a.id) {
        if region == home_region(w) {
            0
        } else {
            5
        }
    } else {
        (a.index + r) % 8
    };
    let sub = |standard, status, reason| Subscription {
        standard,
        status,
        reason,
    };
    let mut out = match q {
        3 => return Vec::new(),
        5 => vec![
            sub(0, "READY", None),
            sub(1, "INCOMPLETE", Some("NO_AVAILABLE_CONFIGURATION_RECORDER")),
        ],
        _ => vec![sub(0, "READY", None), sub(1, "READY", None)],
    };
    match q {
        6 => out.push(sub(2, "FAILED", Some("INTERNAL_ERROR"))),
        2 => out.push(sub(2, "DELETING", None)),
        7 => out.push(sub(3, "PENDING", None)),
        1 | 4 => out.push(sub(3, "READY", None)),
        _ => {}
    }
    out
}

/// Findings that agree on every attribute the simulator filters and groups by.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The product that sent them.
    pub product: &'static Product,
    /// Index into [`SEVERITY_LABELS`].
    pub severity: usize,
    /// ASFF workflow status: NEW, NOTIFIED, SUPPRESSED or RESOLVED.
    pub workflow: &'static str,
    /// ACTIVE or ARCHIVED.
    pub record_state: &'static str,
    /// Index into [`CONTROLS`] of a control result.
    pub control: Option<usize>,
    /// ASFF compliance status of a control result.
    pub compliance: Option<&'static str>,
    /// Bit `i`: standard `i` of [`STANDARDS`] is associated (control results).
    pub standards: u8,
    /// Title.
    pub title: &'static str,
    /// Resource type.
    pub resource_type: &'static str,
    /// Unix seconds the findings were created.
    pub created: f64,
    /// How many findings.
    pub count: u32,
}

impl Group {
    /// The associated standards' ids.
    pub fn standard_ids(&self) -> Vec<&'static str> {
        STANDARDS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.standards & (1 << i) != 0)
            .map(|(_, s)| s.id)
            .collect()
    }
}

/// Whether a control's result counts in (account, region): a standard that includes it is
/// subscribed and not being disabled.
fn standards_mask(subs: &[Subscription]) -> u8 {
    subs.iter()
        .filter(|s| s.status != "DELETING")
        .fold(0, |m, s| m | 1 << s.standard)
}

/// The finding groups of (account, region); none where Security Hub is off.
pub fn groups(w: &World, a: &Account, region: &str) -> Vec<Group> {
    let subs = subscriptions(w, a, region);
    if !hub_enabled(w, a, region) {
        return Vec::new();
    }
    let seed = w.opts.seed;
    let h = |tag: &str| hash(&format!("{seed}|{}|{region}|securityhub|{tag}", a.id));
    let mut out: Vec<Group> = Vec::new();
    let mask = standards_mask(&subs);
    for (ci, c) in CONTROLS.iter().enumerate() {
        let own = c.standards.iter().fold(0u8, |m, s| m | 1 << s) & mask;
        if own == 0 {
            continue;
        }
        let account_level = c.resource_type == "AwsAccount";
        let n = if account_level { 1 } else { 1 + h(c.id) % 8 };
        let created = EPOCH - 86_400.0 * (1 + h(&format!("{}|created", c.id)) % 90) as f64;
        for k in 0..n {
            let roll = h(&format!("{}|{k}", c.id));
            let (status, workflow) = if c.id == WIDESPREAD {
                match (a.index % 4 != 0, a.index % 8 == 5) {
                    (false, _) => ("PASSED", "RESOLVED"),
                    (true, true) => ("FAILED", "SUPPRESSED"),
                    (true, false) => ("FAILED", "NEW"),
                }
            } else {
                let status = match roll % 1000 {
                    0..=9 => "FAILED",
                    10..=14 => "WARNING",
                    15..=17 => "NOT_AVAILABLE",
                    _ => "PASSED",
                };
                // "For findings from controls, if Compliance.Status is PASSED, then Security
                // Hub CSPM automatically sets the workflow status to RESOLVED." (the model's
                // `AwsSecurityFindingFilters.WorkflowStatus`)
                let workflow = match (status, (roll >> 20) % 10) {
                    ("PASSED", _) => "RESOLVED",
                    (_, 0) => "SUPPRESSED",
                    (_, 1) => "NOTIFIED",
                    _ => "NEW",
                };
                (status, workflow)
            };
            let sev = SEVERITY_LABELS
                .iter()
                .position(|s| *s == c.severity)
                .unwrap_or(0);
            match out.iter_mut().find(|g| {
                g.control == Some(ci) && g.compliance == Some(status) && g.workflow == workflow
            }) {
                Some(g) => g.count += 1,
                None => out.push(Group {
                    product: &CONTROL_PRODUCT,
                    severity: sev,
                    workflow,
                    record_state: "ACTIVE",
                    control: Some(ci),
                    compliance: Some(status),
                    standards: own,
                    title: c.title,
                    resource_type: c.resource_type,
                    created,
                    count: 1,
                }),
            }
        }
    }
    let r = w.region_index(region).unwrap_or(0);
    for (pi, p) in PRODUCTS.iter().enumerate() {
        // Macie is on in two accounts of three.
        if pi == 3 && (a.index + r) % 3 == 2 {
            continue;
        }
        for sev in 0..SEVERITY_LABELS.len() {
            let roll = h(&format!("{}|{sev}", p.name));
            let created = EPOCH - 86_400.0 * (1 + (roll >> 40) % 60) as f64;
            let new = if sev == 4 { roll % 2 } else { roll % 4 };
            let kinds = [
                ("NEW", "ACTIVE", new),
                ("NOTIFIED", "ACTIVE", (roll >> 8) % 2 * u64::from(sev >= 2)),
                ("SUPPRESSED", "ACTIVE", (roll >> 16) % 2),
                ("RESOLVED", "ARCHIVED", (roll >> 24) % 3),
            ];
            for (workflow, record_state, count) in kinds {
                if count == 0 {
                    continue;
                }
                out.push(Group {
                    product: p,
                    severity: sev,
                    workflow,
                    record_state,
                    control: None,
                    compliance: None,
                    standards: 0,
                    title: p.titles[sev],
                    resource_type: p.resource_type,
                    created,
                    count: count as u32,
                });
            }
        }
    }
    out
}

/// The relationship of a member with the administrator. The model's `Member.MemberStatus`:
/// "Created ... Invited ... Enabled ... Removed ... Resigned ... Deleted ... AccountSuspended".
/// Members 4, 8, 12, 16, 20 and 22 show the statuses other than Enabled; beyond 24, one member
/// in twenty is not Enabled.
pub fn member_status(w: &World, a: &Account) -> &'static str {
    const OTHERS: [&str; 6] = [
        "Created",
        "Invited",
        "Removed",
        "Resigned",
        "Deleted",
        "AccountSuspended",
    ];
    match a.index {
        4 => "Created",
        8 => "Invited",
        12 => "Removed",
        16 => "Resigned",
        20 => "Deleted",
        22 => "AccountSuspended",
        i if i <= 24 => "Enabled",
        _ => {
            let h = hash(&format!("{}|{}|securityhub|member", w.opts.seed, a.id));
            if h % 20 == 0 {
                OTHERS[(h >> 8) as usize % OTHERS.len()]
            } else {
                "Enabled"
            }
        }
    }
}

/// The members of `account` with their status: every other account of the organization when
/// it is the administrator, none otherwise.
pub fn members<'a>(
    w: &'a World,
    account: &str,
) -> impl Iterator<Item = (&'a Account, &'static str)> + 'a {
    let admin = is_administrator(w, account);
    let me = account.to_string();
    w.accounts
        .iter()
        .filter(move |a| admin && a.id != me)
        .map(move |a| (a, member_status(w, a)))
}

/// The (account, region) pairs whose findings `account` sees through GetFindings in `region`:
/// its own and, on the administrator, its Enabled members'; in the home region the
/// administrator's aggregator adds every region ("If cross-Region aggregation is enabled, then
/// when you call GetFindings from the home Region, the results include all of the matching
/// findings from both the home Region and linked Regions.").
pub fn cspm_sources<'a>(w: &'a World, account: &str, region: &str) -> Vec<(&'a Account, String)> {
    let Some(me) = find_account(w, account) else {
        return Vec::new();
    };
    let admin = is_administrator(w, account);
    let regions: Vec<String> = if admin && region == home_region(w) {
        w.opts.regions.clone()
    } else {
        vec![region.to_string()]
    };
    let mut accounts = vec![me];
    if admin {
        accounts.extend(
            w.accounts
                .iter()
                .filter(|a| a.id != me.id && member_status(w, a) == "Enabled"),
        );
    }
    let mut out = Vec::new();
    for a in accounts {
        for r in &regions {
            out.push((a, r.clone()));
        }
    }
    out
}

/// The OU ids an account sits under, its own OU first, up to the root (left out).
pub fn ou_chain(w: &World, a: &Account) -> Vec<String> {
    let ous = w.ous();
    let root = w.root_id();
    let mut out = Vec::new();
    let mut parent = w.parent_of(a);
    while parent != root && out.len() <= ous.len() {
        out.push(parent.clone());
        match ous.iter().find(|(id, _, _)| *id == parent) {
            Some((_, _, p)) => parent = p.clone(),
            None => break,
        }
    }
    out
}

/// A configuration policy association.
#[derive(Clone, Debug, PartialEq)]
pub struct Association {
    /// Account, OU or root id.
    pub target_id: String,
    /// ACCOUNT, ORGANIZATIONAL_UNIT or ROOT.
    pub target_type: &'static str,
    /// The policy's UUID.
    pub policy_id: String,
    /// APPLIED or INHERITED.
    pub association_type: &'static str,
    /// PENDING, SUCCESS or FAILED.
    pub status: &'static str,
    /// The explanation of a FAILED association.
    pub message: Option<String>,
    /// Unix seconds.
    pub updated: f64,
}

/// A UUID-shaped id drawn from `key`.
pub fn uuid(key: &str) -> String {
    let (a, b) = (hash(key), hash(&format!("{key}|2")));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// The id of configuration policy `n` (0: the organization's, 1: the Security OU's).
pub fn policy_id(w: &World, n: usize) -> String {
    uuid(&format!("{}|securityhub|policy|{n}", w.opts.seed))
}

/// The member whose association failed: member 3 (none in a smaller organization).
pub fn failed_association_account(w: &World) -> Option<&Account> {
    w.accounts.iter().find(|a| a.index == 3)
}

/// The central configuration's associations: the root APPLIED policy 0, the first OU APPLIED
/// policy 1, every other OU and every member INHERITED from its parent; the association of
/// member 3 FAILED, of every member whose index is 6 mod 10 PENDING.
pub fn associations(w: &World) -> Vec<Association> {
    let updated = |k: &str| EPOCH - (hash(&format!("{}|{k}", w.opts.seed)) % 86_400) as f64;
    let first_ou = w.ou(0).0;
    let mut out = vec![Association {
        target_id: w.root_id(),
        target_type: "ROOT",
        policy_id: policy_id(w, 0),
        association_type: "APPLIED",
        status: "SUCCESS",
        message: None,
        updated: updated("root"),
    }];
    for (i, (id, _, _)) in w.ous().into_iter().enumerate() {
        let chain_has_first = i == 0 || {
            let mut p = w.ou(i).2;
            let mut found = false;
            for _ in 0..w.ou_count() {
                if p == first_ou {
                    found = true;
                    break;
                }
                match w.ous().into_iter().find(|(x, _, _)| *x == p) {
                    Some((_, _, pp)) => p = pp,
                    None => break,
                }
            }
            found
        };
        out.push(Association {
            policy_id: policy_id(w, usize::from(chain_has_first)),
            association_type: if i == 0 { "APPLIED" } else { "INHERITED" },
            status: "SUCCESS",
            message: None,
            updated: updated(&id),
            target_id: id,
            target_type: "ORGANIZATIONAL_UNIT",
        });
    }
    let failed = failed_association_account(w).map(|a| a.id.clone());
    for a in w.accounts.iter().filter(|a| a.index != 0) {
        let under_first = ou_chain(w, a).contains(&first_ou);
        let (status, message) = if Some(&a.id) == failed.as_ref() {
            (
                "FAILED",
                Some(format!(
                    "Policy association failed because Security Hub CSPM could not be enabled in account {}: AWS Config is not recording in {}.",
                    a.id,
                    home_region(w)
                )),
            )
        } else if a.index % 10 == 6 {
            ("PENDING", None)
        } else {
            ("SUCCESS", None)
        };
        out.push(Association {
            target_id: a.id.clone(),
            target_type: "ACCOUNT",
            policy_id: policy_id(w, usize::from(under_first)),
            association_type: "INHERITED",
            status,
            message,
            updated: updated(&a.id),
        });
    }
    out
}

/// The ARN of the administrator's finding aggregator (in the home region).
pub fn aggregator_arn(w: &World) -> Option<String> {
    let admin = administrator(w)?;
    Some(format!(
        "arn:aws:securityhub:{}:{}:finding-aggregator/{}",
        home_region(w),
        admin.id,
        uuid(&format!("{}|securityhub|aggregator", w.opts.seed))
    ))
}

/// `MaxResults` (the model's range is checked before; larger than `page` is cut to `page`)
/// from the query string or the body, and the offset of `NextToken`; an unknown token is
/// InvalidInputException (or ValidationException for the new generation's operations).
pub fn page_args(call: &Call, scope: &str, page: usize) -> Result<(usize, usize), AwsError> {
    let max = call
        .json
        .get("MaxResults")
        .and_then(serde_json::Value::as_u64)
        .map(|n| n as usize)
        .or_else(|| call.param("MaxResults").and_then(|v| v.parse().ok()))
        .unwrap_or(page);
    let limit = max.clamp(1, page.max(1));
    let token = call
        .json
        .get("NextToken")
        .and_then(serde_json::Value::as_str)
        .or_else(|| call.param("NextToken"));
    let offset = match token {
        None | Some("") => 0,
        Some(t) => parse_token(scope, t).ok_or_else(|| {
            invalid_input("The request was rejected because the NextToken is invalid or expired.")
        })?,
    };
    Ok((limit, offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldOptions;
    use std::collections::BTreeSet;

    fn world() -> World {
        World::new(WorldOptions {
            seed: 11,
            members: 24,
            ..WorldOptions::default()
        })
    }

    #[test]
    fn generation_is_a_pure_function_of_the_seed() {
        let (a, b) = (world(), world());
        let c = World::new(WorldOptions {
            seed: 12,
            members: 24,
            ..WorldOptions::default()
        });
        for i in 0..a.accounts.len() {
            for r in &a.opts.regions {
                assert_eq!(groups(&a, &a.accounts[i], r), groups(&b, &b.accounts[i], r));
                assert_eq!(
                    subscriptions(&a, &a.accounts[i], r),
                    subscriptions(&b, &b.accounts[i], r)
                );
            }
        }
        assert_eq!(associations(&a), associations(&b));
        let total = |w: &World| -> Vec<u32> {
            w.accounts
                .iter()
                .map(|x| groups(w, x, "us-east-1").iter().map(|g| g.count).sum())
                .collect()
        };
        assert_ne!(total(&a), total(&c));
    }

    #[test]
    fn the_small_organization_shows_every_case() {
        let w = world();
        let admin = administrator(&w).unwrap();
        assert_eq!(admin.index, 1);
        let mut statuses = BTreeSet::new();
        let mut reasons = BTreeSet::new();
        let (mut off, mut bare) = (0, 0);
        let mut failed = 0u32;
        let mut results = 0u32;
        let mut products = BTreeSet::new();
        let mut workflows = BTreeSet::new();
        for a in &w.accounts {
            for r in &w.opts.regions {
                if !hub_enabled(&w, a, r) {
                    off += 1;
                    assert!(groups(&w, a, r).is_empty());
                    continue;
                }
                let subs = subscriptions(&w, a, r);
                bare += usize::from(subs.is_empty());
                for s in subs {
                    statuses.insert(s.status);
                    reasons.extend(s.reason);
                }
                for g in groups(&w, a, r) {
                    products.insert(g.product.name);
                    workflows.insert(g.workflow);
                    if g.control.is_some() {
                        results += g.count;
                        failed += g.count * u32::from(g.compliance == Some("FAILED"));
                    }
                }
            }
        }
        assert!(off >= 2 && bare >= 2, "{off} {bare}");
        for s in ["READY", "INCOMPLETE", "FAILED", "PENDING", "DELETING"] {
            assert!(statuses.contains(s), "{s} missing from {statuses:?}");
        }
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert_eq!(products.len(), 5, "{products:?}");
        assert_eq!(workflows.len(), 4, "{workflows:?}");
        let rate = f64::from(failed) / f64::from(results);
        assert!((0.01..0.06).contains(&rate), "{failed} of {results}");
        let member_statuses: BTreeSet<&str> = members(&w, &admin.id).map(|(_, s)| s).collect();
        assert_eq!(member_statuses.len(), 7, "{member_statuses:?}");
        assert_eq!(members(&w, &w.management().id).count(), 0);
        let assoc = associations(&w);
        assert_eq!(assoc.iter().filter(|x| x.status == "FAILED").count(), 1);
        assert!(assoc.iter().any(|x| x.status == "PENDING"));
        assert_eq!(assoc.len(), 1 + w.ou_count() + 24);
    }

    #[test]
    fn a_thousand_accounts_are_cheap() {
        let w = World::new(WorldOptions {
            members: 1_000,
            ..WorldOptions::default()
        });
        let start = std::time::Instant::now();
        let n: u64 = w
            .accounts
            .iter()
            .map(|a| groups(&w, a, "us-east-1").len() as u64)
            .sum();
        assert!(n > 10_000);
        assert!(start.elapsed().as_secs() < 10);
        let ids: BTreeSet<String> = (0..50).map(|i| uuid(&i.to_string())).collect();
        assert_eq!(ids.len(), 50);
        assert!(ids.iter().all(|u| u.len() == 36));
    }
}
