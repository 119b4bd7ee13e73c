//! One administrator-mode run: the whole organization in one region, from the GuardDuty
//! administrator, without a role in any member.
//!
//! The core is ListDetectors and GetDetector of the administrator and ListMembers (every page):
//! without them nothing else can be asked, so their failure fails the run. The rest are parts
//! (see [`crate::collect::Part`]), each exported or failed on its own:
//! - `member protection plans`: GetMemberDetectors, 50 Enabled members a call;
//! - `findings`: GetFindingsStatistics `groupBy ACCOUNT` per severity bucket and group of at
//!   most 100 accounts (the administrator and its Enabled members);
//! - `overdue findings`: the same per severity bucket with a `createdAt` criterion (created
//!   before the bucket's remediation age), only for buckets where some account has findings;
//! - `oldest findings`: ListFindings per bucket of `oldest_findings` that has findings (sorted
//!   by `createdAt`, one id) and one GetFindings: the organization's oldest of each, read
//!   again only when a bucket's count changed or `lists_interval` passed;
//! - `organization configuration`: DescribeOrganizationConfiguration (auto-enable per plan);
//! - `organization statistics`: GetOrganizationStatistics;
//! - `coverage`: GetCoverageStatistics, once per coverage status;
//! - `organization accounts`: Organizations ListAccounts, kept for `accounts_refresh` (default
//!   1h; the account list changes slowly and is the costliest read at 20 accounts a page),
//!   joined with the members for `aws_guardduty_org_account_not_covered`. The listing is shared
//!   by the process per account it is made from: the jobs of the other regions and a discovery
//!   target listing from the same account reuse it (`crate::aws::org_listing`).
//!
//! - the administrator's threat-intel sets, trusted IP sets and suppression rules, which its
//!   members use, read every `lists_interval` (see [`super::lists`]).
//!
//! Pending invitations come from ListMembers (members whose relationship is Invited, with the
//! time they were invited) and the publishing frequency from the administrator's GetDetector:
//! neither costs a call.
//!
//! Calls per run with `n` members, `e` of them Enabled: 3 + ceil(n/50) + ceil(e/50) +
//! 4 * ceil((e+1)/100) + 1 + 1 + 2, plus at most 4 for overdue findings (one per bucket with
//! findings; one more per 50 accounts only in a bucket where 100 or more have overdue ones), plus at
//! most 5 for the oldest findings (3 with the default `oldest_findings`), plus ceil(accounts/20) once per `accounts_refresh` and
//! 3 + sets + filters once per `lists_interval`.

pub mod api;
pub mod convert;

use std::collections::BTreeMap;

use super::api::{get_detector, list_detectors};
use super::config::Settings;
use super::lists;
use super::lists::convert as lists_convert;
use crate::aws::CollectError;
use crate::collect::{Collected, JobContext};

/// What an administrator-mode job keeps between runs: the organization's ACTIVE accounts as
/// last read (shared with the other regions' jobs and discovery; see
/// [`crate::aws::org_listing`]).
#[derive(Debug, Default)]
pub struct State {
    accounts: Option<std::sync::Arc<Vec<String>>>,
}

/// One run.
pub async fn collect(
    ctx: &JobContext<Settings>,
    state: &mut State,
    lists_state: &mut lists::State,
) -> Result<Collected, CollectError> {
    let c = &ctx.aws;
    let (admin_account, region) = (c.account_id.as_str(), c.region.as_str());
    let ids = list_detectors(c).await?;
    let mut out = Collected::default();
    let Some(id) = ids.first().cloned() else {
        out.families = convert::core(admin_account, region, None, &[]);
        out.items = convert::core_items(admin_account, region, None, &[]);
        out.notes.push(
            "the administrator account has no GuardDuty detector in this region: no member is covered here"
                .into(),
        );
        not_covered_part(ctx, state, &[], &mut out).await;
        return Ok(out);
    };
    let admin = get_detector(c, &id).await?;
    let members = api::list_members(c, &id).await?;
    out.families = convert::core(admin_account, region, Some(&admin), &members);
    out.items = convert::core_items(admin_account, region, Some(&admin), &members);
    out.families.push(lists_convert::frequency(
        admin_account,
        region,
        Some(&admin),
    ));
    let invited: Vec<(&str, &str, Option<f64>)> = members
        .iter()
        .filter(|m| m.account_id != admin_account)
        .map(|m| {
            (
                m.account_id.as_str(),
                m.relationship_status.as_str(),
                m.invited_at,
            )
        })
        .collect();
    out.families
        .extend(lists_convert::invited_members(region, &invited));
    if members.is_empty() {
        out.notes.push(format!(
            "detector {id} has no members: the account is not the GuardDuty administrator in this region"
        ));
    }

    let enabled: Vec<String> = convert::enabled_members(&members)
        .into_iter()
        .map(|m| m.account_id.clone())
        .collect();
    let plans = api::member_detectors(c, &id, &enabled).await.map(|p| {
        for (a, why) in &p.unprocessed {
            out.notes.push(format!(
                "GetMemberDetectors did not process account {a}: {why}"
            ));
        }
        convert::member_plans(region, &p)
    });
    out.part("member protection plans", plans);

    let mut detector_of: BTreeMap<String, String> = members
        .iter()
        .filter_map(|m| Some((m.account_id.clone(), m.detector_id.clone()?)))
        .collect();
    detector_of.insert(admin_account.to_string(), id.clone());
    let mut counted = vec![admin_account.to_string()];
    counted.extend(enabled.iter().filter(|a| *a != admin_account).cloned());
    let counts = api::findings_by_account(c, &id, &counted).await;
    let known = counts.as_ref().ok().cloned();
    let findings =
        counts.map(|counts| convert::findings(admin_account, region, &detector_of, &counts));
    out.part("findings", findings);
    let ages = &ctx.settings.finding_ages;
    let ages_h = [&ages.low, &ages.medium, &ages.high, &ages.critical].map(Clone::clone);
    let cutoffs = super::convert::overdue_cutoffs(std::time::SystemTime::now(), ages.by_bucket());
    let overdue = api::overdue_by_account(c, &id, &counted, known.as_ref(), cutoffs)
        .await
        .map(|m| convert::overdue(region, &m, &ages_h));
    out.part("overdue findings", overdue);
    // The organization's oldest finding per bucket of `oldest_findings`, only in buckets where
    // some account has findings (all when the counts failed): at most 5 calls, whatever the
    // members.
    let mut ask = [known.is_none(); 4];
    let mut totals = [0i64; 4];
    for counts in known.iter().flat_map(|k| k.values()) {
        for (b, n) in counts.iter().enumerate() {
            ask[b] |= *n > 0;
            totals[b] += (*n).max(0);
        }
    }
    let wanted = ctx.settings.oldest_buckets();
    let ask = [0, 1, 2, 3].map(|b| ask[b] && wanted[b]);
    let counts = known.is_some().then_some(totals);
    let max_age = ctx.settings.lists_interval.0;
    let oldest = super::api::oldest_kept(c, &id, ask, counts, &mut lists_state.oldest, max_age)
        .await
        .map(|o| super::convert::oldest_reading(None, region, &o));
    out.part("oldest findings", oldest);

    let conf = api::org_configuration(c, &id)
        .await
        .map(|conf| convert::org_configuration(region, &conf));
    out.part("organization configuration", conf);
    let stats = api::org_statistics(c)
        .await
        .map(|s| convert::org_statistics(region, &s));
    out.part("organization statistics", stats);
    let cov = api::coverage(c, &id)
        .await
        .map(|cov| convert::coverage(admin_account, region, &cov));
    out.part("coverage", cov);

    not_covered_part(ctx, state, &members, &mut out).await;
    let read = lists::Read {
        sets: lists::Sets::Read,
        invitations: false,
    };
    lists::parts(ctx, lists_state, std::slice::from_ref(&id), read, &mut out).await;
    Ok(out)
}

/// The `organization accounts` part: the ACTIVE accounts (read again once `accounts_refresh`
/// has passed) that are not Enabled members.
async fn not_covered_part(
    ctx: &JobContext<Settings>,
    state: &mut State,
    members: &[api::OrgMember],
    out: &mut Collected,
) {
    let c = &ctx.aws;
    let listed = c
        .org_listings()
        .get_or_list(&c.account_id, ctx.settings.accounts_refresh.0, || {
            api::active_accounts(c)
        })
        .await;
    match listed {
        Ok(l) => state.accounts = Some(l.active),
        Err(e) => {
            out.failed_part("organization accounts", e);
            return;
        }
    }
    let active = state.accounts.as_deref().map(Vec::as_slice).unwrap_or(&[]);
    out.part(
        "organization accounts",
        Ok(convert::not_covered(
            &c.account_id,
            &c.region,
            active,
            members,
        )),
    );
}
