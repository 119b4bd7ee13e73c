//! Pure conversion of GuardDuty's slower lists into metric families, and the judgement of
//! whether a suppression rule can hide a high-severity finding.
//!
//! A filter whose action is `ARCHIVE` (a suppression rule) archives every new finding it matches
//! as it arrives, and archived findings are counted nowhere: not in `aws_guardduty_findings`,
//! not by its alerts. Whether a rule can match a finding of severity 7 or higher is decided on
//! its `severity` criterion alone: the values it allows are intersected with [7, 10]; a rule
//! without a severity condition can, and so can one whose condition we cannot read (a pattern,
//! a value that is not a number), so that a doubt never hides a rule. Its other criteria (a
//! finding type, a resource) narrow what it archives but not whether a high finding can be among
//! it.

use super::super::api::DetectorData;
use super::api::{Condition, Filter, Invitations, ListSet};
use crate::metrics::{Desc, Family, Kind};

/// The statuses of threat-intel and trusted IP sets AWS documents (the same for both).
pub const SET_STATUSES: &[&str] = &[
    "INACTIVE",
    "ACTIVATING",
    "ACTIVE",
    "DEACTIVATING",
    "ERROR",
    "DELETE_PENDING",
    "DELETED",
];

/// The finding publishing frequencies AWS documents.
pub const FREQUENCIES: &[&str] = &["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"];

/// The lowest severity of a high finding, and the highest severity there is.
const HIGH: f64 = 7.0;
const TOP: f64 = 10.0;

static THREAT_INTEL_SET: Desc = Desc {
    name: "aws_guardduty_threat_intel_set_status",
    help: "Status of a GuardDuty threat-intel set (a list of known malicious IPs and domains GuardDuty alerts on): 1, labelled with its current status, one of INACTIVE, ACTIVATING, ACTIVE, DEACTIVATING, ERROR, DELETE_PENDING, DELETED, or a status AWS adds later under its own spelling. A set that is not ACTIVE is not used; one in ERROR could not be read from its location. In administrator mode, the administrator's sets, which its members use. Read again every lists_interval (30m by default), not on every collection.",
    kind: Kind::Gauge,
    labels: &[
        "account_id",
        "region",
        "set_id",
        "set_name",
        "status",
    ],
};
static IP_SET: Desc = Desc {
    name: "aws_guardduty_ip_set_status",
    help: "Status of a GuardDuty trusted IP set (addresses GuardDuty does not alert on): 1, labelled with its current status, one of INACTIVE, ACTIVATING, ACTIVE, DEACTIVATING, ERROR, DELETE_PENDING, DELETED, or a status AWS adds later under its own spelling. In administrator mode, the administrator's sets, which its members use. Read again every lists_interval (30m by default), not on every collection.",
    kind: Kind::Gauge,
    labels: &[
        "account_id",
        "region",
        "set_id",
        "set_name",
        "status",
    ],
};
static ARCHIVE_FILTERS: Desc = Desc {
    name: "aws_guardduty_archive_filters",
    help: "GuardDuty suppression rules of this detector: filters whose action is ARCHIVE, which archive matching findings as they arrive. Archived findings are not counted in aws_guardduty_findings, so they raise no finding alert. Read again every lists_interval (30m by default), not on every collection.",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
static CAN_HIDE_HIGH: Desc = Desc {
    name: "aws_guardduty_archive_filter_can_hide_high",
    help: "1 when this GuardDuty suppression rule (an ARCHIVE filter) can match a finding of severity 7 or higher, judged on its severity criterion (a rule without one can); a rule whose severity criterion rules every such finding out has no series. Such findings are archived on arrival, are not counted in aws_guardduty_findings and never fire the high-severity finding alert. Read again every lists_interval (30m by default), not on every collection.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "filter"],
};
static PENDING: Desc = Desc {
    name: "aws_guardduty_pending_invitations",
    help: "GuardDuty membership invitations this account received and has not accepted in this region (GetInvitationsCount; in administrator mode, 1 for a member whose relationship is Invited); absent when none is pending. Until one is accepted, the administrator does not see this account's findings. In accounts mode read again every lists_interval (30m by default), not on every collection.",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
static OLDEST: Desc = Desc {
    name: "aws_guardduty_pending_invitation_oldest_timestamp_seconds",
    help: "When the oldest pending GuardDuty membership invitation of this account in this region was sent, in seconds since the epoch (time() minus it is its age); absent when none is pending.",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
static FREQUENCY: Desc = Desc {
    name: "aws_guardduty_finding_publishing_frequency",
    help: "How often the GuardDuty detector publishes updates of existing findings to EventBridge (and S3 exports): 1, labelled with the current setting, FIFTEEN_MINUTES, ONE_HOUR, SIX_HOURS, or a value AWS adds later under its own spelling; new findings are published within minutes either way. SIX_HOURS is AWS's default. In administrator mode, the administrator's detector.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "frequency"],
};

/// `aws_guardduty_finding_publishing_frequency` of the detector, if it answered one.
pub fn frequency(account_id: &str, region: &str, detector: Option<&DetectorData>) -> Family {
    let mut f = Family::new(&FREQUENCY);
    if let Some(d) = detector.filter(|d| !d.publishing_frequency.is_empty()) {
        f.push_state(&[account_id, region], &d.publishing_frequency);
    }
    f
}

fn sets(desc: &'static Desc, account_id: &str, region: &str, list: &[ListSet]) -> Family {
    let mut f = Family::new(desc);
    for s in list {
        f.push_state(&[account_id, region, &s.id, &s.name], &s.status);
    }
    f
}

/// The threat-intel sets part of one detector.
pub fn threat_intel_sets(account_id: &str, region: &str, list: &[ListSet]) -> Vec<Family> {
    vec![sets(&THREAT_INTEL_SET, account_id, region, list)]
}

/// The trusted IP sets part of one detector.
pub fn ip_sets(account_id: &str, region: &str, list: &[ListSet]) -> Vec<Family> {
    vec![sets(&IP_SET, account_id, region, list)]
}

/// The filters part of one detector: the suppression rules it has (0 included), and those that
/// can hide a high-severity finding. Saved filters (`NOOP`) archive nothing and are
/// left out.
pub fn filters(account_id: &str, region: &str, list: &[Filter]) -> Vec<Family> {
    let mut count = Family::new(&ARCHIVE_FILTERS);
    let mut hide = Family::new(&CAN_HIDE_HIGH);
    let archiving: Vec<&Filter> = list.iter().filter(|f| f.action == "ARCHIVE").collect();
    count.push(&[account_id, region], archiving.len() as f64);
    for f in archiving {
        if f.severity.as_ref().is_none_or(can_match_high) {
            hide.push(&[account_id, region, &f.name], 1.0);
        }
    }
    vec![count, hide]
}

/// The invitations part of one account and region (accounts mode).
pub fn invitations(account_id: &str, region: &str, inv: &Invitations) -> Vec<Family> {
    let mut pending = Family::new(&PENDING);
    let mut oldest = Family::new(&OLDEST);
    if inv.count > 0 {
        pending.push(&[account_id, region], inv.count as f64);
        if let Some(t) = inv.oldest {
            oldest.push(&[account_id, region], t);
        }
    }
    vec![pending, oldest]
}

/// Administrator mode: per member, 1 when its relationship is `Invited` (the invitation is
/// pending), with the time it was sent; `members` are (account, relationship, invited at).
pub fn invited_members(region: &str, members: &[(&str, &str, Option<f64>)]) -> Vec<Family> {
    let mut pending = Family::new(&PENDING);
    let mut oldest = Family::new(&OLDEST);
    for &(account, status, at) in members {
        if status == "Invited" {
            pending.push(&[account, region], 1.0);
            if let Some(t) = at {
                oldest.push(&[account, region], t);
            }
        }
    }
    vec![pending, oldest]
}

/// Whether a severity condition lets through some severity in [7, 10].
///
/// The range conditions cut the interval (bounds are whole numbers: `gt 7` leaves (7, 10]);
/// `equals` keeps only the listed values that lie in what is left; `notEquals` removes points,
/// which empties the interval only when it has shrunk to one of them. A pattern (`matches`) or
/// a value that is not a number cannot be judged, and is taken to let high findings through.
pub fn can_match_high(c: &Condition) -> bool {
    // The allowed interval, each end with whether it is included.
    let (mut lo, mut lo_in) = (HIGH, true);
    let (mut hi, mut hi_in) = (TOP, true);
    for &v in &c.greater_than {
        let v = v as f64;
        if v >= lo {
            (lo, lo_in) = (v, false);
        }
    }
    for &v in &c.greater_than_or_equal {
        let v = v as f64;
        if v > lo {
            (lo, lo_in) = (v, true);
        }
    }
    for &v in &c.less_than {
        let v = v as f64;
        if v <= hi {
            (hi, hi_in) = (v, false);
        }
    }
    for &v in &c.less_than_or_equal {
        let v = v as f64;
        if v < hi {
            (hi, hi_in) = (v, true);
        }
    }
    let inside = |x: f64| (x > lo || (x == lo && lo_in)) && (x < hi || (x == hi && hi_in));
    if lo > hi || (lo == hi && !(lo_in && hi_in)) {
        return false;
    }
    if !c.matches.is_empty() {
        return true;
    }
    let excluded: Vec<Option<f64>> = c.not_equals.iter().map(|v| v.trim().parse().ok()).collect();
    let is_excluded = |x: f64| excluded.contains(&Some(x));
    if !c.equals.is_empty() {
        return c.equals.iter().any(|v| match v.trim().parse::<f64>() {
            Ok(x) if x.is_nan() => true,
            Ok(x) => inside(x) && !is_excluded(x),
            Err(_) => true,
        });
    }
    // A non-empty interval with more than one point cannot be emptied by removing points.
    lo < hi || !is_excluded(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(f: impl FnOnce(&mut Condition)) -> Condition {
        let mut c = Condition::default();
        f(&mut c);
        c
    }

    #[test]
    fn severity_conditions_that_can_and_cannot_let_a_high_finding_through() {
        let cases: Vec<(Condition, bool)> = vec![
            (Condition::default(), true),
            (sev(|c| c.less_than = vec![7]), false),
            (sev(|c| c.less_than_or_equal = vec![7]), true),
            (sev(|c| c.less_than = vec![4]), false),
            (sev(|c| c.less_than = vec![9]), true),
            (sev(|c| c.greater_than_or_equal = vec![7]), true),
            (sev(|c| c.greater_than = vec![10]), false),
            (sev(|c| c.greater_than_or_equal = vec![10]), true),
            (
                sev(|c| {
                    c.greater_than_or_equal = vec![2];
                    c.less_than = vec![7];
                }),
                false,
            ),
            (
                sev(|c| {
                    c.greater_than = vec![5];
                    c.less_than_or_equal = vec![8];
                }),
                true,
            ),
            (sev(|c| c.equals = vec!["2".into(), "5.5".into()]), false),
            (sev(|c| c.equals = vec!["2".into(), "8".into()]), true),
            (sev(|c| c.equals = vec!["high".into()]), true),
            (sev(|c| c.matches = vec!["*".into()]), true),
            (sev(|c| c.not_equals = vec!["8".into()]), true),
            (
                sev(|c| {
                    c.greater_than_or_equal = vec![10];
                    c.not_equals = vec!["10".into()];
                }),
                false,
            ),
            (
                sev(|c| {
                    c.less_than = vec![9];
                    c.equals = vec!["9".into()];
                }),
                false,
            ),
        ];
        for (c, want) in cases {
            assert_eq!(can_match_high(&c), want, "{c:?}");
        }
    }

    #[test]
    fn golden_filters_sets_and_invitations() {
        let l = "account_id=\"111111111111\",region=\"us-east-1\"";
        let list = vec![
            Filter {
                name: "archive-low".into(),
                action: "ARCHIVE".into(),
                severity: Some(sev(|c| c.less_than = vec![4])),
            },
            Filter {
                name: "archive-all-port-probes".into(),
                action: "ARCHIVE".into(),
                severity: None,
            },
            Filter {
                name: "saved-view".into(),
                action: "NOOP".into(),
                severity: None,
            },
        ];
        let text: String = filters("111111111111", "us-east-1", &list)
            .iter()
            .map(|f| f.text())
            .collect();
        assert_eq!(
            text,
            format!(
                "\
aws_guardduty_archive_filters{{{l}}} 2
aws_guardduty_archive_filter_can_hide_high{{{l},filter=\"archive-all-port-probes\"}} 1
"
            )
        );
        let sets_text: String = threat_intel_sets(
            "111111111111",
            "us-east-1",
            &[ListSet {
                id: "s1".into(),
                name: "feed".into(),
                status: "BROKEN".into(),
            }],
        )[0]
        .text();
        assert_eq!(
            sets_text,
            format!("aws_guardduty_threat_intel_set_status{{{l},set_id=\"s1\",set_name=\"feed\",status=\"BROKEN\"}} 1\n"),
            "a status AWS adds later, under its own spelling, alone"
        );

        let none: String = invitations("1", "r", &Invitations::default())
            .iter()
            .map(|f| f.text())
            .collect();
        assert_eq!(none, "", "no invitation, no series");
        let some: String = invitations(
            "1",
            "r",
            &Invitations {
                count: 2,
                oldest: Some(1_700_000_000.0),
            },
        )
        .iter()
        .map(|f| f.text())
        .collect();
        assert_eq!(
            some,
            "aws_guardduty_pending_invitations{account_id=\"1\",region=\"r\"} 2\n\
aws_guardduty_pending_invitation_oldest_timestamp_seconds{account_id=\"1\",region=\"r\"} 1700000000\n"
        );
    }
}
