//! GuardDuty as its delegated administrator sees the organization, in the restJson1 protocol:
//! GetMemberDetectors (1 to 50 account ids; accounts that are not Enabled members come back in
//! `unprocessedAccounts`), DescribeOrganizationConfiguration (auto-enable per protection plan),
//! GetOrganizationStatistics and GetCoverageStatistics; and the protection plans every
//! detector reports (GetDetector's `features`), one pure function for both views, so the
//! accounts and administrator modes read the same plans.
//!
//! The generated organization has plans on and off, auto-enable drift (EBS malware protection
//! auto-enabled for ALL yet off in every odd-indexed account), and unhealthy runtime agents
//! (one EC2 instance in every account whose index is 3 mod 4). Also the findings criteria the
//! administrator's statistics use: `severity` ranges and an `accountId` list.

use http::StatusCode;
use serde_json::{json, Value};

use crate::call::{Answer, Call};
use crate::draw::{hash, EPOCH};
use crate::guardduty_accounts::{
    bad_request, detectors_of, find_account, is_administrator, max_results_invalid, owned_detector,
    relationship,
};
use crate::wire::{json_ok, AwsError};
use crate::world::guardduty::Detector;
use crate::world::{Account, World};

/// A protection plan and its status, with its additional configurations.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Feature name, AWS's spelling.
    pub name: &'static str,
    /// ENABLED or DISABLED.
    pub status: &'static str,
    /// Additional configurations (name, status).
    pub additional: Vec<(&'static str, &'static str)>,
}

fn on(b: bool) -> &'static str {
    if b {
        "ENABLED"
    } else {
        "DISABLED"
    }
}

/// The plans of account `a`'s detector `d`: the three foundational sources follow the
/// detector's status; the others follow a pattern of the account's index.
///
/// Every feature name of the model's `DetectorFeatureResult` appears, `AI_PROTECTION` and
/// `AI_ANALYST` among them (on the administrator), and every `FeatureAdditionalConfiguration` (`RDS_DATA_RISK` too; the
/// model names no parent for it, so it is put under the RDS plan). Accounts with index 4 mod 6
/// still run the legacy `EKS_RUNTIME_MONITORING` beside the unified `RUNTIME_MONITORING`, both
/// with `EKS_ADDON_MANAGEMENT` (ENABLED under the legacy plan, DISABLED under the unified one),
/// listed first, as AWS answers while an account migrates: a reader that keys a setting by its
/// name alone takes the legacy plan's value.
pub fn plans_of(a: &Account, d: &Detector) -> Vec<Plan> {
    let base = on(d.status == "ENABLED");
    let i = a.index;
    let plan = |name, status| Plan {
        name,
        status,
        additional: Vec::new(),
    };
    let mut plans = vec![
        plan("CLOUD_TRAIL", base),
        plan("DNS_LOGS", base),
        plan("FLOW_LOGS", base),
        plan("S3_DATA_EVENTS", on(i % 5 != 4)),
        plan("EKS_AUDIT_LOGS", on(i % 3 != 2)),
        plan("EBS_MALWARE_PROTECTION", on(i % 2 == 0)),
        Plan {
            name: "RDS_LOGIN_EVENTS",
            status: on(i % 4 == 0),
            additional: vec![("RDS_DATA_RISK", on(i % 8 == 0))],
        },
        plan("LAMBDA_NETWORK_LOGS", "ENABLED"),
    ];
    if legacy_runtime(a) {
        plans.push(Plan {
            name: "EKS_RUNTIME_MONITORING",
            status: "ENABLED",
            additional: vec![("EKS_ADDON_MANAGEMENT", "ENABLED")],
        });
    }
    plans.push(Plan {
        name: "RUNTIME_MONITORING",
        status: on(i % 3 != 1),
        additional: vec![
            ("EKS_ADDON_MANAGEMENT", on(i % 3 != 1)),
            ("ECS_FARGATE_AGENT_MANAGEMENT", on(i % 3 != 1)),
            ("EC2_AGENT_MANAGEMENT", on(i % 3 == 0)),
        ],
    });
    plans.push(plan("AI_PROTECTION", on(i % 2 == 1)));
    // An administrator's feature (its investigations); members' detectors do not list it.
    if i == 0 {
        plans.push(plan("AI_ANALYST", "ENABLED"));
    }
    plans
}

/// Whether account `a` still runs the legacy EKS runtime plan beside the unified one.
pub fn legacy_runtime(a: &Account) -> bool {
    a.index % 6 == 4
}

/// Feature names that are not `OrgFeature` names: GetMemberDetectors and
/// GetOrganizationStatistics cannot name them (the model's `OrgFeature` enum lists neither the
/// foundational sources nor `AI_ANALYST`).
pub fn org_feature(name: &str) -> bool {
    !FOUNDATIONAL.contains(&name) && name != "AI_ANALYST"
}

/// The plans of `account`'s detector `d` in `region` (none for an unknown account).
pub fn features(w: &World, account: &str, _region: &str, d: &Detector) -> Vec<Plan> {
    find_account(w, account)
        .map(|a| plans_of(a, d))
        .unwrap_or_default()
}

/// A plan as GetDetector and GetMemberDetectors answer it.
pub fn feature_json(p: &Plan, updated: f64) -> Value {
    let mut o = json!({"name": p.name, "status": p.status, "updatedAt": updated});
    if !p.additional.is_empty() {
        o["additionalConfiguration"] = p
            .additional
            .iter()
            .map(|(n, s)| json!({"name": n, "status": s, "updatedAt": updated}))
            .collect();
    }
    o
}

/// GetDetector's features that are not OrgFeature names (GetMemberDetectors reports them in
/// `dataSources` only).
pub const FOUNDATIONAL: [&str; 3] = ["CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS"];

/// The organization's auto-enable setting per plan (the same in every region).
pub const AUTO_ENABLE: [(&str, &str); 10] = [
    ("S3_DATA_EVENTS", "ALL"),
    ("EKS_AUDIT_LOGS", "NEW"),
    ("EBS_MALWARE_PROTECTION", "ALL"),
    ("RDS_LOGIN_EVENTS", "NONE"),
    ("LAMBDA_NETWORK_LOGS", "ALL"),
    ("EKS_RUNTIME_MONITORING", "NONE"),
    ("RUNTIME_MONITORING", "ALL"),
    ("AI_PROTECTION", "NEW"),
    ("EKS_ADDON_MANAGEMENT", "ALL"),
    ("EC2_AGENT_MANAGEMENT", "NEW"),
];

/// Runtime-monitored resources of account `a` as (resource type, healthy, unhealthy); none
/// unless RUNTIME_MONITORING is on there.
pub fn coverage_of(w: &World, a: &Account, d: &Detector) -> Vec<(&'static str, i64, i64)> {
    let runtime = plans_of(a, d)
        .iter()
        .any(|p| p.name == "RUNTIME_MONITORING" && p.status == "ENABLED");
    if !runtime {
        return Vec::new();
    }
    let h = hash(&format!("{}|{}|coverage", w.opts.seed, a.id));
    let ec2 = 1 + (h % 3) as i64;
    let unhealthy = i64::from(a.index % 4 == 3);
    vec![
        ("EC2", ec2 - unhealthy.min(ec2 - 1), unhealthy),
        ("EKS", ((h >> 8) % 2) as i64 + 1, 0),
        ("ECS", ((h >> 16) % 3) as i64, 0),
    ]
}

/// The accounts the administrator `account` covers in `region`: itself and its Enabled members
/// with a detector, each with that detector.
fn covered<'a>(w: &'a World, account: &str, region: &str) -> Vec<(&'a Account, Detector)> {
    let (Some(admin), Some(r)) = (find_account(w, account), w.region_index(region)) else {
        return Vec::new();
    };
    let mut out: Vec<(&Account, Detector)> = detectors_of(w, admin, region, r)
        .into_iter()
        .take(1)
        .map(|d| (admin, d))
        .collect();
    if is_administrator(w, account, region) {
        for m in w.accounts.iter().filter(|m| m.index != 0) {
            if relationship(w, m, region) == "Enabled" {
                if let Some(d) = detectors_of(w, m, region, r).into_iter().next() {
                    out.push((m, d));
                }
            }
        }
    }
    out
}

/// Handles one of this module's operations.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    match call.op.as_str() {
        "GetMemberDetectors" => member_detectors(world, call),
        "DescribeOrganizationConfiguration" => org_configuration(world, call),
        "GetOrganizationStatistics" => org_statistics(world, call),
        "GetCoverageStatistics" => coverage(world, call),
        _ => Err(AwsError::status(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("no route for {} {}", call.method, call.path),
        )),
    }
}

fn not_administrator() -> AwsError {
    bad_request("The request is rejected because the current account is not the GuardDuty administrator of an organization in this Region.")
}

fn member_detectors(world: &mut World, call: &Call) -> Answer {
    owned_detector(world, call)?;
    let ids: Vec<&str> = call
        .json
        .get("accountIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 50 {
        return Err(bad_request(format!(
            "1 validation error detected: Value at 'accountIds' failed to satisfy constraint: Member must have length less than or equal to 50 and greater than or equal to 1 (got {})",
            ids.len()
        )));
    }
    let covered = covered(world, &call.account, &call.region);
    let updated = EPOCH - 3_600.0;
    let mut members = Vec::new();
    let mut unprocessed = Vec::new();
    for id in ids {
        match covered
            .iter()
            .find(|(a, _)| a.id == id && a.id != call.account)
        {
            Some((a, d)) => {
                let plans = plans_of(a, d);
                let st = |name: &str| {
                    plans
                        .iter()
                        .find(|p| p.name == name)
                        .map(|p| p.status)
                        .unwrap_or("DISABLED")
                };
                members.push(json!({
                    "accountId": id,
                    "dataSources": {
                        "cloudTrail": {"status": st("CLOUD_TRAIL")},
                        "dnsLogs": {"status": st("DNS_LOGS")},
                        "flowLogs": {"status": st("FLOW_LOGS")},
                        "s3Logs": {"status": st("S3_DATA_EVENTS")},
                    },
                    // OrgFeature names only: the foundational sources are in dataSources.
                    "features": plans
                        .iter()
                        .filter(|p| org_feature(p.name))
                        .map(|p| feature_json(p, updated))
                        .collect::<Vec<_>>(),
                }));
            }
            None => unprocessed.push(json!({
                "accountId": id,
                "result": "The request is rejected because the given account ID is not an associated member of account the current account.",
            })),
        }
    }
    Ok(json_ok(
        call.protocol,
        &json!({"members": members, "unprocessedAccounts": unprocessed}),
    ))
}

fn org_configuration(world: &mut World, call: &Call) -> Answer {
    owned_detector(world, call)?;
    if !is_administrator(world, &call.account, &call.region) {
        return Err(not_administrator());
    }
    if let Some(v) = call.param("maxResults") {
        if !matches!(v.parse::<u32>(), Ok(1..=50)) {
            return Err(max_results_invalid(v, 50));
        }
    }
    let auto = |n: &str| {
        AUTO_ENABLE
            .iter()
            .find(|(f, _)| *f == n)
            .map(|(_, a)| *a)
            .unwrap_or("NONE")
    };
    let features: Vec<Value> = AUTO_ENABLE
        .iter()
        .filter(|(n, _)| !n.ends_with("_MANAGEMENT"))
        .map(|(n, a)| {
            let mut o = json!({"name": n, "autoEnable": a});
            if *n == "RUNTIME_MONITORING" {
                o["additionalConfiguration"] = json!([
                    {"name": "EKS_ADDON_MANAGEMENT", "autoEnable": auto("EKS_ADDON_MANAGEMENT")},
                    {"name": "EC2_AGENT_MANAGEMENT", "autoEnable": auto("EC2_AGENT_MANAGEMENT")},
                ]);
            }
            // The legacy plan is still configured for the organization while it migrates,
            // with its own add-on setting, which differs from the unified plan's.
            if *n == "EKS_RUNTIME_MONITORING" {
                o["additionalConfiguration"] = json!([
                    {"name": "EKS_ADDON_MANAGEMENT", "autoEnable": "NONE"},
                ]);
            }
            o
        })
        .collect();
    Ok(json_ok(
        call.protocol,
        &json!({
            "autoEnable": true,
            "memberAccountLimitReached": false,
            "autoEnableOrganizationMembers": "NEW",
            "features": features,
        }),
    ))
}

/// A feature, its enabled accounts, and those of each additional configuration.
type FeatureCount = (&'static str, i64, Vec<(&'static str, i64)>);

/// Per account, its (severity, count) pairs.
pub type ByAccount = Vec<(String, Vec<(f64, i64)>)>;

fn org_statistics(world: &mut World, call: &Call) -> Answer {
    if !is_administrator(world, &call.account, &call.region) {
        return Err(not_administrator());
    }
    let covered = covered(world, &call.account, &call.region);
    let members = world.accounts.iter().filter(|a| a.index != 0).count();
    let active = world
        .accounts
        .iter()
        .filter(|a| a.status == "ACTIVE")
        .count();
    let mut by_feature: Vec<FeatureCount> = Vec::new();
    for (a, d) in &covered {
        for p in plans_of(a, d).into_iter().filter(|p| org_feature(p.name)) {
            let i = match by_feature.iter().position(|(n, _, _)| *n == p.name) {
                Some(i) => i,
                None => {
                    by_feature.push((p.name, 0, Vec::new()));
                    by_feature.len() - 1
                }
            };
            by_feature[i].1 += i64::from(p.status == "ENABLED");
            for (n, s) in &p.additional {
                let add = &mut by_feature[i].2;
                match add.iter_mut().find(|(x, _)| x == n) {
                    Some(e) => e.1 += i64::from(*s == "ENABLED"),
                    None => add.push((n, i64::from(*s == "ENABLED"))),
                }
            }
        }
    }
    let count_by_feature: Vec<Value> = by_feature
        .into_iter()
        .map(|(n, c, add)| {
            let mut o = json!({"name": n, "enabledAccountsCount": c});
            if !add.is_empty() {
                o["additionalConfiguration"] = add
                    .into_iter()
                    .map(|(n, c)| json!({"name": n, "enabledAccountsCount": c}))
                    .collect();
            }
            o
        })
        .collect();
    Ok(json_ok(
        call.protocol,
        &json!({"organizationDetails": {
            "updatedAt": EPOCH - 600.0,
            "organizationStatistics": {
                "totalAccountsCount": world.accounts.len(),
                "memberAccountsCount": members,
                "activeAccountsCount": active,
                "enabledAccountsCount": covered.len(),
                "countByFeature": count_by_feature,
            }
        }}),
    ))
}

/// The values of one coverage criterion's `equals`, when the request has that key.
fn coverage_filter<'a>(b: &'a Value, key: &str) -> Option<Vec<&'a str>> {
    let list = b.pointer("/filterCriteria/filterCriterion")?.as_array()?;
    let c = list
        .iter()
        .find(|c| c.get("criterionKey").and_then(Value::as_str) == Some(key))?;
    Some(
        c.pointer("/filterCondition/equals")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
    )
}

fn coverage(world: &mut World, call: &Call) -> Answer {
    owned_detector(world, call)?;
    let b = &call.json;
    let types: Vec<&str> = b
        .get("statisticsType")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if types.is_empty() {
        return Err(bad_request(
            "1 validation error detected: Value null at 'statisticsType' failed to satisfy constraint: Member must not be null",
        ));
    }
    let statuses = coverage_filter(b, "COVERAGE_STATUS");
    let accounts = coverage_filter(b, "ACCOUNT_ID");
    let mut by_type: Vec<(&str, i64)> = Vec::new();
    let (mut healthy, mut unhealthy) = (0i64, 0i64);
    for (a, d) in covered(world, &call.account, &call.region) {
        if accounts
            .as_ref()
            .is_some_and(|l| !l.contains(&a.id.as_str()))
        {
            continue;
        }
        for (t, h, u) in coverage_of(world, a, &d) {
            let want = |s: &str| statuses.as_ref().is_none_or(|l| l.contains(&s));
            let n = if want("HEALTHY") { h } else { 0 } + if want("UNHEALTHY") { u } else { 0 };
            healthy += if want("HEALTHY") { h } else { 0 };
            unhealthy += if want("UNHEALTHY") { u } else { 0 };
            match by_type.iter_mut().find(|(x, _)| *x == t) {
                Some(e) => e.1 += n,
                None => by_type.push((t, n)),
            }
        }
    }
    let mut stats = json!({});
    for t in types {
        match t {
            "COUNT_BY_RESOURCE_TYPE" => {
                let m: serde_json::Map<String, Value> = by_type
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(t, n)| (t.to_string(), json!(n)))
                    .collect();
                stats["countByResourceType"] = Value::Object(m);
            }
            "COUNT_BY_COVERAGE_STATUS" => {
                let mut m = serde_json::Map::new();
                for (k, n) in [("HEALTHY", healthy), ("UNHEALTHY", unhealthy)] {
                    if n > 0 {
                        m.insert(k.into(), json!(n));
                    }
                }
                stats["countByCoverageStatus"] = Value::Object(m);
            }
            other => return Err(bad_request(format!("Invalid statisticsType value {other}"))),
        }
    }
    Ok(json_ok(
        call.protocol,
        &json!({"coverageStatistics": stats}),
    ))
}

/// A numeric criterion as a test on a value: every bound the condition gives, in the current
/// spelling (`greaterThan`, `greaterThanOrEqual`, `lessThan`, `lessThanOrEqual`, each a `Long`
/// in the model) or the deprecated one (`gt`, `gte`, `lt`, `lte`, each an `Integer`).
fn bounds(c: &Value) -> impl Fn(f64) -> bool {
    let num = |a: &str, b: &str| c.get(a).or_else(|| c.get(b)).and_then(Value::as_f64);
    let (gt, gte) = (num("greaterThan", "gt"), num("greaterThanOrEqual", "gte"));
    let (lt, lte) = (num("lessThan", "lt"), num("lessThanOrEqual", "lte"));
    move |v: f64| {
        gt.is_none_or(|b| v > b)
            && gte.is_none_or(|b| v >= b)
            && lt.is_none_or(|b| v < b)
            && lte.is_none_or(|b| v <= b)
    }
}

/// Applies the request's `severity` range, `createdAt` range and `accountId` list to
/// per-account findings; any other criterion but `service.archived` is refused, so a test
/// never passes by accident. `created` gives the creation time (seconds since the epoch) of an
/// account's findings of one severity value.
///
/// `createdAt` is compared in milliseconds: the model's list of filter fields
/// (CreateFilterRequest.FindingCriteria, the same FindingCriteria shape) says of it "Type:
/// Timestamp in Unix Epoch millisecond format. Ex: 1486685375000".
pub fn apply_criteria(
    body: &Value,
    by_account: ByAccount,
    created: &dyn Fn(&str, f64) -> f64,
) -> Result<ByAccount, AwsError> {
    let Some(crit) = body
        .pointer("/findingCriteria/criterion")
        .and_then(Value::as_object)
    else {
        return Ok(by_account);
    };
    for (k, c) in crit {
        if !matches!(
            k.as_str(),
            "service.archived" | "severity" | "accountId" | "createdAt"
        ) {
            return Err(bad_request(format!(
                "The simulator filters findings by service.archived, severity, createdAt and accountId only, not {k}."
            )));
        }
        if k == "createdAt"
            && ["equals", "notEquals", "eq", "neq"]
                .iter()
                .any(|o| c.get(*o).is_some())
        {
            return Err(bad_request(
                "The simulator filters createdAt by greaterThan, greaterThanOrEqual, lessThan and lessThanOrEqual only.",
            ));
        }
    }
    let any = json!({});
    let severity = bounds(crit.get("severity").unwrap_or(&any));
    let created_ok = bounds(crit.get("createdAt").unwrap_or(&any));
    let accounts: Option<Vec<&str>> = crit.get("accountId").map(|c| {
        c.get("equals")
            .or_else(|| c.get("eq"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    });
    let has_created = crit.contains_key("createdAt");
    Ok(by_account
        .into_iter()
        .filter(|(a, _)| accounts.as_ref().is_none_or(|l| l.contains(&a.as_str())))
        .map(|(a, list)| {
            let kept = list
                .into_iter()
                .filter(|(s, _)| severity(*s))
                .filter(|(s, _)| !has_created || created_ok((created(&a, *s) * 1000.0).floor()))
                .collect();
            (a, kept)
        })
        .collect())
}
