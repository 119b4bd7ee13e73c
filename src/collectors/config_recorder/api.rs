//! SDK calls of `config_recorder`; the only place its SDK types appear.
//!
//! Limits relied on, from the Config model (2014-11-12):
//! - ListConfigurationRecorders: `MaxResults` "The maximum number of results to include in the
//!   response", range 0..=20; pages by `NextToken`. Each summary has `arn`, `name`,
//!   `recordingScope` (required) and, "For service-linked configuration recorders",
//!   `servicePrincipal`.
//! - DescribeConfigurationRecorderStatus: "If a configuration recorder is not specified, this
//!   operation returns the status for the customer managed configuration recorder configured for
//!   the account, if applicable", and "you can only specify one configuration recorder": every
//!   recorder is asked by its `Arn`, one a call ("For third-party service-linked configuration
//!   recorders, use `Arn` instead" of `ServicePrincipal`).
//! - DescribeConfigurationRecorders without a name: the customer-managed recorder only.
//! - DescribeDeliveryChannelStatus without names: "the current status of all delivery channels
//!   associated with the account"; not paginated.
//! - DescribeConfigRuleEvaluationStatus: `Limit` ("The number of rule evaluation results that
//!   you want returned") range 0..=50; pages by `NextToken`. "This operation does not return
//!   status information about Config Custom Lambda rules."

use aws_sdk_config::types::{ConfigExportDeliveryInfo, ConfigStreamDeliveryInfo};
use aws_smithy_types::DateTime;

use crate::aws::{CollectError, RegionClients};

/// ListConfigurationRecorders' `MaxResults`: the model's maximum.
pub const LIST_PAGE: i32 = 20;
/// DescribeConfigRuleEvaluationStatus' `Limit`: the model's maximum.
pub const EVALUATIONS_PAGE: i32 = 50;

/// One recorder's status, in plain types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderStatus {
    /// Recorder name.
    pub name: String,
    /// The linked service of a service-linked recorder; `None` for the customer-managed one.
    pub service_principal: Option<String>,
    /// `INTERNAL` or `PAID` (raw spelling), where ListConfigurationRecorders said.
    pub recording_scope: Option<String>,
    /// Whether it is recording.
    pub recording: bool,
    /// Status of the latest recording event, in AWS's raw spelling (a value AWS adds later is kept as is).
    pub last_status: Option<String>,
    /// Unix seconds of the last status change.
    pub last_status_change: Option<f64>,
    /// Unix seconds of the last start.
    pub last_start: Option<f64>,
    /// Unix seconds of the last stop.
    pub last_stop: Option<f64>,
    /// Last error code.
    pub last_error_code: Option<String>,
    /// Last error message (status page only).
    pub last_error_message: Option<String>,
}

/// A recorder as ListConfigurationRecorders lists it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderSummary {
    /// ARN, by which its status is asked.
    pub arn: String,
    /// Name.
    pub name: String,
    /// The linked service, for a service-linked recorder.
    pub service_principal: Option<String>,
    /// `INTERNAL` or `PAID`.
    pub recording_scope: String,
}

/// What the customer-managed recorder records (DescribeConfigurationRecorders).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingScope {
    /// Recorder name.
    pub name: String,
    /// `recordingStrategy.useOnly` (raw spelling); `None` when AWS gave none (then
    /// `allSupported` decides).
    pub strategy: Option<String>,
    /// `allSupported`.
    pub all_supported: bool,
    /// Resource types listed: included (`resourceTypes`) or excluded
    /// (`exclusionByResourceTypes.resourceTypes`), whichever the strategy uses.
    pub resource_types: usize,
    /// `includeGlobalResourceTypes`.
    pub include_global: bool,
    /// `recordingMode.recordingFrequency` (raw spelling), if given.
    pub frequency: Option<String>,
    /// Frequencies of `recordingModeOverrides` (raw spelling), one per override.
    pub override_frequencies: Vec<String>,
    /// `recordingScope` (`INTERNAL` or `PAID`, raw spelling), if given.
    pub recording_scope: Option<String>,
}

/// One delivery of a delivery channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    /// `history`, `snapshot` (to S3) or `stream` (to SNS).
    pub kind: &'static str,
    /// `Success`, `Failure`, `Not_Applicable` (raw spelling).
    pub status: Option<String>,
    /// AWS's error code of the last attempt.
    pub error_code: Option<String>,
    /// AWS's error message of the last attempt.
    pub error_message: Option<String>,
    /// Unix seconds of the last successful delivery (S3 deliveries only).
    pub last_success: Option<f64>,
}

/// A delivery channel's status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelStatus {
    /// Channel name.
    pub name: String,
    /// Its deliveries that AWS reported.
    pub deliveries: Vec<Delivery>,
}

/// One rule's evaluation status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleEvaluation {
    /// Rule name.
    pub rule: String,
    /// Unix seconds of the last successful evaluation or invocation, whichever is later.
    pub last_success: Option<f64>,
    /// Unix seconds of the last failed evaluation or invocation, whichever is later.
    pub last_failure: Option<f64>,
    /// Unix seconds the rule was first activated.
    pub first_activated: Option<f64>,
    /// AWS's code of the last failure.
    pub error_code: Option<String>,
    /// AWS's message of the last failure.
    pub error_message: Option<String>,
}

/// What the calls answered. `None`: not read (turned off, or nothing to read).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderData {
    /// Customer-managed recorders.
    pub customer_managed: usize,
    /// Service-linked recorders; `None` when they were not listed.
    pub service_linked: Option<usize>,
    /// Every recorder's status.
    pub statuses: Vec<RecorderStatus>,
}

fn secs(t: Option<&DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

fn later(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

fn status_of(s: &aws_sdk_config::types::ConfigurationRecorderStatus) -> RecorderStatus {
    RecorderStatus {
        name: s.name().unwrap_or_default().to_string(),
        service_principal: s.service_principal().map(str::to_string),
        recording_scope: None,
        recording: s.recording(),
        last_status: s.last_status().map(|v| v.as_str().to_string()),
        last_status_change: secs(s.last_status_change_time()),
        last_start: secs(s.last_start_time()),
        last_stop: secs(s.last_stop_time()),
        last_error_code: s.last_error_code().map(str::to_string),
        last_error_message: s.last_error_message().map(str::to_string),
    }
}

/// ListConfigurationRecorders, every page.
pub async fn list(c: &RegionClients) -> Result<Vec<RecorderSummary>, CollectError> {
    c.config(|cl| cl.list_configuration_recorders().max_results(LIST_PAGE))
        .all_pages(|out| {
            Ok(out
                .configuration_recorder_summaries()
                .iter()
                .map(|r| RecorderSummary {
                    arn: r.arn().to_string(),
                    name: r.name().to_string(),
                    service_principal: r.service_principal().map(str::to_string),
                    recording_scope: r.recording_scope().as_str().to_string(),
                })
                .collect())
        })
        .await
}

/// Every recorder of `recorders` and its status, one DescribeConfigurationRecorderStatus a
/// recorder, by ARN.
pub async fn statuses(
    c: &RegionClients,
    recorders: &[RecorderSummary],
) -> Result<Vec<RecorderStatus>, CollectError> {
    let mut out = Vec::with_capacity(recorders.len());
    for r in recorders {
        let answer = c
            .config(|cl| cl.describe_configuration_recorder_status().arn(&r.arn))
            .await?;
        for s in answer.configuration_recorders_status() {
            let mut st = status_of(s);
            if st.name.is_empty() {
                st.name.clone_from(&r.name);
            }
            st.service_principal = st.service_principal.or(r.service_principal.clone());
            st.recording_scope = Some(r.recording_scope.clone());
            out.push(st);
        }
    }
    Ok(out)
}

/// DescribeConfigurationRecorderStatus without a name: the customer-managed recorder's status.
pub async fn customer_status(c: &RegionClients) -> Result<Vec<RecorderStatus>, CollectError> {
    let answer = c
        .config(|cl| cl.describe_configuration_recorder_status())
        .await?;
    Ok(answer
        .configuration_recorders_status()
        .iter()
        .map(status_of)
        .collect())
}

/// DescribeConfigurationRecorders without a name: what the customer-managed recorder records.
pub async fn scopes(c: &RegionClients) -> Result<Vec<RecordingScope>, CollectError> {
    let answer = c.config(|cl| cl.describe_configuration_recorders()).await?;
    Ok(answer
        .configuration_recorders()
        .iter()
        // Service-linked recorders' groups are "set by the service that is linked to the
        // configuration recorder"; only the customer's own choice is a gap to flag.
        .filter(|r| r.service_principal().is_none())
        .map(|r| {
            let g = r.recording_group();
            let strategy = g
                .and_then(|g| g.recording_strategy())
                .and_then(|s| s.use_only())
                .map(|s| s.as_str().to_string());
            let resource_types = match strategy.as_deref() {
                Some("EXCLUSION_BY_RESOURCE_TYPES") => g
                    .and_then(|g| g.exclusion_by_resource_types())
                    .map_or(0, |e| e.resource_types().len()),
                _ => g.map_or(0, |g| g.resource_types().len()),
            };
            let mode = r.recording_mode();
            RecordingScope {
                name: r.name().unwrap_or_default().to_string(),
                strategy,
                // The model's default is to record every supported type.
                all_supported: g.is_none_or(|g| g.all_supported()),
                resource_types,
                include_global: g.is_some_and(|g| g.include_global_resource_types()),
                frequency: mode.map(|m| m.recording_frequency().as_str().to_string()),
                override_frequencies: mode
                    .map(|m| {
                        m.recording_mode_overrides()
                            .iter()
                            .map(|o| o.recording_frequency().as_str().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                recording_scope: r.recording_scope().map(|s| s.as_str().to_string()),
            }
        })
        .collect())
}

fn export(kind: &'static str, d: &ConfigExportDeliveryInfo) -> Delivery {
    Delivery {
        kind,
        status: d.last_status().map(|s| s.as_str().to_string()),
        error_code: d.last_error_code().map(str::to_string),
        error_message: d.last_error_message().map(str::to_string),
        last_success: secs(d.last_successful_time()),
    }
}

fn stream(d: &ConfigStreamDeliveryInfo) -> Delivery {
    Delivery {
        kind: "stream",
        status: d.last_status().map(|s| s.as_str().to_string()),
        error_code: d.last_error_code().map(str::to_string),
        error_message: d.last_error_message().map(str::to_string),
        last_success: None,
    }
}

/// DescribeDeliveryChannelStatus without names: every delivery channel of the region.
pub async fn channels(c: &RegionClients) -> Result<Vec<ChannelStatus>, CollectError> {
    let answer = c.config(|cl| cl.describe_delivery_channel_status()).await?;
    Ok(answer
        .delivery_channels_status()
        .iter()
        .map(|ch| {
            let mut deliveries = Vec::new();
            if let Some(d) = ch.config_history_delivery_info() {
                deliveries.push(export("history", d));
            }
            if let Some(d) = ch.config_snapshot_delivery_info() {
                deliveries.push(export("snapshot", d));
            }
            if let Some(d) = ch.config_stream_delivery_info() {
                deliveries.push(stream(d));
            }
            ChannelStatus {
                name: ch.name().unwrap_or_default().to_string(),
                deliveries,
            }
        })
        .collect())
}

/// DescribeConfigRuleEvaluationStatus, every page of [`EVALUATIONS_PAGE`] rules.
pub async fn evaluations(c: &RegionClients) -> Result<Vec<RuleEvaluation>, CollectError> {
    c.config(|cl| {
        cl.describe_config_rule_evaluation_status()
            .limit(EVALUATIONS_PAGE)
    })
    .all_pages(|out| {
        Ok(out
            .config_rules_evaluation_status()
            .iter()
            .map(|r| RuleEvaluation {
                rule: r.config_rule_name().unwrap_or_default().to_string(),
                last_success: later(
                    secs(r.last_successful_evaluation_time()),
                    secs(r.last_successful_invocation_time()),
                ),
                last_failure: later(
                    secs(r.last_failed_evaluation_time()),
                    secs(r.last_failed_invocation_time()),
                ),
                first_activated: secs(r.first_activated_time()),
                error_code: r.last_error_code().map(str::to_string),
                error_message: r.last_error_message().map(str::to_string),
            })
            .collect())
    })
    .await
}
