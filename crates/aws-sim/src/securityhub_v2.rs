//! Security Hub, the OCSF generation, in the restJson1 protocol: DescribeSecurityHubV2
//! (`GET /hubv2`) and GetFindingStatisticsV2 (`POST /findingsv2/statistics`), over the same
//! findings Security Hub CSPM serves as ASFF ([`groups`]), seen through their OCSF fields.
//!
//! Who sees what, from the model's `GetFindingStatisticsV2Request.Scopes`: "Only the delegated
//! administrator account can use this parameter. Other accounts receive an
//! AccessDeniedException. This parameter is optional. If you omit it, the delegated
//! administrator sees statistics from all accounts across the entire organization. Other
//! accounts see only statistics for their own findings." Statistics are of the region called
//! (the OCSF generation's own aggregation is not simulated).

use std::collections::BTreeMap;

use http::StatusCode;
use serde_json::{json, Value};

use crate::call::{Answer, Call};
use crate::draw::{hash, EPOCH};
use crate::guardduty_accounts::find_account;
use crate::securityhub_accounts::{
    access_denied, error, groups, hub_enabled, is_administrator, not_found, ou_chain, uuid,
    validation,
};
use crate::securityhub_filters::{ocsf_field_known, ocsf_values, OcsfFilters, View};
use crate::wire::{iso8601, json_ok, AwsError};
use crate::world::{Account, World};

/// Handles DescribeSecurityHubV2 and GetFindingStatisticsV2.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    match call.op.as_str() {
        "DescribeSecurityHubV2" => describe(world, call),
        "GetFindingStatisticsV2" => statistics(world, call),
        _ => Err(AwsError::status(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("no route for {} {}", call.method, call.path),
        )),
    }
}

fn describe(world: &mut World, call: &Call) -> Answer {
    let me = find_account(world, &call.account)
        .filter(|a| hub_enabled(world, a, &call.region))
        .ok_or_else(|| {
            not_found(format!(
                "Security Hub is not enabled for account {} in {}.",
                call.account, call.region
            ))
        })?;
    let key = format!("{}|{}|{}|hubv2", world.opts.seed, me.id, call.region);
    let subscribed = EPOCH - 86_400.0 * (30 + hash(&key) % 200) as f64;
    Ok(json_ok(
        call.protocol,
        &json!({
            "HubV2Arn": format!("arn:aws:securityhub:{}:{}:hubv2/{}", call.region, me.id, uuid(&key)),
            "SubscribedAt": iso8601(subscribed),
        }),
    ))
}

/// The accounts whose findings the caller's statistics cover, by the request's `Scopes`.
fn scoped_accounts<'a>(w: &'a World, call: &Call) -> Result<Vec<&'a Account>, AwsError> {
    let scopes = call.json.get("Scopes");
    let admin = is_administrator(w, &call.account);
    if scopes.is_some() && !admin {
        return Err(access_denied(format!(
            "Account {} is not the delegated administrator: only the delegated administrator account can use Scopes.",
            call.account
        )));
    }
    if !admin {
        return Ok(find_account(w, &call.account).into_iter().collect());
    }
    let entries: &[Value] = scopes
        .and_then(|s| s.get("AwsOrganizations"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if entries.is_empty() {
        return Ok(w.accounts.iter().collect());
    }
    let text = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    let mut whole = false;
    let mut ous: Vec<String> = Vec::new();
    for e in entries {
        match (text(e, "OrganizationId"), text(e, "OrganizationalUnitId")) {
            (None, None) => {
                return Err(validation(
                    "An AwsOrganizationScope needs an OrganizationId or an OrganizationalUnitId.",
                ))
            }
            (org, ou) => {
                if let Some(org) = org {
                    // "The organization must be the delegated administrator's own
                    // organization."
                    if org != w.org_id {
                        return Err(error(
                            StatusCode::BAD_REQUEST,
                            "OrganizationNotFoundException",
                            format!("Organization {org} was not found."),
                        ));
                    }
                }
                match ou {
                    None => whole = true,
                    Some(ou) => {
                        // "The OU must exist within the delegated administrator's own
                        // organization."
                        if !w.ous().iter().any(|(id, _, _)| *id == ou) {
                            return Err(error(
                                StatusCode::BAD_REQUEST,
                                "OrganizationalUnitNotFoundException",
                                format!("Organizational unit {ou} was not found."),
                            ));
                        }
                        ous.push(ou);
                    }
                }
            }
        }
    }
    // "Each request must use one scoping approach ... You can't combine both approaches in the
    // same request." (the model's `AwsOrganizationScope`)
    if whole && !ous.is_empty() {
        return Err(validation(
            "Each request must use one scoping approach: the entire organization or organizational units, not both.",
        ));
    }
    if whole {
        return Ok(w.accounts.iter().collect());
    }
    // "If multiple entries are specified, the entries are combined using OR logic."
    Ok(w.accounts
        .iter()
        .filter(|a| ou_chain(w, a).iter().any(|o| ous.contains(o)))
        .collect())
}

fn statistics(world: &mut World, call: &Call) -> Answer {
    let w = &*world;
    let rules: &[Value] = call
        .json
        .get("GroupByRules")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // "It can accept up to 5 groupBy fields in a single call." (the model's
    // `GetFindingStatisticsV2Request.GroupByRules`)
    if rules.is_empty() || rules.len() > 5 {
        return Err(validation(format!(
            "GroupByRules takes 1 to 5 rules (it can accept up to 5 groupBy fields in a single call), not {}.",
            rules.len()
        )));
    }
    // The model's range of MaxStatisticResults (1-400) is checked before; it documents no
    // default.
    let limit = call
        .json
        .get("MaxStatisticResults")
        .and_then(Value::as_u64)
        .map_or(100, |n| n as usize);
    // "Orders the aggregation count in descending or ascending order. Descending order is the
    // default."
    let ascending = call.json.get("SortOrder").and_then(Value::as_str) == Some("asc");
    let mut parsed = Vec::new();
    for r in rules {
        let field = r.get("GroupByField").and_then(Value::as_str).unwrap_or("");
        if !ocsf_field_known(field) {
            return Err(validation(format!(
                "The simulator does not group findings by {field}."
            )));
        }
        parsed.push((field, OcsfFilters::read(r.get("Filters"))?));
    }
    let accounts = scoped_accounts(w, call)?;
    let mut counts: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); parsed.len()];
    for a in accounts {
        if !hub_enabled(w, a, &call.region) {
            continue;
        }
        for g in groups(w, a, &call.region) {
            let v = View {
                account: a,
                region: &call.region,
                group: &g,
            };
            for ((field, filters), out) in parsed.iter().zip(counts.iter_mut()) {
                if !filters.matches(&v) {
                    continue;
                }
                for value in ocsf_values(&v, field).unwrap_or_default() {
                    *out.entry(value).or_insert(0) += i64::from(g.count);
                }
            }
        }
    }
    let results: Vec<Value> = parsed
        .iter()
        .zip(counts)
        .map(|((field, _), m)| {
            let mut list: Vec<(String, i64)> = m.into_iter().collect();
            list.sort_by(|a, b| {
                let by_count = if ascending {
                    a.1.cmp(&b.1)
                } else {
                    b.1.cmp(&a.1)
                };
                by_count.then_with(|| a.0.cmp(&b.0))
            });
            list.truncate(limit);
            json!({
                "GroupByField": field,
                "GroupByValues": list
                    .into_iter()
                    .map(|(v, n)| json!({"FieldValue": v, "Count": n.min(i64::from(i32::MAX))}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json_ok(
        call.protocol,
        &json!({ "GroupByResults": results }),
    ))
}
