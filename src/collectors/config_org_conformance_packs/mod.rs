//! `config_org_conformance_packs`: the organization conformance packs, their organization-wide
//! status and their deployment in every member account; the source of the alert "an
//! organization conformance pack failed to deploy in a member account".
//!
//! It runs once, from the management or delegated-administrator account, in one region, like
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

use std::collections::BTreeSet;

use tokio::time::Instant;

use crate::aws::{CollectError, ErrorKind, RegionClients};
use crate::collect::{Collected, Collector, JobContext, Scope, Section as _};
use crate::collectors::org_deployments::{self, Deployments, Noun, Scans, SCAN_BUDGET};
pub use config::Settings;

/// What the job keeps from one run to the next: the last member scan of each pack.
pub type State = Scans;

/// AWS's error code when the caller is neither the management account nor a delegated
/// administrator.
const ORG_ACCESS_DENIED: &str = "OrganizationAccessDeniedException";

/// Rewords `OrganizationAccessDeniedException` into what to do about it.
fn explain(e: CollectError, c: &RegionClients) -> CollectError {
    if e.code() != Some(ORG_ACCESS_DENIED) {
        return e;
    }
    CollectError {
        kind: ErrorKind::AccessDenied,
        message: format!(
            "account {acct} is neither the management account of its organization nor a delegated administrator for AWS Config, and only those can read organization conformance packs: set collectors.config_org_conformance_packs.target to the target of the management account (or of the delegated administrator that deployed the packs), or register {acct} with `aws organizations register-delegated-administrator --account-id {acct} --service-principal config-multiaccountsetup.amazonaws.com`. AWS said: {}",
            e.message,
            acct = c.account_id,
        ),
        ..e
    }
}

/// Organization conformance packs, from the organization target in one region.
pub struct ConfigOrgConformancePacks;

impl Collector for ConfigOrgConformancePacks {
    const NAME: &'static str = "config_org_conformance_packs";
    const SCOPE: Scope = Scope::Org;
    type Settings = Settings;
    type State = State;

    async fn collect(
        ctx: &JobContext<Settings>,
        state: &mut State,
    ) -> Result<Collected, CollectError> {
        let c = &*ctx.aws;
        let cfg = &*ctx.settings;
        let detail: BTreeSet<&str> = cfg.detail_statuses.iter().map(String::as_str).collect();
        let deadline = Instant::now() + cfg.schedule().timeout.mul_f64(SCAN_BUDGET);
        let calls_before = c.calls();
        let statuses = api::pack_statuses(c).await.map_err(|e| explain(e, c))?;
        // The definitions stand apart: without them the statuses are still worth exporting.
        let defs = api::pack_defs(c).await.map_err(|e| explain(e, c));
        let shown = org_deployments::run(
            state,
            statuses,
            defs,
            &detail,
            deadline,
            Deployments {
                noun: Noun::Pack,
                descs: &convert::DESCS,
                deployed_by: &c.account_id,
                region: &c.region,
            },
            |name, status| async move { api::detailed_status(c, &name, status.as_deref()).await },
            || c.calls(),
            calls_before,
        )
        .await;
        Ok(Collected {
            families: shown.families,
            notes: shown.notes,
            next_run: shown.deferred.then_some(org_deployments::CONTINUE_AFTER),
            parts: org_deployments::explained(shown.parts, |e| explain(e, c)),
            ..Collected::default()
        })
    }
}
