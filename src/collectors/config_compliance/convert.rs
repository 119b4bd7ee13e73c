//! Pure conversion of rule and conformance pack compliance into metric families.
//!
//! Cardinality follows what needs attention: the per-account counts are a handful of series per
//! (account, region); a (rule, account, region) gets a series of its own only when its compliance
//! type is one of the detail types (by default NON_COMPLIANT), and a resource count only where
//! AWS gave one (AWS counts non-compliant resources only). A count AWS capped keeps its own flag
//! beside it, so a floor is never read as the number.
//!
//! The organization-wide roll-up per rule (`aws_config_rule_account_regions`) is exported only
//! from an aggregator: in the per-account mode every job sees one account and region, and a
//! roll-up from each would export the same label set once per job.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use super::api::{PackCompliance, RuleCompliance};
use super::config::ZERO_FILLED;
use crate::metrics::{Attention, Concern, Desc, Family, Kind, Reading};

static PACK_SCORE: Desc = Desc {
    name: "aws_config_conformance_pack_compliance_score_ratio",
    help: "A conformance pack's compliance score as a ratio (AWS's percentage / 100): AWS defines the score as the percentage of the number of compliant rule-resource combinations in the pack compared to the number of total possible rule-resource combinations (ListConformancePackComplianceScores); only for packs below 1 (a fully compliant pack, or one AWS scores INSUFFICIENT_DATA because it has no evaluation results, has no series); read per account and region (not from an aggregator).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "pack"],
};

static RULES_BY: Desc = Desc {
    name: "aws_config_rules_by_compliance",
    help: "AWS Config rules of an account and region per compliance type: NON_COMPLIANT always (0 when none), another type only where it counts something (from an aggregator, rules without a compliance result are not listed by AWS, so INSUFFICIENT_DATA may be under-counted).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "compliance"],
};
static RULE: Desc = Desc {
    name: "aws_config_rule_compliance",
    help: "1 for a Config rule in an account and region whose compliance type is one of the \
           configured detail types (detail_compliance, none by default: a NON_COMPLIANT rule has \
           aws_config_rule_noncompliant_resources), with that type.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "rule", "compliance"],
};
static RESOURCES: Desc = Desc {
    name: "aws_config_rule_noncompliant_resources",
    help: "Non-compliant resources of a Config rule in an account and region, as AWS counts them \
           (its CappedCount: a floor where aws_config_rule_noncompliant_resources_capped is 1).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "rule"],
};
static CAPPED: Desc = Desc {
    name: "aws_config_rule_noncompliant_resources_capped",
    help: "1 where AWS capped the non-compliant resource count of a Config rule (CapExceeded): \
           there are more resources than aws_config_rule_noncompliant_resources says; an exact \
           count has no series here.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "rule"],
};
static RULE_ACCOUNT_REGIONS: Desc = Desc {
    name: "aws_config_rule_account_regions",
    help: "Account-region pairs of a Config rule per compliance type, across the aggregator \
           (exported only when reading from an aggregator): NON_COMPLIANT always, another type \
           only where it counts something.",
    kind: Kind::Gauge,
    labels: &["rule", "compliance"],
};
static PACKS_BY: Desc = Desc {
    name: "aws_config_conformance_packs_by_compliance",
    help: "AWS Config conformance packs of an account and region per compliance type: NON_COMPLIANT always (0 when none), another type only where it counts something.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "compliance"],
};
static PACK: Desc = Desc {
    name: "aws_config_conformance_pack_compliance",
    help: "1 for a conformance pack in an account and region whose compliance type is one of the \
           configured detail types (detail_compliance, none by default: a NON_COMPLIANT pack has \
           aws_config_conformance_pack_noncompliant_rules), with that type.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "pack", "compliance"],
};
static PACK_RULES: Desc = Desc {
    name: "aws_config_conformance_pack_noncompliant_rules",
    help: "Non-compliant rules of a conformance pack in an account and region, for packs that have any.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "pack"],
};

static FULL_READ: Desc = Desc {
    name: "aws_config_compliance_full_read_timestamp_seconds",
    help: "When the aggregator's compliance was last listed whole. Between two full listings \
           only NON_COMPLIANT results are read: a rule result that moves between COMPLIANT and \
           INSUFFICIENT_DATA, or is added or removed while not NON_COMPLIANT, shows at the next.",
    kind: Kind::Gauge,
    labels: &["aggregator"],
};

/// The time of the aggregator's last full listing.
pub fn full_read(aggregator: &str, at: SystemTime) -> Family {
    let mut f = Family::new(&FULL_READ);
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64);
    f.push(&[aggregator], secs);
    f
}

/// What one run read, whichever the source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compliance {
    /// Every (account, region) the run covers: zero-filled even without rules or packs.
    pub covered: BTreeSet<(String, String)>,
    /// Rule compliance, one entry per (account, region, rule).
    pub rules: Vec<RuleCompliance>,
    /// Pack compliance, one entry per (account, region, pack).
    pub packs: Vec<PackCompliance>,
    /// Export the organization-wide roll-up per rule (aggregator only).
    pub rollup: bool,
}

/// Counts per type of one (account, region): NON_COMPLIANT always (0 is an answer: the
/// account and region were read and nothing in them is non-compliant), every other type only
/// where it counts something, the documented types first, then any other type AWS answered,
/// under its raw spelling.
fn per_type<'a>(fam: &mut Family, labels: &[&str], types: impl Iterator<Item = &'a str>) {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::from([(NON_COMPLIANT, 0)]);
    for t in types {
        *counts.entry(t).or_insert(0) += 1;
    }
    push_counts(fam, labels, &counts);
}

/// One sample per type of `counts` that is NON_COMPLIANT or counts something, in the order
/// of [`ZERO_FILLED`] (the documented types), then the others by name.
fn push_counts(fam: &mut Family, labels: &[&str], counts: &BTreeMap<&str, u64>) {
    let order = ZERO_FILLED
        .iter()
        .copied()
        .chain(counts.keys().copied().filter(|t| !ZERO_FILLED.contains(t)));
    for t in order {
        let n = counts.get(t).copied().unwrap_or(0);
        if n > 0 || t == NON_COMPLIANT {
            let mut l = labels.to_vec();
            l.push(t);
            fam.push(&l, n as f64);
        }
    }
}

/// The families of one run; `detail` names the compliance types listed one by one.
pub fn families(c: &Compliance, detail: &[String]) -> Vec<Family> {
    let mut all = rule_families(c, detail);
    all.extend(pack_families(c, detail));
    all
}

/// The families of the rule results: a part of their own.
pub fn rule_families(c: &Compliance, detail: &[String]) -> Vec<Family> {
    let is_detail = |t: &str| detail.iter().any(|d| d == t);
    let mut rules: Vec<&RuleCompliance> = c.rules.iter().collect();
    rules.sort_by(|a, b| {
        (&a.account_id, &a.region, &a.rule).cmp(&(&b.account_id, &b.region, &b.rule))
    });
    let mut by = Family::new(&RULES_BY);
    for (a, r) in &c.covered {
        per_type(
            &mut by,
            &[a, r],
            rules
                .iter()
                .filter(|x| &x.account_id == a && &x.region == r)
                .map(|x| x.compliance.as_str()),
        );
    }

    let mut rule = Family::new(&RULE);
    let mut resources = Family::new(&RESOURCES);
    let mut capped = Family::new(&CAPPED);
    let mut rollup: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for x in &rules {
        let l = [x.account_id.as_str(), x.region.as_str(), x.rule.as_str()];
        if is_detail(&x.compliance) {
            rule.push(&[l[0], l[1], l[2], &x.compliance], 1.0);
        }
        if let Some(n) = x.noncompliant_resources {
            resources.push(&l, n as f64);
            if x.capped {
                capped.push(&l, 1.0);
            }
        }
        *rollup
            .entry(&x.rule)
            .or_default()
            .entry(&x.compliance)
            .or_insert(0) += 1;
    }
    let mut account_regions = Family::new(&RULE_ACCOUNT_REGIONS);
    if c.rollup {
        for (name, types) in &rollup {
            push_counts(&mut account_regions, &[name], types);
        }
    }
    vec![by, rule, resources, capped, account_regions]
}

/// The rule results' part: [`rule_families`] and each NON_COMPLIANT rule as an item with its
/// resource count (the rule's `aws_config_rule_noncompliant_resources`).
pub fn rule_reading(c: &Compliance, detail: &[String]) -> Reading {
    let items = c
        .rules
        .iter()
        .filter(|x| x.compliance == NON_COMPLIANT)
        .map(|x| Attention {
            concern: Concern::NonCompliant,
            account_id: x.account_id.clone(),
            region: x.region.clone(),
            subject: format!("rule {}", x.rule),
            code: NON_COMPLIANT.to_string(),
            message: match (x.noncompliant_resources, x.capped) {
                (Some(n), true) => {
                    format!("at least {n} non-compliant resources (AWS caps the count)")
                }
                (Some(n), false) => format!("{n} non-compliant resources"),
                (None, _) => String::new(),
            },
        })
        .collect();
    Reading {
        families: rule_families(c, detail),
        items,
    }
}

/// The conformance packs' part: [`pack_families`] and each NON_COMPLIANT pack as an item with
/// its count of non-compliant rules (the pack's `aws_config_conformance_pack_noncompliant_rules`).
pub fn pack_reading(c: &Compliance, detail: &[String]) -> Reading {
    let items = c
        .packs
        .iter()
        .filter(|x| x.compliance == NON_COMPLIANT)
        .map(|x| Attention {
            concern: Concern::NonCompliant,
            account_id: x.account_id.clone(),
            region: x.region.clone(),
            subject: format!("conformance pack {}", x.pack),
            code: NON_COMPLIANT.to_string(),
            message: format!("{} non-compliant rules", x.noncompliant_rules),
        })
        .collect();
    Reading {
        families: pack_families(c, detail),
        items,
    }
}

/// `aws_config_conformance_pack_compliance_score_ratio` of one account and region from
/// ListConformancePackComplianceScores' (pack, score) pairs: the score, a percentage string,
/// divided by 100, for packs below 100. `INSUFFICIENT_DATA` (the model: "Conformance packs with
/// no evaluation results will have a compliance score of INSUFFICIENT_DATA") has no series; a
/// score that is not a number in 0-100 is left out and reported in `anomalies`. A pack listed
/// twice is exported once (its first score).
pub fn pack_scores(
    account_id: &str,
    region: &str,
    scores: &[(String, String)],
    anomalies: &mut Vec<String>,
) -> Family {
    let mut f = Family::new(&PACK_SCORE);
    let mut seen = BTreeSet::new();
    for (pack, score) in scores {
        if !seen.insert(pack.as_str()) || score == "INSUFFICIENT_DATA" {
            continue;
        }
        match score.trim().parse::<f64>() {
            Ok(v) if (0.0..=100.0).contains(&v) => {
                if v < 100.0 {
                    f.push(&[account_id, region, pack], v / 100.0);
                }
            }
            _ => anomalies.push(format!(
                "conformance pack {pack}: compliance score {score:?} is not a percentage; left out"
            )),
        }
    }
    f
}

/// The compliance type that needs attention.
const NON_COMPLIANT: &str = "NON_COMPLIANT";

/// The families of the conformance pack results: a part of their own.
pub fn pack_families(c: &Compliance, detail: &[String]) -> Vec<Family> {
    let is_detail = |t: &str| detail.iter().any(|d| d == t);
    let mut packs: Vec<&PackCompliance> = c.packs.iter().collect();
    packs.sort_by(|a, b| {
        (&a.account_id, &a.region, &a.pack).cmp(&(&b.account_id, &b.region, &b.pack))
    });
    let mut packs_by = Family::new(&PACKS_BY);
    for (a, r) in &c.covered {
        per_type(
            &mut packs_by,
            &[a, r],
            packs
                .iter()
                .filter(|x| &x.account_id == a && &x.region == r)
                .map(|x| x.compliance.as_str()),
        );
    }
    let mut pack = Family::new(&PACK);
    let mut pack_rules = Family::new(&PACK_RULES);
    for x in &packs {
        let l = [x.account_id.as_str(), x.region.as_str(), x.pack.as_str()];
        if is_detail(&x.compliance) {
            pack.push(&[l[0], l[1], l[2], &x.compliance], 1.0);
        }
        if x.noncompliant_rules > 0 {
            pack_rules.push(&l, x.noncompliant_rules as f64);
        }
    }
    vec![packs_by, pack, pack_rules]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(fams: &[Family]) -> String {
        fams.iter().map(|f| f.text()).collect()
    }

    /// Scores below 100 become ratios; 100, INSUFFICIENT_DATA and a repeated pack add no
    /// series; what is not a percentage is reported.
    #[test]
    fn pack_scores_are_ratios_below_one_only() {
        let s = |p: &str, v: &str| (p.to_string(), v.to_string());
        let mut anomalies = Vec::new();
        let f = pack_scores(
            "111111111111",
            "us-east-1",
            &[
                s("pci", "62.5"),
                s("cis", "100"),
                s("hipaa", "INSUFFICIENT_DATA"),
                s("pci", "10"),
                s("nist", "0"),
                s("odd", "abc"),
                s("big", "120"),
            ],
            &mut anomalies,
        );
        let t = f.text();
        assert!(t.contains("aws_config_conformance_pack_compliance_score_ratio{account_id=\"111111111111\",region=\"us-east-1\",pack=\"pci\"} 0.625\n"), "{t}");
        assert!(t.contains("pack=\"nist\"} 0\n"), "{t}");
        for absent in ["cis", "hipaa", "odd", "big", "} 0.1\n"] {
            assert!(!t.contains(absent), "{absent}: {t}");
        }
        assert_eq!(anomalies.len(), 2, "{anomalies:?}");
    }

    fn rule(a: &str, r: &str, name: &str, t: &str, n: Option<i64>, capped: bool) -> RuleCompliance {
        RuleCompliance {
            account_id: a.into(),
            region: r.into(),
            rule: name.into(),
            compliance: t.into(),
            noncompliant_resources: n,
            capped,
        }
    }

    /// The items flag what the families flag: each NON_COMPLIANT rule (its resource count) and
    /// pack (its count of non-compliant rules), whatever types are listed one by one.
    #[test]
    fn items_count_what_the_families_flag() {
        use crate::metrics::count_samples;
        let c = sample();
        for detail in [
            vec![],
            vec!["NON_COMPLIANT".to_string()],
            vec!["COMPLIANT".to_string()],
        ] {
            let rules = rule_reading(&c, &detail);
            let packs = pack_reading(&c, &detail);
            let any = |f: &[Family], name: &str| count_samples(f, name, |_, _| true);
            let nc_rules = c.rules.iter().filter(|r| r.compliance == NON_COMPLIANT);
            assert!(nc_rules.clone().all(|r| r.noncompliant_resources.is_some()));
            assert_eq!(rules.items.len(), nc_rules.count());
            assert_eq!(
                rules.items.len(),
                any(&rules.families, "aws_config_rule_noncompliant_resources")
            );
            assert_eq!(
                packs.items.len(),
                any(
                    &packs.families,
                    "aws_config_conformance_pack_noncompliant_rules"
                )
            );
        }
        let rules = rule_reading(&c, &["NON_COMPLIANT".to_string()]);
        let messages: Vec<&str> = rules.items.iter().map(|i| i.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "at least 100 non-compliant resources (AWS caps the count)",
                "3 non-compliant resources"
            ]
        );
        let packs = pack_reading(&c, &["NON_COMPLIANT".to_string()]);
        assert_eq!(packs.items[0].message, "4 non-compliant rules");
    }

    fn sample() -> Compliance {
        let a = "111111111111";
        let b = "222222222222";
        Compliance {
            covered: [
                (a.to_string(), "us-east-1".to_string()),
                (b.to_string(), "us-east-1".to_string()),
            ]
            .into(),
            rules: vec![
                rule(b, "us-east-1", "s3-versioning", "COMPLIANT", None, false),
                rule(
                    a,
                    "us-east-1",
                    "s3-versioning",
                    "NON_COMPLIANT",
                    Some(100),
                    true,
                ),
                rule(
                    a,
                    "us-east-1",
                    "encrypted-volumes",
                    "NON_COMPLIANT",
                    Some(3),
                    false,
                ),
                rule(a, "us-east-1", "root-mfa", "INSUFFICIENT_DATA", None, false),
                rule(
                    a,
                    "us-east-1",
                    "iam-policy",
                    "PARTIALLY_COMPLIANT",
                    None,
                    false,
                ),
            ],
            packs: vec![
                PackCompliance {
                    account_id: a.into(),
                    region: "us-east-1".into(),
                    pack: "operational-best-practices".into(),
                    compliance: "NON_COMPLIANT".into(),
                    noncompliant_rules: 4,
                },
                PackCompliance {
                    account_id: a.into(),
                    region: "us-east-1".into(),
                    pack: "cis".into(),
                    compliance: "COMPLIANT".into(),
                    noncompliant_rules: 0,
                },
            ],
            rollup: true,
        }
    }

    #[test]
    fn golden_every_type_zero_filled_capped_and_unknown() {
        let want = "\
aws_config_rules_by_compliance{account_id=\"111111111111\",region=\"us-east-1\",compliance=\"NON_COMPLIANT\"} 2
aws_config_rules_by_compliance{account_id=\"111111111111\",region=\"us-east-1\",compliance=\"INSUFFICIENT_DATA\"} 1
aws_config_rules_by_compliance{account_id=\"111111111111\",region=\"us-east-1\",compliance=\"PARTIALLY_COMPLIANT\"} 1
aws_config_rules_by_compliance{account_id=\"222222222222\",region=\"us-east-1\",compliance=\"COMPLIANT\"} 1
aws_config_rules_by_compliance{account_id=\"222222222222\",region=\"us-east-1\",compliance=\"NON_COMPLIANT\"} 0
aws_config_rule_compliance{account_id=\"111111111111\",region=\"us-east-1\",rule=\"encrypted-volumes\",compliance=\"NON_COMPLIANT\"} 1
aws_config_rule_compliance{account_id=\"111111111111\",region=\"us-east-1\",rule=\"s3-versioning\",compliance=\"NON_COMPLIANT\"} 1
aws_config_rule_noncompliant_resources{account_id=\"111111111111\",region=\"us-east-1\",rule=\"encrypted-volumes\"} 3
aws_config_rule_noncompliant_resources{account_id=\"111111111111\",region=\"us-east-1\",rule=\"s3-versioning\"} 100
aws_config_rule_noncompliant_resources_capped{account_id=\"111111111111\",region=\"us-east-1\",rule=\"s3-versioning\"} 1
aws_config_rule_account_regions{rule=\"encrypted-volumes\",compliance=\"NON_COMPLIANT\"} 1
aws_config_rule_account_regions{rule=\"iam-policy\",compliance=\"NON_COMPLIANT\"} 0
aws_config_rule_account_regions{rule=\"iam-policy\",compliance=\"PARTIALLY_COMPLIANT\"} 1
aws_config_rule_account_regions{rule=\"root-mfa\",compliance=\"NON_COMPLIANT\"} 0
aws_config_rule_account_regions{rule=\"root-mfa\",compliance=\"INSUFFICIENT_DATA\"} 1
aws_config_rule_account_regions{rule=\"s3-versioning\",compliance=\"COMPLIANT\"} 1
aws_config_rule_account_regions{rule=\"s3-versioning\",compliance=\"NON_COMPLIANT\"} 1
aws_config_conformance_packs_by_compliance{account_id=\"111111111111\",region=\"us-east-1\",compliance=\"COMPLIANT\"} 1
aws_config_conformance_packs_by_compliance{account_id=\"111111111111\",region=\"us-east-1\",compliance=\"NON_COMPLIANT\"} 1
aws_config_conformance_packs_by_compliance{account_id=\"222222222222\",region=\"us-east-1\",compliance=\"NON_COMPLIANT\"} 0
aws_config_conformance_pack_compliance{account_id=\"111111111111\",region=\"us-east-1\",pack=\"operational-best-practices\",compliance=\"NON_COMPLIANT\"} 1
aws_config_conformance_pack_noncompliant_rules{account_id=\"111111111111\",region=\"us-east-1\",pack=\"operational-best-practices\"} 4
";
        assert_eq!(text(&families(&sample(), &["NON_COMPLIANT".into()])), want);
    }

    #[test]
    fn detail_types_choose_the_rule_series_and_the_rollup_needs_an_aggregator() {
        let mut c = sample();
        c.rollup = false;
        let fams = families(&c, &["INSUFFICIENT_DATA".into(), "COMPLIANT".into()]);
        let t = text(&fams);
        assert!(
            t.contains("rule=\"root-mfa\",compliance=\"INSUFFICIENT_DATA\"} 1"),
            "{t}"
        );
        assert!(t.contains("account_id=\"222222222222\",region=\"us-east-1\",rule=\"s3-versioning\",compliance=\"COMPLIANT\"} 1"), "{t}");
        assert!(!t.contains("aws_config_rule_compliance{account_id=\"111111111111\",region=\"us-east-1\",rule=\"s3-versioning\""), "{t}");
        assert!(
            t.contains("pack=\"cis\",compliance=\"COMPLIANT\"} 1"),
            "{t}"
        );
        assert!(!t.contains("aws_config_rule_account_regions"), "{t}");
        // The resource counts do not depend on the detail types.
        assert!(t.contains("aws_config_rule_noncompliant_resources_capped{account_id=\"111111111111\",region=\"us-east-1\",rule=\"s3-versioning\"} 1"), "{t}");
    }
}
