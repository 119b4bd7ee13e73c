//! SDK calls of `security_hub`; the only place its SDK types appear. Both generations: the new
//! Security Hub's GetFindingStatisticsV2 (OCSF) and Security Hub CSPM's ASFF operations.
//!
//! What shapes the calls, from the service model:
//! - GetFindingStatisticsV2: "It can accept up to 5 groupBy fields in a single call"
//!   (`GroupByRules`), each rule with its own filters; `MaxStatisticResults` is 1 to 400 and the
//!   answer does not page. `Scopes` is omitted: "If you omit it, the delegated administrator
//!   sees statistics from all accounts across the entire organization."
//! - GetFindings: `MaxResults` 1 to 100; "If cross-Region aggregation is enabled, then when you
//!   call GetFindings from the home Region, the results include all of the matching findings
//!   from both the home Region and linked Regions", so every query filters on `Region`.

use std::collections::BTreeMap;

use aws_sdk_securityhub::types::{
    AllowedOperators, AssociationFilters, AwsSecurityFindingFilters, CompositeFilter,
    ConfigurationPolicyAssociationStatus, GroupByField, GroupByRule, OcsfFindingFilters,
    OcsfStringField, OcsfStringFilter, StringFilter, StringFilterComparison,
};

use crate::aws::{CollectError, ErrorKind, RegionClients};

/// Most rules GetFindingStatisticsV2 takes in one call: "It can accept up to 5 groupBy fields
/// in a single call."
pub const RULES_PER_CALL: usize = 5;

/// GetFindings' largest page (the model's `MaxResults`: 1 to 100).
pub const FINDINGS_PAGE: i32 = 100;

/// How a condition compares (the model's `StringFilterComparison`, the two used here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cmp {
    /// `EQUALS`.
    Equals,
    /// `PREFIX`.
    Prefix,
    /// `PREFIX_NOT_EQUALS`: the value does not start with this.
    PrefixNot,
}

/// One OCSF string condition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cond {
    /// The OCSF field (`compliance.status`, ...).
    pub field: &'static str,
    /// How it compares.
    pub cmp: Cmp,
    /// The value, case sensitive.
    pub value: String,
}

impl Cond {
    /// `field EQUALS value`.
    pub fn eq(field: &'static str, value: impl Into<String>) -> Cond {
        Cond {
            field,
            cmp: Cmp::Equals,
            value: value.into(),
        }
    }
}

/// One statistics rule: findings matching every condition of `all` and one of each list of
/// `any`, grouped by `group_by`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Query {
    /// The OCSF field grouped by.
    pub group_by: &'static str,
    /// Conditions that must all hold.
    pub all: Vec<Cond>,
    /// Lists of conditions of which one must hold, each list.
    pub any: Vec<Vec<Cond>>,
}

/// The groups of one rule: (field value, findings), as AWS answered them.
pub type Groups = Vec<(String, i64)>;

fn string_filter(c: &Cond) -> OcsfStringFilter {
    OcsfStringFilter::builder()
        .field_name(OcsfStringField::from(c.field))
        .filter(
            StringFilter::builder()
                .value(c.value.clone())
                .comparison(match c.cmp {
                    Cmp::Equals => StringFilterComparison::Equals,
                    Cmp::Prefix => StringFilterComparison::Prefix,
                    Cmp::PrefixNot => StringFilterComparison::PrefixNotEquals,
                })
                .build(),
        )
        .build()
}

fn rule(q: &Query) -> GroupByRule {
    let mut filters = OcsfFindingFilters::builder().composite_operator(AllowedOperators::And);
    if !q.all.is_empty() {
        let mut all = CompositeFilter::builder().operator(AllowedOperators::And);
        for c in &q.all {
            all = all.string_filters(string_filter(c));
        }
        filters = filters.composite_filters(all.build());
    }
    for list in &q.any {
        let mut any = CompositeFilter::builder().operator(AllowedOperators::Or);
        for c in list {
            any = any.string_filters(string_filter(c));
        }
        filters = filters.composite_filters(any.build());
    }
    GroupByRule::builder()
        .group_by_field(GroupByField::from(q.group_by))
        .filters(filters.build())
        .build()
}

/// DescribeSecurityHubV2: `Ok(true)` where the new Security Hub is on, `Ok(false)` where AWS
/// answers ResourceNotFoundException (it is not enabled in the region).
pub async fn hub_v2(c: &RegionClients) -> Result<bool, CollectError> {
    match c.securityhub(|s| s.describe_security_hub_v2()).await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(false),
        Err(e) => Err(e),
    }
}

/// GetFindingStatisticsV2 for `queries`, five a call: the groups of each, in order.
pub async fn statistics(
    c: &RegionClients,
    queries: &[Query],
    max_results: i32,
) -> Result<Vec<Groups>, CollectError> {
    let mut out = Vec::with_capacity(queries.len());
    for chunk in queries.chunks(RULES_PER_CALL) {
        let answer = c
            .securityhub(|s| {
                let mut b = s
                    .get_finding_statistics_v2()
                    .max_statistic_results(max_results);
                for q in chunk {
                    b = b.group_by_rules(rule(q));
                }
                b
            })
            .await?;
        let results = answer.group_by_results();
        if results.len() != chunk.len() {
            return Err(CollectError::new(
                "GetFindingStatisticsV2",
                &c.account_id,
                &c.region,
                ErrorKind::Malformed,
                format!(
                    "{} GroupByResults for {} GroupByRules",
                    results.len(),
                    chunk.len()
                ),
            ));
        }
        for r in results {
            out.push(
                r.group_by_values()
                    .iter()
                    .filter_map(|v| {
                        Some((
                            v.field_value()?.to_string(),
                            i64::from(v.count().unwrap_or(0)),
                        ))
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// DescribeHub: `Ok(true)` where Security Hub CSPM is on, `Ok(false)` where AWS answers
/// InvalidAccessException ("The account doesn't have permission to perform this action.", the
/// answer of an account that is not subscribed).
pub async fn hub(c: &RegionClients) -> Result<bool, CollectError> {
    match c.securityhub(|s| s.describe_hub()).await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("InvalidAccessException") => Ok(false),
        Err(e) => Err(e),
    }
}

/// A standards subscription of the administrator.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// The standard: the resource portion of its ARN (`standards/pci-dss/v/3.2.1`).
    pub standard: String,
    /// PENDING, READY, FAILED, DELETING or INCOMPLETE, raw spelling.
    pub status: String,
    /// The `StatusReasonCode` of a FAILED or INCOMPLETE subscription, empty otherwise.
    pub reason: String,
}

/// The resource portion of a standards ARN: what follows the fifth colon
/// (`arn:aws:securityhub:us-east-1::standards/x/v/1` and `arn:aws:securityhub:::ruleset/...`
/// both), the spelling ASFF findings and OCSF `compliance.standards` use.
pub fn standard_id(arn: &str) -> String {
    arn.splitn(6, ':').nth(5).unwrap_or(arn).to_string()
}

/// GetEnabledStandards of the calling account, every page.
pub async fn enabled_standards(c: &RegionClients) -> Result<Vec<Subscription>, CollectError> {
    c.securityhub(|s| s.get_enabled_standards().max_results(100))
        .all_pages(|out| {
            Ok(out
                .standards_subscriptions()
                .iter()
                .map(|s| Subscription {
                    standard: standard_id(s.standards_arn().unwrap_or_default()),
                    status: s
                        .standards_status()
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_default(),
                    reason: s
                        .standards_status_reason()
                        .and_then(|r| r.status_reason_code())
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_default(),
                })
                .collect())
        })
        .await
}

/// A member of the administrator: account id and `MemberStatus`, raw spelling.
pub type Member = (String, String);

/// ListMembers, every member whatever its status (`OnlyAssociated` false), every page.
pub async fn members(c: &RegionClients) -> Result<Vec<Member>, CollectError> {
    c.securityhub(|s| s.list_members().only_associated(false).max_results(50))
        .all_pages(|out| {
            Ok(out
                .members()
                .iter()
                .filter_map(|m| {
                    Some((
                        m.account_id()?.to_string(),
                        m.member_status().unwrap_or_default().to_string(),
                    ))
                })
                .collect())
        })
        .await
}

/// The organization's configuration: (ConfigurationType, Status, StatusMessage).
pub async fn org_configuration(
    c: &RegionClients,
) -> Result<(String, String, String), CollectError> {
    let out = c
        .securityhub(|s| s.describe_organization_configuration())
        .await?;
    let conf = out.organization_configuration();
    Ok((
        conf.and_then(|x| x.configuration_type())
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        conf.and_then(|x| x.status())
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        conf.and_then(|x| x.status_message())
            .unwrap_or_default()
            .to_string(),
    ))
}

/// A configuration policy association that FAILED: target id, target type, AWS's message.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedAssociation {
    /// Account id, OU id or root id.
    pub target_id: String,
    /// ACCOUNT, ORGANIZATIONAL_UNIT or ROOT.
    pub target_type: String,
    /// `AssociationStatusMessage`.
    pub message: String,
}

/// ListConfigurationPolicyAssociations filtered on `AssociationStatus` FAILED, every page.
pub async fn failed_associations(
    c: &RegionClients,
) -> Result<Vec<FailedAssociation>, CollectError> {
    c.securityhub(|s| {
        s.list_configuration_policy_associations()
            .max_results(100)
            .filters(
                AssociationFilters::builder()
                    .association_status(ConfigurationPolicyAssociationStatus::Failed)
                    .build(),
            )
    })
    .all_pages(|out| {
        Ok(out
            .configuration_policy_association_summaries()
            .iter()
            .map(|a| FailedAssociation {
                target_id: a.target_id().unwrap_or_default().to_string(),
                target_type: a
                    .target_type()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                message: a
                    .association_status_message()
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect())
    })
    .await
}

/// The most controls asked for in one BatchGetSecurityControls. The model states no limit on
/// `SecurityControlIds`; a hundred keeps a request small and matches the other batch and page
/// sizes of Security Hub.
pub const CONTROLS_PER_CALL: usize = 100;

/// The titles of `controls` (security control ids), from BatchGetSecurityControls, a hundred
/// a call. A control AWS does not answer for (`UnprocessedIds`) has no title.
pub async fn control_titles(
    c: &RegionClients,
    controls: &[String],
) -> Result<BTreeMap<String, String>, CollectError> {
    let mut out = BTreeMap::new();
    for chunk in controls.chunks(CONTROLS_PER_CALL) {
        let answer = c
            .securityhub(|s| {
                s.batch_get_security_controls()
                    .set_security_control_ids(Some(chunk.to_vec()))
            })
            .await?;
        // Both members are required by the model; a control answered without them has no title.
        for x in answer.security_controls() {
            if let (Some(id), Some(title)) = (x.security_control_id(), x.title()) {
                out.insert(id.to_string(), title.to_string());
            }
        }
    }
    Ok(out)
}

/// What the exporter reads of one ASFF finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `AwsAccountId`.
    pub account_id: String,
    /// `Severity.Label`.
    pub severity: String,
    /// `Compliance.SecurityControlId`, empty for findings that are not control results.
    pub control: String,
    /// `Compliance.AssociatedStandards[].StandardsId`.
    pub standards: Vec<String>,
    /// `Title`.
    pub title: String,
}

fn equals(v: &str) -> StringFilter {
    StringFilter::builder()
        .value(v)
        .comparison(StringFilterComparison::Equals)
        .build()
}

/// Which findings GetFindings reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FindingQuery<'a> {
    /// Failed control results: ComplianceStatus FAILED, ProductName "Security Hub CSPM" (the
    /// model: "the product name for control-based findings is Security Hub CSPM").
    FailedControls,
    /// Findings of these severity labels.
    Severities(&'a [String]),
}

/// GetFindings, every page, of active findings (RecordState ACTIVE, WorkflowStatus NEW or
/// NOTIFIED: suppressed and resolved ones are not counted) of the region called.
pub async fn findings(
    c: &RegionClients,
    what: FindingQuery<'_>,
) -> Result<Vec<Finding>, CollectError> {
    let mut f = AwsSecurityFindingFilters::builder()
        .region(equals(&c.region))
        .record_state(equals("ACTIVE"))
        .workflow_status(equals("NEW"))
        .workflow_status(equals("NOTIFIED"));
    match what {
        FindingQuery::FailedControls => {
            f = f
                .compliance_status(equals("FAILED"))
                .product_name(equals("Security Hub CSPM"));
        }
        FindingQuery::Severities(labels) => {
            for l in labels {
                f = f.severity_label(equals(l));
            }
        }
    }
    let filters = f.build();
    c.securityhub(|s| {
        s.get_findings()
            .filters(filters.clone())
            .max_results(FINDINGS_PAGE)
    })
    .all_pages(|out| {
        Ok(out
            .findings()
            .iter()
            .map(|x| {
                let comp = x.compliance();
                Finding {
                    account_id: x.aws_account_id().unwrap_or_default().to_string(),
                    severity: x
                        .severity()
                        .and_then(|s| s.label())
                        .map(|l| l.as_str().to_string())
                        .unwrap_or_default(),
                    control: comp
                        .and_then(|c| c.security_control_id())
                        .unwrap_or_default()
                        .to_string(),
                    standards: comp
                        .map(|c| {
                            c.associated_standards()
                                .iter()
                                .filter_map(|s| s.standards_id().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    title: x.title().unwrap_or_default().to_string(),
                }
            })
            .collect())
    })
    .await
}
