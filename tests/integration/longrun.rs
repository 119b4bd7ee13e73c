//! The daemon over time: thousands of cycles with random faults and one-second intervals with
//! resident memory and open descriptors measured at the start and the end; repeated reloads
//! with the count of live tasks; and shutdown (in-process and by SIGTERM to the binary) while a
//! collection hangs and a scrape is half-sent.
//!
//! Memory and descriptors are per process, and the tests of this binary run in parallel, so the
//! long run re-executes this test binary for itself alone (`long_run_child`) and reads its figures
//! from the child's output.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sim::iam::root_entity_path;
use aws_sim::{Fault, FaultRule, Sim, World, WorldOptions};
use posture_exporter::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{get, yaml_for, Env};
use crate::faults::{failing_faults, Aim, Subject, NO_RATE_LIMITS};

const CHILD: &str = "POSTURE_EXPORTER_LONG_RUN_CHILD";
const CYCLES: usize = 2_000;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// The figures of a run.
#[derive(Debug, Default)]
struct Figures {
    rss: (u64, u64),
    fds: (usize, usize),
    tasks: (usize, usize),
}

/// The management account alone in one region, with the two per-account collectors on
/// one-second intervals (the background loops run every second beside the test's own cycles),
/// and one attempt per call: a fault fails its run at once instead of waiting out a retry's
/// backoff, which would make thousands of cycles cost minutes (retries have their own tests).
async fn busy_env() -> Env {
    let world = WorldOptions {
        members: 0,
        regions: vec!["us-east-1".into()],
        ..crate::faults::world()
    };
    let sim = Sim::start(world).await.unwrap();
    let yaml = yaml_for(
        &sim,
        &crate::common::only(&["config_recorder", "guardduty"], "1s"),
        NO_RATE_LIMITS,
    )
    .replace("max_attempts: 2", "max_attempts: 1");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready().await;
    env
}

/// Aims up to two transient faults at random jobs.
fn random_faults(env: &Env, rng: &mut fastrand::Rng, accounts: &[String]) {
    let faults: Vec<Fault> = failing_faults()
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| *f != Fault::Hang)
        .chain([Fault::Latency(Duration::from_millis(20))])
        .collect();
    // A fault in about one cycle of three.
    for _ in 0..rng.usize(0..6).saturating_sub(3) {
        let s = Subject::of(["config_recorder", "guardduty"][rng.usize(..2)]);
        let aim = Aim {
            collector: s.collector,
            account: if s.org {
                accounts[0].clone()
            } else {
                accounts[rng.usize(..accounts.len())].clone()
            },
            region: "us-east-1".into(),
        };
        let f = faults[rng.usize(..faults.len())].clone();
        env.sim
            .add_fault(s.rule(f, s.op, &aim).times(rng.u64(1..=4)));
    }
}

/// The long run itself, in a child process of its own (a no-op in the parent run).
#[tokio::test]
async fn long_run_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let env = busy_env().await;
    let accounts: Vec<String> = env
        .sim
        .world(|w| w.accounts.iter().map(|a| a.id.clone()).collect());
    let mut rng = fastrand::Rng::with_seed(7_071);
    // Warm-up: pools, caches and allocator arenas reach their working size.
    for _ in 0..200 {
        random_faults(&env, &mut rng, &accounts);
        env.cycle().await;
    }
    env.sim.clear_faults();
    env.cycle().await;
    let mut f = Figures {
        rss: (rss_kib(), 0),
        fds: (open_fds(), 0),
        tasks: (alive_tasks(), 0),
    };
    let t = Instant::now();
    let mut failed = 0;
    for i in 0..CYCLES {
        random_faults(&env, &mut rng, &accounts);
        failed += env.cycle().await;
        if i % 10 == 0 {
            let r = get(env.addr(), "/metrics", &[]).await;
            assert_eq!(r.status, 200);
        }
    }
    let took = t.elapsed();
    env.sim.clear_faults();
    assert_eq!(env.cycle().await, 0, "recovers after the run");
    // Let connections dropped by the last faults close.
    tokio::time::sleep(Duration::from_millis(300)).await;
    f.rss.1 = rss_kib();
    f.fds.1 = open_fds();
    f.tasks.1 = alive_tasks();
    println!(
        "LONGRUN cycles={CYCLES} seconds={:.1} failed_runs={failed} calls={} rss_kib={}->{} fds={}->{} tasks={}->{}",
        took.as_secs_f64(),
        env.sim.total_calls(),
        f.rss.0,
        f.rss.1,
        f.fds.0,
        f.fds.1,
        f.tasks.0,
        f.tasks.1
    );
    env.stop().await;
}

#[test]
fn long_run_keeps_memory_descriptors_and_tasks_flat() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "longrun::long_run_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // libtest prints the test's name on the same line, before its output.
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("LONGRUN ").map(|(_, figures)| figures))
        .unwrap_or_else(|| panic!("no figures in:\n{stdout}"));
    eprintln!("{line}");
    let field = |name: &str| -> (f64, f64) {
        let v = line
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap();
        let (a, b) = v.split_once("->").unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    };
    let (rss0, rss1) = field("rss_kib");
    let (fd0, fd1) = field("fds");
    let (t0, t1) = field("tasks");
    // Bounds that a leak of one allocation, descriptor or task per cycle would blow many times
    // over; what remains is allocator and connection-pool noise.
    assert!(
        rss1 - rss0 < 8.0 * 1024.0,
        "resident memory grew from {rss0} KiB to {rss1} KiB over {CYCLES} cycles"
    );
    assert!(fd1 <= fd0 + 8.0, "descriptors went from {fd0} to {fd1}");
    assert!(t1 <= t0 + 8.0, "live tasks went from {t0} to {t1}");
}

#[tokio::test]
async fn reloads_leak_no_tasks_and_keep_serving() {
    let sim = Sim::start(WorldOptions {
        members: 2,
        ..crate::faults::world()
    })
    .await
    .unwrap();
    let root = root_entity_path(&World::new(WorldOptions {
        members: 2,
        ..crate::faults::world()
    }));
    let collectors = |interval: &str| crate::faults::all_collectors(&root).replace("1h", interval);
    // Three configurations: every job restarted (intervals), targets changed (one member
    // dropped), the AWS settings changed (a new SDK factory and connection pool).
    let a = yaml_for(&sim, &collectors("1h"), NO_RATE_LIMITS);
    let b = yaml_for(&sim, &collectors("2h"), NO_RATE_LIMITS);
    let dropped = sim.world(|w| w.accounts[2].name.clone());
    let c = {
        let mut lines: Vec<&str> = a.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(&format!("name: {dropped}")))
            .unwrap();
        lines.drain(at..at + 3);
        lines.join("\n") + "\n"
    };
    let d = a.replace("max_attempts: 2", "max_attempts: 3");
    let configs: Vec<Config> = [&a, &b, &c, &d]
        .iter()
        .map(|y| Config::from_yaml_str(y).unwrap())
        .collect();
    let env = Env::start_config(sim, configs[0].clone()).await;
    env.wait_ready().await;
    assert_eq!(env.cycle().await, 0);
    // Cancelled jobs end at once, but restarted jobs run their first collection and closed
    // connections linger a moment: wait (up to 5 s, on a loaded machine) for the count to come
    // down to `limit`. Tasks that leaked never end, so a leak stays above it.
    let settle = |limit: usize| async move {
        let t = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let n = alive_tasks();
            if n <= limit || t.elapsed() > Duration::from_secs(5) {
                return n;
            }
        }
    };
    let jobs = env.app.scheduler.job_count();
    let base = settle(usize::MAX).await;
    let base_fds = open_fds();
    let mut most = base;
    for round in 0..15 {
        for (i, cfg) in configs.iter().enumerate().skip(1).chain([(0, &configs[0])]) {
            env.app.reload(cfg.clone()).await;
            if i == 2 {
                // Discovery-free targets resolve in the background: wait for the jobs (three
                // per-account collectors in two regions).
                let t = Instant::now();
                while env.app.scheduler.job_count() != jobs - 3 * 2
                    && t.elapsed() < Duration::from_secs(5)
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                assert_eq!(
                    env.app.scheduler.job_count(),
                    jobs - 6,
                    "round {round}: the member's jobs stop"
                );
            }
            most = most.max(settle(usize::MAX).await);
        }
        let t = Instant::now();
        while env.app.scheduler.job_count() != jobs && t.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(env.app.scheduler.job_count(), jobs, "round {round}");
    }
    let end = settle(base + 8).await;
    let end_fds = open_fds();
    eprintln!(
        "60 reloads: live tasks {base} at the start, {end} at the end, {most} at most; descriptors {base_fds} and {end_fds}"
    );
    // A reload that rebuilds the targets lets the old jobs serve until the new ones start, so
    // more calls can be in flight at once than in a cycle, and the connection pool keeps what
    // they opened idle for its timeout: a task and a descriptor each, at most one per call in
    // flight (`max_concurrent_calls`, 64 by default). A leaked task holds no connection, and a
    // leak per reload would be far above either bound.
    let pooled = end_fds.saturating_sub(base_fds);
    assert!(
        end <= base + 8 + pooled && pooled <= 64,
        "live tasks went from {base} to {end} over 60 reloads, descriptors from {base_fds} to {end_fds}"
    );
    // Still collecting and serving.
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    assert!(s
        .matching("posture_exporter_collector_up", &[])
        .iter()
        .all(|(_, v)| *v == 1.0));
    env.stop().await;
}

/// Every call of config_recorder hangs.
fn hang_recorder(sim: &Sim) {
    for op in [
        "ListConfigurationRecorders",
        "DescribeConfigurationRecorders",
        "DescribeConfigurationRecorderStatus",
    ] {
        sim.add_fault(FaultRule::always(Fault::Hang).operation(op));
    }
}

#[tokio::test]
async fn stop_during_a_hung_collection_and_a_half_sent_scrape_ends_within_the_grace_period() {
    let world = WorldOptions {
        members: 1,
        ..WorldOptions::default()
    };
    let sim = Sim::start(world).await.unwrap();
    hang_recorder(&sim);
    let yaml = yaml_for(
        &sim,
        &crate::common::only(&["config_recorder", "guardduty"], "1h"),
        "web:\n  shutdown_grace: 1s\n  header_read_timeout: 30s\n",
    );
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    let t = Instant::now();
    while env.sim.calls("ListConfigurationRecorders") == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no collection started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A scrape in flight: headers half sent.
    let mut half = TcpStream::connect(env.addr()).await.unwrap();
    half.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // And one answered a moment ago on a kept-alive connection.
    assert_eq!(get(env.addr(), "/healthz", &[]).await.status, 200);
    let addr = env.addr();
    let Env { sim, app } = env;
    let t = Instant::now();
    app.stop().await;
    let took = t.elapsed();
    eprintln!("stopped in {took:?} with a hung collection and a half-sent scrape");
    assert!(
        took < Duration::from_millis(2_500),
        "grace 1 s + 1 s, took {took:?}"
    );
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(1), half.read(&mut buf))
        .await
        .expect("the half-sent scrape's connection is closed");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_collection_and_a_scrape_ends_cleanly_within_the_grace_period() {
    let sim = Sim::start(WorldOptions {
        members: 1,
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    hang_recorder(&sim);
    // One-second intervals: the binary spreads first runs over the interval (jitter), so a
    // collection is always in flight soon after start.
    let yaml = yaml_for(
        &sim,
        &crate::common::only(&["config_recorder", "guardduty"], "1s"),
        "web:\n  shutdown_grace: 2s\n",
    );
    let dir = std::env::temp_dir().join(format!("posture-exporter-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_posture-exporter"))
        .arg("--config")
        .arg(&cfg)
        .args(["--log-format", "json"])
        .env("AWS_ACCESS_KEY_ID", "AKIATESTMANAGEMENT01")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove(posture_exporter::allocator::PURGE_DELAY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut logs = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the binary logs where it serves");
        logs.push(line.clone());
        if line.contains("serving /metrics") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            break v["fields"]["addr"].as_str().unwrap().parse().unwrap();
        }
    };
    // The binary ran itself again with its allocator told to return freed memory at once: the
    // same process (the id SIGTERM goes to below), the same arguments.
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
    assert!(
        environ
            .split(|b| *b == 0)
            .any(|v| v == b"MIMALLOC_PURGE_DELAY=0"),
        "not re-executed with MIMALLOC_PURGE_DELAY=0"
    );
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    assert!(
        args.contains(&&b"--config"[..]) && args.contains(&&b"json"[..]),
        "{args:?}"
    );
    let t = Instant::now();
    while sim.calls("ListConfigurationRecorders") == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no collection started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert_eq!(get(addr, "/healthz", &[]).await.status, 200);

    let t = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "still running 4 s after SIGTERM (grace 2 s)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = t.elapsed();
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
        logs.push(l);
    }
    eprintln!("SIGTERM to exit: {took:?}");
    assert!(status.success(), "{status:?}\n{}", logs.join("\n"));
    let text = logs.join("\n");
    assert!(text.contains("shutting down"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
