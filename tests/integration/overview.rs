//! The overview (`/` and `/status.json`) against a simulated organization with known trouble:
//! every count equals the matching count over `/metrics`, lists are paged and bounded, the job
//! filter works, and free text (an account name with markup) is escaped.

use std::collections::BTreeSet;

use aws_sim::world::Recorder;
use aws_sim::{Sim, WorldOptions};
use posture_exporter::config::Config;
use serde_json::Value;

use crate::common::{get, only, Env, Scrape};

const NASTY: &str = "<script>alert(1)</script> \"x\" & 'y'";

async fn start(members: usize) -> (Env, String) {
    let sim = Sim::start(WorldOptions {
        members,
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let nasty_id = sim.world(|w| {
        w.accounts[2].name = NASTY.to_string();
        // Recorders stopped in every member's first region: one item each.
        let region = w.opts.regions[0].clone();
        for a in w.accounts[1..]
            .iter()
            .map(|a| a.id.clone())
            .collect::<Vec<_>>()
        {
            w.set_recorders(
                &a,
                &region,
                vec![Recorder {
                    name: "default".into(),
                    recording: false,
                    last_status: "Success".into(),
                    last_status_change: 1_763_000_000.0,
                    last_start: Some(1_762_000_000.0),
                    last_stop: Some(1_763_000_000.0),
                    last_error_code: None,
                    last_error_message: None,
                }],
            );
        }
        w.accounts[2].id.clone()
    });
    let regions = sim.world(|w| w.opts.regions.join(", "));
    let yaml = format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\n  max_concurrent_calls: 32\ntargets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: [{regions}]\ncollectors:\n{}",
        sim.url(),
        only(
            &["config_recorder", "config_org_rules", "guardduty"],
            "1h"
        )
    );
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_on_demand(sim, cfg).await;
    assert_eq!(env.cycle().await, 0);
    env.app.store.refresh();
    (env, nasty_id)
}

async fn json(env: &Env, path: &str) -> Value {
    let r = get(env.addr(), path, &[]).await;
    assert_eq!(r.status, 200, "{path}");
    assert_eq!(r.headers["content-type"], "application/json");
    serde_json::from_slice(&r.body).expect("valid JSON")
}

fn section<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no section {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_equal_metrics_lists_are_paged_and_text_is_escaped() {
    let (env, nasty_id) = start(60).await;
    let s = env.scrape().await;
    let doc = json(&env, "/status.json").await;

    // Counts as /metrics says.
    let failed = s
        .matching("aws_config_org_rule_member_status", &[])
        .iter()
        .filter(|(k, v)| *v == 1.0 && k.contains("_FAILED\""))
        .count();
    let stopped = s
        .matching("aws_config_recorder_recording", &[])
        .iter()
        .filter(|(_, v)| *v == 0.0)
        .count();
    let recorder_failures = s
        .matching("aws_config_recorder_last_status", &[("status", "Failure")])
        .iter()
        .filter(|(_, v)| *v == 1.0)
        .count();
    let no_recorder = s
        .matching("aws_config_recorders", &[("kind", "customer_managed")])
        .iter()
        .filter(|(_, v)| *v == 0.0)
        .count();
    let mut findings = BTreeSet::new();
    for sev in ["high", "critical"] {
        for (k, v) in s.matching("aws_guardduty_findings", &[("severity", sev)]) {
            if v > 0.0 {
                let acct = k
                    .split("account_id=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let region = k
                    .split("region=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                findings.insert((acct.to_string(), region.to_string()));
            }
        }
    }
    assert!(failed > 0 && stopped >= 60, "the world has trouble to show");
    assert_eq!(section(&doc, "failed_deployments")["count"], failed);
    assert_eq!(
        section(&doc, "recorders")["count"],
        stopped + recorder_failures + no_recorder
    );
    assert_eq!(section(&doc, "findings")["count"], findings.len());
    // One item per account and region with overdue findings, as the family says.
    let overdue: std::collections::BTreeSet<String> = s
        .matching("aws_guardduty_findings_overdue", &[])
        .into_iter()
        .filter(|(_, v)| *v > 0.0)
        .map(|(k, _)| k.split(",severity=").next().unwrap().to_string())
        .collect();
    assert!(
        !overdue.is_empty(),
        "the world has overdue findings to show"
    );
    assert_eq!(section(&doc, "overdue")["count"], overdue.len());
    assert_eq!(section(&doc, "collectors")["count"], 0);
    assert_eq!(doc["jobs"]["total"], env.app.store.keys().len());

    // Bounded: 50 items a page, the rest on further pages.
    let rec = section(&doc, "recorders");
    let n = rec["count"].as_u64().unwrap() as usize;
    assert_eq!(rec["items"].as_array().unwrap().len(), 50);
    assert_eq!(rec["pages"], n.div_ceil(50));
    let last = json(
        &env,
        &format!("/status.json?section=recorders&page={}", n.div_ceil(50)),
    )
    .await;
    let tail = section(&last, "recorders")["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(tail, n - 50 * (n.div_ceil(50) - 1));
    let page = String::from_utf8(get(env.addr(), "/?section=recorders", &[]).await.body).unwrap();
    assert_eq!(page.matches("<tr class=\"item\">").count(), 50);
    assert!(page.contains("rel=\"next\""));
    let overview = String::from_utf8(get(env.addr(), "/", &[]).await.body).unwrap();
    assert!(overview.matches("<tr class=\"job\">").count() <= 50);
    assert!(overview.contains(&format!("all {n} →")));

    // Names from discovery, and escaped.
    let item = rec["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["account_id"] == nasty_id.as_str())
        .or_else(|| {
            section(&last, "recorders")["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["account_id"] == nasty_id.as_str())
        })
        .expect("the renamed account has a stopped recorder");
    assert_eq!(item["account_name"], NASTY);
    assert!(!page.contains("<script>") && !overview.contains("<script>"));

    // The job filter: one account's jobs, and a state.
    let mine = json(&env, &format!("/status.json?account={nasty_id}")).await;
    let jobs = mine["jobs"]["items"].as_array().unwrap();
    assert_eq!(
        jobs.len(),
        mine["jobs"]["matching"].as_u64().unwrap() as usize
    );
    let expect = env
        .app
        .store
        .keys()
        .iter()
        .filter(|k| k.account_id == nasty_id)
        .count();
    assert_eq!(jobs.len(), expect);
    assert!(jobs.iter().all(|j| j["account_id"] == nasty_id.as_str()));
    // By a part of the name, case-insensitively.
    let by_name = json(&env, "/status.json?account=%3CSCRIPT%3E").await;
    assert_eq!(by_name["jobs"]["matching"], expect);
    let failing = json(&env, "/status.json?state=failing").await;
    assert_eq!(failing["jobs"]["matching"], 0);
    let page = String::from_utf8(
        get(
            env.addr(),
            &format!("/?account={nasty_id}&collector=config_recorder"),
            &[],
        )
        .await
        .body,
    )
    .unwrap();
    let regions = env.sim.world(|w| w.opts.regions.len());
    assert_eq!(page.matches("<tr class=\"job\">").count(), regions);
    // Counts agree with the scrape taken before.
    assert_eq!(
        Scrape::parse(&env.scrape().await.text).samples.len(),
        s.samples.len()
    );
    env.stop().await;
}

/// At 300 accounts a rule fails in more than 50 members: every failed member deployment on the
/// overview, on every page, carries AWS's code and message (the status page used to lose them
/// past the 50th member of a rule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failed_deployment_carries_aws_message_at_300_accounts() {
    let (env, _) = start(300).await;
    let expected: std::collections::BTreeMap<(String, String), (String, String, String)> =
        env.sim.world(|w| {
            let mut out = std::collections::BTreeMap::new();
            for rule in aws_sim::config_org::rules(w) {
                for m in aws_sim::config_org::member_statuses(w, rule) {
                    if m.status.ends_with("FAILED") {
                        out.insert(
                            (rule.name.clone(), m.account_id.clone()),
                            (
                                m.status.clone(),
                                m.error_code.clone().unwrap_or_default(),
                                m.error_message.clone().unwrap_or_default(),
                            ),
                        );
                    }
                }
            }
            out
        });
    let first = json(&env, "/status.json?section=failed_deployments").await;
    let pages = section(&first, "failed_deployments")["pages"]
        .as_u64()
        .unwrap();
    let mut items = Vec::new();
    for page in 1..=pages {
        let doc = json(
            &env,
            &format!("/status.json?section=failed_deployments&page={page}"),
        )
        .await;
        items.extend(
            section(&doc, "failed_deployments")["items"]
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    assert_eq!(items.len(), expected.len(), "every failed member, once");
    let mut per_rule: std::collections::BTreeMap<String, usize> = Default::default();
    for i in &items {
        let subject = i["what"].as_str().unwrap();
        let rule = subject
            .strip_prefix("rule ")
            .and_then(|s| s.rsplit_once(": "))
            .map(|(r, _)| r.to_string())
            .unwrap_or_else(|| panic!("{subject}"));
        let account = i["account_id"].as_str().unwrap().to_string();
        let (status, code, message) = &expected[&(rule.clone(), account)];
        assert_eq!(subject, format!("rule {rule}: {status}"));
        assert_eq!(i["code"], code.as_str());
        assert_eq!(i["message"], message.as_str(), "{i}");
        *per_rule.entry(rule).or_default() += 1;
    }
    assert!(
        per_rule.values().any(|n| *n > 50),
        "a rule failed in more than 50 members: {per_rule:?}"
    );
    assert!(
        items
            .iter()
            .all(|i| !i["message"].as_str().unwrap().is_empty()),
        "AWS gave a message for every failed member here, and each is shown"
    );
}
