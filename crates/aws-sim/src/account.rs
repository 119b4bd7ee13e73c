//! Account Management in the restJson1 protocol: ListRegions (`POST /listRegions`).
//!
//! What its model says, and the simulator does:
//! - `AccountId`: "To use this parameter, the caller must be an identity in the organization's
//!   management account or a delegated administrator account. The specified account ID must be
//!   a member account in the same organization." Any other caller gets AccessDeniedException
//!   (the simulator has no delegated administrator for Account Management).
//! - "The management account can't specify its own `AccountId`. It must call the operation in
//!   standalone context by not including the `AccountId` parameter." The simulator refuses it
//!   with ValidationException, reason `invalidRegionOptTarget` (the model's enum; the model does
//!   not say which error AWS answers, and this is the one that names a bad target).
//! - Without `AccountId`, the caller's own account ("it defaults to the Amazon Web Services
//!   account of the identity used to call the operation").
//! - `MaxResults` 1 to 50 (the constraint table), `NextToken`, and `RegionOptStatusContains`
//!   ("passing in a value of ENABLING will only return a list of Regions with a Region status of
//!   ENABLING").

use http::StatusCode;
use serde_json::json;

use crate::call::{Answer, Call};
use crate::wire::{json_ok, next_token, parse_token, AwsError};
use crate::world::World;

/// Regions a page holds when the request gives no `MaxResults` (the model states no default).
const DEFAULT_PAGE: usize = 20;

/// Handles one Account Management call.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    match call.op.as_str() {
        "ListRegions" => list_regions(world, call),
        other => Err(AwsError::status(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("unknown operation {other}"),
        )),
    }
}

fn denied(message: String) -> AwsError {
    AwsError::status(StatusCode::FORBIDDEN, "AccessDeniedException", message)
}

fn list_regions(world: &World, call: &Call) -> Answer {
    let management = world.management().id.clone();
    let target = match call.json.get("AccountId").and_then(|v| v.as_str()) {
        None => call.account.clone(),
        Some(id) if id == management && call.account == management => {
            return Err(AwsError::client(
                "ValidationException",
                "The management account can't specify its own AccountId; call the operation without AccountId.",
            )
            .with("reason", json!("invalidRegionOptTarget")));
        }
        Some(id) => {
            if call.account != management {
                return Err(denied(format!(
                    "User: arn:aws:sts::{}:assumed-role/PostureExporterReadOnly/posture-exporter is not authorized to perform: account:ListRegions on another account: only the management account or a delegated administrator may specify AccountId",
                    call.account
                )));
            }
            if world.account(id).is_none_or(|a| a.status != "ACTIVE") {
                return Err(denied(format!(
                    "The account {id} is not a member account of this organization."
                )));
            }
            id.to_string()
        }
    };
    let Some(account) = world.account(&target) else {
        return Err(denied(format!("The account {target} is unknown.")));
    };
    let filter: Option<Vec<String>> = call
        .json
        .get("RegionOptStatusContains")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        });
    let regions: Vec<(String, String)> = world
        .account_regions(account)
        .into_iter()
        .filter(|(_, status)| filter.as_ref().is_none_or(|f| f.contains(status)))
        .collect();
    let page = call
        .json
        .get("MaxResults")
        .and_then(|v| v.as_u64())
        .map_or(DEFAULT_PAGE, |n| n as usize);
    let scope = format!("regions{target}");
    let offset = match call.json.get("NextToken").and_then(|v| v.as_str()) {
        None => 0,
        Some(t) => parse_token(&scope, t).ok_or_else(|| {
            AwsError::client("ValidationException", "The NextToken is not valid.")
                .with("reason", json!("fieldValidationFailed"))
        })?,
    };
    let end = (offset + page).min(regions.len());
    let items: Vec<serde_json::Value> = regions
        .get(offset.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|(name, status)| json!({"RegionName": name, "RegionOptStatus": status}))
        .collect();
    let mut body = json!({ "Regions": items });
    if end < regions.len() {
        body["NextToken"] = json!(next_token(&scope, end));
    }
    Ok(json_ok(call.protocol, &body))
}
