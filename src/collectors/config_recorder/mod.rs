//! `config_recorder`: is AWS Config recording in this account and region?
//!
//! Two calls per (account, region): DescribeConfigurationRecorders (how many recorders exist;
//! none means Config is off there, itself a finding) and DescribeConfigurationRecorderStatus
//! (recording or not, the status of the latest recording event and its times). Neither paginates.

pub mod api;
pub mod config;
pub mod convert;

use crate::aws::CollectError;
use crate::collect::{Collected, Collector, JobContext, Scope};
pub use config::Settings;

/// AWS Config recorders, per account and region.
pub struct ConfigRecorder;

impl Collector for ConfigRecorder {
    const NAME: &'static str = "config_recorder";
    const SCOPE: Scope = Scope::AccountRegion;
    const WATCHES_REGIONS: bool = true;
    type Settings = Settings;
    type State = ();

    async fn collect(ctx: &JobContext<Settings>, _: &mut ()) -> Result<Collected, CollectError> {
        collect(ctx).await
    }
}

/// One run.
pub async fn collect(ctx: &JobContext<Settings>) -> Result<Collected, CollectError> {
    let data = api::fetch(&ctx.aws).await?;
    Ok(Collected {
        families: convert::families(&ctx.aws.account_id, &ctx.aws.region, &data),
        items: convert::items(&ctx.aws.account_id, &ctx.aws.region, &data),
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
        ..Collected::default()
    })
}
