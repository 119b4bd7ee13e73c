//! `config_org_rules`: the organization AWS Config rules, their organization-wide status and
//! their deployment in every member account; the source of the alert users asked for first, "an
//! organization rule failed to deploy in a member account" (`CREATE_FAILED`, `UPDATE_FAILED`,
//! `DELETE_FAILED`).
//!
//! It runs once, from the management or delegated-administrator account, in one region.
//!
//! # The call sequence, and why it is the cheap one
//!
//! Per-member detail is by far the dearest part: GetOrganizationConfigRuleDetailedStatus pages
//! hold 100 members, so a naive cycle costs `2L + R·P` calls, with `R` rules, `L = ⌈R/100⌉` list
//! pages and `P = ⌈members/100⌉` detail pages a rule. But a rule's member statuses change only
//! when AWS deploys something (a put, a delete, an account joining or leaving), and each such
//! change moves the rule's organization status or its `LastUpdateTime`. So each run:
//!
//! 1. DescribeOrganizationConfigRuleStatuses, every page (`L` calls): every rule's organization
//!    status and its `LastUpdateTime`.
//! 2. DescribeOrganizationConfigRules, every page (`L` calls): each rule's definition time and
//!    `ExcludedAccounts` (exported as a count: an excluded account is a blind spot).
//! 3. A full member scan (GetOrganizationConfigRuleDetailedStatus, no filter, `P` calls) only for
//!    the rules whose fingerprint (organization status, status time, definition time, excluded
//!    accounts) differs from the one of their last scan, kept in [`State`]. A scan yields all nine
//!    member counts and the members in the detail statuses; rules that are not `*_SUCCESSFUL` go
//!    first, since they hold what needs attention.
//! 4. One safety check per run, so that a change AWS made without moving the status time can
//!    not hide for ever: the unsuccessful rule verified longest ago is read again, with one
//!    `MemberAccountRuleStatus`-filtered call per detail status (`D` calls, one page each while a
//!    status has under 100 members) when that is cheaper than its full scan, else with the full
//!    scan; a difference in the failed members triggers the full scan. Successful rules need no
//!    check: AWS calls a rule successful only when every member is.
//!
//! Cost: the first run pays `2L + R·P` (the naive figure, once per process start); a steady run
//! pays `2L + min(P, D)`; a change adds `P` per changed rule. On 1,000 members and 50 rules
//! where 1% of the deployments failed: naive 502 calls, steady state 2 + 3 = 5 calls (1%). The
//! integration test `org_rules::api_budget` measures it on the simulator. The saving lives in
//! the job's [`State`], kept by the scheduler's loop; a run with a fresh state (`collect --once`)
//! is a first run.
//!
//! A run that nears its timeout stops starting scans (the state keeps what is done) and asks to
//! run again soon; rules not scanned yet show their status but no counts. A rule deleted
//! between the listing and its scan (`NoSuchOrganizationConfigRuleException`) is dropped from
//! the run, which still succeeds. `OrganizationAccessDeniedException` fails the run with a
//! message naming the account that was used and the accounts that can be used instead.

pub mod api;
pub mod config;
pub mod convert;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::aws::{CollectError, ErrorKind, RegionClients};
use crate::collect::{Collected, Collector, JobContext, Scope, Section as _};
use api::{Detail, MemberStatus, RuleDef, RuleStatus};
pub use config::Settings;
use convert::RuleView;

/// Status-page lines listing members, at most.
const NOTE_MEMBERS: usize = 50;
/// Log lines about members newly in a detail status, at most per run.
const LOG_MEMBERS: usize = 100;
/// Share of the run's timeout after which no new scan starts.
const SCAN_BUDGET: f64 = 0.8;
/// How soon to run again when scans were put off.
const CONTINUE_AFTER: Duration = Duration::from_secs(30);

/// What identifies a rule's deployment: while it is unchanged, so are its member statuses.
#[derive(Debug, Clone, PartialEq)]
struct Fingerprint {
    status: String,
    status_time: Option<f64>,
    definition_time: Option<f64>,
    excluded: Vec<String>,
}

impl Fingerprint {
    fn of(s: &RuleStatus, def: Option<&RuleDef>) -> Self {
        let mut excluded = def.map(|d| d.excluded_accounts.clone()).unwrap_or_default();
        excluded.sort();
        Fingerprint {
            status: s.status.clone(),
            status_time: s.last_update,
            definition_time: def.and_then(|d| d.last_update),
            excluded,
        }
    }
}

/// The last member scan of a rule.
#[derive(Debug, Clone)]
struct Scan {
    fingerprint: Fingerprint,
    counts: BTreeMap<String, u64>,
    total: u64,
    /// Members in the detail statuses, sorted by account.
    detail: Vec<MemberStatus>,
    /// Run number of the last scan or check.
    verified: u64,
}

/// What the job keeps from one run to the next: the last scan of each rule.
#[derive(Debug, Default)]
pub struct State {
    scans: HashMap<String, Scan>,
    run: u64,
}

/// Counters of one run, for the status page and the budget test.
#[derive(Debug, Default)]
struct Tally {
    scanned: Vec<String>,
    checked: Option<String>,
    deferred: Vec<String>,
    vanished: Vec<String>,
    logged: usize,
}

fn successful(status: &str) -> bool {
    status.ends_with("_SUCCESSFUL")
}

fn pages(n: u64) -> u64 {
    n.div_ceil(api::PAGE_LIMIT as u64).max(1)
}

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
    let budget = cfg.schedule().timeout.mul_f64(SCAN_BUDGET);
    let deadline = Instant::now() + budget;
    state.run += 1;
    let mut t = Tally::default();
    let calls_before = c.calls();

    let mut statuses = api::rule_statuses(c).await.map_err(|e| explain(e, c))?;
    statuses.sort_by(|a, b| a.name.cmp(&b.name));
    statuses.dedup_by(|a, b| a.name == b.name);
    let defs = api::rule_defs(c).await.map_err(|e| explain(e, c))?;
    let defs: HashMap<&str, &RuleDef> = defs.iter().map(|d| (d.name.as_str(), d)).collect();
    let fingerprints: Vec<Fingerprint> = statuses
        .iter()
        .map(|s| Fingerprint::of(s, defs.get(s.name.as_str()).copied()))
        .collect();

    // Rules that are gone are forgotten.
    let listed: BTreeSet<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
    state.scans.retain(|name, _| listed.contains(name.as_str()));

    // Full scans of what changed, the unsuccessful rules first.
    let mut todo: Vec<usize> = (0..statuses.len())
        .filter(|&i| {
            state
                .scans
                .get(&statuses[i].name)
                .is_none_or(|s| s.fingerprint != fingerprints[i])
        })
        .collect();
    todo.sort_by_key(|&i| (successful(&statuses[i].status), i));
    for i in todo {
        let name = &statuses[i].name;
        if Instant::now() >= deadline {
            t.deferred.push(name.clone());
            continue;
        }
        full_scan(c, state, name, &fingerprints[i], &detail, &mut t)
            .await
            .map_err(|e| explain(e, c))?;
    }

    // One check of the unsuccessful rule verified longest ago.
    if Instant::now() < deadline {
        let candidate = statuses
            .iter()
            .zip(&fingerprints)
            .filter(|(s, _)| !successful(&s.status) && !t.scanned.contains(&s.name))
            .filter_map(|(s, f)| {
                state
                    .scans
                    .get(&s.name)
                    .filter(|scan| &scan.fingerprint == f)
                    .map(|scan| (scan.verified, s.name.clone(), f.clone()))
            })
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        if let Some((_, name, fingerprint)) = candidate {
            check(c, state, &name, &fingerprint, &detail, &mut t)
                .await
                .map_err(|e| explain(e, c))?;
        }
    }

    // What to show.
    let mut views = Vec::with_capacity(statuses.len());
    let mut notes = Vec::new();
    let mut member_notes = Vec::new();
    for (s, f) in statuses.iter().zip(&fingerprints) {
        if t.vanished.contains(&s.name) {
            continue;
        }
        if s.error_code.is_some() || s.error_message.is_some() {
            notes.push(format!(
                "rule {}: {} {}: {}",
                s.name,
                s.status,
                s.error_code.as_deref().unwrap_or(""),
                s.error_message.as_deref().unwrap_or("")
            ));
        }
        let scan = state.scans.get(&s.name).filter(|x| &x.fingerprint == f);
        if let Some(scan) = scan {
            for m in &scan.detail {
                member_notes.push(format!(
                    "rule {}: account {} {} {}: {}",
                    s.name,
                    m.account_id,
                    m.status,
                    m.error_code.as_deref().unwrap_or(""),
                    m.error_message.as_deref().unwrap_or("")
                ));
            }
        }
        views.push(RuleView {
            name: s.name.clone(),
            status: s.status.clone(),
            last_update: s.last_update,
            excluded_accounts: defs.get(s.name.as_str()).map(|d| d.excluded_accounts.len()),
            counts: scan.map(|x| x.counts.clone()),
            members: scan.map(|x| x.detail.clone()).unwrap_or_default(),
        });
    }
    notes.push(format!(
        "{} rules; {} AWS calls this run ({} full member scans, check: {})",
        views.len(),
        c.calls() - calls_before,
        t.scanned.len(),
        t.checked.as_deref().unwrap_or("none")
    ));
    for v in &t.vanished {
        notes.push(format!("rule {v} was deleted during the run; dropped"));
    }
    if !t.deferred.is_empty() {
        notes.push(format!(
            "{} rules not scanned yet (time budget of the run spent); the next run continues",
            t.deferred.len()
        ));
    }
    let more = member_notes.len().saturating_sub(NOTE_MEMBERS);
    member_notes.truncate(NOTE_MEMBERS);
    notes.extend(member_notes);
    if more > 0 {
        notes.push(format!(
            "... and {more} more members in the detail statuses"
        ));
    }
    Ok(Collected {
        families: convert::families(&views),
        notes,
        next_run: (!t.deferred.is_empty()).then_some(CONTINUE_AFTER),
        ..Collected::default()
    })
}

/// Reads every member of a rule and replaces its scan.
async fn full_scan(
    c: &RegionClients,
    state: &mut State,
    name: &str,
    fingerprint: &Fingerprint,
    detail: &BTreeSet<&str>,
    t: &mut Tally,
) -> Result<(), CollectError> {
    t.scanned.push(name.to_string());
    let members = match api::detailed_status(c, name, None).await? {
        Detail::Members(m) => m,
        Detail::Vanished => {
            state.scans.remove(name);
            t.vanished.push(name.to_string());
            return Ok(());
        }
    };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for m in &members {
        *counts.entry(m.status.clone()).or_insert(0) += 1;
    }
    let mut kept: Vec<MemberStatus> = members
        .into_iter()
        .filter(|m| detail.contains(m.status.as_str()))
        .collect();
    kept.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    kept.dedup_by(|a, b| a.account_id == b.account_id);
    log_new(state.scans.get(name), name, &kept, t);
    state.scans.insert(
        name.to_string(),
        Scan {
            fingerprint: fingerprint.clone(),
            total: counts.values().sum(),
            counts,
            detail: kept,
            verified: state.run,
        },
    );
    Ok(())
}

/// Checks a rule whose fingerprint did not change: are its members in the detail statuses
/// still the ones of its last scan?
async fn check(
    c: &RegionClients,
    state: &mut State,
    name: &str,
    fingerprint: &Fingerprint,
    detail: &BTreeSet<&str>,
    t: &mut Tally,
) -> Result<(), CollectError> {
    t.checked = Some(name.to_string());
    let Some(scan) = state.scans.get(name) else {
        return Ok(());
    };
    let full = pages(scan.total);
    let filtered: u64 = detail
        .iter()
        .map(|s| pages(scan.counts.get(*s).copied().unwrap_or(0)))
        .sum();
    if full <= filtered {
        return full_scan(c, state, name, fingerprint, detail, t).await;
    }
    let mut now: Vec<MemberStatus> = Vec::new();
    for s in detail {
        match api::detailed_status(c, name, Some(s)).await? {
            Detail::Members(m) => now.extend(m),
            Detail::Vanished => {
                state.scans.remove(name);
                t.vanished.push(name.to_string());
                return Ok(());
            }
        }
    }
    now.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    now.dedup_by(|a, b| a.account_id == b.account_id);
    let run = state.run;
    match state.scans.get_mut(name) {
        Some(scan) if scan.detail == now => {
            scan.verified = run;
            Ok(())
        }
        _ => {
            tracing::info!(
                rule = name,
                "member statuses changed without a new rule status time; scanning the rule again"
            );
            full_scan(c, state, name, fingerprint, detail, t).await
        }
    }
}

/// Logs the members that entered a detail status since the last scan (all of them on the first
/// scan), with AWS's error message, which no label carries.
fn log_new(before: Option<&Scan>, rule: &str, now: &[MemberStatus], t: &mut Tally) {
    for m in now {
        let known = before.is_some_and(|b| {
            b.detail
                .iter()
                .any(|x| x.account_id == m.account_id && x.status == m.status)
        });
        if known {
            continue;
        }
        if t.logged == LOG_MEMBERS {
            tracing::warn!(
                rule,
                "more members entered a detail status; see the status page and the metrics"
            );
        }
        t.logged += 1;
        if t.logged > LOG_MEMBERS {
            continue;
        }
        tracing::warn!(
            rule,
            account_id = %m.account_id,
            status = %m.status,
            error_code = m.error_code.as_deref().unwrap_or(""),
            error_message = m.error_message.as_deref().unwrap_or(""),
            "organization Config rule deployment needs attention in a member account"
        );
    }
}
