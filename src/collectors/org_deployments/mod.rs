//! What organization Config rules and organization conformance packs share: both are deployed by
//! AWS Config from one account to every member, and both are read the same cheap way. This
//! module is that way, once: the settings section, the incremental member scan, and the metric
//! families. `config_org_rules` and `config_org_conformance_packs` supply only their SDK calls,
//! names and descriptors.
//!
//! # The incremental member scan
//!
//! Per-member detail is by far the dearest part: detail pages hold 100 members, so a naive
//! cycle costs `2L + R·P` calls, with `R` deployments (rules or packs), `L = ⌈R/100⌉` list pages
//! and `P = ⌈members/100⌉` detail pages each. But a deployment's member statuses change only
//! when AWS deploys something (a put, a delete, an account joining or leaving), and each such
//! change moves its organization status or its `LastUpdateTime`. So each run, after listing
//! every status and definition ([`Fingerprint`]):
//!
//! 1. A full member scan (no filter, `P` calls) only for the deployments whose fingerprint
//!    (organization status, status time, definition time, excluded accounts) differs from the
//!    one of their last scan, kept in [`Scans`]. A scan yields all nine member counts and the
//!    members in the detail statuses; deployments that are not `*_SUCCESSFUL` go first, since
//!    they hold what needs attention.
//! 2. One safety check per run, so that a change AWS made without moving the status time can
//!    not hide for ever: the unsuccessful deployment verified longest ago is read again, with
//!    one status-filtered call per detail status (`D` calls, one page each while a status has
//!    under 100 members) when that is cheaper than its full scan, else with the full scan; a
//!    difference in the listed members triggers the full scan. Successful ones need no check:
//!    AWS calls a deployment successful only when every member is.
//!
//! Cost: the first run pays `2L + R·P` (the naive figure, once per process start); a steady run
//! pays `2L + min(P, D)`; a change adds `P` per changed deployment. A run that nears its
//! timeout stops starting scans (the state keeps what is done) and asks to run again soon;
//! deployments not scanned yet show their status but no counts. One deleted between the listing
//! and its scan (`NoSuch...Exception`) is dropped from the run, which still succeeds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::aws::{CollectError, ErrorKind, RegionClients};
use crate::collect::{Collected, JobContext, Part};
use crate::config::problem::{Problems, ValidateContext};
use crate::config::section::{Key, Own, Parts, Section};
use crate::metrics::{Family, Reading};

pub mod convert;
pub(crate) use convert::descs;
pub use convert::{
    excluded_family, families, member_families, member_items, status_families, Descs, MemberStatus,
    Noun, Origin, Shape, View, MEMBER_STATUSES,
};

/// The log targets of the two collectors' lines (what `RUST_LOG` filters on), as they were
/// before this module held the code.
const RULES_TARGET: &str = "posture_exporter::collectors::config_org_rules";
const PACKS_TARGET: &str = "posture_exporter::collectors::config_org_conformance_packs";

/// Status-page lines listing members, at most.
pub const NOTE_MEMBERS: usize = 50;
/// Log lines about members newly in a detail status, at most per run.
const LOG_MEMBERS: usize = 100;
/// Share of the run's timeout after which no new scan starts.
pub const SCAN_BUDGET: f64 = 0.8;
/// How soon to run again when scans were put off.
pub const CONTINUE_AFTER: Duration = Duration::from_secs(30);
/// The largest page AWS serves for every operation here (the model's `CosmosPageLimit`: 0..=100).
pub const PAGE_LIMIT: i32 = 100;

/// The section of `collectors.config_org_rules` and of `collectors.config_org_conformance_packs`:
/// every 10 minutes by default.
pub type Settings = Parts<600, Deployments>;

/// What is particular to organization rules and packs. Their placement keys: `target` (the
/// management or delegated administrator account to call from; the first target by default);
/// `targets`, several of them, one job each, since AWS shows an organization rule or pack only
/// to the account that deployed it (each series says which one: `deployed_by`); and `regions`,
/// one job each, since rules and packs are deployed region by region (`aws.region` by default;
/// `region: x`, the old spelling, reads as `regions: [x]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Deployments {
    /// Member statuses listed account by account (`..._member_status`).
    #[serde(default = "default_detail_statuses")]
    pub detail_statuses: Vec<String>,
}

fn default_detail_statuses() -> Vec<String> {
    vec![
        "CREATE_FAILED".into(),
        "UPDATE_FAILED".into(),
        "DELETE_FAILED".into(),
    ]
}

impl Default for Deployments {
    fn default() -> Self {
        Deployments {
            detail_statuses: default_detail_statuses(),
        }
    }
}

impl Own for Deployments {
    const PLACEMENT: &'static [Key] = &[Key::Target, Key::Targets, Key::Regions, Key::Region];

    fn validate(&self, path: &str, _: &ValidateContext<'_>, p: &mut Problems) {
        for (i, s) in self.detail_statuses.iter().enumerate() {
            if !MEMBER_STATUSES.contains(&s.as_str()) {
                p.at(
                    format!("{path}.detail_statuses[{i}]"),
                    format!(
                        "`{s}` is not a member account status; expected one of {}",
                        MEMBER_STATUSES.join(", ")
                    ),
                );
            }
        }
    }
}

/// The member statuses of a deployment, or the news that it was deleted meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// Every member status asked for.
    Members(Vec<MemberStatus>),
    /// `NoSuch...Exception`: deleted since it was listed.
    Vanished,
}

/// What identifies a deployment: while it is unchanged, so are its member statuses.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// Organization status.
    pub status: String,
    /// Unix seconds of the status's last update.
    pub status_time: Option<f64>,
    /// Unix seconds of the definition's last update.
    pub definition_time: Option<f64>,
    /// Excluded accounts, sorted.
    pub excluded: Vec<String>,
}

impl Fingerprint {
    /// The fingerprint of a status and (where listed) a definition.
    pub fn new(
        status: &str,
        status_time: Option<f64>,
        definition_time: Option<f64>,
        excluded: &[String],
    ) -> Self {
        let mut excluded = excluded.to_vec();
        excluded.sort();
        Fingerprint {
            status: status.to_string(),
            status_time,
            definition_time,
            excluded,
        }
    }
}

/// One deployment as listed this run.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
}

/// The last member scan of a deployment.
#[derive(Debug, Clone)]
pub struct Scan {
    fingerprint: Fingerprint,
    /// Members per status (raw spellings).
    pub counts: BTreeMap<String, u64>,
    total: u64,
    /// Members in the detail statuses, sorted by account.
    pub detail: Vec<MemberStatus>,
    /// Run number of the last scan or check.
    verified: u64,
}

/// What a job keeps from one run to the next: the last scan of each deployment.
#[derive(Debug, Default)]
pub struct Scans {
    scans: HashMap<String, Scan>,
    run: u64,
    /// The definitions of the last run that read them: a run whose definitions call fails
    /// keeps their times and exclusions in the fingerprints, rather than rescan everything.
    definitions: Option<Vec<Definition>>,
}

/// What one [`Scans::update`] did, for the status page and the budget tests.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Deployments fully scanned.
    pub scanned: Vec<String>,
    /// The deployment checked.
    pub checked: Option<String>,
    /// Deployments put off to the next run (time budget spent).
    pub deferred: Vec<String>,
    /// Deployments deleted between the listing and their scan.
    pub vanished: Vec<String>,
    /// Deployments whose member read (scan or check) failed, with the error: their last
    /// members are kept as a failed part.
    pub failed: BTreeMap<String, CollectError>,
    logged: usize,
}

fn successful(status: &str) -> bool {
    status.ends_with("_SUCCESSFUL")
}

fn pages(n: u64) -> u64 {
    n.div_ceil(PAGE_LIMIT as u64).max(1)
}

impl Scans {
    /// The scan of `name` if it is of its current `fingerprint`.
    pub fn current(&self, name: &str, fingerprint: &Fingerprint) -> Option<&Scan> {
        self.scans
            .get(name)
            .filter(|s| &s.fingerprint == fingerprint)
    }

    /// Brings the scans up to date with `listed` (sorted by name, no duplicates): forgets what
    /// is no longer listed, scans what changed (unsuccessful first) until `deadline`, then
    /// checks one unchanged unsuccessful deployment. `read(name, status)` reads the members of
    /// one deployment, all of them or those in one status. A deployment whose read fails is
    /// named in [`Outcome::failed`] and keeps its last scan; the others go on.
    pub async fn update<F, Fut>(
        &mut self,
        listed: &[Listed],
        detail: &BTreeSet<&str>,
        deadline: Instant,
        noun: Noun,
        read: F,
    ) -> Outcome
    where
        F: Fn(String, Option<String>) -> Fut,
        Fut: Future<Output = Result<Detail, CollectError>>,
    {
        self.run += 1;
        let mut t = Outcome::default();
        let names: BTreeSet<&str> = listed.iter().map(|l| l.name.as_str()).collect();
        self.scans.retain(|name, _| names.contains(name.as_str()));

        let mut todo: Vec<&Listed> = listed
            .iter()
            .filter(|l| self.current(&l.name, &l.fingerprint).is_none())
            .collect();
        // Stable: unsuccessful first, then in listing order.
        todo.sort_by_key(|l| successful(&l.fingerprint.status));
        for l in todo {
            if Instant::now() >= deadline {
                t.deferred.push(l.name.clone());
                continue;
            }
            if let Err(e) = self
                .full_scan(&l.name, &l.fingerprint, detail, noun, &read, &mut t)
                .await
            {
                t.failed.insert(l.name.clone(), e);
            }
        }

        if Instant::now() < deadline {
            let candidate = listed
                .iter()
                .filter(|l| !successful(&l.fingerprint.status) && !t.scanned.contains(&l.name))
                .filter_map(|l| {
                    self.current(&l.name, &l.fingerprint)
                        .map(|scan| (scan.verified, l))
                })
                .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)))
                .map(|(_, l)| l);
            if let Some(l) = candidate {
                if let Err(e) = self
                    .check(&l.name, &l.fingerprint, detail, noun, &read, &mut t)
                    .await
                {
                    t.failed.insert(l.name.clone(), e);
                }
            }
        }
        t
    }

    /// Reads every member of a deployment and replaces its scan.
    async fn full_scan<F, Fut>(
        &mut self,
        name: &str,
        fingerprint: &Fingerprint,
        detail: &BTreeSet<&str>,
        noun: Noun,
        read: &F,
        t: &mut Outcome,
    ) -> Result<(), CollectError>
    where
        F: Fn(String, Option<String>) -> Fut,
        Fut: Future<Output = Result<Detail, CollectError>>,
    {
        t.scanned.push(name.to_string());
        let members = match read(name.to_string(), None).await? {
            Detail::Members(m) => m,
            Detail::Vanished => {
                self.scans.remove(name);
                t.vanished.push(name.to_string());
                return Ok(());
            }
        };
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for m in &members {
            *counts.entry(m.status.clone()).or_insert(0) += 1;
        }
        let mut kept: Vec<MemberStatus> = members
            .into_iter()
            .filter(|m| detail.contains(m.status.as_str()))
            .collect();
        kept.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        kept.dedup_by(|a, b| a.account_id == b.account_id);
        log_new(self.scans.get(name), name, &kept, noun, t);
        self.scans.insert(
            name.to_string(),
            Scan {
                fingerprint: fingerprint.clone(),
                total: counts.values().sum(),
                counts,
                detail: kept,
                verified: self.run,
            },
        );
        Ok(())
    }

    /// Checks a deployment whose fingerprint did not change: are its members in the detail
    /// statuses still the ones of its last scan?
    async fn check<F, Fut>(
        &mut self,
        name: &str,
        fingerprint: &Fingerprint,
        detail: &BTreeSet<&str>,
        noun: Noun,
        read: &F,
        t: &mut Outcome,
    ) -> Result<(), CollectError>
    where
        F: Fn(String, Option<String>) -> Fut,
        Fut: Future<Output = Result<Detail, CollectError>>,
    {
        t.checked = Some(name.to_string());
        let Some(scan) = self.scans.get(name) else {
            return Ok(());
        };
        let full = pages(scan.total);
        let filtered: u64 = detail
            .iter()
            .map(|s| pages(scan.counts.get(*s).copied().unwrap_or(0)))
            .sum();
        if full <= filtered {
            return self
                .full_scan(name, fingerprint, detail, noun, read, t)
                .await;
        }
        let mut now: Vec<MemberStatus> = Vec::new();
        for s in detail {
            match read(name.to_string(), Some(s.to_string())).await? {
                Detail::Members(m) => now.extend(m),
                Detail::Vanished => {
                    self.scans.remove(name);
                    t.vanished.push(name.to_string());
                    return Ok(());
                }
            }
        }
        now.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        now.dedup_by(|a, b| a.account_id == b.account_id);
        let run = self.run;
        match self.scans.get_mut(name) {
            Some(scan) if scan.detail == now => {
                scan.verified = run;
                Ok(())
            }
            _ => {
                match noun {
                    Noun::Rule => tracing::info!(
                        target: RULES_TARGET,
                        rule = name,
                        "member statuses changed without a new rule status time; scanning the rule again"
                    ),
                    Noun::Pack => tracing::info!(
                        target: PACKS_TARGET,
                        pack = name,
                        "member statuses changed without a new conformance pack status time; scanning the pack again"
                    ),
                }
                self.full_scan(name, fingerprint, detail, noun, read, t)
                    .await
            }
        }
    }
}

/// Logs the members that entered a detail status since the last scan (all of them on the first
/// scan), with AWS's error message, which no label carries.
fn log_new(before: Option<&Scan>, name: &str, now: &[MemberStatus], noun: Noun, t: &mut Outcome) {
    for m in now {
        let known = before.is_some_and(|b| {
            b.detail
                .iter()
                .any(|x| x.account_id == m.account_id && x.status == m.status)
        });
        if known {
            continue;
        }
        if t.logged == LOG_MEMBERS {
            match noun {
                Noun::Rule => tracing::warn!(
                    target: RULES_TARGET,
                    rule = name,
                    "more members entered a detail status; see the status page and the metrics"
                ),
                Noun::Pack => tracing::warn!(
                    target: PACKS_TARGET,
                    pack = name,
                    "more members entered a detail status; see the status page and the metrics"
                ),
            }
        }
        t.logged += 1;
        if t.logged > LOG_MEMBERS {
            continue;
        }
        let (code, message) = (
            m.error_code.as_deref().unwrap_or(""),
            m.error_message.as_deref().unwrap_or(""),
        );
        match noun {
            Noun::Rule => tracing::warn!(
                    target: RULES_TARGET,
                rule = name,
                account_id = %m.account_id,
                status = %m.status,
                error_code = code,
                error_message = message,
                "organization Config rule deployment needs attention in a member account"
            ),
            Noun::Pack => tracing::warn!(
                    target: PACKS_TARGET,
                pack = name,
                account_id = %m.account_id,
                status = %m.status,
                error_code = code,
                error_message = message,
                "organization conformance pack deployment needs attention in a member account"
            ),
        }
    }
}

/// A listed deployment's status, as the collectors read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// Name.
    pub name: String,
    /// Organization status in AWS's raw spelling.
    pub status: String,
    /// Error code of an organization-level failure.
    pub error_code: Option<String>,
    /// Error message of an organization-level failure (status page only).
    pub error_message: Option<String>,
    /// Unix seconds of the last status update.
    pub last_update: Option<f64>,
}

/// A listed deployment's definition, as far as the exporter uses it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Definition {
    /// Name.
    pub name: String,
    /// Accounts it is not deployed to.
    pub excluded_accounts: Vec<String>,
    /// Unix seconds of the last change of the definition.
    pub last_update: Option<f64>,
}

/// What a run shows: families, parts and notes, and whether to run again soon.
pub struct Shown {
    /// The families of the statuses: the run's core.
    pub families: Vec<Family>,
    /// The parts read apart: the definitions (`definitions`), and the members of each
    /// deployment (`members of rule NAME`), each exported or failed on its own.
    pub parts: Vec<Part>,
    /// Status-page notes.
    pub notes: Vec<String>,
    /// Scans were put off.
    pub deferred: bool,
}

/// The parts with `explain` applied to their errors.
pub fn explained(parts: Vec<Part>, explain: impl Fn(CollectError) -> CollectError) -> Vec<Part> {
    parts
        .into_iter()
        .map(|p| Part {
            name: p.name,
            result: p.result.map_err(&explain),
        })
        .collect()
}

/// The part of a deployment's member reads.
pub fn members_part(noun: Noun, name: &str) -> String {
    format!("members of {} {name}", noun.word())
}

/// What one kind of organization deployment supplies to [`collect`]: its noun, its
/// descriptors and its three calls. The rest (the scan, the families, the parts, the error
/// rewording) is this module's, once for both kinds.
pub trait Kind: Send + Sync + 'static {
    /// Rules or packs.
    const NOUN: Noun;
    /// The collector's name, in the advice of [`explain`].
    const COLLECTOR: &'static str;
    /// Its descriptors.
    fn descs() -> &'static Descs;
    /// Every organization status, every page.
    fn statuses(
        c: &RegionClients,
    ) -> impl Future<Output = Result<Vec<Status>, CollectError>> + Send;
    /// Every definition, every page.
    fn definitions(
        c: &RegionClients,
    ) -> impl Future<Output = Result<Vec<Definition>, CollectError>> + Send;
    /// The member statuses of one deployment (in `status` only, when given).
    fn members(
        c: &RegionClients,
        name: String,
        status: Option<String>,
    ) -> impl Future<Output = Result<Detail, CollectError>> + Send;
}

/// AWS's error code when the caller is neither the management account nor a delegated
/// administrator.
pub const ORG_ACCESS_DENIED: &str = "OrganizationAccessDeniedException";

/// Rewords `OrganizationAccessDeniedException` into what to do about it.
pub fn explain<K: Kind>(e: CollectError, c: &RegionClients) -> CollectError {
    if e.code() != Some(ORG_ACCESS_DENIED) {
        return e;
    }
    let (what, short) = match K::NOUN {
        Noun::Rule => ("organization Config rules", "rules"),
        Noun::Pack => ("organization conformance packs", "packs"),
    };
    CollectError {
        kind: ErrorKind::AccessDenied,
        message: format!(
            "account {acct} is neither the management account of its organization nor a delegated administrator for AWS Config, and only those can read {what}: set collectors.{collector}.target to the target of the management account (or of the delegated administrator that deployed the {short}), or register {acct} with `aws organizations register-delegated-administrator --account-id {acct} --service-principal config-multiaccountsetup.amazonaws.com`. AWS said: {}",
            e.message,
            acct = c.account_id,
            collector = K::COLLECTOR,
        ),
        ..e
    }
}

/// One run of either kind: the statuses (the core: without them the run fails), the
/// definitions (a part: without them the statuses are still worth exporting), then the
/// incremental member scan.
pub async fn collect<K: Kind>(
    ctx: &JobContext<Settings>,
    scans: &mut Scans,
) -> Result<Collected, CollectError> {
    let c = &*ctx.aws;
    let statuses = K::statuses(c).await.map_err(|e| explain::<K>(e, c))?;
    let defs = K::definitions(c).await.map_err(|e| explain::<K>(e, c));
    let shown = run::<K>(scans, statuses, defs, &ctx.settings, c).await;
    Ok(Collected {
        families: shown.families,
        notes: shown.notes,
        next_run: shown.deferred.then_some(CONTINUE_AFTER),
        parts: explained(shown.parts, |e| explain::<K>(e, c)),
        ..Collected::default()
    })
}

/// One whole run over the listed statuses and the definitions (or why they could not be read):
/// update the scans, then build the views, the notes, the families and the parts.
async fn run<K: Kind>(
    scans: &mut Scans,
    mut statuses: Vec<Status>,
    defs: Result<Vec<Definition>, CollectError>,
    cfg: &Settings,
    c: &RegionClients,
) -> Shown {
    let detail: BTreeSet<&str> = cfg.detail_statuses.iter().map(String::as_str).collect();
    let deadline = Instant::now() + cfg.schedule().timeout.mul_f64(SCAN_BUDGET);
    let (noun, descs, region) = (K::NOUN, K::descs(), &c.region);
    // Several regions of one account may each deploy a name: the region is then a label.
    let place = cfg.placement();
    let several = place.regions_from_aws() || place.listed_regions().len() > 1;
    let origin = Origin {
        deployed_by: &c.account_id,
        region: several.then_some(region.as_str()),
    };
    let read = |name: String, status: Option<String>| K::members(c, name, status);
    let detail = &detail;
    statuses.sort_by(|a, b| a.name.cmp(&b.name));
    statuses.dedup_by(|a, b| a.name == b.name);
    // Failed definitions: the fingerprints take the last ones read, so that nothing is
    // rescanned for it, and the exclusions keep their last values as a failed part.
    let (defs_read, defs_error) = match defs {
        Ok(d) => {
            scans.definitions = Some(d);
            (true, None)
        }
        Err(e) => (false, Some(e)),
    };
    let last_defs = scans.definitions.clone().unwrap_or_default();
    let defs: HashMap<&str, &Definition> = last_defs.iter().map(|d| (d.name.as_str(), d)).collect();
    let listed: Vec<Listed> = statuses
        .iter()
        .map(|s| {
            let def = defs.get(s.name.as_str());
            Listed {
                name: s.name.clone(),
                fingerprint: Fingerprint::new(
                    &s.status,
                    s.last_update,
                    def.and_then(|d| d.last_update),
                    def.map(|d| d.excluded_accounts.as_slice()).unwrap_or(&[]),
                ),
            }
        })
        .collect();
    let mut t = scans.update(&listed, detail, deadline, noun, read).await;

    let word = noun.word();
    let mut views = Vec::with_capacity(statuses.len());
    let mut notes = Vec::new();
    let mut member_notes = Vec::new();
    for (s, l) in statuses.iter().zip(&listed) {
        if t.vanished.contains(&s.name) {
            continue;
        }
        if s.error_code.is_some() || s.error_message.is_some() {
            notes.push(format!(
                "{word} {}: {} {}: {}",
                s.name,
                s.status,
                s.error_code.as_deref().unwrap_or(""),
                s.error_message.as_deref().unwrap_or("")
            ));
        }
        let scan = scans.current(&s.name, &l.fingerprint);
        if let Some(scan) = scan {
            for m in &scan.detail {
                member_notes.push(format!(
                    "{word} {}: account {} {} {}: {}",
                    s.name,
                    m.account_id,
                    m.status,
                    m.error_code.as_deref().unwrap_or(""),
                    m.error_message.as_deref().unwrap_or("")
                ));
            }
        }
        views.push(View {
            name: s.name.clone(),
            status: s.status.clone(),
            last_update: s.last_update,
            excluded_accounts: defs_read
                .then(|| defs.get(s.name.as_str()).map(|d| d.excluded_accounts.len()))
                .flatten(),
            counts: scan.map(|x| x.counts.clone()),
            members: scan.map(|x| x.detail.clone()).unwrap_or_default(),
        });
    }
    let plural = match noun {
        Noun::Rule => "rules",
        Noun::Pack => "conformance packs",
    };
    notes.push(format!(
        "{} {plural}; {} full member scans, check: {}",
        views.len(),
        t.scanned.len(),
        t.checked.as_deref().unwrap_or("none")
    ));
    for v in &t.vanished {
        notes.push(format!("{word} {v} was deleted during the run; dropped"));
    }
    if !t.deferred.is_empty() {
        notes.push(format!(
            "{} {plural} not scanned yet (time budget of the run spent); the next run continues",
            t.deferred.len()
        ));
    }
    let more = member_notes.len().saturating_sub(NOTE_MEMBERS);
    member_notes.truncate(NOTE_MEMBERS);
    notes.extend(member_notes);
    if more > 0 {
        notes.push(format!(
            "... and {more} more members in the detail statuses"
        ));
    }
    let mut parts = Vec::with_capacity(views.len() + 1);
    parts.push(Part {
        name: "definitions".to_string(),
        result: match defs_error {
            None => Ok(vec![excluded_family(descs, origin, &views)].into()),
            Some(e) => Err(e),
        },
    });
    for v in &views {
        parts.push(Part {
            name: members_part(noun, &v.name),
            result: match t.failed.remove(&v.name) {
                None => Ok(Reading {
                    families: member_families(descs, origin, std::slice::from_ref(v)),
                    items: member_items(noun, region, std::slice::from_ref(v)),
                }),
                Some(e) => Err(e),
            },
        });
    }
    Shown {
        families: status_families(descs, origin, &views),
        parts,
        notes,
        deferred: !t.deferred.is_empty(),
    }
}
