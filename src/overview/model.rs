//! The overview's model: its sections and items, the query, and how they are computed from the
//! store's status rows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::config::Signal;
use crate::metrics::{Concern, Family};
use crate::store::exceptions::Exceptions;
use crate::store::{StatusRow, Store};

/// Rows a page shows, per section and in the job table.
pub const PAGE: usize = 50;

/// One thing that needs attention.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The account it is about.
    pub account_id: String,
    /// Its name, where discovery knows it.
    pub account_name: Option<String>,
    /// The region (empty for organization-wide items).
    pub region: String,
    /// What is wrong, in a few words (the rule, the recorder, the collector, ...).
    pub subject: String,
    /// AWS's error code or the state, as exported.
    pub code: String,
    /// AWS's message or the exporter's, where there is one.
    pub message: String,
    /// When the exporter last read it.
    pub seen: Option<SystemTime>,
    /// The exception that accepts it, if one does: it stays listed (and counted, as `/metrics`
    /// counts it), marked excepted, and the alert rules skip it.
    pub exception: Option<String>,
}

/// One exception of the configuration, as the overview lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionRow {
    /// Its name.
    pub name: String,
    /// `account ...` or `OU ...`, and the region or `all regions`.
    pub scope: String,
    /// What it silences.
    pub signal: String,
    /// Who owns the gap.
    pub owner: String,
    /// Why it is accepted.
    pub reason: String,
    /// Its review date, as written.
    pub review: String,
    /// The review date has passed (`PostureExceptionReviewOverdue` fires).
    pub overdue: bool,
    /// Accounts it covers now (an OU's, as last walked).
    pub accounts: usize,
    /// Items of the sections it covers now.
    pub items: usize,
}

/// The exception signal an item of the overview belongs to, so the page marks as excepted what
/// the alert rules skip: by its section, and for Security Hub's by what the item says.
pub fn signal_of(concern: Concern, code: &str, subject: &str) -> Option<Signal> {
    Some(match concern {
        Concern::Recorders => Signal::ConfigRecorder,
        Concern::NonCompliant => Signal::ConfigRuleNoncompliant,
        Concern::Findings | Concern::Overdue => Signal::GuarddutyFindings,
        Concern::ConfigFlow => Signal::ConfigDataFlow,
        Concern::GuardDuty | Concern::Plans => Signal::Guardduty,
        Concern::SecurityHub if code == "CRITICAL" => Signal::SecurityHubFindings,
        Concern::SecurityHub if code == "disabled" || subject.starts_with("standard ") => {
            Signal::SecurityHub
        }
        Concern::SecurityHub if code == "FAILED" && subject.ends_with("failed controls") => {
            Signal::SecurityHubControls
        }
        Concern::SecurityHub | Concern::FailedDeployment => return None,
    })
}

/// One kind of trouble and its items.
#[derive(Debug, Clone)]
pub struct Section {
    /// Anchor and query value (`failed_deployments`, ...).
    pub id: &'static str,
    /// Heading.
    pub title: &'static str,
    /// What is counted, as a PromQL expression over `/metrics` would count it.
    pub counts: &'static str,
    /// Every item, sorted (account, region, subject).
    pub items: Vec<Item>,
}

/// Job states a filter can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// The last attempt failed.
    Failing,
    /// The last attempt succeeded.
    Ok,
    /// No attempt finished yet.
    Pending,
}

impl JobState {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Failing => "failing",
            JobState::Ok => "ok",
            JobState::Pending => "pending",
        }
    }

    fn of(r: &StatusRow) -> JobState {
        match (&r.last_attempt, r.failing()) {
            (None, _) => JobState::Pending,
            (Some(_), false) => JobState::Ok,
            (Some(_), true) => JobState::Failing,
        }
    }
}

/// What the request asked for: a section's list or the overview, a page, and the job filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Only this section, paged.
    pub section: Option<String>,
    /// Page (0-based) of the section or of the job table.
    pub page: usize,
    /// Jobs of this collector.
    pub collector: Option<String>,
    /// Jobs of this account (id or a part of its name).
    pub account: Option<String>,
    /// Jobs of this region.
    pub region: Option<String>,
    /// Jobs in this state.
    pub state: Option<JobState>,
}

impl Query {
    /// Reads `?section=...&page=...&collector=...&account=...&region=...&state=...`; unknown
    /// keys and empty values are ignored, a page that is not a number is the first.
    pub fn parse(query: Option<&str>) -> Query {
        let mut q = Query::default();
        for (k, v) in query.unwrap_or("").split('&').filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((k, percent_decode(v)?))
        }) {
            let v = v.trim().to_string();
            if v.is_empty() {
                continue;
            }
            match k {
                "section" => q.section = Some(v),
                "page" => q.page = v.parse::<usize>().unwrap_or(1).saturating_sub(1),
                "collector" => q.collector = Some(v),
                "account" => q.account = Some(v),
                "region" => q.region = Some(v),
                "state" => {
                    q.state = match v.as_str() {
                        "failing" => Some(JobState::Failing),
                        "ok" => Some(JobState::Ok),
                        "pending" => Some(JobState::Pending),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        q
    }
}

/// `application/x-www-form-urlencoded` decoding; `None` for invalid UTF-8. Public for the fuzz
/// targets.
pub fn percent_decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            // Two hex digits exactly: `u8::from_str_radix` would also take a sign (`%+1`).
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| char::from(c).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// One row of the job table.
#[derive(Debug, Clone)]
pub struct JobRow {
    /// The status row.
    pub row: StatusRow,
    /// The account's name, where known.
    pub account_name: Option<String>,
    /// Its state.
    pub state: JobState,
}

/// What the overview shows, computed once per change of the store: the sections and every job,
/// in the order the job table lists them. Requests share it and only filter and page it, so a
/// page costs its rows, not the organization's size.
#[derive(Debug)]
pub struct Digest {
    /// The store's revision it was computed at ([`Store::revision`]).
    pub revision: u64,
    /// When it was computed.
    pub generated_at: SystemTime,
    /// Accounts the exporter reads (distinct account ids of its jobs).
    pub accounts: usize,
    /// Jobs, and how many of them fail.
    pub jobs: usize,
    /// Jobs whose last attempt failed.
    pub jobs_failing: usize,
    /// The sections, in a fixed order.
    pub sections: Vec<Section>,
    /// Every job: failing first, then pending, then by key.
    pub all_jobs: Vec<JobRow>,
    /// Account names by id.
    pub names: BTreeMap<String, String>,
    /// The configuration's exceptions, in its order.
    pub exceptions: Vec<ExceptionRow>,
}

/// The overview as one request sees it: the digest and the jobs its filter matches.
#[derive(Debug, Clone)]
pub struct Overview {
    digest: Arc<Digest>,
    /// Indices into `digest.all_jobs` of the jobs that match the filter, in order.
    matching: Vec<u32>,
    /// How far each discovery target's listing of the organization is (read live, not part of
    /// the digest: a listing moves on every page, the store's revision does not).
    pub listings: Vec<(String, crate::store::readiness::Listing)>,
    /// No listing is running and every job has finished an attempt that is served (read live).
    pub complete: bool,
}

impl std::ops::Deref for Overview {
    type Target = Digest;
    fn deref(&self) -> &Digest {
        &self.digest
    }
}

/// The last digest computed, reused while the store has not changed. Concurrent requests after a
/// change wait for one computation instead of each making their own.
#[derive(Debug, Default)]
pub struct Digests {
    last: std::sync::Mutex<Option<Arc<Digest>>>,
}

impl Digests {
    /// The digest of what `store` holds now: the last one if the store has not changed since.
    pub fn get(&self, store: &Store) -> Arc<Digest> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        // Read before the rows: a change in between makes the digest look older than it is,
        // so the next request computes again; it never makes a stale digest look current.
        let revision = store.revision();
        if let Some(d) = last.as_ref().filter(|d| d.revision == revision) {
            return d.clone();
        }
        let d = Arc::new(Digest::compute(store, revision));
        *last = Some(d.clone());
        d
    }
}

impl Overview {
    /// The overview of `digest` with the job table filtered by `q`.
    pub fn new(digest: Arc<Digest>, q: &Query) -> Overview {
        let matching = (0..digest.all_jobs.len() as u32)
            .filter(|&i| matches(&digest.all_jobs[i as usize], q))
            .collect();
        Overview {
            digest,
            matching,
            listings: Vec::new(),
            complete: false,
        }
    }

    /// Computes the overview from what `store` holds now (no cache), the job table filtered by
    /// `q`.
    pub fn compute(store: &Store, q: &Query) -> Overview {
        let mut o = Overview::new(Arc::new(Digest::compute(store, store.revision())), q);
        o.listings = store.listings();
        o.complete = store.settled();
        o
    }

    /// How many jobs match the filter.
    pub fn matching_len(&self) -> usize {
        self.matching.len()
    }

    /// The matching jobs in `range` (of [`Overview::page_of`]).
    pub fn matching_page(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &JobRow> {
        self.matching[range]
            .iter()
            .map(|&i| &self.digest.all_jobs[i as usize])
    }

    /// The page `page` of a list of `len` rows: the range of rows it shows and the page count.
    pub fn page_of(len: usize, page: usize) -> (std::ops::Range<usize>, usize) {
        let pages = len.div_ceil(PAGE).max(1);
        let page = page.min(pages - 1);
        (page * PAGE..((page + 1) * PAGE).min(len), pages)
    }
}

/// The enabled regions a watching collector does not read, from the region coverage the
/// scheduler published among the extra families.
fn unwatched_regions(
    extras: &[Arc<Vec<Family>>],
    name: &dyn Fn(&str) -> Option<String>,
    exceptions: &Exceptions,
) -> Vec<Item> {
    crate::targets::regions::unwatched(extras)
        .into_iter()
        .map(|(account_id, region, collector)| Item {
            exception: exceptions
                .covering(Signal::RegionUnwatched, &account_id, &region)
                .map(|e| e.name.clone()),
            account_name: name(&account_id),
            message: format!(
                "the region is enabled in the account but {collector} does not read it: add it to the collector's regions, or set an exception"
            ),
            account_id,
            region,
            subject: collector,
            code: "unwatched".to_string(),
            seen: None,
        })
        .collect()
}

impl Digest {
    /// Computes the digest of what `store` holds now, labelled with `revision`.
    pub fn compute(store: &Store, revision: u64) -> Digest {
        Self::from_rows(
            revision,
            store.status(),
            &store.extras(),
            &store.exceptions(),
        )
    }

    /// Computes the digest from status rows (with their snapshots), the extra families and the
    /// exceptions in force.
    pub fn from_rows(
        revision: u64,
        rows: Vec<StatusRow>,
        extras: &[Arc<Vec<Family>>],
        exceptions: &Exceptions,
    ) -> Digest {
        let names = crate::targets::account_names(extras);
        let name = |id: &str| names.get(id).cloned();
        let mut by_concern: BTreeMap<Concern, Vec<Item>> = BTreeMap::new();
        let mut collectors = Vec::new();
        for r in &rows {
            if let Some(e) = r.last_error() {
                collectors.push(Item {
                    account_id: r.key.account_id.clone(),
                    account_name: name(&r.key.account_id),
                    region: r.key.region.clone(),
                    subject: r.key.collector.name().to_string(),
                    code: e.kind.as_str().to_string(),
                    message: e.message,
                    seen: r.last_attempt,
                    exception: None,
                });
            }
            for a in &r.items {
                let exception = signal_of(a.concern, &a.code, &a.subject)
                    .and_then(|sig| exceptions.covering(sig, &a.account_id, &a.region))
                    .map(|e| e.name.clone());
                by_concern.entry(a.concern).or_default().push(Item {
                    account_id: a.account_id.clone(),
                    account_name: name(&a.account_id),
                    region: a.region.clone(),
                    subject: a.subject.clone(),
                    code: a.code.clone(),
                    message: a.message.clone(),
                    seen: r.last_success,
                    exception,
                });
            }
        }
        let mut take = |c: Concern| by_concern.remove(&c).unwrap_or_default();
        let sections = vec![
            section("failed_deployments", "Failed member deployments", "count(aws_config_org_rule_member_status{status=~\".*_FAILED\"} == 1) + count(aws_config_org_conformance_pack_member_status{status=~\".*_FAILED\"} == 1)", take(Concern::FailedDeployment)),
            section("noncompliant", "Non-compliant rules and conformance packs", "count(aws_config_rule_noncompliant_resources) + count(aws_config_conformance_pack_noncompliant_rules > 0)", take(Concern::NonCompliant)),
            section("findings", "High and critical GuardDuty findings", "count by (account_id, region) (aws_guardduty_findings{severity=~\"high|critical\"} > 0)", take(Concern::Findings)),
            section("overdue", "GuardDuty findings past their remediation age", "count by (account_id, region) (aws_guardduty_findings_overdue > 0)", take(Concern::Overdue)),
            section("recorders", "Config recorders off or failing", "count(aws_config_recorders{kind=\"customer_managed\"} == 0) + count(aws_config_recorder_recording == 0) + count(aws_config_recorder_last_status{status=\"Failure\"} == 1)", take(Concern::Recorders)),
            section("config_flow", "Config data not flowing: failed deliveries, failing rule evaluations, partial recorders", "count(aws_config_delivery_failing == 1) + count(aws_config_rule_evaluation_failing == 1) + count(aws_config_recorder_partial == 1)", take(Concern::ConfigFlow)),
            section("guardduty", "GuardDuty off or not covering an account", "count(aws_guardduty_detectors == 0) + count(aws_guardduty_detector_enabled == 0) + count(aws_guardduty_org_account_not_covered == 1)", take(Concern::GuardDuty)),
            section("plans", "GuardDuty protection plans disabled", "count(aws_guardduty_feature_status{status=\"DISABLED\"} == 1)", take(Concern::Plans)),
            section("securityhub", "Security Hub: failing controls, critical findings, off or failed", "count(aws_securityhub_failed_controls > 0) + count(aws_securityhub_findings{severity=\"CRITICAL\"} > 0) + count(aws_securityhub_enabled == 0) + count(aws_securityhub_standard_status{status=~\"FAILED|INCOMPLETE\"} == 1) + count(aws_securityhub_policy_association_failed == 1)", take(Concern::SecurityHub)),
            section("regions", "Enabled regions nobody watches", "count(aws_account_region_unwatched == 1)", unwatched_regions(extras, &name, exceptions)),
            section("collectors", "Collectors failing", "count(posture_exporter_collector_up == 0)", collectors),
        ];
        let accounts = rows
            .iter()
            .map(|r| r.key.account_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let jobs = rows.len();
        let jobs_failing = rows.iter().filter(|r| r.failing()).count();
        let mut all_jobs: Vec<JobRow> = rows
            .into_iter()
            .map(|row| JobRow {
                account_name: names.get(&row.key.account_id).cloned(),
                state: JobState::of(&row),
                row,
            })
            .collect();
        // Failing first, then pending, then by key (already the rows' order; the sort is stable).
        all_jobs.sort_by_key(|j| match j.state {
            JobState::Failing => 0,
            JobState::Pending => 1,
            JobState::Ok => 2,
        });
        let mut covered: BTreeMap<&str, usize> = BTreeMap::new();
        for e in sections
            .iter()
            .flat_map(|s| &s.items)
            .filter_map(|i| i.exception.as_deref())
        {
            *covered.entry(e).or_default() += 1;
        }
        let generated_at = SystemTime::now();
        let now = crate::metrics::epoch_seconds(generated_at);
        let exceptions = exceptions
            .list
            .iter()
            .map(|e| ExceptionRow {
                name: e.name.clone(),
                scope: e.scope(),
                signal: e.signal.clone(),
                owner: e.owner.clone(),
                reason: e.reason.clone(),
                review: e.review.clone(),
                overdue: e.review_epoch().is_some_and(|t| (t as f64) < now),
                accounts: exceptions.accounts_of(e).len(),
                items: covered.get(e.name.as_str()).copied().unwrap_or(0),
            })
            .collect();
        Digest {
            revision,
            generated_at,
            exceptions,
            accounts,
            jobs,
            jobs_failing,
            sections,
            all_jobs,
            names,
        }
    }
}

fn section(
    id: &'static str,
    title: &'static str,
    counts: &'static str,
    mut items: Vec<Item>,
) -> Section {
    items.sort_by(|a, b| {
        (&a.account_id, &a.region, &a.subject).cmp(&(&b.account_id, &b.region, &b.subject))
    });
    Section {
        id,
        title,
        counts,
        items,
    }
}

fn matches(j: &JobRow, q: &Query) -> bool {
    let k = &j.row.key;
    q.collector
        .as_deref()
        .is_none_or(|c| k.collector.name() == c)
        && q.region.as_deref().is_none_or(|r| k.region == r)
        && q.state.is_none_or(|s| j.state == s)
        && q.account.as_deref().is_none_or(|a| {
            k.account_id == a
                || j.account_name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&a.to_lowercase()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::attempts::CallCounter;
    use crate::aws::ErrorKind;
    use crate::collectors::CollectorKind;
    use crate::store::{Failure, JobKey, RunReport};
    use std::time::Duration;

    fn run(result: Result<Vec<Family>, Failure>) -> RunReport {
        RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(5),
            result: result.map(Into::into),
            calls: 0,
        }
    }

    #[test]
    fn query_values_decode_two_hex_digits_only() {
        assert_eq!(percent_decode("a%2Bb+c").as_deref(), Some("a+b c"));
        assert_eq!(percent_decode("%E2%9C%93").as_deref(), Some("\u{2713}"));
        // A sign is no hex digit: `%+C` is `%`, then `+` (a space), then `C`.
        assert_eq!(percent_decode("c%2%+C").as_deref(), Some("c%2% C"));
        assert_eq!(percent_decode("%-1%4").as_deref(), Some("%-1%4"));
        assert_eq!(percent_decode("%FF"), None);
    }

    #[test]
    fn the_digest_is_reused_until_the_store_changes() {
        let store = Store::new(3, Arc::new(CallCounter::default()));
        let key = |account: &str| JobKey {
            collector: CollectorKind::ConfigRecorder,
            account_id: account.to_string(),
            region: "eu-west-1".to_string(),
        };
        store.register(key("111111111111"), "org", Duration::from_secs(60));
        let digests = Digests::default();
        let first = digests.get(&store);
        assert_eq!((first.jobs, first.jobs_failing), (1, 0));
        assert_eq!(first.all_jobs[0].state, JobState::Pending);
        // Nothing changed: the same digest, not an equal one.
        assert!(Arc::ptr_eq(&first, &digests.get(&store)));

        let failure = Failure {
            kind: ErrorKind::Throttled,
            message: "Rate exceeded".to_string(),
        };
        store.record(&key("111111111111"), run(Err(failure)));
        let failing = digests.get(&store);
        assert!(!Arc::ptr_eq(&first, &failing));
        assert_eq!(failing.jobs_failing, 1);
        assert_eq!(failing.sections.last().map(|s| s.items.len()), Some(1));

        // A new job, then a good run: each change is seen by the next request.
        store.register(key("222222222222"), "org", Duration::from_secs(60));
        assert_eq!(digests.get(&store).jobs, 2);
        store.record(&key("111111111111"), run(Ok(Vec::new())));
        let d = digests.get(&store);
        assert_eq!((d.jobs, d.jobs_failing), (2, 0));
        // The job table's order: pending before ok.
        let order: Vec<_> = d.all_jobs.iter().map(|j| j.state).collect();
        assert_eq!(order, [JobState::Pending, JobState::Ok]);
        // A filter sees the digest through the query, without recomputing it.
        let q = Query::parse(Some("state=ok"));
        let o = Overview::new(d.clone(), &q);
        assert_eq!(o.matching_len(), 1);
        assert_eq!(
            o.matching_page(0..1)
                .next()
                .map(|j| j.row.key.account_id.as_str()),
            Some("111111111111")
        );
        store.remove(&key("222222222222"));
        assert_eq!(digests.get(&store).jobs, 1);
    }

    #[test]
    fn queries_decode_and_bad_values_are_ignored() {
        let q = Query::parse(Some("section=findings&page=3&account=Prod%20%22blue%22+x&state=failing&region=&junk=1&collector=guardduty"));
        assert_eq!(q.section.as_deref(), Some("findings"));
        assert_eq!(q.page, 2);
        assert_eq!(q.account.as_deref(), Some("Prod \"blue\" x"));
        assert_eq!(q.state, Some(JobState::Failing));
        assert_eq!(q.region, None);
        assert_eq!(q.collector.as_deref(), Some("guardduty"));
        let q = Query::parse(Some("page=x&state=weird&account=%ZZ%4"));
        assert_eq!(q.page, 0);
        assert_eq!(q.state, None);
        assert_eq!(q.account.as_deref(), Some("%ZZ%4"));
        assert_eq!(Query::parse(None), Query::default());
        // Invalid UTF-8 after decoding: the value is dropped, not the request.
        assert_eq!(Query::parse(Some("account=%ff")).account, None);
    }

    #[test]
    fn items_an_exception_covers_are_marked_and_exceptions_listed() {
        use crate::config::ExceptionConfig;
        use crate::metrics::{Attention, Reading};
        let store = Store::new(3, Arc::new(CallCounter::default()));
        let key = |account: &str| JobKey {
            collector: CollectorKind::ConfigRecorder,
            account_id: account.to_string(),
            region: "eu-west-1".to_string(),
        };
        let off = |account: &str| Attention {
            concern: Concern::Recorders,
            account_id: account.to_string(),
            region: "eu-west-1".to_string(),
            subject: "no configuration recorder".to_string(),
            code: "none".to_string(),
            message: String::new(),
        };
        for a in ["111111111111", "222222222222"] {
            store.register(key(a), "org", Duration::from_secs(60));
            let reading = Reading {
                families: Vec::new(),
                items: vec![off(a)],
            };
            store.record(
                &key(a),
                RunReport {
                    started: SystemTime::now(),
                    duration: Duration::from_millis(5),
                    result: Ok(reading.into()),
                    calls: 0,
                },
            );
        }
        let exception = |name: &str, signal: &str, review: &str| ExceptionConfig {
            name: name.into(),
            account_id: Some("111111111111".into()),
            ou: None,
            region: None,
            signal: signal.into(),
            owner: "platform".into(),
            reason: "sandbox".into(),
            review: review.into(),
        };
        store.set_exceptions(vec![
            exception("sandbox", "config_recorder", "2000-01-01"),
            exception("other", "guardduty", "2999-01-01"),
        ]);
        let d = Digests::default().get(&store);
        let recorders = d.sections.iter().find(|s| s.id == "recorders").unwrap();
        // Both stay counted, as /metrics counts them; only the covered one is marked.
        let marks: Vec<_> = recorders
            .items
            .iter()
            .map(|i| (i.account_id.as_str(), i.exception.as_deref()))
            .collect();
        assert_eq!(
            marks,
            [("111111111111", Some("sandbox")), ("222222222222", None)]
        );
        let rows: Vec<_> = d
            .exceptions
            .iter()
            .map(|e| (e.name.as_str(), e.overdue, e.items, e.accounts))
            .collect();
        assert_eq!(rows, [("sandbox", true, 1, 1), ("other", false, 0, 1)]);
        assert_eq!(d.exceptions[0].scope, "account 111111111111, all regions");
        let page = super::super::html::render(
            &Overview::new(d.clone(), &Query::default()),
            &Query::default(),
        );
        assert!(page.contains("<h2 id=\"exceptions\">"), "{page}");
        assert!(page.contains("<tr class=\"exception overdue\">"), "{page}");
        assert_eq!(page.matches("<tr class=\"item excepted\">").count(), 1);
    }

    #[test]
    fn security_hub_items_map_to_their_signals() {
        let sh = |code: &str, subject: &str| signal_of(Concern::SecurityHub, code, subject);
        assert_eq!(
            sh("disabled", "Security Hub not enabled"),
            Some(Signal::SecurityHub)
        );
        assert_eq!(
            sh(
                "NO_AVAILABLE_CONFIGURATION_RECORDER",
                "standard cis: INCOMPLETE"
            ),
            Some(Signal::SecurityHub)
        );
        assert_eq!(
            sh("CRITICAL", "3 active CRITICAL findings"),
            Some(Signal::SecurityHubFindings)
        );
        assert_eq!(
            sh("FAILED", "cis: 2 failed controls"),
            Some(Signal::SecurityHubControls)
        );
        assert_eq!(
            signal_of(Concern::FailedDeployment, "CREATE_FAILED", "rule x"),
            None
        );
    }

    #[test]
    fn pages_are_bounded_and_clamped() {
        assert_eq!(Overview::page_of(0, 0), (0..0, 1));
        assert_eq!(Overview::page_of(120, 0), (0..50, 3));
        assert_eq!(Overview::page_of(120, 2), (100..120, 3));
        assert_eq!(Overview::page_of(120, 9), (100..120, 3));
    }
}
