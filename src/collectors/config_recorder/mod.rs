//! `config_recorder`: is AWS Config recording in this account and region, and does its data
//! flow?
//!
//! Calls per (account, region), with every read on (the default):
//! - ListConfigurationRecorders (one call up to 20 recorders): every recorder, the
//!   customer-managed one and the service-linked ones, each with its service principal and
//!   recording scope;
//! - DescribeConfigurationRecorderStatus once per recorder, by ARN (the model allows one
//!   recorder a call, and answers without one for the customer-managed recorder alone);
//! - DescribeConfigurationRecorders (the customer-managed recorder's recording group and mode:
//!   a recorder that records only part of the account is a gap);
//! - DescribeDeliveryChannelStatus (the last delivery to S3 and SNS);
//! - DescribeConfigRuleEvaluationStatus (one call per 50 rules: rules whose evaluations fail).
//!
//! So 4 + recorders calls (5 or 6 in most regions); the last two are skipped where there is no
//! recorder at all (Config is off: nothing to deliver or evaluate), leaving 1, and the delivery
//! channel where only `INTERNAL` service-linked recorders record (they deliver nothing). Each of the
//! extra reads can be turned off (see [`config::Recorder`]); with `service_linked: false` the
//! recorders are read as before, DescribeConfigurationRecorders (the count, and what the
//! recorder records) and DescribeConfigurationRecorderStatus without a name (2 calls in place of
//! 2 + recorders).
//!
//! The recorders and their statuses are the run's core: their failure fails the run. The other
//! reads are parts, each kept or failed on its own, so a refused DescribeDeliveryChannelStatus
//! does not hide the recorders.

pub mod api;
pub mod config;
pub mod convert;

use crate::aws::CollectError;
use crate::collect::{Collected, Collector, JobContext, Part, Scope};
use crate::metrics::Reading;
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

/// The recorders and their statuses: every recorder by ARN, or the customer-managed one alone;
/// and, where the latter read them, what it records (DescribeConfigurationRecorders, read once).
async fn recorders(
    ctx: &JobContext<Settings>,
) -> Result<(api::RecorderData, Option<Vec<api::RecordingScope>>), CollectError> {
    let c = &ctx.aws;
    if ctx.settings.service_linked {
        let list = api::list(c).await?;
        let statuses = api::statuses(c, &list).await?;
        let linked = list
            .iter()
            .filter(|r| r.service_principal.is_some())
            .count();
        let data = api::RecorderData {
            customer_managed: list.len() - linked,
            service_linked: Some(linked),
            statuses,
        };
        Ok((data, None))
    } else {
        let customer = api::scopes(c).await?;
        let mut statuses = api::customer_status(c).await?;
        for s in &mut statuses {
            s.recording_scope = customer
                .iter()
                .find(|r| r.name == s.name)
                .and_then(|r| r.recording_scope.clone());
        }
        let data = api::RecorderData {
            customer_managed: customer.len(),
            service_linked: None,
            statuses,
        };
        Ok((data, Some(customer)))
    }
}

/// One run.
pub async fn collect(ctx: &JobContext<Settings>) -> Result<Collected, CollectError> {
    let (account, region) = (ctx.aws.account_id.as_str(), ctx.aws.region.as_str());
    let (data, scopes) = recorders(ctx).await?;
    let mut parts = Vec::new();
    if ctx.settings.recording_scope && data.customer_managed > 0 {
        let read = match scopes {
            Some(s) => Ok(s),
            None => api::scopes(&ctx.aws).await,
        };
        parts.push(Part {
            name: "recording scope".into(),
            result: read.map(|s| Reading {
                families: convert::scope_families(account, region, &s),
                items: convert::scope_items(account, region, &s),
            }),
        });
    }
    let any = data.customer_managed + data.service_linked.unwrap_or(0) > 0;
    // "If the recording scope is internal, you will not receive CIs in the delivery channel"
    // (PutServiceLinkedConfigurationRecorder): a channel matters beside a recorder that delivers.
    let delivers = data.customer_managed > 0
        || data
            .statuses
            .iter()
            .any(|s| s.service_principal.is_some() && s.recording_scope.as_deref() == Some("PAID"));
    if ctx.settings.delivery && delivers {
        parts.push(Part {
            name: "delivery channels".into(),
            result: api::channels(&ctx.aws).await.map(|ch| Reading {
                families: convert::delivery_families(account, region, &ch),
                items: convert::delivery_items(account, region, &ch),
            }),
        });
    }
    if ctx.settings.rule_evaluations && any {
        parts.push(Part {
            name: "rule evaluations".into(),
            result: api::evaluations(&ctx.aws).await.map(|e| Reading {
                families: convert::evaluation_families(account, region, &e),
                items: convert::evaluation_items(account, region, &e),
            }),
        });
    }
    Ok(Collected {
        families: convert::families(account, region, &data),
        items: convert::items(account, region, &data),
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
        parts,
    })
}
