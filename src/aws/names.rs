//! The names of the operations the exporter sends, as `'static` strings for the call counter's
//! labels (counting an attempt then allocates nothing). The list is the operations table of
//! `call.rs` (a test there keeps the two equal) plus AssumeRole, which the credentials provider
//! sends outside it. It is a module of its own because the call counter sits below the call path.

/// Every operation of the operations table.
pub const OPERATION_NAMES: &[&str] = &[
    "DescribeConfigurationRecorders",
    "DescribeConfigurationRecorderStatus",
    "DescribeOrganizationConfigRuleStatuses",
    "DescribeOrganizationConfigRules",
    "GetOrganizationConfigRuleDetailedStatus",
    "DescribeConfigurationAggregators",
    "DescribeConfigurationAggregatorSourcesStatus",
    "DescribeAggregateComplianceByConfigRules",
    "DescribeAggregateComplianceByConformancePacks",
    "DescribeComplianceByConfigRule",
    "DescribeConformancePacks",
    "GetConformancePackComplianceSummary",
    "DescribeConformancePackCompliance",
    "DescribeOrganizationConformancePackStatuses",
    "DescribeOrganizationConformancePacks",
    "GetOrganizationConformancePackDetailedStatus",
    "ListDetectors",
    "GetDetector",
    "GetFindingsStatistics",
    "ListMembers",
    "GetAdministratorAccount",
    "GetMemberDetectors",
    "DescribeOrganizationConfiguration",
    "GetOrganizationStatistics",
    "GetCoverageStatistics",
    "ListThreatIntelSets",
    "GetThreatIntelSet",
    "ListIPSets",
    "GetIPSet",
    "ListFilters",
    "GetFilter",
    "GetInvitationsCount",
    "ListInvitations",
    "GenerateOrganizationsAccessReport",
    "GetOrganizationsAccessReport",
    "ListAccounts",
    "ListAccountsForParent",
    "ListOrganizationalUnitsForParent",
    "GetCallerIdentity",
];

/// Operations sent outside the operations table (by the credentials provider).
pub const OTHER_OPERATIONS: &[&str] = &["AssumeRole"];
