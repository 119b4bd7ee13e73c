//! STS in the awsQuery protocol: GetCallerIdentity and AssumeRole.

use http::StatusCode;

use crate::call::{Answer, Call};
use crate::wire::{fnv, iso8601, query_ok, role_arn_account, xml_escape, AwsError};
use crate::world::World;

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Handles one STS call.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    match call.op.as_str() {
        "GetCallerIdentity" => {
            let prefix = &call.account[..6.min(call.account.len())];
            // Assumed-role credentials answer with the session their AssumeRole named, as AWS's
            // do: `assumed-role/<role>/<session>` and the role id `AROA...:<session>`.
            let (arn, user_id) = if call.access_key.starts_with("ASIA") {
                let session = world
                    .notes
                    .get(&session_note(&call.access_key))
                    .map(String::as_str)
                    .unwrap_or("posture-exporter");
                (
                    format!(
                        "arn:aws:sts::{}:assumed-role/{}/{session}",
                        call.account, world.opts.role_name
                    ),
                    format!("AROAEXAMPLE{prefix}:{session}"),
                )
            } else {
                (
                    format!("arn:aws:iam::{}:user/posture-exporter", call.account),
                    format!("AIDAEXAMPLE{prefix}"),
                )
            };
            let inner = format!(
                "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
                xml_escape(&arn),
                xml_escape(&user_id),
                call.account
            );
            Ok(query_ok(XMLNS, "GetCallerIdentity", &inner))
        }
        "AssumeRole" => assume_role(world, call),
        other => Err(AwsError::client(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

/// The key of [`World::notes`] that remembers the session name of an issued access key (keys
/// are a function of account and session, so there is one note per pair ever used).
fn session_note(access_key: &str) -> String {
    format!("sts-session/{access_key}")
}

fn assume_role(world: &mut World, call: &Call) -> Answer {
    let arn = call.param("RoleArn").unwrap_or_default();
    let session = call.param("RoleSessionName").unwrap_or_default();
    if arn.len() < 20 {
        return Err(AwsError::client(
            "ValidationError",
            "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
        ));
    }
    if session.len() < 2 || session.len() > 64 {
        return Err(AwsError::client(
            "ValidationError",
            "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64",
        ));
    }
    if let Some(d) = call.param("DurationSeconds") {
        let ok = d
            .parse::<i64>()
            .map(|d| (900..=43_200).contains(&d))
            .unwrap_or(false);
        if !ok {
            return Err(AwsError::client(
                "ValidationError",
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint",
            ));
        }
    }
    let denied = || {
        AwsError::status(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            format!(
                "User: arn:aws:iam::{}:user/posture-exporter is not authorized to perform: sts:AssumeRole on resource: {arn}",
                call.account
            ),
        )
    };
    let account = match role_arn_account(arn) {
        Some(a) => a.to_string(),
        None => return Err(denied()),
    };
    let role_name = arn.rsplit('/').next().unwrap_or_default();
    if world.account(&account).is_none()
        || role_name != world.opts.role_name
        || world.assume_role_denied.contains(&account)
    {
        return Err(denied());
    }
    let suffix = format!("{:04X}", fnv(&format!("{account}{session}")) & 0xffff);
    let key = format!("ASIA{account}{suffix}");
    world.notes.insert(session_note(&key), session.to_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let duration: f64 = call
        .param("DurationSeconds")
        .and_then(|d| d.parse().ok())
        .unwrap_or(3600.0);
    let inner = format!(
        "    <Credentials>\n      <AccessKeyId>{key}</AccessKeyId>\n      <SecretAccessKey>simulated-secret-{account}</SecretAccessKey>\n      <SessionToken>simulated-session-token-{account}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n    <AssumedRoleUser>\n      <AssumedRoleId>AROAEXAMPLE{}:{}</AssumedRoleId>\n      <Arn>arn:aws:sts::{account}:assumed-role/{}/{}</Arn>\n    </AssumedRoleUser>\n    <PackedPolicySize>0</PackedPolicySize>\n",
        iso8601((now + duration).floor()),
        &account[..6],
        xml_escape(session),
        xml_escape(role_name),
        xml_escape(session),
    );
    Ok(query_ok(XMLNS, "AssumeRole", &inner))
}
