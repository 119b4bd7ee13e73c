//! The source against what ships with it: every AWS operation the exporter calls is allowed by
//! `deploy/iam-policy.json` and the policy allows nothing the exporter does not call (least
//! privilege), and every call applies its account and region scope to the shared service clients.
//! The exporter's source is all of `src/`; the simulator it is tested against and the benchmark
//! harness that drives it live in `crates/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const SERVICES: &[&str] = &["config", "guardduty", "iam", "organizations", "sts"];

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

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `service:Operation` for every `.service().operation(` (or the AssumeRole provider's
/// `.sts.assume_role(`) in the exporter's source, whitespace ignored.
fn called_actions() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, text) in sources() {
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for svc in SERVICES {
            let mut needles = vec![format!(".{svc}().")];
            if *svc == "sts" {
                // The AssumeRole provider holds its STS client in a field.
                needles.push(".sts.".to_string());
            }
            for needle in needles {
                let mut rest = t.as_str();
                while let Some(i) = rest.find(&needle) {
                    rest = &rest[i + needle.len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    let call = rest[name.len()..].starts_with('(');
                    if call && !name.is_empty() && name != "clone" {
                        out.insert(format!("{svc}:{}", pascal(&name)));
                    }
                }
            }
        }
    }
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
fn every_call_applies_its_account_and_region_scope() {
    // The service clients are shared by the process; a call without the scope would read the
    // home region with the base credentials, whatever account and region its job is for.
    let mut unscoped = Vec::new();
    let mut calls = 0;
    for (path, text) in sources() {
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let mut start = 0;
        while let Some(i) = t[start..].find(".send()") {
            let at = start + i;
            calls += 1;
            // The call expression: back to the statement or block that holds it.
            let from = t[..at].rfind([';', '{']).map_or(0, |j| j + 1);
            let expr = &t[from..at];
            // AssumeRole runs with the base credentials in the home region, by design.
            let scoped = expr.contains(".customize().config_override(c.scope())")
                || expr.contains(".sts.assume_role()");
            if !scoped {
                unscoped.push(format!("{}: {expr}", path.display()));
            }
            start = at + 1;
        }
    }
    assert!(calls >= 20, "found only {calls} calls");
    assert!(
        unscoped.is_empty(),
        "calls without their scope: {unscoped:#?}"
    );
}
