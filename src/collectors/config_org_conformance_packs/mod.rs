//! `config_org_conformance_packs`: the organization conformance packs, their organization-wide
//! status and their deployment in every member account; the source of the alert "an
//! organization conformance pack failed to deploy in a member account".
//!
//! It runs from the management or delegated-administrator account, once in each region, like
//! `config_org_rules`, and reads the same cheap way: every pack's status
//! (DescribeOrganizationConformancePackStatuses) and definition
//! (DescribeOrganizationConformancePacks: definition time and `ExcludedAccounts`) each run, and
//! members (GetOrganizationConformancePackDetailedStatus, 100 a page) only for the packs whose
//! deployment changed, plus one safety check a run: the incremental scan of
//! [`org_deployments`](crate::collectors::org_deployments), one mechanism for rules and packs.
//! A pack deleted between its listing and its scan is dropped from the run;
//! `OrganizationAccessDeniedException` fails the run with what to do about it.

pub mod api;
pub mod config;
pub mod convert;

use crate::aws::{CollectError, RegionClients};
use crate::collect::{Collected, Collector, JobContext, Scope};
use crate::collectors::org_deployments::{
    self, Definition, Descs, Detail, Kind, Noun, Scans, Status,
};
pub use config::Settings;

/// What the job keeps from one run to the next: the last member scan of each pack.
pub type State = Scans;

/// Organization conformance packs, from the organization target, one job per region.
pub struct ConfigOrgConformancePacks;

impl Kind for ConfigOrgConformancePacks {
    const NOUN: Noun = Noun::Pack;
    const COLLECTOR: &'static str = "config_org_conformance_packs";

    fn descs() -> &'static Descs {
        &convert::DESCS
    }

    async fn statuses(c: &RegionClients) -> Result<Vec<Status>, CollectError> {
        api::pack_statuses(c).await
    }

    async fn definitions(c: &RegionClients) -> Result<Vec<Definition>, CollectError> {
        api::pack_defs(c).await
    }

    async fn members(
        c: &RegionClients,
        name: String,
        status: Option<String>,
    ) -> Result<Detail, CollectError> {
        api::detailed_status(c, &name, status.as_deref()).await
    }
}

impl Collector for ConfigOrgConformancePacks {
    const NAME: &'static str = "config_org_conformance_packs";
    const SCOPE: Scope = Scope::Org;
    type Settings = Settings;
    type State = State;

    async fn collect(
        ctx: &JobContext<Settings>,
        state: &mut State,
    ) -> Result<Collected, CollectError> {
        org_deployments::collect::<ConfigOrgConformancePacks>(ctx, state).await
    }
}
