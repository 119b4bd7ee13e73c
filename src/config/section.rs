//! What a collector's section under `collectors:` must offer the rest of the configuration:
//! when it runs ([`Schedule`]), where ([`Placement`]), and its own validation. Each collector
//! defines its section beside its code; this is only the contract, so the configuration can
//! gather sections without naming a collector.

use std::fmt::Debug;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::duration::{d, HumanDuration};
use super::problem::{Problems, ValidateContext};

/// Whether a collector runs, how often, and how long a run may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Run it at all.
    pub enabled: bool,
    /// Time between two runs of one job.
    pub interval: Duration,
    /// Longest a run may take.
    pub timeout: Duration,
}

impl Schedule {
    /// From the three settings every section has; the timeout defaults to the interval, at
    /// most 5m.
    pub fn of(enabled: bool, interval: HumanDuration, timeout: Option<HumanDuration>) -> Self {
        Schedule {
            enabled,
            interval: interval.0,
            timeout: timeout
                .map(|t| t.0)
                .unwrap_or_else(|| interval.0.min(Duration::from_secs(300))),
        }
    }
}

/// Where an organization collector is placed; `None` takes the default (the first target, the
/// home region).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// The target to call from.
    pub target: Option<String>,
    /// Several targets to call from, one job on each (replaces `target` when not empty): for
    /// what AWS shows only to the account that made it, such as organization rules deployed
    /// from the management account and from a delegated administrator.
    pub targets: Vec<String>,
    /// The regions to read.
    pub regions: Option<Vec<String>>,
}

/// A collector's section: strict (`deny_unknown_fields`), with named defaults, compared by
/// value on reload.
pub trait Section:
    DeserializeOwned + Default + Clone + PartialEq + Debug + Send + Sync + 'static
{
    /// The three settings every section has: `enabled`, `interval`, `timeout`.
    fn common(&self) -> (bool, HumanDuration, Option<HumanDuration>);

    /// When it runs.
    fn schedule(&self) -> Schedule {
        let (enabled, interval, timeout) = self.common();
        Schedule::of(enabled, interval, timeout)
    }

    /// Where an organization collector runs (ignored for per-account collectors).
    fn placement(&self) -> Placement {
        Placement::default()
    }

    /// Adds every problem of what is particular to the section, each with its path under
    /// `path` (`collectors.<name>`); the three common settings are checked by [`check`].
    fn validate(&self, _path: &str, _ctx: &ValidateContext<'_>, _problems: &mut Problems) {}
}

/// Checks the common settings and then the section's own.
pub fn check<S: Section>(s: &S, path: &str, ctx: &ValidateContext<'_>, p: &mut Problems) {
    let (_, interval, timeout) = s.common();
    if interval.0 < Duration::from_secs(1) {
        p.at(format!("{path}.interval"), "must be at least 1s");
    }
    if let Some(t) = timeout {
        if t.0.is_zero() {
            p.at(format!("{path}.timeout"), "must be more than 0s");
        }
    }
    s.validate(path, ctx, p);
}

/// The section of a collector that has only the three common settings; `SECS` is its default
/// interval in seconds.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Common<const SECS: u64> {
    /// Run this collector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Time between two runs of one job.
    #[serde(default = "interval_of::<SECS>")]
    pub interval: HumanDuration,
    /// Longest a run may take; defaults to the interval, at most 5m.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

fn yes() -> bool {
    true
}

fn interval_of<const SECS: u64>() -> HumanDuration {
    d(SECS)
}

impl<const SECS: u64> Default for Common<SECS> {
    fn default() -> Self {
        Common {
            enabled: true,
            interval: interval_of::<SECS>(),
            timeout: None,
        }
    }
}

impl<const SECS: u64> Section for Common<SECS> {
    fn common(&self) -> (bool, HumanDuration, Option<HumanDuration>) {
        (self.enabled, self.interval, self.timeout)
    }
}
