//! `exceptions`: accepted gaps, each with an owner, a reason and a review date.
//!
//! An exception names one signal (a family of alerts, see [`Signal`]) for one account or every
//! account of one OU, in one region or in all of them. The exporter exports them
//! (`posture_exporter_exception`), the alert rules stay silent for exactly those gaps, and a
//! review date that has passed is an alert of its own: an accepted gap stays visible and owned
//! rather than silenced and forgotten.
//!
//! Each entry is deserialized on its own, so a broken entry does not hide the next one's
//! problems, and every problem of every entry is reported at once.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_yaml::Value;

use super::problem::{kind, section, Problems};
use super::shapes::{valid_account_id, valid_region};

/// What an exception can silence: one family of alerts each, named for what it silences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    /// No Config recorder, a recorder not recording, or failing (AwsConfigRecorderMissing,
    /// AwsConfigRecorderNotRecording, AwsConfigRecorderFailing).
    ConfigRecorder,
    /// Non-compliant Config rules and conformance packs (AwsConfigRuleNonCompliant,
    /// AwsConfigConformancePackNonCompliant).
    ConfigRuleNoncompliant,
    /// Config data that does not flow: a delivery failing, a rule whose evaluations fail, a
    /// recorder of part of the account (AwsConfigDeliveryFailing, AwsConfigRuleEvaluationFailing,
    /// AwsConfigRecorderPartial).
    ConfigDataFlow,
    /// GuardDuty off, suspended, not covering the account, or a protection plan off despite
    /// auto-enable (AwsGuardDutyNotEnabled, AwsGuardDutyDetectorDisabled,
    /// AwsGuardDutyOrgAccountNotCovered, AwsGuardDutyProtectionPlanDisabledDespiteAutoEnable).
    Guardduty,
    /// High and critical GuardDuty findings, and findings past their remediation age
    /// (AwsGuardDutyHighSeverityFindings, AwsGuardDutyFindingOverdue).
    GuarddutyFindings,
    /// Security Hub not enabled, or a standard not ready (AwsSecurityHubNotEnabled,
    /// AwsSecurityHubStandardNotReady).
    SecurityHub,
    /// Security Hub controls failing in the account (the overview's items; the
    /// organization-wide AwsSecurityHubControlFailingInManyAccounts counts accounts and is not
    /// silenced per account).
    SecurityHubControls,
    /// New critical Security Hub findings (AwsSecurityHubNewCriticalFindings).
    SecurityHubFindings,
    /// An enabled region that no collector watches (AwsEnabledRegionUnwatched).
    RegionUnwatched,
}

impl Signal {
    /// Every signal, in the order the README lists them.
    pub const ALL: [Signal; 9] = [
        Signal::ConfigRecorder,
        Signal::ConfigRuleNoncompliant,
        Signal::ConfigDataFlow,
        Signal::Guardduty,
        Signal::GuarddutyFindings,
        Signal::SecurityHub,
        Signal::SecurityHubControls,
        Signal::SecurityHubFindings,
        Signal::RegionUnwatched,
    ];

    /// The name the file and the `signal` label use.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::ConfigRecorder => "config_recorder",
            Signal::ConfigRuleNoncompliant => "config_rule_noncompliant",
            Signal::ConfigDataFlow => "config_data_flow",
            Signal::Guardduty => "guardduty",
            Signal::GuarddutyFindings => "guardduty_findings",
            Signal::SecurityHub => "security_hub",
            Signal::SecurityHubControls => "security_hub_controls",
            Signal::SecurityHubFindings => "security_hub_findings",
            Signal::RegionUnwatched => "region_unwatched",
        }
    }

    /// The signal named `s`, if any.
    pub fn parse(s: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One exception as the file writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionConfig {
    /// Unique name; the `exception` label.
    pub name: String,
    /// The account it covers (12 digits); exactly one of `account_id` and `ou`.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The OU whose accounts it covers (`ou-xxxx-xxxxxxxx`), at every level below it, as the
    /// discovery target's walk of the OU finds them.
    #[serde(default)]
    pub ou: Option<String>,
    /// The region it covers; absent for every region.
    #[serde(default)]
    pub region: Option<String>,
    /// What it silences: one of [`Signal`]'s names.
    pub signal: String,
    /// Who owns the gap (a team, a person): shown on the overview.
    #[serde(default)]
    pub owner: String,
    /// Why the gap is accepted: shown on the overview.
    #[serde(default)]
    pub reason: String,
    /// When the exception is to be reviewed (`YYYY-MM-DD`, UTC); from that day on
    /// `PostureExceptionReviewOverdue` fires.
    pub review: String,
}

impl ExceptionConfig {
    /// Its signal (`None` only for a file that did not validate).
    pub fn signal(&self) -> Option<Signal> {
        Signal::parse(&self.signal)
    }

    /// The review date as Unix seconds (its midnight, UTC); `None` for a malformed date.
    pub fn review_epoch(&self) -> Option<i64> {
        parse_date(&self.review)
    }

    /// Its scope as the overview shows it: `account 111111111111` or `OU ou-...`, then the
    /// region or `all regions`.
    pub fn scope(&self) -> String {
        let who = match (&self.account_id, &self.ou) {
            (Some(a), _) => format!("account {a}"),
            (None, Some(o)) => format!("OU {o}"),
            (None, None) => String::new(),
        };
        let region = self.region.as_deref().unwrap_or("all regions");
        format!("{who}, {region}")
    }
}

/// Parses the `exceptions` list: each entry on its own, its problems recorded. Returns the
/// entries that parsed, each with its position in the file (for the paths of later problems).
pub fn parse(v: Value, problems: &mut Problems) -> Vec<(usize, ExceptionConfig)> {
    let mut out = Vec::new();
    match v {
        Value::Sequence(seq) => {
            for (i, e) in seq.into_iter().enumerate() {
                if let Some(x) =
                    section::<ExceptionConfig>(e, &format!("exceptions[{i}]"), problems)
                {
                    out.push((i, x));
                }
            }
        }
        Value::Null => {}
        other => problems.at(
            "exceptions",
            format!("expected a list of exceptions, found {}", kind(&other)),
        ),
    }
    out
}

/// Checks what the types cannot: a unique name, one scope of the right shape, a region name, a
/// known signal, an owner, a reason, a real date. `has_discovery`: whether some target
/// discovers the organization (the only way the exporter learns which accounts an OU holds).
/// `index`: each entry's position in the file (entries that failed to parse are not in `list`).
pub fn validate(list: &[ExceptionConfig], index: &[usize], has_discovery: bool, p: &mut Problems) {
    let mut names = BTreeSet::new();
    for (n, e) in list.iter().enumerate() {
        let at = format!("exceptions[{}]", index.get(n).copied().unwrap_or(n));
        if e.name.trim().is_empty() {
            p.at(format!("{at}.name"), "must not be empty");
        } else if !names.insert(e.name.as_str()) {
            p.at(
                format!("{at}.name"),
                format!(
                    "`{}` is used by an earlier exception; names must be unique",
                    e.name
                ),
            );
        }
        match (&e.account_id, &e.ou) {
            (None, None) => p.at(
                at.clone(),
                "names no scope: give `account_id` (12 digits) or `ou` (an OU id)",
            ),
            (Some(_), Some(_)) => p.at(
                at.clone(),
                "gives both `account_id` and `ou`: one exception covers one scope",
            ),
            (Some(a), None) if !valid_account_id(a) => p.at(
                format!("{at}.account_id"),
                format!("`{a}` is not a 12-digit account id"),
            ),
            (None, Some(o)) if !valid_ou(o) => p.at(
                format!("{at}.ou"),
                format!("`{o}` is not an OU id (ou-xxxx-xxxxxxxx)"),
            ),
            (None, Some(_)) if !has_discovery => p.at(
                format!("{at}.ou"),
                "an OU's accounts are known only from a `discover: organizations` target, and none is configured: name the account instead",
            ),
            _ => {}
        }
        if let Some(r) = &e.region {
            if !valid_region(r) {
                p.at(
                    format!("{at}.region"),
                    format!("`{r}` is not an AWS region name; leave `region` out for every region"),
                );
            }
        }
        if e.signal().is_none() {
            p.at(
                format!("{at}.signal"),
                format!(
                    "unknown signal `{}`, expected one of {}",
                    e.signal,
                    Signal::ALL
                        .iter()
                        .map(|s| format!("`{}`", s.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        if e.owner.trim().is_empty() {
            p.at(format!("{at}.owner"), "missing: who owns this gap");
        }
        if e.reason.trim().is_empty() {
            p.at(format!("{at}.reason"), "missing: why this gap is accepted");
        }
        if e.review_epoch().is_none() {
            p.at(
                format!("{at}.review"),
                format!("`{}` is not a date written YYYY-MM-DD", e.review),
            );
        }
    }
}

/// True for an OU id (`ou-` root part, `-`, then 8 to 32 lowercase letters or digits).
fn valid_ou(s: &str) -> bool {
    s.starts_with("ou-") && super::shapes::valid_ou_or_root(s)
}

/// `YYYY-MM-DD` as Unix seconds at its midnight UTC; `None` unless it is a real date.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if y < 1970 || !(1..=days_in).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_real_days_at_midnight_utc() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-12-07"), Some(1_796_601_600));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "26-01-01",
            "2026-1-01",
            "2026/01/01",
            "2026-01-01T00:00",
            "",
            "+026-01-01",
            "1969-12-31",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn signals_round_trip_their_names() {
        for s in Signal::ALL {
            assert_eq!(Signal::parse(s.as_str()), Some(s));
        }
        assert_eq!(Signal::parse("GuardDuty"), None);
    }
}
