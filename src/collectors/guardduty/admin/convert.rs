//! Pure conversion of what the GuardDuty administrator answered into metric families: the
//! families of the accounts mode, with the same labels (so alerts and dashboards work either
//! way), and the organization-wide ones only an administrator can answer.
//!
//! Each function builds the families of one part of a run (see `admin`), so a failed part
//! leaves the others whole.

use std::collections::{BTreeMap, BTreeSet};

use super::super::api::DetectorData;
use super::super::convert::{
    feature_items, feature_status, findings_item, item, push_features, ADMINISTRATOR, BY_ACCOUNT,
    DETECTORS, ENABLED, FEATURE, FINDINGS, MEMBERS, RELATIONSHIP_STATUSES, SEVERITIES,
};
use super::api::{MemberPlans, OrgConfiguration, OrgMember, OrgStatistics};
use crate::metrics::{Attention, Concern, Desc, Family, Kind, Reading};

/// The auto-enable settings AWS documents.
pub const AUTO_ENABLE: &[&str] = &["NEW", "ALL", "NONE"];

static AUTO_ENABLE_FEATURE: Desc = Desc {
    name: "aws_guardduty_feature_auto_enable",
    help: "The organization's auto-enable setting of a GuardDuty protection plan (feature or additional configuration) in this region, as the administrator's DescribeOrganizationConfiguration answers it: NEW (new accounts only), ALL (every member), NONE: 1, labelled with the current setting.",
    kind: Kind::Gauge,
    labels: &["region", "plan", "feature", "auto_enable"],
};
static AUTO_ENABLE_MEMBERS: Desc = Desc {
    name: "aws_guardduty_org_auto_enable_members",
    help: "The organization's autoEnableOrganizationMembers setting in this region (NEW, ALL, NONE): 1, labelled with the current setting.",
    kind: Kind::Gauge,
    labels: &["region", "auto_enable"],
};
static NOT_COVERED: Desc = Desc {
    name: "aws_guardduty_org_account_not_covered",
    help: "1 for an ACTIVE account of the organization (Organizations ListAccounts, read from the GuardDuty administrator) that is not an Enabled member of the administrator's detector in this region; absent for covered accounts.",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
static COVERAGE: Desc = Desc {
    name: "aws_guardduty_coverage_resources",
    help: "Resources under GuardDuty runtime monitoring by resource type and coverage status (HEALTHY, UNHEALTHY), as GetCoverageStatistics counts them on this detector; on the administrator, for the whole organization.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "resource_type", "coverage_status"],
};
static ORG_ACCOUNTS: Desc = Desc {
    name: "aws_guardduty_org_accounts",
    help: "Accounts of the organization as GuardDuty's GetOrganizationStatistics counts them: total, member, active, enabled.",
    kind: Kind::Gauge,
    labels: &["region", "kind"],
};
static ORG_FEATURE_ACCOUNTS: Desc = Desc {
    name: "aws_guardduty_org_feature_enabled_accounts",
    help: "Accounts of the organization with a GuardDuty protection plan enabled, as GetOrganizationStatistics counts them.",
    kind: Kind::Gauge,
    labels: &["region", "plan", "feature"],
};

/// Relationship statuses in which a member sees its administrator (GetAdministratorAccount
/// answers one): not before it accepted an invitation, not after it resigned.
pub fn sees_administrator(status: &str) -> bool {
    !matches!(
        status,
        "Created"
            | "Invited"
            | "EmailVerificationInProgress"
            | "EmailVerificationFailed"
            | "Resigned"
    )
}

/// Members whose findings and plans the administrator reads: Enabled ones with a detector here.
pub fn enabled_members(members: &[OrgMember]) -> Vec<&OrgMember> {
    members
        .iter()
        .filter(|m| m.relationship_status == "Enabled" && m.detector_id.is_some())
        .collect()
}

/// The core: the administrator's own detector and plans (`admin`, from GetDetector; `None`
/// when it has none here), then per member its detector as ListMembers names it (1 when it has
/// one here; enabled and status from the relationship: Enabled is ENABLED, Disabled is
/// DISABLED, others unknown and not exported), member counts by relationship, and each
/// member's administrator relationship.
pub fn core(
    admin_account: &str,
    region: &str,
    admin: Option<&DetectorData>,
    members: &[OrgMember],
) -> Vec<Family> {
    let mut detectors = Family::new(&DETECTORS);
    let mut enabled = Family::new(&ENABLED);
    let mut counts = Family::new(&MEMBERS);
    let mut relationship = Family::new(&ADMINISTRATOR);
    detectors.push(
        &[admin_account, region],
        f64::from(u8::from(admin.is_some())),
    );
    let mut plans = Vec::new();
    if let Some(d) = admin {
        let l = [admin_account, region, d.id.as_str()];
        enabled.push(&l, if d.status == "ENABLED" { 1.0 } else { 0.0 });
        plans = d.features.clone();
    }
    for m in members.iter().filter(|m| m.account_id != admin_account) {
        let a = m.account_id.as_str();
        detectors.push(&[a, region], f64::from(u8::from(m.detector_id.is_some())));
        if let Some(id) = &m.detector_id {
            let s = match m.relationship_status.as_str() {
                "Enabled" => Some("ENABLED"),
                "Disabled" => Some("DISABLED"),
                _ => None,
            };
            if let Some(s) = s {
                let l = [a, region, id.as_str()];
                enabled.push(&l, if s == "ENABLED" { 1.0 } else { 0.0 });
            }
        }
        if sees_administrator(&m.relationship_status) {
            relationship.push(&[a, region, admin_account, &m.relationship_status], 1.0);
        }
    }
    if let (Some(_), false) = (admin, members.is_empty()) {
        let mut by: BTreeMap<&str, u64> = BTreeMap::new();
        for m in members {
            *by.entry(m.relationship_status.as_str()).or_insert(0) += 1;
        }
        for s in RELATIONSHIP_STATUSES {
            let n = by.remove(s).unwrap_or(0);
            counts.push(&[admin_account, region, s], n as f64);
        }
        for (s, n) in by {
            counts.push(&[admin_account, region, s], n as f64);
        }
    }
    vec![
        detectors,
        enabled,
        feature_status(admin_account, region, &plans),
        counts,
        relationship,
    ]
}

/// What needs attention in [`core`]'s answer: an account without a detector, a detector not
/// enabled (the administrator's status, a member's `Disabled` relationship), the
/// administrator's disabled plans.
pub fn core_items(
    admin_account: &str,
    region: &str,
    admin: Option<&DetectorData>,
    members: &[OrgMember],
) -> Vec<Attention> {
    let off = |a: &str| {
        item(
            Concern::GuardDuty,
            a,
            region,
            "no GuardDuty detector".into(),
            "OFF",
        )
    };
    let disabled = |a: &str, id: &str| {
        item(
            Concern::GuardDuty,
            a,
            region,
            format!("detector {id} disabled"),
            "DISABLED",
        )
    };
    let mut out = Vec::new();
    match admin {
        None => out.push(off(admin_account)),
        Some(d) => {
            if d.status != "ENABLED" {
                out.push(disabled(admin_account, &d.id));
            }
            out.extend(feature_items(admin_account, region, &d.features));
        }
    }
    for m in members.iter().filter(|m| m.account_id != admin_account) {
        match &m.detector_id {
            None => out.push(off(&m.account_id)),
            Some(id) if m.relationship_status == "Disabled" => {
                out.push(disabled(&m.account_id, id))
            }
            Some(_) => {}
        }
    }
    out
}

/// The members' protection plans (GetMemberDetectors), with the disabled ones as items;
/// unprocessed accounts are notes.
pub fn member_plans(region: &str, p: &MemberPlans) -> Reading {
    let mut f = Family::new(&FEATURE);
    let mut items = Vec::new();
    for (account, plans) in &p.plans {
        push_features(&mut f, account, region, plans);
        items.extend(feature_items(account, region, plans));
    }
    Reading {
        families: vec![f],
        items,
    }
}

/// Findings per account (members and the administrator) by severity bucket, non-zero buckets
/// only, of each account with a detector; and the administrator's per-account totals (accounts
/// with findings only, as in the accounts mode).
pub fn findings(
    admin_account: &str,
    region: &str,
    detector_of: &BTreeMap<String, String>,
    counts: &BTreeMap<String, [i64; 4]>,
) -> Reading {
    let mut findings = Family::new(&FINDINGS);
    let mut by_account = Family::new(&BY_ACCOUNT);
    let mut items = Vec::new();
    for (account, buckets) in counts {
        if !detector_of.contains_key(account) {
            continue;
        }
        for (name, n) in SEVERITIES.iter().zip(buckets).filter(|(_, n)| **n != 0) {
            findings.push(&[account, region, name], *n as f64);
        }
        items.extend(findings_item(account, region, buckets.map(|n| n as f64)));
        let total: i64 = buckets.iter().sum();
        if total > 0 {
            by_account.push(&[admin_account, region, account], total as f64);
        }
    }
    Reading {
        families: vec![findings, by_account],
        items,
    }
}

/// `aws_guardduty_findings_overdue` per account from the administrator's overdue counts by
/// bucket (accounts and buckets without overdue findings have no series), and an overview item
/// per account that has some.
pub fn overdue(
    region: &str,
    counts: &BTreeMap<String, [i64; 4]>,
    ages: &[crate::config::duration::HumanDuration; 4],
) -> Reading {
    let mut f = Family::new(&super::super::convert::OVERDUE);
    let mut items = Vec::new();
    for (account, n) in counts {
        super::super::convert::overdue_push(&mut f, account, region, *n);
        items.extend(super::super::convert::overdue_item(
            account, region, *n, ages,
        ));
    }
    Reading {
        families: vec![f],
        items,
    }
}

/// Auto-enable per feature, and for new members.
pub fn org_configuration(region: &str, c: &OrgConfiguration) -> Vec<Family> {
    let mut f = Family::new(&AUTO_ENABLE_FEATURE);
    let mut seen = BTreeSet::new();
    for x in &c.auto_enable {
        if seen.insert((x.plan.as_str(), x.name.as_str())) {
            f.push_state(&[region, &x.plan, &x.name], &x.status);
        }
    }
    let mut m = Family::new(&AUTO_ENABLE_MEMBERS);
    if !c.auto_enable_members.is_empty() {
        m.push_state(&[region], &c.auto_enable_members);
    }
    vec![f, m]
}

/// GetOrganizationStatistics' counts.
pub fn org_statistics(region: &str, s: &OrgStatistics) -> Vec<Family> {
    let mut a = Family::new(&ORG_ACCOUNTS);
    for (k, n) in &s.accounts {
        a.push(&[region, k], *n as f64);
    }
    let mut f = Family::new(&ORG_FEATURE_ACCOUNTS);
    let mut seen = BTreeSet::new();
    for (plan, name, n) in &s.by_feature {
        if seen.insert((plan.as_str(), name.as_str())) {
            f.push(&[region, plan, name], *n as f64);
        }
    }
    vec![a, f]
}

/// Runtime coverage counts of the administrator's detector.
pub fn coverage(admin_account: &str, region: &str, c: &[(String, &str, i64)]) -> Vec<Family> {
    let mut f = Family::new(&COVERAGE);
    let mut seen = BTreeSet::new();
    for (t, s, n) in c {
        if seen.insert((t.as_str(), *s)) {
            f.push(&[admin_account, region, t, s], *n as f64);
        }
    }
    vec![f]
}

/// ACTIVE organization accounts that are not Enabled members here (the administrator aside).
pub fn not_covered(
    admin_account: &str,
    region: &str,
    active: &[String],
    members: &[OrgMember],
) -> Reading {
    let covered: BTreeSet<&str> = enabled_members(members)
        .into_iter()
        .map(|m| m.account_id.as_str())
        .collect();
    let mut f = Family::new(&NOT_COVERED);
    let mut items = Vec::new();
    let mut seen = BTreeSet::new();
    for a in active {
        if a != admin_account && !covered.contains(a.as_str()) && seen.insert(a.as_str()) {
            f.push(&[a, region], 1.0);
            items.push(item(
                Concern::GuardDuty,
                a,
                region,
                "not an enabled member of the administrator".into(),
                "NOT_COVERED",
            ));
        }
    }
    Reading {
        families: vec![f],
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per member, a series per bucket with overdue findings and one item; members without
    /// any have neither.
    #[test]
    fn overdue_per_member_only_where_some() {
        let a = crate::collectors::guardduty::config::FindingAges::default();
        let ages = [a.low, a.medium, a.high, a.critical];
        let mut counts = BTreeMap::new();
        counts.insert("222222222222".to_string(), [0, 0, 0, 4]);
        counts.insert("333333333333".to_string(), [0; 4]);
        counts.insert("444444444444".to_string(), [0, 5, 0, 0]);
        let r = overdue("us-east-1", &counts, &ages);
        let text: String = r.families.iter().map(|f| f.text()).collect();
        assert!(text.contains("aws_guardduty_findings_overdue{account_id=\"222222222222\",region=\"us-east-1\",severity=\"critical\"} 4\n"), "{text}");
        assert!(text.contains("aws_guardduty_findings_overdue{account_id=\"444444444444\",region=\"us-east-1\",severity=\"medium\"} 5\n"), "{text}");
        assert!(!text.contains("333333333333"), "{text}");
        assert_eq!(
            crate::metrics::count_samples(&r.families, "aws_guardduty_findings_overdue", |_, _| {
                true
            }),
            2
        );
        let who: Vec<(&str, &str, &str)> = r
            .items
            .iter()
            .map(|i| (i.account_id.as_str(), i.code.as_str(), i.subject.as_str()))
            .collect();
        assert_eq!(
            who,
            [
                ("222222222222", "critical", "4 critical older than 1d"),
                ("444444444444", "medium", "5 medium older than 7d")
            ]
        );
    }

    fn m(id: &str, status: &str, det: Option<&str>) -> OrgMember {
        OrgMember {
            account_id: id.into(),
            relationship_status: status.into(),
            detector_id: det.map(String::from),
            invited_at: None,
        }
    }

    fn text(fs: &[Family]) -> String {
        fs.iter().map(|f| f.text()).collect()
    }

    #[test]
    fn findings_leave_out_empty_buckets_and_totals_skip_clean_accounts() {
        let det: BTreeMap<String, String> = [("111111111111", "d1"), ("222222222222", "d2")]
            .into_iter()
            .map(|(a, d)| (a.to_string(), d.to_string()))
            .collect();
        let counts: BTreeMap<String, [i64; 4]> = [
            ("111111111111".to_string(), [1, 0, 2, 3]),
            ("222222222222".to_string(), [0, 0, 0, 0]),
            ("333333333333".to_string(), [5, 0, 0, 0]),
        ]
        .into_iter()
        .collect();
        let read = findings("000000000001", "us-east-1", &det, &counts);
        let got = text(&read.families);
        let want = "\
aws_guardduty_findings{account_id=\"111111111111\",region=\"us-east-1\",severity=\"low\"} 1
aws_guardduty_findings{account_id=\"111111111111\",region=\"us-east-1\",severity=\"high\"} 2
aws_guardduty_findings{account_id=\"111111111111\",region=\"us-east-1\",severity=\"critical\"} 3
aws_guardduty_findings_by_account{account_id=\"000000000001\",region=\"us-east-1\",member_account_id=\"111111111111\"} 6
";
        assert_eq!(got, want);
    }

    /// The items flag what the families flag, part by part.
    #[test]
    fn items_count_what_the_families_flag() {
        use crate::collectors::guardduty::api::Feature;
        use crate::metrics::{count_samples, Concern};
        let off = |f: &[Family]| {
            count_samples(f, "aws_guardduty_detectors", |_, v| v == 0.0)
                + count_samples(f, "aws_guardduty_detector_enabled", |_, v| v == 0.0)
        };
        let disabled_plans = |f: &[Family]| {
            count_samples(f, "aws_guardduty_feature_status", |l, v| {
                v == 1.0 && l["status"] == "DISABLED"
            })
        };
        let plan = |name: &str, status: &str| Feature {
            plan: name.into(),
            name: name.into(),
            status: status.into(),
        };
        let admin = DetectorData {
            id: "d0".into(),
            status: "DISABLED".into(),
            features: vec![
                plan("S3_DATA_EVENTS", "DISABLED"),
                plan("RDS_LOGIN_EVENTS", "ENABLED"),
            ],
            ..DetectorData::default()
        };
        let members = vec![
            m("111111111111", "Enabled", Some("d1")),
            m("222222222222", "Disabled", Some("d2")),
            m("333333333333", "Invited", None),
            m("444444444444", "Removed", Some("d4")),
        ];
        for admin in [None, Some(&admin)] {
            let families = core("000000000001", "us-east-1", admin, &members);
            let items = core_items("000000000001", "us-east-1", admin, &members);
            let by = |c: Concern| items.iter().filter(|i| i.concern == c).count();
            assert_eq!(by(Concern::GuardDuty), off(&families), "{items:?}");
            assert_eq!(by(Concern::Plans), disabled_plans(&families), "{items:?}");
        }
        let plans = MemberPlans {
            plans: [
                (
                    "111111111111".to_string(),
                    vec![plan("S3_DATA_EVENTS", "DISABLED")],
                ),
                (
                    "222222222222".to_string(),
                    vec![plan("S3_DATA_EVENTS", "ENABLED")],
                ),
            ]
            .into_iter()
            .collect(),
            unprocessed: Vec::new(),
        };
        let read = member_plans("us-east-1", &plans);
        assert_eq!(read.items.len(), disabled_plans(&read.families));
        assert_eq!(read.items.len(), 1);

        let det: BTreeMap<String, String> = [("1", "d1"), ("2", "d2"), ("3", "d3")]
            .into_iter()
            .map(|(a, d)| (a.to_string(), d.to_string()))
            .collect();
        let counts: BTreeMap<String, [i64; 4]> = [
            ("1".to_string(), [0, 0, 1, 0]),
            ("2".to_string(), [4, 4, 0, 0]),
            ("3".to_string(), [0, 0, 0, 2]),
            ("9".to_string(), [0, 0, 5, 5]),
        ]
        .into_iter()
        .collect();
        let read = findings("0", "us-east-1", &det, &counts);
        let hot_accounts: BTreeSet<String> = read.families[0]
            .samples()
            .filter(|(l, v)| {
                let s = l.values().nth(2).unwrap_or("");
                *v > 0.0 && (s == "high" || s == "critical")
            })
            .map(|(l, _)| l.values().next().unwrap_or("").to_string())
            .collect();
        assert_eq!(
            hot_accounts.len(),
            2,
            "an account without a detector is not exported"
        );
        assert_eq!(read.items.len(), hot_accounts.len());

        let active: Vec<String> = ["0", "1", "2", "3"].into_iter().map(String::from).collect();
        let read = not_covered("0", "eu-west-1", &active, &members);
        assert_eq!(
            read.items.len(),
            count_samples(
                &read.families,
                "aws_guardduty_org_account_not_covered",
                |_, v| v == 1.0
            )
        );
    }

    #[test]
    fn an_account_is_covered_only_as_an_enabled_member_with_a_detector() {
        let members = vec![
            m("111111111111", "Enabled", Some("d1")),
            m("222222222222", "Invited", Some("d2")),
            m("333333333333", "Enabled", None),
        ];
        let active: Vec<String> = [
            "000000000001",
            "111111111111",
            "222222222222",
            "333333333333",
            "444444444444",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let read = not_covered("000000000001", "eu-west-1", &active, &members);
        let got = text(&read.families);
        assert_eq!(
            got,
            "\
aws_guardduty_org_account_not_covered{account_id=\"222222222222\",region=\"eu-west-1\"} 1
aws_guardduty_org_account_not_covered{account_id=\"333333333333\",region=\"eu-west-1\"} 1
aws_guardduty_org_account_not_covered{account_id=\"444444444444\",region=\"eu-west-1\"} 1
"
        );
    }

    #[test]
    fn core_maps_relationships_to_detector_states_and_counts_members() {
        let admin = DetectorData {
            id: "d0".into(),
            status: "ENABLED".into(),
            ..DetectorData::default()
        };
        let members = vec![
            m("111111111111", "Enabled", Some("d1")),
            m("222222222222", "Disabled", Some("d2")),
            m("333333333333", "Invited", None),
        ];
        let got = text(&core("000000000001", "us-east-1", Some(&admin), &members));
        for line in [
            "aws_guardduty_detectors{account_id=\"000000000001\",region=\"us-east-1\"} 1\n",
            "aws_guardduty_detectors{account_id=\"333333333333\",region=\"us-east-1\"} 0\n",
            "aws_guardduty_detector_enabled{account_id=\"111111111111\",region=\"us-east-1\",detector_id=\"d1\"} 1\n",
            "aws_guardduty_detector_enabled{account_id=\"222222222222\",region=\"us-east-1\",detector_id=\"d2\"} 0\n",
            "aws_guardduty_members{account_id=\"000000000001\",region=\"us-east-1\",relationship_status=\"Invited\"} 1\n",
            "aws_guardduty_administrator_relationship{account_id=\"222222222222\",region=\"us-east-1\",administrator_account_id=\"000000000001\",relationship_status=\"Disabled\"} 1\n",
        ] {
            assert!(got.contains(line), "missing {line} in\n{got}");
        }
        assert!(!got.contains("detector_enabled{account_id=\"333333333333\""));
        assert!(!got.contains("administrator_relationship{account_id=\"333333333333\""));
    }
}
