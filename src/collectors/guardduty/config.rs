//! The `collectors.guardduty` section: every 5 minutes by default, read per account (`mode:
//! accounts`, the default) or from the GuardDuty administrator (`mode: administrator`); the
//! lists that change rarely every `lists_interval` (30 minutes by default).

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Placement, Section};
use crate::config::shapes::valid_region;

/// How GuardDuty is read.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every target account and region reads its own detector (one job each, a role in every
    /// member).
    #[default]
    Accounts,
    /// One job per region on the GuardDuty administrator reads the whole organization; no
    /// per-account jobs, so no account is ever read both ways.
    Administrator,
}

/// `guardduty`: GuardDuty detectors, findings, members, protection plans and coverage.
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
    /// `accounts` (default) or `administrator`.
    #[serde(default)]
    pub mode: Mode,
    /// Administrator mode: the target of the GuardDuty administrator account; defaults to the
    /// first target.
    #[serde(default)]
    pub target: Option<String>,
    /// Administrator mode: the regions to read; defaults to `aws.region`.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Administrator mode: how long the organization's account list (Organizations
    /// ListAccounts, for `aws_guardduty_org_account_not_covered`) is reused before it is read
    /// again.
    #[serde(default = "default_accounts_refresh")]
    pub accounts_refresh: HumanDuration,
    /// How often the lists that change rarely are read again: threat-intel and trusted IP sets,
    /// suppression rules (filters) and, in accounts mode, invitations. They are read on the
    /// first run, then on the first run at which this much time has (nearly) passed; never more
    /// often than `interval`.
    #[serde(default = "default_lists_interval")]
    pub lists_interval: HumanDuration,
}

fn yes() -> bool {
    true
}
fn default_interval() -> HumanDuration {
    d(300)
}
fn default_accounts_refresh() -> HumanDuration {
    d(3600)
}
fn default_lists_interval() -> HumanDuration {
    d(1800)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            interval: default_interval(),
            timeout: None,
            mode: Mode::default(),
            target: None,
            regions: None,
            accounts_refresh: default_accounts_refresh(),
            lists_interval: default_lists_interval(),
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
        if self.lists_interval.0 < std::time::Duration::from_secs(60) {
            p.at(format!("{path}.lists_interval"), "must be at least 1m");
        }
        if self.mode == Mode::Accounts {
            // Both are about the administrator's job; in accounts mode they would be silently
            // ignored while every account is read on its own.
            for (field, set) in [
                ("target", self.target.is_some()),
                ("regions", self.regions.is_some()),
            ] {
                if set {
                    p.at(
                        format!("{path}.{field}"),
                        "only for `mode: administrator` (in accounts mode every target's own regions are read)",
                    );
                }
            }
            return;
        }
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
        if self.accounts_refresh.0 < std::time::Duration::from_secs(60) {
            p.at(format!("{path}.accounts_refresh"), "must be at least 1m");
        }
    }
}
