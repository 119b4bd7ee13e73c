//! Pure conversion of GuardDuty answers into metric families, and the severity buckets.
//!
//! GuardDuty reports a severity as a number; AWS names four ranges, low 1.0-3.9, medium 4.0-6.9,
//! high 7.0-8.9 and critical 9.0-10.0, which leave gaps of a tenth between them. We close them by
//! flooring to one decimal, which is the same as comparing with the lower edges: a value belongs
//! to the highest bucket whose lower edge it reaches (3.95 is low, 6.95 medium, 8.99 high, 9.0
//! critical). A value outside 1-10 goes to the nearest bucket (below 1 low, above 10 critical)
//! and a value that is not a number to critical, so that nothing we cannot read hides a severe
//! finding; each such value is reported as an anomaly, to be logged. Nothing is ever dropped.

use std::collections::BTreeMap;

use super::api::{DetectorData, Feature, GuardDutyData, GROUP_LIMIT};
use crate::metrics::{Attention, Concern, Desc, Family, Kind, Reading};

/// The severity buckets, in the order they are exported.
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// The member relationship statuses AWS documents.
pub const RELATIONSHIP_STATUSES: &[&str] = &[
    "Created",
    "Invited",
    "Disabled",
    "Enabled",
    "Removed",
    "Resigned",
    "EmailVerificationInProgress",
    "EmailVerificationFailed",
];

/// The detector statuses AWS documents.
pub const DETECTOR_STATUSES: &[&str] = &["ENABLED", "DISABLED"];

/// The feature (protection plan) statuses AWS documents.
pub const FEATURE_STATUSES: &[&str] = &["ENABLED", "DISABLED"];

pub(super) static FEATURE: Desc = Desc {
    name: "aws_guardduty_feature_status",
    help: "A GuardDuty protection plan (a detector feature such as S3_DATA_EVENTS or RUNTIME_MONITORING, or an additional configuration such as EKS_ADDON_MANAGEMENT) that is not ENABLED in this account and region: 1, with its status (DISABLED, or a status AWS adds later under its own spelling); an ENABLED plan has no series; `plan` is the plan it is listed under (the feature itself for a plan; the legacy EKS_RUNTIME_MONITORING and the unified RUNTIME_MONITORING each list their own EKS_ADDON_MANAGEMENT); a name or status AWS adds later appears under its own spelling.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "plan", "feature", "status"],
};

pub(super) static DETECTORS: Desc = Desc {
    name: "aws_guardduty_detectors",
    help: "GuardDuty detectors in this account and region (0: GuardDuty is off there).",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
pub(super) static ENABLED: Desc = Desc {
    name: "aws_guardduty_detector_enabled",
    help: "1 if the GuardDuty detector's status is ENABLED, 0 if it is DISABLED or anything else.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "detector_id"],
};
pub(super) static FINDINGS: Desc = Desc {
    name: "aws_guardduty_findings",
    help: "Current (not archived) GuardDuty findings by severity: low 1.0-3.9, medium 4.0-6.9, high 7.0-8.9, critical 9.0-10.0; a value between two ranges counts in the lower one (3.95 is low), below 1 as low, above 10 as critical; a severity with no current findings has no series. On an administrator this includes its members' findings, so do not sum it over the accounts of one organization.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "severity"],
};
pub(super) static BY_ACCOUNT: Desc = Desc {
    name: "aws_guardduty_findings_by_account",
    help: "Current (not archived) GuardDuty findings per account, as the administrator's detector counts them; only the 100 accounts with the most findings (GetFindingsStatistics groupBy ACCOUNT answers no more), accounts without findings absent.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "member_account_id"],
};
pub(super) static OVERDUE: Desc = Desc {
    name: "aws_guardduty_findings_overdue",
    help: "Current (not archived) GuardDuty findings past their remediation age: created (the finding's createdAt) longer ago than the age configured for their severity (collectors.guardduty.finding_ages; by default low 30d, medium 7d, high and critical 1d), by the severity buckets of aws_guardduty_findings; only where there are some. In accounts mode an administrator's count includes its members' findings, as aws_guardduty_findings does; in administrator mode each account has its own.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "severity"],
};
pub(super) static OLDEST: Desc = Desc {
    name: "aws_guardduty_oldest_finding_created_timestamp_seconds",
    help: "When the oldest current (not archived) GuardDuty finding of each severity bucket (those of aws_guardduty_findings) was created (its createdAt), in seconds since the epoch; buckets without current findings have no series. time() minus it is that finding's age, so an alert can hold any remediation age (time() - this > 48 * 3600). In accounts mode, among the findings the account's detector lists (an administrator's include its members'); in administrator mode, the oldest of the organization in the region, under the account that holds it.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "severity"],
};
pub(super) static MEMBERS: Desc = Desc {
    name: "aws_guardduty_members",
    help: "Member accounts of this GuardDuty administrator by relationship status; every documented status is exported (0 when none), for detectors that have members.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "relationship_status"],
};
pub(super) static ADMINISTRATOR: Desc = Desc {
    name: "aws_guardduty_administrator_relationship",
    help: "1 for the GuardDuty administrator of this member account, labelled with the relationship status; only the current status is exported.",
    kind: Kind::Gauge,
    labels: &[
        "account_id",
        "region",
        "administrator_account_id",
        "relationship_status",
    ],
};

/// The bucket (index into [`SEVERITIES`]) of a severity value, and what was unusual about the
/// value when it is outside 1-10 or not a number.
pub fn bucket(severity: f64) -> (usize, Option<&'static str>) {
    if severity.is_nan() {
        (
            3,
            Some("is not a number; counted as critical so that it cannot hide a severe finding"),
        )
    } else if severity < 1.0 {
        (0, Some("is below 1.0; counted as low"))
    } else if severity < 4.0 {
        (0, None)
    } else if severity < 7.0 {
        (1, None)
    } else if severity < 9.0 {
        (2, None)
    } else if severity <= 10.0 {
        (3, None)
    } else {
        (3, Some("is above 10.0; counted as critical"))
    }
}

/// The families of one (account, region) and the anomalies met on the way (to be logged).
#[derive(Debug, Default)]
pub struct Converted {
    /// The metric families.
    pub families: Vec<Family>,
    /// Values we had to interpret: out-of-range severities, negative counts, full top-N lists.
    pub anomalies: Vec<String>,
}

/// Converts what one (account, region) answered, every part together (the families of
/// [`core`], then [`findings`] and [`members`] of its detector: the first, should AWS list
/// more than the one it allows, see [`one_detector`]).
pub fn convert(account_id: &str, region: &str, d: &GuardDutyData) -> Converted {
    let mut anomalies = Vec::new();
    let mut families = core(account_id, region, d);
    anomalies.extend(one_detector(d));
    if let Some(det) = d.detectors.first() {
        families.extend(findings(account_id, region, det, &mut anomalies));
        families.extend(members(account_id, region, det, &mut anomalies));
    }
    Converted {
        families,
        anomalies,
    }
}

/// The core of a run (ListDetectors and GetDetector): the detectors, their status and their
/// protection plans.
pub fn core(account_id: &str, region: &str, d: &GuardDutyData) -> Vec<Family> {
    let mut detectors = Family::new(&DETECTORS);
    let mut enabled = Family::new(&ENABLED);
    detectors.push(&[account_id, region], d.detectors.len() as f64);
    for det in &d.detectors {
        let l = [account_id, region, det.id.as_str()];
        enabled.push(&l, if det.status == "ENABLED" { 1.0 } else { 0.0 });
    }
    // One detector per account and region is all AWS allows; should two be listed, the
    // first one's plans are exported, so that no series is duplicated.
    let plans = d
        .detectors
        .first()
        .map(|det| det.features.as_slice())
        .unwrap_or(&[]);
    vec![
        detectors,
        enabled,
        feature_status(account_id, region, plans),
        super::lists::convert::frequency(account_id, region, d.detectors.first()),
    ]
}

/// The note of an answer that lists more than one detector. AWS allows one: "You can have only
/// one detector per account per Region" (CreateDetector, in the GuardDuty service model). The
/// families of a detector's contents (findings, members, plans, lists) carry no detector label,
/// so only the first one's are exported; `aws_guardduty_detectors` counts them all and
/// `aws_guardduty_detector_enabled` names each.
pub fn one_detector(d: &GuardDutyData) -> Option<String> {
    (d.detectors.len() > 1).then(|| {
        format!(
            "{} detectors listed where AWS allows one; the findings, members, plans and lists of the first ({}) are exported",
            d.detectors.len(),
            d.detectors[0].id
        )
    })
}

/// `aws_guardduty_feature_status` of one account and region; a (plan, name) listed twice is
/// exported once (its first status). The same additional configuration under two plans (the
/// legacy and the unified runtime plan) is two series, each with its own plan's status.
pub fn feature_status(account_id: &str, region: &str, features: &[Feature]) -> Family {
    let mut f = Family::new(&FEATURE);
    push_features(&mut f, account_id, region, features);
    f
}

/// The plans and settings of one account that need a series: each (plan, name) once (its first
/// status), not ENABLED, and not a setting of a plan that is itself not ENABLED. A plan that
/// protects needs no series of its own (a third of an organization's series were plans that
/// were on); a plan that is off says so in its own series, and its settings being off too (the
/// runtime plan's three agent settings, the RDS plan's data-risk setting) adds nothing an alert
/// or a panel can act on: they were a third of the family's series.
fn plans_off(features: &[Feature]) -> Vec<&Feature> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut out = Vec::new();
    for x in features {
        if seen.contains(&(x.plan.as_str(), x.name.as_str())) {
            continue;
        }
        seen.push((&x.plan, &x.name));
        if x.status == "ENABLED" {
            continue;
        }
        let plan_off = x.plan != x.name
            && features
                .iter()
                .find(|p| p.plan == x.plan && p.name == x.plan)
                .is_some_and(|p| p.status != "ENABLED");
        if !plan_off {
            out.push(x);
        }
    }
    out
}

/// Adds one account's plans that are not ENABLED to an `aws_guardduty_feature_status` family
/// (see [`plans_off`]).
pub fn push_features(f: &mut Family, account_id: &str, region: &str, features: &[Feature]) {
    for x in plans_off(features) {
        f.push_state(&[account_id, region, &x.plan, &x.name], &x.status);
    }
}

/// One GuardDuty item for the overview, without a message of AWS's.
pub fn item(
    concern: Concern,
    account_id: &str,
    region: &str,
    subject: String,
    code: &str,
) -> Attention {
    Attention {
        concern,
        account_id: account_id.to_string(),
        region: region.to_string(),
        subject,
        code: code.to_string(),
        message: String::new(),
    }
}

/// The disabled protection plans of one account, as [`push_features`] exports them (a
/// (plan, name) listed twice once, with its first status).
pub fn feature_items(account_id: &str, region: &str, features: &[Feature]) -> Vec<Attention> {
    let mut out = Vec::new();
    for x in plans_off(features) {
        if x.status == "DISABLED" {
            out.push(item(
                Concern::Plans,
                account_id,
                region,
                format!("{} disabled", x.name),
                "DISABLED",
            ));
        }
    }
    out
}

/// What needs attention in [`core`]'s answer: no detector, a detector not ENABLED, its
/// disabled plans.
pub fn core_items(account_id: &str, region: &str, d: &GuardDutyData) -> Vec<Attention> {
    let mut out = Vec::new();
    if d.detectors.is_empty() {
        out.push(item(
            Concern::GuardDuty,
            account_id,
            region,
            "no GuardDuty detector".into(),
            "OFF",
        ));
    }
    for det in d.detectors.iter().filter(|det| det.status != "ENABLED") {
        out.push(item(
            Concern::GuardDuty,
            account_id,
            region,
            format!("detector {} disabled", det.id),
            "DISABLED",
        ));
    }
    if let Some(det) = d.detectors.first() {
        out.extend(feature_items(account_id, region, &det.features));
    }
    out
}

/// The overview's item for an account and region with high or critical findings (`sums` by
/// bucket of [`SEVERITIES`]), if it has any.
pub fn findings_item(account_id: &str, region: &str, sums: [f64; 4]) -> Option<Attention> {
    let (high, critical) = (sums[2], sums[3]);
    (high + critical > 0.0).then(|| {
        item(
            Concern::Findings,
            account_id,
            region,
            format!("{high} high, {critical} critical"),
            if critical > 0.0 { "critical" } else { "high" },
        )
    })
}

/// The findings part of one detector: current findings by severity bucket (empty buckets left
/// out), and
/// the overview's item where high or critical ones are among them.
pub fn findings_reading(
    account_id: &str,
    region: &str,
    det: &DetectorData,
    anomalies: &mut Vec<String>,
) -> Reading {
    let sums = severity_sums(det, anomalies);
    let mut findings = Family::new(&FINDINGS);
    for (name, v) in SEVERITIES.iter().zip(sums).filter(|(_, v)| *v != 0.0) {
        findings.push(&[account_id, region, name], v);
    }
    Reading {
        families: vec![findings],
        items: findings_item(account_id, region, sums)
            .into_iter()
            .collect(),
    }
}

/// The cutoffs of [`SEVERITIES`]' remediation ages in milliseconds since the epoch (what a
/// `createdAt` criterion compares with): a current finding created before its bucket's cutoff
/// is overdue.
pub fn overdue_cutoffs(now: std::time::SystemTime, ages: [std::time::Duration; 4]) -> [i64; 4] {
    let now_ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    ages.map(|a| now_ms.saturating_sub(a.as_millis() as i64))
}

/// `aws_guardduty_findings_overdue` of one account and region from its overdue counts by
/// bucket of [`SEVERITIES`] (buckets without overdue findings have no series), and the
/// overview's item for it; `ages` says in the item how old is too old.
pub fn overdue_reading(
    account_id: &str,
    region: &str,
    counts: [i64; 4],
    ages: &[crate::config::duration::HumanDuration; 4],
) -> Reading {
    let mut f = Family::new(&OVERDUE);
    overdue_push(&mut f, account_id, region, counts);
    Reading {
        families: vec![f],
        items: overdue_item(account_id, region, counts, ages)
            .into_iter()
            .collect(),
    }
}

/// Adds one account's overdue counts to an `aws_guardduty_findings_overdue` family.
pub fn overdue_push(f: &mut Family, account_id: &str, region: &str, counts: [i64; 4]) {
    for (name, n) in SEVERITIES.iter().zip(counts).filter(|(_, n)| *n > 0) {
        f.push(&[account_id, region, name], n as f64);
    }
}

/// `aws_guardduty_oldest_finding_created_timestamp_seconds` of one region from the oldest
/// finding of each bucket of [`SEVERITIES`]: under `account_id` (accounts mode: the detector's
/// account), or with `None` under the account that holds the finding (administrator mode).
pub fn oldest_reading(
    account_id: Option<&str>,
    region: &str,
    oldest: &[Option<super::api::Oldest>; 4],
) -> Reading {
    let mut f = Family::new(&OLDEST);
    for (name, o) in SEVERITIES.iter().zip(oldest) {
        if let Some(o) = o {
            let account = account_id.unwrap_or(&o.account_id);
            f.push(&[account, region, name], o.created);
        }
    }
    Reading {
        families: vec![f],
        items: Vec::new(),
    }
}

/// The overview's item for an account and region with overdue findings, if it has any: the
/// counts by bucket with their ages, the most severe bucket as the code.
pub fn overdue_item(
    account_id: &str,
    region: &str,
    counts: [i64; 4],
    ages: &[crate::config::duration::HumanDuration; 4],
) -> Option<Attention> {
    let parts: Vec<String> = SEVERITIES
        .iter()
        .zip(counts)
        .zip(ages)
        .rev()
        .filter(|((_, n), _)| *n > 0)
        .map(|((name, n), age)| format!("{n} {name} older than {age}"))
        .collect();
    let worst = (0..4).rev().find(|b| counts[*b] > 0)?;
    Some(item(
        Concern::Overdue,
        account_id,
        region,
        parts.join(", "),
        SEVERITIES[worst],
    ))
}

/// The findings part of one detector: current findings by severity bucket, empty ones left out.
pub fn findings(
    account_id: &str,
    region: &str,
    det: &DetectorData,
    anomalies: &mut Vec<String>,
) -> Vec<Family> {
    findings_reading(account_id, region, det, anomalies).families
}

/// A detector's finding counts by bucket of [`SEVERITIES`], with what was unusual about them.
pub fn severity_sums(det: &DetectorData, anomalies: &mut Vec<String>) -> [f64; 4] {
    let id = det.id.as_str();
    let mut sums = [0.0f64; 4];
    for s in &det.severities {
        let (b, odd) = bucket(s.severity);
        if let Some(why) = odd {
            anomalies.push(format!(
                "detector {id}: {} finding(s) of severity {} (a value that {why})",
                s.count, s.severity
            ));
        }
        if s.count < 0 {
            anomalies.push(format!(
                "detector {id}: severity {} came with a negative count {}; counted as 0",
                s.severity, s.count
            ));
        }
        sums[b] += s.count.max(0) as f64;
    }
    if det.severities_truncated {
        anomalies.push(format!(
            "detector {id}: GetFindingsStatistics returned {GROUP_LIMIT} severity values, its maximum; the rarest values may be missing from the counts"
        ));
    }
    sums
}

/// The members part of one detector: findings per member account (an administrator), member
/// counts by relationship, and the administrator of a member account.
pub fn members(
    account_id: &str,
    region: &str,
    det: &DetectorData,
    anomalies: &mut Vec<String>,
) -> Vec<Family> {
    let mut by_account = Family::new(&BY_ACCOUNT);
    let mut members = Family::new(&MEMBERS);
    let mut administrator = Family::new(&ADMINISTRATOR);
    let id = det.id.as_str();
    if let Some(list) = &det.by_account {
        // Summed per account, so that a repeated account cannot produce a duplicate series.
        let mut per: BTreeMap<&str, i64> = BTreeMap::new();
        for a in list {
            *per.entry(a.account_id.as_str()).or_insert(0) += a.count.max(0);
        }
        for (member, n) in per {
            by_account.push(&[account_id, region, member], n as f64);
        }
        if det.by_account_truncated {
            anomalies.push(format!(
                "detector {id}: findings by account cover the top {GROUP_LIMIT} accounts only"
            ));
        }
    }
    if !det.members.is_empty() {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for m in &det.members {
            *counts.entry(m.relationship_status.as_str()).or_insert(0) += 1;
        }
        for s in RELATIONSHIP_STATUSES {
            let n = counts.remove(s).unwrap_or(0);
            members.push(&[account_id, region, s], n as f64);
        }
        for (s, n) in counts {
            members.push(&[account_id, region, s], n as f64);
        }
    }
    if let Some(a) = &det.administrator {
        administrator.push(
            &[
                account_id,
                region,
                a.account_id.as_str(),
                a.relationship_status.as_str(),
            ],
            1.0,
        );
    }
    vec![by_account, members, administrator]
}

#[cfg(test)]
mod tests {
    use super::super::api::{AccountCount, Administrator, Member, SeverityCount};
    use super::*;

    fn text(c: &Converted) -> String {
        c.families.iter().map(|f| f.text()).collect()
    }

    fn ages() -> [crate::config::duration::HumanDuration; 4] {
        let a = super::super::config::FindingAges::default();
        [a.low, a.medium, a.high, a.critical]
    }

    /// The cutoffs are now minus each bucket's age, in milliseconds.
    #[test]
    fn overdue_cutoffs_are_now_minus_the_age_in_milliseconds() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let ages = super::super::config::FindingAges::default().by_bucket();
        assert_eq!(
            overdue_cutoffs(now, ages),
            [
                1_800_000_000_000 - 30 * 86_400_000,
                1_800_000_000_000 - 7 * 86_400_000,
                1_800_000_000_000 - 86_400_000,
                1_800_000_000_000 - 86_400_000,
            ]
        );
    }

    /// Only buckets with overdue findings have a series; the item names each with its age,
    /// the most severe first, and takes the most severe as its code.
    #[test]
    fn overdue_series_only_where_some_and_an_item_that_says_how_old() {
        let r = overdue_reading("111111111111", "eu-west-1", [3, 0, 2, 0], &ages());
        let text: String = r.families.iter().map(|f| f.text()).collect();
        assert!(text.contains(
            "aws_guardduty_findings_overdue{account_id=\"111111111111\",region=\"eu-west-1\",severity=\"low\"} 3\n"
        ));
        assert!(text.contains(
            "aws_guardduty_findings_overdue{account_id=\"111111111111\",region=\"eu-west-1\",severity=\"high\"} 2\n"
        ));
        assert!(!text.contains("severity=\"medium\""), "{text}");
        assert!(!text.contains("severity=\"critical\""), "{text}");
        assert_eq!(r.items.len(), 1);
        assert_eq!(r.items[0].concern, Concern::Overdue);
        assert_eq!(
            r.items[0].subject,
            "2 high older than 1d, 3 low older than 30d"
        );
        assert_eq!(r.items[0].code, "high");
        let none = overdue_reading("111111111111", "eu-west-1", [0; 4], &ages());
        assert!(none.items.is_empty());
        assert!(!none.families[0]
            .text()
            .contains("aws_guardduty_findings_overdue{"));
    }

    fn sev(severity: f64, count: i64) -> SeverityCount {
        SeverityCount { severity, count }
    }

    fn member(id: &str, status: &str) -> Member {
        Member {
            account_id: id.into(),
            relationship_status: status.into(),
        }
    }

    fn feature(plan: &str, name: &str, status: &str) -> Feature {
        Feature {
            plan: plan.into(),
            name: name.into(),
            status: status.into(),
        }
    }

    /// The items flag what the families flag: a detector count of 0, a detector not enabled,
    /// a plan DISABLED, high or critical findings.
    #[test]
    fn items_count_what_the_families_flag() {
        use crate::metrics::count_samples;
        let (a, r) = ("111111111111", "us-east-1");
        let cases = [
            GuardDutyData::default(),
            GuardDutyData {
                detectors: vec![DetectorData {
                    id: "d1".into(),
                    status: "DISABLED".into(),
                    features: vec![
                        feature("S3_DATA_EVENTS", "S3_DATA_EVENTS", "DISABLED"),
                        feature("S3_DATA_EVENTS", "S3_DATA_EVENTS", "ENABLED"),
                        feature("EKS_RUNTIME_MONITORING", "EKS_ADDON_MANAGEMENT", "DISABLED"),
                        feature("RDS_LOGIN_EVENTS", "RDS_LOGIN_EVENTS", "ENABLED"),
                    ],
                    severities: vec![sev(8.0, 2), sev(9.5, 1)],
                    ..DetectorData::default()
                }],
                ..GuardDutyData::default()
            },
        ];
        for d in &cases {
            let families = core(a, r, d);
            let items = core_items(a, r, d);
            let flagged = count_samples(&families, "aws_guardduty_detectors", |_, v| v == 0.0)
                + count_samples(&families, "aws_guardduty_detector_enabled", |_, v| v == 0.0);
            let plans = count_samples(&families, "aws_guardduty_feature_status", |l, v| {
                v == 1.0 && l["status"] == "DISABLED"
            });
            let by = |c: Concern| items.iter().filter(|i| i.concern == c).count();
            assert_eq!(by(Concern::GuardDuty), flagged, "{items:?}");
            assert_eq!(by(Concern::Plans), plans, "{items:?}");
            assert_eq!(items.len(), flagged + plans);
            for det in &d.detectors {
                let read = findings_reading(a, r, det, &mut Vec::new());
                let hot = count_samples(&read.families, "aws_guardduty_findings", |l, v| {
                    v > 0.0 && (l["severity"] == "high" || l["severity"] == "critical")
                });
                assert_eq!(read.items.len(), usize::from(hot > 0));
            }
        }
        let d = &cases[1];
        let items = core_items(a, r, d);
        assert_eq!(
            items.len(),
            3,
            "disabled, and two plans (the repeated one once)"
        );
        let hot = findings_reading(a, r, &d.detectors[0], &mut Vec::new()).items;
        assert_eq!(
            (hot[0].subject.as_str(), hot[0].code.as_str()),
            ("2 high, 1 critical", "critical")
        );
    }

    #[test]
    fn bucket_edges_follow_the_lower_bound_of_each_range() {
        let cases: &[(f64, usize, bool)] = &[
            (1.0, 0, false),
            (3.9, 0, false),
            (3.95, 0, false),
            (3.99, 0, false),
            (4.0, 1, false),
            (6.9, 1, false),
            (6.95, 1, false),
            (7.0, 2, false),
            (8.9, 2, false),
            (8.99, 2, false),
            (9.0, 3, false),
            (10.0, 3, false),
            (0.99, 0, true),
            (0.0, 0, true),
            (-3.0, 0, true),
            (f64::NEG_INFINITY, 0, true),
            (10.01, 3, true),
            (42.0, 3, true),
            (f64::INFINITY, 3, true),
            (f64::NAN, 3, true),
        ];
        for &(v, want, odd) in cases {
            let (b, why) = bucket(v);
            assert_eq!((b, why.is_some()), (want, odd), "severity {v}");
        }
    }

    #[test]
    fn golden_administrator_with_boundary_and_out_of_range_severities() {
        let d = GuardDutyData {
            detectors: vec![DetectorData {
                id: "12abc34d567e8fa901bc2d34eexample".into(),
                status: "ENABLED".into(),
                features: vec![],
                publishing_frequency: "FIFTEEN_MINUTES".into(),
                severities: vec![
                    sev(3.9, 1),
                    sev(4.0, 2),
                    sev(6.95, 4),
                    sev(7.0, 8),
                    sev(8.9, 16),
                    sev(9.0, 32),
                    sev(10.0, 64),
                    sev(0.5, 100),
                    sev(11.0, 200),
                    sev(f64::NAN, 400),
                ],
                severities_truncated: false,
                members: vec![
                    member("111111111111", "Enabled"),
                    member("222222222222", "Enabled"),
                    member("333333333333", "Invited"),
                    member("444444444444", "Resigned"),
                    member("555555555555", "Suspended"),
                ],
                by_account: Some(vec![
                    AccountCount {
                        account_id: "111111111111".into(),
                        count: 40,
                    },
                    AccountCount {
                        account_id: "000000000001".into(),
                        count: 7,
                    },
                ]),
                by_account_truncated: false,
                administrator: None,
            }],
            vanished: vec![],
        };
        let c = convert("000000000001", "us-east-1", &d);
        let l = "account_id=\"000000000001\",region=\"us-east-1\"";
        let want = format!(
            "\
aws_guardduty_detectors{{{l}}} 1
aws_guardduty_detector_enabled{{{l},detector_id=\"12abc34d567e8fa901bc2d34eexample\"}} 1
aws_guardduty_finding_publishing_frequency{{{l},frequency=\"FIFTEEN_MINUTES\"}} 1
aws_guardduty_findings{{{l},severity=\"low\"}} 101
aws_guardduty_findings{{{l},severity=\"medium\"}} 6
aws_guardduty_findings{{{l},severity=\"high\"}} 24
aws_guardduty_findings{{{l},severity=\"critical\"}} 696
aws_guardduty_findings_by_account{{{l},member_account_id=\"000000000001\"}} 7
aws_guardduty_findings_by_account{{{l},member_account_id=\"111111111111\"}} 40
aws_guardduty_members{{{l},relationship_status=\"Created\"}} 0
aws_guardduty_members{{{l},relationship_status=\"Invited\"}} 1
aws_guardduty_members{{{l},relationship_status=\"Disabled\"}} 0
aws_guardduty_members{{{l},relationship_status=\"Enabled\"}} 2
aws_guardduty_members{{{l},relationship_status=\"Removed\"}} 0
aws_guardduty_members{{{l},relationship_status=\"Resigned\"}} 1
aws_guardduty_members{{{l},relationship_status=\"EmailVerificationInProgress\"}} 0
aws_guardduty_members{{{l},relationship_status=\"EmailVerificationFailed\"}} 0
aws_guardduty_members{{{l},relationship_status=\"Suspended\"}} 1
"
        );
        assert_eq!(text(&c), want);
        assert_eq!(
            c.anomalies,
            vec![
                "detector 12abc34d567e8fa901bc2d34eexample: 100 finding(s) of severity 0.5 (a value that is below 1.0; counted as low)",
                "detector 12abc34d567e8fa901bc2d34eexample: 200 finding(s) of severity 11 (a value that is above 10.0; counted as critical)",
                "detector 12abc34d567e8fa901bc2d34eexample: 400 finding(s) of severity NaN (a value that is not a number; counted as critical so that it cannot hide a severe finding)",
            ]
        );
    }

    #[test]
    fn golden_member_with_disabled_detector_and_no_findings() {
        let d = GuardDutyData {
            detectors: vec![DetectorData {
                id: "d1".into(),
                status: "DISABLED".into(),
                administrator: Some(Administrator {
                    account_id: "000000000001".into(),
                    relationship_status: "Enabled".into(),
                }),
                ..DetectorData::default()
            }],
            vanished: vec![],
        };
        let c = convert("111111111111", "eu-west-1", &d);
        let l = "account_id=\"111111111111\",region=\"eu-west-1\",detector_id=\"d1\"";
        let want = format!(
            "\
aws_guardduty_detectors{{account_id=\"111111111111\",region=\"eu-west-1\"}} 1
aws_guardduty_detector_enabled{{{l}}} 0
aws_guardduty_administrator_relationship{{account_id=\"111111111111\",region=\"eu-west-1\",administrator_account_id=\"000000000001\",relationship_status=\"Enabled\"}} 1
"
        );
        assert_eq!(text(&c), want);
        assert!(c.anomalies.is_empty());
    }

    #[test]
    fn golden_protection_plans_with_a_new_name_and_a_new_status() {
        let plan = |name: &str, status: &str| Feature {
            plan: name.into(),
            name: name.into(),
            status: status.into(),
        };
        let under = |plan: &str, name: &str, status: &str| Feature {
            plan: plan.into(),
            name: name.into(),
            status: status.into(),
        };
        let d = GuardDutyData {
            detectors: vec![DetectorData {
                id: "d3".into(),
                status: "ENABLED".into(),
                // The legacy and the unified runtime plan side by side, each with the add-on
                // setting under it (as AWS answers while an account migrates).
                // The add-on setting off under the unified plan that is off has no series (the
                // plan's own says it is off); off under the legacy plan that is on, it has one.
                features: vec![
                    plan("S3_DATA_EVENTS", "ENABLED"),
                    plan("EKS_RUNTIME_MONITORING", "ENABLED"),
                    under("EKS_RUNTIME_MONITORING", "EKS_ADDON_MANAGEMENT", "DISABLED"),
                    plan("RUNTIME_MONITORING", "DISABLED"),
                    under("RUNTIME_MONITORING", "EKS_ADDON_MANAGEMENT", "DISABLED"),
                    plan("QUANTUM_PROTECTION", "PAUSED"),
                    plan("S3_DATA_EVENTS", "DISABLED"),
                ],
                ..DetectorData::default()
            }],
            vanished: vec![],
        };
        let text: String = core("333333333333", "us-east-1", &d)[2].text();
        let l = "account_id=\"333333333333\",region=\"us-east-1\"";
        assert_eq!(
            text,
            format!(
                "\
aws_guardduty_feature_status{{{l},plan=\"EKS_RUNTIME_MONITORING\",feature=\"EKS_ADDON_MANAGEMENT\",status=\"DISABLED\"}} 1
aws_guardduty_feature_status{{{l},plan=\"RUNTIME_MONITORING\",feature=\"RUNTIME_MONITORING\",status=\"DISABLED\"}} 1
aws_guardduty_feature_status{{{l},plan=\"QUANTUM_PROTECTION\",feature=\"QUANTUM_PROTECTION\",status=\"PAUSED\"}} 1
"
            )
        );
    }

    #[test]
    fn a_second_detector_is_counted_and_named_but_only_the_first_ones_contents_are_exported() {
        let det = |id: &str, status: &str, sev_value: f64, n: i64| DetectorData {
            id: id.into(),
            status: status.into(),
            publishing_frequency: "ONE_HOUR".into(),
            severities: vec![sev(sev_value, n)],
            ..DetectorData::default()
        };
        let d = GuardDutyData {
            detectors: vec![det("d1", "ENABLED", 8.0, 2), det("d9", "DISABLED", 2.0, 5)],
            vanished: vec![],
        };
        let c = convert("333333333333", "us-east-1", &d);
        let l = "account_id=\"333333333333\",region=\"us-east-1\"";
        assert_eq!(
            text(&c),
            format!(
                "\
aws_guardduty_detectors{{{l}}} 2
aws_guardduty_detector_enabled{{{l},detector_id=\"d1\"}} 1
aws_guardduty_detector_enabled{{{l},detector_id=\"d9\"}} 0
aws_guardduty_finding_publishing_frequency{{{l},frequency=\"ONE_HOUR\"}} 1
aws_guardduty_findings{{{l},severity=\"high\"}} 2
"
            )
        );
        assert_eq!(
            c.anomalies,
            vec!["2 detectors listed where AWS allows one; the findings, members, plans and lists of the first (d1) are exported"]
        );
    }

    #[test]
    fn golden_guardduty_off_and_unknown_detector_status() {
        let off = convert("222222222222", "us-east-1", &GuardDutyData::default());
        assert_eq!(
            text(&off),
            "aws_guardduty_detectors{account_id=\"222222222222\",region=\"us-east-1\"} 0\n"
        );

        let d = GuardDutyData {
            detectors: vec![DetectorData {
                id: "d2".into(),
                status: "SUSPENDED".into(),
                severities: vec![sev(5.5, 3), sev(2.0, -1)],
                severities_truncated: true,
                ..DetectorData::default()
            }],
            vanished: vec![],
        };
        let c = convert("222222222222", "us-east-1", &d);
        let l = "account_id=\"222222222222\",region=\"us-east-1\"";
        let want = format!(
            "\
aws_guardduty_detectors{{{l}}} 1
aws_guardduty_detector_enabled{{{l},detector_id=\"d2\"}} 0
aws_guardduty_findings{{{l},severity=\"medium\"}} 3
"
        );
        assert_eq!(text(&c), want);
        assert_eq!(
            c.anomalies,
            vec![
                "detector d2: severity 2 came with a negative count -1; counted as 0",
                "detector d2: GetFindingsStatistics returned 100 severity values, its maximum; the rarest values may be missing from the counts",
            ]
        );
    }
}
