//! The `collectors.config_org_rules` section.

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Placement, Section};
use crate::config::shapes::valid_region;

/// The member-account statuses of an organization Config rule, as the API spells them.
pub const MEMBER_STATUSES: &[&str] = &[
    "CREATE_SUCCESSFUL",
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "DELETE_SUCCESSFUL",
    "DELETE_FAILED",
    "DELETE_IN_PROGRESS",
    "UPDATE_SUCCESSFUL",
    "UPDATE_IN_PROGRESS",
    "UPDATE_FAILED",
];

/// `config_org_rules`: organization Config rules and their deployment per member account.
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
    /// Name of the target (management or delegated administrator account) to call from;
    /// defaults to the first target.
    #[serde(default)]
    pub target: Option<String>,
    /// Region of the organization rules; defaults to `aws.region`.
    #[serde(default)]
    pub region: Option<String>,
    /// Member statuses listed account by account in `aws_config_org_rule_member_status`.
    #[serde(default = "default_detail_statuses")]
    pub detail_statuses: Vec<String>,
}

fn yes() -> bool {
    true
}
fn default_interval() -> HumanDuration {
    d(600)
}
fn default_detail_statuses() -> Vec<String> {
    vec![
        "CREATE_FAILED".into(),
        "UPDATE_FAILED".into(),
        "DELETE_FAILED".into(),
    ]
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            interval: default_interval(),
            timeout: None,
            target: None,
            region: None,
            detail_statuses: default_detail_statuses(),
        }
    }
}

impl Section for Settings {
    fn common(&self) -> (bool, HumanDuration, Option<HumanDuration>) {
        (self.enabled, self.interval, self.timeout)
    }

    fn placement(&self) -> Placement {
        Placement {
            target: self.target.clone(),
            regions: self.region.clone().map(|r| vec![r]),
        }
    }

    fn validate(&self, path: &str, ctx: &ValidateContext<'_>, p: &mut Problems) {
        ctx.check_target(&format!("{path}.target"), self.target.as_ref(), p);
        for (i, s) in self.detail_statuses.iter().enumerate() {
            if !MEMBER_STATUSES.contains(&s.as_str()) {
                p.at(
                    format!("{path}.detail_statuses[{i}]"),
                    format!(
                        "`{s}` is not a member account status; expected one of {}",
                        MEMBER_STATUSES.join(", ")
                    ),
                );
            }
        }
        if let Some(r) = &self.region {
            if !valid_region(r) {
                p.at(
                    format!("{path}.region"),
                    format!("`{r}` is not an AWS region name"),
                );
            }
        }
    }
}
