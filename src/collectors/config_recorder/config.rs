//! The `collectors.config_recorder` section.

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::section::Section;

/// `config_recorder`: AWS Config recorder status per account and region.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Run this collector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Time between two runs of one job.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Longest a run may take; defaults to the interval, at most 5m.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

fn yes() -> bool {
    true
}
fn default_interval() -> HumanDuration {
    d(300)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            interval: default_interval(),
            timeout: None,
        }
    }
}

impl Section for Settings {
    fn common(&self) -> (bool, HumanDuration, Option<HumanDuration>) {
        (self.enabled, self.interval, self.timeout)
    }
}
