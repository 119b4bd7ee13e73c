//! `bench`: the end-to-end benchmarks of BENCHMARKS.md, each printing a Markdown table.
//!
//! - `serve`: `/metrics` of the real exporter (filled by a real collection from the simulator)
//!   against a bare hyper server answering the same bytes, in the same process and the same run,
//!   under a built-in load generator (keep-alive connections, fixed duration), plain and gzip.
//! - `rss`: the resident set of the real `posture-exporter` binary, run as a child process
//!   against a simulator child, after its first cycle and after serving.
//! - `scale`: one process per organization size (so each resident set is its own): a simulator
//!   child with per-call latency and rate limits, the exporter in this process; discovery, the
//!   cold first cycle and the daemon's own second cycle, against the floor
//!   `calls x latency / concurrency`.
//! - `budget`: org-rule calls per cycle against a naive full scan of every member.
//! - `compliance-budget`: compliance calls per cycle through the aggregator and the fan-out.
//! - `guardduty-budget`: GuardDuty calls per cycle, accounts mode against administrator mode
//!   (`gd_budget.rs`).
//!
//! Ratios, not absolute figures, are what the goals are about: the figures compared are always
//! taken in one run on one machine. Everything here is bounded in time and talks to loopback
//! only. Build with `cargo build --release --workspace --bins` (the exporter binary must sit
//! beside this one for `rss`).
#![forbid(unsafe_code)]

mod gd_budget;

/// The process allocator (see BENCHMARKS.md, "Changes found by profiling").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use aws_credential_types::Credentials;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

mod compliance;
mod soak;
mod throttle;

use aws_sim::config_org as co;
use aws_sim::{Sim, SimRateLimit, WorldOptions};
use posture_exporter::app::{App, AppOptions};
use posture_exporter::aws::{AwsFactory, CallCounter, Outcome};
use posture_exporter::collect::{Collector as _, JobContext};
use posture_exporter::collectors::config_org_rules::{self, ConfigOrgRules};
use posture_exporter::config::Config;
use posture_exporter::metrics::Format;

/// The management account's key: the simulator takes any key that is not one of its own
/// assumed-role keys for the management account.
const ACCESS_KEY: &str = "AKIABENCHMANAGEMENT1";
const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"];
/// The Accept header Prometheus 2.x/3.x sends on a scrape.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// Every collector the exporter has (so one added later is listed, and off unless asked for).
fn all_collectors() -> impl Iterator<Item = &'static str> {
    posture_exporter::collectors::CollectorKind::ALL
        .iter()
        .map(|k| k.name())
}

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "End-to-end benchmarks of posture-exporter (see BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// `/metrics` requests per second and latency, exporter against a bare hyper server.
    Serve {
        /// Accounts of the simulated organization whose collection fills the store.
        #[arg(long, default_value_t = 150)]
        accounts: usize,
        /// Regions (2 gives the demo's shape).
        #[arg(long, default_value_t = 2)]
        regions: usize,
        /// Keep-alive connections of the load generator (a comma-separated list runs each).
        #[arg(long, default_value = "1,8")]
        connections: String,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Rounds; each round measures every server back to back, rotating which goes first.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// Worker threads of the runtime both servers run on.
        #[arg(long, default_value_t = 2)]
        server_threads: usize,
        /// Worker threads of the load generator's runtime.
        #[arg(long, default_value_t = 2)]
        client_threads: usize,
        /// Also measure bare servers with one of the exporter's connection settings each.
        #[arg(long)]
        variants: bool,
    },
    /// Resident set of the real exporter binary at a given organization size.
    Rss {
        /// Accounts of the simulated organization.
        #[arg(long, default_value_t = 150)]
        accounts: usize,
        /// Regions.
        #[arg(long, default_value_t = 2)]
        regions: usize,
        /// Seconds of load before the second reading.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Collection interval. The daemon spreads the first run of every job over one interval
        /// (jitter), so `/ready` comes after about this long.
        #[arg(long, default_value = "20s")]
        interval: String,
        /// The exporter binary to run (default: `posture-exporter` beside this one), to compare
        /// builds.
        #[arg(long)]
        exporter: Option<PathBuf>,
    },
    /// Cycle time, calls and resident set against the organization size.
    Scale {
        /// Organization sizes (accounts, management included), comma-separated.
        #[arg(long, default_value = "10,100,1000")]
        accounts: String,
        /// `aws.max_concurrent_calls` per size, comma-separated (the last repeats).
        #[arg(long, default_value = "8,32,64")]
        concurrency: String,
        /// Regions per account.
        #[arg(long, default_value_t = 4)]
        regions: usize,
        /// Simulated latency of every call, milliseconds.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        /// Collectors to run, comma-separated.
        #[arg(long, default_value = "config_recorder,guardduty")]
        collectors: String,
        /// Simulator rate limit per (account, region, operation), calls a second (0: none).
        #[arg(long, default_value_t = 600.0)]
        sim_rate: f64,
        /// Simulator burst.
        #[arg(long, default_value_t = 600.0)]
        sim_burst: f64,
        /// GuardDuty's mode: `accounts` (every account and region reads its own detector) or
        /// `administrator` (one job per region on the management account).
        #[arg(long, default_value = "accounts")]
        guardduty_mode: String,
        /// `config_compliance`: `off`, `fan-out` (every account and region) or `aggregator`
        /// (one job on the management account's organization aggregator).
        #[arg(long, default_value = "off")]
        compliance: String,
    },
    /// One size of `scale`, in a fresh process; prints one JSON line.
    #[command(hide = true)]
    ScaleOne {
        #[arg(long)]
        accounts: usize,
        #[arg(long)]
        concurrency: usize,
        #[arg(long)]
        regions: usize,
        #[arg(long)]
        latency_ms: u64,
        #[arg(long)]
        collectors: String,
        #[arg(long)]
        sim_rate: f64,
        #[arg(long)]
        sim_burst: f64,
        #[arg(long)]
        guardduty_mode: String,
        #[arg(long)]
        compliance: String,
    },
    /// A simulator child: prints `url <url>`, then answers commands on stdin (`calls`, `reset`,
    /// and the fault and organization commands of `soak.rs`).
    #[command(hide = true)]
    Sim {
        #[arg(long)]
        members: usize,
        #[arg(long)]
        regions: usize,
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        #[arg(long, default_value_t = 0.0)]
        burst: f64,
        /// IAM access reports that complete on their first read and never fail, so that the
        /// report's series stay put once complete.
        #[arg(long)]
        steady_iam: bool,
        /// The management account is GuardDuty's administrator in every region.
        #[arg(long)]
        gd_admin_all_regions: bool,
    },
    /// A cycle while the simulator allows a fraction of the configured STS, Config and
    /// GuardDuty rates (zero failed collections expected), then the recovery once lifted.
    Throttle {
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        #[arg(long, default_value_t = 4)]
        regions: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        /// The share of the configured rates the simulator allows.
        #[arg(long, default_value_t = 0.1)]
        fraction: f64,
    },
    /// The Organizations calls of one discovery refresh with and without OU filters.
    OuWalk {
        #[arg(long, default_value_t = 10000)]
        accounts: usize,
        #[arg(long, default_value_t = 500)]
        ous: usize,
    },
    /// A fault soak at organization scale: discovery, every collector, faults rotating each
    /// interval, accounts joining and leaving, SIGHUP reloads, the simulator unreachable, and a
    /// scraper throughout; then every check of `soak.rs`. Exits 1 if one fails.
    Soak(soak::SoakArgs),
    /// The overview page (`/`, a section, a filtered job list, `/status.json`): size and time
    /// to serve from a warm exporter over a discovered organization.
    Overview {
        /// Accounts of the simulated organization (management included).
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// Regions.
        #[arg(long, default_value_t = 4)]
        regions: usize,
        /// Requests per page (sequential, one connection each).
        #[arg(long, default_value_t = 100)]
        requests: usize,
    },
    /// Org-rule calls per cycle against a naive full scan.
    Budget {
        /// Accounts (management included).
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// Organization Config rules.
        #[arg(long, default_value_t = 50)]
        rules: usize,
        /// Steady cycles measured after the first.
        #[arg(long, default_value_t = 3)]
        cycles: usize,
    },
    /// `config_compliance` calls per cycle: through the aggregator and through the fan-out.
    ComplianceBudget {
        /// Accounts (management included).
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// Regions (at most 4).
        #[arg(long, default_value_t = 4)]
        regions: usize,
        /// Config rules in every account and region.
        #[arg(long, default_value_t = 50)]
        rules: usize,
        /// Conformance packs in every account and region.
        #[arg(long, default_value_t = 0)]
        packs: usize,
        /// Share of (rule, account, region) that is NON_COMPLIANT.
        #[arg(long, default_value_t = 0.02)]
        noncompliant: f64,
    },
    /// GuardDuty calls per cycle in both modes at each organization size.
    GuarddutyBudget {
        /// Organization sizes (accounts, management included), comma-separated.
        #[arg(long, default_value = "10,100,1000")]
        accounts: String,
        /// Regions per account.
        #[arg(long, default_value_t = 4)]
        regions: usize,
    },
}

fn main() -> anyhow::Result<()> {
    // Before anything else (threads, the runtime): see `posture_exporter::allocator`.
    if let Err(e) = posture_exporter::allocator::purge_promptly() {
        eprintln!("{e}; freed memory is returned to the system later");
    }
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve {
            accounts,
            regions,
            connections,
            seconds,
            rounds,
            server_threads,
            client_threads,
            variants,
        } => serve(ServeArgs {
            accounts,
            regions,
            connections: parse_list(&connections)?,
            seconds,
            rounds,
            server_threads,
            client_threads,
            variants,
        }),
        Cmd::Throttle {
            accounts,
            regions,
            concurrency,
            latency_ms,
            fraction,
        } => throttle::throttle(accounts, regions, concurrency, latency_ms, fraction),
        Cmd::OuWalk { accounts, ous } => throttle::ou_walk(accounts, ous),
        Cmd::Rss {
            accounts,
            regions,
            seconds,
            interval,
            exporter,
        } => rss(accounts, regions, seconds, &interval, exporter),
        Cmd::Scale {
            accounts,
            concurrency,
            regions,
            latency_ms,
            collectors,
            sim_rate,
            sim_burst,
            guardduty_mode,
            compliance,
        } => scale(
            &parse_list(&accounts)?,
            &parse_list(&concurrency)?,
            ScaleArgs {
                accounts: 0,
                concurrency: 0,
                regions,
                latency_ms,
                collectors,
                sim_rate,
                sim_burst,
                guardduty_mode,
                compliance,
            },
        ),
        Cmd::ScaleOne {
            accounts,
            concurrency,
            regions,
            latency_ms,
            collectors,
            sim_rate,
            sim_burst,
            guardduty_mode,
            compliance,
        } => scale_one(ScaleArgs {
            accounts,
            concurrency,
            regions,
            latency_ms,
            collectors,
            sim_rate,
            sim_burst,
            guardduty_mode,
            compliance,
        }),
        Cmd::Sim {
            members,
            regions,
            latency_ms,
            rate,
            burst,
            steady_iam,
            gd_admin_all_regions,
        } => sim_child(
            members,
            regions,
            latency_ms,
            rate,
            burst,
            steady_iam,
            gd_admin_all_regions,
        ),
        Cmd::Soak(a) => soak::run(a),
        Cmd::Budget {
            accounts,
            rules,
            cycles,
        } => budget(accounts, rules, cycles),
        Cmd::Overview {
            accounts,
            regions: n,
            requests,
        } => overview(accounts, n, requests),
        Cmd::ComplianceBudget {
            accounts,
            regions,
            rules,
            packs,
            noncompliant,
        } => compliance::budget(accounts, regions, rules, packs, noncompliant),
        Cmd::GuarddutyBudget { accounts, regions } => {
            gd_budget::run(&parse_list(&accounts)?, regions)
        }
    }
}

fn parse_list(s: &str) -> anyhow::Result<Vec<usize>> {
    s.split(',')
        .map(|p| {
            p.trim()
                .replace('_', "")
                .parse::<usize>()
                .with_context(|| format!("not a number: {p:?}"))
        })
        .collect()
}

fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?)
}

fn regions(n: usize) -> Vec<String> {
    REGIONS[..n.clamp(1, REGIONS.len())]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn creds() -> Credentials {
    Credentials::new(ACCESS_KEY, "x", None, None, "bench")
}

/// A discovery config over the simulator at `url` with `collectors` enabled every `interval`
/// (1h in-process, so that a second cycle happens only when the benchmark asks for one).
fn discovery_yaml(
    url: &str,
    listen: &str,
    regions: &[String],
    collectors: &[&str],
    concurrency: usize,
    interval: &str,
) -> String {
    let mut y = format!(
        "listen: \"{listen}\"\naws:\n  region: us-east-1\n  endpoint_url: \"{url}\"\n  max_concurrent_calls: {concurrency}\n\
targets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: [{}]\ncollectors:\n",
        regions.join(", ")
    );
    for c in all_collectors() {
        y.push_str(&format!(
            "  {c}:\n    enabled: {}\n    interval: {interval}\n",
            collectors.contains(&c)
        ));
    }
    y
}

/// The demo's collectors (everything but the IAM report, which needs entity paths).
const DEMO_COLLECTORS: &[&str] = &[
    "config_recorder",
    "config_org_rules",
    "config_aggregators",
    "guardduty",
];

// ---------------------------------------------------------------------------------------------
// Process figures.

/// (VmRSS, VmHWM) in MiB of `pid`, or of this process.
fn rss_mib(pid: Option<u32>) -> anyhow::Result<(f64, f64)> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let s = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = s
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| anyhow!("{name} missing from {path}"))?;
        let kb: f64 = line
            .split_whitespace()
            .nth(1)
            .ok_or_else(|| anyhow!("bad {name} line"))?
            .parse()?;
        Ok(kb / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// User + system CPU seconds of `pid`, or of this process (clock ticks of 1/100 s).
fn cpu_secs(pid: Option<u32>) -> anyhow::Result<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let s = std::fs::read_to_string(&path)?;
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(f.get(i)
            .ok_or_else(|| anyhow!("short {path}"))?
            .parse::<f64>()?)
    };
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cpus} CPUs ({cpu}), {mem} RAM")
}

// ---------------------------------------------------------------------------------------------
// The simulator as a child process, so that its CPU and memory are not the exporter's.

struct SimChild {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    url: String,
}

impl SimChild {
    fn start(
        members: usize,
        regions: usize,
        latency_ms: u64,
        rate: f64,
        burst: f64,
    ) -> anyhow::Result<SimChild> {
        Self::start_with(members, regions, latency_ms, rate, burst, &[])
    }

    /// Like [`SimChild::start`], with further flags of the `sim` command.
    fn start_with(
        members: usize,
        regions: usize,
        latency_ms: u64,
        rate: f64,
        burst: f64,
        flags: &[&str],
    ) -> anyhow::Result<SimChild> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "sim",
                "--members",
                &members.to_string(),
                "--regions",
                &regions.to_string(),
                "--latency-ms",
                &latency_ms.to_string(),
                "--rate",
                &rate.to_string(),
                "--burst",
                &burst.to_string(),
            ])
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the simulator child")?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("url ")
            .ok_or_else(|| anyhow!("the simulator said {line:?}"))?
            .to_string();
        Ok(SimChild {
            child,
            stdin,
            stdout,
            url,
        })
    }

    fn ask(&mut self, cmd: &str) -> anyhow::Result<String> {
        writeln!(self.stdin, "{cmd}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(line)
    }

    /// Calls per operation since the last reset (throttled ones included).
    fn calls(&mut self) -> anyhow::Result<BTreeMap<String, u64>> {
        Ok(serde_json::from_str(&self.ask("calls")?)?)
    }

    fn reset(&mut self) -> anyhow::Result<()> {
        self.ask("reset").map(|_| ())
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        // Closing stdin ends it; kill only if it lingers.
        let _ = self.stdin.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The organization of a simulator child (the soak computes the same one to know its IAM root).
fn sim_world(members: usize, nregions: usize, steady_iam: bool) -> WorldOptions {
    let mut w = WorldOptions {
        members,
        regions: regions(nregions),
        ..WorldOptions::default()
    };
    if steady_iam {
        w.iam.polls_in_progress = 0;
        w.iam.fail_every = 0;
    }
    w
}

fn sim_child(
    members: usize,
    nregions: usize,
    latency_ms: u64,
    rate: f64,
    burst: f64,
    steady_iam: bool,
    gd_admin_all_regions: bool,
) -> anyhow::Result<()> {
    let rt = runtime(2)?;
    let mut world = sim_world(members, nregions, steady_iam);
    world.guardduty.admin_all_regions = gd_admin_all_regions;
    let sim = rt.block_on(Sim::start(world))?;
    sim.set_latency(Duration::from_millis(latency_ms));
    if rate > 0.0 {
        sim.set_rate_limit(Some(SimRateLimit {
            rate,
            burst: burst.max(1.0),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "url {}", sim.url())?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "calls" => writeln!(out, "{}", serde_json::to_string(&sim.all_calls())?)?,
            "reset" => {
                sim.reset_calls();
                writeln!(out, "ok")?;
            }
            other => writeln!(out, "{}", soak::sim_command(&rt, &sim, other))?,
        }
        out.flush()?;
    }
    sim.stop();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HTTP: a bare server and a load generator.

/// Connection settings of a bare server: none (hyper's defaults), or one of the exporter's, to
/// tell which of them costs what.
#[derive(Clone, Copy, Debug, Default)]
struct BareOpts {
    /// `http1::Builder::max_buf_size`.
    max_buf_size: Option<usize>,
    /// `http1::Builder::header_read_timeout` (with hyper-util's Tokio timer).
    header_read_timeout: Option<Duration>,
}

/// Serves `plain`/`gzip` on every request (gzip when the request's Accept-Encoding names it),
/// with the headers the exporter sends: the least a server can do to serve these bytes.
async fn bare_server(
    listener: TcpListener,
    plain: Bytes,
    gzip: Bytes,
    content_type: &'static str,
    opts: BareOpts,
    token: CancellationToken,
) {
    loop {
        let (stream, _) = tokio::select! {
            _ = token.cancelled() => return,
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
        };
        let _ = stream.set_nodelay(true);
        let (plain, gzip, token) = (plain.clone(), gzip.clone(), token.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                let gz = req
                    .headers()
                    .get(header::ACCEPT_ENCODING)
                    .is_some_and(|v| v.as_bytes().windows(4).any(|w| w == b"gzip"));
                let mut r = Response::new(Full::new(if gz { gzip.clone() } else { plain.clone() }));
                let h = r.headers_mut();
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                if gz {
                    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                h.insert(
                    header::VARY,
                    HeaderValue::from_static("Accept, Accept-Encoding"),
                );
                async move { Ok::<_, std::convert::Infallible>(r) }
            });
            let mut b = hyper::server::conn::http1::Builder::new();
            if let Some(n) = opts.max_buf_size {
                b.max_buf_size(n);
            }
            if let Some(t) = opts.header_read_timeout {
                b.timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(t);
            }
            let conn = b.serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = token.cancelled() => {}
            }
        });
    }
}

/// What one load run measured.
struct Load {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    /// Microseconds from sending a request to its last body byte, sorted.
    latencies: Vec<u32>,
}

impl Load {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((q * self.latencies.len() as f64) as usize).min(self.latencies.len() - 1);
        self.latencies[i] as f64 / 1000.0
    }

    fn merge(loads: Vec<Load>) -> Load {
        let mut out = Load {
            requests: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
        };
        for l in loads {
            out.requests += l.requests;
            out.errors += l.errors;
            out.elapsed += l.elapsed;
            out.latencies.extend(l.latencies);
        }
        out.latencies.sort_unstable();
        out
    }
}

/// `conns` keep-alive connections each sending GET /metrics back to back for `dur` (and at most
/// a million requests), draining every body and checking its length when `expect` gives one (a
/// live exporter re-encodes between requests, so its length is not fixed).
async fn load(
    addr: SocketAddr,
    conns: usize,
    dur: Duration,
    gzip: bool,
    expect: Option<usize>,
) -> Load {
    let start = Instant::now();
    let deadline = start + dur;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..conns {
        set.spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            let mut errors = 0u64;
            let r: anyhow::Result<()> = async {
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (mut tx, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(conn);
                while Instant::now() < deadline && lat.len() < 1_000_000 {
                    tx.ready().await?;
                    let req = Request::get("/metrics")
                        .header(header::HOST, addr.to_string())
                        .header(header::ACCEPT, PROMETHEUS_ACCEPT)
                        .header(
                            header::ACCEPT_ENCODING,
                            if gzip { "gzip" } else { "identity" },
                        )
                        .body(Empty::<Bytes>::new())?;
                    let t = Instant::now();
                    let resp = tx.send_request(req).await?;
                    let ok = resp.status() == StatusCode::OK;
                    let mut body = resp.into_body();
                    let mut n = 0usize;
                    while let Some(frame) = body.frame().await {
                        if let Ok(d) = frame?.into_data() {
                            n += d.len();
                        }
                    }
                    if !ok || expect.is_some_and(|e| e != n) {
                        errors += 1;
                    }
                    lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                Ok(())
            }
            .await;
            if r.is_err() {
                errors += 1;
            }
            (lat, errors)
        });
    }
    let mut loads = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok((lat, errors)) = r {
            loads.push(Load {
                requests: lat.len() as u64,
                errors,
                elapsed: Duration::ZERO,
                latencies: lat,
            });
        }
    }
    let mut l = Load::merge(loads);
    l.elapsed = start.elapsed();
    l
}

/// One GET, for probes and to fetch the exposition.
async fn get(addr: SocketAddr, path: &str, gzip: bool) -> anyhow::Result<(StatusCode, Bytes)> {
    let stream = TcpStream::connect(addr).await?;
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::get(path)
        .header(header::HOST, addr.to_string())
        .header(header::ACCEPT, PROMETHEUS_ACCEPT)
        .header(
            header::ACCEPT_ENCODING,
            if gzip { "gzip" } else { "identity" },
        )
        .body(Empty::<Bytes>::new())?;
    let resp = tx.send_request(req).await?;
    let status = resp.status();
    Ok((status, resp.into_body().collect().await?.to_bytes()))
}

// ---------------------------------------------------------------------------------------------
// serve

struct ServeArgs {
    accounts: usize,
    regions: usize,
    connections: Vec<usize>,
    seconds: f64,
    rounds: usize,
    server_threads: usize,
    client_threads: usize,
    variants: bool,
}

fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let server_rt = runtime(a.server_threads)?;
    let client_rt = runtime(a.client_threads)?;

    // Fill the exporter from a real collection (simulator in this process, idle afterwards).
    let (sim, app) = server_rt.block_on(async {
        let sim = Sim::start(WorldOptions {
            members: a.accounts.saturating_sub(1),
            regions: regions(a.regions),
            ..WorldOptions::default()
        })
        .await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let yaml = discovery_yaml(
            &sim.url(),
            "127.0.0.1:0",
            &regions(a.regions),
            DEMO_COLLECTORS,
            64,
            "1h",
        );
        let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow!("{e}"))?;
        let app = App::start(
            cfg,
            listener,
            AppOptions {
                mode: posture_exporter::scheduler::Mode::Loops { jitter: false },
                static_credentials: Some(creds()),
            },
        )
        .await?;
        let t = Instant::now();
        while !app.store.ready() {
            if t.elapsed() > Duration::from_secs(300) {
                bail!("the exporter was not ready after 300 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the debounced encoder settle, then encode once more so nothing changes during
        // the measurement.
        tokio::time::sleep(Duration::from_millis(500)).await;
        app.store.refresh();
        Ok::<_, anyhow::Error>((sim, app))
    })?;
    let exp = app.store.exposition();
    let (plain, gzip) = (
        exp.body(Format::OpenMetrics, false),
        exp.body(Format::OpenMetrics, true),
    );
    let token = CancellationToken::new();
    let mut variants = vec![("bare hyper", BareOpts::default())];
    if a.variants {
        variants.push((
            "bare + max_buf_size 64 KiB",
            BareOpts {
                max_buf_size: Some(64 * 1024),
                ..BareOpts::default()
            },
        ));
        variants.push((
            "bare + header_read_timeout",
            BareOpts {
                header_read_timeout: Some(Duration::from_secs(10)),
                ..BareOpts::default()
            },
        ));
    }
    // (name, address): the exporter first, the plain bare server second.
    let mut servers: Vec<(&str, SocketAddr)> = vec![("exporter", app.addr)];
    for (name, opts) in &variants {
        let addr = server_rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await?;
            let addr = l.local_addr()?;
            tokio::spawn(bare_server(
                l,
                plain.clone(),
                gzip.clone(),
                posture_exporter::metrics::Format::OpenMetrics.content_type(),
                *opts,
                token.clone(),
            ));
            Ok::<_, anyhow::Error>(addr)
        })?;
        servers.push((name, addr));
    }
    // Every server must answer the same bytes.
    for gz in [false, true] {
        let (_, e) = client_rt.block_on(get(app.addr, "/metrics", gz))?;
        for (name, addr) in &servers[1..] {
            let (_, b) = client_rt.block_on(get(*addr, "/metrics", gz))?;
            if e != b {
                bail!("the exporter and {name} answer different bytes (gzip: {gz})");
            }
        }
    }

    println!("machine: {}", machine());
    println!(
        "exposition: {} series, {} bytes OpenMetrics text, {} bytes gzip ({} accounts x {} regions, collectors {}); \
         server runtime {} threads, load generator {} threads, {} rounds of {} s per cell",
        exp.series,
        plain.len(),
        gzip.len(),
        a.accounts,
        a.regions,
        DEMO_COLLECTORS.join(", "),
        a.server_threads,
        a.client_threads,
        a.rounds,
        a.seconds
    );
    println!();
    println!(
        "| body | conns | server | req/s | p50 ms | p90 ms | p99 ms | errors | / bare hyper: median of rounds (range) |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    let dur = Duration::from_secs_f64(a.seconds);
    for &conns in &a.connections {
        for gz in [false, true] {
            let expect = Some(if gz { gzip.len() } else { plain.len() });
            // Warm every server (connections, allocator, caches).
            for (_, addr) in &servers {
                client_rt.block_on(load(*addr, conns, Duration::from_millis(300), gz, expect));
            }
            let mut runs: Vec<Vec<Load>> = servers.iter().map(|_| Vec::new()).collect();
            for round in 0..a.rounds {
                // Rotate who goes first, so drift in the machine's load spreads evenly.
                for k in 0..servers.len() {
                    let i = (k + round) % servers.len();
                    runs[i].push(client_rt.block_on(load(servers[i].1, conns, dur, gz, expect)));
                }
            }
            // Each round measured every server back to back: the ratio of a round is taken
            // between neighbours in time, and the median over rounds shrugs off the rounds that
            // other work on the machine disturbed.
            let ratios: Vec<Vec<f64>> = runs
                .iter()
                .map(|r| {
                    let mut v: Vec<f64> = r
                        .iter()
                        .zip(&runs[1])
                        .map(|(x, b)| x.rps() / b.rps())
                        .collect();
                    v.sort_by(|a, b| a.total_cmp(b));
                    v
                })
                .collect();
            let merged: Vec<Load> = runs.into_iter().map(Load::merge).collect();
            let body = if gz { "gzip" } else { "plain" };
            for (((name, _), l), r) in servers.iter().zip(&merged).zip(&ratios) {
                let median = r.get(r.len() / 2).copied().unwrap_or(f64::NAN);
                let range = format!(
                    "{:.2}-{:.2}",
                    r.first().copied().unwrap_or(f64::NAN),
                    r.last().copied().unwrap_or(f64::NAN)
                );
                println!(
                    "| {body} | {conns} | {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
                    l.rps(),
                    l.pct(0.50),
                    l.pct(0.90),
                    l.pct(0.99),
                    l.errors,
                    match *name {
                        "exporter" => format!("**{median:.2}x** ({range})"),
                        "bare hyper" => String::new(),
                        _ => format!("{median:.2}x ({range})"),
                    }
                );
            }
        }
    }
    token.cancel();
    server_rt.block_on(app.stop());
    sim.stop();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// rss

fn rss(
    accounts: usize,
    nregions: usize,
    seconds: f64,
    interval: &str,
    exporter: Option<PathBuf>,
) -> anyhow::Result<()> {
    let exe = match exporter {
        Some(p) => p,
        None => std::env::current_exe()?.with_file_name("posture-exporter"),
    };
    if !exe.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p posture-exporter`",
            exe.display()
        );
    }
    let sim = SimChild::start(accounts.saturating_sub(1), nregions, 0, 0.0, 0.0)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let dir = std::env::temp_dir().join(format!("posture-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cfg_path = dir.join("config.yaml");
    std::fs::write(
        &cfg_path,
        discovery_yaml(
            &sim.url,
            &addr.to_string(),
            &regions(nregions),
            DEMO_COLLECTORS,
            64,
            interval,
        ),
    )?;
    let mut child = Command::new(&exe)
        .arg("--config")
        .arg(&cfg_path)
        .args(["--log-level", "warn"])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(
            dir.join("exporter.log"),
        )?))
        .spawn()
        .context("starting the exporter")?;
    let pid = child.id();
    let rt = runtime(2)?;
    let result = (|| -> anyhow::Result<()> {
        let t = Instant::now();
        rt.block_on(async {
            loop {
                if let Ok((StatusCode::OK, _)) = get(addr, "/ready", false).await {
                    return Ok(());
                }
                if t.elapsed() > Duration::from_secs(300) {
                    bail!("the exporter was not ready after 300 s");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })?;
        let ready_after = t.elapsed();
        // The encoder debounces: let it settle before reading the exposition.
        std::thread::sleep(Duration::from_millis(1000));
        // One scrape as Prometheus makes it (OpenMetrics, gzip): the daemon keeps the body
        // asked for encoded, and only that one. Then the plain body, to count the series.
        let (_, gz) = rt.block_on(get(addr, "/metrics", true))?;
        let (idle_rss, idle_hwm) = rss_mib(Some(pid))?;
        let (_, prom) = rt.block_on(get(addr, "/metrics", false))?;
        let series = prom
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
            .count();
        let dur = Duration::from_secs_f64(seconds);
        let lp = rt.block_on(load(addr, 8, dur, false, None));
        let lg = rt.block_on(load(addr, 8, dur, true, None));
        let (rss_after, hwm_after) = rss_mib(Some(pid))?;
        println!("machine: {}", machine());
        println!(
            "exporter: {} ({} accounts x {} regions, collectors {}), ready after {:.1} s",
            exe.display(),
            accounts,
            nregions,
            DEMO_COLLECTORS.join(", "),
            ready_after.as_secs_f64()
        );
        println!();
        println!("| series | exposition bytes | gzip bytes | VmRSS after the first cycle | VmHWM | VmRSS after {:.0} s of 8-connection load (plain then gzip) | VmHWM |", seconds * 2.0);
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {series} | {} | {} | {idle_rss:.1} MiB | {idle_hwm:.1} MiB | {rss_after:.1} MiB | {hwm_after:.1} MiB |",
            prom.len(),
            gz.len()
        );
        println!(
            "(load: plain {:.0} req/s, gzip {:.0} req/s, {} errors)",
            lp.rps(),
            lg.rps(),
            lp.errors + lg.errors
        );
        Ok(())
    })();
    // Our own child: stop it by its handle.
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = &result {
        let log = std::fs::read_to_string(dir.join("exporter.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        eprintln!("{e}; the exporter's last log lines:");
        for l in tail.iter().rev() {
            eprintln!("  {l}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

// ---------------------------------------------------------------------------------------------
// scale

struct ScaleArgs {
    accounts: usize,
    concurrency: usize,
    regions: usize,
    latency_ms: u64,
    collectors: String,
    sim_rate: f64,
    sim_burst: f64,
    guardduty_mode: String,
    compliance: String,
}

/// What one size measured (one JSON line from `scale-one`).
#[derive(serde::Serialize, serde::Deserialize, Debug)]
struct ScaleRow {
    accounts: usize,
    regions: usize,
    guardduty_mode: String,
    compliance: String,
    /// Start to the end of the listing (collection runs during it).
    ready_s: f64,
    /// AssumeRole calls from start to `/ready`.
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

fn scale(accounts: &[usize], concurrency: &[usize], base: ScaleArgs) -> anyhow::Result<()> {
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
    println!("| accounts | GuardDuty | compliance | jobs | concurrency | steady cycle | calls | floor | cycle / floor | throttled (absorbed) | failed | listing (calls) | /ready | calls to /ready (AssumeRole) | VmRSS | VmHWM | series | exposition bytes (OpenMetrics / gzip) | encode | CPU exporter / sim | exporter CPU per call |");
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {:.2} s | {} | {:.2} s | **{:.2}x** | {} | {} | {:.1} s ({}) | {:.1} s | {} ({}) | {:.1} MiB | {:.1} MiB | {} | {} / {} | {:.0} ms | {:.1} s / {:.1} s | {:.0} µs |",
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
        // GuardDuty's operations sit together in the operations table, ListDetectors first.
        let names = posture_exporter::aws::names::OPERATION_NAMES;
        let first = names
            .iter()
            .position(|n| *n == "ListDetectors")
            .unwrap_or(0);
        let last = names
            .iter()
            .position(|n| *n == "ListInvitations")
            .unwrap_or(0);
        let guardduty: f64 = names[first..=last.max(first)].iter().map(|n| op(n)).sum();
        worst = worst.max(bucket(
            guardduty / a.regions.max(1) as f64,
            limits.guardduty,
        ));
    }
    spread.max(worst)
}

fn scale_one(a: ScaleArgs) -> anyhow::Result<()> {
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
    // The listing is over when the target is resolved (collection starts on its first pages);
    // the cold cycle when every job has run once and the exposition shows it (`/ready`).
    let limit = Duration::from_secs(1800);
    rt.block_on(async {
        while !app.store.targets_resolved() && t0.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let discovery = t0.elapsed();
    let listing_calls = sim.calls()?.get("ListAccounts").copied().unwrap_or(0);
    rt.block_on(async {
        while !app.store.ready() && t0.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    if !app.store.ready() {
        bail!("not ready after {limit:?}");
    }
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
    let failed = rows.iter().filter(|r| r.last_error.is_some()).count();
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

// ---------------------------------------------------------------------------------------------
// overview

fn overview(accounts: usize, nregions: usize, requests: usize) -> anyhow::Result<()> {
    let sim = SimChild::start(accounts.saturating_sub(1), nregions, 0, 0.0, 0.0)?;
    let yaml = discovery_yaml(
        &sim.url,
        "127.0.0.1:0",
        &regions(nregions),
        DEMO_COLLECTORS,
        64,
        "1h",
    );
    let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow!("{e}\n{yaml}"))?;
    let rt = runtime(2)?;
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
    let t0 = Instant::now();
    rt.block_on(async {
        while !app.store.ready() && t0.elapsed() < Duration::from_secs(1800) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    if !app.store.ready() {
        bail!("not ready after 30 minutes");
    }
    app.store.refresh();
    let jobs = app.store.keys().len();
    let account = app
        .store
        .keys()
        .iter()
        .map(|k| k.account_id.clone())
        .nth(jobs / 2)
        .unwrap_or_default();
    println!(
        "overview: {accounts} accounts x {nregions} regions, {jobs} jobs (collectors {}), {requests} sequential requests a page, each on a new connection; {}",
        DEMO_COLLECTORS.join(", "),
        machine()
    );
    println!();
    println!(
        "| page | bytes | rows | p50 ms | p90 ms | max ms | after a change: p50 ms | p90 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let addr = app.addr;
    // A change to the store between two requests (here: an extra family replaced, which moves
    // the store's revision as any recorded run does), so the next request computes the digest
    // again: what a page costs on an exporter whose jobs keep finishing.
    static TOUCH: posture_exporter::metrics::Desc = posture_exporter::metrics::Desc {
        name: "bench_touch",
        help: "Replaced between requests by the overview benchmark.",
        kind: posture_exporter::metrics::Kind::Gauge,
        labels: &[],
    };
    for path in [
        "/".to_string(),
        "/?section=failed_deployments".to_string(),
        "/?section=findings&page=2".to_string(),
        format!("/?account={account}#jobs"),
        "/?state=ok&page=3".to_string(),
        "/status.json".to_string(),
    ] {
        let mut times = Vec::with_capacity(requests);
        let mut bytes = 0;
        let mut rows = 0;
        for _ in 0..requests.max(1) {
            let t = Instant::now();
            let (status, body) = rt.block_on(get(addr, &path, false))?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if status != StatusCode::OK {
                bail!("{path}: HTTP {status}");
            }
            bytes = body.len();
            let text = String::from_utf8_lossy(&body);
            rows = text.matches("<tr class=").count();
        }
        let mut changed = Vec::with_capacity(requests);
        for _ in 0..requests.max(1) {
            app.store
                .set_extra("bench", posture_exporter::metrics::Family::new(&TOUCH));
            let t = Instant::now();
            let (status, _) = rt.block_on(get(addr, &path, false))?;
            changed.push(t.elapsed().as_secs_f64() * 1000.0);
            if status != StatusCode::OK {
                bail!("{path}: HTTP {status}");
            }
        }
        times.sort_by(f64::total_cmp);
        changed.sort_by(f64::total_cmp);
        let q = |v: &[f64], f: f64| v[((v.len() - 1) as f64 * f) as usize];
        println!(
            "| `{path}` | {bytes} | {rows} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            q(&times, 0.5),
            q(&times, 0.9),
            q(&times, 1.0),
            q(&changed, 0.5),
            q(&changed, 0.9)
        );
    }
    rt.block_on(app.stop());
    drop(sim);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// budget

fn budget(accounts: usize, rules: usize, cycles: usize) -> anyhow::Result<()> {
    let rt = runtime(2)?;
    rt.block_on(async {
        // 1% of member deployments failed, spread over every rule: the hardest case, since no
        // rule is successful and none can be skipped for its status.
        let sim = Sim::start(WorldOptions {
            members: accounts.saturating_sub(1),
            regions: vec!["us-east-1".into()],
            config_org: co::Options {
                rules,
                org_statuses: vec!["CREATE_FAILED".into()],
                failure_ratio: 0.009,
                exclude_every: 0,
                ..co::Options::default()
            },
            ..WorldOptions::default()
        })
        .await?;
        let (naive, failed, deployments, mgmt, rule_count) = sim.world(|w| {
            let rules = co::rules(w);
            let mut pages = 0u64;
            let (mut failed, mut deployments) = (0usize, 0usize);
            for r in &rules {
                let m = co::member_statuses(w, r);
                pages += m.len().div_ceil(co::MAX_LIMIT as usize) as u64;
                deployments += m.len();
                failed += m.iter().filter(|m| m.status.ends_with("_FAILED")).count();
            }
            // The naive scan: both listings (a page per 100 rules each) and every page of
            // every rule's members.
            let listing = 2 * (rules.len() as u64).div_ceil(co::MAX_LIMIT as u64).max(1);
            (
                listing + pages,
                failed,
                deployments,
                w.management().id.clone(),
                rules.len(),
            )
        });
        let yaml = format!(
            "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  rate_limits:\n    config:\n      rate: 0\n      burst: 1\n\
targets:\n  - name: management\n    regions: [us-east-1]\ncollectors:\n{}",
            sim.url(),
            all_collectors()
                .map(|c| format!(
                    "  {c}:\n    enabled: {}\n    interval: 10m\n",
                    c == "config_org_rules"
                ))
                .collect::<String>()
        );
        let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow!("{e}"))?;
        let factory =
            AwsFactory::new(&cfg.aws, Arc::new(CallCounter::default()), Some(creds())).await;
        let ctx = JobContext {
            aws: Arc::new(factory.ambient().region("us-east-1", &mgmt)),
            settings: cfg.collectors.config_org_rules.clone(),
        };
        let mut state = config_org_rules::State::default();
        let (first, series) = org_rules_run(&ctx, &mut state, &sim).await?;
        let mut steady = Vec::new();
        for _ in 0..cycles {
            steady.push(org_rules_run(&ctx, &mut state, &sim).await?.0);
        }
        let worst = steady.iter().copied().max().unwrap_or(0);
        println!("machine: {}", machine());
        println!(
            "{accounts} accounts x {rule_count} organization rules: {failed} of {deployments} member deployments failed ({:.2}%); {series} series",
            failed as f64 * 100.0 / deployments as f64
        );
        println!();
        println!("| cycle | org-rule calls | of the naive full scan ({naive} calls) |");
        println!("|---|---:|---:|");
        println!(
            "| first (cold) | {first} | {:.1}% |",
            first as f64 * 100.0 / naive as f64
        );
        for (i, s) in steady.iter().enumerate() {
            println!(
                "| steady {} | {s} | {:.1}% |",
                i + 1,
                *s as f64 * 100.0 / naive as f64
            );
        }
        println!(
            "\nworst steady cycle: {worst} calls = {:.1}% of the naive scan (goal: at most 10%)",
            worst as f64 * 100.0 / naive as f64
        );
        sim.stop();
        Ok(())
    })
}

/// One run of the org-rules collector, keeping its state as the job loop does: the calls the
/// simulator counted and the series it produced.
async fn org_rules_run(
    ctx: &JobContext<config_org_rules::Settings>,
    state: &mut config_org_rules::State,
    sim: &Sim,
) -> anyhow::Result<(u64, usize)> {
    sim.reset_calls();
    let c = ConfigOrgRules::collect(ctx, state)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok((sim.total_calls(), c.families.iter().map(|f| f.len()).sum()))
}
