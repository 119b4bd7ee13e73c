//! Pure conversion of recorder answers into metric families and attention items: the
//! recorders and their statuses (the core), what the customer-managed recorder records, the
//! delivery channel's deliveries and the rules' evaluations (one function pair each, as each is
//! read on its own). Healthy things have no detail series: a delivery at `Success`, a rule that
//! evaluates, a recorder that records every supported type continuously.

use super::api::{ChannelStatus, RecorderData, RecordingScope, RuleEvaluation};
use crate::metrics::{Attention, Concern, Desc, Family, Kind};

/// The recorder statuses AWS documents.
pub const STATUSES: &[&str] = &["Pending", "Success", "Failure", "NotApplicable"];

/// The `kind` of a customer-managed recorder in `aws_config_recorders`.
pub const CUSTOMER_MANAGED: &str = "customer_managed";
/// The `kind` of a service-linked recorder in `aws_config_recorders`.
pub const SERVICE_LINKED: &str = "service_linked";

static RECORDERS: Desc = Desc {
    name: "aws_config_recorders",
    help: "AWS Config configuration recorders in this account and region by kind: customer_managed (the one the account configures; always present, 0: Config is off for the account's own resources) and service_linked (recorders linked to an AWS service, as ListConfigurationRecorders lists them; present only where there are some).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "kind"],
};
static RECORDING: Desc = Desc {
    name: "aws_config_recorder_recording",
    help: "1 if the configuration recorder is recording; service_principal is the linked service of a service-linked recorder (empty for the customer-managed one), recording_scope AWS's INTERNAL or PAID (empty where not listed).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "recorder", "service_principal", "recording_scope"],
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
static PARTIAL: Desc = Desc {
    name: "aws_config_recorder_partial",
    help: "1 for a customer-managed recorder that records only part of the account: its recording strategy (INCLUSION_BY_RESOURCE_TYPES, a list of types; EXCLUSION_BY_RESOURCE_TYPES, every type but some) and how many types it lists are in the labels and on the overview; a recorder of every supported type has no series.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "recorder", "strategy"],
};
static DAILY: Desc = Desc {
    name: "aws_config_recorder_daily",
    help: "1 for a customer-managed recorder that records daily rather than continuously: applies_to=all (its default frequency) or overrides (some resource types overridden to daily); a continuous recorder has no series.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "recorder", "applies_to"],
};
static GLOBAL: Desc = Desc {
    name: "aws_config_recorder_global_resources",
    help: "1 where the customer-managed recorder includes the global IAM resource types (includeGlobalResourceTypes; one region of an account is enough); no series elsewhere.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "recorder"],
};
static CHANNELS: Desc = Desc {
    name: "aws_config_delivery_channels",
    help: "AWS Config delivery channels in this account and region where there is not the one AWS allows (0 beside a recorder: recorded data goes nowhere); one channel has no series; read only beside a recorder that delivers (customer-managed, or service-linked with recording scope PAID).",
    kind: Kind::Gauge,
    labels: &["account_id", "region"],
};
static DELIVERY_FAILING: Desc = Desc {
    name: "aws_config_delivery_failing",
    help: "1 for a delivery of a delivery channel whose last attempt failed (delivery: history and snapshot to S3, stream to SNS), with AWS's error code; a delivery at Success or Not_Applicable has no series.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "channel", "delivery", "error_code"],
};
static DELIVERY_SUCCESS: Desc = Desc {
    name: "aws_config_delivery_last_success_timestamp_seconds",
    help: "Unix time of the last successful delivery to S3, for a history or snapshot delivery whose last attempt failed (since when nothing arrives).",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "channel", "delivery"],
};
static RULE_FAILING: Desc = Desc {
    name: "aws_config_rule_evaluation_failing",
    help: "1 for a Config rule of this account and region whose last evaluation or invocation failed (later than its last success), with AWS's error code; a rule that evaluates has no series. Custom Lambda rules are not reported by AWS.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "rule", "error_code"],
};
static RULE_SINCE: Desc = Desc {
    name: "aws_config_rule_evaluation_last_success_timestamp_seconds",
    help: "Unix time of the last successful evaluation of a rule whose last evaluation failed (its activation time when it never evaluated successfully): since when it has not evaluated.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "rule"],
};

/// The core families of one (account, region): the recorders and their statuses.
pub fn families(account_id: &str, region: &str, d: &RecorderData) -> Vec<Family> {
    let mut recorders = Family::new(&RECORDERS);
    recorders.push(
        &[account_id, region, CUSTOMER_MANAGED],
        d.customer_managed as f64,
    );
    if let Some(n) = d.service_linked.filter(|n| *n > 0) {
        recorders.push(&[account_id, region, SERVICE_LINKED], n as f64);
    }
    let mut recording = Family::new(&RECORDING);
    let mut status = Family::new(&LAST_STATUS);
    let mut change = Family::new(&CHANGE);
    let mut stop = Family::new(&STOP);
    for s in &d.statuses {
        let l = [account_id, region, s.name.as_str()];
        recording.push(
            &[
                account_id,
                region,
                s.name.as_str(),
                s.service_principal.as_deref().unwrap_or(""),
                s.recording_scope.as_deref().unwrap_or(""),
            ],
            if s.recording { 1.0 } else { 0.0 },
        );
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
/// customer-managed recorder (`aws_config_recorders{kind="customer_managed"}` 0), a recorder not
/// recording (`aws_config_recorder_recording` 0), a recorder whose last status is `Failure`
/// (with AWS's code and message).
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
    if d.customer_managed == 0 {
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

/// The strategy of a recorder that records part of the account, `None` for one that records
/// every supported type. A recorder without a strategy follows `allSupported` (the form before
/// recording strategies); an exclusion list that excludes nothing excludes nothing.
pub fn partial_strategy(s: &RecordingScope) -> Option<&str> {
    match s.strategy.as_deref() {
        Some("ALL_SUPPORTED_RESOURCE_TYPES") => None,
        Some("EXCLUSION_BY_RESOURCE_TYPES") if s.resource_types == 0 => None,
        Some(other) => Some(other),
        None if s.all_supported => None,
        None => Some("INCLUSION_BY_RESOURCE_TYPES"),
    }
}

/// Where a recorder records daily: `all` (its default frequency) or `overrides`.
fn daily(s: &RecordingScope) -> Option<&'static str> {
    if s.frequency.as_deref() == Some("DAILY") {
        Some("all")
    } else if s.override_frequencies.iter().any(|f| f == "DAILY") {
        Some("overrides")
    } else {
        None
    }
}

/// The families of what the customer-managed recorder records.
pub fn scope_families(account_id: &str, region: &str, scopes: &[RecordingScope]) -> Vec<Family> {
    let mut partial = Family::new(&PARTIAL);
    let mut daily_f = Family::new(&DAILY);
    let mut global = Family::new(&GLOBAL);
    for s in scopes {
        let l = [account_id, region, s.name.as_str()];
        if let Some(strategy) = partial_strategy(s) {
            partial.push_state(&l, strategy);
        }
        if let Some(a) = daily(s) {
            daily_f.push_state(&l, a);
        }
        if s.include_global {
            global.push(&l, 1.0);
        }
    }
    vec![partial, daily_f, global]
}

/// A recorder that records part of the account needs attention (what `aws_config_recorder_partial`
/// exports), with its strategy and how many types it lists.
pub fn scope_items(account_id: &str, region: &str, scopes: &[RecordingScope]) -> Vec<Attention> {
    scopes
        .iter()
        .filter_map(|s| {
            let strategy = partial_strategy(s)?;
            let listed = if strategy == "EXCLUSION_BY_RESOURCE_TYPES" {
                "excludes"
            } else {
                "records only"
            };
            Some(Attention {
                concern: Concern::ConfigFlow,
                account_id: account_id.to_string(),
                region: region.to_string(),
                subject: format!("recorder {} records part of the account", s.name),
                code: strategy.to_string(),
                message: format!("it {listed} {} resource types", s.resource_types),
            })
        })
        .collect()
}

/// The families of the delivery channels.
pub fn delivery_families(
    account_id: &str,
    region: &str,
    channels: &[ChannelStatus],
) -> Vec<Family> {
    // "You can have only one delivery channel for each account for each Amazon Web Services
    // Region" (PutDeliveryChannel): one is the normal case, and says nothing a recorder's own
    // series do not; none is the blind spot (and keeps a recorder from starting: "You must have
    // created a delivery channel to successfully start the customer managed configuration
    // recorder", StartConfigurationRecorder).
    let mut count = Family::new(&CHANNELS);
    if channels.len() != 1 {
        count.push(&[account_id, region], channels.len() as f64);
    }
    let mut failing = Family::new(&DELIVERY_FAILING);
    let mut since = Family::new(&DELIVERY_SUCCESS);
    for c in channels {
        for d in c
            .deliveries
            .iter()
            .filter(|d| d.status.as_deref() == Some("Failure"))
        {
            failing.push(
                &[
                    account_id,
                    region,
                    c.name.as_str(),
                    d.kind,
                    d.error_code.as_deref().unwrap_or(""),
                ],
                1.0,
            );
            if let Some(t) = d.last_success {
                since.push(&[account_id, region, c.name.as_str(), d.kind], t);
            }
        }
    }
    vec![count, failing, since]
}

/// A failed delivery needs attention (what `aws_config_delivery_failing` exports), with AWS's
/// code and message.
pub fn delivery_items(
    account_id: &str,
    region: &str,
    channels: &[ChannelStatus],
) -> Vec<Attention> {
    channels
        .iter()
        .flat_map(|c| {
            c.deliveries
                .iter()
                .filter(|d| d.status.as_deref() == Some("Failure"))
                .map(move |d| Attention {
                    concern: Concern::ConfigFlow,
                    account_id: account_id.to_string(),
                    region: region.to_string(),
                    subject: format!("delivery channel {}: {} delivery failed", c.name, d.kind),
                    code: d.error_code.clone().unwrap_or_else(|| "Failure".into()),
                    message: d.error_message.clone().unwrap_or_default(),
                })
        })
        .collect()
}

/// Whether a rule's last evaluation failed: a failure later than its last success, or a
/// failure and no success at all.
pub fn evaluation_failing(e: &RuleEvaluation) -> bool {
    match (e.last_failure, e.last_success) {
        (Some(f), Some(s)) => f > s,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The families of the rules' evaluations.
pub fn evaluation_families(
    account_id: &str,
    region: &str,
    rules: &[RuleEvaluation],
) -> Vec<Family> {
    let mut failing = Family::new(&RULE_FAILING);
    let mut since = Family::new(&RULE_SINCE);
    for e in rules.iter().filter(|e| evaluation_failing(e)) {
        failing.push(
            &[
                account_id,
                region,
                e.rule.as_str(),
                e.error_code.as_deref().unwrap_or(""),
            ],
            1.0,
        );
        if let Some(t) = e.last_success.or(e.first_activated) {
            since.push(&[account_id, region, e.rule.as_str()], t);
        }
    }
    vec![failing, since]
}

/// A rule whose last evaluation failed needs attention (what
/// `aws_config_rule_evaluation_failing` exports), with AWS's code and message.
pub fn evaluation_items(
    account_id: &str,
    region: &str,
    rules: &[RuleEvaluation],
) -> Vec<Attention> {
    rules
        .iter()
        .filter(|e| evaluation_failing(e))
        .map(|e| Attention {
            concern: Concern::ConfigFlow,
            account_id: account_id.to_string(),
            region: region.to_string(),
            subject: format!("rule {}: evaluation failed", e.rule),
            code: e.error_code.clone().unwrap_or_else(|| "Failure".into()),
            message: e.error_message.clone().unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::api::{ChannelStatus, RecorderStatus, RecordingScope, RuleEvaluation};
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
                customer_managed: 1,
                service_linked: Some(2),
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
            let flagged =
                count_samples(&families, "aws_config_recorders", |l, v| {
                    v == 0.0 && l["kind"] == CUSTOMER_MANAGED
                }) + count_samples(&families, "aws_config_recorder_recording", |_, v| v == 0.0)
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
            customer_managed: 1,
            service_linked: Some(1),
            statuses: vec![
                RecorderStatus {
                    name: "default".into(),
                    service_principal: None,
                    recording_scope: Some("PAID".into()),
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
                    service_principal: Some("config-conforms.amazonaws.com".into()),
                    recording_scope: Some("INTERNAL".into()),
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
aws_config_recorders{account_id=\"123456789012\",region=\"eu-west-1\",kind=\"customer_managed\"} 1
aws_config_recorders{account_id=\"123456789012\",region=\"eu-west-1\",kind=\"service_linked\"} 1
aws_config_recorder_recording{account_id=\"123456789012\",region=\"eu-west-1\",recorder=\"default\",service_principal=\"\",recording_scope=\"PAID\"} 1
aws_config_recorder_recording{account_id=\"123456789012\",region=\"eu-west-1\",recorder=\"second\",service_principal=\"config-conforms.amazonaws.com\",recording_scope=\"INTERNAL\"} 0
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
            "aws_config_recorders{account_id=\"123456789012\",region=\"us-east-1\",kind=\"customer_managed\"} 0\n"
        );
    }

    fn scope(name: &str, strategy: Option<&str>, all: bool, types: usize) -> RecordingScope {
        RecordingScope {
            name: name.into(),
            strategy: strategy.map(String::from),
            all_supported: all,
            resource_types: types,
            ..RecordingScope::default()
        }
    }

    /// Only a recorder that records part of the account has a partial series; daily recording
    /// and global resources are flagged where they apply, and the items match the partial ones.
    #[test]
    fn golden_recording_scope_only_gaps_have_series() {
        let scopes = [
            RecordingScope {
                include_global: true,
                frequency: Some("CONTINUOUS".into()),
                ..scope("all", Some("ALL_SUPPORTED_RESOURCE_TYPES"), true, 0)
            },
            scope("incl", Some("INCLUSION_BY_RESOURCE_TYPES"), false, 3),
            RecordingScope {
                override_frequencies: vec!["DAILY".into()],
                ..scope("excl", Some("EXCLUSION_BY_RESOURCE_TYPES"), false, 2)
            },
            RecordingScope {
                frequency: Some("DAILY".into()),
                ..scope("excl-none", Some("EXCLUSION_BY_RESOURCE_TYPES"), false, 0)
            },
            scope("legacy", None, false, 1),
        ];
        let got = text(&scope_families("1", "r", &scopes));
        let want = "\
aws_config_recorder_partial{account_id=\"1\",region=\"r\",recorder=\"incl\",strategy=\"INCLUSION_BY_RESOURCE_TYPES\"} 1
aws_config_recorder_partial{account_id=\"1\",region=\"r\",recorder=\"excl\",strategy=\"EXCLUSION_BY_RESOURCE_TYPES\"} 1
aws_config_recorder_partial{account_id=\"1\",region=\"r\",recorder=\"legacy\",strategy=\"INCLUSION_BY_RESOURCE_TYPES\"} 1
aws_config_recorder_daily{account_id=\"1\",region=\"r\",recorder=\"excl\",applies_to=\"overrides\"} 1
aws_config_recorder_daily{account_id=\"1\",region=\"r\",recorder=\"excl-none\",applies_to=\"all\"} 1
aws_config_recorder_global_resources{account_id=\"1\",region=\"r\",recorder=\"all\"} 1
";
        assert_eq!(got, want);
        let items = scope_items("1", "r", &scopes);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].code, "INCLUSION_BY_RESOURCE_TYPES");
        assert_eq!(items[0].message, "it records only 3 resource types");
        assert_eq!(items[1].message, "it excludes 2 resource types");
        assert!(items.iter().all(|i| i.concern == Concern::ConfigFlow));
    }

    /// A delivery at Success or Not_Applicable has no series; a failed one has its code and,
    /// for S3, since when nothing arrived; the channel count is there even without channels.
    #[test]
    fn golden_deliveries_only_failures_have_series() {
        use super::super::api::Delivery;
        let d = |kind, status: &str, code: Option<&str>, success: Option<f64>| Delivery {
            kind,
            status: Some(status.into()),
            error_code: code.map(String::from),
            error_message: code.map(|_| "Access Denied".to_string()),
            last_success: success,
        };
        let channels = [ChannelStatus {
            name: "default".into(),
            deliveries: vec![
                d(
                    "history",
                    "Failure",
                    Some("AccessDenied"),
                    Some(1_700_000_000.0),
                ),
                d("snapshot", "Success", None, Some(1_700_000_500.0)),
                d("stream", "Failure", Some("AuthorizationError"), None),
            ],
        }];
        let want = "\
aws_config_delivery_failing{account_id=\"1\",region=\"r\",channel=\"default\",delivery=\"history\",error_code=\"AccessDenied\"} 1
aws_config_delivery_failing{account_id=\"1\",region=\"r\",channel=\"default\",delivery=\"stream\",error_code=\"AuthorizationError\"} 1
aws_config_delivery_last_success_timestamp_seconds{account_id=\"1\",region=\"r\",channel=\"default\",delivery=\"history\"} 1700000000
";
        assert_eq!(text(&delivery_families("1", "r", &channels)), want);
        let items = delivery_items("1", "r", &channels);
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].code.as_str(), items[0].message.as_str()),
            ("AccessDenied", "Access Denied")
        );
        assert_eq!(
            text(&delivery_families("1", "r", &[])),
            "aws_config_delivery_channels{account_id=\"1\",region=\"r\"} 0\n"
        );
    }

    /// A rule fails when its last failure is later than its last success (or it never
    /// succeeded); since when is its last success, or its activation.
    #[test]
    fn golden_rule_evaluations_only_failing_rules_have_series() {
        let e = |rule: &str, success: Option<f64>, failure: Option<f64>| RuleEvaluation {
            rule: rule.into(),
            last_success: success,
            last_failure: failure,
            first_activated: Some(1_600_000_000.0),
            error_code: failure.map(|_| "AccessDeniedException".to_string()),
            error_message: failure.map(|_| "not authorized".to_string()),
        };
        let rules = [
            e("fine", Some(1_700_000_000.0), None),
            e("recovered", Some(1_700_000_100.0), Some(1_700_000_000.0)),
            e("failing", Some(1_700_000_000.0), Some(1_700_000_100.0)),
            e("never", None, Some(1_700_000_100.0)),
        ];
        let want = "\
aws_config_rule_evaluation_failing{account_id=\"1\",region=\"r\",rule=\"failing\",error_code=\"AccessDeniedException\"} 1
aws_config_rule_evaluation_failing{account_id=\"1\",region=\"r\",rule=\"never\",error_code=\"AccessDeniedException\"} 1
aws_config_rule_evaluation_last_success_timestamp_seconds{account_id=\"1\",region=\"r\",rule=\"failing\"} 1700000000
aws_config_rule_evaluation_last_success_timestamp_seconds{account_id=\"1\",region=\"r\",rule=\"never\"} 1600000000
";
        assert_eq!(text(&evaluation_families("1", "r", &rules)), want);
        let items = evaluation_items("1", "r", &rules);
        let subjects: Vec<&str> = items.iter().map(|i| i.subject.as_str()).collect();
        assert_eq!(
            subjects,
            [
                "rule failing: evaluation failed",
                "rule never: evaluation failed"
            ]
        );
        assert_eq!(items[0].message, "not authorized");
    }

    /// Each part's items are exactly its detail series that need attention.
    #[test]
    fn part_items_count_what_their_families_flag() {
        use crate::metrics::count_samples;
        let scopes = [
            scope("a", Some("INCLUSION_BY_RESOURCE_TYPES"), false, 2),
            scope("b", Some("ALL_SUPPORTED_RESOURCE_TYPES"), true, 0),
        ];
        let f = scope_families("1", "r", &scopes);
        assert_eq!(
            scope_items("1", "r", &scopes).len(),
            count_samples(&f, "aws_config_recorder_partial", |_, v| v == 1.0)
        );
        let rules = [RuleEvaluation {
            rule: "x".into(),
            last_failure: Some(2.0),
            last_success: Some(1.0),
            ..RuleEvaluation::default()
        }];
        let f = evaluation_families("1", "r", &rules);
        assert_eq!(
            evaluation_items("1", "r", &rules).len(),
            count_samples(&f, "aws_config_rule_evaluation_failing", |_, v| v == 1.0)
        );
        assert_eq!(evaluation_items("1", "r", &rules)[0].code, "Failure");
    }
}
