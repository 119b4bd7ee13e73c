//! The `collectors.iam_access_report` section.

use std::time::Duration;

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Placement, Schedule, Section};
use crate::config::shapes::valid_entity_path;

/// `iam_access_report`: the IAM Organizations access report of each entity path.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Run this collector (it runs only when `entity_paths` is not empty).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Age at which a completed report is generated anew.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Longest a run may take; defaults to the interval, at most 5m.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// How often a report in progress is polled.
    #[serde(default = "default_poll")]
    pub poll_interval: HumanDuration,
    /// Name of the target (management account) to call from; defaults to the first target.
    #[serde(default)]
    pub target: Option<String>,
    /// Organization entities to report on: `o-xxx/r-xxx[/ou-xxx...][/123456789012]`.
    #[serde(default)]
    pub entity_paths: Vec<String>,
}

fn yes() -> bool {
    true
}
fn default_interval() -> HumanDuration {
    d(6 * 3600)
}
fn default_poll() -> HumanDuration {
    d(30)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            interval: default_interval(),
            timeout: None,
            poll_interval: default_poll(),
            target: None,
            entity_paths: Vec::new(),
        }
    }
}

impl Section for Settings {
    fn common(&self) -> (bool, HumanDuration, Option<HumanDuration>) {
        (self.enabled, self.interval, self.timeout)
    }

    /// IAM is a global service: one job, from the organization target in the home region, and
    /// none at all without an entity path to report on.
    fn schedule(&self) -> Schedule {
        let mut s = Schedule::of(self.enabled, self.interval, self.timeout);
        s.enabled &= !self.entity_paths.is_empty();
        s
    }

    fn placement(&self) -> Placement {
        Placement {
            target: self.target.clone(),
            regions: None,
            ..Placement::default()
        }
    }

    fn validate(&self, path: &str, ctx: &ValidateContext<'_>, p: &mut Problems) {
        ctx.check_target(&format!("{path}.target"), self.target.as_ref(), p);
        if self.poll_interval.0 < Duration::from_secs(1) {
            p.at(format!("{path}.poll_interval"), "must be at least 1s");
        }
        for (i, e) in self.entity_paths.iter().enumerate() {
            if !valid_entity_path(e) {
                p.at(
                    format!("{path}.entity_paths[{i}]"),
                    format!("`{e}` is not an organization entity path like o-a1b2c3d4e5/r-f6g7h8i9/ou-f6g7-h8i9j0k1"),
                );
            }
        }
    }
}
