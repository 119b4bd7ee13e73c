//! `bench rss`: the resident set of the real `posture-exporter` binary, run as a child process
//! against a simulator child, after its first cycle and after serving.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use http::StatusCode;

use crate::load::{get, load};
use crate::process::{machine, rss_mib};
use crate::setup::{discovery_yaml, regions, runtime, ACCESS_KEY, DEMO_COLLECTORS};
use crate::sim_child::SimChild;

/// Runs `bench rss`.
pub fn rss(
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
