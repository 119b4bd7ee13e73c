//! The `collectors.config_compliance` section.
//!
//! One section, two sources: with `aggregator` set the collector reads that aggregator once, from
//! `target` in `region` (an organization job); without it every (account, region) target reads
//! its own rules and packs. The choice is the section's, so the two sources can never both cover
//! one account: there is no configuration in which both run.

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Key, Own, Parts};

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

/// `config_compliance`: Config rule and conformance pack compliance per account and region,
/// every 15 minutes by default.
pub type Settings = Parts<900, Compliance>;

/// What is particular to `config_compliance`. Its placement keys are `target` and `region`, and
/// only with `aggregator`: `region` stays singular because an aggregator lives in one region
/// (it already gathers every region of its sources), so a list would read one aggregator twice
/// or name aggregators that do not exist.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Compliance {
    /// Name of an organization (or account) configuration aggregator to read everything from,
    /// from `target` (defaults to the first target) in `region` (defaults to `aws.region`).
    /// When set, no account is read on its own; when absent, every account and region is.
    #[serde(default)]
    pub aggregator: Option<String>,
    /// Compliance types listed rule by rule (and pack by pack) in `aws_config_rule_compliance`
    /// and `aws_config_conformance_pack_compliance`; none by default.
    #[serde(default = "default_detail")]
    pub detail_compliance: Vec<String>,
    /// Time between two full listings of the aggregator; the runs in between read only what is
    /// NON_COMPLIANT (see [`Compliance::incremental`]). Defaults to 1h. Only with `aggregator`.
    #[serde(default)]
    pub full_read_interval: Option<HumanDuration>,
}

/// None by default: a NON_COMPLIANT rule or pack already has its series of its own
/// (`aws_config_rule_noncompliant_resources`, `aws_config_conformance_pack_noncompliant_rules`),
/// and a 1 beside each would repeat them.
fn default_detail() -> Vec<String> {
    Vec::new()
}

impl Compliance {
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

impl Default for Compliance {
    fn default() -> Self {
        Compliance {
            aggregator: None,
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

/// Without an aggregator every account and region is read on its own: there is nothing to place.
const ONLY_WITH_AGGREGATOR: &str =
    "only with `aggregator`: without one every account and region is read on its own";

impl Own for Compliance {
    const PLACEMENT: &'static [Key] = &[Key::Target, Key::Region];

    fn placement_unused(&self) -> Option<&'static str> {
        self.aggregator.is_none().then_some(ONLY_WITH_AGGREGATOR)
    }

    fn validate(&self, path: &str, _: &ValidateContext<'_>, p: &mut Problems) {
        match &self.aggregator {
            Some(a) if !valid_aggregator_name(a) => p.at(
                format!("{path}.aggregator"),
                format!("`{a}` is not an aggregator name (1 to 256 letters, digits, `_` or `-`)"),
            ),
            Some(_) => {}
            None if self.full_read_interval.is_some() => {
                p.at(format!("{path}.full_read_interval"), ONLY_WITH_AGGREGATOR)
            }
            None => {}
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
