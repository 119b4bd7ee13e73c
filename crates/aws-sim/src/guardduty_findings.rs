//! GuardDuty's ListFindings and GetFindings (restJson1, `POST /detector/{id}/findings` and
//! `POST /detector/{id}/findings/get`), over the findings [`guardduty_accounts`] generates: the
//! caller's own and, on an administrator, its Enabled members' (ListFindings: "Lists GuardDuty
//! findings for the specified detector ID"), current and archived.
//!
//! A finding is one of the `count` findings that an account holds at a severity value, all
//! created at [`finding_created`]; its id (32 characters, as GuardDuty's are) encodes the account,
//! whether it is archived, the severity and its position, so that GetFindings answers any id a
//! listing gave without the simulator storing a finding. ListFindings filters as
//! GetFindingsStatistics does ([`apply_criteria`]: `service.archived`, `severity`, `accountId`,
//! `createdAt`) and sorts by `sortCriteria` ("Represents the finding attribute, such as
//! `accountId`, that sorts the findings"): `createdAt`, `updatedAt`, `severity` or `accountId`;
//! the model names no list of attributes, and the simulator refuses others rather than guess.
//! `maxResults` is 1 to 50 ("The default value is 50. The maximum value is 50."); GetFindings
//! takes at most 50 ids (the model's `FindingIds`, `max: 50`, checked by the constraint table).
//!
//! [`guardduty_accounts`]: crate::guardduty_accounts
//! [`apply_criteria`]: crate::guardduty_org::apply_criteria

use serde_json::{json, Value};

use crate::call::{Answer, Call};
use crate::draw::hash;
use crate::guardduty_accounts::{
    bad_request, body_max_results, finding_created, findings_by_account, owned_detector,
};
use crate::guardduty_org::{apply_criteria, ByAccount};
use crate::wire::{iso8601, json_ok, next_token, parse_token};
use crate::world::World;

/// Finding types the generated findings are drawn from.
const TYPES: [&str; 4] = [
    "Recon:EC2/PortProbeUnprotectedPort",
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
    "CryptoCurrency:EC2/BitcoinTool.B!DNS",
    "Policy:S3/BucketBlockPublicAccessDisabled",
];

/// The findings of one account at one severity value, current or archived.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    account: String,
    severity: f64,
    archived: bool,
    count: i64,
    /// Creation time, seconds since the epoch.
    created: f64,
}

/// What a finding id says.
#[derive(Clone, Debug, PartialEq)]
struct FindingRef {
    account: String,
    archived: bool,
    /// Severity times ten.
    tenths: u32,
    index: i64,
}

fn finding_id(g: &Group, index: i64) -> String {
    let tenths = (g.severity * 10.0).round() as u32;
    format!(
        "{}{}{tenths:03x}{index:016x}",
        g.account,
        u8::from(g.archived)
    )
}

fn parse_id(id: &str) -> Option<FindingRef> {
    if id.len() != 32 || !id.is_ascii() {
        return None;
    }
    let account = &id[..12];
    if !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let archived = match &id[12..13] {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    Some(FindingRef {
        account: account.to_string(),
        archived,
        tenths: u32::from_str_radix(&id[13..16], 16).ok()?,
        index: i64::from_str_radix(&id[16..], 16).ok()?,
    })
}

/// Every group the caller's detector reports, current then archived per account, kept by the
/// request's criteria.
fn groups(world: &World, call: &Call, b: &Value) -> Result<Vec<Group>, crate::wire::AwsError> {
    let region = call.region.as_str();
    let current: ByAccount = findings_by_account(world, &call.account, region, false);
    let all: ByAccount = findings_by_account(world, &call.account, region, true);
    // `findings_by_account` with archived findings appends them after the current ones.
    let archived: ByAccount = current
        .iter()
        .zip(all)
        .map(|((_, cur), (a, every))| (a, every[cur.len()..].to_vec()))
        .collect();
    let wanted = archived_wanted(b)?;
    let created = |account: &str, severity: f64| finding_created(world, account, region, severity);
    let mut out = Vec::new();
    for (is_archived, set) in [(false, current), (true, archived)] {
        if wanted.is_some_and(|w| w != is_archived) {
            continue;
        }
        for (account, list) in apply_criteria(b, set, &created)? {
            for (severity, count) in list {
                if count > 0 {
                    out.push(Group {
                        created: created(&account, severity),
                        account: account.clone(),
                        severity,
                        archived: is_archived,
                        count,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// `service.archived` of the criterion: `Some(false)` for current findings only, `Some(true)`
/// for archived ones only, `None` for both.
fn archived_wanted(b: &Value) -> Result<Option<bool>, crate::wire::AwsError> {
    let Some(c) = b.pointer("/findingCriteria/criterion/service.archived") else {
        return Ok(None);
    };
    for k in ["equals", "eq"] {
        if let Some(a) = c.get(k).and_then(Value::as_array) {
            return match a.iter().map(Value::as_str).collect::<Vec<_>>().as_slice() {
                [Some("false")] => Ok(Some(false)),
                [Some("true")] => Ok(Some(true)),
                _ => Ok(None),
            };
        }
    }
    Err(bad_request(
        "The simulator filters service.archived by equals or eq only.",
    ))
}

/// Sorts `groups` as `sortCriteria` asks (none: by account, then severity).
fn sort(groups: &mut [Group], b: &Value) -> Result<(), crate::wire::AwsError> {
    let sc = b.get("sortCriteria");
    let attr = sc
        .and_then(|s| s.get("attributeName"))
        .and_then(Value::as_str);
    let ascending = match sc.and_then(|s| s.get("orderBy")).and_then(Value::as_str) {
        None | Some("ASC") => true,
        Some("DESC") => false,
        Some(o) => return Err(bad_request(format!("Invalid orderBy value {o}"))),
    };
    let tie = |a: &Group, b: &Group| {
        a.account
            .cmp(&b.account)
            .then(a.severity.total_cmp(&b.severity))
            .then(a.archived.cmp(&b.archived))
    };
    match attr {
        None => groups.sort_by(tie),
        Some("createdAt" | "updatedAt") => {
            groups.sort_by(|a, b| a.created.total_cmp(&b.created).then(tie(a, b)))
        }
        Some("severity") => groups.sort_by(|a, b| a.severity.total_cmp(&b.severity).then(tie(a, b))),
        Some("accountId") => groups.sort_by(tie),
        Some(other) => {
            return Err(bad_request(format!(
                "The simulator sorts findings by createdAt, updatedAt, severity and accountId only, not {other}."
            )))
        }
    }
    if !ascending {
        groups.reverse();
    }
    Ok(())
}

/// ListFindings: the ids of the findings the criteria select, in the sort's order, a page at a
/// time (`maxResults` and `nextToken` in the body).
pub fn list_findings(world: &mut World, call: &Call) -> Answer {
    let d = owned_detector(world, call)?;
    let b = &call.json;
    let limit = body_max_results(b.get("maxResults"), 50, 50)?;
    // The token is for one listing: the same criteria and sort.
    let scope = format!(
        "ListFindings|{}|{}|{}|{}|{}",
        call.account,
        call.region,
        d.id,
        b.get("findingCriteria").unwrap_or(&Value::Null),
        b.get("sortCriteria").unwrap_or(&Value::Null)
    );
    let offset = match b.get("nextToken").and_then(Value::as_str) {
        None | Some("") => 0,
        Some(t) => parse_token(&scope, t).ok_or_else(|| {
            bad_request("The request is rejected because an invalid or out-of-range value is specified as an input parameter: nextToken")
        })?,
    };
    let mut all = groups(world, call, b)?;
    sort(&mut all, b)?;
    let total: usize = all.iter().map(|g| g.count as usize).sum();
    let mut ids = Vec::with_capacity(limit);
    let mut skip = offset;
    'groups: for g in &all {
        let n = g.count as usize;
        if skip >= n {
            skip -= n;
            continue;
        }
        for i in skip..n {
            if ids.len() == limit {
                break 'groups;
            }
            ids.push(finding_id(g, i as i64));
        }
        skip = 0;
    }
    let mut out = json!({ "findingIds": ids });
    if offset + limit < total {
        out["nextToken"] = json!(next_token(&scope, offset + limit));
    }
    Ok(json_ok(call.protocol, &out))
}

/// GetFindings: the findings of the ids the caller's detector reports, in the order asked
/// (sorted when `sortCriteria` says so); an id it does not report is left out.
pub fn get_findings(world: &mut World, call: &Call) -> Answer {
    let d = owned_detector(world, call)?;
    let b = &call.json;
    let ids: Vec<&str> = b
        .get("findingIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // Every group of the detector (GetFindings has no criteria).
    let all = groups(world, call, &json!({}))?;
    let mut found: Vec<(Group, String, i64)> = Vec::new();
    for id in ids {
        let Some(r) = parse_id(id) else { continue };
        let Some(g) = all.iter().find(|g| {
            g.account == r.account
                && g.archived == r.archived
                && (g.severity * 10.0).round() as u32 == r.tenths
                && r.index < g.count
        }) else {
            continue;
        };
        found.push((g.clone(), id.to_string(), r.index));
    }
    if b.get("sortCriteria").is_some() {
        let mut order: Vec<Group> = found.iter().map(|(g, _, _)| g.clone()).collect();
        sort(&mut order, b)?;
        found.sort_by_key(|(g, _, _)| order.iter().position(|o| o == g));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let findings: Vec<Value> = found
        .iter()
        .map(|(g, id, index)| {
            let h = hash(&format!("{}|{id}", world.opts.seed));
            let kind = TYPES[(h % TYPES.len() as u64) as usize];
            let updated = g.created + ((now - g.created) / 2.0).max(0.0);
            json!({
                "accountId": g.account,
                "arn": format!("arn:aws:guardduty:{}:{}:detector/{}/finding/{id}", call.region, call.account, d.id),
                "confidence": 8.0,
                "createdAt": iso8601(g.created),
                "description": format!("{kind} in account {} (simulated).", g.account),
                "id": id,
                "partition": "aws",
                "region": call.region,
                "resource": {
                    "resourceType": "Instance",
                    "instanceDetails": {"instanceId": format!("i-{:017x}", h >> 4)},
                },
                "schemaVersion": "2.0",
                "service": {
                    "archived": g.archived,
                    "count": 1 + index,
                    "detectorId": d.id,
                    "eventFirstSeen": iso8601(g.created),
                    "eventLastSeen": iso8601(updated),
                    "serviceName": "guardduty",
                },
                "severity": g.severity,
                "title": kind,
                "type": kind,
                "updatedAt": iso8601(updated),
            })
        })
        .collect();
    Ok(json_ok(call.protocol, &json!({ "findings": findings })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_say_their_finding_and_are_32_characters() {
        let g = Group {
            account: "123456789012".into(),
            severity: 8.5,
            archived: true,
            count: 3,
            created: 0.0,
        };
        let id = finding_id(&g, 2);
        assert_eq!(id.len(), 32);
        assert_eq!(
            parse_id(&id),
            Some(FindingRef {
                account: "123456789012".into(),
                archived: true,
                tenths: 85,
                index: 2
            })
        );
        assert_eq!(parse_id("not-an-id"), None);
        assert_eq!(parse_id(&id.replace("12345", "abcde")), None);
    }
}
