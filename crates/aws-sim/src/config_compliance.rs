//! AWS Config rule and conformance pack compliance, in the awsJson1_1 protocol:
//! DescribeAggregateComplianceByConfigRules, DescribeAggregateComplianceByConformancePacks (from
//! an aggregator), DescribeComplianceByConfigRule, DescribeConformancePacks,
//! GetConformancePackComplianceSummary, ListConformancePackComplianceScores and
//! DescribeConformancePackCompliance (in one account
//! and region).
//!
//! Like the organization rules, nothing per account is stored: the compliance of rule `i` in
//! (account, region) is a pure function of the seed and the indices ([`rule_compliance`]), so the
//! aggregator and the accounts answer the same thing and a test can compute what the exporter
//! must show. Every account of the organization has [`Options::rules`] rules and
//! [`Options::packs`] conformance packs in every served region; a pack's compliance is derived
//! from its own rules as AWS defines it (NON_COMPLIANT if one rule is, else INSUFFICIENT_DATA if
//! all are, else COMPLIANT). Two triples are pinned so every small organization shows every case:
//! rule 0 of the first member in the first region is NON_COMPLIANT with a capped count, rule 1 of
//! the management account there has INSUFFICIENT_DATA.
//!
//! Shapes follow the service model: `ComplianceContributorCount` (`CappedCount`, `CapExceeded`)
//! only on NON_COMPLIANT results, counts capped at 100; every `Limit` in its model range
//! (aggregate rules 0..=1000, aggregate packs 0..=100, pack listings 0..=20, pack rules
//! 0..=1000; 0 is the default) or `InvalidLimitException`; unknown aggregators, rules and packs
//! their `NoSuch...` errors. With [`Options::empty_pages`] the aggregate listings serve an empty
//! page with a `NextToken` before each page, as AWS documents they may.

use serde_json::{json, Value};

use crate::call::{Answer, Call};
use crate::config_org_status::{aggregator_accounts, aggregators, no_such_aggregator};
use crate::draw::{mix, unit, EPOCH};
use crate::wire::{json_ok, next_token, parse_token, AwsError};
use crate::world::{Account, World};

pub use crate::world::compliance::{Options, RuleResult, State};

/// The rule compliance types of the model's `ComplianceType`.
pub const RULE_TYPES: &[&str] = &[
    "COMPLIANT",
    "NON_COMPLIANT",
    "NOT_APPLICABLE",
    "INSUFFICIENT_DATA",
];
/// The conformance pack compliance types (`ConformancePackComplianceType`).
pub const PACK_TYPES: &[&str] = &["COMPLIANT", "NON_COMPLIANT", "INSUFFICIENT_DATA"];
/// The most resources AWS counts (`CappedCount`); past it `CapExceeded` is true.
pub const CAP: i64 = 100;
/// Results of one DescribeComplianceByConfigRule page (the operation takes no `Limit`).
pub const RULES_PAGE: usize = 25;

const RULE_NAMES: &[&str] = &[
    "s3-bucket-versioning-enabled",
    "encrypted-volumes",
    "iam-password-policy",
    "cloudtrail-enabled",
    "root-account-mfa-enabled",
    "rds-storage-encrypted",
    "restricted-ssh",
    "vpc-flow-logs-enabled",
    "access-keys-rotated",
    "s3-bucket-public-read-prohibited",
];

const PACK_NAMES: &[&str] = &[
    "operational-best-practices-for-cis",
    "operational-best-practices-for-pci-dss",
    "operational-best-practices-for-hipaa",
    "security-baseline",
];

fn numbered(base: &[&str], i: usize) -> String {
    let b = base[i % base.len()];
    if i < base.len() {
        b.to_string()
    } else {
        format!("{b}-{}", i / base.len() + 1)
    }
}

/// Name of rule `i` (the same in every account).
pub fn rule_name(i: usize) -> String {
    numbered(RULE_NAMES, i)
}

/// Name of pack `j`.
pub fn pack_name(j: usize) -> String {
    numbered(PACK_NAMES, j)
}

fn generated(o: &Options, h: u64, pinned: Option<&str>) -> RuleResult {
    let u = unit(h);
    let compliance = match pinned {
        Some(p) => p,
        None if u < o.noncompliant_ratio => "NON_COMPLIANT",
        None if u < o.noncompliant_ratio + o.insufficient_ratio => "INSUFFICIENT_DATA",
        None => "COMPLIANT",
    };
    let resources = if compliance != "NON_COMPLIANT" {
        0
    } else if pinned.is_some() || (o.capped_every > 0 && (h >> 7) % o.capped_every == 0) {
        CAP + 1 + ((h >> 17) % 900) as i64
    } else {
        1 + ((h >> 23) % 40) as i64
    };
    RuleResult {
        compliance: compliance.to_string(),
        resources,
    }
}

/// The compliance of rule `i` in (account, region index `g`).
pub fn rule_compliance(world: &World, a: &Account, g: usize, i: usize) -> RuleResult {
    let region = &world.opts.regions[g];
    if let Some(r) =
        world
            .compliance
            .rule_overrides
            .get(&(a.id.clone(), region.clone(), rule_name(i)))
    {
        return r.clone();
    }
    let pinned = match (i, a.index, g) {
        (0, 1, 0) => Some("NON_COMPLIANT"),
        (1, 0, 0) => Some("INSUFFICIENT_DATA"),
        _ => None,
    };
    let h = mix(&[world.opts.seed, 0xc0, i as u64, a.index as u64, g as u64]);
    generated(&world.opts.compliance, h, pinned)
}

/// The compliance of rule `k` of pack `j` in (account, region index `g`).
pub fn pack_rule_compliance(world: &World, a: &Account, g: usize, j: usize, k: usize) -> String {
    let h = mix(&[
        world.opts.seed,
        0xcb,
        j as u64,
        k as u64,
        a.index as u64,
        g as u64,
    ]);
    generated(&world.opts.compliance, h, None).compliance
}

/// Name of rule `k` of pack `j` (AWS suffixes the rules a pack deploys).
pub fn pack_rule_name(j: usize, k: usize) -> String {
    format!("{}-conformance-pack-{j}", rule_name(k))
}

/// The compliance of pack `j` in (account, region index `g`), and its non-compliant rules.
pub fn pack_compliance(world: &World, a: &Account, g: usize, j: usize) -> (String, usize) {
    let types: Vec<String> = (0..world.opts.compliance.pack_rules)
        .map(|k| pack_rule_compliance(world, a, g, j, k))
        .collect();
    let nc = types.iter().filter(|t| *t == "NON_COMPLIANT").count();
    let region = &world.opts.regions[g];
    if let Some(o) =
        world
            .compliance
            .pack_overrides
            .get(&(a.id.clone(), region.clone(), pack_name(j)))
    {
        return (o.clone(), nc);
    }
    // The model's `AggregateComplianceByConformancePack`: "A conformance pack is compliant if all
    // of the rules in a conformance packs are compliant. It is noncompliant if any of the rules
    // are not compliant. The compliance status of a conformance pack is INSUFFICIENT_DATA only if
    // all rules within a conformance pack cannot be evaluated due to insufficient data. If some
    // of the rules [...] are compliant but [...] other rules [...] INSUFFICIENT_DATA, the
    // conformance pack shows compliant."
    let t = if nc > 0 {
        "NON_COMPLIANT"
    } else if !types.is_empty() && types.iter().all(|t| t == "INSUFFICIENT_DATA") {
        "INSUFFICIENT_DATA"
    } else {
        "COMPLIANT"
    };
    (t.to_string(), nc)
}

/// The compliance score of pack `j` in (account, region index `g`) as ListConformancePackComplianceScores
/// answers it: "the percentage of the number of compliant rule-resource combinations in a
/// conformance pack compared to the number of total possible rule-resource combinations" (the
/// model), as a string with at most two decimals, or `INSUFFICIENT_DATA` for a pack "with no
/// evaluation results". Each rule of the pack evaluates 1 to 5 resources; a COMPLIANT rule's are
/// all compliant, a NON_COMPLIANT rule's at least one not, an INSUFFICIENT_DATA rule has no
/// results. So a pack whose rules all comply scores 100, one with a non-compliant rule less, as
/// [`pack_compliance`] says.
pub fn pack_score(world: &World, a: &Account, g: usize, j: usize) -> String {
    let (mut compliant, mut total) = (0u64, 0u64);
    for k in 0..world.opts.compliance.pack_rules {
        let h = mix(&[
            world.opts.seed,
            0xcc,
            j as u64,
            k as u64,
            a.index as u64,
            g as u64,
        ]);
        let n = 1 + h % 5;
        match pack_rule_compliance(world, a, g, j, k).as_str() {
            "COMPLIANT" => {
                compliant += n;
                total += n;
            }
            "NON_COMPLIANT" => {
                compliant += n - (1 + (h >> 8) % n);
                total += n;
            }
            _ => {}
        }
    }
    if total == 0 {
        return "INSUFFICIENT_DATA".into();
    }
    let pct = (compliant as f64 * 10_000.0 / total as f64).round() / 100.0;
    format!("{pct}")
}

/// The `Compliance` member of a rule result, as AWS shapes it.
pub fn compliance_json(r: &RuleResult) -> Value {
    let mut c = json!({ "ComplianceType": r.compliance });
    if r.compliance == "NON_COMPLIANT" {
        c["ComplianceContributorCount"] = json!({
            "CappedCount": r.resources.min(CAP),
            "CapExceeded": r.resources > CAP,
        });
    }
    c
}

/// Handles one call; `None` when the operation is not one of this module's.
pub fn handle(world: &mut World, call: &Call) -> Option<Answer> {
    Some(match call.op.as_str() {
        "DescribeAggregateComplianceByConfigRules" => aggregate_rules(world, call),
        "DescribeAggregateComplianceByConformancePacks" => aggregate_packs(world, call),
        "DescribeComplianceByConfigRule" => account_rules(world, call),
        "DescribeConformancePacks" => describe_packs(world, call),
        "GetConformancePackComplianceSummary" => pack_summary(world, call),
        "ListConformancePackComplianceScores" => pack_scores(world, call),
        "DescribeConformancePackCompliance" => pack_rules(world, call),
        _ => return None,
    })
}

fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::client("ValidationException", msg)
}

fn invalid_token() -> AwsError {
    AwsError::client(
        "InvalidNextTokenException",
        "The nextToken provided is invalid",
    )
}

/// `Limit` in `0..=max` (0 or absent: `default`), else `InvalidLimitException`.
fn limit(call: &Call, max: i64, default: i64) -> Result<usize, AwsError> {
    let l = match call.json.get("Limit") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().unwrap_or(-1),
    };
    if !(0..=max).contains(&l) {
        return Err(AwsError::client(
            "InvalidLimitException",
            format!("Limit {l} is out of range: it must be between 0 and {max}."),
        ));
    }
    Ok(if l == 0 { default } else { l } as usize)
}

fn token(call: &Call, scope: &str) -> Result<usize, AwsError> {
    match call.json.get("NextToken").and_then(Value::as_str) {
        None | Some("") => Ok(0),
        Some(t) => parse_token(scope, t).ok_or_else(invalid_token),
    }
}

fn str_field<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a str> {
    v.and_then(|f| f.get(name)).and_then(Value::as_str)
}

fn check_enum(value: Option<&str>, allowed: &[&str], at: &str) -> Result<(), AwsError> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(validation(format!(
            "1 validation error detected: Value '{v}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// Serves `items` one page at a time; with `empty` every real page is preceded by an empty
/// one that carries a token (virtual page `2p` empty, `2p + 1` real page `p`).
fn paged(
    call: &Call,
    items: Vec<Value>,
    key: &str,
    scope: &str,
    limit: usize,
    empty: bool,
) -> Result<Value, AwsError> {
    let mut out = paged_with(call, items.len(), scope, limit, empty, |r| {
        items[r].to_vec()
    })?;
    if key != PAGE {
        let page = out.as_object_mut().and_then(|o| o.remove(PAGE));
        out[key] = page.unwrap_or_else(|| json!([]));
    }
    Ok(out)
}

/// The member a page's items are put under by [`paged_with`], renamed by its caller.
const PAGE: &str = "AggregateComplianceByConfigRules";

/// [`paged`] over `total` items of which `build` makes only those of the page served, put
/// under [`PAGE`].
fn paged_with(
    call: &Call,
    total: usize,
    scope: &str,
    limit: usize,
    empty: bool,
    build: impl FnOnce(std::ops::Range<usize>) -> Vec<Value>,
) -> Result<Value, AwsError> {
    let scope = format!("{scope}|{limit}");
    let vpage = token(call, &scope)?;
    let (real, page_index) = if empty {
        (vpage % 2 == 1, vpage / 2)
    } else {
        (true, vpage)
    };
    let mut out = json!({});
    let start = page_index.saturating_mul(limit);
    if real {
        let end = start.saturating_add(limit).min(total);
        out[PAGE] = json!(build(start.min(total)..end));
        if end < total {
            out["NextToken"] = json!(next_token(&scope, vpage + 1));
        }
    } else {
        out[PAGE] = json!([]);
        if start < total || start == 0 {
            out["NextToken"] = json!(next_token(&scope, vpage + 1));
        }
    }
    Ok(out)
}

/// (account, region index) pairs.
type Covered<'a> = Vec<(&'a Account, usize)>;

/// The (account, region index) pairs an aggregator of the caller answers for.
fn aggregator_scope<'a>(world: &'a World, call: &Call) -> Result<(String, Covered<'a>), AwsError> {
    let name = call
        .json
        .get("ConfigurationAggregatorName")
        .and_then(Value::as_str)
        .ok_or_else(|| validation("1 validation error detected: Value null at 'configurationAggregatorName' failed to satisfy constraint: Member must not be null"))?;
    let agg = aggregators(world, &call.account, &call.region)
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| no_such_aggregator(name))?;
    let regions = world.opts.regions.len();
    let pairs = aggregator_accounts(world, &agg)
        .into_iter()
        .flat_map(|a| (0..regions).map(move |g| (a, g)))
        .collect();
    Ok((name.to_string(), pairs))
}

fn aggregate_rules(world: &World, call: &Call) -> Answer {
    let limit = limit(call, 1000, 1000)?;
    let (name, pairs) = aggregator_scope(world, call)?;
    let f = call.json.get("Filters");
    let (rule_f, type_f) = (
        str_field(f, "ConfigRuleName"),
        str_field(f, "ComplianceType"),
    );
    let (acct_f, region_f) = (str_field(f, "AccountId"), str_field(f, "AwsRegion"));
    check_enum(type_f, RULE_TYPES, "filters.complianceType")?;
    let names: Vec<String> = (0..world.opts.compliance.rules).map(rule_name).collect();
    // What matches, cheaply; the JSON only for the page served (an organization of 1,000
    // accounts has 200,000 results and 200 pages).
    let mut matched: Vec<(&Account, usize, usize, RuleResult)> = Vec::new();
    for (a, g) in pairs {
        let region = &world.opts.regions[g];
        if acct_f.is_some_and(|x| x != a.id) || region_f.is_some_and(|x| x != region) {
            continue;
        }
        for (i, rule) in names.iter().enumerate() {
            if rule_f.is_some_and(|x| x != rule) {
                continue;
            }
            let r = rule_compliance(world, a, g, i);
            if type_f.is_some_and(|x| x != r.compliance) {
                continue;
            }
            matched.push((a, g, i, r));
        }
    }
    let scope = format!(
        "DescribeAggregateComplianceByConfigRules|{name}|{}",
        call.json
            .get("Filters")
            .map(Value::to_string)
            .unwrap_or_default()
    );
    let empty = world.opts.compliance.empty_pages;
    let body = paged_with(call, matched.len(), &scope, limit, empty, |range| {
        matched[range]
            .iter()
            .map(|(a, g, i, r)| {
                json!({
                    "ConfigRuleName": names[*i],
                    "Compliance": compliance_json(r),
                    "AccountId": a.id,
                    "AwsRegion": world.opts.regions[*g],
                })
            })
            .collect()
    })?;
    Ok(json_ok(call.protocol, &body))
}

fn aggregate_packs(world: &World, call: &Call) -> Answer {
    let limit = limit(call, 100, 100)?;
    let (name, pairs) = aggregator_scope(world, call)?;
    let f = call.json.get("Filters");
    let (pack_f, type_f) = (
        str_field(f, "ConformancePackName"),
        str_field(f, "ComplianceType"),
    );
    let (acct_f, region_f) = (str_field(f, "AccountId"), str_field(f, "AwsRegion"));
    check_enum(type_f, PACK_TYPES, "filters.complianceType")?;
    let total = world.opts.compliance.pack_rules;
    let mut items = Vec::new();
    for (a, g) in pairs {
        let region = &world.opts.regions[g];
        if acct_f.is_some_and(|x| x != a.id) || region_f.is_some_and(|x| x != region) {
            continue;
        }
        for j in 0..world.opts.compliance.packs {
            let pack = pack_name(j);
            if pack_f.is_some_and(|x| x != pack) {
                continue;
            }
            let (t, nc) = pack_compliance(world, a, g, j);
            if type_f.is_some_and(|x| x != t) {
                continue;
            }
            let compliant = (0..total)
                .filter(|k| pack_rule_compliance(world, a, g, j, *k) == "COMPLIANT")
                .count();
            items.push(json!({
                "ConformancePackName": pack,
                "Compliance": {
                    "ComplianceType": t,
                    "CompliantRuleCount": compliant,
                    "NonCompliantRuleCount": nc,
                    "TotalRuleCount": total,
                },
                "AccountId": a.id,
                "AwsRegion": region,
            }));
        }
    }
    let scope = format!(
        "DescribeAggregateComplianceByConformancePacks|{name}|{}",
        call.json
            .get("Filters")
            .map(Value::to_string)
            .unwrap_or_default()
    );
    let empty = world.opts.compliance.empty_pages;
    let body = paged(
        call,
        items,
        "AggregateComplianceByConformancePacks",
        &scope,
        limit,
        empty,
    )?;
    Ok(json_ok(call.protocol, &body))
}

/// The caller's (account, region index), when the organization has them.
fn here<'a>(world: &'a World, call: &Call) -> Option<(&'a Account, usize)> {
    Some((
        world.account(&call.account)?,
        world.region_index(&call.region)?,
    ))
}

fn names_param(call: &Call, field: &str) -> Option<Vec<String>> {
    call.json.get(field).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

fn account_rules(world: &World, call: &Call) -> Answer {
    let here = here(world, call);
    let n = if here.is_some() {
        world.opts.compliance.rules
    } else {
        0
    };
    let all: Vec<String> = (0..n).map(rule_name).collect();
    let names = names_param(call, "ConfigRuleNames").unwrap_or_default();
    if names.len() > 25 {
        return Err(validation("1 validation error detected: Value at 'configRuleNames' failed to satisfy constraint: Member must have length less than or equal to 25"));
    }
    if let Some(bad) = names.iter().find(|x| !all.contains(x)) {
        return Err(AwsError::client(
            "NoSuchConfigRuleException",
            format!("The ConfigRule '{bad}' provided in the request is invalid. Please check the configRule name."),
        ));
    }
    let types = names_param(call, "ComplianceTypes").unwrap_or_default();
    if types.len() > 3 {
        return Err(validation("1 validation error detected: Value at 'complianceTypes' failed to satisfy constraint: Member must have length less than or equal to 3"));
    }
    if let Some(bad) = types
        .iter()
        .find(|t| !["COMPLIANT", "NON_COMPLIANT", "INSUFFICIENT_DATA"].contains(&t.as_str()))
    {
        return Err(AwsError::client(
            "InvalidParameterValueException",
            format!("The compliance type {bad} is not valid: use COMPLIANT, NON_COMPLIANT or INSUFFICIENT_DATA."),
        ));
    }
    let mut items = Vec::new();
    if let Some((a, g)) = here {
        for (i, rule) in all.iter().enumerate() {
            if !names.is_empty() && !names.contains(rule) {
                continue;
            }
            let r = rule_compliance(world, a, g, i);
            if !types.is_empty() && !types.contains(&r.compliance) {
                continue;
            }
            items.push(json!({ "ConfigRuleName": rule, "Compliance": compliance_json(&r) }));
        }
    }
    let scope = format!(
        "DescribeComplianceByConfigRule|{}|{}|{}",
        call.account,
        names.join(","),
        types.join(",")
    );
    let body = paged(
        call,
        items,
        "ComplianceByConfigRules",
        &scope,
        RULES_PAGE,
        false,
    )?;
    Ok(json_ok(call.protocol, &body))
}

fn no_such_pack(name: &str) -> AwsError {
    AwsError::client(
        "NoSuchConformancePackException",
        format!("Conformance pack {name} does not exist."),
    )
}

/// The packs of the caller's account and region.
fn packs_here(world: &World, call: &Call) -> Vec<String> {
    if here(world, call).is_none() {
        return Vec::new();
    }
    (0..world.opts.compliance.packs).map(pack_name).collect()
}

fn describe_packs(world: &World, call: &Call) -> Answer {
    let limit = limit(call, 20, 20)?;
    let all = packs_here(world, call);
    let names = names_param(call, "ConformancePackNames").unwrap_or_default();
    if names.len() > 25 {
        return Err(validation("1 validation error detected: Value at 'conformancePackNames' failed to satisfy constraint: Member must have length less than or equal to 25"));
    }
    if let Some(bad) = names.iter().find(|x| !all.contains(x)) {
        return Err(no_such_pack(bad));
    }
    let items: Vec<Value> = all
        .iter()
        .enumerate()
        .filter(|(_, p)| names.is_empty() || names.contains(p))
        .map(|(j, p)| {
            let id = format!("conformance-pack-{:014x}", mix(&[world.opts.seed, 0xcf, j as u64]) >> 8);
            json!({
                "ConformancePackName": p,
                "ConformancePackArn": format!("arn:aws:config:{}:{}:conformance-pack/{p}/{id}", call.region, call.account),
                "ConformancePackId": id,
                "ConformancePackInputParameters": [],
                "LastUpdateRequestedTime": EPOCH - 86_400.0 * (10 + j) as f64,
            })
        })
        .collect();
    let scope = format!(
        "DescribeConformancePacks|{}|{}",
        call.account,
        names.join(",")
    );
    let body = paged(call, items, "ConformancePackDetails", &scope, limit, false)?;
    Ok(json_ok(call.protocol, &body))
}

fn pack_summary(world: &World, call: &Call) -> Answer {
    let limit = limit(call, 20, 20)?;
    let names = names_param(call, "ConformancePackNames").unwrap_or_default();
    if names.is_empty() || names.len() > 5 {
        return Err(validation(format!("1 validation error detected: Value at 'conformancePackNames' failed to satisfy constraint: Member must have length between 1 and 5 (it has {})", names.len())));
    }
    let all = packs_here(world, call);
    if let Some(bad) = names.iter().find(|x| !all.contains(x)) {
        return Err(no_such_pack(bad));
    }
    let Some((a, g)) = here(world, call) else {
        return Err(no_such_pack(&names[0]));
    };
    let items: Vec<Value> = names
        .iter()
        .map(|n| {
            let j = all.iter().position(|p| p == n).unwrap_or(0);
            json!({
                "ConformancePackName": n,
                "ConformancePackComplianceStatus": pack_compliance(world, a, g, j).0,
            })
        })
        .collect();
    let scope = format!(
        "GetConformancePackComplianceSummary|{}|{}",
        call.account,
        names.join(",")
    );
    let body = paged(
        call,
        items,
        "ConformancePackComplianceSummaryList",
        &scope,
        limit,
        false,
    )?;
    Ok(json_ok(call.protocol, &body))
}

/// ListConformancePackComplianceScores: the packs of the caller's account and region with their
/// scores, by name (ascending, or descending with `SortOrder` DESCENDING) or with `SortBy`
/// SCORE by score ("conformance packs with a compliance score of INSUFFICIENT_DATA will be
/// last", the model's SortOrder). `Limit` is 0-20 per the model (0: the maximum, as for the
/// other Config lists); `Filters.ConformancePackNames` (1-25, checked by the constraints table)
/// keeps the named packs, and a name that is not a pack is simply not in the answer.
fn pack_scores(world: &World, call: &Call) -> Answer {
    let limit = limit(call, 20, 20)?;
    let b = &call.json;
    let order = str_field(Some(b), "SortOrder");
    let by = str_field(Some(b), "SortBy");
    let names = b
        .pointer("/Filters/ConformancePackNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect::<Vec<_>>()
        });
    let all = packs_here(world, call);
    let mut items: Vec<(String, String)> = match here(world, call) {
        Some((a, g)) => all
            .iter()
            .enumerate()
            .filter(|(_, p)| names.as_ref().is_none_or(|n| n.contains(p)))
            .map(|(j, p)| (p.clone(), pack_score(world, a, g, j)))
            .collect(),
        None => Vec::new(),
    };
    let descending = order == Some("DESCENDING");
    if by == Some("SCORE") {
        let key = |s: &str| s.parse::<f64>().ok();
        items.sort_by(|x, y| match (key(&x.1), key(&y.1)) {
            (Some(a), Some(b)) => {
                let o = a.total_cmp(&b).then(x.0.cmp(&y.0));
                if descending {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => x.0.cmp(&y.0),
        });
    } else {
        items.sort_by(|x, y| x.0.cmp(&y.0));
        if descending {
            items.reverse();
        }
    }
    let g = here(world, call).map(|(_, g)| g).unwrap_or(0);
    let items: Vec<Value> = items
        .into_iter()
        .map(|(p, score)| {
            json!({
                "ConformancePackName": p,
                "Score": score,
                "LastUpdatedTime": EPOCH - 3_600.0 * (1 + g) as f64,
            })
        })
        .collect();
    let scope = format!(
        "ListConformancePackComplianceScores|{}|{}|{:?}|{:?}|{:?}",
        call.account, call.region, names, order, by
    );
    let body = paged(
        call,
        items,
        "ConformancePackComplianceScores",
        &scope,
        limit,
        false,
    )?;
    Ok(json_ok(call.protocol, &body))
}

fn pack_rules(world: &World, call: &Call) -> Answer {
    let limit = limit(call, 1000, 100)?;
    let name = call
        .json
        .get("ConformancePackName")
        .and_then(Value::as_str)
        .ok_or_else(|| validation("1 validation error detected: Value null at 'conformancePackName' failed to satisfy constraint: Member must not be null"))?;
    let f = call.json.get("Filters");
    let type_f = str_field(f, "ComplianceType");
    check_enum(type_f, PACK_TYPES, "filters.complianceType")?;
    if type_f == Some("INSUFFICIENT_DATA") {
        return Err(AwsError::client(
            "InvalidParameterValueException",
            "INSUFFICIENT_DATA is not a supported compliance type filter: use COMPLIANT or NON_COMPLIANT.",
        ));
    }
    let rule_f = f
        .and_then(|f| f.get("ConfigRuleNames"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let all = packs_here(world, call);
    let j = all
        .iter()
        .position(|p| p == name)
        .ok_or_else(|| no_such_pack(name))?;
    let Some((a, g)) = here(world, call) else {
        return Err(no_such_pack(name));
    };
    let items: Vec<Value> = (0..world.opts.compliance.pack_rules)
        .map(|k| {
            (
                pack_rule_name(j, k),
                pack_rule_compliance(world, a, g, j, k),
            )
        })
        .filter(|(r, t)| type_f.is_none_or(|x| x == t) && (rule_f.is_empty() || rule_f.contains(r)))
        .map(|(r, t)| json!({ "ConfigRuleName": r, "ComplianceType": t, "Controls": [] }))
        .collect();
    let scope = format!(
        "DescribeConformancePackCompliance|{}|{name}|{}",
        call.account,
        f.map(Value::to_string).unwrap_or_default()
    );
    let mut body = paged(
        call,
        items,
        "ConformancePackRuleComplianceList",
        &scope,
        limit,
        false,
    )?;
    // The answer names its pack (a required member of the model).
    body["ConformancePackName"] = json!(name);
    Ok(json_ok(call.protocol, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_appears_and_packs_follow_their_rules() {
        let w = World::new(crate::WorldOptions::default());
        let mut seen = std::collections::BTreeSet::new();
        let mut capped = 0;
        for a in &w.accounts {
            for g in 0..w.opts.regions.len() {
                for i in 0..w.opts.compliance.rules {
                    let r = rule_compliance(&w, a, g, i);
                    capped += usize::from(r.resources > CAP);
                    seen.insert(r.compliance);
                }
                for j in 0..w.opts.compliance.packs {
                    let (t, nc) = pack_compliance(&w, a, g, j);
                    assert_eq!(t == "NON_COMPLIANT", nc > 0);
                    seen.insert(format!("pack {t}"));
                }
            }
        }
        for t in [
            "COMPLIANT",
            "NON_COMPLIANT",
            "INSUFFICIENT_DATA",
            "pack COMPLIANT",
            "pack NON_COMPLIANT",
        ] {
            assert!(seen.contains(t), "{t} missing from {seen:?}");
        }
        assert!(capped > 0);
    }

    /// AWS: INSUFFICIENT_DATA "only if all rules within a conformance pack cannot be evaluated";
    /// a pack with compliant and insufficient-data rules and no non-compliant one is COMPLIANT.
    #[test]
    fn a_pack_is_insufficient_only_when_all_its_rules_are() {
        let w = World::new(crate::WorldOptions::default());
        let mut mixed = 0;
        for a in &w.accounts {
            for g in 0..w.opts.regions.len() {
                for j in 0..w.opts.compliance.packs {
                    let types: Vec<String> = (0..w.opts.compliance.pack_rules)
                        .map(|k| pack_rule_compliance(&w, a, g, j, k))
                        .collect();
                    let (t, _) = pack_compliance(&w, a, g, j);
                    let has = |x: &str| types.iter().any(|y| y == x);
                    if !has("NON_COMPLIANT") && has("INSUFFICIENT_DATA") && has("COMPLIANT") {
                        mixed += 1;
                        assert_eq!(t, "COMPLIANT", "{types:?}");
                    }
                    if types.iter().all(|y| y == "INSUFFICIENT_DATA") {
                        assert_eq!(t, "INSUFFICIENT_DATA", "{types:?}");
                    }
                }
            }
        }
        assert!(mixed > 0, "the default organization has no mixed pack");
    }
}
