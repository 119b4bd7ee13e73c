//! Organizations in the awsJson1_1 protocol: ListAccounts, ListRoots,
//! ListOrganizationalUnitsForParent, ListAccountsForParent and DescribeOrganization.

use serde_json::json;

use crate::call::{Answer, Call};
use crate::wire::{json_ok, next_token, parse_token, AwsError};
use crate::world::{Account, World};

/// Handles one Organizations call.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    // DescribeOrganization "can be called from any account in the organization"; the listings
    // only from the management account (or a delegated administrator).
    let anyone = call.op == "DescribeOrganization" && world.account(&call.account).is_some();
    if call.account != world.management().id && !anyone {
        return Err(AwsError::client(
            "AccessDeniedException",
            "You don't have permissions to access this resource: the call must come from the management account or a delegated administrator.",
        ));
    }
    match call.op.as_str() {
        "ListAccounts" => list_accounts(world, call),
        "ListRoots" => list_roots(world, call),
        "ListOrganizationalUnitsForParent" => list_ous_for_parent(world, call),
        "ListAccountsForParent" => list_accounts_for_parent(world, call),
        "DescribeOrganization" => Ok(json_ok(
            call.protocol,
            &json!({"Organization": {
                "Id": world.org_id,
                "Arn": format!("arn:aws:organizations::{}:organization/{}", world.management().id, world.org_id),
                "FeatureSet": "ALL",
                "MasterAccountArn": format!("arn:aws:organizations::{}:account/{}/{}", world.management().id, world.org_id, world.management().id),
                "MasterAccountId": world.management().id,
                "MasterAccountEmail": world.management().email,
            }}),
        )),
        other => Err(AwsError::client(
            "UnknownOperationException",
            format!("unknown operation {other}"),
        )),
    }
}

/// Validates `MaxResults` (1 to `max`) and decodes `NextToken`.
pub fn page_args(call: &Call, scope: &str, max: i64) -> Result<(usize, usize), AwsError> {
    let limit = match call.json.get("MaxResults") {
        None | Some(serde_json::Value::Null) => max,
        Some(v) => v.as_i64().unwrap_or(-1),
    };
    if limit < 1 || limit > max {
        return Err(AwsError::client(
            "InvalidInputException",
            format!("MaxResults must be between 1 and {max}"),
        )
        .with("Reason", json!("MAX_VALUE_EXCEEDED")));
    }
    let offset = match call.json.get("NextToken").and_then(|v| v.as_str()) {
        None => 0,
        Some(t) => parse_token(scope, t).ok_or_else(|| {
            AwsError::client("InvalidInputException", "The NextToken is not valid.")
                .with("Reason", json!("INVALID_NEXT_TOKEN"))
        })?,
    };
    Ok((limit as usize, offset))
}

fn account_json(world: &World, a: &Account) -> serde_json::Value {
    json!({
        "Id": a.id,
        "Arn": format!("arn:aws:organizations::{}:account/{}/{}", world.management().id, world.org_id, a.id),
        "Email": a.email,
        "Name": a.name,
        "Status": a.status,
        "State": a.status,
        "JoinedMethod": if a.index == 0 { "CREATED" } else { "INVITED" },
        "JoinedTimestamp": a.joined,
    })
}

fn paged(call: &Call, scope: &str, key: &str, items: Vec<serde_json::Value>) -> Answer {
    let (limit, offset) = page_args(call, scope, 20)?;
    let total = items.len();
    let page: Vec<_> = items.into_iter().skip(offset).take(limit).collect();
    let mut out = json!({ key: page });
    if offset + limit < total {
        out["NextToken"] = json!(next_token(scope, offset + limit));
    }
    Ok(json_ok(call.protocol, &out))
}

fn list_accounts(world: &World, call: &Call) -> Answer {
    let items = world
        .accounts
        .iter()
        .map(|a| account_json(world, a))
        .collect();
    paged(call, "ListAccounts", "Accounts", items)
}

fn list_roots(world: &World, call: &Call) -> Answer {
    let root = world.root_id();
    let items = vec![json!({
        "Id": root,
        "Arn": format!("arn:aws:organizations::{}:root/{}/{}", world.management().id, world.org_id, root),
        "Name": "Root",
        "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
    })];
    paged(call, "ListRoots", "Roots", items)
}

fn parent_arg(world: &World, call: &Call) -> Result<String, AwsError> {
    let parent = call
        .json
        .get("ParentId")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if parent == world.root_id() || world.ous().iter().any(|o| o.0 == parent) {
        Ok(parent)
    } else {
        Err(AwsError::client(
            "ParentNotFoundException",
            format!("We can't find a root or OU with the ParentId that you specified: {parent}"),
        ))
    }
}

fn list_ous_for_parent(world: &World, call: &Call) -> Answer {
    let parent = parent_arg(world, call)?;
    let items = world
        .ous()
        .into_iter()
        .filter(|o| o.2 == parent)
        .map(|(id, name, _)| {
            json!({
                "Id": id,
                "Arn": format!("arn:aws:organizations::{}:ou/{}/{}", world.management().id, world.org_id, id),
                "Name": name,
            })
        })
        .collect();
    let scope = format!("ListOrganizationalUnitsForParent/{parent}");
    paged(call, &scope, "OrganizationalUnits", items)
}

fn list_accounts_for_parent(world: &World, call: &Call) -> Answer {
    let parent = parent_arg(world, call)?;
    // The parent's OU index (`None`: the root), found once rather than per account.
    let at = world.ous().iter().position(|o| o.0 == parent);
    let items = world
        .accounts
        .iter()
        .filter(|a| world.ou_of(a) == at)
        .map(|a| account_json(world, a))
        .collect();
    let scope = format!("ListAccountsForParent/{parent}");
    paged(call, &scope, "Accounts", items)
}
