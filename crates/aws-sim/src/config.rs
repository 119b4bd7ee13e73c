//! AWS Config in the awsJson1_1 protocol (`StarlingDoveService.*`).

use serde_json::{json, Value};

use crate::call::{Answer, Call};
use crate::wire::{fnv, json_ok, AwsError};
use crate::world::World;

/// Handles one Config call.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    match call.op.as_str() {
        "DescribeConfigurationRecorders" => recorders(world, call, false),
        "DescribeConfigurationRecorderStatus" => recorders(world, call, true),
        _ => match crate::config_compliance::handle(world, call) {
            Some(answer) => answer,
            None => crate::config_org::handle(world, call),
        },
    }
}

fn recorders(world: &World, call: &Call, status: bool) -> Answer {
    let all = world.recorders(&call.account, &call.region);
    let wanted: Option<Vec<String>> = call
        .json
        .get("ConfigurationRecorderNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        });
    if let Some(names) = &wanted {
        for n in names {
            if !all.iter().any(|r| &r.name == n) {
                return Err(AwsError::client(
                    "NoSuchConfigurationRecorderException",
                    format!("Cannot find configuration recorder with the specified name '{n}'."),
                ));
            }
        }
    }
    let selected = all
        .iter()
        .filter(|r| wanted.as_ref().is_none_or(|w| w.contains(&r.name)));
    let arn = |name: &str| {
        format!(
            "arn:aws:config:{}:{}:configuration-recorder/{name}/{:08x}",
            call.region,
            call.account,
            fnv(name) & 0xffff_ffff
        )
    };
    if status {
        let list: Vec<Value> = selected
            .map(|r| {
                let mut o = json!({
                    "arn": arn(&r.name),
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
                o
            })
            .collect();
        Ok(json_ok(
            call.protocol,
            &json!({ "ConfigurationRecordersStatus": list }),
        ))
    } else {
        let list: Vec<Value> = selected
            .map(|r| {
                json!({
                    "arn": arn(&r.name),
                    "name": r.name,
                    "roleARN": format!("arn:aws:iam::{}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig", call.account),
                    "recordingGroup": {"allSupported": true, "includeGlobalResourceTypes": r.name == "default"},
                    "recordingMode": {"recordingFrequency": "CONTINUOUS"},
                })
            })
            .collect();
        Ok(json_ok(
            call.protocol,
            &json!({ "ConfigurationRecorders": list }),
        ))
    }
}
