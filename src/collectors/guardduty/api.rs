//! SDK calls of `guardduty`; the only place its SDK types appear.
//!
//! Every list is read to its last page ([`Call::all_pages`](crate::aws::Call::all_pages)), each
//! page under its own permit. Findings are counted with GetFindingsStatistics `groupBy`, which
//! the current model offers in place of the deprecated `findingStatisticTypes` /
//! `countBySeverity` pair: SEVERITY for the counts, ACCOUNT on an administrator. Both are top-N
//! answers (at most 100 groups, no pagination), so we ask for 100 and say when a list came back
//! full.

use aws_sdk_guardduty::types::{Condition, FindingCriteria, GroupByType, OrderBy, SortCriteria};

use crate::aws::{CollectError, ErrorKind, RegionClients};

/// Largest `maxResults` of GetFindingsStatistics with `groupBy`.
pub const GROUP_LIMIT: i32 = 100;

/// Severity buckets as GetFindingsStatistics criteria: (bucket index, `gte`, `lt`). AWS's
/// ranges are closed by their lower edges (see `convert`), which are whole numbers, so the
/// model's integer `greaterThanOrEqual`/`lessThan` express them exactly.
pub const BUCKET_CRITERIA: [(usize, Option<i64>, Option<i64>); 4] = [
    (0, None, Some(4)),
    (1, Some(4), Some(7)),
    (2, Some(7), Some(9)),
    (3, Some(9), None),
];

/// Largest page of ListDetectors and ListMembers.
const PAGE: i32 = 50;

/// Findings of one severity value, as GuardDuty reports it (a double, not yet bucketed).
#[derive(Debug, Clone, PartialEq)]
pub struct SeverityCount {
    /// The severity value; NaN when the answer carried none.
    pub severity: f64,
    /// Current findings with that severity.
    pub count: i64,
}

/// Findings of one account, as its administrator's detector reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountCount {
    /// The account.
    pub account_id: String,
    /// Its current findings.
    pub count: i64,
}

/// A member account in an administrator's list.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The member's account id.
    pub account_id: String,
    /// The relationship status in AWS's raw spelling.
    pub relationship_status: String,
}

/// The administrator of a member account.
#[derive(Debug, Clone, PartialEq)]
pub struct Administrator {
    /// The administrator's account id.
    pub account_id: String,
    /// The relationship status in AWS's raw spelling.
    pub relationship_status: String,
}

/// A protection plan (a detector feature, or one of its additional configurations) and its
/// status, both in AWS's raw spelling.
///
/// An additional configuration keeps the plan it is listed under: AWS lists
/// `EKS_ADDON_MANAGEMENT` under both the legacy `EKS_RUNTIME_MONITORING` and the unified
/// `RUNTIME_MONITORING` while an account migrates, with a status of its own under each.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// The plan it belongs to: its own name for a feature, its feature's for an additional
    /// configuration.
    pub plan: String,
    /// `S3_DATA_EVENTS`, `EKS_ADDON_MANAGEMENT`, ... or a name AWS adds later.
    pub name: String,
    /// `ENABLED`, `DISABLED`, or a value AWS adds later.
    pub status: String,
}

/// What GuardDuty answered about one detector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectorData {
    /// The detector id.
    pub id: String,
    /// Its status in AWS's raw spelling (`ENABLED`, `DISABLED`, or a value added later).
    pub status: String,
    /// Its features and their additional configurations, flattened, as GetDetector lists them.
    pub features: Vec<Feature>,
    /// `findingPublishingFrequency` in AWS's raw spelling; empty when GetDetector left it out.
    pub publishing_frequency: String,
    /// Current findings by severity value.
    pub severities: Vec<SeverityCount>,
    /// The severity list came back full: rarer severity values may be missing.
    pub severities_truncated: bool,
    /// Every member, whatever its relationship (empty unless the account is an administrator).
    pub members: Vec<Member>,
    /// Current findings per account; asked only of an administrator.
    pub by_account: Option<Vec<AccountCount>>,
    /// The per-account list came back full: accounts past the top ones are missing.
    pub by_account_truncated: bool,
    /// The administrator of this account, when it is a member.
    pub administrator: Option<Administrator>,
}

/// What one (account, region) answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuardDutyData {
    /// The detectors still there at the end of the run.
    pub detectors: Vec<DetectorData>,
    /// Detectors that ListDetectors named but that were deleted before the run read them.
    pub vanished: Vec<String>,
}

/// An access denial names the IAM action that is missing.
pub(super) fn denied(mut err: CollectError) -> CollectError {
    if err.kind == ErrorKind::AccessDenied {
        err.message = format!(
            "missing permission guardduty:{} (add it to the role's policy, or lift the SCP that denies it): {}",
            err.operation, err.message
        );
    }
    err
}

/// Every detector id of the account in this region (ListDetectors, every page).
pub async fn list_detectors(c: &RegionClients) -> Result<Vec<String>, CollectError> {
    let listed = c
        .guardduty(|g| g.list_detectors().max_results(PAGE))
        .all_pages(|out| Ok(out.detector_ids.unwrap_or_default()))
        .await
        .map_err(denied)?;
    let mut ids: Vec<String> = Vec::new();
    for id in listed {
        // An id AWS repeats would become duplicate series (an invalid exposition).
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// GetDetector: the status and the protection plans of one detector. An error here may mean
/// the detector was deleted after ListDetectors named it; [`fetch`] tells that apart.
pub async fn get_detector(c: &RegionClients, id: &str) -> Result<DetectorData, CollectError> {
    let out = c
        .guardduty(|g| g.get_detector().detector_id(id))
        .await
        .map_err(denied)?;
    let status = out
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let status =
        crate::aws::error::required(&status, "status", "GetDetector", &c.account_id, &c.region)?;
    let mut features = Vec::new();
    for f in out.features() {
        // A feature without a name cannot be labelled; AWS always names them.
        let Some(name) = f.name() else { continue };
        features.push(Feature {
            plan: name.as_str().to_string(),
            name: name.as_str().to_string(),
            status: f.status().map(|s| s.as_str()).unwrap_or("").to_string(),
        });
        for a in f.additional_configuration() {
            if let Some(n) = a.name() {
                features.push(Feature {
                    plan: name.as_str().to_string(),
                    name: n.as_str().to_string(),
                    status: a.status().map(|s| s.as_str()).unwrap_or("").to_string(),
                });
            }
        }
    }
    Ok(DetectorData {
        id: id.to_string(),
        status,
        features,
        publishing_frequency: out
            .finding_publishing_frequency()
            .map(|f| f.as_str().to_string())
            .unwrap_or_default(),
        ..DetectorData::default()
    })
}

/// The findings part of one detector: current findings by severity value, and whether the
/// list came back full.
pub async fn severities(
    c: &RegionClients,
    id: &str,
) -> Result<(Vec<SeverityCount>, bool), CollectError> {
    let out = statistics(c, id, GroupByType::Severity, criteria(None, None, None)).await?;
    let list = out
        .finding_statistics()
        .map(|s| s.grouped_by_severity())
        .unwrap_or_default();
    let counts: Vec<SeverityCount> = list
        .iter()
        .map(|s| SeverityCount {
            severity: s.severity().unwrap_or(f64::NAN),
            count: i64::from(s.total_findings().unwrap_or(0)),
        })
        .collect();
    let full = counts.len() >= GROUP_LIMIT as usize;
    Ok((counts, full))
}

/// What the members part of one detector reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MembersData {
    /// Every member, whatever its relationship.
    pub members: Vec<Member>,
    /// Current findings per account (an administrator only).
    pub by_account: Option<Vec<AccountCount>>,
    /// The per-account list came back full.
    pub by_account_truncated: bool,
    /// The administrator of this account, when it is a member.
    pub administrator: Option<Administrator>,
}

/// The members part of one detector: ListMembers, then findings by account (an administrator)
/// or GetAdministratorAccount (anyone else).
pub async fn members(c: &RegionClients, id: &str) -> Result<MembersData, CollectError> {
    let members = list_members(c, id).await?;

    // Only an administrator has members, and an administrator cannot be a member itself, so
    // each account needs exactly one of the two calls below.
    let (by_account, by_account_truncated, administrator) = if members.is_empty() {
        (None, false, get_administrator(c, id).await?)
    } else {
        let out = statistics(c, id, GroupByType::Account, criteria(None, None, None)).await?;
        let list = out
            .finding_statistics()
            .map(|s| s.grouped_by_account())
            .unwrap_or_default();
        let counts: Vec<AccountCount> = list
            .iter()
            .map(|a| AccountCount {
                account_id: a.account_id().unwrap_or_default().to_string(),
                count: i64::from(a.total_findings().unwrap_or(0)),
            })
            .collect();
        let full = counts.len() >= GROUP_LIMIT as usize;
        (Some(counts), full, None)
    };

    Ok(MembersData {
        members,
        by_account,
        by_account_truncated,
        administrator,
    })
}

/// The criteria of current (non-archived) findings; with a severity range `[gte, lt)` (one of
/// [`BUCKET_CRITERIA`]), only those; with `created_before` (milliseconds since the epoch), only
/// those created before it; with `only`, only those of these accounts (at most 50: the model's
/// `Condition.Equals` says "Max values: 50").
///
/// `createdAt` is a documented criterion: the model's list of filter fields (FindingCriteria of
/// CreateFilter, the same shape GetFindingsStatistics and ListFindings take) names it with
/// "Type: Timestamp in Unix Epoch millisecond format. Ex: 1486685375000"; `lessThan` is a
/// `Long` there (the deprecated `lt` an `Integer`, too small for milliseconds).
pub(super) fn criteria(
    severity: Option<(Option<i64>, Option<i64>)>,
    created_before: Option<i64>,
    only: Option<&[String]>,
) -> FindingCriteria {
    let mut criteria = FindingCriteria::builder().criterion(
        "service.archived",
        Condition::builder().equals("false").build(),
    );
    if let Some((gte, lt)) = severity {
        let mut c = Condition::builder();
        if let Some(v) = gte {
            c = c.greater_than_or_equal(v);
        }
        if let Some(v) = lt {
            c = c.less_than(v);
        }
        criteria = criteria.criterion("severity", c.build());
    }
    if let Some(ms) = created_before {
        criteria = criteria.criterion("createdAt", Condition::builder().less_than(ms).build());
    }
    if let Some(only) = only {
        let in_chunk = Condition::builder().set_equals(Some(only.to_vec()));
        criteria = criteria.criterion("accountId", in_chunk.build());
    }
    criteria.build()
}

/// Current findings past their remediation age per severity bucket, as this detector counts
/// them (on an administrator, its members' too, like [`severities`]): for each bucket whose
/// `ask` is set, one GetFindingsStatistics `groupBy SEVERITY` over current findings in the
/// bucket's range created before its cutoff (`cutoffs`, milliseconds since the epoch), the
/// counts of its severity values summed. A bucket with no current findings cannot have overdue
/// ones, so the caller asks only for the buckets the findings part counted: at most 4 calls
/// per detector, none where it has no findings. The counts of all severity values in the
/// answer are summed; an answer of 100 values (the most `groupBy` gives) could miss the
/// rarest, which would take finer than one-decimal severities within a bucket three wide.
pub async fn overdue(
    c: &RegionClients,
    id: &str,
    cutoffs: [i64; 4],
    ask: [bool; 4],
) -> Result<[i64; 4], CollectError> {
    let mut out = [0i64; 4];
    for (bucket, gte, lt) in BUCKET_CRITERIA {
        if !ask[bucket] {
            continue;
        }
        let crit = criteria(Some((gte, lt)), Some(cutoffs[bucket]), None);
        let answer = statistics(c, id, GroupByType::Severity, crit).await?;
        out[bucket] = answer
            .finding_statistics()
            .map(|s| s.grouped_by_severity())
            .unwrap_or_default()
            .iter()
            .map(|s| i64::from(s.total_findings().unwrap_or(0)).max(0))
            .sum();
    }
    Ok(out)
}

/// The oldest current finding of a severity bucket: the account that holds it and when it was
/// created.
#[derive(Clone, Debug, PartialEq)]
pub struct Oldest {
    /// The finding's account (a member's, on an administrator).
    pub account_id: String,
    /// Its `createdAt`, in seconds since the epoch.
    pub created: f64,
}

/// The oldest current finding of each severity bucket whose `ask` is set, among those this
/// detector lists (on an administrator, its members' too): per bucket, ListFindings of its
/// current findings sorted by `createdAt` ascending with `maxResults` 1 (the sort's attribute
/// is "the finding attribute, such as `accountId`, that sorts the findings", and `createdAt`
/// is the finding's), then one GetFindings for the ids of every bucket (at most 4 of the 50 it
/// takes) for each one's account and `createdAt`. At most 5 calls, none where no bucket is
/// asked: the caller asks only the buckets that have current findings.
pub async fn oldest(
    c: &RegionClients,
    id: &str,
    ask: [bool; 4],
) -> Result<[Option<Oldest>; 4], CollectError> {
    let mut first: Vec<(usize, String)> = Vec::new();
    for (bucket, gte, lt) in BUCKET_CRITERIA {
        if !ask[bucket] {
            continue;
        }
        let crit = criteria(Some((gte, lt)), None, None);
        let out = c
            .guardduty(|g| {
                g.list_findings()
                    .detector_id(id)
                    .finding_criteria(crit)
                    .sort_criteria(
                        SortCriteria::builder()
                            .attribute_name("createdAt")
                            .order_by(OrderBy::Asc)
                            .build(),
                    )
                    .max_results(1)
            })
            .await
            .map_err(denied)?;
        if let Some(f) = out.finding_ids().first() {
            first.push((bucket, f.clone()));
        }
    }
    let mut result: [Option<Oldest>; 4] = Default::default();
    if first.is_empty() {
        return Ok(result);
    }
    let ids: Vec<String> = first.iter().map(|(_, f)| f.clone()).collect();
    let out = c
        .guardduty(|g| g.get_findings().detector_id(id).set_finding_ids(Some(ids)))
        .await
        .map_err(denied)?;
    for f in out.findings() {
        // Present: the call checks `id`, `accountId` and `createdAt` of every finding.
        let (fid, at) = (
            f.id().unwrap_or_default(),
            f.created_at().unwrap_or_default(),
        );
        let Some((bucket, _)) = first.iter().find(|(_, want)| want == fid) else {
            continue;
        };
        let created =
            aws_smithy_types::DateTime::from_str(at, aws_smithy_types::date_time::Format::DateTime)
                .map_err(|e| {
                    CollectError::new(
                        "GetFindings",
                        &c.account_id,
                        &c.region,
                        ErrorKind::Malformed,
                        format!("finding {fid} has createdAt `{at}`, not a date: {e}"),
                    )
                })?;
        result[*bucket] = Some(Oldest {
            account_id: f.account_id().unwrap_or_default().to_string(),
            created: created.as_secs_f64(),
        });
    }
    Ok(result)
}

/// The oldest findings of a detector as last read: at which bucket counts, for which buckets,
/// and when.
#[derive(Clone, Debug)]
pub struct OldestRead {
    detector: String,
    counts: [i64; 4],
    ask: [bool; 4],
    at: std::time::Instant,
    oldest: [Option<Oldest>; 4],
}

/// [`oldest`], or the last read's answer when it is of the same detector and buckets, at the same
/// current-finding counts per bucket (`counts`, known from this run's findings part), and younger
/// than `max_age`. A bucket's oldest current finding changes when a finding is archived (its
/// count falls) or the bucket was empty (it rises); both show in the counts, except an archive
/// and a new finding of one bucket between two runs, which `max_age` (the job's
/// `lists_interval`) bounds. Unknown counts always read. Steady, a detector costs no call here.
pub async fn oldest_kept(
    c: &RegionClients,
    id: &str,
    ask: [bool; 4],
    counts: Option<[i64; 4]>,
    kept: &mut Option<OldestRead>,
    max_age: std::time::Duration,
) -> Result<[Option<Oldest>; 4], CollectError> {
    if let (Some(counts), Some(k)) = (counts, kept.as_ref()) {
        if k.detector == id && k.counts == counts && k.ask == ask && k.at.elapsed() < max_age {
            return Ok(k.oldest.clone());
        }
    }
    let read = oldest(c, id, ask).await?;
    *kept = counts.map(|counts| OldestRead {
        detector: id.to_string(),
        counts,
        ask,
        at: std::time::Instant::now(),
        oldest: read.clone(),
    });
    Ok(read)
}

/// GetFindingsStatistics over the findings `criteria` selects, grouped by `group`, the largest
/// groups first.
pub(super) async fn statistics(
    c: &RegionClients,
    id: &str,
    group: GroupByType,
    criteria: FindingCriteria,
) -> Result<
    aws_sdk_guardduty::operation::get_findings_statistics::GetFindingsStatisticsOutput,
    CollectError,
> {
    c.guardduty(|g| {
        g.get_findings_statistics()
            .detector_id(id)
            .finding_criteria(criteria)
            .group_by(group)
            .order_by(OrderBy::Desc)
            .max_results(GROUP_LIMIT)
    })
    .await
    .map_err(denied)
}

/// Every member of the detector, whatever its relationship (ListMembers with
/// `onlyAssociated=false`, every page).
pub async fn list_members(c: &RegionClients, id: &str) -> Result<Vec<Member>, CollectError> {
    let members = c
        .guardduty(|g| {
            g.list_members()
                .detector_id(id)
                .only_associated("false")
                .max_results(PAGE)
        })
        .all_pages(|out| {
            Ok(out
                .members()
                .iter()
                .map(|m| Member {
                    account_id: m.account_id().unwrap_or_default().to_string(),
                    relationship_status: m.relationship_status().unwrap_or_default().to_string(),
                })
                .collect())
        })
        .await
        .map_err(denied)?;
    Ok(dedupe_members(members))
}

/// One account listed twice would be counted twice: the later entry wins, order kept.
fn dedupe_members(members: Vec<Member>) -> Vec<Member> {
    let mut last: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, m) in members.iter().enumerate() {
        last.insert(m.account_id.clone(), i);
    }
    members
        .into_iter()
        .enumerate()
        .filter(|(i, m)| last.get(&m.account_id) == Some(i))
        .map(|(_, m)| m)
        .collect()
}

/// The administrator of this account, if it is a member (GetAdministratorAccount answers an
/// empty administrator to an administrator or a standalone account).
async fn get_administrator(
    c: &RegionClients,
    id: &str,
) -> Result<Option<Administrator>, CollectError> {
    let out = c
        .guardduty(|g| g.get_administrator_account().detector_id(id))
        .await
        .map_err(denied)?;
    Ok(out.administrator().and_then(|a| {
        a.account_id()
            .filter(|id| !id.is_empty())
            .map(|id| Administrator {
                account_id: id.to_string(),
                relationship_status: a.relationship_status().unwrap_or_default().to_string(),
            })
    }))
}

/// Reads every detector of the account in this region: ListDetectors and GetDetector, the core
/// of a run (the findings and members of each detector are parts, read by [`severities`] and
/// [`members`]).
///
/// A BadRequestException about one detector usually means it was deleted after ListDetectors
/// named it; but the same error also answers a malformed request, which must not silently empty
/// a snapshot. So such an error makes us list the detectors again (one more call, only then):
/// a detector no longer listed is dropped and reported in `vanished`; one still listed fails
/// the run with the original error.
pub async fn fetch(c: &RegionClients) -> Result<GuardDutyData, CollectError> {
    let ids = list_detectors(c).await?;
    let mut out = GuardDutyData::default();
    for id in ids {
        match get_detector(c, &id).await {
            Ok(d) => out.detectors.push(d),
            Err(e) if e.code() == Some("BadRequestException") => {
                if list_detectors(c).await?.contains(&id) {
                    return Err(e);
                }
                out.vanished.push(id);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
