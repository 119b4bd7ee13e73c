//! Answers checked against their raw bodies, for the two ways a broken answer would otherwise
//! pass as a good one.
//!
//! - The SDK's error correction fills a required member that an answer left out with a default:
//!   a missing list becomes empty, a missing string `""`. A ListDetectors answer without
//!   `detectorIds` would read as "GuardDuty is off" and page someone. For every member the
//!   exporter reads and AWS's service model marks required, [`REQUIRED`] names it, and an answer
//!   without it is refused.
//! - The awsQuery XML parser (IAM, STS) accepts a document cut short as a shorter, complete one.
//!   A 2xx awsQuery answer must end with the closing element of its `<Operation>Response>`.
//!
//! A refused answer becomes the SDK's response error (kind `malformed_response`), retried like a
//! body broken in transit, counted as an `error` attempt, and the job keeps its last values.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// A list member of an answer and the members each of its entries must have.
pub type EntryMembers = (&'static str, &'static [&'static str]);
/// An operation, the top-level members its answer must have, and its list members' entries.
pub type Required = (
    &'static str,
    &'static [&'static str],
    &'static [EntryMembers],
);

/// Members that must be in a 2xx JSON answer: (operation, top-level members, and for a list
/// member, the members each of its entries must have). Only what the exporter reads; from the
/// `required` lists of the botocore service models.
pub const REQUIRED: &[Required] = &[
    (
        "DescribeOrganizationConfigRuleStatuses",
        &[],
        &[(
            "OrganizationConfigRuleStatuses",
            &["OrganizationConfigRuleName", "OrganizationRuleStatus"],
        )],
    ),
    (
        "DescribeOrganizationConfigRules",
        &[],
        &[("OrganizationConfigRules", &["OrganizationConfigRuleName"])],
    ),
    (
        "GetOrganizationConfigRuleDetailedStatus",
        &[],
        &[(
            "OrganizationConfigRuleDetailedStatus",
            &["AccountId", "MemberAccountRuleStatus"],
        )],
    ),
    (
        "DescribeConformancePacks",
        &[],
        &[("ConformancePackDetails", &["ConformancePackName"])],
    ),
    (
        "GetConformancePackComplianceSummary",
        &[],
        &[(
            "ConformancePackComplianceSummaryList",
            &["ConformancePackName", "ConformancePackComplianceStatus"],
        )],
    ),
    (
        "DescribeConformancePackCompliance",
        &["ConformancePackRuleComplianceList"],
        &[],
    ),
    (
        "DescribeOrganizationConformancePackStatuses",
        &[],
        &[(
            "OrganizationConformancePackStatuses",
            &["OrganizationConformancePackName", "Status"],
        )],
    ),
    (
        "DescribeOrganizationConformancePacks",
        &[],
        &[(
            "OrganizationConformancePacks",
            &["OrganizationConformancePackName", "LastUpdateTime"],
        )],
    ),
    (
        "GetOrganizationConformancePackDetailedStatus",
        &[],
        &[(
            "OrganizationConformancePackDetailedStatuses",
            &["AccountId", "Status"],
        )],
    ),
    ("ListDetectors", &["detectorIds"], &[]),
    ("GetDetector", &["status"], &[]),
    ("GetFindingsStatistics", &["findingStatistics"], &[]),
    (
        "ListMembers",
        &[],
        &[("members", &["accountId", "relationshipStatus"])],
    ),
    // Both lists are required: a missing `members` would read as "no member has a plan" and
    // a missing `unprocessedAccounts` would hide accounts AWS did not answer for.
    (
        "GetMemberDetectors",
        &["members", "unprocessedAccounts"],
        &[
            ("members", &["accountId"]),
            ("unprocessedAccounts", &["accountId", "result"]),
        ],
    ),
    (
        "DescribeOrganizationConfiguration",
        &["memberAccountLimitReached"],
        &[],
    ),
    ("ListThreatIntelSets", &["threatIntelSetIds"], &[]),
    ("GetThreatIntelSet", &["name", "status"], &[]),
    ("ListIPSets", &["ipSetIds"], &[]),
    ("GetIPSet", &["name", "status"], &[]),
    ("ListFilters", &["filterNames"], &[]),
    ("GetFilter", &["name", "action", "findingCriteria"], &[]),
];

/// Why an answer was refused.
#[derive(Debug, thiserror::Error)]
#[error("malformed answer to {operation}: {reason}")]
pub struct MalformedAnswer {
    /// The operation answered.
    pub operation: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Checks one 2xx answer of `operation` (service `service`, as the SDK names it).
pub fn check(service: &str, operation: &str, body: &[u8]) -> Result<(), MalformedAnswer> {
    let refuse = |reason: String| MalformedAnswer {
        operation: operation.to_string(),
        reason,
    };
    if matches!(service, "IAM" | "iam" | "STS" | "sts") {
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
    let Some((_, top, lists)) = REQUIRED.iter().find(|(op, _, _)| *op == operation) else {
        return Ok(());
    };
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| refuse(format!("the JSON body does not parse: {e}")))?;
    for m in *top {
        if v.get(m).is_none_or(serde_json::Value::is_null) {
            return Err(refuse(format!("it lacks its required member {m}")));
        }
    }
    for (list, members) in *lists {
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

/// The interceptor that applies [`check`] to every 2xx answer the SDK parsed as a success.
#[derive(Debug, Clone, Default)]
pub struct CheckAnswers;

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
        check(meta.service(), meta.name(), body).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_required_member_is_refused_and_a_present_one_passes() {
        assert!(check("GuardDuty", "ListDetectors", br#"{"detectorIds":[]}"#).is_ok());
        let e = check("GuardDuty", "ListDetectors", br#"{"nextToken":null}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed answer to ListDetectors: it lacks its required member detectorIds"
        );
        assert!(check(
            "Config Service",
            "DescribeOrganizationConfigRuleStatuses",
            br#"{"OrganizationConfigRuleStatuses":[{"OrganizationConfigRuleName":"r","OrganizationRuleStatus":"CREATE_FAILED"}]}"#
        )
        .is_ok());
        let e = check(
            "Config Service",
            "DescribeOrganizationConfigRuleStatuses",
            br#"{"OrganizationConfigRuleStatuses":[{"OrganizationConfigRuleName":"r","OrganizationRuleStatus":"CREATE_FAILED"},{"OrganizationRuleStatus":"CREATE_FAILED"}]}"#,
        )
        .unwrap_err();
        assert!(e.reason.contains("OrganizationConfigRuleStatuses[1] lacks its required member OrganizationConfigRuleName"), "{e}");
        // An operation without required members the exporter reads is not parsed at all.
        assert!(check(
            "Config Service",
            "DescribeConfigurationRecorders",
            b"not json"
        )
        .is_ok());
    }

    #[test]
    fn an_xml_answer_cut_short_is_refused() {
        let whole = b"<GetOrganizationsAccessReportResponse xmlns=\"x\"><GetOrganizationsAccessReportResult><JobStatus>COMPLETED</JobStatus></GetOrganizationsAccessReportResult></GetOrganizationsAccessReportResponse>\n";
        assert!(check("IAM", "GetOrganizationsAccessReport", whole).is_ok());
        let cut = &whole[..whole.len() / 2];
        let e = check("IAM", "GetOrganizationsAccessReport", cut).unwrap_err();
        assert!(e.reason.contains("cut short"), "{e}");
        // Well-formed XML that closes another element is no answer to this operation either.
        assert!(check(
            "STS",
            "GetCallerIdentity",
            b"<GetCallerIdentityResponse><GetCallerIdentityResult></GetCallerIdentityResult>"
        )
        .is_err());
    }
}
