//! Property tests (proptest), bounded by case counts so the file runs in well under a minute:
//! the config parser on arbitrary text and on mutations of a valid file; the simulator on
//! arbitrary requests of every protocol; the exporter on arbitrary answers to its calls.
//!
//! The runs use a fixed seed so CI is reproducible; `PROPTEST_RNG_SEED=<n>` (and
//! `PROPTEST_CASES=<n>`) explore further by hand. Failures are not persisted to files: the
//! shrunk input is in the failure message.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use aws_sim::iam::root_entity_path;
use aws_sim::{Fault, FaultRule, Sim, World, WorldOptions};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use posture_exporter::config::Config;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed, TestRunner};
use tokio::net::TcpStream;

use crate::common::{get, Env};

fn runner(cases: u32) -> TestRunner {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_251_121);
    TestRunner::new(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })
}

// ---------------------------------------------------------------------------------------------
// The config parser.

/// A valid file touching every section, the seed of the mutations.
const VALID: &str = r#"listen: 127.0.0.1:9946
max_stale_intervals: 3
web:
  header_read_timeout: 10s
  max_connections: 64
  shutdown_grace: 5s
aws:
  region: us-east-1
  endpoint_url: "http://127.0.0.1:4566"
  max_attempts: 5
  attempt_timeout: 10s
  operation_timeout: 30s
  rate_limits:
    config: {rate: 5, burst: 10}
targets:
  - name: management
    regions: [us-east-1, eu-west-1]
  - name: audit
    role_arn: arn:aws:iam::123456789012:role/PostureExporterReadOnly
    external_id: "abc-123"
    regions: [us-east-1]
  - name: org
    discover: organizations
    role_name: PostureExporterReadOnly
    regions: [us-east-1]
    exclude_accounts: ["210987654321"]
collectors:
  config_recorder: {interval: 5m}
  config_org_rules: {interval: 10m, detail_statuses: [CREATE_FAILED, UPDATE_FAILED]}
  config_aggregators: {interval: 10m, regions: [us-east-1]}
  guardduty: {interval: 5m, timeout: 1m}
  iam_access_report: {interval: 6h, poll_interval: 30s, entity_paths: ["o-a1b2c3d4e5/r-f6g7"]}
"#;

/// Tokens YAML and our schema give meaning to.
const TOKENS: &[&str] = &[
    "",
    "~",
    "null",
    "-1",
    "0",
    "1e400",
    ".nan",
    "0x10",
    "99999999999999999999999",
    "true",
    "\"\"",
    "[]",
    "{}",
    "[",
    "{",
    "\"",
    "'",
    ":",
    "- ",
    "&a",
    "*a",
    "*nope",
    "!!binary AAAA",
    "!!str",
    "!tag",
    "<<: *a",
    "|",
    ">",
    "#",
    "\t",
    "\u{0}",
    "\u{feff}",
    "\u{1F600}",
    "5m",
    "0s",
    "1h30m",
    "500ms",
    "us-east-1",
    "moon-1",
    "arn:aws:iam::123456789012:role/R",
    "CREATE_FAILED",
    "o-a1b2c3d4e5/r-f6g7",
    "127.0.0.1:0",
    "[::1]:9946",
    "$2b$10$abc",
    "organizations",
    "1/0",
    "0/1",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    /// Replace the value after the first `:` of a line.
    ReplaceValue(usize, usize),
    /// Insert a token at a byte position.
    Insert(usize, usize),
    /// Change the indentation of a line.
    Indent(usize, usize),
    /// Cut the file at a byte position.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(l, t)| Mutation::ReplaceValue(l, t)),
        (any::<usize>(), any::<usize>()).prop_map(|(p, t)| Mutation::Insert(p, t)),
        (any::<usize>(), 0usize..8).prop_map(|(l, n)| Mutation::Indent(l, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::DeleteLine(l) => {
            if !lines.is_empty() {
                lines.remove(l % n);
            }
        }
        Mutation::DuplicateLine(l) => {
            if let Some(x) = lines.get(l % n).cloned() {
                lines.insert(l % n, x);
            }
        }
        Mutation::ReplaceValue(l, t) => {
            if let Some(x) = lines.get_mut(l % n) {
                if let Some((k, _)) = x.split_once(':') {
                    *x = format!("{k}: {}", TOKENS[t % TOKENS.len()]);
                }
            }
        }
        Mutation::Insert(p, t) => {
            let mut s = lines.join("\n");
            let mut at = p % (s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            s.insert_str(at, TOKENS[t % TOKENS.len()]);
            return s;
        }
        Mutation::Indent(l, k) => {
            if let Some(x) = lines.get_mut(l % n) {
                *x = format!("{}{}", " ".repeat(*k), x.trim_start());
            }
        }
        Mutation::Truncate(p) => {
            let s = lines.join("\n");
            let mut at = p % (s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            return s[..at].to_string();
        }
    }
    lines.join("\n")
}

/// Whole-file problems have no path: they carry a line (a YAML error) or say what the file is.
fn check_parse(text: &str) -> Result<(), TestCaseError> {
    match Config::from_yaml_str(text) {
        Ok(cfg) => {
            prop_assert!(
                cfg.validate().is_ok(),
                "from_yaml_str accepted what validate refuses"
            );
            prop_assert!(!cfg.targets.is_empty());
        }
        Err(e) => {
            prop_assert!(!e.problems.is_empty());
            for p in &e.problems {
                prop_assert!(!p.message.trim().is_empty(), "empty message: {p:?}");
                prop_assert!(
                    !p.path.is_empty()
                        || p.line.is_some()
                        || [
                            "the file is empty",
                            "expected a mapping",
                            "keys must be strings",
                            "repetition limit",
                            "recursion limit",
                            "more than one document",
                            "unknown setting ``",
                        ]
                        .iter()
                        .any(|m| p.message.contains(m)),
                    "a problem with neither a path nor a line: {p:?}"
                );
                prop_assert!(!p.message.contains("panicked"));
            }
            let shown = e.to_string();
            prop_assert!(shown.starts_with("invalid configuration ("), "{shown}");
        }
    }
    Ok(())
}

#[test]
fn the_valid_seed_is_valid() {
    Config::from_yaml_str(VALID).unwrap();
}

#[test]
fn config_parser_takes_any_text() {
    let text = prop_oneof![
        any::<String>(),
        proptest::collection::vec(proptest::sample::select(TOKENS), 0..40)
            .prop_map(|t| t.join(" ")),
        "[a-z_:\\-\\[\\]{} \\n&*!|>#\"'0-9.]{0,300}",
    ];
    runner(3_000).run(&text, |t| check_parse(&t)).unwrap();
}

#[test]
fn config_parser_takes_any_mutation_of_a_valid_file() {
    runner(3_000)
        .run(&proptest::collection::vec(mutation(), 1..6), |ms| {
            let mut text = VALID.to_string();
            for m in &ms {
                text = apply(&text, m);
            }
            check_parse(&text)
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The simulator's request parsing.

/// Every operation the simulator serves over awsJson, by target prefix.
const JSON_OPS: &[&str] = &[
    "StarlingDoveService.DescribeConfigurationRecorders",
    "StarlingDoveService.DescribeConfigurationRecorderStatus",
    "StarlingDoveService.DescribeOrganizationConfigRules",
    "StarlingDoveService.DescribeOrganizationConfigRuleStatuses",
    "StarlingDoveService.GetOrganizationConfigRuleDetailedStatus",
    "StarlingDoveService.DescribeConfigurationAggregators",
    "StarlingDoveService.DescribeConfigurationAggregatorSourcesStatus",
    "StarlingDoveService.Nope",
    "AWSOrganizationsV20161128.ListAccounts",
    "AWSOrganizationsV20161128.ListRoots",
    "AWSOrganizationsV20161128.ListOrganizationalUnitsForParent",
    "AWSOrganizationsV20161128.ListAccountsForParent",
    "AWSOrganizationsV20161128.DescribeOrganization",
    "Nope.Nope",
    "NoDot",
];

/// Member names of the requests, so generated bodies reach the handlers' field reads.
const FIELDS: &[&str] = &[
    "Limit",
    "NextToken",
    "ConfigurationRecorderNames",
    "OrganizationConfigRuleNames",
    "OrganizationConfigRuleName",
    "Filters",
    "AccountId",
    "MemberAccountRuleStatus",
    "ConfigurationAggregatorNames",
    "ConfigurationAggregatorName",
    "UpdateStatus",
    "MaxResults",
    "ParentId",
    "maxResults",
    "nextToken",
    "findingCriteria",
    "groupBy",
    "orderBy",
    "criterion",
    "onlyAssociated",
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "[ -~]{0,20}".prop_map(Value::String),
        proptest::sample::select(
            &[
                "ACCOUNT",
                "SEVERITY",
                "CREATE_FAILED",
                "DESC",
                "false",
                "1.a",
                "0.0000000000000000"
            ][..]
        )
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::vec((proptest::sample::select(FIELDS), inner), 0..6).prop_map(
                |kv| {
                    serde_json::Value::Object(
                        kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                    )
                }
            ),
        ]
    })
}

#[derive(Debug, Clone)]
struct SimRequest {
    method: &'static str,
    path: String,
    target: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

fn authorization() -> impl Strategy<Value = Option<String>> {
    let key = prop_oneof![
        Just("AKIATESTMANAGEMENT01".to_string()),
        "ASIA[0-9]{12}[A-Z0-9]{0,8}",
        "ASIA[0-9a-z]{0,14}",
        "[ -~]{0,24}",
    ];
    let region = prop_oneof![
        Just("us-east-1".to_string()),
        Just("eu-west-1".to_string()),
        "[a-z0-9-]{0,12}"
    ];
    let service = proptest::sample::select(
        &[
            "config",
            "organizations",
            "guardduty",
            "iam",
            "sts",
            "s3",
            "",
        ][..],
    );
    prop_oneof![
        1 => Just(None),
        6 => (key, region, service).prop_map(|(k, r, s)| Some(format!(
            "AWS4-HMAC-SHA256 Credential={k}/20251121/{r}/{s}/aws4_request, SignedHeaders=host, Signature=00"
        ))),
        1 => "[ -~]{0,80}".prop_map(Some),
    ]
}

fn sim_request() -> impl Strategy<Value = SimRequest> {
    let aws_json = (
        proptest::sample::select(JSON_OPS),
        json_value(),
        authorization(),
    )
        .prop_map(|(op, body, auth)| SimRequest {
            method: "POST",
            path: "/".into(),
            target: Some(op.to_string()),
            authorization: auth,
            body: body.to_string().into_bytes(),
        });
    let detector = "[0-9a-f]{32}|[ -~&&[^ /?#]]{0,12}";
    let rest = (
        proptest::sample::select(&["GET", "POST", "PUT", "DELETE"][..]),
        detector,
        proptest::sample::select(&["", "/member", "/administrator", "/findings/statistics", "/x/y"][..]),
        "(\\?(maxResults|nextToken|onlyAssociated)=[a-zA-Z0-9%.-]{0,8}(&[a-z]{1,8}=[0-9a-z]{0,4}){0,2})?",
        json_value(),
        authorization(),
    )
        .prop_map(|(method, id, sub, query, body, auth)| SimRequest {
            method,
            path: if id.is_empty() { format!("/detector{query}") } else { format!("/detector/{id}{sub}{query}") },
            target: None,
            authorization: auth,
            body: body.to_string().into_bytes(),
        });
    let query = (
        proptest::sample::select(
            &[
                "AssumeRole",
                "GetCallerIdentity",
                "GenerateOrganizationsAccessReport",
                "GetOrganizationsAccessReport",
                "Nope",
                "",
            ][..],
        ),
        proptest::collection::vec(
            (
                proptest::sample::select(
                    &[
                        "RoleArn",
                        "RoleSessionName",
                        "DurationSeconds",
                        "ExternalId",
                        "EntityPath",
                        "JobId",
                        "MaxItems",
                        "Marker",
                        "SortKey",
                        "Version",
                        "Action",
                    ][..],
                ),
                "[ -~]{0,30}",
            ),
            0..6,
        ),
        authorization(),
    )
        .prop_map(|(action, params, auth)| {
            let mut f = form_urlencoded::Serializer::new(String::new());
            f.append_pair("Action", action);
            for (k, v) in params {
                f.append_pair(k, &v);
            }
            SimRequest {
                method: "POST",
                path: "/".into(),
                target: None,
                authorization: auth,
                body: f.finish().into_bytes(),
            }
        });
    let raw = (
        proptest::collection::vec(any::<u8>(), 0..200),
        authorization(),
        proptest::option::of("[ -~]{0,40}"),
    )
        .prop_map(|(body, auth, target)| SimRequest {
            method: "POST",
            path: "/".into(),
            target,
            authorization: auth,
            body,
        });
    prop_oneof![3 => aws_json, 3 => rest, 2 => query, 1 => raw]
}

async fn send(addr: std::net::SocketAddr, r: &SimRequest) -> Result<u16, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut b = http::Request::builder()
        .method(r.method)
        .uri(&r.path)
        .header("host", addr.to_string())
        .header("content-type", "application/x-amz-json-1.1");
    if let Some(t) = &r.target {
        b = b.header("x-amz-target", t.as_str());
    }
    if let Some(a) = &r.authorization {
        b = b.header("authorization", a.as_str());
    }
    let req = b
        .body(Full::new(Bytes::from(r.body.clone())))
        .map_err(|e| format!("unsendable: {e}"))?;
    let resp = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .map_err(|_| "no answer within 10 s".to_string())?
        .map_err(|e| format!("no answer: {e}"))?;
    let status = resp.status().as_u16();
    resp.into_body()
        .collect()
        .await
        .map_err(|e| format!("body broken off: {e}"))?;
    Ok(status)
}

#[test]
fn the_simulator_answers_any_request() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(Sim::start(WorldOptions {
            members: 3,
            ..WorldOptions::default()
        }))
        .unwrap();
    let addr = sim.addr();
    let statuses = std::sync::Mutex::new(BTreeSet::new());
    runner(1_500)
        .run(&sim_request(), |r| {
            // Header values the HTTP library refuses to send are not the simulator's business.
            match rt.block_on(send(addr, &r)) {
                Ok(status) => {
                    statuses.lock().unwrap().insert(status);
                    Ok(())
                }
                Err(e) if e.starts_with("unsendable") => Ok(()),
                Err(e) => Err(TestCaseError::fail(format!("{e} for {r:?}"))),
            }
        })
        .unwrap();
    // Still serving, and the generated requests reached both success and error paths.
    let ok = rt.block_on(send(
        addr,
        &SimRequest {
            method: "POST",
            path: "/".into(),
            target: Some("StarlingDoveService.DescribeConfigurationRecorders".into()),
            authorization: Some("AWS4-HMAC-SHA256 Credential=AKIATESTMANAGEMENT01/20251121/us-east-1/config/aws4_request, SignedHeaders=host, Signature=00".into()),
            body: b"{}".to_vec(),
        },
    ));
    assert_eq!(ok, Ok(200));
    let seen = statuses.into_inner().unwrap();
    eprintln!("statuses answered: {seen:?}");
    assert!(seen.contains(&200) && seen.contains(&400), "{seen:?}");
    drop(sim);
}

// ---------------------------------------------------------------------------------------------
// The exporter's response parsing.

/// Calls of the collectors under test, by protocol.
const AIMED_OPS: &[&str] = &[
    "DescribeConfigurationRecorders",
    "DescribeConfigurationRecorderStatus",
    "ListConfigurationRecorders",
    "DescribeDeliveryChannelStatus",
    "DescribeConfigRuleEvaluationStatus",
    "ListDetectors",
    "GetDetector",
    "GetFindingsStatistics",
    "ListMembers",
    "GetAdministratorAccount",
    "GenerateOrganizationsAccessReport",
    "GetOrganizationsAccessReport",
];

#[derive(Debug, Clone)]
struct Answer {
    op: &'static str,
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

fn answer_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // JSON of the right shape with wrong types, odd values, unknown members.
        3 => json_value().prop_map(|v| v.to_string().into_bytes()),
        // JSON cut anywhere.
        2 => (json_value(), any::<usize>()).prop_map(|(v, cut)| {
            let s = v.to_string().into_bytes();
            let at = cut % (s.len() + 1);
            s[..at].to_vec()
        }),
        // XML-ish.
        2 => (
            proptest::sample::select(&["JobStatus", "JobId", "AccessDetails", "member", "IsTruncated", "Marker", "NumberOfServicesAccessible", "ServiceNamespace", "LastAuthenticated", "Error", "Code"][..]),
            "[ -~]{0,20}",
            any::<bool>(),
        )
            .prop_map(|(tag, text, close)| {
                let inner = if close { format!("<{tag}>{text}</{tag}>") } else { format!("<{tag}>{text}") };
                format!("<GetOrganizationsAccessReportResponse><GetOrganizationsAccessReportResult>{inner}</GetOrganizationsAccessReportResult></GetOrganizationsAccessReportResponse>").into_bytes()
            }),
        // Anything.
        1 => proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    (
        proptest::sample::select(AIMED_OPS),
        proptest::sample::select(&[200u16, 200, 200, 400, 403, 404, 429, 500, 503, 302, 204][..]),
        proptest::sample::select(
            &[
                "application/x-amz-json-1.1",
                "application/json",
                "text/xml",
                "text/html",
                "",
            ][..],
        ),
        answer_body(),
    )
        .prop_map(|(op, status, content_type, body)| Answer {
            op,
            status,
            content_type,
            body,
        })
}

#[test]
fn the_exporter_survives_any_answer() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let world = WorldOptions {
        members: 0,
        regions: vec!["us-east-1".into()],
        iam: aws_sim::iam::Options {
            polls_in_progress: 0,
            fail_every: 0,
            ..Default::default()
        },
        ..WorldOptions::default()
    };
    let root = root_entity_path(&World::new(world.clone()));
    let collectors = format!(
        "  config_recorder:\n    interval: 1h\n  guardduty:\n    interval: 1h\n  config_org_rules:\n    enabled: false\n  config_aggregators:\n    enabled: false\n  iam_access_report:\n    interval: 1h\n    poll_interval: 1h\n    entity_paths: [\"{root}\"]\n"
    );
    let env = rt.block_on(async {
        let env = Env::start_with(world, &collectors, crate::faults::NO_RATE_LIMITS).await;
        env.wait_ready().await;
        env
    });
    let outcomes = std::sync::Mutex::new(BTreeSet::new());
    runner(400)
        .run(&answer(), |a| {
            rt.block_on(async {
                env.sim.clear_faults();
                env.sim.add_fault(
                    FaultRule::always(Fault::Body {
                        status: a.status,
                        content_type: a.content_type.to_string(),
                        body: Bytes::from(a.body.clone()),
                    })
                    .operation(a.op),
                );
                let started = SystemTime::now();
                env.sim.reset_calls();
                let failed = env.cycle().await;
                let called = env.sim.calls(a.op) > 0;
                let rows = env.app.store.status();
                // Every job recorded this cycle's attempt: a panicking collection would not.
                for r in &rows {
                    prop_assert!(
                        r.last_attempt.is_some_and(|t| t >= started),
                        "{} recorded no attempt for {a:?}",
                        r.key
                    );
                }
                let errors: Vec<_> = rows.iter().filter_map(|r| r.last_error()).collect();
                prop_assert_eq!(failed, errors.len());
                // A 200 whose body is not JSON, to a JSON protocol's call that was made. (An
                // empty body reads as `{}`; XML answers are covered by "no panic" only.)
                let unparsable = called
                    && a.status == 200
                    && !a.body.iter().all(u8::is_ascii_whitespace)
                    && serde_json::from_slice::<serde_json::Value>(&a.body).is_err()
                    && !a.op.contains("OrganizationsAccessReport");
                if unparsable {
                    prop_assert!(
                        errors
                            .iter()
                            .any(|e| e.kind.as_str() == "malformed_response"),
                        "a 200 that is not JSON must fail as malformed: {a:?} -> {errors:?}"
                    );
                }
                for e in &errors {
                    outcomes.lock().unwrap().insert(e.kind.as_str());
                    prop_assert!(!e.message.is_empty());
                }
                let r = get(env.addr(), "/metrics", &[]).await;
                prop_assert_eq!(r.status, 200);
                Ok(())
            })
        })
        .unwrap();
    let kinds = outcomes.into_inner().unwrap();
    eprintln!("failure kinds seen: {kinds:?}");
    assert!(
        kinds.contains("malformed_response") && kinds.contains("service_error"),
        "{kinds:?}"
    );
    rt.block_on(async {
        env.sim.clear_faults();
        assert_eq!(env.cycle().await, 0, "recovers");
    });
}
