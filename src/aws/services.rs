//! The AWS services the exporter calls and their operations: one entry per service, one row per
//! operation. Everything else about them is generated from this table: in `table.rs`, the
//! `Service` enum and its labels, the `aws.rate_limits` keys and their defaults, and every row as
//! data (`OPERATIONS`: the call counter's operation names, the members `answers` checks, the IAM
//! actions the policy test compares with `deploy/iam-policy.json`); in `call.rs`, the shared
//! clients, the call path's entry points (`c.config(...)`, `c.guardduty(...)`, ...) and an
//! `Operation` for every row.
//!
//! The table is a macro that hands its entries to the generator named in its invocation
//! (`services_table!(generator)`), so that the data (low in the module layers: the config and
//! the limiter read it) and the calls (above the clients, the counter and the answers check)
//! come from the same lines without the two layers importing each other.
//!
//! A service entry:
//!
//! ```text
//! /// Doc of the `Service` variant.
//! Variant {
//!     label: config,            // the metric label, `aws.rate_limits` key and client method
//!     name: "AWS Config",       // for people (docs)
//!     client: aws_sdk_config,   // the SDK crate (a dependency in Cargo.toml)
//!     iam_prefix: "config",     // `config:DescribeConfigurationRecorders`
//!     reach: regional,          // or `global`: rate-limited per account, not per region
//!     protocol: aws_json,       // or `rest_json`, `aws_query` (XML answers, checked whole)
//!     next_token: "NextToken",  // the pagination token's member, as the service spells it
//!     rate_limit: { rate: 5.0, burst: 10.0 },  // the default of `aws.rate_limits.<label>`
//! } operations { rows }
//! ```
//!
//! An operation row, `Name in sdk_method [paged]: FluentBuilder -> Output, Error`, then the
//! members a 2xx JSON answer must have, when the exporter reads them and AWS's service model
//! marks them required (the SDK's error correction would otherwise fill them with defaults: a
//! ListDetectors answer without `detectorIds` would read as "GuardDuty is off"):
//! `requires [topLevelMember, ...]` and, per list member, `each listMember [entryMember, ...]`.
//! `Name` is the SDK's operation type, so a name that is not an operation of the crate does not
//! compile. Where AWS authorizes an operation under another IAM action than its name, the row
//! says so after the method: `Name in sdk_method allowed_by Action: ...` (Security Hub's
//! GetFindingStatisticsV2 is allowed by `securityhub:GetAdhocInsightResults`). The policy test requires every row to be called somewhere in `src/` and allowed by
//! `deploy/iam-policy.json`, and the policy to allow nothing else.

macro_rules! services_table {
    ($then:ident) => {
        $then! {
            /// AWS Config.
            Config {
                label: config,
                name: "AWS Config",
                client: aws_sdk_config,
                iam_prefix: "config",
                reach: regional,
                protocol: aws_json,
                next_token: "NextToken",
                rate_limit: { rate: 5.0, burst: 10.0 },
            } operations {
                DescribeConfigurationRecorders in describe_configuration_recorders:
                    DescribeConfigurationRecordersFluentBuilder
                    -> DescribeConfigurationRecordersOutput, DescribeConfigurationRecordersError;
                DescribeConfigurationRecorderStatus in describe_configuration_recorder_status:
                    DescribeConfigurationRecorderStatusFluentBuilder
                    -> DescribeConfigurationRecorderStatusOutput,
                       DescribeConfigurationRecorderStatusError;
                ListConfigurationRecorders in list_configuration_recorders [paged]:
                    ListConfigurationRecordersFluentBuilder
                    -> ListConfigurationRecordersOutput, ListConfigurationRecordersError
                    requires [ConfigurationRecorderSummaries]
                    each ConfigurationRecorderSummaries [arn, name, recordingScope];
                DescribeDeliveryChannelStatus in describe_delivery_channel_status:
                    DescribeDeliveryChannelStatusFluentBuilder
                    -> DescribeDeliveryChannelStatusOutput, DescribeDeliveryChannelStatusError;
                DescribeConfigRuleEvaluationStatus in describe_config_rule_evaluation_status [paged]:
                    DescribeConfigRuleEvaluationStatusFluentBuilder
                    -> DescribeConfigRuleEvaluationStatusOutput,
                       DescribeConfigRuleEvaluationStatusError;
                DescribeOrganizationConfigRuleStatuses in describe_organization_config_rule_statuses [paged]:
                    DescribeOrganizationConfigRuleStatusesFluentBuilder
                    -> DescribeOrganizationConfigRuleStatusesOutput,
                       DescribeOrganizationConfigRuleStatusesError
                    each OrganizationConfigRuleStatuses
                        [OrganizationConfigRuleName, OrganizationRuleStatus];
                DescribeOrganizationConfigRules in describe_organization_config_rules [paged]:
                    DescribeOrganizationConfigRulesFluentBuilder
                    -> DescribeOrganizationConfigRulesOutput, DescribeOrganizationConfigRulesError
                    each OrganizationConfigRules [OrganizationConfigRuleName];
                GetOrganizationConfigRuleDetailedStatus in get_organization_config_rule_detailed_status [paged]:
                    GetOrganizationConfigRuleDetailedStatusFluentBuilder
                    -> GetOrganizationConfigRuleDetailedStatusOutput,
                       GetOrganizationConfigRuleDetailedStatusError
                    each OrganizationConfigRuleDetailedStatus [AccountId, MemberAccountRuleStatus];
                DescribeConfigurationAggregators in describe_configuration_aggregators [paged]:
                    DescribeConfigurationAggregatorsFluentBuilder
                    -> DescribeConfigurationAggregatorsOutput,
                       DescribeConfigurationAggregatorsError;
                DescribeConfigurationAggregatorSourcesStatus in describe_configuration_aggregator_sources_status [paged]:
                    DescribeConfigurationAggregatorSourcesStatusFluentBuilder
                    -> DescribeConfigurationAggregatorSourcesStatusOutput,
                       DescribeConfigurationAggregatorSourcesStatusError;
                DescribeAggregateComplianceByConfigRules in describe_aggregate_compliance_by_config_rules [paged]:
                    DescribeAggregateComplianceByConfigRulesFluentBuilder
                    -> DescribeAggregateComplianceByConfigRulesOutput,
                       DescribeAggregateComplianceByConfigRulesError;
                DescribeAggregateComplianceByConformancePacks in describe_aggregate_compliance_by_conformance_packs [paged]:
                    DescribeAggregateComplianceByConformancePacksFluentBuilder
                    -> DescribeAggregateComplianceByConformancePacksOutput,
                       DescribeAggregateComplianceByConformancePacksError;
                DescribeComplianceByConfigRule in describe_compliance_by_config_rule [paged]:
                    DescribeComplianceByConfigRuleFluentBuilder
                    -> DescribeComplianceByConfigRuleOutput, DescribeComplianceByConfigRuleError;
                DescribeConformancePacks in describe_conformance_packs [paged]:
                    DescribeConformancePacksFluentBuilder
                    -> DescribeConformancePacksOutput, DescribeConformancePacksError
                    each ConformancePackDetails [ConformancePackName];
                GetConformancePackComplianceSummary in get_conformance_pack_compliance_summary [paged]:
                    GetConformancePackComplianceSummaryFluentBuilder
                    -> GetConformancePackComplianceSummaryOutput,
                       GetConformancePackComplianceSummaryError
                    each ConformancePackComplianceSummaryList
                        [ConformancePackName, ConformancePackComplianceStatus];
                ListConformancePackComplianceScores in list_conformance_pack_compliance_scores [paged]:
                    ListConformancePackComplianceScoresFluentBuilder
                    -> ListConformancePackComplianceScoresOutput,
                       ListConformancePackComplianceScoresError
                    requires [ConformancePackComplianceScores];
                DescribeConformancePackCompliance in describe_conformance_pack_compliance [paged]:
                    DescribeConformancePackComplianceFluentBuilder
                    -> DescribeConformancePackComplianceOutput,
                       DescribeConformancePackComplianceError
                    requires [ConformancePackRuleComplianceList];
                DescribeOrganizationConformancePackStatuses in describe_organization_conformance_pack_statuses [paged]:
                    DescribeOrganizationConformancePackStatusesFluentBuilder
                    -> DescribeOrganizationConformancePackStatusesOutput,
                       DescribeOrganizationConformancePackStatusesError
                    each OrganizationConformancePackStatuses
                        [OrganizationConformancePackName, Status];
                DescribeOrganizationConformancePacks in describe_organization_conformance_packs [paged]:
                    DescribeOrganizationConformancePacksFluentBuilder
                    -> DescribeOrganizationConformancePacksOutput,
                       DescribeOrganizationConformancePacksError
                    each OrganizationConformancePacks
                        [OrganizationConformancePackName, LastUpdateTime];
                GetOrganizationConformancePackDetailedStatus in get_organization_conformance_pack_detailed_status [paged]:
                    GetOrganizationConformancePackDetailedStatusFluentBuilder
                    -> GetOrganizationConformancePackDetailedStatusOutput,
                       GetOrganizationConformancePackDetailedStatusError
                    each OrganizationConformancePackDetailedStatuses [AccountId, Status];
            }

            /// Amazon GuardDuty.
            GuardDuty {
                label: guardduty,
                name: "GuardDuty",
                client: aws_sdk_guardduty,
                iam_prefix: "guardduty",
                reach: regional,
                protocol: rest_json,
                next_token: "nextToken",
                rate_limit: { rate: 10.0, burst: 20.0 },
            } operations {
                ListDetectors in list_detectors [paged]:
                    ListDetectorsFluentBuilder
                    -> ListDetectorsOutput, ListDetectorsError
                    requires [detectorIds];
                GetDetector in get_detector:
                    GetDetectorFluentBuilder
                    -> GetDetectorOutput, GetDetectorError
                    requires [status];
                GetFindingsStatistics in get_findings_statistics:
                    GetFindingsStatisticsFluentBuilder
                    -> GetFindingsStatisticsOutput, GetFindingsStatisticsError
                    requires [findingStatistics];
                // One page of one id is read: the oldest, by the sort.
                ListFindings in list_findings:
                    ListFindingsFluentBuilder
                    -> ListFindingsOutput, ListFindingsError
                    requires [findingIds];
                GetFindings in get_findings:
                    GetFindingsFluentBuilder
                    -> GetFindingsOutput, GetFindingsError
                    requires [findings]
                    each findings [accountId, createdAt, id];
                ListMembers in list_members [paged]:
                    ListMembersFluentBuilder
                    -> ListMembersOutput, ListMembersError
                    each members [accountId, relationshipStatus];
                GetAdministratorAccount in get_administrator_account:
                    GetAdministratorAccountFluentBuilder
                    -> GetAdministratorAccountOutput, GetAdministratorAccountError;
                // Both lists are required: a missing `members` would read as "no member has a plan"
                // and a missing `unprocessedAccounts` would hide accounts AWS did not answer for.
                GetMemberDetectors in get_member_detectors:
                    GetMemberDetectorsFluentBuilder
                    -> GetMemberDetectorsOutput, GetMemberDetectorsError
                    requires [members, unprocessedAccounts]
                    each members [accountId]
                    each unprocessedAccounts [accountId, result];
                DescribeOrganizationConfiguration in describe_organization_configuration [paged]:
                    DescribeOrganizationConfigurationFluentBuilder
                    -> DescribeOrganizationConfigurationOutput,
                       DescribeOrganizationConfigurationError
                    requires [memberAccountLimitReached];
                GetOrganizationStatistics in get_organization_statistics:
                    GetOrganizationStatisticsFluentBuilder
                    -> GetOrganizationStatisticsOutput, GetOrganizationStatisticsError;
                GetCoverageStatistics in get_coverage_statistics:
                    GetCoverageStatisticsFluentBuilder
                    -> GetCoverageStatisticsOutput, GetCoverageStatisticsError;
                ListThreatIntelSets in list_threat_intel_sets [paged]:
                    ListThreatIntelSetsFluentBuilder
                    -> ListThreatIntelSetsOutput, ListThreatIntelSetsError
                    requires [threatIntelSetIds];
                GetThreatIntelSet in get_threat_intel_set:
                    GetThreatIntelSetFluentBuilder
                    -> GetThreatIntelSetOutput, GetThreatIntelSetError
                    requires [name, status];
                ListIPSets in list_ip_sets [paged]:
                    ListIPSetsFluentBuilder
                    -> ListIpSetsOutput, ListIPSetsError
                    requires [ipSetIds];
                GetIPSet in get_ip_set:
                    GetIPSetFluentBuilder
                    -> GetIpSetOutput, GetIPSetError
                    requires [name, status];
                ListFilters in list_filters [paged]:
                    ListFiltersFluentBuilder
                    -> ListFiltersOutput, ListFiltersError
                    requires [filterNames];
                GetFilter in get_filter:
                    GetFilterFluentBuilder
                    -> GetFilterOutput, GetFilterError
                    requires [name, action, findingCriteria];
                GetInvitationsCount in get_invitations_count:
                    GetInvitationsCountFluentBuilder
                    -> GetInvitationsCountOutput, GetInvitationsCountError;
                ListInvitations in list_invitations [paged]:
                    ListInvitationsFluentBuilder
                    -> ListInvitationsOutput, ListInvitationsError;
            }

            /// AWS Security Hub (both generations: Security Hub CSPM's ASFF operations and the
            /// new Security Hub's OCSF statistics).
            SecurityHub {
                label: securityhub,
                name: "Security Hub",
                client: aws_sdk_securityhub,
                iam_prefix: "securityhub",
                reach: regional,
                protocol: rest_json,
                next_token: "NextToken",
                // Conservative: GetFindings is the most limited of the read calls used here.
                rate_limit: { rate: 3.0, burst: 6.0 },
            } operations {
                DescribeSecurityHubV2 in describe_security_hub_v2:
                    DescribeSecurityHubV2FluentBuilder
                    -> DescribeSecurityHubV2Output, DescribeSecurityHubV2Error;
                // The model: "GetFindingStatisticsV2 uses securityhub:GetAdhocInsightResults in
                // the Action element of an IAM policy statement."
                GetFindingStatisticsV2 in get_finding_statistics_v2 allowed_by GetAdhocInsightResults:
                    GetFindingStatisticsV2FluentBuilder
                    -> GetFindingStatisticsV2Output, GetFindingStatisticsV2Error;
                DescribeHub in describe_hub:
                    DescribeHubFluentBuilder -> DescribeHubOutput, DescribeHubError;
                GetEnabledStandards in get_enabled_standards [paged]:
                    GetEnabledStandardsFluentBuilder
                    -> GetEnabledStandardsOutput, GetEnabledStandardsError;
                ListMembers in list_members [paged]:
                    ListMembersFluentBuilder -> ListMembersOutput, ListMembersError;
                DescribeOrganizationConfiguration in describe_organization_configuration:
                    DescribeOrganizationConfigurationFluentBuilder
                    -> DescribeOrganizationConfigurationOutput,
                       DescribeOrganizationConfigurationError;
                ListConfigurationPolicyAssociations in list_configuration_policy_associations [paged]:
                    ListConfigurationPolicyAssociationsFluentBuilder
                    -> ListConfigurationPolicyAssociationsOutput,
                       ListConfigurationPolicyAssociationsError;
                GetFindings in get_findings [paged]:
                    GetFindingsFluentBuilder -> GetFindingsOutput, GetFindingsError;
                BatchGetSecurityControls in batch_get_security_controls:
                    BatchGetSecurityControlsFluentBuilder
                    -> BatchGetSecurityControlsOutput, BatchGetSecurityControlsError
                    requires [SecurityControls]
                    each SecurityControls [SecurityControlId, Title];
            }

            /// IAM (global).
            Iam {
                label: iam,
                name: "IAM",
                client: aws_sdk_iam,
                iam_prefix: "iam",
                reach: global,
                protocol: aws_query,
                next_token: "Marker",
                rate_limit: { rate: 5.0, burst: 10.0 },
            } operations {
                GenerateOrganizationsAccessReport in generate_organizations_access_report:
                    GenerateOrganizationsAccessReportFluentBuilder
                    -> GenerateOrganizationsAccessReportOutput,
                       GenerateOrganizationsAccessReportError;
                GetOrganizationsAccessReport in get_organizations_access_report:
                    GetOrganizationsAccessReportFluentBuilder
                    -> GetOrganizationsAccessReportOutput, GetOrganizationsAccessReportError;
            }

            /// AWS Organizations (global).
            Organizations {
                label: organizations,
                name: "Organizations",
                client: aws_sdk_organizations,
                iam_prefix: "organizations",
                reach: global,
                protocol: aws_json,
                next_token: "NextToken",
                rate_limit: { rate: 2.0, burst: 5.0 },
            } operations {
                ListAccounts in list_accounts [paged]:
                    ListAccountsFluentBuilder
                    -> ListAccountsOutput, ListAccountsError;
                ListAccountsForParent in list_accounts_for_parent [paged]:
                    ListAccountsForParentFluentBuilder
                    -> ListAccountsForParentOutput, ListAccountsForParentError;
                ListOrganizationalUnitsForParent in list_organizational_units_for_parent [paged]:
                    ListOrganizationalUnitsForParentFluentBuilder
                    -> ListOrganizationalUnitsForParentOutput,
                       ListOrganizationalUnitsForParentError;
            }

            /// AWS Account Management (global): the regions enabled in each account.
            Account {
                label: account,
                name: "Account Management",
                client: aws_sdk_account,
                iam_prefix: "account",
                reach: global,
                protocol: rest_json,
                next_token: "NextToken",
                // Its quotas: "Rate of ListRegions requests per account: 5 per second, burst to
                // 5 per second" (Account Management's quotas). Counted per calling account: the
                // management or delegated administrator account asks for every member.
                rate_limit: { rate: 5.0, burst: 5.0 },
            } operations {
                ListRegions in list_regions [paged]:
                    ListRegionsFluentBuilder -> ListRegionsOutput, ListRegionsError;
            }

            /// AWS STS.
            Sts {
                label: sts,
                name: "STS",
                client: aws_sdk_sts,
                iam_prefix: "sts",
                reach: regional,
                protocol: aws_query,
                next_token: "NextToken",
                // STS counts AssumeRole per calling account (the management account, for
                // discovery): this bucket paces a start over thousands of accounts (1,000
                // AssumeRoles in about 10 s) well below STS's per-account request rate, leaving
                // room for the account's other users.
                rate_limit: { rate: 100.0, burst: 100.0 },
            } operations {
                GetCallerIdentity in get_caller_identity:
                    GetCallerIdentityFluentBuilder
                    -> GetCallerIdentityOutput, GetCallerIdentityError;
                // Sent by the assumed-role credentials provider (`mod.rs`) with the base
                // credentials, outside the call path; here for its name, service and IAM action.
                AssumeRole in assume_role:
                    AssumeRoleFluentBuilder -> AssumeRoleOutput, AssumeRoleError;
            }
        }
    };
}

pub(crate) use services_table;
