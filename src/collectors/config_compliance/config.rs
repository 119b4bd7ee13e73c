//! The `collectors.config_compliance` section.
//!
//! One section, two sources: with `aggregator` set the collector reads that aggregator once, from
//! `target` in `region` (an organization job); without it every (account, region) target reads
//! its own rules and packs. The choice is the section's, so the two sources can never both cover
//! one account: there is no configuration in which both run.

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Placement, Section};
use crate::config::shapes::valid_region;

/// The compliance types of a Config rule, as AWS spells them (the service model's
/// `ComplianceType`; AWS documents that a rule's compliance is never `NOT_APPLICABLE`, but the
/// enum has it, so it is accepted as a detail type).
pub const RULE_COMPLIANCE: &[&str] = &[
    "COMPLIANT",
    "NON_COMPLIANT",
    "INSUFFICIENT_DATA",
    "NOT_APPLICABLE",
];

/// The compliance types that are zero-filled in the per-account counts (what AWS documents a
/// rule or a conformance pack can be).
pub const ZERO_FILLED: &[&str] = &["COMPLIANT", "NON_COMPLIANT", "INSUFFICIENT_DATA"];

/// `config_compliance`: Config rule and conformance pack compliance per account and region.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Run this collector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Time between two runs.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Longest a run may take; defaults to the interval, at most 5m.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Name of an organization (or account) configuration aggregator to read everything from.
    /// When set, no account is read on its own; when absent, every account and region is.
    #[serde(default)]
    pub aggregator: Option<String>,
    /// Target holding the aggregator; defaults to the first target. Only with `aggregator`.
    #[serde(default)]
    pub target: Option<String>,
    /// Region of the aggregator; defaults to `aws.region`. Only with `aggregator`.
    #[serde(default)]
    pub region: Option<String>,
    /// Compliance types listed rule by rule (and pack by pack) in `aws_config_rule_compliance`
    /// and `aws_config_conformance_pack_compliance`; none by default.
    #[serde(default = "default_detail")]
    pub detail_compliance: Vec<String>,
    /// Time between two full listings of the aggregator; the runs in between read only what is
    /// NON_COMPLIANT (see [`Settings::incremental`]). Defaults to 1h. Only with `aggregator`.
    #[serde(default)]
    pub full_read_interval: Option<HumanDuration>,
}

fn yes() -> bool {
    true
}
fn default_interval() -> HumanDuration {
    d(900)
}
/// None by default: a NON_COMPLIANT rule or pack already has its series of its own
/// (`aws_config_rule_noncompliant_resources`, `aws_config_conformance_pack_noncompliant_rules`),
/// and a 1 beside each would repeat them.
fn default_detail() -> Vec<String> {
    Vec::new()
}

impl Settings {
    /// Time between two full listings of the aggregator.
    pub fn full_read_interval(&self) -> HumanDuration {
        self.full_read_interval.unwrap_or(d(3600))
    }

    /// True when the runs between full listings may read only the NON_COMPLIANT results: the
    /// detail types ask for nothing else rule by rule (a COMPLIANT or INSUFFICIENT_DATA rule
    /// series would lag until the next full listing; AWS filters rules only by COMPLIANT or
    /// NON_COMPLIANT).
    pub fn incremental(&self) -> bool {
        self.detail_compliance.iter().all(|t| t == "NON_COMPLIANT")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            interval: default_interval(),
            timeout: None,
            aggregator: None,
            target: None,
            region: None,
            detail_compliance: default_detail(),
            full_read_interval: None,
        }
    }
}

/// The aggregator name shape of the service model (`[\w\-]+`, 1 to 256 characters).
fn valid_aggregator_name(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Section for Settings {
    fn common(&self) -> (bool, HumanDuration, Option<HumanDuration>) {
        (self.enabled, self.interval, self.timeout)
    }

    fn placement(&self) -> Placement {
        Placement {
            target: self.target.clone(),
            regions: self.region.clone().map(|r| vec![r]),
            ..Placement::default()
        }
    }

    fn validate(&self, path: &str, ctx: &ValidateContext<'_>, p: &mut Problems) {
        match &self.aggregator {
            Some(a) if !valid_aggregator_name(a) => p.at(
                format!("{path}.aggregator"),
                format!("`{a}` is not an aggregator name (1 to 256 letters, digits, `_` or `-`)"),
            ),
            Some(_) => {}
            None => {
                for (field, set) in [
                    ("target", self.target.is_some()),
                    ("region", self.region.is_some()),
                    ("full_read_interval", self.full_read_interval.is_some()),
                ] {
                    if set {
                        p.at(
                            format!("{path}.{field}"),
                            "only with `aggregator`: without one every account and region \
                             is read on its own",
                        );
                    }
                }
            }
        }
        ctx.check_target(&format!("{path}.target"), self.target.as_ref(), p);
        if let Some(r) = &self.region {
            if !valid_region(r) {
                p.at(
                    format!("{path}.region"),
                    format!("`{r}` is not an AWS region name"),
                );
            }
        }
        for (i, s) in self.detail_compliance.iter().enumerate() {
            if !RULE_COMPLIANCE.contains(&s.as_str()) {
                p.at(
                    format!("{path}.detail_compliance[{i}]"),
                    format!(
                        "`{s}` is not a compliance type; expected one of {}",
                        RULE_COMPLIANCE.join(", ")
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregator_names_follow_the_model() {
        assert!(valid_aggregator_name("org-aggregator_2"));
        assert!(!valid_aggregator_name(""));
        assert!(!valid_aggregator_name("with space"));
        assert!(!valid_aggregator_name(&"a".repeat(257)));
    }
}
