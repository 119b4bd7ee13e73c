//! `security_hub`: Security Hub across the organization, read from its delegated administrator
//! (no role in any member), one job per region of `regions`.
//!
//! Which Security Hub: `generation: auto` (the default) reads the new Security Hub where
//! DescribeSecurityHubV2 answers, Security Hub CSPM otherwise; `ocsf` and `cspm` force one.
//! Both export the same families (see `convert`).
//!
//! **The new Security Hub** (OCSF): everything comes from GetFindingStatisticsV2, at most five
//! grouping rules a call, each with its own filters, over the whole organization (the
//! administrator omits `Scopes`). "Active" is OCSF `status` New or In Progress (ASFF workflow
//! NEW and NOTIFIED). The run is rounds of rules, each round built from the answers of the one
//! before:
//! 1. (core) active findings by `metadata.product.name` and by `severity`, and control findings
//!    by `compliance.standards`: the products, severities and standards that exist;
//! 2. (part `controls`) per standard, its controls with active `compliance.status` Fail and
//!    those with Pass findings: the failing (control, standard) pairs and the score;
//! 3. per failing pair, and (part `findings`) per severity, the accounts (and the failing
//!    controls' titles, BatchGetSecurityControls, a hundred a call): grouped by
//!    `cloud.account.uid`. `MaxStatisticResults` is at most 400 and the answer does not page,
//!    so a grouping by account that comes back full is asked again as ten rules, one per next
//!    digit of a `cloud.account.uid` PREFIX filter (from the prefix the answered ids share,
//!    with one more rule, PREFIX_NOT_EQUALS that prefix, for the rest), until no answer is
//!    full: no account is cut off, and the cost grows with the accounts that have findings.
//!
//! Then what the statistics do not answer, read as in Security Hub CSPM below (the new Security
//! Hub runs its standards, controls and central configuration through Security Hub CSPM): where
//! DescribeHub says Security Hub CSPM is on for the administrator, the parts `standards` (its
//! subscriptions and their status), `members` (which accounts are not Enabled: an account
//! whose Security Hub is off has no findings for the statistics to count),
//! `organization configuration` and, in the home region, `policy associations`; where it is
//! off, a note.
//!
//! Calls per run: DescribeSecurityHubV2 (`auto`, `ocsf`), then 1 + ceil(2s/5) + the calls of
//! round 3, ceil((p + v)/5) and more for splits, for `s` standards, `p` failing (control,
//! standard) pairs and `v` counted severities; each full account grouping adds 10 or 11 rules;
//! then ceil(c/100) BatchGetSecurityControls for `c` controls failing somewhere (titles); then
//! DescribeHub, GetEnabledStandards, ceil(members/50) ListMembers,
//! DescribeOrganizationConfiguration and, in the home region,
//! ListConfigurationPolicyAssociations (a page of 100 each).
//!
//! A target that is not the delegated administrator is not refused by GetFindingStatisticsV2
//! without `Scopes` ("Other accounts see only statistics for their own findings"); it is
//! refused DescribeOrganizationConfiguration ("Only the Security Hub CSPM administrator account
//! can invoke this operation"), which fails that part in every region with a note saying so.
//!
//! **Security Hub CSPM** (ASFF): DescribeHub (core; InvalidAccessException is "not enabled
//! here", exported as `aws_securityhub_enabled` 0 and a note, not a failure), then parts:
//! `standards` (GetEnabledStandards, the administrator's own), `members` (ListMembers, every
//! member whatever its status), `organization configuration` (DescribeOrganizationConfiguration),
//! `policy associations` (ListConfigurationPolicyAssociations with AssociationStatus FAILED, in
//! the home region only), `failed controls` (GetFindings of active failed control findings)
//! and `findings` (GetFindings of active findings of `severities`, CRITICAL and HIGH by
//! default). GetFindings pages hold 100 findings and cost one call each: Security Hub CSPM has
//! no statistics call for the organization that stays read-only (GetInsightResults reads an
//! insight, and an insight of our own would need CreateInsight, a write), so these two parts cost calls in proportion to what they
//! count.
//!
//! Calls per run: 1 + ceil(standards/100) + ceil(members/50) + 1 + (home region: 1 +
//! ceil(failed associations/100)) + ceil(failed control findings/100) + ceil(findings of the
//! severities/100).

pub mod api;
pub mod config;
pub mod convert;

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{CollectError, RegionClients};
use crate::collect::{Collected, Collector, JobContext, Scope};
use api::{Cmp, Cond, FindingQuery, Query};
use config::Generation;
pub use config::Settings;
use convert::Posture;

/// Security Hub across the organization, from the delegated administrator in each region.
pub struct SecurityHub;

impl Collector for SecurityHub {
    const NAME: &'static str = "security_hub";
    const SCOPE: Scope = Scope::Org;
    const WATCHES_REGIONS: bool = true;
    type Settings = Settings;
    type State = ();

    async fn collect(ctx: &JobContext<Settings>, _: &mut ()) -> Result<Collected, CollectError> {
        collect(ctx).await
    }
}

/// The OCSF field of the account a finding is in.
const ACCOUNT: &str = "cloud.account.uid";
/// Account ids are twelve digits: a PREFIX of twelve is one account.
const ACCOUNT_DIGITS: usize = 12;

/// One run.
pub async fn collect(ctx: &JobContext<Settings>) -> Result<Collected, CollectError> {
    let c = &*ctx.aws;
    let gen = ctx.settings.generation;
    let ocsf = match gen {
        Generation::Cspm => false,
        Generation::Auto | Generation::Ocsf => {
            let on = api::hub_v2(c).await?;
            if !on && gen == Generation::Ocsf {
                let mut out =
                    Collected::from(convert::hub(&c.account_id, &c.region, "ocsf", false));
                out.notes.push(format!(
                    "Security Hub is not enabled for account {} in {} (DescribeSecurityHubV2: ResourceNotFoundException)",
                    c.account_id, c.region
                ));
                return Ok(out);
            }
            on
        }
    };
    // Boxed: the SDK's futures are large in debug builds, and the two runs' states need not
    // both sit in the caller's.
    if ocsf {
        Box::pin(ocsf_run(ctx)).await
    } else {
        Box::pin(cspm_run(ctx)).await
    }
}

/// OCSF `status` New or In Progress: the active findings.
fn active() -> Vec<Cond> {
    vec![Cond::eq("status", "New"), Cond::eq("status", "In Progress")]
}

fn query(group_by: &'static str, all: Vec<Cond>, active_only: bool) -> Query {
    Query {
        group_by,
        all,
        any: if active_only { vec![active()] } else { vec![] },
    }
}

/// One grouping to answer, under a name for `aws_securityhub_statistics_capped`.
struct Named {
    name: String,
    query: Query,
}

/// A slice of the accounts of a grouping: ids starting with `prefix` and with none of
/// `excluded` (each longer than `prefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slice {
    prefix: String,
    excluded: Vec<String>,
}

/// Most rules one grouping may be split into before it is flagged capped instead (a
/// safeguard: a split ends after at most about accounts/`max` x 11 rules).
const MOST_RULES: usize = 2_000;

/// The slices that cover a full `slice` whose answer was `values` (every one of them in the
/// slice): when the values share a longer prefix `q`, the ten slices under `q` and the slice
/// minus `q` (account ids of an organization often share their first digits); otherwise the
/// ten slices one digit longer. Exclusions go to the slices they lie in.
fn split(slice: &Slice, values: &[&str]) -> Vec<Slice> {
    let mut q = values.first().copied().unwrap_or("").to_string();
    for v in values {
        let n = q.bytes().zip(v.bytes()).take_while(|(a, b)| a == b).count();
        q.truncate(n);
    }
    let within = |p: &str| -> Vec<String> {
        slice
            .excluded
            .iter()
            .filter(|e| e.starts_with(p) && e.len() > p.len())
            .cloned()
            .collect()
    };
    let base = if q.len() > slice.prefix.len() && q.len() < ACCOUNT_DIGITS {
        q.clone()
    } else {
        slice.prefix.clone()
    };
    let mut out: Vec<Slice> = (0..10)
        .map(|d| {
            let prefix = format!("{base}{d}");
            Slice {
                excluded: within(&prefix),
                prefix,
            }
        })
        .collect();
    if base != slice.prefix {
        let mut excluded = slice.excluded.clone();
        excluded.push(base);
        out.push(Slice {
            prefix: slice.prefix.clone(),
            excluded,
        });
    }
    out
}

/// Answers `groupings`, those grouped by account split (see [`split`]) until no answer is
/// full; the others are answered once, and named in `capped` when full.
async fn answer(
    c: &RegionClients,
    groupings: &[Named],
    max: i32,
    capped: &mut BTreeSet<String>,
) -> Result<Vec<BTreeMap<String, i64>>, CollectError> {
    let full = usize::try_from(max).unwrap_or(400).max(1);
    let mut out = vec![BTreeMap::new(); groupings.len()];
    let mut rules = vec![0usize; groupings.len()];
    let whole = Slice {
        prefix: String::new(),
        excluded: Vec::new(),
    };
    let mut pending: Vec<(usize, Slice)> =
        (0..groupings.len()).map(|i| (i, whole.clone())).collect();
    while !pending.is_empty() {
        let queries: Vec<Query> = pending
            .iter()
            .map(|(i, slice)| {
                let mut q = groupings[*i].query.clone();
                if !slice.prefix.is_empty() {
                    q.all.push(Cond {
                        field: ACCOUNT,
                        cmp: Cmp::Prefix,
                        value: slice.prefix.clone(),
                    });
                }
                for e in &slice.excluded {
                    q.all.push(Cond {
                        field: ACCOUNT,
                        cmp: Cmp::PrefixNot,
                        value: e.clone(),
                    });
                }
                q
            })
            .collect();
        let answers = api::statistics(c, &queries, max).await?;
        let mut next = Vec::new();
        for ((i, slice), groups) in pending.into_iter().zip(answers) {
            rules[i] += 1;
            let by_account = groupings[i].query.group_by == ACCOUNT;
            if groups.len() >= full
                && by_account
                && slice.prefix.len() < ACCOUNT_DIGITS
                && rules[i] < MOST_RULES
            {
                let values: Vec<&str> = groups.iter().map(|(v, _)| v.as_str()).collect();
                next.extend(split(&slice, &values).into_iter().map(|s| (i, s)));
                continue;
            }
            if groups.len() >= full {
                capped.insert(groupings[i].name.clone());
            }
            for (value, n) in groups {
                *out[i].entry(value).or_default() += n;
            }
        }
        pending = next;
    }
    Ok(out)
}

async fn ocsf_run(ctx: &JobContext<Settings>) -> Result<Collected, CollectError> {
    let c = &*ctx.aws;
    let (admin, region) = (c.account_id.as_str(), c.region.as_str());
    let max = ctx.settings.max_statistic_results;
    let mut capped = BTreeSet::new();
    let fail = || Cond::eq("compliance.status", "Fail");
    let round1 = [
        Named {
            name: "active findings by metadata.product.name".into(),
            query: query("metadata.product.name", vec![], true),
        },
        Named {
            name: "active findings by severity".into(),
            query: query("severity", vec![], true),
        },
        Named {
            name: "control findings by compliance.standards".into(),
            query: Query {
                group_by: "compliance.standards",
                all: vec![],
                any: vec![vec![Cond::eq("compliance.status", "Pass"), fail()]],
            },
        },
    ];
    let r1 = answer(c, &round1, max, &mut capped).await?;
    let mut out = Collected::from(convert::hub(admin, region, "ocsf", true));
    let products: Vec<(String, i64)> = r1[0].clone().into_iter().collect();
    out.families.extend(convert::by_product(region, &products));
    // The OCSF captions (`Critical`) of the labels asked for (`CRITICAL`).
    let severities: Vec<String> = r1[1]
        .keys()
        .filter(|s| {
            let label = convert::severity_label(s);
            ctx.settings.severities.contains(&label)
        })
        .cloned()
        .collect();
    let standards: Vec<String> = r1[2].keys().cloned().collect();

    // Whether the administrator runs Security Hub CSPM here too: its controls' titles and the
    // parts the statistics do not answer are read from it.
    let cspm = api::hub(c).await;
    let cspm_on = matches!(cspm, Ok(true));

    // Round 2 and the failing pairs' accounts: the `controls` part.
    let mut titles_failed = None;
    let controls = async {
        let mut round2 = Vec::new();
        for s in &standards {
            let std = || Cond::eq("compliance.standards", s.clone());
            round2.push(Named {
                name: format!("active failed controls of {s}"),
                query: query("compliance.control", vec![fail(), std()], true),
            });
            round2.push(Named {
                name: format!("passed controls of {s}"),
                query: query(
                    "compliance.control",
                    vec![Cond::eq("compliance.status", "Pass"), std()],
                    false,
                ),
            });
        }
        let mut capped = BTreeSet::new();
        let r2 = answer(c, &round2, max, &mut capped).await?;
        let mut ratio = BTreeMap::new();
        let mut pairs = Vec::new();
        for (k, s) in standards.iter().enumerate() {
            let failed: BTreeSet<&String> = r2[2 * k].keys().collect();
            let passed = r2[2 * k + 1].keys().filter(|x| !failed.contains(x)).count();
            ratio.insert(s.clone(), (passed, failed.len()));
            pairs.extend(failed.into_iter().map(|x| (x.clone(), s.clone())));
        }
        let round3: Vec<Named> = pairs
            .iter()
            .map(|(x, s)| Named {
                name: format!("accounts failing {x} of {s}"),
                query: query(
                    ACCOUNT,
                    vec![
                        fail(),
                        Cond::eq("compliance.standards", s.clone()),
                        Cond::eq("compliance.control", x.clone()),
                    ],
                    true,
                ),
            })
            .collect();
        let r3 = answer(c, &round3, max, &mut capped).await?;
        let mut p = Posture::default();
        // The statistics name controls by id only; their titles, for the overview's items.
        let ids: Vec<String> = pairs
            .iter()
            .map(|(x, _)| x.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if cspm_on {
            match api::control_titles(c, &ids).await {
                Ok(t) => p.titles = t,
                Err(e) => titles_failed = Some(e),
            }
        }
        for ((x, s), accounts) in pairs.iter().zip(r3) {
            for (a, n) in accounts {
                if n > 0 {
                    p.failing
                        .entry((a, s.clone()))
                        .or_default()
                        .insert(x.clone());
                }
            }
        }
        let mut r = convert::failed_controls_reading(region, &p);
        r.families.extend(convert::pass_ratio(region, &ratio));
        r.families.extend(convert::capped(region, &capped));
        Ok::<_, CollectError>(r)
    }
    .await;
    out.part("controls", controls);
    // Without titles the controls are still counted and named by id: a part of its own.
    if let Some(e) = titles_failed {
        out.failed_part("control titles", e);
    }

    let findings = async {
        let groupings: Vec<Named> = severities
            .iter()
            .map(|s| Named {
                name: format!("active {s} findings by account"),
                query: query(ACCOUNT, vec![Cond::eq("severity", s.clone())], true),
            })
            .collect();
        let mut capped = BTreeSet::new();
        let r = answer(c, &groupings, max, &mut capped).await?;
        let mut p = Posture::default();
        for (s, accounts) in severities.iter().zip(r) {
            for (a, n) in accounts {
                *p.findings
                    .entry((a, convert::severity_label(s)))
                    .or_default() += n;
            }
        }
        let mut fams = convert::findings(region, &[], &[], &p);
        fams.extend(convert::capped(region, &capped));
        Ok::<_, CollectError>(convert::reading(region, fams))
    }
    .await;
    out.part("findings", findings);
    // Security Hub CSPM's standards, members and central configuration, which the statistics
    // do not answer, where the administrator runs Security Hub CSPM too.
    match cspm {
        Ok(true) => {
            standards_part(ctx, &mut out).await;
            members_part(ctx, &mut out).await;
            org_configuration_part(ctx, &mut out).await;
            associations_part(ctx, &mut out).await;
        }
        Ok(false) => out.notes.push(format!(
            "Security Hub CSPM is not enabled for account {admin} in {region} (DescribeHub: InvalidAccessException): its standards, members, central configuration and control titles are not read"
        )),
        Err(e) => out.failed_part("Security Hub CSPM", e),
    }
    out.families.extend(convert::capped(region, &capped));
    out.notes.push(format!(
        "the new Security Hub (OCSF): {} products, {} standards, {} severities",
        products.len(),
        standards.len(),
        severities.len()
    ));
    Ok(out)
}

/// The `standards` part: the administrator's own standards subscriptions (GetEnabledStandards),
/// their count and those not READY. Both generations: the new Security Hub runs its standards'
/// controls through Security Hub CSPM, and its statistics name a standard only once it has
/// findings, never its subscription's status.
async fn standards_part(ctx: &JobContext<Settings>, out: &mut Collected) {
    let c = &*ctx.aws;
    let (admin, region) = (c.account_id.as_str(), c.region.as_str());
    match api::enabled_standards(c).await {
        Ok(s) => out.part(
            "standards",
            Ok(convert::reading(
                region,
                convert::standards(admin, region, &s),
            )),
        ),
        Err(e) => out.failed_part("standards", e),
    }
}

/// The `members` part (ListMembers, every member whatever its status): a member not Enabled is
/// `aws_securityhub_enabled` 0, and members are counted per status. Both generations: the
/// statistics count findings, and an account whose Security Hub is off has none to count.
/// Returns the Enabled members.
async fn members_part(ctx: &JobContext<Settings>, out: &mut Collected) -> Vec<String> {
    let c = &*ctx.aws;
    let (admin, region) = (c.account_id.as_str(), c.region.as_str());
    match api::members(c).await {
        Ok(m) => {
            let enabled = m
                .iter()
                .filter(|(a, s)| s == "Enabled" && a != admin)
                .map(|(a, _)| a.clone())
                .collect();
            out.part(
                "members",
                Ok(convert::reading(
                    region,
                    convert::members(admin, region, &m),
                )),
            );
            enabled
        }
        Err(e) => {
            out.failed_part("members", e);
            Vec::new()
        }
    }
}

/// The `organization configuration` part (DescribeOrganizationConfiguration: LOCAL or CENTRAL,
/// and its status). "Only the Security Hub CSPM administrator account can invoke this
/// operation" (the model), so in both generations it is also the check that the target is the
/// delegated administrator: GetFindingStatisticsV2 does not refuse another account, it answers
/// for that account alone.
async fn org_configuration_part(ctx: &JobContext<Settings>, out: &mut Collected) {
    let c = &*ctx.aws;
    let region = c.region.as_str();
    match api::org_configuration(c).await {
        Ok((t, s, _)) => out.part(
            "organization configuration",
            Ok(convert::org_configuration(region, &t, &s)),
        ),
        Err(e) => {
            // The model's only refusal of this call (Security Hub CSPM is on: DescribeHub said
            // so).
            if e.code() == Some("InvalidAccessException") {
                out.notes.push(format!(
                    "account {} is not the Security Hub delegated administrator (DescribeOrganizationConfiguration: InvalidAccessException): name the administrator's target, or what is read is of this account alone",
                    c.account_id
                ));
            }
            out.failed_part("organization configuration", e);
        }
    }
}

/// The `policy associations` part, in the home region only (central configuration is managed
/// there): the configuration policy associations that FAILED (ListConfigurationPolicyAssociations),
/// each also a note with AWS's message. Both generations: central configuration is Security
/// Hub CSPM's, and it configures the standards and controls the new Security Hub reports on.
async fn associations_part(ctx: &JobContext<Settings>, out: &mut Collected) {
    let c = &*ctx.aws;
    let region = c.region.as_str();
    let home = ctx.settings.home_region.clone().or_else(|| {
        ctx.settings
            .place
            .placement()
            .listed_regions()
            .first()
            .cloned()
    });
    if home.as_deref().is_some_and(|h| h != region) {
        return;
    }
    match api::failed_associations(c).await {
        Ok(f) => {
            for a in f.iter().take(50) {
                out.notes.push(format!(
                    "configuration policy association of {} {} FAILED: {}",
                    a.target_type, a.target_id, a.message
                ));
            }
            out.part(
                "policy associations",
                Ok(convert::associations_reading(region, &f)),
            );
        }
        Err(e) => out.failed_part("policy associations", e),
    }
}

async fn cspm_run(ctx: &JobContext<Settings>) -> Result<Collected, CollectError> {
    let c = &*ctx.aws;
    let (admin, region) = (c.account_id.as_str(), c.region.as_str());
    if !api::hub(c).await? {
        let mut out = Collected::from(convert::reading(
            region,
            convert::hub(admin, region, "cspm", false),
        ));
        out.notes.push(format!(
            "Security Hub CSPM is not enabled for account {admin} in {region} (DescribeHub: InvalidAccessException)"
        ));
        return Ok(out);
    }
    let mut out = Collected::from(convert::hub(admin, region, "cspm", true));
    standards_part(ctx, &mut out).await;

    let mut listed: Vec<String> = vec![admin.to_string()];
    listed.extend(members_part(ctx, &mut out).await);
    org_configuration_part(ctx, &mut out).await;
    associations_part(ctx, &mut out).await;

    let failed = Box::pin(api::findings(c, FindingQuery::FailedControls))
        .await
        .map(|found| {
            let mut p = Posture::default();
            for f in found.iter().filter(|f| !f.control.is_empty()) {
                p.titles
                    .entry(f.control.clone())
                    .or_insert_with(|| f.title.clone());
                for s in &f.standards {
                    p.failing
                        .entry((f.account_id.clone(), s.clone()))
                        .or_default()
                        .insert(f.control.clone());
                }
            }
            convert::failed_controls_reading(region, &p)
        });
    out.part("failed controls", failed);

    let severities = &ctx.settings.severities;
    if !severities.is_empty() {
        let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
        let found = Box::pin(api::findings(c, FindingQuery::Severities(severities)))
            .await
            .map(|found| {
                let mut p = Posture::default();
                for f in found {
                    *p.findings.entry((f.account_id, f.severity)).or_default() += 1;
                }
                convert::reading(region, convert::findings(region, &listed, severities, &p))
            });
        out.part("findings", found);
    }
    out.notes.push("Security Hub CSPM (ASFF)".to_string());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(prefix: &str, excluded: &[&str]) -> Slice {
        Slice {
            prefix: prefix.into(),
            excluded: excluded.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_full_slice_jumps_to_the_shared_prefix_and_keeps_the_rest() {
        let got = split(
            &slice("", &[]),
            &["436212000001", "436212000017", "436212999999"],
        );
        assert_eq!(got.len(), 11);
        assert_eq!(got[0], slice("4362120", &[]));
        assert_eq!(got[9], slice("4362129", &[]));
        assert_eq!(got[10], slice("", &["436212"]));
        // Nothing shared past the prefix: one digit more, exclusions where they lie.
        let got = split(&slice("", &["436212"]), &["111111111111", "436399999999"]);
        assert_eq!(got.len(), 10);
        assert_eq!(got[4], slice("4", &["436212"]));
        assert_eq!(got[1], slice("1", &[]));
    }
}
