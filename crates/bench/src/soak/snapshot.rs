//! What the exporter shows of each account, as the soak compares it at phase boundaries: the
//! body Prometheus scrapes and a digest per account ([`Snap`]), and the differences, read back
//! from the bodies for the accounts whose digests differ.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use posture_exporter::app::App;
use posture_exporter::metrics::Format;

/// One scrape's samples, by series.
type Samples = BTreeMap<String, f64>;

/// The samples of `text` whose account is one of `accounts`.
fn parse_of(text: &str, accounts: &BTreeSet<String>) -> Samples {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter(|l| account_of(l).is_some_and(|a| accounts.contains(a)))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// What one account shows: a hash (order-free) and count of its posture series, and of its
/// `collector_up` series.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AccountDigest {
    posture: (u64, usize),
    up: (u64, usize),
}

/// The body as Prometheus scrapes it (OpenMetrics, gzip: what the scraper asks for, so the
/// exporter keeps no other body encoded for the soak's sake), and each account's digest. The
/// harness shares the exporter's process: it keeps this much, not a parsed copy of 350,000
/// series, so that the resident set is the exporter's.
pub struct Snap {
    gz: bytes::Bytes,
    /// Series in the body.
    pub series: usize,
    /// Each account's digest.
    pub accounts: BTreeMap<String, AccountDigest>,
}

impl Snap {
    /// Takes the body the scraper would get, and its digests.
    pub fn take(app: &App) -> anyhow::Result<Snap> {
        let gz = app.store.body(Format::OpenMetrics, true);
        let text = gunzip(&gz)?;
        let mut accounts: BTreeMap<String, AccountDigest> = BTreeMap::new();
        let mut series = 0;
        for l in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            series += 1;
            if !compared(l) {
                continue;
            }
            let Some(acct) = account_of(l) else { continue };
            let h = {
                use std::hash::{Hash as _, Hasher as _};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                l.hash(&mut h);
                h.finish()
            };
            let d = accounts.entry(acct.to_string()).or_default();
            let slot = if l.starts_with("posture_exporter_collector_up") {
                &mut d.up
            } else {
                &mut d.posture
            };
            slot.0 = slot.0.wrapping_add(h);
            slot.1 += 1;
        }
        Ok(Snap {
            gz,
            series,
            accounts,
        })
    }

    /// The differences of `accounts` between `self` (before) and `after`, as readable lines;
    /// `up` too unless `posture_only`. Bodies are read again only for accounts that differ.
    pub fn differences(
        &self,
        after: &Snap,
        accounts: &BTreeSet<String>,
        posture_only: bool,
    ) -> anyhow::Result<Vec<String>> {
        let differ: BTreeSet<String> = accounts
            .iter()
            .filter(|a| {
                let (b, n) = (self.accounts.get(*a), after.accounts.get(*a));
                match (b, n) {
                    (Some(b), Some(n)) => b.posture != n.posture || (!posture_only && b.up != n.up),
                    (None, None) => false,
                    _ => true,
                }
            })
            .cloned()
            .collect();
        if differ.is_empty() {
            return Ok(Vec::new());
        }
        let before = parse_of(&gunzip(&self.gz)?, &differ);
        let now = parse_of(&gunzip(&after.gz)?, &differ);
        let mut out = differences(&of_accounts(&before, &differ), &of_accounts(&now, &differ));
        if posture_only {
            out.retain(|d| !d.starts_with("posture_exporter_collector_up"));
        }
        Ok(out)
    }
}

fn gunzip(gz: &[u8]) -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text)
        .context("the /metrics body does not gunzip")?;
    Ok(text)
}

/// The account a series is about (`account_id`), if any.
fn account_of(series: &str) -> Option<&str> {
    let rest = series.split("account_id=\"").nth(1)?;
    rest.split('"').next()
}

/// Series the checks compare: the posture and whether each job is up. Timestamps of the last
/// success, durations, counters and the process figures move by design.
fn compared(series: &str) -> bool {
    !series.starts_with("posture_exporter_") || series.starts_with("posture_exporter_collector_up")
}

/// The compared series of `accounts`, grouped by account.
fn of_accounts<'a>(
    s: &'a Samples,
    accounts: &BTreeSet<String>,
) -> BTreeMap<&'a str, Vec<(&'a str, f64)>> {
    let mut out: BTreeMap<&str, Vec<(&str, f64)>> = BTreeMap::new();
    for (k, v) in s {
        if !compared(k) {
            continue;
        }
        if let Some(a) = account_of(k) {
            if accounts.contains(a) {
                out.entry(a).or_default().push((k.as_str(), *v));
            }
        }
    }
    out
}

/// Differences between two groupings, as a few readable lines (empty when equal).
fn differences(
    before: &BTreeMap<&str, Vec<(&str, f64)>>,
    after: &BTreeMap<&str, Vec<(&str, f64)>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (acct, b) in before {
        let a = after.get(acct).map(Vec::as_slice).unwrap_or(&[]);
        if a == b.as_slice() {
            continue;
        }
        let bm: BTreeMap<_, _> = b.iter().copied().collect();
        let am: BTreeMap<_, _> = a.iter().copied().collect();
        for (k, v) in &bm {
            match am.get(k) {
                None => out.push(format!("{k} {v} vanished")),
                Some(w) if w != v => out.push(format!("{k} {v} -> {w}")),
                _ => {}
            }
        }
        for (k, w) in &am {
            if !bm.contains_key(k) {
                out.push(format!("{k} {w} appeared"));
            }
        }
    }
    for acct in after.keys().filter(|a| !before.contains_key(*a)) {
        out.push(format!("series of {acct} appeared"));
    }
    out
}
