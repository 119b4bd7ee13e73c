//! Organization Config rules, conformance packs and aggregators as generated for a [`World`]:
//! which exist, who deployed them, the status of each in every member account and
//! organization-wide, and the status of every aggregator source; and what the handlers of
//! their operations share (organization access, `Limit` and `NextToken`, names, pages, the
//! member detail call of rules and packs ([`detailed_status`]), the
//! unknown aggregator): [`config_org`](crate::config_org) for the rules and aggregators,
//! [`config_org_packs`](crate::config_org_packs) for the packs, and
//! [`config_compliance`](crate::config_compliance) for the aggregate compliance.
//!
//! Nothing per member is stored: the status of a rule in an account is a pure function of the
//! seed, the rule's index and the account's index ([`member_status`]), so an organization of
//! 10,000 accounts and 50 rules costs nothing until a page is asked for, and a test can compute
//! what the exporter must show. Only what tests change is kept (the overrides of
//! [`State`](crate::world::config_org::State)).
//!
//! How the generated organization is shaped, and why:
//! - Rule `i` is generated around a target organization status, `Options::org_statuses` cycled
//!   over the rules (by default the nine, so a dozen rules show every one). Its members follow:
//!   for a `*_FAILED` target one designated account fails and every other fails with probability
//!   `failure_ratio`; for `*_IN_PROGRESS` the same with `in_progress_ratio`; the rest are
//!   `{phase}_SUCCESSFUL`. The organization status is then *derived* from the members as AWS
//!   defines it (failed if one member failed, in progress if one is, successful only when all
//!   are), so overrides keep rule and members consistent.
//! - Members are all accounts of the organization, management account included, minus the rule's
//!   `ExcludedAccounts`: AWS deploys organization rules to the management account too unless it
//!   is excluded. Every `exclude_every`-th rule excludes the last generated member.
//! - AWS shows a rule only to the account that deployed it (the management account or the
//!   delegated administrator): the other of the two sees no rules, any other account gets
//!   `OrganizationAccessDeniedException`. With `delegated_admin` set, the rules are deployed from
//!   that account.
//! - A rule's status `LastUpdateTime` moves whenever one of its members changes (AWS updates the
//!   organization status when a member's deployment changes or an account joins or leaves).
//! - Aggregators live in the management account in one region: an organization aggregator
//!   (source type ORGANIZATION, source id the organization id, one source per served region) and
//!   account aggregators (source type ACCOUNT, one source per account and region). The first
//!   three sources of each aggregator take the three states (in an order that varies with the
//!   aggregator); later ones are mostly SUCCEEDED.

use serde_json::{json, Value};

use crate::call::{Answer, Call};
use crate::draw::{mix, unit, EPOCH};
use crate::wire::{json_ok, next_token, parse_token, AwsError};
use crate::world::config_org::{
    Aggregator, Kind, MemberStatus, RuleDef, RuleStatus, SourceStatus, STATUSES,
};
use crate::world::{Account, World};

/// The largest `Limit` of every operation here (the service model's `CosmosPageLimit` and
/// `Limit` shapes are both 0..=100; 0 means the default, which is the maximum).
pub const MAX_LIMIT: i64 = 100;

const PACK_MEMBER_ERRORS: &[(&str, &str)] = &[
    (
        "NoAvailableConfigurationRecorderException",
        "Failed to deploy the conformance pack: there is no configuration recorder in the member account.",
    ),
    (
        "InsufficientPermissionsException",
        "The service-linked role AWSServiceRoleForConfigMultiAccountSetup cannot be assumed in the member account.",
    ),
    (
        "MaxNumberOfConformancePacksExceededException",
        "Failed to deploy the conformance pack: the member account has reached its maximum number of conformance packs.",
    ),
];

const MEMBER_ERRORS: &[(&str, &str)] = &[
    (
        "NoAvailableConfigurationRecorderException",
        "Failed to put the rule: there is no configuration recorder in the member account.",
    ),
    (
        "InsufficientPermissionsException",
        "The service-linked role AWSServiceRoleForConfigMultiAccountSetup cannot be assumed in the member account.",
    ),
    (
        "MaxNumberOfConfigRulesExceededException",
        "Failed to put the rule: the member account has reached its maximum number of AWS Config rules.",
    ),
];

/// The phase (`CREATE`, `UPDATE`, `DELETE`) and outcome of a status like `UPDATE_FAILED`.
fn split_status(s: &str) -> (&str, &str) {
    match s.split_once('_') {
        Some((p, o)) if ["CREATE", "UPDATE", "DELETE"].contains(&p) => (p, o),
        _ => ("CREATE", "SUCCESSFUL"),
    }
}

/// The account the rules are deployed from (the only one that sees them).
pub fn rules_owner(world: &World) -> String {
    world
        .opts
        .config_org
        .delegated_admin
        .and_then(|i| world.accounts.iter().find(|a| a.index == i))
        .unwrap_or_else(|| world.management())
        .id
        .clone()
}

/// The account a rule or pack was deployed from: the last `management_deployed` of its kind
/// from the management account, the others from [`rules_owner`].
pub fn deployer(world: &World, def: &RuleDef) -> String {
    let o = &world.opts.config_org;
    let count = match def.kind {
        Kind::Rule => o.rules,
        Kind::Pack => o.packs,
    };
    if o.delegated_admin.is_some() && def.index + o.management_deployed >= count {
        world.management().id.clone()
    } else {
        rules_owner(world)
    }
}

/// Whether `account` may call the organization rule APIs (management or delegated admin).
pub fn is_privileged(world: &World, account: &str) -> bool {
    account == world.management().id || account == rules_owner(world)
}

/// The rules that exist (not deleted), in generation order.
pub fn rules(world: &World) -> Vec<&RuleDef> {
    let s = &world.config_org;
    s.rules
        .iter()
        .filter(|r| !s.deleted_rules.contains(&r.name))
        .collect()
}

/// The organization conformance packs that exist (not deleted), in generation order.
pub fn packs(world: &World) -> Vec<&RuleDef> {
    let s = &world.config_org;
    s.packs
        .iter()
        .filter(|r| !s.deleted_rules.contains(&r.name))
        .collect()
}

/// A conformance pack that exists, by name.
pub fn pack_by_name<'a>(world: &'a World, name: &str) -> Option<&'a RuleDef> {
    packs(world).into_iter().find(|r| r.name == name)
}

/// Whether a rule or pack is listed but answers `NoSuch...` to its detail call.
pub(crate) fn is_ghost(world: &World, name: &str) -> bool {
    world.config_org.ghost_rules.contains(name)
}

/// Consumes one expiry set by
/// [`State::expire_next_tokens`](crate::world::config_org::State::expire_next_tokens); true if
/// this call must fail.
pub(crate) fn take_expired_token(world: &mut World) -> bool {
    if world.config_org.expire_tokens > 0 {
        world.config_org.expire_tokens -= 1;
        true
    } else {
        false
    }
}

/// A rule that exists, by name.
pub fn rule_by_name<'a>(world: &'a World, name: &str) -> Option<&'a RuleDef> {
    rules(world).into_iter().find(|r| r.name == name)
}

/// The accounts a rule excludes.
pub fn excluded_accounts(world: &World, rule: &RuleDef) -> Vec<String> {
    let every = world.opts.config_org.exclude_every;
    if every == 0 || rule.index % every != every - 1 || world.opts.members == 0 {
        return Vec::new();
    }
    world
        .accounts
        .iter()
        .filter(|a| a.index == world.opts.members)
        .map(|a| a.id.clone())
        .collect()
}

/// When the rule's deployments last changed (a member override bumps it); generated member
/// times are drawn before it.
fn deploy_time(world: &World, rule: &RuleDef) -> f64 {
    let bump = world.config_org.bumps.get(&rule.name).copied().unwrap_or(0);
    EPOCH - 86_400.0 * (1 + rule.index % 30) as f64 + 600.0 * bump as f64
}

/// The organization status's time: the deployments' time, moved on by every account that
/// joined or left since (a member's own time does not move when another account joins).
fn rule_time(world: &World, rule: &RuleDef) -> f64 {
    deploy_time(world, rule) + 600.0 * world.membership_changes as f64
}

/// The status of `rule` in `account` (excluded accounts included: callers filter them).
pub fn member_status(world: &World, rule: &RuleDef, account: &Account) -> MemberStatus {
    if let Some(o) = world
        .config_org
        .member_overrides
        .get(&(rule.name.clone(), account.id.clone()))
    {
        return o.clone();
    }
    let o = &world.opts.config_org;
    let seed = world.opts.seed;
    let h = mix(&[seed, rule.seed_index(), account.index as u64]);
    let designated = if world.opts.members == 0 {
        0
    } else {
        1 + rule.index % world.opts.members
    };
    let (phase, outcome) = split_status(&rule.target);
    let pick = designated == account.index;
    let status = match outcome {
        "FAILED" if pick || unit(h) < o.failure_ratio => "FAILED",
        "IN_PROGRESS" if pick || unit(h) < o.in_progress_ratio => "IN_PROGRESS",
        _ => "SUCCESSFUL",
    };
    let (error_code, error_message) = if status == "FAILED" {
        let errors = match rule.kind {
            Kind::Rule => MEMBER_ERRORS,
            Kind::Pack => PACK_MEMBER_ERRORS,
        };
        let (c, m) = errors[(h >> 7) as usize % errors.len()];
        (Some(c.to_string()), Some(m.to_string()))
    } else {
        (None, None)
    };
    MemberStatus {
        account_id: account.id.clone(),
        status: format!("{phase}_{status}"),
        error_code,
        error_message,
        last_update: deploy_time(world, rule) - (h % 86_400) as f64 - 0.5,
    }
}

/// Every member status of a rule, excluded accounts left out, in account order.
pub fn member_statuses(world: &World, rule: &RuleDef) -> Vec<MemberStatus> {
    let excluded = excluded_accounts(world, rule);
    world
        .accounts
        .iter()
        .filter(|a| !excluded.contains(&a.id))
        .map(|a| member_status(world, rule, a))
        .collect()
}

/// The organization status of a rule, derived from its members (or as a test forced it).
pub fn rule_status(world: &World, rule: &RuleDef) -> RuleStatus {
    let last_update = rule_time(world, rule);
    if let Some(s) = world.config_org.status_overrides.get(&rule.name) {
        return RuleStatus {
            name: rule.name.clone(),
            status: s.clone(),
            last_update,
        };
    }
    let (phase, _) = split_status(&rule.target);
    let mut outcome = "SUCCESSFUL";
    for m in member_statuses(world, rule) {
        if m.status.ends_with("_FAILED") {
            outcome = "FAILED";
            break;
        }
        if m.status.ends_with("_IN_PROGRESS") {
            outcome = "IN_PROGRESS";
        }
    }
    RuleStatus {
        name: rule.name.clone(),
        status: format!("{phase}_{outcome}"),
        last_update,
    }
}

/// The aggregators of (account, region), deleted ones left out.
pub fn aggregators(world: &World, account: &str, region: &str) -> Vec<Aggregator> {
    let o = &world.opts.config_org;
    let home = o
        .aggregator_region
        .clone()
        .or_else(|| world.opts.regions.first().cloned())
        .unwrap_or_default();
    if account != world.management().id || region != home {
        return Vec::new();
    }
    (0..o.aggregators)
        .map(|k| Aggregator {
            index: k,
            name: match k {
                0 => "organization-aggregator".to_string(),
                1 => "accounts-aggregator".to_string(),
                k => format!("accounts-aggregator-{k}"),
            },
            account_id: account.to_string(),
            region: region.to_string(),
        })
        .filter(|a| !world.config_org.deleted_aggregators.contains(&a.name))
        .collect()
}

/// The accounts an account aggregator reads: all of them for the first, every k-th for the
/// k-th.
pub(crate) fn aggregator_accounts<'a>(world: &'a World, agg: &Aggregator) -> Vec<&'a Account> {
    world
        .accounts
        .iter()
        .filter(|a| agg.index <= 1 || a.index % agg.index == 0)
        .collect()
}

/// The source statuses of an aggregator, in a stable order.
pub fn source_statuses(world: &World, agg: &Aggregator) -> Vec<SourceStatus> {
    let regions = &world.opts.regions;
    let sources: Vec<(String, &str, String)> = if agg.index == 0 {
        regions
            .iter()
            .map(|r| (world.org_id.clone(), "ORGANIZATION", r.clone()))
            .collect()
    } else {
        aggregator_accounts(world, agg)
            .iter()
            .flat_map(|a| regions.iter().map(|r| (a.id.clone(), "ACCOUNT", r.clone())))
            .collect()
    };
    sources
        .into_iter()
        .enumerate()
        .map(|(s, (id, ty, region))| {
            if let Some(o) = world.config_org.source_overrides.get(&(
                agg.name.clone(),
                id.clone(),
                region.clone(),
            )) {
                return o.clone();
            }
            let h = mix(&[world.opts.seed, 0xa66, agg.index as u64, s as u64]);
            let pick = if s < 3 {
                (s + 2 * agg.index) % 3
            } else {
                match unit(h) {
                    x if x < 0.8 => 0,
                    x if x < 0.9 => 1,
                    _ => 2,
                }
            };
            let (status, age) = match pick {
                0 => ("SUCCEEDED", (h % 3_600) as f64),
                1 => ("FAILED", 3_600.0 + (h % 7_200) as f64),
                _ => ("OUTDATED", 3.0 * 86_400.0 + (h % 86_400) as f64),
            };
            let (error_code, error_message) = match (status, ty) {
                ("FAILED", "ORGANIZATION") => (
                    Some("OrganizationAccessDeniedException".to_string()),
                    Some(format!("The aggregator's role cannot read the organization in {region}: check its permissions for organizations:ListAccounts.")),
                ),
                ("FAILED", _) => (
                    Some("AccessDeniedException".to_string()),
                    Some(format!("Source account {id} has not authorized aggregator account {} in {region}.", agg.account_id)),
                ),
                _ => (None, None),
            };
            SourceStatus {
                source_id: id,
                source_type: ty.to_string(),
                region,
                status: status.to_string(),
                last_update: EPOCH - age - 0.25,
                error_code,
                error_message,
            }
        })
        .collect()
}

/// Validates `Limit` (0 to 100; 0 or absent: 100) and decodes `NextToken` of `scope`.
pub(crate) fn page_args(call: &Call, scope: &str) -> Result<(usize, usize), AwsError> {
    let limit = match call.json.get("Limit") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().unwrap_or(-1),
    };
    if !(0..=MAX_LIMIT).contains(&limit) {
        return Err(AwsError::client(
            "InvalidLimitException",
            format!("Limit {limit} is out of range: it must be between 0 and {MAX_LIMIT}."),
        ));
    }
    let limit = if limit == 0 { MAX_LIMIT } else { limit } as usize;
    let offset = match call.json.get("NextToken").and_then(Value::as_str) {
        None | Some("") => 0,
        Some(t) => parse_token(scope, t).ok_or_else(invalid_token)?,
    };
    Ok((limit, offset))
}

pub(crate) fn invalid_token() -> AwsError {
    AwsError::client(
        "InvalidNextTokenException",
        "The nextToken provided is invalid",
    )
}

pub(crate) fn page(
    items: Vec<Value>,
    key: &str,
    scope: &str,
    limit: usize,
    offset: usize,
) -> Value {
    let end = offset.saturating_add(limit).min(items.len());
    let slice: Vec<Value> = items
        .get(offset.min(items.len())..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut out = json!({ key: slice });
    if end < items.len() {
        out["NextToken"] = json!(next_token(scope, end));
    }
    out
}

pub(crate) fn names_param(call: &Call, field: &str) -> Option<Vec<String>> {
    call.json.get(field).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

pub(crate) fn org_access(world: &World, call: &Call) -> Result<(), AwsError> {
    if is_privileged(world, &call.account) {
        Ok(())
    } else {
        Err(AwsError::client(
            "OrganizationAccessDeniedException",
            "This action can only be performed by the management account of the organization or a delegated administrator for AWS Config.",
        ))
    }
}

pub(crate) fn answer(
    call: &Call,
    items: Vec<Value>,
    key: &str,
    scope: &str,
    args: Option<(usize, usize)>,
) -> Answer {
    let body = match args {
        Some((limit, offset)) => page(items, key, scope, limit, offset),
        None => json!({ key: items }),
    };
    Ok(json_ok(call.protocol, &body))
}

pub(crate) fn no_such_aggregator(name: &str) -> AwsError {
    AwsError::client(
        "NoSuchConfigurationAggregatorException",
        format!("The configuration aggregator {name} does not exist."),
    )
}

/// How one kind's `GetOrganization...DetailedStatus` is spelled on the wire; the call is
/// otherwise the same for rules and packs ([`detailed_status`]).
pub(crate) struct DetailWire {
    /// The operation, in the scope of its tokens.
    pub op: &'static str,
    /// The required name parameter, and its member name in the model's messages.
    pub name: (&'static str, &'static str),
    /// The status filter under `Filters`, and its path in the model's messages.
    pub status_filter: (&'static str, &'static str),
    /// The list in the answer.
    pub list: &'static str,
    /// An item's members: the name of the deployment in the member account, and its status.
    pub item: (&'static str, &'static str),
    /// The deployment the caller sees by that name in the call's region.
    pub find: for<'a> fn(&'a World, &Call, &str) -> Option<&'a RuleDef>,
    /// Its `NoSuch...` error.
    pub no_such: fn(&str) -> AwsError,
    /// The name of the deployment in a member account.
    pub member_name: fn(&World, &RuleDef) -> String,
}

/// `GetOrganizationConfigRuleDetailedStatus` or `GetOrganizationConformancePackDetailedStatus`:
/// a deployment's members, filtered by status and account, one page.
pub(crate) fn detailed_status(world: &mut World, call: &Call, wire: &DetailWire) -> Answer {
    org_access(world, call)?;
    let (param, member) = wire.name;
    let name = call
        .json
        .get(param)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            AwsError::client(
                "ValidationException",
                format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
            )
        })?
        .to_string();
    let filters = call.json.get("Filters");
    let (filter, filter_path) = wire.status_filter;
    let status_filter = filters
        .and_then(|f| f.get(filter))
        .and_then(Value::as_str)
        .map(str::to_string);
    let account_filter = filters
        .and_then(|f| f.get("AccountId"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(s) = &status_filter {
        if !STATUSES.contains(&s.as_str()) {
            return Err(AwsError::client(
                "ValidationException",
                format!("1 validation error detected: Value '{s}' at '{filter_path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]", STATUSES.join(", ")),
            ));
        }
    }
    let scope = format!(
        "{}|{name}|{}|{}",
        wire.op,
        status_filter.as_deref().unwrap_or(""),
        account_filter.as_deref().unwrap_or("")
    );
    let (limit, offset) = page_args(call, &scope)?;
    let has_token = call
        .json
        .get("NextToken")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    if has_token && take_expired_token(world) {
        return Err(invalid_token());
    }
    let world = &*world;
    let def = (wire.find)(world, call, &name)
        .filter(|d| !is_ghost(world, &d.name))
        .ok_or_else(|| (wire.no_such)(&name))?;
    let member_name = (wire.member_name)(world, def);
    let (name_key, status_key) = wire.item;
    let items: Vec<Value> = member_statuses(world, def)
        .into_iter()
        .filter(|m| status_filter.as_ref().is_none_or(|s| &m.status == s))
        .filter(|m| account_filter.as_ref().is_none_or(|a| &m.account_id == a))
        .map(|m| {
            let mut o = json!({
                "AccountId": m.account_id,
                name_key: member_name,
                status_key: m.status,
                "LastUpdateTime": m.last_update,
            });
            if let Some(c) = m.error_code {
                o["ErrorCode"] = json!(c);
            }
            if let Some(msg) = m.error_message {
                o["ErrorMessage"] = json!(msg);
            }
            o
        })
        .collect();
    Ok(json_ok(
        call.protocol,
        &page(items, wire.list, &scope, limit, offset),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::world::config_org::{SOURCE_STATUSES, STATUSES};
    use crate::world::WorldOptions;

    fn world(members: usize) -> World {
        World::new(WorldOptions {
            members,
            ..WorldOptions::default()
        })
    }

    #[test]
    fn default_organization_shows_every_status() {
        let w = world(5);
        let mut org = BTreeSet::new();
        let mut member = BTreeSet::new();
        let mut failed_with_error = 0;
        for r in rules(&w) {
            let s = rule_status(&w, r);
            assert_eq!(
                s.status, r.target,
                "{}: derived status matches its target",
                r.name
            );
            org.insert(s.status);
            for m in member_statuses(&w, r) {
                if m.status.ends_with("_FAILED") {
                    assert!(m.error_code.is_some() && m.error_message.is_some());
                    failed_with_error += 1;
                }
                member.insert(m.status);
            }
        }
        for s in STATUSES {
            assert!(org.contains(*s), "org status {s} missing: {org:?}");
            assert!(member.contains(*s), "member status {s} missing: {member:?}");
        }
        assert!(failed_with_error >= 3);
        let aggs = aggregators(&w, &w.management().id, "us-east-1");
        assert_eq!(aggs.len(), 2);
        let mut kinds = BTreeSet::new();
        for a in &aggs {
            for s in source_statuses(&w, a) {
                assert_eq!(s.error_code.is_some(), s.status == "FAILED");
                kinds.insert((s.source_type, s.status));
            }
        }
        for ty in ["ACCOUNT", "ORGANIZATION"] {
            assert!(kinds.iter().any(|(t, _)| t == ty), "{kinds:?}");
        }
        for st in SOURCE_STATUSES {
            assert!(kinds.iter().any(|(_, s)| s == st), "{kinds:?}");
        }
        assert!(aggregators(&w, &w.management().id, "eu-west-1").is_empty());
    }

    #[test]
    fn generation_is_pure_and_overrides_move_the_status_time() {
        let mut w = world(50);
        let r = rules(&w)[1].clone();
        assert_eq!(rule_status(&w, &r).status, "CREATE_SUCCESSFUL");
        let before = rule_status(&w, &r).last_update;
        assert_eq!(member_statuses(&w, &r), member_statuses(&world(50), &r));
        let acct = w.accounts[3].id.clone();
        w.config_org.set_member_status(
            &r.name,
            &acct,
            Some(MemberStatus {
                account_id: acct.clone(),
                status: "CREATE_FAILED".into(),
                error_code: Some("X".into()),
                error_message: None,
                last_update: EPOCH,
            }),
        );
        let after = rule_status(&w, &r);
        assert_eq!(after.status, "CREATE_FAILED");
        assert!(after.last_update > before);
    }

    #[test]
    fn an_account_joining_or_leaving_moves_every_rule_status_time() {
        let mut w = world(5);
        let times = |w: &World| -> Vec<f64> {
            rules(w)
                .iter()
                .map(|r| rule_status(w, r).last_update)
                .collect()
        };
        let t0 = times(&w);
        let id = w.add_account();
        let t1 = times(&w);
        assert!(t0.iter().zip(&t1).all(|(a, b)| b > a), "{t0:?} {t1:?}");
        assert!(w.remove_account(&id));
        let t2 = times(&w);
        assert!(t1.iter().zip(&t2).all(|(a, b)| b > a), "{t1:?} {t2:?}");
        assert!(
            !w.remove_account(&id),
            "removing an absent account changes nothing"
        );
        assert_eq!(times(&w), t2);
    }
}
