//! Micro benchmarks of what the exporter does per change and per scrape: re-encoding the store as
//! the number of series grows (the body Prometheus asks for, OpenMetrics gzip, which is all the
//! daemon encodes ahead when only Prometheus scrapes it; and all four bodies, for comparison),
//! building a family, and answering one `/metrics` request without the socket.
//!
//! `cargo bench --bench encode` prints, before criterion's timings, a table of the allocations one
//! re-encode makes at 1k, 10k and 100k series. They are counted by a wrapper around the system
//! allocator that exists only in this benchmark binary (the library forbids unsafe code; a
//! `GlobalAlloc` cannot be written without it), so nothing the exporter ships pays for counting.
//!
//! The store is synthetic but shaped like a real one: one snapshot per (collector, account,
//! region) job holding state-set samples with realistic label values, plus the exporter's own
//! series (two per job, and a few per collector), about 110 bytes a series.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkId, Criterion, Throughput};
use posture_exporter::aws::CallCounter;
use posture_exporter::collectors::CollectorKind;
use posture_exporter::metrics::{Desc, Family, Format, Kind, Posture, Snapshot};
use posture_exporter::store::{JobKey, RunReport, Store};

/// Counts allocations and allocated bytes, then defers to the system allocator.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes allocated and not yet freed.
static LIVE: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counters
// are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static RULE_STATUS: Desc = Desc {
    name: "aws_bench_rule_compliance",
    help: "Synthetic: compliance of a Config rule in an account and region, as a state set.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "rule", "status"],
};

const STATES: &[&str] = &[
    "COMPLIANT",
    "NON_COMPLIANT",
    "NOT_APPLICABLE",
    "INSUFFICIENT_DATA",
];
const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"];
/// Rules per job: 5 rules x 4 states = 20 samples, plus the exporter's 2 per-job series = 22
/// series a job (5 before the self-metrics moved to per-collector families; at equal series the
/// store now holds more jobs).
const RULES_PER_JOB: usize = 5;
const SERIES_PER_JOB: usize = RULES_PER_JOB * 4 + 2;

fn job_families(account: &str, region: &str, job: usize) -> Vec<Family> {
    job_families_of(account, region, job, RULES_PER_JOB)
}

fn job_families_of(account: &str, region: &str, job: usize, rules: usize) -> Vec<Family> {
    let mut f = Family::new(&RULE_STATUS);
    for r in 0..rules {
        let rule = format!(
            "org-rule-{:04}-s3-bucket-versioning-enabled",
            (job + r) % 50
        );
        // Four series per rule, one of them 1: the shape of the series, not a catalogue's.
        let current = STATES[(job + r) % 4];
        for state in STATES {
            let v = if *state == current { 1.0 } else { 0.0 };
            f.push(&[account, region, &rule, state], v);
        }
    }
    vec![f]
}

/// A store holding about `series` series, encoded once.
fn store_with(series: usize) -> Store {
    let store = Store::new(3, Arc::new(CallCounter::default()));
    for job in 0..series.div_ceil(SERIES_PER_JOB) {
        let account = format!("{:012}", 100_000_000_000u64 + (job / REGIONS.len()) as u64);
        let region = REGIONS[job % REGIONS.len()];
        let key = JobKey {
            collector: CollectorKind::ConfigRecorder,
            account_id: account.clone(),
            region: region.to_string(),
        };
        store.register(key.clone(), "org", Duration::from_secs(300));
        store.record(
            &key,
            RunReport {
                started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_763_000_000),
                duration: Duration::from_millis(120),
                result: Ok(job_families(&account, region, job).into()),
                calls: 0,
            },
        );
    }
    store.refresh();
    store
}

const SIZES: &[usize] = &[1_000, 10_000, 100_000];

/// Rules per job at organization scale: 8 rules x 4 states = 32 samples, plus the exporter's 2
/// per-job series, about the 33 series a job of the 10,000-account scale run exports.
const RULES_AT_SCALE: usize = 8;

fn key_of(job: usize) -> (JobKey, String, &'static str) {
    let account = format!("{:012}", 100_000_000_000u64 + (job / REGIONS.len()) as u64);
    let region = REGIONS[job % REGIONS.len()];
    let key = JobKey {
        collector: CollectorKind::ConfigRecorder,
        account_id: account.clone(),
        region: region.to_string(),
    };
    (key, account, region)
}

fn run_of(families: Vec<Family>) -> RunReport {
    RunReport {
        started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_763_000_000),
        duration: Duration::from_millis(120),
        result: Ok(families.into()),
        calls: 0,
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One re-encode after one job's change at organization scale (`ENCODE_JOBS` jobs, default
/// 80,000: 10,000 accounts x 4 regions x 2 collectors), against the whole encode the exporter
/// did before runs were kept (one `Posture` over every snapshot, then gzip of the whole text),
/// measured in the same run, rounds interleaved.
fn print_one_change() {
    let jobs: usize = std::env::var("ENCODE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(80_000);
    let rounds = 5;
    let mut snapshots = Vec::with_capacity(jobs);
    for job in 0..jobs {
        let (_, account, region) = key_of(job);
        snapshots.push(Snapshot {
            families: Arc::new(job_families_of(&account, region, job, RULES_AT_SCALE)),
            help_suffix: Arc::from(" Collected in the background every 5m."),
        });
    }
    let snapshots: Arc<[Snapshot]> = Arc::from(snapshots);
    println!();
    println!("one re-encode after one job's change, {jobs} jobs, {rounds} rounds (median)");
    for (format, gzip) in [
        (Format::OpenMetrics, true),
        (Format::OpenMetrics, false),
        (Format::Prometheus, true),
    ] {
        // A store of its own for each body, so that each re-encode encodes that body only.
        let store = Store::new(3, Arc::new(CallCounter::default()));
        for (job, s) in snapshots.iter().enumerate() {
            let (key, _, _) = key_of(job);
            store.register(key.clone(), "org", Duration::from_secs(300));
            store.record(&key, run_of(s.families.to_vec()));
        }
        store.refresh();
        // The first request encodes every run and keeps them (the cold encode).
        let live = LIVE.load(Ordering::Relaxed);
        let t = Instant::now();
        let body = store.body(format, gzip);
        let cold = t.elapsed();
        let held = LIVE.load(Ordering::Relaxed).saturating_sub(live);
        let (mut whole_fmt, mut whole_gz, mut change) = (Vec::new(), Vec::new(), Vec::new());
        let mut whole_len = (0, 0);
        for round in 0..rounds {
            // Before: every sample formatted, then the whole text compressed.
            let t = Instant::now();
            let text = whole(&snapshots, format);
            whole_fmt.push(t.elapsed());
            let t = Instant::now();
            let gz = if gzip { gzip_whole(text.as_bytes()) } else { 0 };
            whole_gz.push(t.elapsed());
            whole_len = (text.len(), gz);
            drop(text);
            // After: one job's new run, then the re-encode the encoder task makes.
            let job = (round * 7_919) % jobs;
            let (key, account, region) = key_of(job);
            store.record(
                &key,
                run_of(job_families_of(
                    &account,
                    region,
                    job + round + 1,
                    RULES_AT_SCALE,
                )),
            );
            let t = Instant::now();
            let exp = store.refresh();
            change.push(t.elapsed());
            assert!(exp.is_encoded(format, gzip));
        }
        let (fmt, gz, change) = (median(whole_fmt), median(whole_gz), median(change));
        let series = store.exposition().series;
        println!(
            "{:?} gzip={gzip}: {series} series; body {} bytes (whole-text gzip {} bytes, plain {} bytes)",
            format,
            body.len(),
            whole_len.1,
            whole_len.0
        );
        println!(
            "  before (whole encode): format {} + gzip {} = {}",
            secs(fmt),
            secs(gz),
            secs(fmt + gz)
        );
        println!(
            "  after: cold encode {} (kept runs + body: {:.1} MiB live); re-encode after one change {} = {:.3}x the whole encode",
            secs(cold),
            held as f64 / (1 << 20) as f64,
            secs(change),
            change.as_secs_f64() / (fmt + gz).as_secs_f64()
        );
    }
}

/// What the exporter encoded before runs were kept: one `Posture` over every snapshot.
fn whole(snapshots: &Arc<[Snapshot]>, format: Format) -> String {
    let mut r = prometheus_client::registry::Registry::default();
    r.register_collector(Box::new(Posture::new(snapshots.clone(), format)));
    let mut out = String::new();
    let _ = match format {
        Format::OpenMetrics => prometheus_client::encoding::text::encode_registry(&mut out, &r),
        Format::Prometheus => prometheus_client::encoding::prometheus_text::encode(&mut out, &r),
    };
    out
}

/// Bytes of `data` gzipped whole at level 1, as the exporter did before.
fn gzip_whole(data: &[u8]) -> usize {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(data);
    enc.finish().map(|v| v.len()).unwrap_or(0)
}

/// The bodies a re-encode produces: what Prometheus asks for, or all four.
#[derive(Clone, Copy)]
enum Bodies {
    OpenMetricsGzip,
    All,
}

impl Bodies {
    fn name(self) -> &'static str {
        match self {
            Bodies::OpenMetricsGzip => "openmetrics_gzip",
            Bodies::All => "all_four",
        }
    }
}

/// One re-encode: build the exposition and encode the bodies.
fn reencode(store: &Store, bodies: Bodies) -> (usize, usize, usize) {
    let exp = store.refresh();
    let gz = exp.body(Format::OpenMetrics, true).len();
    let mut plain = 0;
    if let Bodies::All = bodies {
        plain = exp.body(Format::OpenMetrics, false).len();
        exp.body(Format::Prometheus, false);
        exp.body(Format::Prometheus, true);
    }
    (exp.series, plain, gz)
}

/// One re-encode's allocations at every size, counted around a single re-encode.
fn print_allocations() {
    println!("re-encode (Store::refresh, then the bodies)");
    println!(
        "{:>18} {:>8} {:>12} {:>10} {:>12} {:>12} {:>14}",
        "bodies", "series", "exposition", "gzip", "allocations", "alloc bytes", "bytes/series"
    );
    for &n in SIZES {
        let store = store_with(n);
        for bodies in [Bodies::OpenMetricsGzip, Bodies::All] {
            let before = (
                ALLOCS.load(Ordering::Relaxed),
                BYTES.load(Ordering::Relaxed),
            );
            let (series, plain, gz) = reencode(&store, bodies);
            let allocs = ALLOCS.load(Ordering::Relaxed) - before.0;
            let bytes = BYTES.load(Ordering::Relaxed) - before.1;
            println!(
                "{:>18} {:>8} {:>12} {:>10} {:>12} {:>12} {:>14.0}",
                bodies.name(),
                series,
                if plain == 0 {
                    "-".to_string()
                } else {
                    plain.to_string()
                },
                gz,
                allocs,
                bytes,
                bytes as f64 / series as f64
            );
        }
    }
}

fn refresh(c: &mut Criterion) {
    for bodies in [Bodies::OpenMetricsGzip, Bodies::All] {
        let mut g = c.benchmark_group(format!("store_refresh_{}", bodies.name()));
        for &n in SIZES {
            let store = store_with(n);
            g.throughput(Throughput::Elements(store.exposition().series as u64));
            if n >= 100_000 {
                g.sample_size(10);
                g.measurement_time(Duration::from_secs(8));
            }
            g.bench_with_input(BenchmarkId::from_parameter(n), &store, |b, s| {
                b.iter(|| black_box(reencode(s, bodies)))
            });
        }
        g.finish();
    }
}

fn family_push(c: &mut Criterion) {
    let mut g = c.benchmark_group("family_push");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("10000_state_set_samples", |b| {
        b.iter(|| {
            let mut n = 0;
            for job in 0..10_000 / (RULES_PER_JOB * 4) {
                n += job_families("123456789012", "ap-southeast-2", job)[0].len();
            }
            black_box(n)
        })
    });
    g.finish();
}

fn handle_metrics(c: &mut Criterion) {
    let web = posture_exporter::server::WebState::new(Arc::new(store_with(10_000)), None);
    let mut g = c.benchmark_group("handle_metrics_10k");
    for (name, encoding) in [("plain", "identity"), ("gzip", "gzip")] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let req = http::Request::get("/metrics")
                    .header(
                        "accept",
                        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                    )
                    .header("accept-encoding", encoding)
                    .body(())
                    .unwrap_or_default();
                black_box(posture_exporter::server::handle(&web, req))
            })
        });
    }
    g.finish();
}

criterion::criterion_group!(benches, refresh, family_push, handle_metrics);

fn main() {
    // `cargo test --benches` and `--list` run this binary too: only a real run prints figures.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--test" || a == "--list") {
        if std::env::var_os("ENCODE_ONE_CHANGE_ONLY").is_some() {
            print_one_change();
            return;
        }
        print_allocations();
        print_one_change();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
