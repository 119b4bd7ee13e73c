//! The one way to call AWS.
//!
//! The service clients are shared by the whole process (see the module comment of `aws`), so a
//! call is only right for its job once the job's [`Scope`] (region and credentials) is applied
//! to it. Rather than repeating that at every call site, and testing that nobody forgot, the
//! clients are reachable only through [`RegionClients`]' per-service methods, whose closure gets
//! the client and must return an *unsent* request ([`Operation`]). [`Call`] then does, in one
//! place, what every call needs: the rate-limit permit of the operation's service, held for the
//! duration of the call; the scope; the send; the error mapped with the operation's name; and one
//! more call on the scope's counter ([`RegionClients::calls`]).
//!
//! ```ignore
//! let out = c.config(|cl| cl.describe_configuration_recorders()).await?;
//! let ids = c
//!     .guardduty(|g| g.list_detectors().max_results(50))
//!     .all_pages(|page| Ok(page.detector_ids().to_vec()))
//!     .await?;
//! ```
//!
//! The requests the exporter may send are the fluent builders listed in the `operations!` table
//! at the end of this file, with their AWS operation names: a builder not listed there does not
//! compile as a call, and the IAM policy test reads the table to know what the exporter calls.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::Ordering;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::clients::{RegionClients, Scope};
use aws_credential_types::provider::ProvideCredentials as _;

use super::attempts::SlowDown;
use super::error::{cause_chain, CollectError, ErrorKind};
use super::limits::Service;

mod sealed {
    /// Only the SDK's fluent builders listed in this file are operations: an `Operation`
    /// implemented elsewhere could send without the scope.
    pub trait Sealed {}
}

/// An unsent request of one AWS operation: an SDK fluent builder, with the operation's name and
/// service. Sealed: implemented only by this file's `operations!` table.
pub trait Operation: sealed::Sealed + Send + Sized + Clone {
    /// What the operation answers.
    type Output: Send;
    /// The operation's SDK error.
    type Error: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
    /// The AWS operation name: in errors, logs and the IAM policy.
    const NAME: &'static str;
    /// The service whose rate limit the call takes.
    const SERVICE: Service;
    /// Sends the request with `scope` applied to the shared client, telling `feedback` of every
    /// throttled attempt.
    fn send_in(
        self,
        scope: &Scope,
        feedback: SlowDown,
    ) -> impl Future<Output = Result<Self::Output, SdkError<Self::Error, HttpResponse>>> + Send;
}

/// An operation that pages by `NextToken`, for [`Call::all_pages`].
pub trait Paged: Operation {
    /// The same request asking for the page at `token` (the first page when `None`).
    fn with_token(self, token: Option<String>) -> Self;
    /// The token of the next page, if the answer has one.
    fn next_token(out: &Self::Output) -> Option<&str>;
}

/// One request of a job, ready to be sent in its scope: await it for the answer, or read every
/// page with [`Call::all_pages`]. Made by [`RegionClients::config`] and its siblings.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'c, O> {
    pub(super) clients: &'c RegionClients,
    pub(super) op: O,
}

impl<'c, O: Operation + 'c> IntoFuture for Call<'c, O> {
    type Output = Result<O::Output, CollectError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.clients.send(self.op))
    }
}

impl RegionClients {
    /// Sends one request: waits for the permit of its service in this account and region (held
    /// until the answer), applies the scope, counts the call and maps its error. A throttled
    /// request queues again for a token of its slowed bucket, for as long as the job's run has
    /// time (see [`super::run::throttle_backoff`]).
    pub(super) async fn send<O: Operation>(&self, op: O) -> Result<O::Output, CollectError> {
        // Before STS has said which account the credentials are in, there is none to name.
        let account = if self.account_id.is_empty() {
            "unknown"
        } else {
            &self.account_id
        };
        // Assumed-role credentials first, before this call takes its slot: their AssumeRole
        // takes a slot and an STS token of its own (and is cached, so the SDK's own resolution
        // below finds them).
        if let Some(p) = &self.scope.credentials {
            // A wait (for the one AssumeRole of the account, queued on the STS bucket): the
            // run's turn goes to a run that has calls ready meanwhile.
            if let Err(e) = super::run::away(p.provide_credentials()).await {
                return Err(CollectError::new(
                    O::NAME,
                    account,
                    &self.region,
                    ErrorKind::Credentials,
                    cause_chain(&e),
                ));
            }
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (mut round, since) = (0, tokio::time::Instant::now());
        loop {
            let permit = self
                .limiter
                .acquire(&self.account_id, &self.region, O::SERVICE)
                .await;
            let feedback = SlowDown::new(
                self.limiter.clone(),
                &self.account_id,
                &self.region,
                O::SERVICE,
                permit.generation(),
            );
            let answer = op.clone().send_in(&self.scope, feedback).await;
            drop(permit);
            let e = match answer {
                Ok(out) => return Ok(out),
                Err(e) => CollectError::from_sdk(O::NAME, account, &self.region, e),
            };
            if e.kind != ErrorKind::Throttled {
                return Err(e);
            }
            let Some(wait) = self.limiter.throttle_wait(round, since) else {
                return Err(e);
            };
            tracing::debug!(
                operation = O::NAME,
                account_id = account,
                region = %self.region,
                round,
                wait = ?wait,
                "throttled; queueing again for a token at the slowed rate"
            );
            tokio::time::sleep(wait).await;
            round += 1;
        }
    }

    /// Resolves the scope's assumed-role credentials if they are not cached yet, so that a job
    /// can wait for its account's one AssumeRole before it takes a turn among the running jobs
    /// (the scheduler does). A failure is not reported here: the run's first call meets it
    /// again, and reports it as that call's.
    pub async fn warm_credentials(&self) {
        if let Some(p) = &self.scope.credentials {
            let _ = p.provide_credentials().await;
        }
    }

    /// The calls sent through this scope so far, each page of a listing one, retries not
    /// (those are in the process-wide [`super::CallCounter`]). A job's runs follow each other,
    /// so the difference across a run is what that run called.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// The per-service entry points: the only way to a service client.
macro_rules! services {
    ($($name:ident: $krate:ident, $label:literal;)*) => {$(
        impl RegionClients {
            #[doc = concat!(
                "A call to ", $label, " in this scope: `build` gets the shared client and ",
                "returns the unsent request; the call applies the scope when it sends it."
            )]
            pub fn $name<O: Operation>(&self, build: impl FnOnce(&$krate::Client) -> O) -> Call<'_, O> {
                Call {
                    clients: self,
                    op: build(self.clients.$name()),
                }
            }
        }
    )*};
}

services! {
    config: aws_sdk_config, "AWS Config";
    guardduty: aws_sdk_guardduty, "GuardDuty";
    iam: aws_sdk_iam, "IAM";
    organizations: aws_sdk_organizations, "Organizations";
    sts: aws_sdk_sts, "STS";
}

/// The table of operations: per SDK crate and [`Service`], each row
/// `Name in module [paged]: FluentBuilder -> Output, Error;`. `Name` is the SDK's operation
/// type, so a name that is not an operation of that crate does not compile.
macro_rules! operations {
    ($($krate:ident as $service:ident {
        $($op:ident in $m:ident $([$paged:ident])?: $builder:ident -> $output:ident, $error:ident;)*
    })*) => {$($(
        impl sealed::Sealed for $krate::operation::$m::builders::$builder {}

        impl Operation for $krate::operation::$m::builders::$builder {
            type Output = $krate::operation::$m::$output;
            type Error = $krate::operation::$m::$error;
            const NAME: &'static str = stringify!($op);
            const SERVICE: Service = Service::$service;

            fn send_in(
                self,
                scope: &Scope,
                feedback: SlowDown,
            ) -> impl Future<Output = Result<Self::Output, SdkError<Self::Error, HttpResponse>>> + Send
            {
                self.customize()
                    .config_override(scope)
                    .interceptor(feedback)
                    .send()
            }
        }

        const _: Option<$krate::operation::$m::$op> = None;

        $(operations!(@$paged $krate::operation::$m::builders::$builder);)?
    )*)*

        /// The name of every operation of the table; `names::OPERATION_NAMES` must list them.
        #[cfg(test)]
        const TABLE_NAMES: &[&str] = &[$($(stringify!($op),)*)*];
    };
    (@paged $builder:path) => {
        impl Paged for $builder {
            fn with_token(self, token: Option<String>) -> Self {
                self.set_next_token(token)
            }

            fn next_token(out: &Self::Output) -> Option<&str> {
                out.next_token()
            }
        }
    };
}

operations! {
    aws_sdk_config as Config {
        DescribeConfigurationRecorders in describe_configuration_recorders:
            DescribeConfigurationRecordersFluentBuilder
            -> DescribeConfigurationRecordersOutput, DescribeConfigurationRecordersError;
        DescribeConfigurationRecorderStatus in describe_configuration_recorder_status:
            DescribeConfigurationRecorderStatusFluentBuilder
            -> DescribeConfigurationRecorderStatusOutput, DescribeConfigurationRecorderStatusError;
        DescribeOrganizationConfigRuleStatuses in describe_organization_config_rule_statuses [paged]:
            DescribeOrganizationConfigRuleStatusesFluentBuilder
            -> DescribeOrganizationConfigRuleStatusesOutput,
               DescribeOrganizationConfigRuleStatusesError;
        DescribeOrganizationConfigRules in describe_organization_config_rules [paged]:
            DescribeOrganizationConfigRulesFluentBuilder
            -> DescribeOrganizationConfigRulesOutput, DescribeOrganizationConfigRulesError;
        GetOrganizationConfigRuleDetailedStatus in get_organization_config_rule_detailed_status [paged]:
            GetOrganizationConfigRuleDetailedStatusFluentBuilder
            -> GetOrganizationConfigRuleDetailedStatusOutput,
               GetOrganizationConfigRuleDetailedStatusError;
        DescribeConfigurationAggregators in describe_configuration_aggregators [paged]:
            DescribeConfigurationAggregatorsFluentBuilder
            -> DescribeConfigurationAggregatorsOutput, DescribeConfigurationAggregatorsError;
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
            -> DescribeConformancePacksOutput, DescribeConformancePacksError;
        GetConformancePackComplianceSummary in get_conformance_pack_compliance_summary [paged]:
            GetConformancePackComplianceSummaryFluentBuilder
            -> GetConformancePackComplianceSummaryOutput, GetConformancePackComplianceSummaryError;
        DescribeConformancePackCompliance in describe_conformance_pack_compliance [paged]:
            DescribeConformancePackComplianceFluentBuilder
            -> DescribeConformancePackComplianceOutput, DescribeConformancePackComplianceError;
        DescribeOrganizationConformancePackStatuses in describe_organization_conformance_pack_statuses [paged]:
            DescribeOrganizationConformancePackStatusesFluentBuilder
            -> DescribeOrganizationConformancePackStatusesOutput,
               DescribeOrganizationConformancePackStatusesError;
        DescribeOrganizationConformancePacks in describe_organization_conformance_packs [paged]:
            DescribeOrganizationConformancePacksFluentBuilder
            -> DescribeOrganizationConformancePacksOutput,
               DescribeOrganizationConformancePacksError;
        GetOrganizationConformancePackDetailedStatus in get_organization_conformance_pack_detailed_status [paged]:
            GetOrganizationConformancePackDetailedStatusFluentBuilder
            -> GetOrganizationConformancePackDetailedStatusOutput,
               GetOrganizationConformancePackDetailedStatusError;
    }
    aws_sdk_guardduty as GuardDuty {
        ListDetectors in list_detectors [paged]:
            ListDetectorsFluentBuilder -> ListDetectorsOutput, ListDetectorsError;
        GetDetector in get_detector:
            GetDetectorFluentBuilder -> GetDetectorOutput, GetDetectorError;
        GetFindingsStatistics in get_findings_statistics:
            GetFindingsStatisticsFluentBuilder
            -> GetFindingsStatisticsOutput, GetFindingsStatisticsError;
        ListMembers in list_members [paged]:
            ListMembersFluentBuilder -> ListMembersOutput, ListMembersError;
        GetAdministratorAccount in get_administrator_account:
            GetAdministratorAccountFluentBuilder
            -> GetAdministratorAccountOutput, GetAdministratorAccountError;
        GetMemberDetectors in get_member_detectors:
            GetMemberDetectorsFluentBuilder
            -> GetMemberDetectorsOutput, GetMemberDetectorsError;
        DescribeOrganizationConfiguration in describe_organization_configuration [paged]:
            DescribeOrganizationConfigurationFluentBuilder
            -> DescribeOrganizationConfigurationOutput, DescribeOrganizationConfigurationError;
        GetOrganizationStatistics in get_organization_statistics:
            GetOrganizationStatisticsFluentBuilder
            -> GetOrganizationStatisticsOutput, GetOrganizationStatisticsError;
        GetCoverageStatistics in get_coverage_statistics:
            GetCoverageStatisticsFluentBuilder
            -> GetCoverageStatisticsOutput, GetCoverageStatisticsError;
        ListThreatIntelSets in list_threat_intel_sets [paged]:
            ListThreatIntelSetsFluentBuilder
            -> ListThreatIntelSetsOutput, ListThreatIntelSetsError;
        GetThreatIntelSet in get_threat_intel_set:
            GetThreatIntelSetFluentBuilder -> GetThreatIntelSetOutput, GetThreatIntelSetError;
        ListIPSets in list_ip_sets [paged]:
            ListIPSetsFluentBuilder -> ListIpSetsOutput, ListIPSetsError;
        GetIPSet in get_ip_set:
            GetIPSetFluentBuilder -> GetIpSetOutput, GetIPSetError;
        ListFilters in list_filters [paged]:
            ListFiltersFluentBuilder -> ListFiltersOutput, ListFiltersError;
        GetFilter in get_filter:
            GetFilterFluentBuilder -> GetFilterOutput, GetFilterError;
        GetInvitationsCount in get_invitations_count:
            GetInvitationsCountFluentBuilder
            -> GetInvitationsCountOutput, GetInvitationsCountError;
        ListInvitations in list_invitations [paged]:
            ListInvitationsFluentBuilder -> ListInvitationsOutput, ListInvitationsError;
    }
    aws_sdk_iam as Iam {
        GenerateOrganizationsAccessReport in generate_organizations_access_report:
            GenerateOrganizationsAccessReportFluentBuilder
            -> GenerateOrganizationsAccessReportOutput, GenerateOrganizationsAccessReportError;
        GetOrganizationsAccessReport in get_organizations_access_report:
            GetOrganizationsAccessReportFluentBuilder
            -> GetOrganizationsAccessReportOutput, GetOrganizationsAccessReportError;
    }
    aws_sdk_organizations as Organizations {
        ListAccounts in list_accounts [paged]:
            ListAccountsFluentBuilder -> ListAccountsOutput, ListAccountsError;
        ListAccountsForParent in list_accounts_for_parent [paged]:
            ListAccountsForParentFluentBuilder
            -> ListAccountsForParentOutput, ListAccountsForParentError;
        ListOrganizationalUnitsForParent in list_organizational_units_for_parent [paged]:
            ListOrganizationalUnitsForParentFluentBuilder
            -> ListOrganizationalUnitsForParentOutput, ListOrganizationalUnitsForParentError;
    }
    aws_sdk_sts as Sts {
        GetCallerIdentity in get_caller_identity:
            GetCallerIdentityFluentBuilder -> GetCallerIdentityOutput, GetCallerIdentityError;
    }
}

#[cfg(test)]
mod names_tests {
    #[test]
    fn the_label_names_are_the_table() {
        let mut table = super::TABLE_NAMES.to_vec();
        let mut names = super::super::names::OPERATION_NAMES.to_vec();
        table.sort_unstable();
        names.sort_unstable();
        assert_eq!(
            table, names,
            "src/aws/names.rs must list the operations table"
        );
    }
}
