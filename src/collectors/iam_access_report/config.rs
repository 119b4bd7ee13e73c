//! The `collectors.iam_access_report` section.

use std::time::Duration;

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Key, Own, Parts};
use crate::config::shapes::valid_entity_path;

/// `iam_access_report`: the IAM Organizations access report of each entity path; `interval` is
/// the age at which a completed report is generated anew (6 hours by default).
pub type Settings = Parts<{ 6 * 3600 }, AccessReport>;

/// What is particular to `iam_access_report`. Its one placement key is `target` (the management
/// account; the first target by default): IAM is a global service, so one job runs, in the home
/// region, and none at all without an entity path to report on.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccessReport {
    /// How often a report in progress is polled.
    #[serde(default = "default_poll")]
    pub poll_interval: HumanDuration,
    /// Organization entities to report on: `o-xxx/r-xxx[/ou-xxx...][/123456789012]`.
    #[serde(default)]
    pub entity_paths: Vec<String>,
}

fn default_poll() -> HumanDuration {
    d(30)
}

impl Default for AccessReport {
    fn default() -> Self {
        AccessReport {
            poll_interval: default_poll(),
            entity_paths: Vec::new(),
        }
    }
}

impl Own for AccessReport {
    const PLACEMENT: &'static [Key] = &[Key::Target];

    fn has_work(&self) -> bool {
        !self.entity_paths.is_empty()
    }

    fn validate(&self, path: &str, _: &ValidateContext<'_>, p: &mut Problems) {
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
