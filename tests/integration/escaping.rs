//! Free text in labels and HELP, read back by parsers no one here wrote.
//!
//! Account names (any printable ASCII), organization rule names (`.*\S.*`), member error codes and
//! recorder names (free strings) reach label values; they carry quotes, backslashes, newlines,
//! braces, commas, `=` and, where AWS allows them, non-ASCII letters. They are put into the
//! simulator, travel the real path (AWS JSON on the wire, the SDK, the collectors, the store,
//! prometheus-client's encoders, HTTP), and both bodies are read back with the Python
//! `prometheus_client` package's 0.0.4 parser and its strict OpenMetrics parser, which must
//! return every value exactly as it was set; `promtool check metrics` must accept the 0.0.4 body.
//! HELP texts are our own constants, so a hostile HELP is pushed through the store directly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sim::config_org::{rules, MemberStatus};
use aws_sim::world::Recorder;
use aws_sim::{Sim, WorldOptions};
use posture_exporter::aws::CallCounter;
use posture_exporter::collectors::CollectorKind;
use posture_exporter::config::Config;
use posture_exporter::metrics::{Desc, Family, Format, Kind};
use posture_exporter::store::{JobKey, RunReport, Store};
use serde_json::Value;

use crate::common::{get, only, Env};

const ACCOUNT_NAME: &str = r#"Prod "blue" \ {team=a,b} 'x'"#;
// An organization rule's name is sent back to AWS, whose model allows only `[A-Za-z0-9-_]+` (the
// simulator refuses any other); the hostile characters are in the labels AWS does not constrain.
const RULE_NAME: &str = "org-rule_Quoted-1";
const ERROR_CODE: &str = "Fehler \"ü\"\nzweite Zeile \\n {x=y,z}";
const RECORDER: &str = "rec \"Grüße\" \\\n{k=v, w}";

/// What one parser made of a body: family name -> (type, HELP, samples as
/// (sample name, labels, value)).
type Parsed = BTreeMap<String, (String, String, Vec<(String, BTreeMap<String, String>, f64)>)>;

fn python() -> String {
    std::env::var("POSTURE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "POSTURE_PYTHON must name the venv's python with prometheus_client: run tests/run.sh"
        )
    })
}

/// Parses `body` with the Python package's parser for `format`.
fn parse(body: &[u8], format: Format) -> Parsed {
    let dir = std::env::temp_dir().join(format!(
        "posture-escaping-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("body.txt");
    std::fs::write(&file, body).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/exposition/parse.py");
    let fmt = match format {
        Format::Prometheus => "prometheus",
        Format::OpenMetrics => "openmetrics",
    };
    let out = Command::new(python())
        .arg(&script)
        .arg(fmt)
        .arg(&file)
        .output()
        .expect("python runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "the {fmt} parser refused the body: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(body)
    );
    let families: Vec<Value> = serde_json::from_slice(&out.stdout).expect("parse.py prints JSON");
    let mut parsed = Parsed::new();
    for f in families {
        let samples = f["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let labels = s[1]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                (
                    s[0].as_str().unwrap().to_string(),
                    labels,
                    s[2].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect();
        parsed.insert(
            f["name"].as_str().unwrap().to_string(),
            (
                f["type"].as_str().unwrap().to_string(),
                f["help"].as_str().unwrap().to_string(),
                samples,
            ),
        );
    }
    parsed
}

/// Every sample of a parse, as comparable text: name, sorted labels, value.
fn sample_set(p: &Parsed) -> BTreeSet<String> {
    p.values()
        .flat_map(|(_, _, samples)| samples.iter())
        .map(|(name, labels, v)| format!("{name} {labels:?} {v}"))
        .collect()
}

/// The values of `label` over the samples named `sample` (the family's name differs between
/// the formats for info and counter families; the sample's does not).
fn label_values(p: &Parsed, sample: &str, label: &str) -> BTreeSet<String> {
    p.values()
        .flat_map(|(_, _, samples)| samples.iter())
        .filter(|(name, _, _)| name == sample)
        .filter_map(|(_, l, _)| l.get(label).cloned())
        .collect()
}

fn promtool_accepts(body: &[u8]) {
    use std::io::Write as _;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs (installed by tests/run.sh)");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python venv and promtool: run by tests/run.sh"]
async fn hostile_label_values_come_back_exactly_through_both_independent_parsers() {
    let sim = Sim::start(WorldOptions::default()).await.unwrap();
    let (member, rule, region) = sim.world(|w| {
        let member = w.accounts[1].id.clone();
        w.accounts[1].name = ACCOUNT_NAME.to_string();
        let old = rules(w)[0].name.clone();
        assert!(w.config_org.rename_rule(&old, RULE_NAME));
        w.config_org.set_member_status(
            RULE_NAME,
            &member,
            Some(MemberStatus {
                account_id: member.clone(),
                status: "CREATE_FAILED".into(),
                error_code: Some(ERROR_CODE.into()),
                error_message: Some("message with \"quotes\"".into()),
                last_update: 1_763_000_000.0,
            }),
        );
        let region = w.opts.regions[0].clone();
        w.set_recorders(
            &member,
            &region,
            vec![Recorder {
                name: RECORDER.into(),
                recording: true,
                last_status: "Success".into(),
                last_status_change: 1_763_000_000.0,
                last_start: Some(1_762_000_000.0),
                last_stop: None,
                last_error_code: None,
                last_error_message: None,
            }],
        );
        (member, RULE_NAME.to_string(), region)
    });
    let regions = sim.world(|w| w.opts.regions.join(", "));
    let yaml = format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\ntargets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: [{regions}]\ncollectors:\n{}",
        sim.url(),
        only(&["config_org_rules", "config_recorder"], "1h")
    );
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_on_demand(sim, cfg).await;
    assert_eq!(env.cycle().await, 0, "every job succeeds");
    // Let the encoder publish what the cycle reported.
    env.app.store.refresh();

    let plain = get(env.addr(), "/metrics", &[]).await.body;
    let om = get(
        env.addr(),
        "/metrics",
        &[("accept", "application/openmetrics-text; version=1.0.0")],
    )
    .await
    .body;
    assert!(om.ends_with(b"# EOF\n"));
    let p = parse(&plain, Format::Prometheus);
    let o = parse(&om, Format::OpenMetrics);

    // Exactly as set, in both formats.
    for parsed in [&p, &o] {
        assert!(
            label_values(parsed, "aws_account_info", "account_name").contains(ACCOUNT_NAME),
            "{:?}",
            label_values(parsed, "aws_account_info", "account_name")
        );
        assert!(label_values(parsed, "aws_config_org_rule_status", "rule").contains(&rule));
        let codes = label_values(parsed, "aws_config_org_rule_member_status", "error_code");
        assert!(codes.contains(ERROR_CODE), "{codes:?}");
        let recorders = label_values(parsed, "aws_config_recorder_recording", "recorder");
        assert!(recorders.contains(RECORDER), "{recorders:?}");
    }
    // The member's failed deployment of the hostile rule is one series with value 1.
    let failed: Vec<_> = o["aws_config_org_rule_member_status"]
        .2
        .iter()
        .filter(|(_, l, _)| {
            l.get("rule") == Some(&rule)
                && l.get("account_id") == Some(&member)
                && l.get("status").map(String::as_str) == Some("CREATE_FAILED")
        })
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].2, 1.0);
    let _ = region;
    // Both parsers read the same samples (same names, labels and values) from the two bodies.
    assert_eq!(sample_set(&p), sample_set(&o));
    assert!(sample_set(&p).len() > 50);
    promtool_accepts(&plain);
    env.stop().await;
}

static HOSTILE: Desc = Desc {
    name: "aws_test_hostile",
    help: "A \"quoted\" HELP with a back\\slash, a \\n that is no newline, and é.",
    kind: Kind::Gauge,
    labels: &["account_id", "name"],
};

#[test]
#[ignore = "needs the Python venv and promtool: run by tests/run.sh"]
fn hostile_help_and_labels_through_the_store_parse_in_both_formats() {
    let store = Store::new(3, Arc::new(CallCounter::default()));
    let key = JobKey {
        collector: CollectorKind::ConfigRecorder,
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
    };
    store.register(key.clone(), "t", Duration::from_secs(300));
    let names = [
        ACCOUNT_NAME,
        RULE_NAME,
        ERROR_CODE,
        RECORDER,
        "",
        "é\u{1F512}",
    ];
    let mut f = Family::new(&HOSTILE);
    for (i, n) in names.iter().enumerate() {
        f.push(&["111111111111", n], i as f64 + 0.5);
    }
    store.record(
        &key,
        RunReport {
            started: SystemTime::now(),
            duration: Duration::from_millis(3),
            result: Ok(vec![f].into()),
            calls: 0,
        },
    );
    let exp = store.refresh();
    let want_help = format!("{} Collected in the background every 5m.", HOSTILE.help);
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let body = exp.body(format, false);
        let parsed = parse(&body, format);
        let (ty, help, samples) = &parsed["aws_test_hostile"];
        assert_eq!(ty, "gauge");
        assert_eq!(help, &want_help, "{format:?}");
        let got: BTreeMap<&str, f64> = samples
            .iter()
            .map(|(_, l, v)| (l["name"].as_str(), *v))
            .collect();
        let want: BTreeMap<&str, f64> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, i as f64 + 0.5))
            .collect();
        assert_eq!(got, want, "{format:?}");
        if format == Format::Prometheus {
            promtool_accepts(&body);
        }
    }
}
