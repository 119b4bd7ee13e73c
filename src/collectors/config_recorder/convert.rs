//! Pure conversion of recorder answers into metric families.

use super::api::RecorderData;
use crate::metrics::{Attention, Concern, Desc, Family, Kind};

/// The recorder statuses AWS documents.
pub const STATUSES: &[&str] = &["Pending", "Success", "Failure", "NotApplicable"];

static RECORDERS: Desc = Desc {
    name: "aws_config_recorders",
    help: "Customer-managed AWS Config configuration recorders in this account and region, as DescribeConfigurationRecorders lists them (0: no customer-managed recorder; service-linked recorders are not counted).",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
static RECORDING: Desc = Desc {
    name: "aws_config_recorder_recording",
    help: "1 if the configuration recorder is recording.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "recorder"],
};
static LAST_STATUS: Desc = Desc {
    name: "aws_config_recorder_last_status",
    help: "Status of the latest recording event the recorder processed, for a recorder whose last status is not Success (Failure, Pending, or a status AWS adds later): 1, labelled with it; a recorder whose last status is Success has no series.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "recorder", "status"],
};
static CHANGE: Desc = Desc {
    name: "aws_config_recorder_last_status_change_timestamp_seconds",
    help: "Unix time of the recorder's last status change, for a recorder whose last status is not Success (since when it fails or is pending).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "recorder"],
};
static STOP: Desc = Desc {
    name: "aws_config_recorder_last_stop_timestamp_seconds",
    help: "Unix time the recorder last stopped recording, for a recorder that is not recording (since when it records nothing).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "recorder"],
};

/// The families of one (account, region).
pub fn families(account_id: &str, region: &str, d: &RecorderData) -> Vec<Family> {
    let mut recorders = Family::new(&RECORDERS);
    recorders.push(&[account_id, region], d.recorders.len() as f64);
    let mut recording = Family::new(&RECORDING);
    let mut status = Family::new(&LAST_STATUS);
    let mut change = Family::new(&CHANGE);
    let mut stop = Family::new(&STOP);
    for s in &d.statuses {
        let l = [account_id, region, s.name.as_str()];
        recording.push(&l, if s.recording { 1.0 } else { 0.0 });
        if let Some(st) = s.last_status.as_deref().filter(|st| *st != "Success") {
            status.push_state(&l, st);
        }
        if let (false, Some(t)) = (
            s.last_status.as_deref() == Some("Success"),
            s.last_status_change,
        ) {
            change.push(&l, t);
        }
        if let (false, Some(t)) = (s.recording, s.last_stop) {
            stop.push(&l, t);
        }
    }
    vec![recorders, recording, status, change, stop]
}

/// What needs attention in one (account, region), from the same answer as [`families`]: no
/// recorder (`aws_config_recorders` 0), a recorder not recording (`aws_config_recorder_recording`
/// 0), a recorder whose last status is `Failure` (with AWS's code and message).
pub fn items(account_id: &str, region: &str, d: &RecorderData) -> Vec<Attention> {
    let item = |subject: String, code: &str, message: &str| Attention {
        concern: Concern::Recorders,
        account_id: account_id.to_string(),
        region: region.to_string(),
        subject,
        code: code.to_string(),
        message: message.to_string(),
    };
    let mut out = Vec::new();
    if d.recorders.is_empty() {
        out.push(item("no configuration recorder".into(), "NONE", ""));
    }
    for s in &d.statuses {
        if !s.recording {
            out.push(item(
                format!("recorder {} is not recording", s.name),
                "STOPPED",
                "",
            ));
        }
        if s.last_status.as_deref() == Some("Failure") {
            out.push(item(
                format!("recorder {}: last delivery failed", s.name),
                s.last_error_code.as_deref().unwrap_or("Failure"),
                s.last_error_message.as_deref().unwrap_or(""),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::api::RecorderStatus;
    use super::*;

    fn text(fams: &[Family]) -> String {
        fams.iter().map(|f| f.text()).collect()
    }

    /// The items flag what the families flag: no recorder, a recorder not recording, a last
    /// status of Failure (with AWS's code and message).
    #[test]
    fn items_count_what_the_families_flag() {
        use crate::metrics::count_samples;
        let status = |name: &str, recording: bool, last: Option<&str>| RecorderStatus {
            name: name.into(),
            recording,
            last_status: last.map(String::from),
            last_error_code: last
                .filter(|s| *s == "Failure")
                .map(|_| "AccessDenied".to_string()),
            last_error_message: last
                .filter(|s| *s == "Failure")
                .map(|_| "the bucket policy refuses delivery".to_string()),
            ..RecorderStatus::default()
        };
        let cases = [
            RecorderData::default(),
            RecorderData {
                recorders: vec!["a".into(), "b".into(), "c".into()],
                statuses: vec![
                    status("a", true, Some("Success")),
                    status("b", false, Some("Failure")),
                    status("c", true, Some("FAILURE")),
                ],
            },
        ];
        for d in &cases {
            let families = families("1", "r", d);
            let items = items("1", "r", d);
            let flagged = count_samples(&families, "aws_config_recorders", |_, v| v == 0.0)
                + count_samples(&families, "aws_config_recorder_recording", |_, v| v == 0.0)
                + count_samples(&families, "aws_config_recorder_last_status", |l, v| {
                    v == 1.0 && l["status"] == "Failure"
                });
            assert_eq!(items.len(), flagged, "{items:?}");
        }
        let items = items("1", "r", &cases[1]);
        let failed = items.iter().find(|i| i.code == "AccessDenied").unwrap();
        assert_eq!(failed.message, "the bucket policy refuses delivery");
    }

    #[test]
    fn golden_recording_and_stopped_and_unknown_status() {
        let d = RecorderData {
            recorders: vec!["default".into(), "second".into()],
            statuses: vec![
                RecorderStatus {
                    name: "default".into(),
                    recording: true,
                    last_status: Some("Success".into()),
                    last_status_change: Some(1_700_000_100.0),
                    last_start: Some(1_700_000_000.0),
                    last_stop: None,
                    last_error_code: None,
                    last_error_message: None,
                },
                RecorderStatus {
                    name: "second".into(),
                    recording: false,
                    last_status: Some("SUCCESS".into()),
                    last_status_change: Some(1_700_000_200.5),
                    last_start: Some(1_600_000_000.0),
                    last_stop: Some(1_700_000_200.5),
                    last_error_code: Some("NoSuchBucket".into()),
                    last_error_message: Some("bucket gone".into()),
                },
            ],
        };
        let got = text(&families("123456789012", "eu-west-1", &d));
        let want = "\
aws_config_recorders{account_id=\"123456789012\",region=\"eu-west-1\"} 2
aws_config_recorder_recording{account_id=\"123456789012\",region=\"eu-west-1\",recorder=\"default\"} 1
aws_config_recorder_recording{account_id=\"123456789012\",region=\"eu-west-1\",recorder=\"second\"} 0
aws_config_recorder_last_status{account_id=\"123456789012\",region=\"eu-west-1\",recorder=\"second\",status=\"SUCCESS\"} 1
aws_config_recorder_last_status_change_timestamp_seconds{account_id=\"123456789012\",region=\"eu-west-1\",recorder=\"second\"} 1700000200.5
aws_config_recorder_last_stop_timestamp_seconds{account_id=\"123456789012\",region=\"eu-west-1\",recorder=\"second\"} 1700000200.5
";
        assert_eq!(got, want);
    }

    #[test]
    fn golden_config_off() {
        let got = text(&families(
            "123456789012",
            "us-east-1",
            &RecorderData::default(),
        ));
        assert_eq!(
            got,
            "aws_config_recorders{account_id=\"123456789012\",region=\"us-east-1\"} 0\n"
        );
    }
}
