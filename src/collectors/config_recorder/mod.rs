//! `config_recorder`: is AWS Config recording in this account and region?
//!
//! Two calls per (account, region): DescribeConfigurationRecorders (how many recorders exist;
//! none means Config is off there, itself a finding) and DescribeConfigurationRecorderStatus
//! (recording or not, the last delivery status and its times). Neither paginates.

pub mod api;
pub mod convert;

use super::{Collected, JobContext};
use crate::aws::CollectError;

/// One run.
pub async fn collect(ctx: &JobContext) -> Result<Collected, CollectError> {
    let data = api::fetch(&ctx.aws).await?;
    Ok(Collected {
        families: convert::families(&ctx.aws.account_id, &ctx.aws.region, &data),
        notes: data
            .statuses
            .iter()
            .filter_map(|s| {
                s.last_error_code.as_ref().map(|c| {
                    format!(
                        "recorder {}: {} {}",
                        s.name,
                        c,
                        s.last_error_message.as_deref().unwrap_or("")
                    )
                })
            })
            .collect(),
        next_run: None,
    })
}
