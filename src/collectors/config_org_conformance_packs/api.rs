//! SDK calls of `config_org_conformance_packs`; the only place its SDK types appear.
//!
//! Every call holds a permit of the Config rate limit. Every listing follows `NextToken` to the
//! last page ([`Call::all_pages`](crate::aws::Call::all_pages)).

use aws_sdk_config::types::{
    OrganizationResourceDetailedStatus, OrganizationResourceDetailedStatusFilters,
};
use aws_smithy_types::DateTime;

use crate::aws::{CollectError, RegionClients};
pub use crate::collectors::org_deployments::{
    Definition, Detail, MemberStatus, Status, PAGE_LIMIT,
};

/// AWS's error code for a pack that does not exist (any more).
pub const NO_SUCH_PACK: &str = "NoSuchOrganizationConformancePackException";

fn secs(t: Option<&DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// DescribeOrganizationConformancePackStatuses, every page.
pub async fn pack_statuses(c: &RegionClients) -> Result<Vec<Status>, CollectError> {
    c.config(|cl| {
        cl.describe_organization_conformance_pack_statuses()
            .limit(PAGE_LIMIT)
    })
    .all_pages(|out| {
        Ok(out
            .organization_conformance_pack_statuses()
            .iter()
            .map(|s| Status {
                name: s.organization_conformance_pack_name().to_string(),
                status: s.status().as_str().to_string(),
                error_code: s.error_code().map(str::to_string),
                error_message: s.error_message().map(str::to_string),
                last_update: secs(s.last_update_time()),
            })
            .collect())
    })
    .await
}

/// DescribeOrganizationConformancePacks, every page.
pub async fn pack_defs(c: &RegionClients) -> Result<Vec<Definition>, CollectError> {
    c.config(|cl| {
        cl.describe_organization_conformance_packs()
            .limit(PAGE_LIMIT)
    })
    .all_pages(|out| {
        Ok(out
            .organization_conformance_packs()
            .iter()
            .map(|p| Definition {
                name: p.organization_conformance_pack_name().to_string(),
                excluded_accounts: p.excluded_accounts().to_vec(),
                last_update: Some(p.last_update_time().as_secs_f64()),
            })
            .collect())
    })
    .await
}

/// GetOrganizationConformancePackDetailedStatus of one pack, every page, optionally only the
/// members in `status` (the `Status` filter).
pub async fn detailed_status(
    c: &RegionClients,
    pack: &str,
    status: Option<&str>,
) -> Result<Detail, CollectError> {
    let filters = status.map(|s| {
        OrganizationResourceDetailedStatusFilters::builder()
            .status(OrganizationResourceDetailedStatus::from(s))
            .build()
    });
    let got = c
        .config(|cl| {
            cl.get_organization_conformance_pack_detailed_status()
                .organization_conformance_pack_name(pack)
                .set_filters(filters)
                .limit(PAGE_LIMIT)
        })
        .all_pages(|out| {
            Ok(out
                .organization_conformance_pack_detailed_statuses()
                .iter()
                .map(|m| MemberStatus {
                    account_id: m.account_id().to_string(),
                    status: m.status().as_str().to_string(),
                    error_code: m.error_code().map(str::to_string),
                    error_message: m.error_message().map(str::to_string),
                    last_update: secs(m.last_update_time()),
                })
                .collect())
        })
        .await;
    match got {
        Ok(members) => Ok(Detail::Members(members)),
        Err(e) if e.code() == Some(NO_SUCH_PACK) => Ok(Detail::Vanished),
        Err(e) => Err(e),
    }
}
