//! The binary: check-config exit codes, collect --once, demo and SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sim::{Fault, FaultRule, Sim, WorldOptions};

use crate::common::{only, yaml_for, Scrape};

const BIN: &str = env!("CARGO_BIN_EXE_posture-exporter");

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("posture-exporter-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn check_config_accepts_the_example_and_refuses_broken_files_with_64() {
    let out = Command::new(BIN)
        .args([
            "check-config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.yaml"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");

    let bad = write(
        "bad.yaml",
        "listen: nope\ntargets:\n  - name: a\n    regions: [moon-1]\n    role_arn: arn:aws:iam::1:role/x\ncollectors:\n  guardduty: {interval: 5 min}\n  nope: {}\n",
    );
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "5 problems",
        "listen:",
        "targets[0].regions[0]:",
        "targets[0].role_arn:",
        "collectors.guardduty.interval:",
        "collectors.nope:",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    // `run` refuses it too, before starting anything.
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let missing = Command::new(BIN)
        .args(["check-config", "/nonexistent/posture.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_once_prints_the_exposition_and_fails_on_a_failed_collector() {
    let sim = Sim::start(WorldOptions {
        members: 2,
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let cfg = write(
        "collect.yaml",
        &yaml_for(&sim, &only(&["config_recorder"], "5m"), ""),
    );
    let run = |cfg: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(["collect", "--once", "--config"])
                .arg(cfg)
                .env("AWS_ACCESS_KEY_ID", "AKIATESTMANAGEMENT01")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .output()
                .unwrap()
        })
    };
    let out = run(cfg.clone()).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = Scrape::parse(&String::from_utf8(out.stdout).unwrap());
    let mgmt = sim.world(|w| w.management().id.clone());
    assert_eq!(s.up("config_recorder", &mgmt, "eu-west-1"), Some(1.0));
    assert_eq!(
        s.matching("aws_config_recorders", &[("kind", "customer_managed")])
            .len(),
        6
    );

    sim.add_fault(FaultRule::always(Fault::Http500).operation("ListConfigurationRecorders"));
    let out = run(cfg).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = Scrape::parse(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(s.up("config_recorder", &mgmt, "eu-west-1"), Some(0.0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("collection(s) failed"));
}

#[test]
fn demo_serves_and_stops_on_sigterm_within_five_seconds() {
    // Killed on drop, so a failed assertion leaves no demo running.
    let (mut child, addr) = crate::golden::start_demo(&["--interval", "5s"]);
    // Wait until every account of the demo (management + 5 members) shows in both regions.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let accounts_of = |s: &Scrape, region: &str| -> std::collections::BTreeSet<String> {
        s.matching("aws_config_recorders", &[("region", region)])
            .iter()
            .filter_map(|(k, _)| k.split("account_id=\"").nth(1).map(|r| r[..12].to_string()))
            .collect()
    };
    let mut last = Scrape::default();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(90) {
        let r = rt.block_on(crate::common::get(addr.parse().unwrap(), "/metrics", &[]));
        last = Scrape::parse(&String::from_utf8(r.body).unwrap());
        if accounts_of(&last, "us-east-1").len() >= 6 && accounts_of(&last, "eu-west-1").len() >= 6
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let us = accounts_of(&last, "us-east-1");
    assert_eq!(us.len(), 6, "{us:?}");
    assert_eq!(accounts_of(&last, "eu-west-1"), us);
    assert!(last.text.contains("posture_exporter_build_info{"));
    let t = Instant::now();
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "demo did not stop within 5 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn demo_keeps_serving_when_the_reader_of_its_stdout_goes_away() {
    let (mut child, addr) = crate::golden::start_demo_reading(&["--interval", "1s"], false);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Several collection cycles after the pipe closed, the demo still answers.
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(4) {
        let r = rt.block_on(crate::common::get(addr.parse().unwrap(), "/metrics", &[]));
        assert_eq!(r.status, 200);
        served += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(served > 10, "{served}");
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the demo exited after its stdout was closed"
    );
}

#[test]
fn demo_in_administrator_mode_shows_findings_plans_uncovered_accounts_and_coverage() {
    let (_child, addr) =
        crate::golden::start_demo(&["--interval", "5s", "--guardduty-mode", "administrator"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let wanted = [
        "aws_guardduty_findings{",
        "aws_guardduty_feature_status{",
        "aws_guardduty_feature_auto_enable{",
        "aws_guardduty_org_account_not_covered{",
        "aws_guardduty_coverage_resources{",
    ];
    // Members' detectors, read from the administrator: more accounts than the one job's.
    let accounts = |s: &Scrape| -> std::collections::BTreeSet<String> {
        s.matching("aws_guardduty_detector_enabled", &[("region", "us-east-1")])
            .iter()
            .filter_map(|(k, _)| k.split("account_id=\"").nth(1).map(|r| r[..12].to_string()))
            .collect()
    };
    let mut last = Scrape::default();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(90) {
        let r = rt.block_on(crate::common::get(addr.parse().unwrap(), "/metrics", &[]));
        last = Scrape::parse(&String::from_utf8(r.body).unwrap());
        let jobs = last
            .matching(
                "posture_exporter_collector_up",
                &[("collector", "guardduty")],
            )
            .len();
        if wanted.iter().all(|w| last.text.contains(w)) && accounts(&last).len() >= 3 && jobs >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for w in wanted {
        assert!(last.text.contains(w), "{w} missing");
    }
    assert!(accounts(&last).len() >= 3, "{:?}", accounts(&last));
    // One job per region, on the management account: no per-account GuardDuty jobs.
    assert_eq!(
        last.matching(
            "posture_exporter_collector_up",
            &[("collector", "guardduty")]
        )
        .len(),
        2
    );
}
