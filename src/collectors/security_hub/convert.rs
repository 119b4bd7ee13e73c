//! Pure conversion of what Security Hub answered (either generation) into metric families.
//!
//! Both generations export the same families with the same labels, so alerts and dashboards
//! work either way. Severity labels are ASFF's (`CRITICAL`, `HIGH`, ...): the new Security
//! Hub's OCSF captions (`Critical`, `High`, ...) are written in capitals. Standards are the
//! resource portion of their ARN (`standards/pci-dss/v/3.2.1`), as both ASFF findings and OCSF
//! `compliance.standards` name them. Per-account detail exists only where something needs
//! attention (a failing control, a finding, a standard that is not READY); no resource id is
//! ever a label.

use std::collections::{BTreeMap, BTreeSet};

use super::api::{FailedAssociation, Member, Subscription};
use crate::metrics::{Attention, Concern, Desc, Family, Kind, Reading};

static ENABLED: Desc = Desc {
    name: "aws_securityhub_enabled",
    help: "Whether Security Hub is on in the account and region: 1 or 0 for the delegated administrator itself; 0 for each member Security Hub CSPM lists in a status other than Enabled (Enabled members have no series: aws_securityhub_members counts them).",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
static GENERATION: Desc = Desc {
    name: "aws_securityhub_generation",
    help: "Which Security Hub the exporter reads in the region from the delegated administrator: 1, labelled ocsf (the new Security Hub) or cspm (Security Hub CSPM).",
    kind: Kind::Gauge,
    labels: &["region", "generation"],
};
static MEMBERS: Desc = Desc {
    name: "aws_securityhub_members",
    help: "Member accounts of the Security Hub CSPM administrator per MemberStatus (Created, Invited, Enabled, Removed, Resigned, Deleted, AccountSuspended).",
    kind: Kind::Gauge,
    labels: &["region", "status"],
};
static STANDARDS: Desc = Desc {
    name: "aws_securityhub_standards_enabled",
    help: "Standards the account subscribes to in the region (GetEnabledStandards), whatever their status.",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
static STANDARD_STATUS: Desc = Desc {
    name: "aws_securityhub_standard_status",
    help: "A standards subscription that is not READY: 1, labelled with its status (PENDING, FAILED, DELETING, INCOMPLETE) and StatusReasonCode (empty where AWS gives none).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "standard", "status", "reason"],
};
static ORG_CONFIGURATION: Desc = Desc {
    name: "aws_securityhub_org_configuration",
    help: "The organization's Security Hub CSPM configuration: 1, labelled with its ConfigurationType (LOCAL or CENTRAL) and Status (PENDING, ENABLED, FAILED).",
    kind: Kind::Gauge,
    labels: &["region", "configuration_type", "status"],
};
static ASSOCIATION_FAILED: Desc = Desc {
    name: "aws_securityhub_policy_association_failed",
    help: "A central configuration policy association whose AssociationStatus is FAILED: 1 per target (account, organizational unit or root).",
    kind: Kind::Gauge,
    labels: &["region", "target_id", "target_type"],
};
static FAILED_CONTROLS: Desc = Desc {
    name: "aws_securityhub_failed_controls",
    help: "Controls of a standard with at least one active failed finding in the account (compliance status FAILED, workflow NEW or NOTIFIED); accounts and standards without one have no series.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "standard"],
};
static CONTROL_ACCOUNTS: Desc = Desc {
    name: "aws_securityhub_control_failing_accounts",
    help: "Accounts in which the control has at least one active failed finding; controls failing nowhere have no series.",
    kind: Kind::Gauge,
    labels: &["region", "control"],
};
static PASS_RATIO: Desc = Desc {
    name: "aws_securityhub_control_pass_ratio",
    help: "Security score of a standard across the organization, as the exporter computes it: passed controls / (passed + failed controls), a control counting as failed when it has an active failed finding in any account and as passed when it has passed findings and no active failed one; controls with no data are left out. The new Security Hub only.",
    kind: Kind::Gauge,
    labels: &["region", "standard"],
};
static FINDINGS: Desc = Desc {
    name: "aws_securityhub_findings",
    help: "Active findings (workflow NEW or NOTIFIED; suppressed and resolved ones are not counted) of the account by severity label. Only the labels the collector's `severities` setting names (CRITICAL and HIGH by default); Security Hub CSPM zero-fills CRITICAL and HIGH for the administrator and every Enabled member it lists.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "severity"],
};
static BY_PRODUCT: Desc = Desc {
    name: "aws_securityhub_findings_by_product",
    help: "Active findings across the organization by the product that sent them (the new Security Hub only).",
    kind: Kind::Gauge,
    labels: &["region", "product"],
};
static CAPPED: Desc = Desc {
    name: "aws_securityhub_statistics_capped",
    help: "1 when a GetFindingStatisticsV2 grouping came back with max_statistic_results groups and could not be split further: its series may miss groups.",
    kind: Kind::Gauge,
    labels: &["region", "query"],
};

/// The severity labels exported for every listed account, zero included.
pub const ALWAYS: [&str; 2] = ["CRITICAL", "HIGH"];

/// The ASFF spelling of a severity (OCSF `Critical` is `CRITICAL`).
pub fn severity_label(s: &str) -> String {
    s.to_ascii_uppercase()
}

/// What both generations read of the organization's controls and findings in one region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Posture {
    /// Per (account, standard), the controls with an active failed finding.
    pub failing: BTreeMap<(String, String), BTreeSet<String>>,
    /// Per (account, severity label), active findings.
    pub findings: BTreeMap<(String, String), i64>,
    /// Control titles, where the answers gave them (ASFF findings' `Title`).
    pub titles: BTreeMap<String, String>,
}

fn item(account: &str, region: &str, subject: String, code: &str, message: String) -> Attention {
    Attention {
        concern: Concern::SecurityHub,
        account_id: account.to_string(),
        region: region.to_string(),
        subject,
        code: code.to_string(),
        message,
    }
}

/// Items for the overview, one per series that needs attention in `fams`' families of
/// `aws_securityhub_enabled` (0), `aws_securityhub_standard_status` (FAILED, INCOMPLETE) and
/// `aws_securityhub_findings` (CRITICAL above 0) — what the overview's count counts.
fn from_families(fams: &[Family], region: &str) -> Vec<Attention> {
    let mut out = Vec::new();
    for f in fams {
        for (labels, v) in f.samples() {
            let l: Vec<&str> = labels.values().collect();
            let at = |i: usize| l.get(i).copied().unwrap_or("");
            match f.desc().name {
                "aws_securityhub_enabled" if v == 0.0 => out.push(item(
                    at(0),
                    region,
                    "Security Hub not enabled".into(),
                    "disabled",
                    String::new(),
                )),
                "aws_securityhub_standard_status" if at(3) == "FAILED" || at(3) == "INCOMPLETE" => {
                    out.push(item(
                        at(0),
                        region,
                        format!("standard {}: {}", at(2), at(3)),
                        at(4),
                        String::new(),
                    ))
                }
                "aws_securityhub_findings" if at(2) == "CRITICAL" && v > 0.0 => out.push(item(
                    at(0),
                    region,
                    format!("{v} active CRITICAL findings"),
                    "CRITICAL",
                    String::new(),
                )),
                _ => {}
            }
        }
    }
    out
}

/// The families with their items (see [`from_families`]).
pub fn reading(region: &str, families: Vec<Family>) -> Reading {
    let items = from_families(&families, region);
    Reading { families, items }
}

/// The failed controls as a reading: one item per (account, standard) with failing controls,
/// naming them with their titles where known.
pub fn failed_controls_reading(region: &str, p: &Posture) -> Reading {
    let families = failed_controls(region, p);
    let items = p
        .failing
        .iter()
        .filter(|(_, c)| !c.is_empty())
        .map(|((account, standard), controls)| {
            let named: Vec<String> = controls
                .iter()
                .map(|c| match p.titles.get(c) {
                    Some(t) => format!("{c} ({t})"),
                    None => c.clone(),
                })
                .collect();
            item(
                account,
                region,
                format!("{standard}: {} failed controls", controls.len()),
                "FAILED",
                named.join("; "),
            )
        })
        .collect();
    Reading { families, items }
}

/// The failed associations as a reading, AWS's message with each.
pub fn associations_reading(region: &str, failed: &[FailedAssociation]) -> Reading {
    Reading {
        families: associations(region, failed),
        items: failed
            .iter()
            .map(|a| {
                item(
                    &a.target_id,
                    region,
                    format!("central configuration of {} {}", a.target_type, a.target_id),
                    "FAILED",
                    a.message.clone(),
                )
            })
            .collect(),
    }
}

/// The run's core: is Security Hub on for the administrator, and which generation is read.
pub fn hub(admin: &str, region: &str, generation: &str, enabled: bool) -> Vec<Family> {
    let mut on = Family::new(&ENABLED);
    on.push(&[admin, region], if enabled { 1.0 } else { 0.0 });
    let mut g = Family::new(&GENERATION);
    g.push_state(&[region], generation);
    vec![on, g]
}

/// The members as ListMembers lists them: 0 for each one not Enabled, and counts per status.
pub fn members(admin: &str, region: &str, members: &[Member]) -> Vec<Family> {
    let mut on = Family::new(&ENABLED);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (account, status) in members {
        *counts.entry(status.as_str()).or_default() += 1;
        if account != admin && status != "Enabled" {
            on.push(&[account, region], 0.0);
        }
    }
    let mut by = Family::new(&MEMBERS);
    for (status, n) in counts {
        by.push(&[region, status], n as f64);
    }
    vec![on, by]
}

/// The administrator's standards: their count, and those not READY.
pub fn standards(account: &str, region: &str, subs: &[Subscription]) -> Vec<Family> {
    let mut count = Family::new(&STANDARDS);
    count.push(&[account, region], subs.len() as f64);
    let mut status = Family::new(&STANDARD_STATUS);
    for s in subs.iter().filter(|s| s.status != "READY") {
        status.push_state(&[account, region, &s.standard, &s.status], &s.reason);
    }
    vec![count, status]
}

/// The organization configuration (type, status).
pub fn org_configuration(region: &str, conf_type: &str, status: &str) -> Vec<Family> {
    let mut f = Family::new(&ORG_CONFIGURATION);
    f.push_state(&[region, conf_type], status);
    vec![f]
}

/// The FAILED configuration policy associations.
pub fn associations(region: &str, failed: &[FailedAssociation]) -> Vec<Family> {
    let mut f = Family::new(&ASSOCIATION_FAILED);
    for a in failed {
        f.push(&[region, &a.target_id, &a.target_type], 1.0);
    }
    vec![f]
}

/// Failed controls per (account, standard) and failing accounts per control.
pub fn failed_controls(region: &str, p: &Posture) -> Vec<Family> {
    let mut per = Family::new(&FAILED_CONTROLS);
    let mut accounts: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for ((account, standard), controls) in &p.failing {
        if controls.is_empty() {
            continue;
        }
        per.push(&[account, region, standard], controls.len() as f64);
        for c in controls {
            accounts.entry(c).or_default().insert(account);
        }
    }
    let mut by = Family::new(&CONTROL_ACCOUNTS);
    for (control, a) in accounts {
        by.push(&[region, control], a.len() as f64);
    }
    vec![per, by]
}

/// Active findings per account and severity: those of CRITICAL and HIGH that were counted
/// (`counted`) for every account of `listed`, zero included; any label where not zero.
pub fn findings(region: &str, listed: &[&str], counted: &[String], p: &Posture) -> Vec<Family> {
    let mut counts: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for a in listed {
        for s in ALWAYS.iter().filter(|s| counted.iter().any(|c| c == *s)) {
            counts.insert((a, s), 0);
        }
    }
    for ((a, s), n) in &p.findings {
        if *n != 0 {
            *counts.entry((a.as_str(), s.as_str())).or_default() += n;
        }
    }
    let mut f = Family::new(&FINDINGS);
    for ((a, s), n) in counts {
        f.push(&[a, region, s], n as f64);
    }
    vec![f]
}

/// Active findings by product, organization-wide.
pub fn by_product(region: &str, groups: &[(String, i64)]) -> Vec<Family> {
    let mut f = Family::new(&BY_PRODUCT);
    let mut sum: BTreeMap<&str, i64> = BTreeMap::new();
    for (p, n) in groups {
        *sum.entry(p.as_str()).or_default() += n;
    }
    for (p, n) in sum {
        f.push(&[region, p], n as f64);
    }
    vec![f]
}

/// The score of each standard from (passed, failed) controls; a standard with neither has no
/// series.
pub fn pass_ratio(region: &str, per_standard: &BTreeMap<String, (usize, usize)>) -> Vec<Family> {
    let mut f = Family::new(&PASS_RATIO);
    for (s, (passed, failed)) in per_standard {
        let all = passed + failed;
        if all > 0 {
            f.push(&[region, s], *passed as f64 / all as f64);
        }
    }
    vec![f]
}

/// The groupings that may have missed groups.
pub fn capped(region: &str, queries: &BTreeSet<String>) -> Vec<Family> {
    let mut f = Family::new(&CAPPED);
    for q in queries {
        f.push(&[region, q], 1.0);
    }
    vec![f]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(fams: &[Family]) -> String {
        fams.iter().map(|f| f.text()).collect()
    }

    fn posture() -> Posture {
        let mut p = Posture::default();
        let fsbp = "standards/aws-foundational-security-best-practices/v/1.0.0";
        let cis = "standards/cis-aws-foundations-benchmark/v/1.4.0";
        p.failing.insert(
            ("111111111111".into(), fsbp.into()),
            ["IAM.6".to_string(), "S3.1".to_string()].into(),
        );
        p.failing.insert(
            ("111111111111".into(), cis.into()),
            ["IAM.6".to_string()].into(),
        );
        p.failing.insert(
            ("222222222222".into(), fsbp.into()),
            ["IAM.6".to_string()].into(),
        );
        p.failing
            .insert(("333333333333".into(), cis.into()), BTreeSet::new());
        p.findings
            .insert(("111111111111".into(), "CRITICAL".into()), 3);
        p.findings.insert(("111111111111".into(), "LOW".into()), 0);
        p.findings
            .insert(("222222222222".into(), "MEDIUM".into()), 7);
        p
    }

    #[test]
    fn golden_controls_and_findings() {
        let p = posture();
        let mut fams = failed_controls("eu-west-1", &p);
        fams.extend(findings(
            "eu-west-1",
            &["111111111111", "222222222222"],
            &["CRITICAL".to_string(), "HIGH".to_string()],
            &p,
        ));
        let want = "\
aws_securityhub_failed_controls{account_id=\"111111111111\",region=\"eu-west-1\",standard=\"standards/aws-foundational-security-best-practices/v/1.0.0\"} 2
aws_securityhub_failed_controls{account_id=\"111111111111\",region=\"eu-west-1\",standard=\"standards/cis-aws-foundations-benchmark/v/1.4.0\"} 1
aws_securityhub_failed_controls{account_id=\"222222222222\",region=\"eu-west-1\",standard=\"standards/aws-foundational-security-best-practices/v/1.0.0\"} 1
aws_securityhub_control_failing_accounts{region=\"eu-west-1\",control=\"IAM.6\"} 2
aws_securityhub_control_failing_accounts{region=\"eu-west-1\",control=\"S3.1\"} 1
aws_securityhub_findings{account_id=\"111111111111\",region=\"eu-west-1\",severity=\"CRITICAL\"} 3
aws_securityhub_findings{account_id=\"111111111111\",region=\"eu-west-1\",severity=\"HIGH\"} 0
aws_securityhub_findings{account_id=\"222222222222\",region=\"eu-west-1\",severity=\"CRITICAL\"} 0
aws_securityhub_findings{account_id=\"222222222222\",region=\"eu-west-1\",severity=\"HIGH\"} 0
aws_securityhub_findings{account_id=\"222222222222\",region=\"eu-west-1\",severity=\"MEDIUM\"} 7
";
        assert_eq!(text(&fams), want);
    }

    #[test]
    fn golden_administrator_members_standards_and_configuration() {
        let mut fams = hub("123456789012", "us-east-1", "cspm", true);
        fams.extend(members(
            "123456789012",
            "us-east-1",
            &[
                ("123456789012".into(), "Enabled".into()),
                ("210987654321".into(), "Enabled".into()),
                ("310987654321".into(), "Resigned".into()),
            ],
        ));
        fams.extend(standards(
            "123456789012",
            "us-east-1",
            &[
                Subscription {
                    standard: "standards/pci-dss/v/3.2.1".into(),
                    status: "FAILED".into(),
                    reason: "INTERNAL_ERROR".into(),
                },
                Subscription {
                    standard: "standards/nist-800-53/v/5.0.0".into(),
                    status: "READY".into(),
                    reason: String::new(),
                },
                Subscription {
                    standard: "standards/cis-aws-foundations-benchmark/v/1.4.0".into(),
                    status: "PENDING".into(),
                    reason: String::new(),
                },
            ],
        ));
        fams.extend(org_configuration("us-east-1", "CENTRAL", "ENABLED"));
        fams.extend(associations(
            "us-east-1",
            &[FailedAssociation {
                target_id: "444444444444".into(),
                target_type: "ACCOUNT".into(),
                message: "Policy could not be applied".into(),
            }],
        ));
        let want = "\
aws_securityhub_enabled{account_id=\"123456789012\",region=\"us-east-1\"} 1
aws_securityhub_generation{region=\"us-east-1\",generation=\"cspm\"} 1
aws_securityhub_enabled{account_id=\"310987654321\",region=\"us-east-1\"} 0
aws_securityhub_members{region=\"us-east-1\",status=\"Enabled\"} 2
aws_securityhub_members{region=\"us-east-1\",status=\"Resigned\"} 1
aws_securityhub_standards_enabled{account_id=\"123456789012\",region=\"us-east-1\"} 3
aws_securityhub_standard_status{account_id=\"123456789012\",region=\"us-east-1\",standard=\"standards/pci-dss/v/3.2.1\",status=\"FAILED\",reason=\"INTERNAL_ERROR\"} 1
aws_securityhub_standard_status{account_id=\"123456789012\",region=\"us-east-1\",standard=\"standards/cis-aws-foundations-benchmark/v/1.4.0\",status=\"PENDING\",reason=\"\"} 1
aws_securityhub_org_configuration{region=\"us-east-1\",configuration_type=\"CENTRAL\",status=\"ENABLED\"} 1
aws_securityhub_policy_association_failed{region=\"us-east-1\",target_id=\"444444444444\",target_type=\"ACCOUNT\"} 1
";
        assert_eq!(text(&fams), want);
    }

    /// The items are what the overview's PromQL count counts over the same families.
    #[test]
    fn items_agree_with_the_families() {
        let mut p = posture();
        p.titles.insert(
            "IAM.6".into(),
            "Hardware MFA should be enabled for the root user".into(),
        );
        let controls = failed_controls_reading("eu-west-1", &p);
        let counted = controls.families[0]
            .samples()
            .filter(|(_, v)| *v > 0.0)
            .count();
        assert_eq!(controls.items.len(), counted);
        assert!(controls.items[0]
            .message
            .contains("IAM.6 (Hardware MFA should be enabled for the root user)"));
        let mut fams = findings(
            "eu-west-1",
            &["111111111111", "222222222222"],
            &["CRITICAL".to_string()],
            &p,
        );
        fams.extend(hub("123456789012", "eu-west-1", "cspm", false));
        fams.extend(standards(
            "123456789012",
            "eu-west-1",
            &[
                Subscription {
                    standard: "standards/pci-dss/v/3.2.1".into(),
                    status: "INCOMPLETE".into(),
                    reason: "NO_AVAILABLE_CONFIGURATION_RECORDER".into(),
                },
                Subscription {
                    standard: "standards/nist-800-53/v/5.0.0".into(),
                    status: "PENDING".into(),
                    reason: String::new(),
                },
            ],
        ));
        let r = reading("eu-west-1", fams);
        let subjects: Vec<&str> = r.items.iter().map(|i| i.subject.as_str()).collect();
        assert_eq!(
            subjects,
            [
                "3 active CRITICAL findings",
                "Security Hub not enabled",
                "standard standards/pci-dss/v/3.2.1: INCOMPLETE"
            ]
        );
        let a = associations_reading(
            "us-east-1",
            &[FailedAssociation {
                target_id: "444444444444".into(),
                target_type: "ACCOUNT".into(),
                message: "Policy could not be applied".into(),
            }],
        );
        assert_eq!(a.items.len(), 1);
        assert_eq!(a.items[0].message, "Policy could not be applied");
    }

    #[test]
    fn golden_organization_statistics() {
        let mut fams = by_product(
            "eu-west-1",
            &[("GuardDuty".into(), 12), ("Inspector".into(), 3)],
        );
        let ratio: BTreeMap<String, (usize, usize)> = [
            ("standards/pci-dss/v/3.2.1".to_string(), (3, 1)),
            ("standards/nist-800-53/v/5.0.0".to_string(), (0, 0)),
        ]
        .into();
        fams.extend(pass_ratio("eu-west-1", &ratio));
        fams.extend(capped(
            "eu-west-1",
            &["severity CRITICAL by cloud.account.uid".to_string()].into(),
        ));
        fams.extend(hub("123456789012", "eu-west-1", "ocsf", false));
        let want = "\
aws_securityhub_findings_by_product{region=\"eu-west-1\",product=\"GuardDuty\"} 12
aws_securityhub_findings_by_product{region=\"eu-west-1\",product=\"Inspector\"} 3
aws_securityhub_control_pass_ratio{region=\"eu-west-1\",standard=\"standards/pci-dss/v/3.2.1\"} 0.75
aws_securityhub_statistics_capped{region=\"eu-west-1\",query=\"severity CRITICAL by cloud.account.uid\"} 1
aws_securityhub_enabled{account_id=\"123456789012\",region=\"eu-west-1\"} 0
aws_securityhub_generation{region=\"eu-west-1\",generation=\"ocsf\"} 1
";
        assert_eq!(text(&fams), want);
        assert_eq!(severity_label("Critical"), "CRITICAL");
    }
}
