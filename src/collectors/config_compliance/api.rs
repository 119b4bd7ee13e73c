//! SDK calls of `config_compliance`; the only place its SDK types appear.
//!
//! Every listing goes through [`Call::all_pages`](crate::aws::Call::all_pages), which follows
//! `NextToken` until it is absent: AWS documents that a page of the aggregate operations can be
//! empty while a token follows, so an empty page is never taken for the end.

use aws_sdk_config::types::{
    AggregateConformancePackComplianceFilters, Compliance, ComplianceType,
    ConfigRuleComplianceFilters, ConformancePackComplianceFilters, ConformancePackComplianceType,
};

use crate::aws::error::required;
use crate::aws::{CollectError, RegionClients};

/// The largest page of DescribeAggregateComplianceByConfigRules (the model's `GroupByAPILimit`:
/// 0..=1000).
pub const RULES_PAGE_LIMIT: i32 = 1000;
/// The largest page of DescribeAggregateComplianceByConformancePacks (`Limit`: 0..=100).
pub const PACKS_PAGE_LIMIT: i32 = 100;
/// The largest page of DescribeConformancePacks and GetConformancePackComplianceSummary
/// (`PageSizeLimit`: 0..=20).
pub const PACK_LIST_LIMIT: i32 = 20;
/// Pack names one GetConformancePackComplianceSummary takes at most
/// (`ConformancePackNamesToSummarizeList`: 1 to 5).
pub const SUMMARY_NAMES: usize = 5;
/// The largest page of DescribeConformancePackCompliance (0..=1000).
pub const PACK_RULES_LIMIT: i32 = 1000;
/// AWS's error code for an aggregator that does not exist.
pub const NO_SUCH_AGGREGATOR: &str = "NoSuchConfigurationAggregatorException";
/// AWS's error code for a conformance pack that does not exist (any more).
pub const NO_SUCH_PACK: &str = "NoSuchConformancePackException";

/// The compliance of one rule in one account and region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleCompliance {
    /// Account of the rule.
    pub account_id: String,
    /// Region of the rule.
    pub region: String,
    /// Rule name.
    pub rule: String,
    /// Compliance type in AWS's raw spelling; empty when AWS gave none.
    pub compliance: String,
    /// AWS's `CappedCount` of non-compliant resources, when it gave one.
    pub noncompliant_resources: Option<i64>,
    /// AWS's `CapExceeded`: the count is a floor, not the number.
    pub capped: bool,
}

/// The compliance of one conformance pack in one account and region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackCompliance {
    /// Account of the pack.
    pub account_id: String,
    /// Region of the pack.
    pub region: String,
    /// Pack name.
    pub pack: String,
    /// Compliance type in AWS's raw spelling; empty when AWS gave none.
    pub compliance: String,
    /// Rules of the pack that are non-compliant.
    pub noncompliant_rules: i64,
}

fn rule_fields(c: Option<&Compliance>) -> (String, Option<i64>, bool) {
    let compliance = c
        .and_then(|c| c.compliance_type())
        .map(|t| t.as_str().to_string())
        .unwrap_or_default();
    let count = c.and_then(|c| c.compliance_contributor_count());
    (
        compliance,
        count.map(|n| i64::from(n.capped_count())),
        count.is_some_and(|n| n.cap_exceeded()),
    )
}

/// A member that identifies an entry of an aggregate answer: without it the entry cannot be
/// placed, so the answer is refused rather than exported under an empty label.
fn member(
    v: Option<&str>,
    name: &str,
    op: &'static str,
    c: &RegionClients,
) -> Result<String, CollectError> {
    required(v.unwrap_or(""), name, op, &c.account_id, &c.region)
}

/// What an aggregate listing is narrowed to: AWS's `Filters` (a rule or pack name, a compliance
/// type, an account, a region). [`Narrow::ALL`] sends no `Filters` at all.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Narrow<'a> {
    /// Rule (or conformance pack) name.
    pub name: Option<&'a str>,
    /// Compliance type. For rules AWS supports only COMPLIANT and NON_COMPLIANT here.
    pub compliance: Option<&'a str>,
    /// Source account.
    pub account_id: Option<&'a str>,
    /// Source region.
    pub region: Option<&'a str>,
}

impl<'a> Narrow<'a> {
    /// The whole listing.
    pub const ALL: Narrow<'static> = Narrow {
        name: None,
        compliance: None,
        account_id: None,
        region: None,
    };

    /// Only results of this compliance type.
    pub fn compliance(t: &'a str) -> Self {
        Narrow {
            compliance: Some(t),
            ..Narrow::default()
        }
    }

    /// One (name, account, region), whatever its compliance.
    pub fn one(name: &'a str, account_id: &'a str, region: &'a str) -> Self {
        Narrow {
            name: Some(name),
            compliance: None,
            account_id: Some(account_id),
            region: Some(region),
        }
    }

    fn is_all(&self) -> bool {
        *self == Narrow::ALL
    }

    fn rule_filters(&self) -> Option<ConfigRuleComplianceFilters> {
        (!self.is_all()).then(|| {
            ConfigRuleComplianceFilters::builder()
                .set_config_rule_name(self.name.map(str::to_string))
                .set_compliance_type(self.compliance.map(ComplianceType::from))
                .set_account_id(self.account_id.map(str::to_string))
                .set_aws_region(self.region.map(str::to_string))
                .build()
        })
    }

    fn pack_filters(&self) -> Option<AggregateConformancePackComplianceFilters> {
        (!self.is_all()).then(|| {
            AggregateConformancePackComplianceFilters::builder()
                .set_conformance_pack_name(self.name.map(str::to_string))
                .set_compliance_type(self.compliance.map(ConformancePackComplianceType::from))
                .set_account_id(self.account_id.map(str::to_string))
                .set_aws_region(self.region.map(str::to_string))
                .build()
        })
    }
}

/// DescribeAggregateComplianceByConfigRules of `aggregator`, narrowed to `narrow`, every page.
pub async fn aggregate_rules(
    c: &RegionClients,
    aggregator: &str,
    narrow: Narrow<'_>,
) -> Result<Vec<RuleCompliance>, CollectError> {
    let op = "DescribeAggregateComplianceByConfigRules";
    let filters = narrow.rule_filters();
    c.config(|cl| {
        cl.describe_aggregate_compliance_by_config_rules()
            .configuration_aggregator_name(aggregator)
            .set_filters(filters.clone())
            .limit(RULES_PAGE_LIMIT)
    })
    .all_pages(|out| {
        out.aggregate_compliance_by_config_rules()
            .iter()
            .map(|r| {
                let (compliance, noncompliant_resources, capped) = rule_fields(r.compliance());
                Ok(RuleCompliance {
                    account_id: member(r.account_id(), "AccountId", op, c)?,
                    region: member(r.aws_region(), "AwsRegion", op, c)?,
                    rule: member(r.config_rule_name(), "ConfigRuleName", op, c)?,
                    compliance,
                    noncompliant_resources,
                    capped,
                })
            })
            .collect()
    })
    .await
}

/// DescribeAggregateComplianceByConformancePacks of `aggregator`, narrowed to `narrow`, every
/// page.
pub async fn aggregate_packs(
    c: &RegionClients,
    aggregator: &str,
    narrow: Narrow<'_>,
) -> Result<Vec<PackCompliance>, CollectError> {
    let op = "DescribeAggregateComplianceByConformancePacks";
    let filters = narrow.pack_filters();
    c.config(|cl| {
        cl.describe_aggregate_compliance_by_conformance_packs()
            .configuration_aggregator_name(aggregator)
            .set_filters(filters.clone())
            .limit(PACKS_PAGE_LIMIT)
    })
    .all_pages(|out| {
        out.aggregate_compliance_by_conformance_packs()
            .iter()
            .map(|p| {
                let comp = p.compliance();
                Ok(PackCompliance {
                    account_id: member(p.account_id(), "AccountId", op, c)?,
                    region: member(p.aws_region(), "AwsRegion", op, c)?,
                    pack: member(p.conformance_pack_name(), "ConformancePackName", op, c)?,
                    compliance: comp
                        .and_then(|x| x.compliance_type())
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    noncompliant_rules: comp.map_or(0, |x| i64::from(x.non_compliant_rule_count())),
                })
            })
            .collect()
    })
    .await
}

/// DescribeComplianceByConfigRule of the job's account and region, every page (the operation
/// takes no `Limit`).
pub async fn rules(c: &RegionClients) -> Result<Vec<RuleCompliance>, CollectError> {
    let op = "DescribeComplianceByConfigRule";
    c.config(|cl| cl.describe_compliance_by_config_rule())
        .all_pages(|out| {
            out.compliance_by_config_rules()
                .iter()
                .map(|r| {
                    let (compliance, noncompliant_resources, capped) = rule_fields(r.compliance());
                    Ok(RuleCompliance {
                        account_id: c.account_id.clone(),
                        region: c.region.clone(),
                        rule: member(r.config_rule_name(), "ConfigRuleName", op, c)?,
                        compliance,
                        noncompliant_resources,
                        capped,
                    })
                })
                .collect()
        })
        .await
}

/// DescribeConformancePacks, every page: the pack names of the job's account and region.
pub async fn pack_names(c: &RegionClients) -> Result<Vec<String>, CollectError> {
    let op = "DescribeConformancePacks";
    c.config(|cl| cl.describe_conformance_packs().limit(PACK_LIST_LIMIT))
        .all_pages(|out| {
            out.conformance_pack_details()
                .iter()
                .map(|p| {
                    required(
                        p.conformance_pack_name(),
                        "ConformancePackName",
                        op,
                        &c.account_id,
                        &c.region,
                    )
                })
                .collect()
        })
        .await
}

/// GetConformancePackComplianceSummary of at most [`SUMMARY_NAMES`] packs, every page:
/// (pack, compliance type). A pack deleted since it was listed makes AWS refuse the whole call
/// (`NoSuchConformancePackException`); `None` then, and the caller asks pack by pack.
pub async fn pack_summaries(
    c: &RegionClients,
    names: &[String],
) -> Result<Option<Vec<(String, String)>>, CollectError> {
    let op = "GetConformancePackComplianceSummary";
    let got = c
        .config(|cl| {
            cl.get_conformance_pack_compliance_summary()
                .set_conformance_pack_names(Some(names.to_vec()))
                .limit(PACK_LIST_LIMIT)
        })
        .all_pages(|out| {
            out.conformance_pack_compliance_summary_list()
                .iter()
                .map(|s| {
                    Ok((
                        required(
                            s.conformance_pack_name(),
                            "ConformancePackName",
                            op,
                            &c.account_id,
                            &c.region,
                        )?,
                        required(
                            s.conformance_pack_compliance_status().as_str(),
                            "ConformancePackComplianceStatus",
                            op,
                            &c.account_id,
                            &c.region,
                        )?,
                    ))
                })
                .collect()
        })
        .await;
    match got {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.code() == Some(NO_SUCH_PACK) => Ok(None),
        Err(e) => Err(e),
    }
}

/// ListConformancePackComplianceScores, every page (20 a page, the model's `PageSizeLimit`
/// maximum): (pack, score) for every pack of the job's account and region, the score as AWS
/// spells it (a percentage, or `INSUFFICIENT_DATA`).
pub async fn pack_scores(c: &RegionClients) -> Result<Vec<(String, String)>, CollectError> {
    let op = "ListConformancePackComplianceScores";
    c.config(|cl| {
        cl.list_conformance_pack_compliance_scores()
            .limit(PACK_LIST_LIMIT)
    })
    .all_pages(|out| {
        out.conformance_pack_compliance_scores()
            .iter()
            .map(|p| {
                Ok((
                    member(p.conformance_pack_name(), "ConformancePackName", op, c)?,
                    p.score().unwrap_or("INSUFFICIENT_DATA").to_string(),
                ))
            })
            .collect()
    })
    .await
}

/// DescribeConformancePackCompliance of one pack, NON_COMPLIANT rules only, every page: how
/// many of its rules are non-compliant; `None` when the pack was deleted meanwhile.
pub async fn pack_noncompliant_rules(
    c: &RegionClients,
    pack: &str,
) -> Result<Option<i64>, CollectError> {
    let got = c
        .config(|cl| {
            cl.describe_conformance_pack_compliance()
                .conformance_pack_name(pack)
                .filters(
                    ConformancePackComplianceFilters::builder()
                        .compliance_type(ConformancePackComplianceType::NonCompliant)
                        .build(),
                )
                .limit(PACK_RULES_LIMIT)
        })
        .all_pages(|out| {
            Ok(out
                .conformance_pack_rule_compliance_list()
                .iter()
                .filter_map(|r| r.config_rule_name().map(str::to_string))
                .collect())
        })
        .await;
    match got {
        Ok(mut rules) => {
            rules.sort();
            rules.dedup();
            Ok(Some(rules.len() as i64))
        }
        Err(e) if e.code() == Some(NO_SUCH_PACK) => Ok(None),
        Err(e) => Err(e),
    }
}
