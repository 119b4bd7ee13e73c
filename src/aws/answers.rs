//! Answers checked against their raw bodies, for the two ways a broken answer would otherwise
//! pass as a good one.
//!
//! - The SDK's error correction fills a required member that an answer left out with a default:
//!   a missing list becomes empty, a missing string `""`. A ListDetectors answer without
//!   `detectorIds` would read as "GuardDuty is off" and page someone. For every member the
//!   exporter reads and AWS's service model marks required, the operation's row in the services
//!   table (`services.rs`) names it (`requires`, `each`), and an answer without it is refused.
//! - The awsQuery XML parser (IAM, STS) accepts a document cut short as a shorter, complete one.
//!   A 2xx answer of a service whose entry says `protocol: aws_query` must end with the closing
//!   element of its `<Operation>Response>`.
//!
//! A refused answer becomes the SDK's response error (kind `malformed_response`), retried like a
//! body broken in transit, counted as an `error` attempt, and the job keeps its last values.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::table::{Protocol, Service, OPERATIONS};

/// Why an answer was refused.
#[derive(Debug, thiserror::Error)]
#[error("malformed answer to {operation}: {reason}")]
pub struct MalformedAnswer {
    /// The operation answered.
    pub operation: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Checks one 2xx answer of `operation` of `service`.
pub fn check(service: Service, operation: &str, body: &[u8]) -> Result<(), MalformedAnswer> {
    let refuse = |reason: String| MalformedAnswer {
        operation: operation.to_string(),
        reason,
    };
    if service.protocol() == Protocol::AwsQuery {
        let closing = format!("</{operation}Response>");
        let end = body
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(&body[..0], |i| &body[..=i]);
        if !end.ends_with(closing.as_bytes()) {
            return Err(refuse(format!(
                "the XML document does not end with {closing}: cut short after {} bytes",
                body.len()
            )));
        }
        return Ok(());
    }
    let Some(row) = OPERATIONS
        .iter()
        .find(|o| o.service == service && o.name == operation)
    else {
        return Ok(());
    };
    if row.required.is_empty() && row.entries.is_empty() {
        return Ok(());
    }
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| refuse(format!("the JSON body does not parse: {e}")))?;
    for m in row.required {
        if v.get(m).is_none_or(serde_json::Value::is_null) {
            return Err(refuse(format!("it lacks its required member {m}")));
        }
    }
    for (list, members) in row.entries {
        let Some(entries) = v.get(list).and_then(serde_json::Value::as_array) else {
            continue;
        };
        for (i, e) in entries.iter().enumerate() {
            for m in *members {
                if e.get(m).is_none_or(serde_json::Value::is_null) {
                    return Err(refuse(format!("{list}[{i}] lacks its required member {m}")));
                }
            }
        }
    }
    Ok(())
}

/// The interceptor that applies [`check`] to every 2xx answer the SDK parsed as a success: one
/// per service client, so it knows its service.
#[derive(Debug, Clone)]
pub struct CheckAnswers {
    service: Service,
}

impl CheckAnswers {
    /// The check of the answers of `service`'s client.
    pub fn new(service: Service) -> Self {
        CheckAnswers { service }
    }
}

impl Intercept for CheckAnswers {
    fn name(&self) -> &'static str {
        "CheckAnswers"
    }

    // After deserialization: before it the body is still a stream; an error returned here
    // replaces the parsed output.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let resp = context.response();
        if !resp.status().is_success() || context.output_or_error().is_err() {
            return Ok(());
        }
        let (Some(meta), Some(body)) = (cfg.load::<Metadata>(), resp.body().bytes()) else {
            return Ok(());
        };
        check(self.service, meta.name(), body).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_required_member_is_refused_and_a_present_one_passes() {
        assert!(check(
            Service::GuardDuty,
            "ListDetectors",
            br#"{"detectorIds":[]}"#
        )
        .is_ok());
        let e = check(
            Service::GuardDuty,
            "ListDetectors",
            br#"{"nextToken":null}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed answer to ListDetectors: it lacks its required member detectorIds"
        );
        assert!(check(
            Service::Config,
            "DescribeOrganizationConfigRuleStatuses",
            br#"{"OrganizationConfigRuleStatuses":[{"OrganizationConfigRuleName":"r","OrganizationRuleStatus":"CREATE_FAILED"}]}"#
        )
        .is_ok());
        let e = check(
            Service::Config,
            "DescribeOrganizationConfigRuleStatuses",
            br#"{"OrganizationConfigRuleStatuses":[{"OrganizationConfigRuleName":"r","OrganizationRuleStatus":"CREATE_FAILED"},{"OrganizationRuleStatus":"CREATE_FAILED"}]}"#,
        )
        .unwrap_err();
        assert!(e.reason.contains("OrganizationConfigRuleStatuses[1] lacks its required member OrganizationConfigRuleName"), "{e}");
        // An operation without required members the exporter reads is not parsed at all.
        assert!(check(
            Service::Config,
            "DescribeConfigurationRecorders",
            b"not json"
        )
        .is_ok());
    }

    #[test]
    fn an_xml_answer_cut_short_is_refused() {
        let whole = b"<GetOrganizationsAccessReportResponse xmlns=\"x\"><GetOrganizationsAccessReportResult><JobStatus>COMPLETED</JobStatus></GetOrganizationsAccessReportResult></GetOrganizationsAccessReportResponse>\n";
        assert!(check(Service::Iam, "GetOrganizationsAccessReport", whole).is_ok());
        let cut = &whole[..whole.len() / 2];
        let e = check(Service::Iam, "GetOrganizationsAccessReport", cut).unwrap_err();
        assert!(e.reason.contains("cut short"), "{e}");
        // Well-formed XML that closes another element is no answer to this operation either.
        assert!(check(
            Service::Sts,
            "GetCallerIdentity",
            b"<GetCallerIdentityResponse><GetCallerIdentityResult></GetCallerIdentityResult>"
        )
        .is_err());
    }
}
