//! `config_org_rules`: the organization AWS Config rules, their organization-wide status and
//! their deployment in every member account; the source of the alert users asked for first, "an
//! organization rule failed to deploy in a member account" (`CREATE_FAILED`, `UPDATE_FAILED`,
//! `DELETE_FAILED`).
//!
//! It runs once, from the management or delegated-administrator account, in one region.
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

use std::collections::BTreeSet;

use tokio::time::Instant;

use crate::aws::{CollectError, ErrorKind, RegionClients};
use crate::collect::{Collected, Collector, JobContext, Scope, Section as _};
use crate::collectors::org_deployments::{self, Deployments, Noun, Scans, SCAN_BUDGET};
pub use config::Settings;

/// What the job keeps from one run to the next: the last member scan of each rule.
pub type State = Scans;

/// Rewords `OrganizationAccessDeniedException` into what to do about it.
fn explain(e: CollectError, c: &RegionClients) -> CollectError {
    if e.code() != Some(api::ORG_ACCESS_DENIED) {
        return e;
    }
    CollectError {
        kind: ErrorKind::AccessDenied,
        message: format!(
            "account {acct} is neither the management account of its organization nor a delegated administrator for AWS Config, and only those can read organization Config rules: set collectors.config_org_rules.target to the target of the management account (or of the delegated administrator that deployed the rules), or register {acct} with `aws organizations register-delegated-administrator --account-id {acct} --service-principal config-multiaccountsetup.amazonaws.com`. AWS said: {}",
            e.message,
            acct = c.account_id,
        ),
        ..e
    }
}

/// Organization Config rules, from the organization target in one region.
pub struct ConfigOrgRules;

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
    let c = &*ctx.aws;
    let cfg = &*ctx.settings;
    let detail: BTreeSet<&str> = cfg.detail_statuses.iter().map(String::as_str).collect();
    let deadline = Instant::now() + cfg.schedule().timeout.mul_f64(SCAN_BUDGET);
    let calls_before = c.calls();
    let statuses = api::rule_statuses(c).await.map_err(|e| explain(e, c))?;
    // The definitions stand apart: without them the statuses are still worth exporting.
    let defs = api::rule_defs(c).await.map_err(|e| explain(e, c));
    let shown = org_deployments::run(
        state,
        statuses,
        defs,
        &detail,
        deadline,
        Deployments {
            noun: Noun::Rule,
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
