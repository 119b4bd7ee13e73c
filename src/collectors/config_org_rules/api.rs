//! SDK calls of `config_org_rules`; the only place its SDK types appear.
//!
//! Every call holds a permit of the Config rate limit. Every listing follows `NextToken` to the
//! last page ([`Call::all_pages`](crate::aws::Call::all_pages)); a token AWS refuses
//! (`InvalidNextTokenException`, e.g. one that expired during a long scan) restarts that listing
//! from the first page, once.

use aws_sdk_config::types::{MemberAccountRuleStatus, StatusDetailFilters};
use aws_smithy_types::DateTime;

use crate::aws::error::required;
use crate::aws::{CollectError, RegionClients};

pub use crate::collectors::org_deployments::{
    Definition as RuleDef, Detail, MemberStatus, Status as RuleStatus, PAGE_LIMIT,
};

/// AWS's error code for a rule that does not exist (any more).
pub const NO_SUCH_RULE: &str = "NoSuchOrganizationConfigRuleException";
/// AWS's error code for a pagination token it refuses.
pub const INVALID_NEXT_TOKEN: &str = "InvalidNextTokenException";

fn secs(t: Option<&DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// DescribeOrganizationConfigRuleStatuses, every page.
pub async fn rule_statuses(c: &RegionClients) -> Result<Vec<RuleStatus>, CollectError> {
    let op = "DescribeOrganizationConfigRuleStatuses";
    c.config(|cl| {
        cl.describe_organization_config_rule_statuses()
            .limit(PAGE_LIMIT)
    })
    .all_pages(|out| {
        out.organization_config_rule_statuses()
            .iter()
            .map(|s| {
                Ok(RuleStatus {
                    name: required(
                        s.organization_config_rule_name(),
                        "OrganizationConfigRuleName",
                        op,
                        &c.account_id,
                        &c.region,
                    )?,
                    status: required(
                        s.organization_rule_status().as_str(),
                        "OrganizationRuleStatus",
                        op,
                        &c.account_id,
                        &c.region,
                    )?,
                    error_code: s.error_code().map(str::to_string),
                    error_message: s.error_message().map(str::to_string),
                    last_update: secs(s.last_update_time()),
                })
            })
            .collect()
    })
    .await
}

/// DescribeOrganizationConfigRules, every page.
pub async fn rule_defs(c: &RegionClients) -> Result<Vec<RuleDef>, CollectError> {
    let op = "DescribeOrganizationConfigRules";
    c.config(|cl| cl.describe_organization_config_rules().limit(PAGE_LIMIT))
        .all_pages(|out| {
            out.organization_config_rules()
                .iter()
                .map(|r| {
                    Ok(RuleDef {
                        name: required(
                            r.organization_config_rule_name(),
                            "OrganizationConfigRuleName",
                            op,
                            &c.account_id,
                            &c.region,
                        )?,
                        excluded_accounts: r.excluded_accounts().to_vec(),
                        last_update: secs(r.last_update_time()),
                    })
                })
                .collect()
        })
        .await
}

/// GetOrganizationConfigRuleDetailedStatus of one rule, every page, optionally only the members
/// in `status` (the `MemberAccountRuleStatus` filter).
pub async fn detailed_status(
    c: &RegionClients,
    rule: &str,
    status: Option<&str>,
) -> Result<Detail, CollectError> {
    let filters = status.map(|s| {
        StatusDetailFilters::builder()
            .member_account_rule_status(MemberAccountRuleStatus::from(s))
            .build()
    });
    let got = c
        .config(|cl| {
            cl.get_organization_config_rule_detailed_status()
                .organization_config_rule_name(rule)
                .set_filters(filters)
                .limit(PAGE_LIMIT)
        })
        .all_pages(|out| {
            Ok(out
                .organization_config_rule_detailed_status()
                .iter()
                .map(|m| MemberStatus {
                    account_id: m.account_id().to_string(),
                    status: m.member_account_rule_status().as_str().to_string(),
                    error_code: m.error_code().map(str::to_string),
                    error_message: m.error_message().map(str::to_string),
                    last_update: secs(m.last_update_time()),
                })
                .collect())
        })
        .await;
    match got {
        Ok(members) => Ok(Detail::Members(members)),
        Err(e) if e.code() == Some(NO_SUCH_RULE) => Ok(Detail::Vanished),
        Err(e) => Err(e),
    }
}
