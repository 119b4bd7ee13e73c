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
//! - `regions-cost`: what `regions: enabled` costs (ListRegions calls, the pass's time, jobs and
//!   series added) against the regions listed (`regions_cost.rs`).
//!
//! Ratios, not absolute figures, are what the goals are about: the figures compared are always
//! taken in one run on one machine. Everything here is bounded in time and talks to loopback
//! only. Build with `cargo build --release --workspace --bins` (the exporter binary must sit
//! beside this one for `rss`).
//!
//! Every subcommand is a module of its own: `serve.rs`, `rss.rs`, `scale.rs` (with
//! `scale-one`), `budget.rs`, `compliance.rs`, `gd_budget.rs`, `regions_cost.rs`, `overview.rs`,
//! `throttle.rs` (with `ou-walk`), `soak.rs`, and `sim.rs` (the simulator child). They import no
//! other subcommand (but `sim`, which answers the soak's commands), only what sits below them:
//! `setup.rs` (runtime, regions, credentials, the exporter's configuration), `process.rs`
//! (figures from `/proc`), `load.rs` (a bare server, the load generator, single GETs) and
//! `sim_child.rs` (the simulator as a child process). This file holds the command line.
#![forbid(unsafe_code)]

mod budget;
mod compliance;
mod gd_budget;
mod load;
mod overview;
mod process;
mod regions_cost;
mod rss;
mod scale;
mod serve;
mod setup;
mod sim;
mod sim_child;
mod soak;
mod throttle;

/// The process allocator (see BENCHMARKS.md, "Changes found by profiling").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use scale::ScaleArgs;
use serve::ServeArgs;

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
    /// What `regions: enabled` costs: ListRegions calls per refresh, the pass's duration at the
    /// default rate limit, the jobs and series it adds, against the regions listed.
    RegionsCost {
        /// Organization size (accounts, management included).
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// Regions the simulator serves (enabled by default in every account).
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
        } => serve::serve(ServeArgs {
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
        } => rss::rss(accounts, regions, seconds, &interval, exporter),
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
        } => scale::scale(
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
        } => scale::scale_one(ScaleArgs {
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
        } => sim::run(
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
        } => budget::budget(accounts, rules, cycles),
        Cmd::Overview {
            accounts,
            regions: n,
            requests,
        } => overview::overview(accounts, n, requests),
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
        Cmd::RegionsCost { accounts, regions } => regions_cost::run(accounts, regions),
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
