//! SDK calls of `guardduty` in administrator mode; with `api.rs`, the only place its SDK types
//! appear.
//!
//! Limits that shape the calls, from the service model and API reference: GetMemberDetectors
//! takes at most 50 account ids; GetFindingsStatistics with `groupBy` answers at most 100 groups
//! and does not page, and a criterion takes at most 50 values (see [`findings_by_account`] for
//! how no account is cut off with the fewest calls).

use std::collections::BTreeMap;

use aws_sdk_guardduty::types::{
    CoverageFilterCondition, CoverageFilterCriteria, CoverageFilterCriterion,
    CoverageFilterCriterionKey, CoverageStatisticsType, GroupByType,
};

use super::super::api::{criteria, statistics, Feature, GROUP_LIMIT};
use crate::aws::{CollectError, ErrorKind, RegionClients};

/// Most account ids GetMemberDetectors takes in one call.
pub const MEMBER_DETECTORS_LIMIT: usize = 50;

pub use super::super::api::BUCKET_CRITERIA;

/// A member of the administrator, as ListMembers lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgMember {
    /// The member's account id.
    pub account_id: String,
    /// Relationship status in AWS's raw spelling.
    pub relationship_status: String,
    /// The member's own detector in this region, when it has one.
    pub detector_id: Option<String>,
    /// When it was invited, in seconds since the epoch, if ListMembers says.
    pub invited_at: Option<f64>,
}

/// Every member of the administrator's detector, whatever the relationship (ListMembers,
/// `onlyAssociated=false`, every page).
pub async fn list_members(c: &RegionClients, id: &str) -> Result<Vec<OrgMember>, CollectError> {
    let listed = c
        .guardduty(|g| {
            g.list_members()
                .detector_id(id)
                .only_associated("false")
                .max_results(50)
        })
        .all_pages(|out| {
            Ok(out
                .members()
                .iter()
                .map(|m| OrgMember {
                    account_id: m.account_id().unwrap_or_default().to_string(),
                    relationship_status: m.relationship_status().unwrap_or_default().to_string(),
                    detector_id: m
                        .detector_id()
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                    invited_at: m
                        .invited_at()
                        .and_then(|t| {
                            aws_smithy_types::DateTime::from_str(
                                t,
                                aws_smithy_types::date_time::Format::DateTime,
                            )
                            .ok()
                        })
                        .map(|t| t.as_secs_f64()),
                })
                .collect())
        })
        .await?;
    // One account listed twice would be two series: the later entry wins.
    let mut by_id: BTreeMap<String, OrgMember> = BTreeMap::new();
    for m in listed {
        by_id.insert(m.account_id.clone(), m);
    }
    Ok(by_id.into_values().collect())
}

/// What GetMemberDetectors answered: each member's protection plans, and the accounts it did
/// not process with AWS's reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberPlans {
    /// Per member account, its features and additional configurations, flattened.
    pub plans: BTreeMap<String, Vec<Feature>>,
    /// (account, reason) of the accounts AWS did not process.
    pub unprocessed: Vec<(String, String)>,
}

/// GetMemberDetectors for `accounts`, at most 50 a call.
pub async fn member_detectors(
    c: &RegionClients,
    id: &str,
    accounts: &[String],
) -> Result<MemberPlans, CollectError> {
    let mut out = MemberPlans::default();
    for chunk in accounts.chunks(MEMBER_DETECTORS_LIMIT) {
        let answer = c
            .guardduty(|g| {
                g.get_member_detectors()
                    .detector_id(id)
                    .set_account_ids(Some(chunk.to_vec()))
            })
            .await?;
        for m in answer.member_data_source_configurations() {
            let Some(account) = m.account_id() else {
                continue;
            };
            // GetMemberDetectors' features are OrgFeature names, which leave out the three
            // foundational sources; those are only in the deprecated (and still required)
            // dataSources. Read from there under GetDetector's names, so that both modes export
            // the same plans.
            let mut plans = Vec::new();
            // Deprecated in favour of `features`, yet the only place AWS puts these three.
            #[allow(deprecated)]
            let sources = m.data_sources();
            if let Some(ds) = sources {
                for (name, status) in [
                    ("CLOUD_TRAIL", ds.cloud_trail().and_then(|x| x.status())),
                    ("DNS_LOGS", ds.dns_logs().and_then(|x| x.status())),
                    ("FLOW_LOGS", ds.flow_logs().and_then(|x| x.status())),
                ] {
                    if let Some(st) = status {
                        plans.push(Feature {
                            plan: name.to_string(),
                            name: name.to_string(),
                            status: st.as_str().to_string(),
                        });
                    }
                }
            }
            for f in m.features() {
                let Some(name) = f.name() else { continue };
                plans.push(Feature {
                    plan: name.as_str().to_string(),
                    name: name.as_str().to_string(),
                    status: f.status().map(|s| s.as_str()).unwrap_or("").to_string(),
                });
                for a in f.additional_configuration() {
                    if let Some(n) = a.name() {
                        plans.push(Feature {
                            plan: name.as_str().to_string(),
                            name: n.as_str().to_string(),
                            status: a.status().map(|s| s.as_str()).unwrap_or("").to_string(),
                        });
                    }
                }
            }
            out.plans.insert(account.to_string(), plans);
        }
        for u in answer.unprocessed_accounts() {
            out.unprocessed.push((
                u.account_id().unwrap_or_default().to_string(),
                u.result().unwrap_or_default().to_string(),
            ));
        }
    }
    Ok(out)
}

/// Most values one GetFindingsStatistics criterion takes. The model's `Condition.Equals` says
/// "Max values: 50" in its documentation only (no `max` trait, so the SDK does not refuse more;
/// AWS answers BadRequestException).
pub const CRITERION_VALUES: usize = 50;

/// Current findings per account and severity bucket: GetFindingsStatistics `groupBy ACCOUNT`
/// over non-archived findings, per bucket. AWS answers the top `maxResults` (at most 100)
/// accounts by count and does not page, so one call per bucket without an account criterion
/// suffices while fewer than 100 accounts have findings in it: that answer is every such
/// account. Only a bucket that comes back full is completed for the accounts the top 100 left
/// out, in groups of at most 50 (the criterion's documented limit), which cannot come back full.
/// Accounts without findings are zero; accounts outside `accounts` (the administrator's own
/// findings about a former member, say) are not counted.
pub async fn findings_by_account(
    c: &RegionClients,
    id: &str,
    accounts: &[String],
) -> Result<BTreeMap<String, [i64; 4]>, CollectError> {
    let all = [(); 4].map(|_| accounts.to_vec());
    per_bucket(c, id, &all, [None; 4]).await
}

/// Current findings past their remediation age per account and severity bucket: the same
/// calls as [`findings_by_account`] with a `createdAt` criterion (`lessThan` the bucket's
/// cutoff, milliseconds since the epoch), asked only about the accounts that have current
/// findings in the bucket (`counts`, from the findings part; every account of `accounts` when
/// that part failed). A bucket in which no account has findings costs no call, so a region
/// costs at most 4 calls, plus one per 50 candidates only in a bucket where 100 or more
/// accounts have overdue findings: never a call per member or per finding.
pub async fn overdue_by_account(
    c: &RegionClients,
    id: &str,
    accounts: &[String],
    counts: Option<&BTreeMap<String, [i64; 4]>>,
    cutoffs: [i64; 4],
) -> Result<BTreeMap<String, [i64; 4]>, CollectError> {
    let candidates = [0usize, 1, 2, 3].map(|b| {
        accounts
            .iter()
            .filter(|a| counts.is_none_or(|m| m.get(*a).is_some_and(|n| n[b] > 0)))
            .cloned()
            .collect::<Vec<String>>()
    });
    per_bucket(c, id, &candidates, cutoffs.map(Some)).await
}

/// Findings per account and bucket, for the accounts of each bucket's list (a bucket with an
/// empty list is not asked), created before the bucket's cutoff where one is given.
async fn per_bucket(
    c: &RegionClients,
    id: &str,
    accounts: &[Vec<String>; 4],
    created_before: [Option<i64>; 4],
) -> Result<BTreeMap<String, [i64; 4]>, CollectError> {
    let mut out: BTreeMap<String, [i64; 4]> = accounts
        .iter()
        .flatten()
        .map(|a| (a.clone(), [0; 4]))
        .collect();
    for (bucket, gte, lt) in BUCKET_CRITERIA {
        let wanted = &accounts[bucket];
        if wanted.is_empty() {
            continue;
        }
        let before = created_before[bucket];
        let top = account_groups(c, id, (gte, lt), before, None).await?;
        let full = top.len() >= GROUP_LIMIT as usize;
        let mut answered = std::collections::BTreeSet::new();
        for (account, n) in top {
            if wanted.contains(&account) {
                if let Some(counts) = out.get_mut(&account) {
                    counts[bucket] += n;
                }
            }
            answered.insert(account);
        }
        if !full {
            continue;
        }
        let rest: Vec<String> = wanted
            .iter()
            .filter(|a| !answered.contains(*a))
            .cloned()
            .collect();
        for chunk in rest.chunks(CRITERION_VALUES) {
            for (account, n) in account_groups(c, id, (gte, lt), before, Some(chunk)).await? {
                // An account we did not ask for would mean the criterion was not applied, and
                // the counts of the others could be cut off: refuse the answer.
                let Some(counts) = out.get_mut(&account).filter(|_| chunk.contains(&account))
                else {
                    return Err(CollectError::new(
                        "GetFindingsStatistics",
                        &c.account_id,
                        &c.region,
                        ErrorKind::Malformed,
                        format!("the answer counts account {account}, which the accountId criterion left out"),
                    ));
                };
                counts[bucket] += n;
            }
        }
    }
    Ok(out)
}

/// One GetFindingsStatistics `groupBy ACCOUNT` call over non-archived findings with severity in
/// `[gte, lt)`, created before `created_before` (milliseconds since the epoch) when given,
/// restricted to `only` (at most [`CRITERION_VALUES`] ids) when given: (account, findings) for
/// the top 100 accounts by count.
async fn account_groups(
    c: &RegionClients,
    id: &str,
    (gte, lt): (Option<i64>, Option<i64>),
    created_before: Option<i64>,
    only: Option<&[String]>,
) -> Result<Vec<(String, i64)>, CollectError> {
    let crit = criteria(Some((gte, lt)), created_before, only);
    let answer = statistics(c, id, GroupByType::Account, crit).await?;
    Ok(answer
        .finding_statistics()
        .map(|s| s.grouped_by_account())
        .unwrap_or_default()
        .iter()
        .filter_map(|g| {
            Some((
                g.account_id()?.to_string(),
                i64::from(g.total_findings().unwrap_or(0)).max(0),
            ))
        })
        .collect())
}

/// The organization's auto-enable settings (DescribeOrganizationConfiguration, every page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgConfiguration {
    /// `autoEnableOrganizationMembers`: NEW, ALL or NONE (raw spelling; empty when absent).
    pub auto_enable_members: String,
    /// Per feature and additional configuration, its `autoEnable` (NEW, ALL, NONE) as the
    /// feature's `status`.
    pub auto_enable: Vec<Feature>,
}

/// DescribeOrganizationConfiguration, every page.
pub async fn org_configuration(
    c: &RegionClients,
    id: &str,
) -> Result<OrgConfiguration, CollectError> {
    let mut members = String::new();
    let pages = c
        .guardduty(|g| {
            g.describe_organization_configuration()
                .detector_id(id)
                .max_results(50)
        })
        .all_pages(|out| {
            if let Some(a) = out.auto_enable_organization_members() {
                members = a.as_str().to_string();
            }
            let mut v = Vec::new();
            for f in out.features() {
                let Some(name) = f.name() else { continue };
                let plan = name.as_str().to_string();
                v.push(Feature {
                    plan: plan.clone(),
                    name: plan.clone(),
                    status: f.auto_enable().map(|s| s.as_str()).unwrap_or("").into(),
                });
                for a in f.additional_configuration() {
                    if let Some(n) = a.name() {
                        v.push(Feature {
                            plan: plan.clone(),
                            name: n.as_str().to_string(),
                            status: a.auto_enable().map(|s| s.as_str()).unwrap_or("").into(),
                        });
                    }
                }
            }
            Ok(v)
        })
        .await?;
    Ok(OrgConfiguration {
        auto_enable_members: members,
        auto_enable: pages,
    })
}

/// GetOrganizationStatistics: accounts of the organization as GuardDuty counts them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgStatistics {
    /// (kind, count) for total, member, active and enabled accounts, those AWS answered.
    pub accounts: Vec<(&'static str, i64)>,
    /// Accounts with each feature or additional configuration enabled: (plan, name, count).
    pub by_feature: Vec<(String, String, i64)>,
}

/// GetOrganizationStatistics.
pub async fn org_statistics(c: &RegionClients) -> Result<OrgStatistics, CollectError> {
    let out = c.guardduty(|g| g.get_organization_statistics()).await?;
    let mut s = OrgStatistics::default();
    let Some(st) = out
        .organization_details()
        .and_then(|d| d.organization_statistics())
    else {
        return Ok(s);
    };
    for (k, v) in [
        ("total", st.total_accounts_count()),
        ("member", st.member_accounts_count()),
        ("active", st.active_accounts_count()),
        ("enabled", st.enabled_accounts_count()),
    ] {
        if let Some(v) = v {
            s.accounts.push((k, i64::from(v)));
        }
    }
    for f in st.count_by_feature() {
        let Some(name) = f.name() else { continue };
        let plan = name.as_str().to_string();
        s.by_feature.push((
            plan.clone(),
            plan.clone(),
            i64::from(f.enabled_accounts_count().unwrap_or(0)),
        ));
        for a in f.additional_configuration() {
            if let Some(n) = a.name() {
                s.by_feature.push((
                    plan.clone(),
                    n.as_str().to_string(),
                    i64::from(a.enabled_accounts_count().unwrap_or(0)),
                ));
            }
        }
    }
    Ok(s)
}

/// The coverage statuses asked for, one GetCoverageStatistics call each.
pub const COVERAGE_STATUSES: [&str; 2] = ["HEALTHY", "UNHEALTHY"];

/// Runtime-monitoring coverage as (resource type, coverage status, resources): one
/// GetCoverageStatistics `COUNT_BY_RESOURCE_TYPE` per coverage status, so the counts cross both.
pub async fn coverage(
    c: &RegionClients,
    id: &str,
) -> Result<Vec<(String, &'static str, i64)>, CollectError> {
    let mut out = Vec::new();
    for status in COVERAGE_STATUSES {
        let criteria = CoverageFilterCriteria::builder()
            .filter_criterion(
                CoverageFilterCriterion::builder()
                    .criterion_key(CoverageFilterCriterionKey::CoverageStatus)
                    .filter_condition(CoverageFilterCondition::builder().equals(status).build())
                    .build(),
            )
            .build();
        let answer = c
            .guardduty(|g| {
                g.get_coverage_statistics()
                    .detector_id(id)
                    .statistics_type(CoverageStatisticsType::CountByResourceType)
                    .filter_criteria(criteria)
            })
            .await?;
        let mut counts: Vec<(String, i64)> = answer
            .coverage_statistics()
            .and_then(|s| s.count_by_resource_type())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_string(), (*v).max(0)))
                    .collect()
            })
            .unwrap_or_default();
        counts.sort();
        out.extend(counts.into_iter().map(|(t, n)| (t, status, n)));
    }
    Ok(out)
}

/// The ACTIVE accounts of the organization (Organizations ListAccounts, every page).
pub async fn active_accounts(c: &RegionClients) -> Result<Vec<String>, CollectError> {
    c.organizations(|o| o.list_accounts().max_results(20))
        .all_pages(|page| {
            Ok(page
                .accounts()
                .iter()
                .filter(|a| {
                    let state = a
                        .state()
                        .map(|s| s.as_str().to_string())
                        .or_else(|| a.status().map(|s| s.as_str().to_string()))
                        .unwrap_or_default();
                    state == "ACTIVE"
                })
                .filter_map(|a| a.id().map(str::to_string))
                .collect())
        })
        .await
}
