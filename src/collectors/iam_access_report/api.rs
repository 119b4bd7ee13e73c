//! SDK calls of `iam_access_report`; the only place its SDK types appear.
//!
//! The two operations are behind the small [`ReportApi`] trait, one call each, so that the state
//! machine in `job.rs` (which sequences generation, polling and paging) is driven in unit tests
//! by a hand-written fake under paused time, and by the real SDK against the simulator in the
//! integration tests.

use std::future::Future;

use aws_smithy_types::DateTime;

use crate::aws::{CollectError, ErrorKind, RegionClients};

/// Items asked for per page: the model's maximum, since IAM may hand out fewer anyway.
pub const MAX_ITEMS: i32 = 1000;

/// Why a job failed, as IAM reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorDetails {
    /// Error code.
    pub code: String,
    /// Error message.
    pub message: String,
}

/// One service of a report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceAccess {
    /// Service namespace (`s3`): the label value.
    pub namespace: String,
    /// Human name (status page only).
    pub name: String,
    /// Unix seconds of the last authenticated access; `None`: never accessed in the tracking
    /// period.
    pub last_authenticated: Option<f64>,
    /// Principals that authenticated to the service.
    pub authenticated_entities: Option<i64>,
    /// Region of the last access.
    pub region: Option<String>,
    /// Entity path of the last access.
    pub entity_path: Option<String>,
}

/// A completed report: every page of one job, merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The job that produced it.
    pub job_id: String,
    /// Unix seconds the job was created.
    pub created: Option<f64>,
    /// Unix seconds the job completed.
    pub completed: Option<f64>,
    /// Services the principals under the entity may use (SCPs allowing).
    pub services_accessible: i64,
    /// Of those, services not used in the tracking period.
    pub services_not_accessed: i64,
    /// Every service listed, over all pages.
    pub services: Vec<ServiceAccess>,
}

/// One page of GetOrganizationsAccessReport, in plain types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`, or a value AWS adds later, raw.
    pub status: String,
    /// Unix seconds the job was created.
    pub created: Option<f64>,
    /// Unix seconds the job finished.
    pub completed: Option<f64>,
    /// Services the principals may use.
    pub services_accessible: Option<i64>,
    /// Services they may use but did not.
    pub services_not_accessed: Option<i64>,
    /// This page's services.
    pub details: Vec<ServiceAccess>,
    /// More pages follow.
    pub is_truncated: bool,
    /// Where the next page starts.
    pub marker: Option<String>,
    /// Why the job failed.
    pub error: Option<ErrorDetails>,
}

/// The two calls of the job. Futures are `Send` because the scheduler runs collections on the
/// multi-threaded runtime.
pub trait ReportApi {
    /// An error of this caller's account and region that no SDK call produced (an answer that
    /// breaks the protocol).
    fn error(&self, operation: &'static str, kind: ErrorKind, message: String) -> CollectError {
        CollectError::new(operation, "", "", kind, message)
    }

    /// GenerateOrganizationsAccessReport: starts a job, returns its id.
    fn generate(
        &self,
        entity_path: &str,
    ) -> impl Future<Output = Result<String, CollectError>> + Send;

    /// GetOrganizationsAccessReport: one page of a job (the first when `marker` is `None`).
    fn page(
        &self,
        job_id: &str,
        marker: Option<&str>,
    ) -> impl Future<Output = Result<Page, CollectError>> + Send;
}

/// The real calls, through the clients of the organization target in the home region: IAM is
/// global, so one call path serves every entity path whatever the targets' regions.
pub struct Sdk<'a>(pub &'a RegionClients);

fn secs(t: Option<&DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

impl ReportApi for Sdk<'_> {
    fn error(&self, operation: &'static str, kind: ErrorKind, message: String) -> CollectError {
        CollectError::new(operation, &self.0.account_id, &self.0.region, kind, message)
    }

    async fn generate(&self, entity_path: &str) -> Result<String, CollectError> {
        let c = self.0;
        let out = c
            .iam(|i| {
                i.generate_organizations_access_report()
                    .entity_path(entity_path)
            })
            .await?;
        match out.job_id() {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(self.error(
                "GenerateOrganizationsAccessReport",
                ErrorKind::Malformed,
                "the answer carries no JobId".into(),
            )),
        }
    }

    async fn page(&self, job_id: &str, marker: Option<&str>) -> Result<Page, CollectError> {
        let c = self.0;
        let out = c
            .iam(|i| {
                i.get_organizations_access_report()
                    .job_id(job_id)
                    .max_items(MAX_ITEMS)
                    .set_marker(marker.map(str::to_string))
            })
            .await?;
        Ok(Page {
            status: crate::aws::error::required(
                out.job_status().as_str(),
                "JobStatus",
                "GetOrganizationsAccessReport",
                &c.account_id,
                &c.region,
            )?,
            created: Some(out.job_creation_date().as_secs_f64()),
            completed: secs(out.job_completion_date()),
            services_accessible: out.number_of_services_accessible().map(i64::from),
            services_not_accessed: out.number_of_services_not_accessed().map(i64::from),
            details: out
                .access_details()
                .iter()
                .map(|d| ServiceAccess {
                    namespace: d.service_namespace().to_string(),
                    name: d.service_name().to_string(),
                    last_authenticated: secs(d.last_authenticated_time()),
                    authenticated_entities: d.total_authenticated_entities().map(i64::from),
                    region: d.region().map(str::to_string),
                    entity_path: d.entity_path().map(str::to_string),
                })
                .collect(),
            is_truncated: out.is_truncated(),
            marker: out.marker().map(str::to_string),
            error: out.error_details().map(|e| ErrorDetails {
                code: e.code().to_string(),
                message: e.message().to_string(),
            }),
        })
    }
}
