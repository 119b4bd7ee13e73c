//! SDK calls of `config_recorder`; the only place its SDK types appear.

use aws_smithy_types::DateTime;

use crate::aws::{CollectError, RegionClients};

/// One recorder's status, in plain types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderStatus {
    /// Recorder name.
    pub name: String,
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

/// What the two calls answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderData {
    /// Names of the configured recorders.
    pub recorders: Vec<String>,
    /// Their statuses.
    pub statuses: Vec<RecorderStatus>,
}

fn secs(t: Option<&DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// Calls DescribeConfigurationRecorders and DescribeConfigurationRecorderStatus.
pub async fn fetch(c: &RegionClients) -> Result<RecorderData, CollectError> {
    let recorders = c.config(|cl| cl.describe_configuration_recorders()).await?;
    let statuses = c
        .config(|cl| cl.describe_configuration_recorder_status())
        .await?;
    Ok(RecorderData {
        recorders: recorders
            .configuration_recorders()
            .iter()
            .map(|r| r.name().unwrap_or_default().to_string())
            .collect(),
        statuses: statuses
            .configuration_recorders_status()
            .iter()
            .map(|s| RecorderStatus {
                name: s.name().unwrap_or_default().to_string(),
                recording: s.recording(),
                last_status: s.last_status().map(|v| v.as_str().to_string()),
                last_status_change: secs(s.last_status_change_time()),
                last_start: secs(s.last_start_time()),
                last_stop: secs(s.last_stop_time()),
                last_error_code: s.last_error_code().map(str::to_string),
                last_error_message: s.last_error_message().map(str::to_string),
            })
            .collect(),
    })
}
