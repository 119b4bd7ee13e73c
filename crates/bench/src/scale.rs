//! `bench scale`: one process per organization size (so each resident set is its own): a
//! simulator child with per-call latency and rate limits, the exporter in this process;
//! discovery, the cold first cycle and the daemon's own second cycle, against the floor
//! `calls x latency / concurrency`. `bench scale-one` is one size, in a fresh process.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use posture_exporter::app::{App, AppOptions};
use posture_exporter::aws::{CallCounter, Outcome};
use posture_exporter::config::Config;
use posture_exporter::metrics::Format;
use tokio::net::TcpListener;

use crate::process::{cpu_secs, machine, rss_mib};
use crate::setup::{creds, discovery_yaml, regions, runtime};
use crate::sim_child::SimChild;

/// The settings of `bench scale` (`accounts` and `concurrency` of one size).
pub struct ScaleArgs {
    pub accounts: usize,
    pub concurrency: usize,
    pub regions: usize,
    pub latency_ms: u64,
    pub collectors: String,
    pub sim_rate: f64,
    pub sim_burst: f64,
    pub guardduty_mode: String,
    pub compliance: String,
}

/// What one size measured (one JSON line from `scale-one`).
#[derive(serde::Serialize, serde::Deserialize, Debug)]
struct ScaleRow {
    accounts: usize,
    regions: usize,
    guardduty_mode: String,
    compliance: String,
    /// Start to `/ready` (every account listed so far read once; the listing may still run).
    first_ready_s: f64,
    /// Start to the end of the cold cycle: the listing over and every account read once.
    ready_s: f64,
    /// AssumeRole calls from start to the end of the cold cycle.
    assume_role: u64,
    gzip_bytes: usize,
    /// `Store::refresh` and the OpenMetrics gzip body, once, after the steady cycle.
    encode_ms: f64,
    /// Steady cycle: mean time a call held its slot (AWS latency plus the exporter's own time
    /// around the call), mean time it waited for one, and the share of slot-time in use.
    held_ms_per_call: f64,
    queued_ms_per_call: f64,
    slots_busy: f64,
    jobs: usize,
    concurrency: usize,
    latency_ms: u64,
    discovery_s: f64,
    discovery_calls: u64,
    cold_s: f64,
    cold_calls: u64,
    steady_s: f64,
    steady_calls: u64,
    steady_calls_by_op: BTreeMap<String, u64>,
    floor_s: f64,
    throttled: u64,
    failed: usize,
    series: usize,
    bytes: usize,
    rss_mib: f64,
    hwm_mib: f64,
    cpu_exporter_s: f64,
    cpu_sim_s: f64,
}

/// Runs `bench scale`: `scale-one` once per size, then the tables.
pub fn scale(accounts: &[usize], concurrency: &[usize], base: ScaleArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for (i, &n) in accounts.iter().enumerate() {
        let c = concurrency
            .get(i)
            .or(concurrency.last())
            .copied()
            .unwrap_or(64);
        eprintln!(
            "scale: {n} accounts x {} regions, concurrency {c} ...",
            base.regions
        );
        let out = Command::new(std::env::current_exe()?)
            .args([
                "scale-one",
                "--accounts",
                &n.to_string(),
                "--concurrency",
                &c.to_string(),
                "--regions",
                &base.regions.to_string(),
                "--latency-ms",
                &base.latency_ms.to_string(),
                "--collectors",
                &base.collectors,
                "--sim-rate",
                &base.sim_rate.to_string(),
                "--sim-burst",
                &base.sim_burst.to_string(),
                "--guardduty-mode",
                &base.guardduty_mode,
                "--compliance",
                &base.compliance,
            ])
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            bail!("scale-one {n} failed: {}", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let row: ScaleRow = serde_json::from_str(text.lines().last().unwrap_or(""))
            .with_context(|| format!("scale-one printed {text:?}"))?;
        eprintln!("  {row:?}");
        rows.push(row);
    }
    println!("machine: {}", machine());
    println!(
        "simulated latency {} ms per call, simulator rate limit {} /s burst {} per (account, region, operation), collectors {}, GuardDuty mode {}, compliance {}",
        base.latency_ms, base.sim_rate, base.sim_burst, base.collectors, base.guardduty_mode, base.compliance
    );
    println!();
    println!("| accounts | GuardDuty | compliance | jobs | concurrency | steady cycle | calls | floor | cycle / floor | throttled (absorbed) | failed | listing (calls) | /ready | every account read | calls to then (AssumeRole) | VmRSS | VmHWM | series | exposition bytes (OpenMetrics / gzip) | encode | CPU exporter / sim | exporter CPU per call |");
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {:.2} s | {} | {:.2} s | **{:.2}x** | {} | {} | {:.1} s ({}) | {:.1} s | {:.1} s | {} ({}) | {:.1} MiB | {:.1} MiB | {} | {} / {} | {:.0} ms | {:.1} s / {:.1} s | {:.0} µs |",
            r.accounts,
            r.guardduty_mode,
            r.compliance,
            r.jobs,
            r.concurrency,
            r.steady_s,
            r.steady_calls,
            r.floor_s,
            r.steady_s / r.floor_s,
            r.throttled,
            r.failed,
            r.discovery_s,
            r.discovery_calls,
            r.first_ready_s,
            r.ready_s,
            r.cold_calls,
            r.assume_role,
            r.rss_mib,
            r.hwm_mib,
            r.series,
            r.bytes,
            r.gzip_bytes,
            r.encode_ms,
            r.cpu_exporter_s,
            r.cpu_sim_s,
            r.cpu_exporter_s * 1e6 / r.steady_calls.max(1) as f64,
        );
    }
    println!();
    println!("Where the steady cycle's time went: a call holds its slot for the AWS latency ({} ms here) plus the exporter's own time around it; slots busy = slot-time held / (cycle x concurrency).", base.latency_ms);
    println!();
    println!("| accounts | GuardDuty | compliance | cycle / floor | slot held per call | waited for a slot per call | slots busy |");
    println!("|---:|---|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.2}x | {:.1} ms | {:.1} ms | {:.0}% |",
            r.accounts,
            r.guardduty_mode,
            r.compliance,
            r.steady_s / r.floor_s,
            r.held_ms_per_call,
            r.queued_ms_per_call,
            r.slots_busy * 100.0
        );
    }
    println!();
    println!("| accounts | GuardDuty | compliance | steady cycle / account | calls / account | VmRSS / account | bytes / account |");
    println!("|---:|---|---|---:|---:|---:|---:|");
    for r in &rows {
        let n = r.accounts as f64;
        println!(
            "| {} | {} | {} | {:.2} ms | {:.1} | {:.1} KiB | {:.0} |",
            r.accounts,
            r.guardduty_mode,
            r.compliance,
            r.steady_s * 1000.0 / n,
            r.steady_calls as f64 / n,
            r.rss_mib * 1024.0 / n,
            r.bytes as f64 / n
        );
    }
    Ok(())
}

fn total(calls: &BTreeMap<String, u64>) -> u64 {
    calls.values().sum()
}

fn throttled(counter: &CallCounter) -> u64 {
    counter.total(Outcome::Throttled)
}

/// The scale run's configuration: discovery, `a`'s collectors, GuardDuty's mode and the
/// compliance source.
fn scale_yaml(a: &ScaleArgs, url: &str, interval: Duration) -> anyhow::Result<String> {
    let mut collectors: Vec<&str> = a.collectors.split(',').map(str::trim).collect();
    match a.compliance.as_str() {
        "off" => {}
        "fan-out" | "aggregator" => collectors.push("config_compliance"),
        other => bail!("--compliance {other}: off, fan-out or aggregator"),
    }
    let regions = regions(a.regions);
    let mut yaml = discovery_yaml(
        url,
        "127.0.0.1:0",
        &regions,
        &collectors,
        a.concurrency,
        &format!("{}s", interval.as_secs()),
    );
    // Settings go right after a collector's `interval:` line.
    let after = |yaml: &mut String, collector: &str, extra: &str| {
        let head = format!("  {collector}:\n    enabled: true\n");
        if let Some(i) = yaml.find(&head) {
            let end = yaml[i + head.len()..]
                .find('\n')
                .map(|j| i + head.len() + j + 1)
                .unwrap_or(yaml.len());
            yaml.insert_str(end, extra);
        }
    };
    match a.guardduty_mode.as_str() {
        "accounts" => {}
        "administrator" => after(
            &mut yaml,
            "guardduty",
            &format!(
                "    mode: administrator\n    regions: [{}]\n",
                regions.join(", ")
            ),
        ),
        other => bail!("--guardduty-mode {other}: accounts or administrator"),
    }
    if a.compliance == "aggregator" {
        after(
            &mut yaml,
            "config_compliance",
            "    aggregator: organization-aggregator\n",
        );
    }
    Ok(yaml)
}

/// The least a steady cycle can take: its calls spread over every slot (calls x latency /
/// concurrency), or, when the organization's reads run from one account, that account's
/// busiest client-side bucket (calls beyond the burst at the bucket's rate, then one latency):
/// the aggregator's Config calls and the management account's recorder calls share the
/// management account's Config bucket in the home region (default 5 a second, burst 10), and an
/// administrator-mode GuardDuty job's calls its region's GuardDuty bucket (10 a second, burst 20).
fn floor(a: &ScaleArgs, by_op: &BTreeMap<String, u64>, calls: u64) -> f64 {
    let latency = a.latency_ms as f64 / 1000.0;
    let spread = calls as f64 * latency / a.concurrency.max(1) as f64;
    let limits = posture_exporter::config::aws::RateLimits::default();
    let bucket = |calls: f64, rl: posture_exporter::config::aws::RateLimit| {
        if rl.rate <= 0.0 || calls <= 0.0 {
            0.0
        } else {
            (calls - rl.burst).max(0.0) / rl.rate + latency
        }
    };
    let op = |name: &str| by_op.get(name).copied().unwrap_or(0) as f64;
    let mut worst: f64 = 0.0;
    if a.compliance == "aggregator" {
        // The recorder job of the management account in the home region: its two calls.
        let config = op("DescribeAggregateComplianceByConfigRules")
            + op("DescribeAggregateComplianceByConformancePacks")
            + 2.0;
        worst = worst.max(bucket(config, limits.config));
    }
    if a.guardduty_mode == "administrator" {
        // Every GuardDuty call of the cycle is the administrator's, one job per region.
        let guardduty: f64 = posture_exporter::aws::OPERATIONS
            .iter()
            .filter(|o| o.service == posture_exporter::aws::Service::GuardDuty)
            .map(|o| op(o.name))
            .sum();
        worst = worst.max(bucket(
            guardduty / a.regions.max(1) as f64,
            limits.guardduty,
        ));
    }
    spread.max(worst)
}

/// Runs `bench scale-one`: one size, printed as one JSON line.
pub fn scale_one(a: ScaleArgs) -> anyhow::Result<()> {
    let admin = a.guardduty_mode == "administrator";
    let extra: &[&str] = if admin {
        &["--gd-admin-all-regions"]
    } else {
        &[]
    };
    let mut sim = SimChild::start_with(
        a.accounts.saturating_sub(1),
        a.regions,
        a.latency_ms,
        a.sim_rate,
        a.sim_burst,
        extra,
    )?;
    // The steady cycle is the daemon's own second one: every job loop starts its next run one
    // interval after its first started, so the interval must outlast the cold cycle (and, since
    // collection starts on the first listing pages, the listing: 20 accounts a page at the
    // Organizations rate of 2 a second). Four times a generous estimate of the floor (10 calls
    // per account and region) does.
    let estimate = (a.accounts * a.regions * 10) as f64 * a.latency_ms as f64
        / 1000.0
        / a.concurrency.max(1) as f64
        + a.accounts as f64 / 40.0;
    let interval = Duration::from_secs((estimate * 4.0 + 15.0).ceil() as u64);
    let yaml = scale_yaml(&a, &sim.url, interval)?;
    let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow!("{e}\n{yaml}"))?;
    let rt = runtime(2)?;
    let t0 = Instant::now();
    let app = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        App::start(
            cfg,
            listener,
            AppOptions {
                mode: posture_exporter::scheduler::Mode::Loops { jitter: false },
                static_credentials: Some(creds()),
            },
        )
        .await
        .map_err(anyhow::Error::from)
    })?;
    // `/ready` says yes once the accounts listed so far are read (collection starts on the
    // listing's first pages); the listing is over when every account listed has a target; the
    // cold cycle when every job has run once and the exposition shows it.
    let limit = Duration::from_secs(1800);
    let mut first_ready: Option<Duration> = None;
    let mut note_ready = |app: &App| {
        if first_ready.is_none() && app.store.ready() {
            first_ready = Some(t0.elapsed());
        }
    };
    rt.block_on(async {
        while !app.store.targets_listed() && t0.elapsed() < limit {
            note_ready(&app);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let discovery = t0.elapsed();
    let listing_calls = sim.calls()?.get("ListAccounts").copied().unwrap_or(0);
    rt.block_on(async {
        while !app.store.settled() && t0.elapsed() < limit {
            note_ready(&app);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    if !app.store.settled() {
        bail!("not every account read after {limit:?}");
    }
    note_ready(&app);
    let first_ready = first_ready.unwrap_or_default();
    let ready = t0.elapsed();
    let cold = ready - discovery;
    if ready >= interval {
        bail!(
            "the cold cycle ({ready:?}) outlasted the interval ({interval:?}): raise the estimate"
        );
    }
    let cold_by_op = sim.calls()?;
    let cold_calls = total(&cold_by_op);
    let assume_role = cold_by_op.get("AssumeRole").copied().unwrap_or(0);
    let jobs = app.store.keys().len();
    let cold_end = std::time::SystemTime::now();
    let limiter = rt.block_on(app.limiter());
    let slots0 = limiter.slot_use();
    sim.reset()?;
    let throttled0 = throttled(app.store.calls());
    let cpu0 = cpu_secs(None)?;
    let sim_cpu0 = cpu_secs(Some(sim.pid()))?;

    // The steady cycle: every job run once more, all due at once (credentials cached, clients
    // built), through the scheduler's own run of every job. The daemon's loops would start
    // their second runs one interval after their first, spread as the listing spread them:
    // that measures the listing, not the exporter.
    let rows = rt.block_on(async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t = Instant::now();
        app.scheduler.run_once().await;
        let steady = t.elapsed();
        (steady, app.store.status())
    });
    let (steady, rows) = rows;
    let cpu_exporter = cpu_secs(None)? - cpu0;
    let cpu_sim = cpu_secs(Some(sim.pid()))? - sim_cpu0;
    let slots = limiter.slot_use().since(&slots0);
    if let Some(r) = rows
        .iter()
        .find(|r| r.last_attempt.is_none_or(|t| t <= cold_end))
    {
        bail!("{} did not run in the steady cycle", r.key);
    }
    let failed = rows.iter().filter(|r| r.last_error().is_some()).count();
    let by_op = sim.calls()?;
    let steady_calls = total(&by_op);
    let throttled = throttled(app.store.calls()) - throttled0;
    // The encode a change costs: the exposition built, then the body Prometheus asks for.
    let t_encode = Instant::now();
    let exp = app.store.refresh();
    // A scrape as Prometheus makes it: the daemon then keeps that body (and only it) encoded.
    let gz = app.store.body(Format::OpenMetrics, true);
    let encode = t_encode.elapsed();
    let (rss, hwm) = rss_mib(None)?;
    // The body itself, to count what it is made of (after the figures above are taken).
    if let Some(path) = std::env::var_os("POSTURE_BENCH_BODY") {
        std::fs::write(&path, exp.body(Format::OpenMetrics, false))
            .with_context(|| format!("writing the body to {path:?}"))?;
    }
    let row = ScaleRow {
        accounts: a.accounts,
        regions: a.regions,
        jobs,
        concurrency: a.concurrency,
        latency_ms: a.latency_ms,
        guardduty_mode: a.guardduty_mode.clone(),
        compliance: a.compliance.clone(),
        discovery_s: discovery.as_secs_f64(),
        discovery_calls: listing_calls,
        cold_s: cold.as_secs_f64(),
        cold_calls,
        first_ready_s: first_ready.as_secs_f64(),
        ready_s: ready.as_secs_f64(),
        assume_role,
        gzip_bytes: gz.len(),
        held_ms_per_call: slots.held.as_secs_f64() * 1000.0 / slots.calls.max(1) as f64,
        queued_ms_per_call: slots.queued.as_secs_f64() * 1000.0 / slots.calls.max(1) as f64,
        slots_busy: slots.held.as_secs_f64()
            / (steady.as_secs_f64() * a.concurrency as f64).max(1e-9),
        encode_ms: encode.as_secs_f64() * 1000.0,
        steady_s: steady.as_secs_f64(),
        steady_calls,
        floor_s: floor(&a, &by_op, steady_calls),
        steady_calls_by_op: by_op,
        throttled,
        failed,
        series: exp.series,
        bytes: exp.body(Format::OpenMetrics, false).len(),
        rss_mib: rss,
        hwm_mib: hwm,
        cpu_exporter_s: cpu_exporter,
        cpu_sim_s: cpu_sim,
    };
    println!("{}", serde_json::to_string(&row)?);
    rt.block_on(app.stop());
    drop(sim);
    Ok(())
}
