//! `bench serve`: `/metrics` of the real exporter (filled by a real collection from the
//! simulator) against a bare hyper server answering the same bytes, in the same process and the
//! same run, under a built-in load generator (keep-alive connections, fixed duration), plain
//! and gzip.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use aws_sim::{Sim, WorldOptions};
use posture_exporter::app::{App, AppOptions};
use posture_exporter::config::Config;
use posture_exporter::metrics::Format;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::load::{bare_server, get, load, BareOpts, Load};
use crate::process::machine;
use crate::setup::{creds, discovery_yaml, regions, runtime, DEMO_COLLECTORS};

/// The settings of `bench serve`.
pub struct ServeArgs {
    pub accounts: usize,
    pub regions: usize,
    pub connections: Vec<usize>,
    pub seconds: f64,
    pub rounds: usize,
    pub server_threads: usize,
    pub client_threads: usize,
    pub variants: bool,
}

/// Runs `bench serve`.
pub fn serve(a: ServeArgs) -> anyhow::Result<()> {
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
        while !app.store.settled() {
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
