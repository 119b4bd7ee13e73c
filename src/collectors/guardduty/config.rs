//! The `collectors.guardduty` section: every 5 minutes by default, read per account (`mode:
//! accounts`, the default) or from the GuardDuty administrator (`mode: administrator`); the
//! lists that change rarely every `lists_interval` (30 minutes by default).

use serde::Deserialize;

use crate::config::duration::{d, HumanDuration};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Key, Own, Parts};

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

/// `guardduty`: GuardDuty detectors, findings, members, protection plans and coverage, every 5
/// minutes by default.
pub type Settings = Parts<300, GuardDuty>;

/// What is particular to `guardduty`. Its placement keys, `target` (the GuardDuty administrator
/// account; the first target by default) and `regions` (`aws.region` by default), are only for
/// `mode: administrator`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardDuty {
    /// `accounts` (default) or `administrator`.
    #[serde(default)]
    pub mode: Mode,
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

fn default_accounts_refresh() -> HumanDuration {
    d(3600)
}
fn default_lists_interval() -> HumanDuration {
    d(1800)
}

impl Default for GuardDuty {
    fn default() -> Self {
        GuardDuty {
            mode: Mode::default(),
            accounts_refresh: default_accounts_refresh(),
            lists_interval: default_lists_interval(),
        }
    }
}

impl Own for GuardDuty {
    const PLACEMENT: &'static [Key] = &[Key::Target, Key::Regions];

    /// Both are about the administrator's job; in accounts mode they would be silently ignored
    /// while every account is read on its own.
    fn placement_unused(&self) -> Option<&'static str> {
        (self.mode == Mode::Accounts).then_some(
            "only for `mode: administrator` (in accounts mode every target's own regions are read)",
        )
    }

    fn validate(&self, path: &str, _: &ValidateContext<'_>, p: &mut Problems) {
        if self.lists_interval.0 < std::time::Duration::from_secs(60) {
            p.at(format!("{path}.lists_interval"), "must be at least 1m");
        }
        if self.mode == Mode::Administrator
            && self.accounts_refresh.0 < std::time::Duration::from_secs(60)
        {
            p.at(format!("{path}.accounts_refresh"), "must be at least 1m");
        }
    }
}
