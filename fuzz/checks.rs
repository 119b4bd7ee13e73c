//! What each fuzz target checks of one input, in one place: the targets in `fuzz_targets/` call
//! these, and so does the stable regression test (`tests/integration/fuzz_regressions.rs`) over
//! every file of `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/`, so a kept input is
//! checked the same way the fuzzer checked it.
//!
//! Each function takes the raw input and panics (an assertion) when a property fails; the code
//! under test must never panic by itself.
#![allow(dead_code)]

use std::sync::OnceLock;

use aws_sim::wire::Protocol;
use posture_exporter::aws::{answers, Service, OPERATIONS};
use posture_exporter::collectors::guardduty::lists::api::{Condition, Filter};
use posture_exporter::collectors::guardduty::lists::convert as lists_convert;
use posture_exporter::config::Config;
use posture_exporter::metrics::Format;
use posture_exporter::overview::html;
use posture_exporter::overview::model::{percent_decode, Overview, Query};
use posture_exporter::server::{accepts_gzip, negotiate_format};
use posture_exporter::tls_auth::parse_basic;
use serde_json::Value;

/// What a target checks of one input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by the name of their directories under `fuzz/seeds/` and `fuzz/regressions/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("config", config),
    ("answers", answers),
    ("sim_request", sim_request),
    ("web", web),
    ("guardduty_filter", guardduty_filter),
];

// ---------------------------------------------------------------------------------------------
// config

/// The config parser on any text (bytes decoded lossily): an accepted file validates again, a
/// refused one says why.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Config::from_yaml_str(&text) {
        Ok(cfg) => {
            assert!(
                cfg.validate().is_ok(),
                "from_yaml_str accepted what validate refuses"
            );
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "an error without problems");
            for p in &e.problems {
                assert!(!p.message.trim().is_empty(), "an empty message: {p:?}");
            }
            assert!(!e.to_string().trim().is_empty());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// answers

/// The awsQuery operations the exporter calls (IAM and STS), and one JSON operation without
/// required members. Some twice: the seeds' first bytes index the pairs, and the list keeps the
/// length it had when the check took the SDK's spellings of the services (`IAM` and `iam`).
const OTHER_PAIRS: &[(Service, &str)] = &[
    (Service::Iam, "GenerateOrganizationsAccessReport"),
    (Service::Iam, "GetOrganizationsAccessReport"),
    (Service::Iam, "GetOrganizationsAccessReport"),
    (Service::Sts, "AssumeRole"),
    (Service::Sts, "GetCallerIdentity"),
    (Service::Sts, "AssumeRole"),
    (Service::Config, "DescribeConfigurationRecorders"),
];

/// Every (service, operation) of the services table whose answers must have members, in the
/// table's order, then the others above.
fn answer_pairs() -> &'static [(Service, &'static str)] {
    static PAIRS: OnceLock<Vec<(Service, &'static str)>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        let mut v: Vec<(Service, &'static str)> = OPERATIONS
            .iter()
            .filter(|o| !o.required.is_empty() || !o.entries.is_empty())
            .map(|o| (o.service, o.name))
            .collect();
        v.extend_from_slice(OTHER_PAIRS);
        v
    })
}

fn is_query(service: Service) -> bool {
    service.protocol() == posture_exporter::aws::Protocol::AwsQuery
}

/// `answers::check` on any body of any operation it knows (the first byte picks the pair):
/// never a panic; a JSON answer it passes has what its row requires. For the awsQuery
/// operations, the body also becomes the members of a well-formed answer (as the simulator
/// writes them), which must pass, while every prefix of it that lacks the closing element of
/// `<Operation>Response>` must be refused.
pub fn answers(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let pairs = answer_pairs();
    let (service, op) = pairs[usize::from(first) % pairs.len()];
    let verdict = answers::check(service, op, body);
    if let Err(e) = &verdict {
        assert!(!e.reason.is_empty() && e.operation == op, "{e:?}");
    }
    if is_query(service) {
        well_formed_answer_and_its_prefixes(service, op, body);
        return;
    }
    if verdict.is_ok() {
        if let (Some(row), Ok(v)) = (
            OPERATIONS
                .iter()
                .find(|o| o.service == service && o.name == op),
            serde_json::from_slice::<Value>(body),
        ) {
            for m in row.required {
                assert!(v.get(m).is_some_and(|x| !x.is_null()), "passed without {m}");
            }
            for (list, members) in row.entries {
                for e in v.get(list).and_then(Value::as_array).into_iter().flatten() {
                    for m in *members {
                        assert!(
                            e.get(m).is_some_and(|x| !x.is_null()),
                            "passed a {list} entry without {m}"
                        );
                    }
                }
            }
        }
    }
}

/// An awsQuery answer in the simulator's layout, whose members are the lines of `body`
/// (`name=value`; the name kept to ASCII letters behind a lowercase `m` so that it never
/// names the answer's own elements, the value escaped), followed by up to 3 whitespace bytes
/// the input's length picks.
fn query_answer(op: &str, body: &[u8]) -> (Vec<u8>, usize) {
    let text = String::from_utf8_lossy(body);
    let mut inner = String::new();
    for line in text.lines().take(64) {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        let name: String = std::iter::once('m')
            .chain(k.chars().filter(char::is_ascii_alphabetic).take(32))
            .collect();
        inner.push_str(&format!(
            "    <{name}>{}</{name}>\n",
            aws_sim::wire::xml_escape(v)
        ));
    }
    let doc = format!(
        "<{op}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <{op}Result>\n{inner}  </{op}Result>\n  <ResponseMetadata>\n    <RequestId>00000000-0000-4000-8000-000000000001</RequestId>\n  </ResponseMetadata>\n</{op}Response>"
    );
    let closed_at = doc.len();
    let mut doc = doc.into_bytes();
    doc.extend_from_slice(&b"\n \t"[..body.len() % 4]);
    (doc, closed_at)
}

fn well_formed_answer_and_its_prefixes(service: Service, op: &str, body: &[u8]) {
    let (doc, closed_at) = query_answer(op, body);
    if let Err(e) = answers::check(service, op, &doc) {
        panic!(
            "a whole answer was refused: {e}\n{}",
            String::from_utf8_lossy(&doc)
        );
    }
    for cut in 0..doc.len() {
        let verdict = answers::check(service, op, &doc[..cut]);
        if cut < closed_at {
            assert!(
                verdict.is_err(),
                "an answer cut after {cut} of {} bytes passed: {:?}",
                doc.len(),
                String::from_utf8_lossy(&doc[..cut])
            );
        } else {
            assert!(
                verdict.is_ok(),
                "a whole answer with part of its trailing whitespace was refused"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sim_request

/// A small organization for the simulator's handlers; cloned for each input so that inputs do
/// not see each other's changes.
fn sim_world() -> &'static aws_sim::World {
    static WORLD: OnceLock<aws_sim::World> = OnceLock::new();
    WORLD.get_or_init(|| {
        aws_sim::World::new(aws_sim::WorldOptions {
            members: 2,
            ..Default::default()
        })
    })
}

/// Methods the first byte picks from.
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD"];

/// The simulator's request parsing and its handlers on any request: the first byte picks the
/// method, then lines give the path, the query string, `X-Amz-Target` and `Authorization` (an
/// empty line is no header), and the rest is the body. Never a panic; a body that is not JSON
/// is refused only where `X-Amz-Target` routes by JSON; errors are 4xx/5xx. The helpers the
/// handlers parse parameters with are checked on the same text.
pub fn sim_request(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let method = http::Method::from_bytes(METHODS[usize::from(first) % METHODS.len()].as_bytes())
        .expect("a valid method");
    let mut fields = rest.splitn(5, |&b| b == b'\n');
    let mut line = || {
        fields
            .next()
            .map(|l| String::from_utf8_lossy(l).into_owned())
    };
    let path = line().unwrap_or_default();
    let query = line().filter(|s| !s.is_empty());
    let target = line().filter(|s| !s.is_empty());
    let authorization = line().filter(|s| !s.is_empty());
    let body = rest.splitn(5, |&b| b == b'\n').nth(4).unwrap_or_default();

    helpers(&path, query.as_deref(), authorization.as_deref());

    let routed = aws_sim::read_request(
        &method,
        &path,
        query.as_deref(),
        target.as_deref(),
        authorization.as_deref(),
        body,
    );
    let r = match routed {
        Ok(r) => r,
        Err(e) => {
            assert!(target.is_some(), "refused without X-Amz-Target: {e:?}");
            assert!(serde_json::from_slice::<Value>(body).is_err());
            assert_eq!(e.status.as_u16(), 400);
            return;
        }
    };
    let Some((access_key, region, _)) = r.auth.clone() else {
        return;
    };
    let mut world = sim_world().clone();
    let call = aws_sim::Call {
        op: r.op,
        account: aws_sim::account_for_key(&world, &access_key),
        access_key,
        region,
        protocol: r.protocol,
        json: r.json,
        params: r.params,
        method,
        path,
    };
    match aws_sim::answer(&mut world, &r.service, &call) {
        Ok(resp) => assert!(resp.status().is_success(), "{:?}", resp.status()),
        Err(e) => {
            assert!(
                e.status.is_client_error() || e.status.is_server_error(),
                "{e:?}"
            );
            assert!(!e.code.is_empty());
            // Renders in every protocol.
            for p in [
                Protocol::AwsJson,
                Protocol::RestJson,
                Protocol::Query { xmlns: "x" },
            ] {
                let _ = e.clone().into_response(p);
            }
        }
    }
}

/// The simulator's small parsers on the same text: the credential scope, ARNs, page tokens and
/// timestamps.
fn helpers(path: &str, query: Option<&str>, authorization: Option<&str>) {
    if let Some((key, region, service)) = authorization.and_then(aws_sim::parse_authorization) {
        for part in [&key, &region, &service] {
            assert!(!part.contains(['/', ',', ' ']), "{part:?}");
        }
    }
    if let Some(account) = aws_sim::wire::role_arn_account(path) {
        assert!(aws_sim::wire::valid_account_id(account));
    }
    let scope = query.unwrap_or("");
    let offset = path.len() * 7919 + scope.len();
    let token = aws_sim::wire::next_token(scope, offset);
    assert_eq!(aws_sim::wire::parse_token(scope, &token), Some(offset));
    // A token that decodes names an offset whose own token decodes to it again (the spelling of
    // the offset may differ: leading zeros).
    if let Some(o) = aws_sim::wire::parse_token(scope, path) {
        let again = aws_sim::wire::next_token(scope, o);
        assert_eq!(aws_sim::wire::parse_token(scope, &again), Some(o));
    }
    let secs = f64::from_bits(aws_sim::wire::fnv(path));
    let t = aws_sim::wire::iso8601(secs);
    assert!(t.ends_with('Z') && t.len() >= 20, "{secs} {t}");
}

// ---------------------------------------------------------------------------------------------
// web

/// The exporter's request-side parsing on any text; the first byte picks what: basic auth, the
/// overview's query string (and its paging), content negotiation, HTML escaping.
pub fn web(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match first % 4 {
        0 => basic(&text),
        1 => overview_query(&text),
        2 => negotiation(&text),
        _ => escaping(&text),
    }
}

fn basic(text: &str) {
    let Some((user, password)) = parse_basic(text) else {
        return;
    };
    assert!(!user.contains(':'));
    let again = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
    assert_eq!(parse_basic(&again), Some((user, password)));
}

/// Standard base64 with padding.
fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for c in b.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &x)| n | u32::from(x) << (16 - 8 * i));
        for i in 0..4 {
            o.push(if i <= c.len() {
                char::from(A[(n >> (18 - 6 * i) & 63) as usize])
            } else {
                '='
            });
        }
    }
    o
}

fn overview_query(text: &str) {
    let q = Query::parse(Some(text));
    for v in [&q.section, &q.collector, &q.account, &q.region]
        .into_iter()
        .flatten()
    {
        assert!(!v.is_empty() && v.trim() == v, "{v:?}");
    }
    // Values decode as application/x-www-form-urlencoded does.
    for kv in text.split('&') {
        let v = kv.split_once('=').map_or("", |(_, v)| v);
        if let Some(ours) = percent_decode(v) {
            let theirs = form_urlencoded::parse(format!("v={v}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            assert_eq!(ours, theirs, "{v:?}");
        }
    }
    // What the query says survives being written as a link and read again.
    let mut link = String::new();
    let mut add = |k: &str, v: &str| {
        link.push_str(k);
        link.push('=');
        link.extend(form_urlencoded::byte_serialize(v.as_bytes()));
        link.push('&');
    };
    for (k, v) in [
        ("section", &q.section),
        ("collector", &q.collector),
        ("account", &q.account),
        ("region", &q.region),
    ] {
        if let Some(v) = v {
            add(k, v);
        }
    }
    if let Some(s) = q.state {
        add("state", s.as_str());
    }
    add("page", &(q.page as u128 + 1).to_string());
    assert_eq!(Query::parse(Some(&link)), q, "{link}");
    // Paging: any page of any length is a range inside the list.
    let len = text.len() * 37;
    let (range, pages) = Overview::page_of(len, q.page);
    assert!(pages >= 1 && range.start <= range.end && range.end <= len);
}

fn negotiation(text: &str) {
    let f = negotiate_format(Some(text));
    if !text.to_ascii_lowercase().contains("openmetrics") {
        assert_eq!(f, Format::Prometheus, "{text:?}");
    }
    if accepts_gzip(Some(text)) {
        assert!(text.to_ascii_lowercase().contains("gzip") || text.contains('*'));
    }
}

fn escaping(text: &str) {
    let e = html::esc(text);
    assert!(!e.contains(['<', '>', '"', '\'']), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// guardduty_filter

/// A GuardDuty condition from JSON as GetFilter has it (`findingCriteria.criterion.severity`, or
/// the condition object itself), deprecated and current spellings together, as `lists::api` keeps
/// them.
fn condition(v: &Value) -> Condition {
    let c = v
        .pointer("/findingCriteria/criterion/severity")
        .or_else(|| v.pointer("/criterion/severity"))
        .unwrap_or(v);
    let strings = |keys: &[&str]| -> Vec<String> {
        keys.iter()
            .filter_map(|k| c.get(k))
            .flat_map(|x| x.as_array().cloned().unwrap_or_default())
            .map(|x| match x {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect()
    };
    let ints = |keys: &[&str]| -> Vec<i64> {
        keys.iter()
            .filter_map(|k| c.get(k).and_then(Value::as_i64))
            .collect()
    };
    Condition {
        equals: strings(&["eq", "equals"]),
        not_equals: strings(&["neq", "notEquals"]),
        greater_than: ints(&["gt", "greaterThan"]),
        greater_than_or_equal: ints(&["gte", "greaterThanOrEqual"]),
        less_than: ints(&["lt", "lessThan"]),
        less_than_or_equal: ints(&["lte", "lessThanOrEqual"]),
        matches: strings(&["matches"]),
    }
}

/// Whether a finding of severity `x` passes every criterion of `c`; `None` when it is within
/// the range conditions but `c` has what cannot be judged there (a pattern, a listed value that
/// is not a number).
fn admits(c: &Condition, x: f64) -> Option<bool> {
    let num = |s: &String| s.trim().parse::<f64>().ok().filter(|v| !v.is_nan());
    let in_range = c.greater_than.iter().all(|&v| x > v as f64)
        && c.greater_than_or_equal.iter().all(|&v| x >= v as f64)
        && c.less_than.iter().all(|&v| x < v as f64)
        && c.less_than_or_equal.iter().all(|&v| x <= v as f64);
    if !in_range {
        return Some(false);
    }
    if !c.matches.is_empty() || c.equals.iter().any(|s| num(s).is_none()) {
        return None;
    }
    Some(
        c.not_equals.iter().all(|s| num(s) != Some(x))
            && (c.equals.is_empty() || c.equals.iter().any(|s| num(s) == Some(x))),
    )
}

/// `can_match_high` on any severity condition, against trying the severities themselves: every
/// hundredth in [7, 10] and points between, the bounds, and the listed values. A rule it clears
/// (false) must let no high severity through; one it flags (true) must let one through or have
/// what cannot be judged. `filters` takes any list.
pub fn guardduty_filter(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let c = condition(&v);
    let verdict = lists_convert::can_match_high(&c);
    // Hundredths, and points between them that no short list of exclusions names.
    let mut candidates: Vec<f64> = (700..=1000)
        .map(|i| f64::from(i) / 100.0)
        .chain((0..997).map(|k| 7.0 + 3.0 * (f64::from(k) + 0.5) / 997.0))
        .collect();
    for &b in c
        .greater_than
        .iter()
        .chain(&c.greater_than_or_equal)
        .chain(&c.less_than)
        .chain(&c.less_than_or_equal)
    {
        candidates.push(b as f64);
    }
    candidates.extend(
        c.equals
            .iter()
            .chain(&c.not_equals)
            .filter_map(|s| s.trim().parse::<f64>().ok()),
    );
    candidates.retain(|x| (7.0..=10.0).contains(x));
    let judged: Vec<Option<bool>> = candidates.iter().map(|&x| admits(&c, x)).collect();
    let high = candidates
        .iter()
        .zip(&judged)
        .find(|(_, a)| **a != Some(false))
        .map(|(x, _)| *x);
    match (verdict, high) {
        (false, Some(x)) => panic!("cleared, yet severity {x} passes or cannot be judged: {c:?}"),
        (true, None) => panic!("flagged, yet no severity in [7, 10] passes: {c:?}"),
        _ => {}
    }
    let action = v
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("ARCHIVE")
        .to_string();
    let filter = Filter {
        name: v.get("name").map(Value::to_string).unwrap_or_default(),
        action,
        severity: Some(c),
    };
    let _ = lists_convert::filters("111111111111", "us-east-1", &[filter]);
}
