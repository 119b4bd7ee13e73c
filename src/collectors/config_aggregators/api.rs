//! SDK calls of `config_aggregators`; the only place its SDK types appear.

use aws_smithy_types::DateTime;

use crate::aws::{CollectError, RegionClients};

/// The largest page AWS serves for both operations (the model's `Limit`: 0..=100).
pub const PAGE_LIMIT: i32 = 100;

/// AWS's error code for an aggregator that does not exist (any more).
pub const NO_SUCH_AGGREGATOR: &str = "NoSuchConfigurationAggregatorException";

/// The status of one source of an aggregator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStatus {
    /// Source account id, or the organization for an organization source.
    pub source_id: String,
    /// ACCOUNT or ORGANIZATION, raw spelling.
    pub source_type: String,
    /// Region of the source.
    pub region: String,
    /// FAILED, SUCCEEDED or OUTDATED, raw spelling.
    pub status: String,
    /// Unix seconds of the last update.
    pub last_update: Option<f64>,
    /// Error code of the last failure.
    pub error_code: Option<String>,
    /// Error message of the last failure (status page only).
    pub error_message: Option<String>,
}

/// One aggregator and its sources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregator {
    /// Aggregator name.
    pub name: String,
    /// Its sources.
    pub sources: Vec<SourceStatus>,
}

fn secs(t: Option<&DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// DescribeConfigurationAggregators, every page: the aggregator names.
pub async fn aggregator_names(c: &RegionClients) -> Result<Vec<String>, CollectError> {
    c.config(|cl| cl.describe_configuration_aggregators().limit(PAGE_LIMIT))
        .all_pages(|out| {
            Ok(out
                .configuration_aggregators()
                .iter()
                .filter_map(|a| a.configuration_aggregator_name().map(str::to_string))
                .collect())
        })
        .await
}

/// DescribeConfigurationAggregatorSourcesStatus of one aggregator, every page; `None` when the
/// aggregator was deleted since it was listed.
pub async fn sources(
    c: &RegionClients,
    aggregator: &str,
) -> Result<Option<Vec<SourceStatus>>, CollectError> {
    let got = c
        .config(|cl| {
            cl.describe_configuration_aggregator_sources_status()
                .configuration_aggregator_name(aggregator)
                .limit(PAGE_LIMIT)
        })
        .all_pages(|out| {
            Ok(out
                .aggregated_source_status_list()
                .iter()
                .map(|s| SourceStatus {
                    source_id: s.source_id().unwrap_or_default().to_string(),
                    source_type: s
                        .source_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    region: s.aws_region().unwrap_or_default().to_string(),
                    status: s
                        .last_update_status()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    last_update: secs(s.last_update_time()),
                    error_code: s.last_error_code().map(str::to_string),
                    error_message: s.last_error_message().map(str::to_string),
                })
                .collect())
        })
        .await;
    match got {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.code() == Some(NO_SUCH_AGGREGATOR) => Ok(None),
        Err(e) => Err(e),
    }
}
