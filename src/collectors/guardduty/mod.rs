//! `guardduty`: is GuardDuty on in this account and region, and what does it see?
//!
//! Per (account, region): ListDetectors (every page; none means GuardDuty is off there, itself
//! a finding), then per detector GetDetector, GetFindingsStatistics grouped by severity over
//! current findings, and ListMembers (every page, every relationship). A detector with members
//! belongs to an administrator: it also gets GetFindingsStatistics grouped by account. One
//! without members may belong to a member account: it gets GetAdministratorAccount. That is 5
//! calls for an ordinary account, 4 plus one per 50 members for an administrator, and 1 where
//! GuardDuty is off.
//!
//! A detector deleted during the run is dropped (see [`api::fetch`]); an access denial fails the
//! whole (account, region), its message naming the missing IAM action.

pub mod api;
pub mod config;
pub mod convert;

use crate::aws::CollectError;
use crate::collect::{Collected, Collector, JobContext, Scope};
pub use config::Settings;

/// GuardDuty detectors, findings and members, per account and region.
pub struct GuardDuty;

impl Collector for GuardDuty {
    const NAME: &'static str = "guardduty";
    const SCOPE: Scope = Scope::AccountRegion;
    type Settings = Settings;
    type State = ();

    async fn collect(ctx: &JobContext<Settings>, _: &mut ()) -> Result<Collected, CollectError> {
        collect(ctx).await
    }
}

/// One run.
pub async fn collect(ctx: &JobContext<Settings>) -> Result<Collected, CollectError> {
    let c = &ctx.aws;
    let data = api::fetch(c).await?;
    let converted = convert::convert(&c.account_id, &c.region, &data);
    let mut notes = Vec::new();
    for id in &data.vanished {
        tracing::info!(
            account_id = %c.account_id,
            region = %c.region,
            detector_id = %id,
            "GuardDuty detector deleted during the collection; dropped"
        );
        notes.push(format!("detector {id} was deleted during the collection"));
    }
    for a in converted.anomalies {
        tracing::warn!(account_id = %c.account_id, region = %c.region, "{a}");
        notes.push(a);
    }
    Ok(Collected {
        families: converted.families,
        notes,
        next_run: None,
    })
}
