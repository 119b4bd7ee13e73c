//! `regions-cost`: what `regions: enabled` costs at an organization's size, against the same
//! organization read with its regions listed: ListRegions calls per refresh (one for the caller,
//! one a member), the time the pass over the members takes at the default `account` rate limit
//! (AWS's quota of 5 a second), the jobs it adds (members that opted into a region: every fifth
//! here) and the series the region families add. The daemon's real discovery, scheduler and call
//! path against the in-process simulator; the jobs are not run (they cost what any job costs).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use aws_sim::{Sim, WorldOptions};
use posture_exporter::app::{App, AppOptions};
use posture_exporter::config::Config;
use posture_exporter::metrics::Format;
use tokio::net::TcpListener;

use crate::process::machine;
use crate::setup::{all_collectors, creds, regions, runtime};

/// The collectors run in each account and region here.
const COLLECTORS: [&str; 2] = ["config_recorder", "guardduty"];

struct Row {
    regions: String,
    list_regions: u64,
    other_calls: u64,
    pass_s: f64,
    jobs: usize,
    region_series: usize,
    unwatched: usize,
}

fn yaml(url: &str, regions: &str) -> String {
    let mut y = format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{url}\"\n  max_concurrent_calls: 64\n\
targets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: {regions}\ncollectors:\n"
    );
    for c in all_collectors() {
        y.push_str(&format!(
            "  {c}:\n    enabled: {}\n    interval: 1h\n",
            COLLECTORS.contains(&c)
        ));
    }
    y
}

async fn measure(accounts: usize, nregions: usize, enabled: bool) -> anyhow::Result<Row> {
    let listed = regions(nregions);
    let sim = Sim::start(WorldOptions {
        members: accounts.saturating_sub(1),
        regions: listed.clone(),
        ..WorldOptions::default()
    })
    .await?;
    let spec = if enabled {
        "enabled".to_string()
    } else {
        format!("[{}]", listed.join(", "))
    };
    let y = yaml(&sim.url(), &spec);
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
    let t0 = Instant::now();
    while !app.store.targets_listed() {
        if t0.elapsed() > Duration::from_secs(600) {
            bail!("discovery did not finish");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listed_at = Instant::now();
    // The pass over the members' regions follows the listing: one call each, the caller's own
    // made before the listing.
    if enabled {
        while sim.calls("ListRegions") < accounts as u64 {
            if listed_at.elapsed() > Duration::from_secs(1200) {
                bail!("the regions pass did not finish");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let pass_s = listed_at.elapsed().as_secs_f64();
    // The pass hands its last changes over as it ends.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let jobs = app.scheduler.job_count();
    app.store.refresh();
    let body = app.store.body(Format::OpenMetrics, false);
    let text = String::from_utf8_lossy(&body);
    let region_series = text
        .lines()
        .filter(|l| l.starts_with("aws_account_region"))
        .count();
    let unwatched = text
        .lines()
        .filter(|l| l.starts_with("aws_account_region_unwatched{"))
        .count();
    let list_regions = sim.calls("ListRegions");
    let other_calls = sim.total_calls() - list_regions;
    app.stop().await;
    sim.stop();
    Ok(Row {
        regions: spec,
        list_regions,
        other_calls,
        pass_s,
        jobs,
        region_series,
        unwatched,
    })
}

/// Measures both ways and prints the table.
pub fn run(accounts: usize, nregions: usize) -> anyhow::Result<()> {
    let rt = runtime(2)?;
    let mut rows = Vec::new();
    for enabled in [false, true] {
        eprintln!(
            "regions-cost: {accounts} accounts, {nregions} served regions, enabled: {enabled} ..."
        );
        rows.push(rt.block_on(measure(accounts, nregions, enabled))?);
    }
    println!("machine: {}", machine());
    println!();
    println!("| accounts | regions | ListRegions calls per refresh | discovery's other calls | listing end to regions read (s) | jobs ({}) | jobs added | region series | unwatched |", COLLECTORS.join(", "));
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let base = rows[0].jobs;
    for r in &rows {
        println!(
            "| {accounts} | {} | {} | {} | {:.1} | {} | {} | {} | {} |",
            r.regions,
            r.list_regions,
            r.other_calls,
            r.pass_s,
            r.jobs,
            r.jobs as i64 - base as i64,
            r.region_series,
            r.unwatched
        );
    }
    Ok(())
}
