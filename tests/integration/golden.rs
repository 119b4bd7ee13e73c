//! What users see, pinned: the demo's exposition (seed 7, once the IAM access report completed)
//! compared series by series with `tests/golden/demo-seed7.prom`.
//!
//! A change of shape must not change what the exporter exports. Values that depend on the
//! moment (the exporter's own timestamps and durations, API call counts that grow with the
//! number of polls, the build's revision) are masked; everything else (names, labels, values,
//! HELP and TYPE lines) must match. Numbers are compared as numbers, so `1` and `1.0` are equal.
//! `UPDATE_GOLDEN=1 cargo test --test integration golden` rewrites the file after a deliberate
//! change; the diff then shows what users will see differently.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_posture-exporter");
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/demo-seed7.prom");

/// A child process that is killed when the test ends, passed or failed.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `posture-exporter demo` with `args` and returns it with the address it serves on.
pub fn start_demo(args: &[&str]) -> (KillOnDrop, String) {
    start_demo_reading(args, true)
}

/// Like [`start_demo`]; with `drain: false` the reader of the demo's stdout goes away as soon
/// as the address is read, as a pipe to `head -3` would.
pub fn start_demo_reading(args: &[&str], drain: bool) -> (KillOnDrop, String) {
    let mut child = KillOnDrop(
        Command::new(BIN)
            .arg("demo")
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    for line in lines.by_ref() {
        let line = line.expect("demo output is text");
        if let Some(u) = line.strip_prefix("metrics:") {
            url = Some(u.trim().to_string());
            break;
        }
    }
    if drain {
        // Keep draining what the demo prints so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
    } else {
        drop(lines);
    }
    let url = url.expect("demo prints the metrics URL");
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_string();
    (child, addr)
}

/// True for a series whose value depends on when it was read, not on what AWS answered.
fn masked(name: &str) -> bool {
    // When the aggregator's compliance was last listed whole: a moment, like the exporter's own.
    name == "aws_config_compliance_full_read_timestamp_seconds"
        // The simulator's findings were created an age before it started.
        || name == "aws_guardduty_oldest_finding_created_timestamp_seconds"
        || (name.starts_with("posture_exporter_")
            && (name.ends_with("_timestamp_seconds")
                || name.contains("duration_seconds")
                || name == "posture_exporter_aws_api_calls_total"
                || name == "posture_exporter_process_start_time_seconds"))
}

/// The exposition as `series -> value` plus its HELP/TYPE lines, in a canonical text form.
pub fn normalize(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line == "# EOF" {
            continue;
        }
        if line.starts_with('#') {
            out.insert(line.to_string(), String::new());
            continue;
        }
        // The value is the last space-separated field (no sample here carries a timestamp).
        let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
        let name = series.split('{').next().unwrap_or(series);
        let series = mask_labels(series);
        let value = if masked(name) {
            "<masked>".to_string()
        } else {
            match value.parse::<f64>() {
                Ok(v) => format!("{v}"),
                Err(_) => value.to_string(),
            }
        };
        out.insert(series, value);
    }
    out
}

/// The build's revision changes with every commit.
fn mask_labels(series: &str) -> String {
    if !series.starts_with("posture_exporter_build_info") {
        return series.to_string();
    }
    let mut s = series.to_string();
    for label in ["revision=\"", "version=\""] {
        if let Some(i) = s.find(label) {
            let start = i + label.len();
            if let Some(len) = s[start..].find('"') {
                s.replace_range(start..start + len, "<masked>");
            }
        }
    }
    s
}

fn render(m: &BTreeMap<String, String>) -> String {
    let mut s = String::new();
    for (k, v) in m {
        if v.is_empty() {
            s.push_str(k);
        } else {
            s.push_str(&format!("{k} {v}"));
        }
        s.push('\n');
    }
    s
}

fn parse_golden(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            out.insert(line.to_string(), String::new());
        } else if let Some((k, v)) = line.rsplit_once(' ') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// Scrapes the demo until the IAM access report has completed and every job has run once.
fn settled_exposition(addr: &str) -> String {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(120) {
        let ready = rt.block_on(crate::common::get(
            addr.parse().expect("an address"),
            "/ready",
            &[],
        ));
        let r = rt.block_on(crate::common::get(
            addr.parse().expect("an address"),
            "/metrics",
            &[],
        ));
        last = String::from_utf8(r.body).expect("the exposition is UTF-8");
        let completed = last.lines().any(|l| {
            l.starts_with("aws_iam_org_access_report_job_status{")
                && l.contains("status=\"COMPLETED\"")
                && l.ends_with(" 1")
        });
        if ready.status == 200 && completed {
            return last;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("the demo did not settle within 120 s; last exposition:\n{last}");
}

#[test]
fn the_demo_exports_what_the_golden_file_says() {
    let (_demo, addr) = start_demo(&["--seed", "7"]);
    let got = normalize(&settled_exposition(&addr));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().expect("a folder"))
            .expect("the golden folder");
        std::fs::write(GOLDEN, render(&got)).expect("the golden file is written");
        return;
    }
    let want = parse_golden(&std::fs::read_to_string(GOLDEN).expect("the golden file exists"));
    let mut problems = Vec::new();
    for (k, v) in &want {
        match got.get(k) {
            None => problems.push(format!("missing: {k} {v}")),
            Some(g) if g != v => problems.push(format!("changed: {k}: golden {v}, now {g}")),
            Some(_) => {}
        }
    }
    for (k, v) in &got {
        if !want.contains_key(k) {
            problems.push(format!("new: {k} {v}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences from {GOLDEN} (UPDATE_GOLDEN=1 rewrites it after a deliberate change):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The comparison itself must be able to fail: a changed value is noticed.
    let mut altered = want.clone();
    if let Some((_, v)) = altered.iter_mut().find(|(_, v)| v.as_str() == "1") {
        *v = "2".into();
    }
    assert_ne!(altered, got, "a changed value would go unnoticed");
}

#[test]
fn normalizing_masks_only_what_depends_on_the_moment() {
    let text = "# HELP aws_x Help.\n# TYPE aws_x gauge\naws_x{a=\"1\"} 1.0\n\
posture_exporter_collector_last_success_timestamp_seconds{collector=\"c\"} 1700000000.5\n\
posture_exporter_build_info{version=\"0.1.0\",revision=\"abc\"} 1\n\
posture_exporter_collector_up{collector=\"c\"} 0\n";
    let m = normalize(text);
    assert_eq!(m.get("aws_x{a=\"1\"}").map(String::as_str), Some("1"));
    assert_eq!(
        m.get("posture_exporter_collector_last_success_timestamp_seconds{collector=\"c\"}")
            .map(String::as_str),
        Some("<masked>")
    );
    assert_eq!(
        m.get("posture_exporter_build_info{version=\"<masked>\",revision=\"<masked>\"}")
            .map(String::as_str),
        Some("1")
    );
    // `up` is not masked: a job that starts failing must show.
    assert_eq!(
        m.get("posture_exporter_collector_up{collector=\"c\"}")
            .map(String::as_str),
        Some("0")
    );
    assert!(m.contains_key("# HELP aws_x Help."));
}
