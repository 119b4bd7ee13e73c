//! The `collectors.config_aggregators` section.

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Placement, Section};
use crate::config::shapes::valid_region;

/// `config_aggregators`: configuration aggregators and their sources.
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
    /// Name of the target holding the aggregators; defaults to the first target.
    #[serde(default)]
    pub target: Option<String>,
    /// Regions holding aggregators; defaults to `aws.region`.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}
fn default_interval() -> HumanDuration {
    d(600)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            interval: default_interval(),
            timeout: None,
            target: None,
            regions: None,
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
            regions: self.regions.clone(),
            ..Placement::default()
        }
    }

    fn validate(&self, path: &str, ctx: &ValidateContext<'_>, p: &mut Problems) {
        ctx.check_target(&format!("{path}.target"), self.target.as_ref(), p);
        if let Some(rs) = &self.regions {
            if rs.is_empty() {
                p.at(
                    format!("{path}.regions"),
                    "the list is empty; omit it to use aws.region",
                );
            }
            for (i, r) in rs.iter().enumerate() {
                if !valid_region(r) {
                    p.at(
                        format!("{path}.regions[{i}]"),
                        format!("`{r}` is not an AWS region name"),
                    );
                }
            }
        }
    }
}
