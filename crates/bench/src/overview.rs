//! `bench overview`: the overview page (`/`, a section, a filtered job list, `/status.json`):
//! size and time to serve from a warm exporter over a discovered organization.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use http::StatusCode;
use posture_exporter::app::{App, AppOptions};
use posture_exporter::config::Config;
use tokio::net::TcpListener;

use crate::load::get;
use crate::process::machine;
use crate::setup::{creds, discovery_yaml, regions, runtime, DEMO_COLLECTORS};
use crate::sim_child::SimChild;

/// Runs `bench overview`.
pub fn overview(accounts: usize, nregions: usize, requests: usize) -> anyhow::Result<()> {
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
        while !app.store.settled() && t0.elapsed() < Duration::from_secs(1800) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    if !app.store.settled() {
        bail!("not every account read after 30 minutes");
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
