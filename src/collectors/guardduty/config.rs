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
    /// How old a current finding of each severity may grow before it is past its remediation
    /// age and counted in `aws_guardduty_findings_overdue` (by its `createdAt`).
    #[serde(default)]
    pub finding_ages: FindingAges,
    /// The severity buckets whose oldest current finding is read and exported
    /// (`aws_guardduty_oldest_finding_created_timestamp_seconds`): a ListFindings each (only
    /// where the bucket has findings) and one GetFindings for them all. Default: high and
    /// critical, the buckets that page; an empty list reads none.
    #[serde(default = "default_oldest_findings")]
    pub oldest_findings: Vec<String>,
}

fn default_oldest_findings() -> Vec<String> {
    vec!["high".into(), "critical".into()]
}

/// The remediation age of each severity bucket: a current finding created longer ago than
/// this is overdue. Defaults: low 30 days, medium 7 days, high and critical 1 day.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FindingAges {
    /// Low (severity 1.0-3.9); 30d by default.
    #[serde(default = "default_low_age")]
    pub low: HumanDuration,
    /// Medium (4.0-6.9); 7d by default.
    #[serde(default = "default_medium_age")]
    pub medium: HumanDuration,
    /// High (7.0-8.9); 1d by default.
    #[serde(default = "default_high_age")]
    pub high: HumanDuration,
    /// Critical (9.0-10.0); 1d by default.
    #[serde(default = "default_critical_age")]
    pub critical: HumanDuration,
}

fn default_low_age() -> HumanDuration {
    d(30 * 86_400)
}
fn default_medium_age() -> HumanDuration {
    d(7 * 86_400)
}
fn default_high_age() -> HumanDuration {
    d(86_400)
}
fn default_critical_age() -> HumanDuration {
    d(86_400)
}

impl Default for FindingAges {
    fn default() -> Self {
        FindingAges {
            low: default_low_age(),
            medium: default_medium_age(),
            high: default_high_age(),
            critical: default_critical_age(),
        }
    }
}

impl FindingAges {
    /// The ages in the order of the severity buckets (low, medium, high, critical).
    pub fn by_bucket(&self) -> [std::time::Duration; 4] {
        [self.low.0, self.medium.0, self.high.0, self.critical.0]
    }
}

impl GuardDuty {
    /// Which buckets (low, medium, high, critical) `oldest_findings` names.
    pub fn oldest_buckets(&self) -> [bool; 4] {
        ["low", "medium", "high", "critical"].map(|b| self.oldest_findings.iter().any(|o| o == b))
    }
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
            finding_ages: FindingAges::default(),
            oldest_findings: default_oldest_findings(),
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
        // Less than a minute would make every finding overdue the moment it is read.
        for (name, age) in ["low", "medium", "high", "critical"]
            .iter()
            .zip(self.finding_ages.by_bucket())
        {
            if age < std::time::Duration::from_secs(60) {
                p.at(format!("{path}.finding_ages.{name}"), "must be at least 1m");
            }
        }
        for (i, o) in self.oldest_findings.iter().enumerate() {
            if !["low", "medium", "high", "critical"].contains(&o.as_str()) {
                p.at(
                    format!("{path}.oldest_findings[{i}]"),
                    format!("`{o}` is not one of low, medium, high, critical"),
                );
            } else if self.oldest_findings[..i].contains(o) {
                p.at(
                    format!("{path}.oldest_findings[{i}]"),
                    format!("`{o}` is listed twice"),
                );
            }
        }
        if self.mode == Mode::Administrator
            && self.accounts_refresh.0 < std::time::Duration::from_secs(60)
        {
            p.at(format!("{path}.accounts_refresh"), "must be at least 1m");
        }
    }
}
