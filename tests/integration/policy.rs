//! The source against what ships with it: every AWS operation the exporter calls is allowed by
//! `deploy/iam-policy.json` and the policy allows nothing the exporter does not call (least
//! privilege), and no request is sent but through the call path that applies its account and
//! region scope to the shared service clients. The exporter's source is all of `src/`; the
//! simulator it is tested against and the benchmark harness that drives it live in `crates/`.
//! What the exporter can send is the services table (`src/aws/services.rs`), read here as the
//! library compiles it ([`OPERATIONS`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use posture_exporter::aws::{Service, OPERATIONS};

/// Statements whose actions AWS requires for an operation we call, without our calling them:
/// IAM's GenerateOrganizationsAccessReport reads the organization with the caller's permissions.
const REQUIRED_BY_AWS: &[&str] =
    &["OrganizationsReadsRequiredByIamGenerateOrganizationsAccessReport"];

fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    assert!(out.len() > 20, "found only {} source files", out.len());
    out
}

/// The IAM action (`service:Operation`) of every row of the services table, each checked to be
/// called by the source (`.method(` on the client its closure gets, whitespace ignored; the
/// AssumeRole provider's `.sts.assume_role(` too). A row nothing calls fails the test: the policy
/// would have to grant an operation the exporter never sends.
fn called_actions() -> BTreeSet<String> {
    let texts: Vec<String> = sources()
        .into_iter()
        .filter(|(p, _)| !p.ends_with("aws/services.rs"))
        .map(|(_, text)| text.chars().filter(|c| !c.is_whitespace()).collect())
        .collect();
    let mut out = BTreeSet::new();
    let mut unused = Vec::new();
    for op in OPERATIONS {
        assert!(Service::ALL.contains(&op.service), "{op:?}");
        let needle = format!(".{}(", op.method);
        if texts.iter().any(|t| t.contains(&needle)) {
            out.insert(op.iam_action());
        } else {
            unused.push(op.iam_action());
        }
    }
    assert!(
        unused.is_empty(),
        "in the services table of src/aws/services.rs but never called (drop the rows): {unused:?}"
    );
    out
}

fn policy_actions(skip: &[&str]) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/iam-policy.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = BTreeSet::new();
    for st in v["Statement"].as_array().unwrap() {
        assert_eq!(st["Effect"], "Allow");
        if skip.contains(&st["Sid"].as_str().unwrap_or("")) {
            continue;
        }
        for a in st["Action"].as_array().unwrap() {
            out.insert(a.as_str().unwrap().to_string());
        }
    }
    out
}

#[test]
fn the_iam_policy_allows_exactly_the_operations_the_exporter_calls() {
    let called = called_actions();
    // The scan must see the collectors' calls at all, or the comparison proves nothing.
    for a in [
        "config:DescribeConfigurationRecorderStatus",
        "guardduty:GetFindingsStatistics",
        "iam:GenerateOrganizationsAccessReport",
        "organizations:ListAccounts",
        "sts:AssumeRole",
    ] {
        assert!(called.contains(a), "the scan missed {a}: {called:?}");
    }
    let allowed = policy_actions(&[]);
    let missing: Vec<_> = called.difference(&allowed).collect();
    assert!(
        missing.is_empty(),
        "called but not allowed by deploy/iam-policy.json: {missing:?}"
    );
    let ours = policy_actions(REQUIRED_BY_AWS);
    let extra: Vec<_> = ours.difference(&called).collect();
    assert!(
        extra.is_empty(),
        "allowed by deploy/iam-policy.json but never called (move them to a statement AWS \
         requires, or drop them): {extra:?}"
    );
}

#[test]
fn only_the_call_path_sends_requests() {
    // The service clients are shared by the process; a call without its job's scope would read
    // the home region with the base credentials, whatever account and region its job is for.
    // The types see to it that no collector forgets the scope: a client is reachable only
    // through the call path of src/aws/call.rs (its entry points made by the services table),
    // which applies it to every request it sends. What they cannot stop is a client cloned out of
    // the call path's closure and used by hand, so nothing outside src/aws may send, customize or
    // build a client, and inside src/aws only the call path (its send in src/aws/table.rs) and
    // the AssumeRole provider (base credentials, home region, by design) send.
    const OUTSIDE: &[&str] = &[
        ".send()",
        ".customize()",
        "config_override",
        "from_conf(",
        "::Client::new(",
    ];
    let aws = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
    let mut found = Vec::new();
    let mut sends = 0;
    for (path, text) in sources() {
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if !path.starts_with(&aws) {
            for n in OUTSIDE {
                if t.contains(n) {
                    found.push(format!("{}: {n}", path.display()));
                }
            }
            continue;
        }
        let mut start = 0;
        while let Some(i) = t[start..].find(".send()") {
            let at = start + i;
            sends += 1;
            // The call expression: back to the statement or block that holds it.
            let from = t[..at].rfind([';', '{']).map_or(0, |j| j + 1);
            let expr = &t[from..at];
            // The call path scopes every request and slows its bucket down on throttling;
            // the AssumeRole provider sends through the same interceptor.
            let scoped = expr
                .ends_with(".customize().config_override(scope).interceptor(feedback)")
                || (expr.contains(".customize().interceptor(attempts::SlowDown::new(")
                    && t.contains(".sts.assume_role()"));
            if !scoped {
                found.push(format!("{}: {expr}", path.display()));
            }
            start = at + 1;
        }
    }
    assert_eq!(sends, 2, "the call path and the AssumeRole provider");
    assert!(found.is_empty(), "sent outside the call path: {found:#?}");
}
