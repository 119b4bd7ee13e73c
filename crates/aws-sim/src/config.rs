//! AWS Config in the awsJson1_1 protocol (`StarlingDoveService.*`): the recorders (customer-managed
//! and service-linked) and their statuses, the delivery channel's status and the rules'
//! evaluation status of the caller's account and region; the other operations are in
//! `config_compliance` and `config_org`.
//!
//! Selecting a recorder follows the model: DescribeConfigurationRecorders and
//! DescribeConfigurationRecorderStatus take `ConfigurationRecorderNames`, `ServicePrincipal` or
//! `Arn`, and "When making a request to this operation, you can only specify one configuration
//! recorder" (`ValidationException`: "You have specified more than one configuration recorder").
//! A name together with an ARN or a service principal is two specifications, so it is refused
//! the same way, even when both name the same recorder. Without any, "this operation returns
//! the status for the customer managed configuration recorder configured for the account, if
//! applicable": service-linked recorders are read only by ARN or principal, and listed by
//! ListConfigurationRecorders.

use serde_json::{json, Value};

use crate::call::{Answer, Call};
use crate::config_compliance::rule_name;
use crate::config_flow::{Delivery, KNOWN_PRINCIPALS};
use crate::wire::{fnv, json_ok, next_token, parse_token, AwsError};
use crate::world::World;

/// ListConfigurationRecorders' page when `MaxResults` is absent or 0 (model: `MaxResults`
/// "The maximum number of results to include in the response", range 0..=20).
pub const RECORDERS_PAGE: usize = 20;
/// DescribeConfigRuleEvaluationStatus' page when `Limit` is absent or 0 (model: `RuleLimit`,
/// range 0..=50).
pub const EVALUATIONS_PAGE: usize = 50;

/// Handles one Config call.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    match call.op.as_str() {
        "DescribeConfigurationRecorders" => recorders(world, call, false),
        "DescribeConfigurationRecorderStatus" => recorders(world, call, true),
        "ListConfigurationRecorders" => list_recorders(world, call),
        "DescribeDeliveryChannelStatus" => delivery_status(world, call),
        "DescribeConfigRuleEvaluationStatus" => evaluation_status(world, call),
        _ => match crate::config_compliance::handle(world, call) {
            Some(answer) => answer,
            None => crate::config_org::handle(world, call),
        },
    }
}

/// A recorder of (account, region) as the handlers show it, customer-managed or service-linked.
struct Any {
    name: String,
    arn: String,
    service_principal: Option<String>,
    recording_scope: &'static str,
    status: Value,
}

fn arn(call: &Call, name: &str) -> String {
    format!(
        "arn:aws:config:{}:{}:configuration-recorder/{name}/{:08x}",
        call.region,
        call.account,
        fnv(name) & 0xffff_ffff
    )
}

/// Every recorder of the caller's (account, region): the customer-managed one first, then the
/// service-linked ones.
fn all_recorders(world: &World, call: &Call) -> Vec<Any> {
    let mut out: Vec<Any> = world
        .recorders(&call.account, &call.region)
        .into_iter()
        .map(|r| {
            let mut o = json!({
                "arn": arn(call, &r.name),
                "name": r.name,
                "recording": r.recording,
                "lastStatus": r.last_status,
                "lastStatusChangeTime": r.last_status_change,
            });
            if let Some(t) = r.last_start {
                o["lastStartTime"] = json!(t);
            }
            if let Some(t) = r.last_stop {
                o["lastStopTime"] = json!(t);
            }
            if let Some(c) = &r.last_error_code {
                o["lastErrorCode"] = json!(c);
            }
            if let Some(m) = &r.last_error_message {
                o["lastErrorMessage"] = json!(m);
            }
            Any {
                arn: arn(call, &r.name),
                name: r.name,
                service_principal: None,
                recording_scope: "PAID",
                status: o,
            }
        })
        .collect();
    for l in world.linked_recorders(&call.account, &call.region) {
        out.push(Any {
            arn: arn(call, &l.name),
            status: json!({
                "arn": arn(call, &l.name),
                "name": l.name,
                "recording": l.recording,
                "lastStatus": "Success",
                "lastStatusChangeTime": l.last_status_change,
                "lastStartTime": l.last_status_change,
                "servicePrincipal": l.service_principal,
            }),
            name: l.name,
            recording_scope: if l.recording_scope == "PAID" {
                "PAID"
            } else {
                "INTERNAL"
            },
            service_principal: Some(l.service_principal),
        });
    }
    out
}

fn validation(msg: &str) -> AwsError {
    AwsError::client("ValidationException", msg)
}

fn no_such_recorder(what: &str) -> AwsError {
    AwsError::client(
        "NoSuchConfigurationRecorderException",
        format!("Cannot find configuration recorder with the specified name '{what}'."),
    )
}

/// The recorders a DescribeConfigurationRecorders or DescribeConfigurationRecorderStatus
/// request selects (see the module's comment).
fn selected(world: &World, call: &Call) -> Result<Vec<Any>, AwsError> {
    let all = all_recorders(world, call);
    let names: Vec<String> = call
        .json
        .get("ConfigurationRecorderNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let principal = call.json.get("ServicePrincipal").and_then(Value::as_str);
    let by_arn = call.json.get("Arn").and_then(Value::as_str);
    let specified = names.len() + usize::from(principal.is_some()) + usize::from(by_arn.is_some());
    if specified > 1 {
        return Err(validation(
            "You have specified more than one configuration recorder.",
        ));
    }
    if let Some(n) = names.first() {
        return match all.into_iter().find(|r| &r.name == n) {
            Some(r) => Ok(vec![r]),
            None => Err(no_such_recorder(n)),
        };
    }
    if let Some(p) = principal {
        if !KNOWN_PRINCIPALS.contains(&p) {
            return Err(validation(
                "You have provided a service principal for service-linked configuration recorder that is not valid.",
            ));
        }
        return match all
            .into_iter()
            .find(|r| r.service_principal.as_deref() == Some(p))
        {
            Some(r) => Ok(vec![r]),
            None => Err(no_such_recorder(p)),
        };
    }
    if let Some(a) = by_arn {
        return match all.into_iter().find(|r| r.arn == a) {
            Some(r) => Ok(vec![r]),
            None => Err(no_such_recorder(a)),
        };
    }
    Ok(all
        .into_iter()
        .filter(|r| r.service_principal.is_none())
        .collect())
}

fn recorders(world: &World, call: &Call, status: bool) -> Answer {
    let selected = selected(world, call)?;
    if status {
        let list: Vec<Value> = selected.into_iter().map(|r| r.status).collect();
        return Ok(json_ok(
            call.protocol,
            &json!({ "ConfigurationRecordersStatus": list }),
        ));
    }
    let list: Vec<Value> = selected
        .into_iter()
        .map(|r| {
            let mut o = json!({
                "arn": r.arn,
                "name": r.name,
                "roleARN": format!("arn:aws:iam::{}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig", call.account),
                "recordingScope": r.recording_scope,
            });
            match &r.service_principal {
                Some(p) => {
                    // Set by the linked service ("The configuration recorder's name,
                    // recordingGroup, recordingMode, and recordingScope is set by the service
                    // that is linked to the configuration recorder").
                    o["servicePrincipal"] = json!(p);
                    o["recordingGroup"] = json!({
                        "allSupported": false,
                        "includeGlobalResourceTypes": false,
                        "resourceTypes": ["AWS::Config::ResourceCompliance"],
                        "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"},
                    });
                    o["recordingMode"] = json!({"recordingFrequency": "CONTINUOUS"});
                }
                None => {
                    let g = world.recording_group(&call.account, &call.region);
                    let mut group = json!({
                        "allSupported": g.strategy == "ALL_SUPPORTED_RESOURCE_TYPES",
                        "includeGlobalResourceTypes": g.include_global,
                        "recordingStrategy": {"useOnly": g.strategy},
                    });
                    match g.strategy {
                        "INCLUSION_BY_RESOURCE_TYPES" => {
                            group["resourceTypes"] = json!(g.resource_types);
                        }
                        "EXCLUSION_BY_RESOURCE_TYPES" => {
                            group["exclusionByResourceTypes"] =
                                json!({"resourceTypes": g.resource_types});
                        }
                        _ => {}
                    }
                    o["recordingGroup"] = group;
                    o["recordingMode"] = json!({"recordingFrequency": g.frequency});
                }
            }
            o
        })
        .collect();
    Ok(json_ok(
        call.protocol,
        &json!({ "ConfigurationRecorders": list }),
    ))
}

/// The offset a request's `NextToken` continues from (0 without one); a token the simulator
/// did not issue is refused with `code`, the error the operation's model lists for it.
fn offset(call: &Call, scope: &str, code: &str) -> Result<usize, AwsError> {
    match call.json.get("NextToken").and_then(Value::as_str) {
        None | Some("") => Ok(0),
        Some(t) => parse_token(scope, t)
            .ok_or_else(|| AwsError::client(code, "The nextToken provided is invalid")),
    }
}

/// A page size member in `0..=max` (range checked by the constraints table), 0 or absent
/// meaning `default`.
fn page_size(call: &Call, member: &str, default: usize) -> usize {
    match call.json.get(member).and_then(Value::as_u64) {
        None | Some(0) => default,
        Some(n) => n as usize,
    }
}

/// `items[offset..offset + size]` under `key`, with a `NextToken` when more follow.
fn page(items: Vec<Value>, key: &str, scope: &str, start: usize, size: usize) -> Value {
    let end = start.saturating_add(size).min(items.len());
    let mut out = json!({ key: items.get(start.min(end)..end).unwrap_or_default() });
    if end < items.len() {
        out["NextToken"] = json!(next_token(scope, end));
    }
    out
}

/// ListConfigurationRecorders: every recorder, filtered by `recordingScope` ("Currently, only
/// `recordingScope` is supported"; values `INTERNAL` and `PAID`), `MaxResults` a page.
fn list_recorders(world: &World, call: &Call) -> Answer {
    let mut scopes: Option<Vec<String>> = None;
    for f in call
        .json
        .get("Filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let values: Vec<String> = f
            .get("filterValue")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        scopes.get_or_insert_with(Vec::new).extend(values);
    }
    let items: Vec<Value> = all_recorders(world, call)
        .into_iter()
        .filter(|r| {
            scopes
                .as_ref()
                .is_none_or(|s| s.iter().any(|v| v == r.recording_scope))
        })
        .map(|r| {
            let mut o = json!({
                "arn": r.arn,
                "name": r.name,
                "recordingScope": r.recording_scope,
            });
            if let Some(p) = r.service_principal {
                o["servicePrincipal"] = json!(p);
            }
            o
        })
        .collect();
    let size = page_size(call, "MaxResults", RECORDERS_PAGE);
    let scope = format!(
        "ListConfigurationRecorders|{}|{}|{:?}|{size}",
        call.account, call.region, scopes
    );
    // The model lists only ValidationException for ListConfigurationRecorders.
    let start = offset(call, &scope, "ValidationException")?;
    Ok(json_ok(
        call.protocol,
        &page(items, "ConfigurationRecorderSummaries", &scope, start, size),
    ))
}

fn export_info(d: &Delivery) -> Value {
    let mut o = json!({ "lastStatus": d.status, "lastAttemptTime": d.last_attempt });
    if let Some(t) = d.last_success {
        o["lastSuccessfulTime"] = json!(t);
    }
    if let Some(c) = d.error_code {
        o["lastErrorCode"] = json!(c);
    }
    if let Some(m) = d.error_message {
        o["lastErrorMessage"] = json!(m);
    }
    o
}

fn stream_info(d: &Delivery) -> Value {
    let mut o = json!({ "lastStatus": d.status, "lastStatusChangeTime": d.last_attempt });
    if let Some(c) = d.error_code {
        o["lastErrorCode"] = json!(c);
    }
    if let Some(m) = d.error_message {
        o["lastErrorMessage"] = json!(m);
    }
    o
}

/// DescribeDeliveryChannelStatus: "If a delivery channel is not specified, this operation
/// returns the current status of all delivery channels associated with the account"; a name
/// that does not exist is `NoSuchDeliveryChannelException`. Not paginated.
fn delivery_status(world: &World, call: &Call) -> Answer {
    let all = world.delivery_channels(&call.account, &call.region);
    let names: Option<Vec<&str>> = call
        .json
        .get("DeliveryChannelNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    if let Some(bad) = names
        .iter()
        .flatten()
        .find(|n| !all.iter().any(|c| c.name == **n))
    {
        return Err(AwsError::client(
            "NoSuchDeliveryChannelException",
            format!("Cannot find delivery channel with specified name '{bad}'."),
        ));
    }
    let list: Vec<Value> = all
        .iter()
        .filter(|c| names.as_ref().is_none_or(|n| n.contains(&c.name.as_str())))
        .map(|c| {
            json!({
                "name": c.name,
                "configHistoryDeliveryInfo": export_info(&c.history),
                "configSnapshotDeliveryInfo": export_info(&c.snapshot),
                "configStreamDeliveryInfo": stream_info(&c.stream),
            })
        })
        .collect();
    Ok(json_ok(
        call.protocol,
        &json!({ "DeliveryChannelsStatus": list }),
    ))
}

/// DescribeConfigRuleEvaluationStatus: the rules of the account and region (all of them, or
/// the `ConfigRuleNames`, at most 25 by the model), `Limit` a page (0..=50 by the model), by
/// `NextToken`; a name that does not exist is `NoSuchConfigRuleException`.
fn evaluation_status(world: &World, call: &Call) -> Answer {
    let here = world.account(&call.account).is_some() && world.region_index(&call.region).is_some();
    let all: Vec<String> = if here {
        (0..world.opts.compliance.rules).map(rule_name).collect()
    } else {
        Vec::new()
    };
    let names: Vec<String> = call
        .json
        .get("ConfigRuleNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = names.iter().find(|n| !all.contains(n)) {
        return Err(AwsError::client(
            "NoSuchConfigRuleException",
            format!("The ConfigRule '{bad}' provided in the request is invalid. Please check the configRule name."),
        ));
    }
    let items: Vec<Value> = world
        .rule_evaluations(&call.account, &call.region, &all)
        .into_iter()
        .filter(|e| names.is_empty() || names.contains(&e.rule))
        .map(|e| {
            let mut o = json!({
                "ConfigRuleName": e.rule,
                "ConfigRuleArn": format!("arn:aws:config:{}:{}:config-rule/config-rule-{:06x}", call.region, call.account, fnv(&e.rule) & 0xff_ffff),
                "ConfigRuleId": format!("config-rule-{:06x}", fnv(&e.rule) & 0xff_ffff),
                "FirstActivatedTime": e.first_activated,
                "FirstEvaluationStarted": e.last_success.is_some() || e.last_failure.is_some(),
            });
            if let Some(t) = e.last_success {
                o["LastSuccessfulEvaluationTime"] = json!(t);
                o["LastSuccessfulInvocationTime"] = json!(t);
            }
            if let Some(t) = e.last_failure {
                o["LastFailedEvaluationTime"] = json!(t);
                o["LastFailedInvocationTime"] = json!(t);
            }
            if let Some(c) = e.error_code {
                o["LastErrorCode"] = json!(c);
            }
            if let Some(m) = e.error_message {
                o["LastErrorMessage"] = json!(m);
            }
            o
        })
        .collect();
    let size = page_size(call, "Limit", EVALUATIONS_PAGE);
    let scope = format!(
        "DescribeConfigRuleEvaluationStatus|{}|{}|{}|{size}",
        call.account,
        call.region,
        names.join(",")
    );
    let start = offset(call, &scope, "InvalidNextTokenException")?;
    Ok(json_ok(
        call.protocol,
        &page(items, "ConfigRulesEvaluationStatus", &scope, start, size),
    ))
}
