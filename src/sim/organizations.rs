//! Organizations in the awsJson1_1 protocol: ListAccounts.

use serde_json::json;

use super::wire::{json_ok, next_token, parse_token, AwsError};
use super::{Answer, Call, World};

/// Handles one Organizations call.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    if call.account != world.management().id {
        return Err(AwsError::client(
            "AccessDeniedException",
            "You don't have permissions to access this resource: the call must come from the management account or a delegated administrator.",
        ));
    }
    match call.op.as_str() {
        "ListAccounts" => list_accounts(world, call),
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

fn list_accounts(world: &World, call: &Call) -> Answer {
    let (limit, offset) = page_args(call, "ListAccounts", 20)?;
    let page: Vec<_> = world
        .accounts
        .iter()
        .skip(offset)
        .take(limit)
        .map(|a| {
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
        })
        .collect();
    let mut out = json!({ "Accounts": page });
    if offset + limit < world.accounts.len() {
        out["NextToken"] = json!(next_token("ListAccounts", offset + limit));
    }
    Ok(json_ok(call.protocol, &out))
}
