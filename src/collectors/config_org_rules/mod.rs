//! `config_org_rules`: the organization AWS Config rules, their organization-wide status and
//! their deployment in every member account; the source of the alert users asked for first, "an
//! organization rule failed to deploy in a member account" (`CREATE_FAILED`, `UPDATE_FAILED`,
//! `DELETE_FAILED`).
//!
//! It runs from the management or delegated-administrator account, once in each region it is
//! given (`regions`; the home region by default).
//!
//! # The call sequence, and why it is the cheap one
//!
//! Each run lists every rule's organization status and `LastUpdateTime`
//! (DescribeOrganizationConfigRuleStatuses, every page) and every definition
//! (DescribeOrganizationConfigRules, every page: definition time and `ExcludedAccounts`, exported
//! as a count since an excluded account is a blind spot), then reads members
//! (GetOrganizationConfigRuleDetailedStatus, 100 a page) only for the rules whose deployment
//! changed, plus one safety check a run: the incremental scan of
//! [`org_deployments`](crate::collectors::org_deployments), shared with organization
//! conformance packs. On 1,000 members and 50 rules where 1% of the deployments failed: naive
//! 502 calls, steady state 2 + 3 = 5 calls (1%). The integration test `org_rules::api_budget`
//! measures it on the simulator. The saving lives in the job's [`State`], kept by the
//! scheduler's loop; a run with a fresh state (`collect --once`) is a first run.
//!
//! A run that nears its timeout stops starting scans (the state keeps what is done) and asks to
//! run again soon; rules not scanned yet show their status but no counts. A rule deleted
//! between the listing and its scan (`NoSuchOrganizationConfigRuleException`) is dropped from
//! the run, which still succeeds. `OrganizationAccessDeniedException` fails the run with a
//! message naming the account that was used and the accounts that can be used instead.

pub mod api;
pub mod config;
pub mod convert;

use crate::aws::{CollectError, RegionClients};
use crate::collect::{Collected, Collector, JobContext, Scope};
use crate::collectors::org_deployments::{
    self, Definition, Descs, Detail, Kind, Noun, Scans, Status,
};
pub use config::Settings;

/// What the job keeps from one run to the next: the last member scan of each rule.
pub type State = Scans;

/// Organization Config rules, from the organization target, one job per region.
pub struct ConfigOrgRules;

impl Kind for ConfigOrgRules {
    const NOUN: Noun = Noun::Rule;
    const COLLECTOR: &'static str = "config_org_rules";

    fn descs() -> &'static Descs {
        &convert::DESCS
    }

    async fn statuses(c: &RegionClients) -> Result<Vec<Status>, CollectError> {
        api::rule_statuses(c).await
    }

    async fn definitions(c: &RegionClients) -> Result<Vec<Definition>, CollectError> {
        api::rule_defs(c).await
    }

    async fn members(
        c: &RegionClients,
        name: String,
        status: Option<String>,
    ) -> Result<Detail, CollectError> {
        api::detailed_status(c, &name, status.as_deref()).await
    }
}

impl Collector for ConfigOrgRules {
    const NAME: &'static str = "config_org_rules";
    const SCOPE: Scope = Scope::Org;
    type Settings = Settings;
    type State = State;

    async fn collect(
        ctx: &JobContext<Settings>,
        state: &mut State,
    ) -> Result<Collected, CollectError> {
        collect(ctx, state).await
    }
}

/// One run.
pub async fn collect(
    ctx: &JobContext<Settings>,
    state: &mut State,
) -> Result<Collected, CollectError> {
    org_deployments::collect::<ConfigOrgRules>(ctx, state).await
}
