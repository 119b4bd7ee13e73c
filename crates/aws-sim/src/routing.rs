//! How a request is routed: the service, protocol and operation it is for ([`read_request`]),
//! the account that calls ([`account_for_key`]), and the handler that answers it ([`answer`]).

use http::StatusCode;

use crate::call::{Answer, Call};
use crate::wire::{AwsError, Protocol};
use crate::world::World;
use crate::{account, config, constraints, guardduty, iam, organizations, securityhub, sts};

/// Access key, region and service of a SigV4 `Authorization` header.
pub fn parse_authorization(h: &str) -> Option<(String, String, String)> {
    let cred = h.split("Credential=").nth(1)?;
    let cred = cred.split([',', ' ']).next()?;
    let mut parts = cred.split('/');
    let key = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    Some((key, region, service))
}

/// The account an access key belongs to: keys handed out by the simulator's AssumeRole carry
/// it (`ASIA` + 12 digits + suffix); any other key is the management account's.
pub fn account_for_key(world: &World, key: &str) -> String {
    // Bytes, not a `str` slice: byte 16 of a key that is not ASCII can be inside a character.
    match key.as_bytes().get(4..16) {
        Some(digits) if key.starts_with("ASIA") && digits.iter().all(u8::is_ascii_digit) => {
            String::from_utf8_lossy(digits).into_owned()
        }
        _ => world.management().id.clone(),
    }
}

/// A request as the simulator routes it: what [`read_request`] makes of its method, path,
/// headers and body, before the calling account, rate limits and faults are applied.
#[derive(Debug)]
pub struct Routed {
    /// Service the request is for (`config`, `organizations`, `guardduty`, `securityhub`,
    /// `sts`, `iam`, or `unknown`).
    pub service: String,
    /// Protocol of the service.
    pub protocol: Protocol,
    /// Operation name (`Unknown` for a GuardDuty path no operation has).
    pub op: String,
    /// JSON body (awsJson, restJson).
    pub json: serde_json::Value,
    /// Form parameters (awsQuery) or query-string parameters (restJson).
    pub params: Vec<(String, String)>,
    /// Access key, region and service of the `Authorization` header, if it has a credential.
    pub auth: Option<(String, String, String)>,
}

/// Routes a request from its parts: `target` is the `X-Amz-Target` header and `authorization`
/// the `Authorization` header. Pure, so that it can be fuzzed apart from the server; the error
/// is the awsJson answer to a body that is not JSON.
pub fn read_request(
    method: &http::Method,
    path: &str,
    query: Option<&str>,
    target: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<Routed, AwsError> {
    let auth = authorization.and_then(parse_authorization);
    let (service, protocol, op, json, params): (
        String,
        Protocol,
        String,
        serde_json::Value,
        Vec<(String, String)>,
    ) = if let Some(t) = target {
        let (prefix, op) = t.split_once('.').unwrap_or((t, ""));
        let service = match prefix {
            "StarlingDoveService" => "config",
            "AWSOrganizationsV20161128" => "organizations",
            _ => "unknown",
        };
        let json = if body.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                AwsError::client("SerializationException", format!("invalid JSON: {e}"))
            })?
        };
        (
            service.into(),
            Protocol::AwsJson,
            op.to_string(),
            json,
            Vec::new(),
        )
    } else if auth.as_ref().is_some_and(|a| a.2 == "securityhub") {
        // Security Hub's paths (`/members`, `/organization/admin`, ...) overlap GuardDuty's, so
        // the signing name tells them apart.
        rest_json(
            "securityhub",
            securityhub_operation(method, path),
            body,
            query,
        )
    } else if auth.as_ref().is_some_and(|a| a.2 == "account") {
        // Account Management (restJson1, signing name `account`): `POST /listRegions`.
        let op = match (method.as_str(), path.trim_end_matches('/')) {
            ("POST", "/listRegions") => "ListRegions",
            _ => "Unknown",
        };
        rest_json("account", op.to_string(), body, query)
    } else if path.starts_with("/detector")
        || path.starts_with("/organization/")
        || path == "/invitation"
        || path.starts_with("/invitation/")
    {
        // GuardDuty's paths; GetOrganizationStatistics and the invitations are outside
        // `/detector`.
        rest_json("guardduty", guardduty_operation(method, path), body, query)
    } else {
        let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let service = auth
            .as_ref()
            .map(|a| a.2.clone())
            .unwrap_or_else(|| "sts".into());
        let xmlns = match service.as_str() {
            "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
            _ => "https://sts.amazonaws.com/doc/2011-06-15/",
        };
        (
            service,
            Protocol::Query { xmlns },
            action,
            serde_json::Value::Null,
            params,
        )
    };
    Ok(Routed {
        service,
        protocol,
        op,
        json,
        params,
        auth,
    })
}

/// A restJson1 request of `service`: its operation (from method and path), its JSON body (`{}`
/// when empty or not JSON, for the handler to refuse what it lacks) and its query parameters.
fn rest_json(
    service: &str,
    operation: String,
    body: &[u8],
    query: Option<&str>,
) -> (
    String,
    Protocol,
    String,
    serde_json::Value,
    Vec<(String, String)>,
) {
    let params = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let json = if body.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_slice(body).unwrap_or(serde_json::json!({}))
    };
    (service.into(), Protocol::RestJson, operation, json, params)
}

/// Answers a routed call from `world`: the service models' constraints
/// ([`constraints::check`]), then the service handlers, without faults or rate limits.
pub fn answer(world: &mut World, service: &str, call: &Call) -> Answer {
    constraints::check(service, call)?;
    match service {
        "config" => config::handle(world, call),
        "organizations" => organizations::handle(world, call),
        "sts" => sts::handle(world, call),
        "guardduty" => guardduty::handle(world, call),
        "iam" => iam::handle(world, call),
        "securityhub" => securityhub::handle(world, call),
        "account" => account::handle(world, call),
        _ => Err(unknown_operation(call)),
    }
}

/// The operation of a GuardDuty REST request.
fn guardduty_operation(method: &http::Method, path: &str) -> String {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["detector"]) => "ListDetectors",
        ("GET", ["detector", _]) => "GetDetector",
        ("POST", ["detector", _, "findings", "statistics"]) => "GetFindingsStatistics",
        ("POST", ["detector", _, "findings"]) => "ListFindings",
        ("POST", ["detector", _, "findings", "get"]) => "GetFindings",
        ("GET", ["detector", _, "member"]) => "ListMembers",
        ("GET", ["detector", _, "administrator"]) => "GetAdministratorAccount",
        ("POST", ["detector", _, "member", "detector", "get"]) => "GetMemberDetectors",
        ("GET", ["detector", _, "admin"]) => "DescribeOrganizationConfiguration",
        ("GET", ["organization", "statistics"]) => "GetOrganizationStatistics",
        ("POST", ["detector", _, "coverage", "statistics"]) => "GetCoverageStatistics",
        ("GET", ["detector", _, "threatintelset"]) => "ListThreatIntelSets",
        ("GET", ["detector", _, "threatintelset", _]) => "GetThreatIntelSet",
        ("GET", ["detector", _, "ipset"]) => "ListIPSets",
        ("GET", ["detector", _, "ipset", _]) => "GetIPSet",
        ("GET", ["detector", _, "filter"]) => "ListFilters",
        ("GET", ["detector", _, "filter", _]) => "GetFilter",
        ("GET", ["invitation", "count"]) => "GetInvitationsCount",
        ("GET", ["invitation"]) => "ListInvitations",
        _ => "Unknown",
    }
    .to_string()
}

/// The operation of a Security Hub REST request (both generations).
fn securityhub_operation(method: &http::Method, path: &str) -> String {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["hubv2"]) => "DescribeSecurityHubV2",
        ("POST", ["findingsv2", "statistics"]) => "GetFindingStatisticsV2",
        ("GET", ["accounts"]) => "DescribeHub",
        ("POST", ["standards", "get"]) => "GetEnabledStandards",
        ("GET", ["members"]) => "ListMembers",
        ("GET", ["organization", "configuration"]) => "DescribeOrganizationConfiguration",
        ("GET", ["organization", "admin"]) => "ListOrganizationAdminAccounts",
        ("POST", ["findings"]) => "GetFindings",
        ("POST", ["configurationPolicyAssociation", "list"]) => {
            "ListConfigurationPolicyAssociations"
        }
        ("GET", ["findingAggregator", "list"]) => "ListFindingAggregators",
        ("POST", ["securityControls", "batchGet"]) => "BatchGetSecurityControls",
        // The ARN is a greedy label: `/findingAggregator/get/{FindingAggregatorArn+}`.
        ("GET", ["findingAggregator", "get", _, ..]) => "GetFindingAggregator",
        _ => "Unknown",
    }
    .to_string()
}

fn unknown_operation(call: &Call) -> AwsError {
    match call.protocol {
        Protocol::Query { .. } => AwsError::client(
            "InvalidAction",
            format!("The action {} is not valid for this web service.", call.op),
        ),
        Protocol::RestJson => AwsError::status(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("no route for {} {}", call.method, call.path),
        ),
        Protocol::AwsJson => AwsError::client(
            "UnknownOperationException",
            format!("unknown operation {}", call.op),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldOptions;

    #[test]
    fn keys_name_their_account_and_no_key_panics() {
        let world = World::new(WorldOptions::default());
        let management = world.management().id.clone();
        assert_eq!(
            account_for_key(&world, "ASIA123456789012XYZ"),
            "123456789012"
        );
        assert_eq!(account_for_key(&world, "ASIA123456789012"), "123456789012");
        assert_eq!(account_for_key(&world, "ASIA12345678901"), management);
        assert_eq!(account_for_key(&world, "AKIDEXAMPLE"), management);
        // Not ASCII where the account id would end: once a panic slicing the key.
        assert_eq!(
            account_for_key(&world, "ASIAAKIDEXAMPL$\u{0100}"),
            management
        );
        assert_eq!(
            account_for_key(&world, "ASIA12345678901\u{00e9}"),
            management
        );
    }
}
