//! What GuardDuty holds in every account and region of a [`World`]: detectors, findings,
//! members and the administrator; and what the handlers of GuardDuty's operations share (the
//! detector a call names, `maxResults` and `nextToken`, BadRequestException):
//! [`guardduty`](crate::guardduty), [`guardduty_org`](crate::guardduty_org) and
//! [`guardduty_lists`](crate::guardduty_lists).
//!
//! What an account holds is a pure function of the seed, the account's index and the region's
//! index, computed on each call, so an organization of thousands of accounts costs nothing to
//! build and a test can compute what the exporter must show with the same public functions
//! ([`detectors`], [`severity_counts`], [`account_counts`], [`members`], [`administrator`]).
//! The pattern cycles so that the small demo organization (the management account and five
//! members in two regions) shows every case: GuardDuty off, a disabled detector, a detector
//! without findings, findings at every severity including fractional values, and the management
//! account as the administrator in the first region with members in every relationship state.
//! Tests change things through the overrides of [`State`](crate::world::guardduty::State).

use crate::call::Call;
use crate::draw::hash;
use crate::wire::{parse_token, AwsError};
use crate::world::guardduty::Detector;
use crate::world::{Account, World};

/// A member account in an administrator's list.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The member's account id.
    pub account_id: String,
    /// Its root email.
    pub email: String,
    /// The relationship status, in AWS's spelling (or anything a test sets).
    pub relationship_status: String,
    /// The member's own detector in that region, if it has one.
    pub detector_id: Option<String>,
}

/// The relationship statuses AWS documents, in the order the first ten members cycle through.
const STATUS_CYCLE: [&str; 10] = [
    "Enabled",
    "Invited",
    "Enabled",
    "Disabled",
    "Resigned",
    "Enabled",
    "Created",
    "Removed",
    "EmailVerificationFailed",
    "EmailVerificationInProgress",
];

/// Severities the generated findings draw from: every bucket, its edges and fractional values.
const PALETTE: [f64; 15] = [
    1.0, 2.0, 3.5, 3.9, 4.0, 5.0, 5.5, 6.9, 7.0, 8.0, 8.5, 8.9, 9.0, 9.5, 10.0,
];

/// Ages the generated findings draw from, in seconds (2 hours, 3, 10 and 45 days): either side
/// of the remediation ages an alert compares them with (a day for high, a week for medium, 30
/// days for low), and far enough from them that a test's clock and the exporter's agree.
pub const FINDING_AGES: [f64; 4] = [7_200.0, 3.0 * 86_400.0, 10.0 * 86_400.0, 45.0 * 86_400.0];

/// When the current findings of `account` with severity value `severity` in `region` were
/// created, in seconds since the epoch: the wall clock's now minus an age drawn from
/// [`FINDING_AGES`] per (account, region, severity), or the age a test set with
/// [`State::set_finding_age`](crate::world::guardduty::State::set_finding_age). All findings
/// of one severity value in one account share it. Relative to the wall clock when the world was
/// made, not to the simulator's fixed epoch, because the exporter compares it with its own
/// clock: a finding two hours old is not past a day's remediation age, whenever the test runs;
/// and it holds still between calls, as a finding's `createdAt` does.
pub fn finding_created(w: &World, account: &str, region: &str, severity: f64) -> f64 {
    let age = match w
        .guardduty
        .finding_ages
        .get(&(account.to_string(), region.to_string()))
    {
        Some(a) => *a,
        None => {
            let h = hash(&format!(
                "{}|{account}|{region}|{}|created",
                w.opts.seed,
                severity.to_bits()
            ));
            FINDING_AGES[(h % FINDING_AGES.len() as u64) as usize]
        }
    };
    w.guardduty.clock - age
}

/// Relationship statuses with which a member sees its administrator in GetAdministratorAccount:
/// not before it accepted an invitation, not after it resigned.
fn member_sees_administrator(status: &str) -> bool {
    !matches!(
        status,
        "Created"
            | "Invited"
            | "EmailVerificationInProgress"
            | "EmailVerificationFailed"
            | "Resigned"
    )
}

/// The account with id `id`. Generated ids are `management + index * 7919`, so the position
/// is computed and checked rather than searched for: every call looks its caller up, and a
/// linear search would make a cycle over thousands of accounts quadratic. Accounts added or
/// removed by a test shift positions; those fall back to the search.
pub(crate) fn find_account<'a>(w: &'a World, id: &str) -> Option<&'a Account> {
    let base: u64 = w.management().id.parse().ok()?;
    let guess = id
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_sub(base))
        .filter(|d| d % 7_919 == 0)
        .and_then(|d| usize::try_from(d / 7_919).ok())
        .and_then(|i| w.accounts.get(i))
        .filter(|a| a.id == id);
    guess.or_else(|| w.account(id))
}

fn pattern(w: &World, a: &Account, region_index: usize) -> usize {
    (a.index * w.opts.regions.len().max(1) + region_index) % 7
}

fn generated_detector(
    w: &World,
    a: &Account,
    region: &str,
    region_index: usize,
) -> Option<Detector> {
    let p = pattern(w, a, region_index);
    if a.index != 0 && p == 3 {
        return None;
    }
    let key = format!("{}|{}|{region}|detector", w.opts.seed, a.id);
    Some(Detector {
        id: format!("{:016x}{:016x}", hash(&key), hash(&format!("{key}|2"))),
        status: if a.index != 0 && p == 5 {
            "DISABLED".into()
        } else {
            "ENABLED".into()
        },
    })
}

pub(crate) fn detectors_of(
    w: &World,
    a: &Account,
    region: &str,
    region_index: usize,
) -> Vec<Detector> {
    match w
        .guardduty
        .detectors
        .get(&(a.id.clone(), region.to_string()))
    {
        Some(o) => o.clone(),
        None => generated_detector(w, a, region, region_index)
            .into_iter()
            .collect(),
    }
}

/// The detectors of (account, region); empty when GuardDuty is off there.
pub fn detectors(w: &World, account: &str, region: &str) -> Vec<Detector> {
    match (find_account(w, account), w.region_index(region)) {
        (Some(a), Some(r)) => detectors_of(w, a, region, r),
        _ => Vec::new(),
    }
}

/// The account's own findings in `region` as (severity, count), archived ones apart.
fn own_findings(
    w: &World,
    a: &Account,
    region: &str,
    region_index: usize,
    archived: bool,
) -> Vec<(f64, i64)> {
    let h = |tag: &str| hash(&format!("{}|{}|{region}|{tag}", w.opts.seed, a.id));
    if archived {
        return vec![(2.0, 1 + (h("archived") % 4) as i64), (8.0, 1)];
    }
    if let Some(o) = w
        .guardduty
        .findings
        .get(&(a.id.clone(), region.to_string()))
    {
        return o.clone();
    }
    if pattern(w, a, region_index) == 6 {
        return Vec::new();
    }
    PALETTE
        .iter()
        .enumerate()
        .filter_map(|(i, &sev)| {
            let n = h(&format!("sev{i}"));
            let count = if sev >= 9.0 { n % 3 } else { n % 4 } as i64;
            (count > 0).then_some((sev, count))
        })
        .collect()
}

/// Whether `account` is the GuardDuty administrator in `region`: the management account is, in
/// the first region (in every region with `admin_all_regions`), as long as it has a detector
/// there.
pub fn is_administrator(w: &World, account: &str, region: &str) -> bool {
    account == w.management().id
        && (w.region_index(region) == Some(0)
            || (w.opts.guardduty.admin_all_regions && w.region_index(region).is_some()))
        && !detectors(w, account, region).is_empty()
}

pub(crate) fn relationship(w: &World, a: &Account, region: &str) -> String {
    if let Some(s) = w
        .guardduty
        .relationships
        .get(&(a.id.clone(), region.to_string()))
    {
        return s.clone();
    }
    if let Some(s) = STATUS_CYCLE.get(a.index.saturating_sub(1)) {
        return s.to_string();
    }
    match hash(&format!("{}|{}|{region}|rel", w.opts.seed, a.id)) % 20 {
        0 => "Disabled".into(),
        1 => "Removed".into(),
        _ => "Enabled".into(),
    }
}

/// The member accounts of `account`'s detector in `region` with their relationship status,
/// without building the rest of each entry; empty unless it is the administrator there.
pub(crate) fn member_accounts<'a>(
    w: &'a World,
    account: &str,
    region: &str,
) -> impl Iterator<Item = (&'a Account, String)> + 'a {
    let admin = is_administrator(w, account, region);
    let region = region.to_string();
    w.accounts
        .iter()
        .filter(move |a| admin && a.index != 0)
        .map(move |a| (a, relationship(w, a, &region)))
}

pub(crate) fn member(w: &World, a: &Account, region: &str, status: String) -> Member {
    let r = w.region_index(region).unwrap_or(0);
    Member {
        account_id: a.id.clone(),
        email: a.email.clone(),
        relationship_status: status,
        detector_id: detectors_of(w, a, region, r).first().map(|d| d.id.clone()),
    }
}

/// The members of `account`'s detector in `region` (every relationship); empty unless it is
/// the administrator there.
pub fn members(w: &World, account: &str, region: &str) -> Vec<Member> {
    member_accounts(w, account, region)
        .map(|(a, s)| member(w, a, region, s))
        .collect()
}

/// The administrator `account` sees in `region` and the relationship status, if any.
pub fn administrator(w: &World, account: &str, region: &str) -> Option<(String, String)> {
    let admin = w.management().id.clone();
    if account == admin || !is_administrator(w, &admin, region) {
        return None;
    }
    let a = find_account(w, account)?;
    let status = relationship(w, a, region);
    member_sees_administrator(&status).then_some((admin, status))
}

/// Per account, the (severity, count) pairs that `account`'s detector in `region` reports: its
/// own and, on an administrator, those of its Enabled members that have a detector there.
pub(crate) fn findings_by_account(
    w: &World,
    account: &str,
    region: &str,
    archived_too: bool,
) -> Vec<(String, Vec<(f64, i64)>)> {
    let (Some(a), Some(r)) = (find_account(w, account), w.region_index(region)) else {
        return Vec::new();
    };
    let own = |acct: &Account| {
        let mut f = own_findings(w, acct, region, r, false);
        if archived_too {
            f.extend(own_findings(w, acct, region, r, true));
        }
        f
    };
    let mut out = vec![(a.id.clone(), own(a))];
    if is_administrator(w, account, region) {
        for m in w.accounts.iter().filter(|m| m.index != 0) {
            if relationship(w, m, region) == "Enabled" && !detectors_of(w, m, region, r).is_empty()
            {
                out.push((m.id.clone(), own(m)));
            }
        }
    }
    out
}

/// Current findings as `account`'s detector in `region` reports them, as (the finding's
/// account, severity, count, creation time in seconds since the epoch from
/// [`finding_created`]): what a `createdAt` criterion selects from.
pub fn current_findings(w: &World, account: &str, region: &str) -> Vec<(String, f64, i64, f64)> {
    findings_by_account(w, account, region, false)
        .into_iter()
        .flat_map(|(a, list)| {
            list.into_iter()
                .map(|(s, n)| {
                    let t = finding_created(w, &a, region, s);
                    (a.clone(), s, n, t)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Current findings by severity value as `account`'s detector in `region` reports them
/// (summed over its members on an administrator), zero counts left out.
pub fn severity_counts(w: &World, account: &str, region: &str) -> Vec<(f64, i64)> {
    merge_severities(findings_by_account(w, account, region, false))
}

pub(crate) fn merge_severities(by_account: Vec<(String, Vec<(f64, i64)>)>) -> Vec<(f64, i64)> {
    let mut out: Vec<(f64, i64)> = Vec::new();
    for (_, list) in by_account {
        for (sev, n) in list {
            match out.iter_mut().find(|(s, _)| s.to_bits() == sev.to_bits()) {
                Some(e) => e.1 += n,
                None => out.push((sev, n)),
            }
        }
    }
    out.retain(|(_, n)| *n != 0);
    out
}

/// Current findings per account as `account`'s detector in `region` reports them (itself and,
/// on an administrator, its Enabled members), accounts without findings left out.
pub fn account_counts(w: &World, account: &str, region: &str) -> Vec<(String, i64)> {
    totals(findings_by_account(w, account, region, false))
}

pub(crate) fn totals(by_account: Vec<(String, Vec<(f64, i64)>)>) -> Vec<(String, i64)> {
    by_account
        .into_iter()
        .map(|(a, l)| (a, l.iter().map(|(_, n)| n).sum::<i64>()))
        .filter(|(_, n)| *n != 0)
        .collect()
}

pub(crate) fn bad_request(msg: impl Into<String>) -> AwsError {
    AwsError::client("BadRequestException", msg)
}

/// The validation error of a `maxResults` outside 1 to `max`, as GuardDuty words it.
pub(crate) fn max_results_invalid(v: impl std::fmt::Display, max: usize) -> AwsError {
    bad_request(format!(
        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {max}"
    ))
}

/// `maxResults` of a JSON body (1 to `max`; `default` when absent).
pub(crate) fn body_max_results(
    v: Option<&serde_json::Value>,
    default: usize,
    max: usize,
) -> Result<usize, AwsError> {
    match v {
        None => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=max as u64).contains(&n) => Ok(n as usize),
            _ => Err(max_results_invalid(v, max)),
        },
    }
}

/// `maxResults` (1 to `max`, default `max`) and the offset of `nextToken`, from the query string.
pub(crate) fn page_args(call: &Call, scope: &str, max: usize) -> Result<(usize, usize), AwsError> {
    let limit = match call.param("maxResults") {
        None => max,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => return Err(max_results_invalid(v, max)),
        },
    };
    let offset = match call.param("nextToken") {
        None | Some("") => 0,
        Some(t) => parse_token(scope, t)
            .ok_or_else(|| bad_request("The request is rejected because an invalid or out-of-range value is specified as an input parameter: nextToken"))?,
    };
    Ok((limit, offset))
}

/// The detector named in the path, if the caller owns it in this region.
pub(crate) fn owned_detector(world: &World, call: &Call) -> Result<Detector, AwsError> {
    let id = call.path.trim_matches('/').split('/').nth(1).unwrap_or("");
    let not_owned = || {
        bad_request("The request is rejected because the input detectorId is not owned by the current account.")
    };
    if world.guardduty.ghosts.contains(id) {
        return Err(not_owned());
    }
    detectors(world, &call.account, &call.region)
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(not_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldOptions;
    use std::collections::BTreeSet;

    #[test]
    fn the_demo_organization_shows_every_case() {
        let w = World::new(WorldOptions::default());
        let mut off = 0;
        let mut disabled = 0;
        let mut clean = 0;
        let mut sevs = BTreeSet::new();
        let mut totals = BTreeSet::new();
        for a in &w.accounts {
            for r in &w.opts.regions {
                let d = detectors(&w, &a.id, r);
                match d.first() {
                    None => off += 1,
                    Some(d) if d.status == "DISABLED" => disabled += 1,
                    Some(_) => {}
                }
                if !d.is_empty() && severity_counts(&w, &a.id, r).is_empty() {
                    clean += 1;
                }
                for (s, _) in severity_counts(&w, &a.id, r) {
                    sevs.insert((s * 10.0).round() as i64);
                }
                totals.insert(format!("{:?}", severity_counts(&w, &a.id, r)));
            }
        }
        assert!(
            off >= 1 && disabled >= 1 && clean >= 1,
            "{off} {disabled} {clean}"
        );
        for s in [10, 35, 39, 40, 55, 69, 70, 85, 89, 90, 95, 100] {
            assert!(sevs.contains(&s), "severity {s} missing from {sevs:?}");
        }
        let mgmt = w.management().id.clone();
        assert!(is_administrator(&w, &mgmt, "us-east-1"));
        assert!(!is_administrator(&w, &mgmt, "eu-west-1"));
        let statuses: BTreeSet<String> = members(&w, &mgmt, "us-east-1")
            .into_iter()
            .map(|m| m.relationship_status)
            .collect();
        assert_eq!(
            statuses,
            ["Disabled", "Enabled", "Invited", "Resigned"]
                .into_iter()
                .map(String::from)
                .collect()
        );
        assert!(members(&w, &mgmt, "eu-west-1").is_empty());
        let m1 = &w.accounts[1].id;
        assert_eq!(
            administrator(&w, m1, "us-east-1"),
            Some((mgmt.clone(), "Enabled".into()))
        );
        assert_eq!(administrator(&w, &w.accounts[2].id, "us-east-1"), None);
        assert_eq!(administrator(&w, m1, "eu-west-1"), None);
    }

    #[test]
    fn the_administrator_counts_its_enabled_members() {
        let w = World::new(WorldOptions::default());
        let mgmt = w.management().id.clone();
        let per_account = account_counts(&w, &mgmt, "us-east-1");
        let sum: i64 = severity_counts(&w, &mgmt, "us-east-1")
            .iter()
            .map(|x| x.1)
            .sum();
        assert_eq!(per_account.iter().map(|x| x.1).sum::<i64>(), sum);
        // Members 1 and 3 are Enabled in us-east-1; 3 has no findings by pattern, 6 % 7.
        let ids: Vec<&str> = per_account.iter().map(|(a, _)| a.as_str()).collect();
        assert!(
            ids.contains(&mgmt.as_str()) && ids.contains(&w.accounts[1].id.as_str()),
            "{ids:?}"
        );
        assert!(!ids.contains(&w.accounts[2].id.as_str()));
    }

    #[test]
    fn generation_is_a_pure_function_of_the_seed() {
        let a = World::new(WorldOptions::default());
        let b = World::new(WorldOptions::default());
        let c = World::new(WorldOptions {
            seed: 8,
            ..WorldOptions::default()
        });
        let id = a.accounts[1].id.clone();
        assert_eq!(
            detectors(&a, &id, "us-east-1"),
            detectors(&b, &id, "us-east-1")
        );
        assert_eq!(
            severity_counts(&a, &id, "us-east-1"),
            severity_counts(&b, &id, "us-east-1")
        );
        assert_ne!(
            detectors(&a, &a.management().id, "us-east-1"),
            detectors(&c, &c.management().id, "us-east-1")
        );
        let d = &detectors(&a, &id, "us-east-1")[0];
        assert!(d.id.len() == 32 && d.id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn accounts_are_found_by_arithmetic_and_after_a_removal() {
        let mut w = World::new(WorldOptions::default());
        let third = w.accounts[3].id.clone();
        assert_eq!(find_account(&w, &third).map(|a| a.index), Some(3));
        assert!(find_account(&w, "999999999999").is_none());
        let second = w.accounts[2].id.clone();
        w.remove_account(&second);
        assert_eq!(find_account(&w, &third).map(|a| a.index), Some(3));
        assert!(find_account(&w, &second).is_none());
    }
}
