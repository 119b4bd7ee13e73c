//! The `collectors.security_hub` section: off unless enabled (it reads from the Security Hub
//! delegated administrator, which the user names with `target`), every 10 minutes by default,
//! one job per region of `regions`; which generation of Security Hub to read, and the size of
//! the statistics answers.

use serde::Deserialize;

use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Key, Own, Parts, Placement};

/// Which Security Hub is read.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// The new Security Hub (OCSF) where DescribeSecurityHubV2 answers in the region, Security
    /// Hub CSPM otherwise.
    #[default]
    Auto,
    /// The new Security Hub only: GetFindingStatisticsV2.
    Ocsf,
    /// Security Hub CSPM only (ASFF): DescribeHub, GetEnabledStandards, ListMembers,
    /// GetFindings, ...
    Cspm,
}

/// `security_hub`: Security Hub across the organization, from its delegated administrator.
pub type Settings = Parts<600, SecurityHub>;

/// What is particular to `security_hub`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecurityHub {
    /// `auto` (default), `ocsf` or `cspm`.
    #[serde(default)]
    pub generation: Generation,
    /// GetFindingStatisticsV2's `MaxStatisticResults` (the model: 1 to 400). A grouping by
    /// account that comes back this full is asked again split by account-id prefix; any other
    /// grouping that does is flagged in `aws_securityhub_statistics_capped`.
    #[serde(default = "default_max_statistic_results")]
    pub max_statistic_results: i32,
    /// The severity labels (ASFF's spelling) whose active findings are counted per account, in
    /// both generations. The new Security Hub pays a few rules for each; Security Hub CSPM reads
    /// every finding of them through GetFindings, 100 a call, so each label costs calls in
    /// proportion to its findings.
    #[serde(default = "default_severities")]
    pub severities: Vec<String>,
    /// Security Hub CSPM: the home region, where ListConfigurationPolicyAssociations is asked
    /// ("Only the Security Hub CSPM delegated administrator can invoke this operation from the
    /// home Region."). Default: the first of `regions`; required with `regions: enabled`.
    #[serde(default)]
    pub home_region: Option<String>,
}

fn default_max_statistic_results() -> i32 {
    400
}

fn default_severities() -> Vec<String> {
    vec!["CRITICAL".into(), "HIGH".into()]
}

/// The model's `SeverityLabel` enum.
pub const SEVERITY_LABELS: [&str; 5] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

impl Default for SecurityHub {
    fn default() -> Self {
        SecurityHub {
            generation: Generation::default(),
            max_statistic_results: default_max_statistic_results(),
            severities: default_severities(),
            home_region: None,
        }
    }
}

impl Own for SecurityHub {
    const PLACEMENT: &'static [Key] = &[Key::Target, Key::Regions];
    const ENABLED_BY_DEFAULT: bool = false;

    fn validate_placed(&self, place: &Placement, path: &str, p: &mut Problems) {
        // The enabled regions change with the account, and their order is AWS's: no fixed first.
        if place.regions_from_aws() && self.home_region.is_none() {
            p.at(
                format!("{path}.home_region"),
                "with `regions: enabled`, name the home region (where the delegated administrator reads configuration policy associations)",
            );
        }
    }

    fn validate(&self, path: &str, _: &ValidateContext<'_>, p: &mut Problems) {
        if !(1..=400).contains(&self.max_statistic_results) {
            p.at(
                format!("{path}.max_statistic_results"),
                "must be 1 to 400 (GetFindingStatisticsV2's MaxStatisticResults)",
            );
        }
        for (i, s) in self.severities.iter().enumerate() {
            if !SEVERITY_LABELS.contains(&s.as_str()) {
                p.at(
                    format!("{path}.severities[{i}]"),
                    format!("`{s}` is not one of {}", SEVERITY_LABELS.join(", ")),
                );
            }
        }
        if let Some(r) = &self.home_region {
            if !crate::config::shapes::valid_region(r) {
                p.at(
                    format!("{path}.home_region"),
                    format!("`{r}` is not an AWS region name"),
                );
            }
        }
    }
}
