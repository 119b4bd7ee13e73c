//! Which (account, region, credentials) exist: the one place that turns configured targets into
//! [`ResolvedTarget`]s, used by the daemon ([`watch`]), `collect --once` and the tests
//! ([`resolve_all`]) alike.
//!
//! A static target is one account: its `role_arn`'s, or the ambient credentials' (asked of STS).
//! A `discover: organizations` target lists every ACTIVE account of the organization and fans
//! out to each by assuming `role_name` in it.
//!
//! The listing runs from the target's own credentials (the management or a delegated
//! administrator account), on its own `refresh_interval`; accounts that join or leave appear and
//! disappear without a restart, and a failed listing keeps the accounts known so far. The caller's
//! own account is read with the caller's credentials under the target's name (so organization
//! collectors placed on this target run from the management account); every other account gets an
//! assumed-role target named `<target>/<account id>`. `include_ous` walks only the included subtrees
//! (ListAccountsForParent, ListOrganizationalUnitsForParent) instead of listing every account,
//! handing accounts over as it finds them; `exclude_ous` alone walks only the excluded subtrees,
//! then lists every account.
//! This file is the only one that sees Organizations SDK types.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::aws::{AccountAws, AwsFactory, CollectError, ErrorKind, RegionClients, RoleSpec};
use crate::config::{Config, Shard, TargetConfig};
use crate::metrics::{Desc, Family, Kind};
use crate::store::Store;

pub mod regions;
pub use regions::{list_regions, readable_regions, RegionState};

/// A target whose account is known, ready to have jobs.
#[derive(Clone)]
pub struct ResolvedTarget {
    /// Target name (config name, or `<target>/<account id>` for discovered accounts).
    pub name: String,
    /// Account id.
    pub account_id: String,
    /// Regions read there.
    pub regions: Vec<String>,
    /// Its credentials.
    pub aws: AccountAws,
    /// Whether per-account collectors run for it (false when its account belongs to another
    /// shard, or a discovery target's own account was not selected).
    pub account_jobs: bool,
    /// With `regions: enabled`, every region of the account and its opt status as
    /// ListRegions last answered (None: the target lists its regions, or not read yet).
    pub region_states: Option<Arc<Vec<RegionState>>>,
}

/// Where resolved targets go (the scheduler, which reconciles its jobs with them).
pub trait TargetSink: Send + Sync {
    /// Adds or replaces `targets` (keyed by name) and removes those named in `remove`.
    fn set_targets(&self, targets: Vec<ResolvedTarget>, remove: &[String]);

    /// Makes `targets` all there is of the configured target `name` (itself and, for discovery,
    /// every `name/<account>`): the first resolution of a target restarted by a reload, which
    /// replaces what the previous one resolved (jobs that stay keep their data).
    fn replace_targets_of(&self, name: &str, targets: Vec<ResolvedTarget>);
}

/// Resolves a static target: the account of its role ARN, or asks STS for ambient credentials.
pub async fn resolve_static(
    factory: &AwsFactory,
    t: &TargetConfig,
    shard: Shard,
) -> Result<ResolvedTarget, CollectError> {
    let (account_id, aws) = own_credentials(factory, t).await?;
    let (regions, region_states) = if t.regions.from_aws() {
        let states = list_regions(&aws.region(factory.home_region(), &account_id), None).await?;
        (readable_regions(&states), Some(Arc::new(states)))
    } else {
        (t.regions.listed().to_vec(), None)
    };
    Ok(ResolvedTarget {
        name: t.name.clone(),
        account_jobs: shard.contains(&account_id),
        account_id,
        regions,
        aws,
        region_states,
    })
}

/// Every configured target, resolved once (one listing for discovery targets, whose
/// `aws_account_info` family goes to `store`). Returns the targets and, by target name, the
/// ones that could not be resolved.
pub async fn resolve_all(
    factory: &AwsFactory,
    cfg: &Config,
    store: &Store,
) -> (Vec<ResolvedTarget>, Vec<(String, CollectError)>) {
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for t in &cfg.targets {
        let resolved = if t.discover.is_some() {
            let mut own = None;
            match discover_once(t, factory, cfg.shard, &mut own, &BTreeMap::new(), None).await {
                Ok((mut targets, info, _)) => {
                    store.set_extra(&format!("discovery/{}", t.name), info);
                    if let Some((caller, caller_aws)) = &own {
                        walk_exception_ous(factory, caller, caller_aws, store, &t.name).await;
                    }
                    if let (true, Some((caller, caller_aws))) = (t.regions.from_aws(), own) {
                        let pass = read_member_regions(
                            factory,
                            &caller,
                            &caller_aws,
                            &mut targets,
                            |_| {},
                        )
                        .await;
                        log_region_pass(&t.name, &pass);
                    }
                    Ok(targets.into_values().collect::<Vec<_>>())
                }
                Err(e) => Err(e),
            }
        } else {
            resolve_static(factory, t, cfg.shard).await.map(|r| vec![r])
        };
        match resolved {
            Ok(r) => out.extend(r),
            Err(e) => failed.push((t.name.clone(), e)),
        }
    }
    (out, failed)
}

/// Keeps one configured target resolved until `token` is cancelled: a static target is
/// resolved with backoff until it succeeds; a discovery target is listed every
/// `refresh_interval` (and when `refresh_now` fires). Marks it resolved in `store` the first
/// time.
pub async fn watch(
    t: TargetConfig,
    factory: AwsFactory,
    sink: Arc<dyn TargetSink>,
    store: Arc<Store>,
    shard: Shard,
    refresh_now: Arc<tokio::sync::Notify>,
    token: CancellationToken,
) {
    if t.discover.is_some() {
        return run(t, factory, sink, store, shard, refresh_now, token).await;
    }
    let mut delay = Duration::from_secs(5);
    loop {
        let r = tokio::select! {
            _ = token.cancelled() => return,
            r = resolve_static(&factory, &t, shard) => r,
        };
        match r {
            Ok(r) => {
                tracing::info!(target = %t.name, account_id = %r.account_id, regions = ?r.regions, "target resolved");
                sink.replace_targets_of(&t.name, vec![r]);
                store.target_resolved(&t.name);
                return;
            }
            Err(e) => {
                tracing::warn!(target = %t.name, error = %e, retry_in = ?delay, "cannot resolve the target's account; retrying");
            }
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(300));
    }
}

/// An account of the organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgAccount {
    /// 12-digit id.
    pub id: String,
    /// Account name.
    pub name: String,
    /// Status as AWS spells it (ACTIVE, SUSPENDED, PENDING_CLOSURE).
    pub status: String,
}

static ACCOUNT_INFO: Desc = Desc {
    name: "aws_account",
    help: "Accounts of the organization as AWS Organizations lists them; constant 1. Join on account_id to show names.",
    kind: Kind::Info,
    labels: &["account_id", "account_name", "status"],
};

/// The account names discovery exported (its `aws_account` family) among `families`, by id.
pub fn account_names(families: &[Arc<Vec<Family>>]) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for f in families
        .iter()
        .flat_map(|s| s.iter())
        .filter(|f| std::ptr::eq(f.desc(), &ACCOUNT_INFO))
    {
        for (labels, _) in f.samples() {
            let mut v = labels.values();
            if let (Some(id), Some(name)) = (v.next(), v.next()) {
                names.insert(id.to_string(), name.to_string());
            }
        }
    }
    names
}

/// Every account (ListAccounts, every page).
pub async fn list_accounts(c: &RegionClients) -> Result<Vec<OrgAccount>, CollectError> {
    list_accounts_paged(c, |_| {}).await
}

/// Every account, handing each page's accounts to `on_page` as it arrives (a listing restarted
/// after a refused token hands the first pages again).
pub async fn list_accounts_paged(
    c: &RegionClients,
    mut on_page: impl FnMut(&[OrgAccount]) + Send,
) -> Result<Vec<OrgAccount>, CollectError> {
    c.organizations(|o| o.list_accounts().max_results(PAGE))
        .all_pages(|page| {
            let accounts: Vec<OrgAccount> =
                page.accounts().iter().filter_map(org_account).collect();
            on_page(&accounts);
            Ok(accounts)
        })
        .await
}

/// The largest page of ListAccounts, ListAccountsForParent and ListOrganizationalUnitsForParent
/// (their models' `MaxResults`: 1 to 20).
const PAGE: i32 = 20;

fn org_account(a: &aws_sdk_organizations::types::Account) -> Option<OrgAccount> {
    // `State` supersedes `Status` in newer answers; either says ACTIVE for live accounts.
    let status = a
        .state()
        .map(|s| s.as_str().to_string())
        .or_else(|| a.status().map(|s| s.as_str().to_string()))
        .unwrap_or_default();
    Some(OrgAccount {
        id: a.id()?.to_string(),
        name: a.name().unwrap_or_default().to_string(),
        status,
    })
}

/// Every account under `parents` (roots or OUs), at every level, except in the subtrees of
/// `skip`: ListAccountsForParent and ListOrganizationalUnitsForParent on each OU walked, every
/// page, each page of accounts handed to `on_page` as it arrives. Only these subtrees are
/// walked, not the whole organization. A parent AWS does not know fails the walk with AWS's
/// `ParentNotFoundException`.
pub async fn accounts_under(
    c: &RegionClients,
    parents: &[String],
    skip: &[String],
    mut on_page: impl FnMut(&[OrgAccount]) + Send,
) -> Result<Vec<OrgAccount>, CollectError> {
    let mut out = Vec::new();
    // (parent, depth): AWS allows five levels of OUs; a deeper or repeating tree is not walked
    // further.
    let mut queue: std::collections::VecDeque<(String, usize)> =
        parents.iter().map(|p| (p.clone(), 0)).collect();
    let mut seen = BTreeSet::new();
    while let Some((parent, depth)) = queue.pop_front() {
        if skip.contains(&parent) || depth > 8 || !seen.insert(parent.clone()) {
            continue;
        }
        let accounts = c
            .organizations(|o| {
                o.list_accounts_for_parent()
                    .parent_id(&parent)
                    .max_results(PAGE)
            })
            .all_pages(|page| {
                let accounts: Vec<OrgAccount> =
                    page.accounts().iter().filter_map(org_account).collect();
                on_page(&accounts);
                Ok(accounts)
            })
            .await?;
        out.extend(accounts);
        let ous = c
            .organizations(|o| {
                o.list_organizational_units_for_parent()
                    .parent_id(&parent)
                    .max_results(PAGE)
            })
            .all_pages(|page| {
                Ok(page
                    .organizational_units()
                    .iter()
                    .filter_map(|o| o.id().map(str::to_string))
                    .collect())
            })
            .await?;
        queue.extend(ous.into_iter().map(|o| (o, depth + 1)));
    }
    Ok(out)
}

/// The accounts a discovery target reads: ACTIVE, included, not excluded. `accounts` are those
/// listed (the included OUs' when the target has `include_ous`); `under_excluded` are the
/// accounts found under its `exclude_ous`. `each_page`, if given, gets every page of the listing
/// as it arrives: how many accounts it listed, and the member targets it selected that were not
/// handed over before.
pub fn select<'a>(
    accounts: &'a [OrgAccount],
    t: &TargetConfig,
    under_excluded: &BTreeSet<String>,
) -> Vec<&'a OrgAccount> {
    accounts
        .iter()
        .filter(|a| a.status == "ACTIVE")
        .filter(|a| t.include_accounts.is_empty() || t.include_accounts.contains(&a.id))
        .filter(|a| !t.exclude_accounts.contains(&a.id))
        .filter(|a| !under_excluded.contains(&a.id))
        .collect()
}

/// What to assume for `t` in `account`: its external id, session name and duration.
fn role_spec(t: &TargetConfig, role_arn: String, account: &str) -> RoleSpec {
    RoleSpec {
        role_arn,
        account_id: account.to_string(),
        external_id: t.external_id.clone(),
        session_name: t
            .session_name
            .clone()
            .unwrap_or_else(|| "posture-exporter".into()),
        duration: t.session_duration.map(|d| d.0),
    }
}

/// The credentials a target's own calls use (ambient, or its `role_arn`) and their account.
pub async fn own_credentials(
    factory: &AwsFactory,
    t: &TargetConfig,
) -> Result<(String, AccountAws), CollectError> {
    match &t.role_arn {
        Some(arn) => {
            let account = crate::config::role_arn_account(arn).ok_or_else(|| {
                CollectError::new(
                    "AssumeRole",
                    "unknown",
                    factory.home_region(),
                    ErrorKind::Internal,
                    format!("not a role ARN: {arn}"),
                )
            })?;
            let aws = factory.assume_role(role_spec(t, arn.clone(), account));
            Ok((account.to_string(), aws))
        }
        None => {
            let aws = factory.ambient();
            let account = aws.account_id(factory.home_region()).await?;
            Ok((account, aws))
        }
    }
}

/// One listing: the targets to read now (reusing `known` ones, so their credential caches
/// survive) and the `aws_account_info` family. `own` caches the target's own credentials.
///
/// `early`, when given, receives the member targets of each page as soon as the page is listed
/// (a first listing over thousands of accounts takes minutes at Organizations' rate; their
/// collection need not wait for the last page). The targets it receives are the ones returned.
pub async fn discover_once(
    t: &TargetConfig,
    factory: &AwsFactory,
    shard: Shard,
    own: &mut Option<(String, AccountAws)>,
    known: &BTreeMap<String, ResolvedTarget>,
    mut each_page: Option<&mut (dyn FnMut(usize, Vec<ResolvedTarget>) + Send)>,
) -> Result<(BTreeMap<String, ResolvedTarget>, Family, usize), CollectError> {
    if own.is_none() {
        *own = Some(own_credentials(factory, t).await?);
    }
    let Some((caller, caller_aws)) = own.clone() else {
        return Err(CollectError::new(
            "discover",
            "",
            "",
            ErrorKind::Internal,
            "no credentials",
        ));
    };
    let c = caller_aws.region(factory.home_region(), &caller);
    // With `exclude_ous` alone, the excluded subtrees are walked first (only they), so that each
    // page of the listing can be selected as it arrives.
    let under_excluded: BTreeSet<String> = if t.include_ous.is_empty() && !t.exclude_ous.is_empty()
    {
        accounts_under(&c, &t.exclude_ous, &[], |_| {})
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect()
    } else {
        BTreeSet::new()
    };
    // With `regions: enabled`, the caller's own regions; its regions enabled by default are
    // every account's (the partition's regions that need no opt-in), so a member's jobs start
    // in those until its own answer (`read_member_regions`) adds the regions it opted into.
    let own_regions: Option<Vec<RegionState>> = if t.regions.from_aws() {
        Some(list_regions(&c, None).await?)
    } else {
        None
    };
    let start_regions: Vec<String> = match &own_regions {
        Some(states) => states
            .iter()
            .filter(|r| r.status == "ENABLED_BY_DEFAULT")
            .map(|r| r.name.clone())
            .collect(),
        None => t.regions.listed().to_vec(),
    };
    // A member's target: the one already known (its credential cache survives), else a new one.
    let member = |id: &str| -> ResolvedTarget {
        let name = format!("{}/{id}", t.name);
        match known.get(&name) {
            Some(k) => k.clone(),
            None => {
                let role_name = t.role_name.clone().unwrap_or_default();
                ResolvedTarget {
                    name,
                    account_id: id.to_string(),
                    regions: start_regions.clone(),
                    region_states: None,
                    aws: factory.assume_role(role_spec(
                        t,
                        format!("arn:aws:iam::{id}:role/{role_name}"),
                        id,
                    )),
                    account_jobs: true,
                }
            }
        }
    };
    let mut streamed: BTreeMap<String, ResolvedTarget> = BTreeMap::new();
    let on_page = |page: &[OrgAccount]| {
        let Some(each_page) = each_page.as_mut() else {
            return;
        };
        let fresh: Vec<ResolvedTarget> = select(page, t, &under_excluded)
            .into_iter()
            .filter(|a| a.id != caller && shard.contains(&a.id))
            .filter(|a| !streamed.contains_key(&format!("{}/{}", t.name, a.id)))
            .map(|a| member(&a.id))
            .collect();
        for r in &fresh {
            streamed.insert(r.name.clone(), r.clone());
        }
        each_page(page.len(), fresh);
    };
    let accounts = if t.include_ous.is_empty() {
        let accounts = list_accounts_paged(&c, on_page).await?;
        // Kept for the jobs that need the same list from this account (GuardDuty's
        // administrator). A listing of some OUs is not the organization's, and is not kept.
        c.org_listings()
            .put(
                &caller,
                accounts
                    .iter()
                    .filter(|a| a.status == "ACTIVE")
                    .map(|a| a.id.clone())
                    .collect(),
            )
            .await;
        accounts
    } else {
        // Only the included subtrees (less the excluded ones inside them) are walked.
        accounts_under(&c, &t.include_ous, &t.exclude_ous, on_page).await?
    };
    let chosen = select(&accounts, t, &under_excluded);
    let mut info = Family::new(&ACCOUNT_INFO);
    for a in &accounts {
        info.push(&[&a.id, &a.name, &a.status], 1.0);
    }
    let mut next: BTreeMap<String, ResolvedTarget> = BTreeMap::new();
    // The caller's own account, under the target's name, always present so that organization
    // collectors placed on it run (on shard 0 only: see Shard); its account-region jobs run
    // only when it is selected and in this shard.
    next.insert(
        t.name.clone(),
        ResolvedTarget {
            name: t.name.clone(),
            account_id: caller.clone(),
            regions: match &own_regions {
                Some(states) => readable_regions(states),
                None => t.regions.listed().to_vec(),
            },
            region_states: own_regions.map(Arc::new),
            aws: caller_aws.clone(),
            account_jobs: shard.contains(&caller) && chosen.iter().any(|a| a.id == caller),
        },
    );
    for a in chosen
        .iter()
        .filter(|a| a.id != caller && shard.contains(&a.id))
    {
        let name = format!("{}/{}", t.name, a.id);
        let target = match streamed.remove(&name) {
            Some(r) => r,
            None => member(&a.id),
        };
        next.insert(name, target);
    }
    Ok((next, info, accounts.len()))
}

/// Walks each OU the exceptions name (ListAccountsForParent and
/// ListOrganizationalUnitsForParent, every level, from the discovery target's own credentials)
/// and records the accounts found under it, so that an OU's exception covers its accounts as
/// they are now. An OU whose walk fails keeps the accounts found before; the failure is logged.
pub async fn walk_exception_ous(
    factory: &AwsFactory,
    caller: &str,
    caller_aws: &AccountAws,
    store: &Store,
    target: &str,
) {
    let c = caller_aws.region(factory.home_region(), caller);
    for ou in store.exceptions().ous() {
        match accounts_under(&c, std::slice::from_ref(&ou), &[], |_| {}).await {
            Ok(accounts) => {
                store.set_ou_accounts(&ou, accounts.into_iter().map(|a| a.id).collect());
            }
            Err(e) => tracing::warn!(
                target = %target,
                ou = %ou,
                error = %e,
                "cannot list the accounts under an exception's OU; keeping those known so far"
            ),
        }
    }
}

/// What one pass over the members' regions found.
#[derive(Debug, Default)]
pub struct RegionPass {
    /// Members whose regions were read.
    pub read: usize,
    /// Members whose ListRegions failed (their regions stay as they were).
    pub failed: usize,
    /// The first failure, for the log.
    pub first_error: Option<CollectError>,
}

/// Reads the regions of each member target of `targets` (ListRegions with its `AccountId`, from
/// the caller's credentials: "the caller must be an identity in the organization's management
/// account or a delegated administrator account"), updates them in place, and hands the targets
/// whose regions changed to `hand_over`, at most every few seconds and at the end. One call per
/// member, paced by Account Management's rate limit (5 a second by default: 1,000 accounts in
/// about 200 s). A member whose call fails keeps the regions it had.
pub async fn read_member_regions(
    factory: &AwsFactory,
    caller: &str,
    caller_aws: &AccountAws,
    targets: &mut BTreeMap<String, ResolvedTarget>,
    mut hand_over: impl FnMut(Vec<ResolvedTarget>),
) -> RegionPass {
    let c = caller_aws.region(factory.home_region(), caller);
    let mut pass = RegionPass::default();
    let mut changed = Vec::new();
    let mut last = std::time::Instant::now();
    for r in targets.values_mut().filter(|r| r.account_id != caller) {
        match list_regions(&c, Some(&r.account_id)).await {
            Ok(states) => {
                pass.read += 1;
                let regions = readable_regions(&states);
                let states_changed = r.region_states.as_deref() != Some(&states);
                if states_changed {
                    r.region_states = Some(Arc::new(states));
                    r.regions = regions;
                    changed.push(r.clone());
                }
            }
            Err(e) => {
                pass.failed += 1;
                pass.first_error.get_or_insert(e);
            }
        }
        if !changed.is_empty() && last.elapsed() >= EARLY_HANDOVER {
            hand_over(std::mem::take(&mut changed));
            last = std::time::Instant::now();
        }
    }
    if !changed.is_empty() {
        hand_over(changed);
    }
    pass
}

/// Logs a pass over the members' regions in one line.
fn log_region_pass(target: &str, pass: &RegionPass) {
    match &pass.first_error {
        None => tracing::info!(target = %target, accounts = pass.read, "enabled regions read"),
        Some(e) => tracing::warn!(
            target = %target,
            read = pass.read,
            failed = pass.failed,
            error = %e,
            "cannot read the enabled regions of some accounts; they keep the regions known so far"
        ),
    }
}

/// How often a first listing hands the accounts listed so far to the scheduler.
const EARLY_HANDOVER: Duration = Duration::from_secs(5);

/// Runs one discovery target until `token` is cancelled.
async fn run(
    t: TargetConfig,
    factory: AwsFactory,
    scheduler: Arc<dyn TargetSink>,
    store: Arc<Store>,
    shard: Shard,
    refresh_now: Arc<tokio::sync::Notify>,
    token: CancellationToken,
) {
    let mut known: BTreeMap<String, ResolvedTarget> = BTreeMap::new();
    let mut first = true;
    let mut own: Option<(String, AccountAws)> = None;
    loop {
        // The first listing hands its accounts to the scheduler while it lists, at most every
        // few seconds (each hand-over reconciles every job); the last ones come with the
        // complete listing below, which also removes what a previous watch of this target
        // (before a reload) resolved and was not listed again.
        let mut last_handover: Option<std::time::Instant> = None;
        let mut batch: Vec<ResolvedTarget> = Vec::new();
        store.listing_started(&t.name);
        let mut each_page = |accounts: usize, fresh: Vec<ResolvedTarget>| {
            store.listing_page(&t.name, accounts);
            if !first {
                return;
            }
            batch.extend(fresh);
            if !batch.is_empty() && last_handover.is_none_or(|t| t.elapsed() >= EARLY_HANDOVER) {
                scheduler.set_targets(std::mem::take(&mut batch), &[]);
                if last_handover.is_some() {
                    // A listing still running after a hand-over interval: `/ready` waits for
                    // the first attempts of the accounts listed so far, not for its end. (A
                    // listing shorter than that, most organizations', is waited for whole.)
                    store.target_resolved(&t.name);
                }
                last_handover = Some(std::time::Instant::now());
            }
        };
        let listed =
            discover_once(&t, &factory, shard, &mut own, &known, Some(&mut each_page)).await;
        let wait = match listed {
            Ok((next, info, listed)) => {
                store.set_extra(&format!("discovery/{}", t.name), info);
                let removed: Vec<String> = known
                    .keys()
                    .filter(|k| !next.contains_key(*k))
                    .cloned()
                    .collect();
                let added = next.keys().filter(|k| !known.contains_key(*k)).count();
                tracing::info!(
                    target = %t.name,
                    accounts = listed,
                    selected = next.len(),
                    added,
                    removed = removed.len(),
                    "organization accounts listed"
                );
                if first {
                    // What a previous watch of this target resolved (before a reload) goes,
                    // unless listed again.
                    scheduler.replace_targets_of(&t.name, next.values().cloned().collect());
                } else {
                    scheduler.set_targets(next.values().cloned().collect(), &removed);
                }
                known = next;
                // After the hand-over: every account listed has its jobs when the listing
                // reads as ended.
                store.listing_ended(&t.name, Ok(listed as u64));
                if first {
                    store.target_resolved(&t.name);
                    first = false;
                }
                if let Some((caller, caller_aws)) = own.clone() {
                    let walk = walk_exception_ous(&factory, &caller, &caller_aws, &store, &t.name);
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = walk => {}
                    }
                }
                if t.regions.from_aws() {
                    if let Some((caller, caller_aws)) = own.clone() {
                        let walk = read_member_regions(
                            &factory,
                            &caller,
                            &caller_aws,
                            &mut known,
                            |changed| scheduler.set_targets(changed, &[]),
                        );
                        let pass = tokio::select! {
                            _ = token.cancelled() => return,
                            pass = walk => pass,
                        };
                        log_region_pass(&t.name, &pass);
                    }
                }
                t.refresh_interval.0
            }
            Err(e) => {
                store.listing_ended(&t.name, Err(e.to_string()));
                tracing::warn!(
                    target = %t.name,
                    error = %e,
                    "cannot list the organization's accounts; keeping the accounts known so far"
                );
                if e.kind == ErrorKind::Credentials {
                    own = None;
                }
                t.refresh_interval.0.min(Duration::from_secs(60))
            }
        };
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = refresh_now.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(id: &str, status: &str) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            name: format!("n{id}"),
            status: status.into(),
        }
    }

    fn target(yaml: &str) -> TargetConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn selection_keeps_active_included_not_excluded() {
        let accounts = vec![
            acct("111111111111", "ACTIVE"),
            acct("222222222222", "SUSPENDED"),
            acct("333333333333", "ACTIVE"),
            acct("444444444444", "ACTIVE"),
        ];
        let t = target("name: org\nregions: [us-east-1]\ndiscover: organizations\nrole_name: R\nexclude_accounts: ['333333333333']\n");
        let none = BTreeSet::new();
        let ids: Vec<_> = select(&accounts, &t, &none)
            .iter()
            .map(|a| a.id.clone())
            .collect();
        assert_eq!(ids, vec!["111111111111", "444444444444"]);
        let t = target("name: org\nregions: [us-east-1]\ndiscover: organizations\nrole_name: R\n");
        let under: BTreeSet<String> = ["444444444444".to_string()].into();
        let ids: Vec<_> = select(&accounts, &t, &under)
            .iter()
            .map(|a| a.id.clone())
            .collect();
        assert_eq!(ids, vec!["111111111111", "333333333333"]);
    }

    #[test]
    fn shards_partition_accounts_exactly() {
        let ids: Vec<String> = (0..5000)
            .map(|i| format!("{:012}", 100_000_000_000u64 + i * 7919))
            .collect();
        for n in [1u32, 2, 3, 7] {
            let shards: Vec<Shard> = (0..n).map(|i| Shard { index: i, count: n }).collect();
            let mut sizes = vec![0usize; n as usize];
            for id in &ids {
                let owners: Vec<_> = shards.iter().filter(|s| s.contains(id)).collect();
                assert_eq!(owners.len(), 1, "{id} owned by {owners:?}");
                sizes[owners[0].index as usize] += 1;
            }
            let expected = ids.len() / n as usize;
            for s in sizes {
                assert!(
                    s.abs_diff(expected) < expected / 5 + 10,
                    "unbalanced: {s} vs {expected}"
                );
            }
        }
        assert!(Shard::parse("2/2").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
    }
}
