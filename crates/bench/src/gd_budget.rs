//! `guardduty-budget`: GuardDuty calls per cycle in both modes, accounts (every account and
//! region reads its own detector through its role) and administrator (one job per region on the
//! management account, the GuardDuty administrator of every region here), for organizations of
//! several sizes; the daemon's real scheduler and call path against the in-process simulator,
//! counted by the simulator per operation. The cold cycle is the first after discovery (it
//! assumes the roles it needs) and reads the slower lists (sets, filters, invitations); the
//! steady cycle is the next one, with credentials cached and the lists not yet due again
//! (`lists_interval` 2h here, so that the two are told apart). The lists' calls are counted
//! from the cold cycle, and the average per 5-minute cycle with the default 30-minute
//! `lists_interval` is steady + lists / 6.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use aws_sim::{Sim, WorldOptions};
use posture_exporter::app::{App, AppOptions};
use posture_exporter::config::Config;
use tokio::net::TcpListener;

use crate::process::machine;
use crate::setup::{all_collectors, creds, regions, runtime};

/// What one (size, mode) measured.
struct Row {
    mode: &'static str,
    accounts: usize,
    jobs: usize,
    cold: u64,
    cold_assume: u64,
    steady: u64,
    steady_by_op: BTreeMap<String, u64>,
    lists_by_op: BTreeMap<String, u64>,
    failed: usize,
}

/// The operations of the slower lists, read once per `lists_interval`.
const LIST_OPS: [&str; 8] = [
    "ListThreatIntelSets",
    "GetThreatIntelSet",
    "ListIPSets",
    "GetIPSet",
    "ListFilters",
    "GetFilter",
    "GetInvitationsCount",
    "ListInvitations",
];

fn yaml(url: &str, regions: &[String], mode: &str) -> String {
    let mut y = format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{url}\"\n  max_concurrent_calls: 64\n  rate_limits:\n    guardduty: {{ rate: 0, burst: 1 }}\n    sts: {{ rate: 0, burst: 1 }}\n\
targets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: [{}]\ncollectors:\n",
        regions.join(", ")
    );
    for c in all_collectors() {
        y.push_str(&format!(
            "  {c}:\n    enabled: {}\n    interval: 1h\n",
            c == "guardduty"
        ));
        if c == "guardduty" {
            y.push_str("    lists_interval: 2h\n");
        }
        if c == "guardduty" && mode == "administrator" {
            y.push_str(&format!(
                "    mode: administrator\n    regions: [{}]\n",
                regions.join(", ")
            ));
        }
    }
    y
}

async fn measure(accounts: usize, nregions: usize, mode: &'static str) -> anyhow::Result<Row> {
    let regions = regions(nregions);
    let mut world = WorldOptions {
        members: accounts.saturating_sub(1),
        regions: regions.clone(),
        ..WorldOptions::default()
    };
    world.guardduty.admin_all_regions = true;
    let sim = Sim::start(world).await?;
    let y = yaml(&sim.url(), &regions, mode);
    let cfg = Config::from_yaml_str(&y).map_err(|e| anyhow!("{e}\n{y}"))?;
    let app = App::start(
        cfg,
        TcpListener::bind("127.0.0.1:0").await?,
        AppOptions {
            mode: posture_exporter::scheduler::Mode::OnDemand,
            static_credentials: Some(creds()),
        },
    )
    .await?;
    let t0 = std::time::Instant::now();
    while !app.store.targets_listed() {
        if t0.elapsed().as_secs() > 600 {
            bail!("discovery did not finish");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    sim.reset_calls();
    app.scheduler.run_once().await;
    let cold = sim.total_calls();
    let cold_assume = sim.calls("AssumeRole");
    let lists_by_op: BTreeMap<String, u64> = sim
        .all_calls()
        .into_iter()
        .filter(|(k, _)| LIST_OPS.contains(&k.as_str()))
        .collect();
    sim.reset_calls();
    let failed = app.scheduler.run_once().await;
    let steady = sim.total_calls();
    let steady_by_op = sim.all_calls();
    let jobs = app.store.keys().len();
    app.stop().await;
    sim.stop();
    Ok(Row {
        mode,
        accounts,
        jobs,
        cold,
        cold_assume,
        steady,
        steady_by_op,
        lists_by_op,
        failed,
    })
}

/// Runs every size in both modes and prints the table.
pub fn run(sizes: &[usize], nregions: usize) -> anyhow::Result<()> {
    let rt = runtime(2)?;
    let mut rows = Vec::new();
    for &n in sizes {
        for mode in ["accounts", "administrator"] {
            eprintln!("guardduty-budget: {n} accounts x {nregions} regions, {mode} mode ...");
            rows.push(rt.block_on(measure(n, nregions, mode))?);
        }
    }
    println!("machine: {}", machine());
    println!();
    println!("| accounts x regions | mode | jobs | cold cycle calls (AssumeRole) | steady cycle calls | administrator / accounts | failed jobs |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for pair in rows.chunks(2) {
        let base = pair[0].steady.max(1) as f64;
        for r in pair {
            println!(
                "| {} x {nregions} | {} | {} | {} ({}) | {} | {:.2}% | {} |",
                r.accounts,
                r.mode,
                r.jobs,
                r.cold,
                r.cold_assume,
                r.steady,
                r.steady as f64 * 100.0 / base,
                r.failed
            );
        }
    }
    println!();
    println!("| accounts x regions | mode | steady cycle calls | lists calls (once per lists_interval) | average per 5m cycle with lists_interval 30m |");
    println!("|---|---|---:|---:|---:|");
    for r in &rows {
        let lists: u64 = r.lists_by_op.values().sum();
        println!(
            "| {} x {nregions} | {} | {} | {} | {:.0} |",
            r.accounts,
            r.mode,
            r.steady,
            lists,
            r.steady as f64 + lists as f64 / 6.0
        );
    }
    println!();
    for r in &rows {
        let ops: Vec<String> = r
            .lists_by_op
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "- lists, {} accounts, {}: {}",
            r.accounts,
            r.mode,
            ops.join(", ")
        );
    }
    println!();
    for r in &rows {
        let ops: Vec<String> = r
            .steady_by_op
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("- {} accounts, {}: {}", r.accounts, r.mode, ops.join(", "));
    }
    Ok(())
}
