//! `config_aggregators` end to end against the simulator: sources in every state with their
//! error codes, pagination over 2,500 member accounts, aggregators deleted mid-cycle and between
//! cycles, statuses AWS may add.

use aws_sim::config_org::{self as co, SourceStatus};
use aws_sim::{Sim, World, WorldOptions};
use posture_exporter::collectors::CollectorKind;
use posture_exporter::config::Config;

use crate::common::{Env, Scrape};

const STATES: &[&str] = &["FAILED", "SUCCEEDED", "OUTDATED"];

async fn env(world: WorldOptions, regions: &str) -> Env {
    let sim = Sim::start(world).await.unwrap();
    let mut collectors = String::new();
    for c in [
        "config_recorder",
        "config_org_rules",
        "guardduty",
        "iam_access_report",
    ] {
        collectors.push_str(&format!("  {c}:\n    enabled: false\n"));
    }
    let yaml = format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\n  attempt_timeout: 5s\n  operation_timeout: 20s\n  rate_limits:\n    config:\n      rate: 0\n      burst: 1\ntargets:\n  - name: management\n    regions: [us-east-1, eu-west-1]\ncollectors:\n{collectors}  config_aggregators:\n    interval: 1h\n    regions: [{regions}]\n",
        sim.url(),
    );
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_config(sim, cfg).await;
    env.wait_ready_for(std::time::Duration::from_secs(120))
        .await;
    env
}

/// Every aggregator of the management account in `region` with its sources.
fn truth(w: &World, region: &str) -> Vec<(String, Vec<SourceStatus>)> {
    co::aggregators(w, &w.management().id, region)
        .into_iter()
        .map(|a| (a.name.clone(), co::source_statuses(w, &a)))
        .collect()
}

fn assert_shows(s: &Scrape, region: &str, t: &[(String, Vec<SourceStatus>)]) {
    assert_eq!(
        s.get("aws_config_aggregators", &[("region", region)]),
        Some(t.len() as f64)
    );
    let mut listed = 0;
    for (agg, list) in t {
        // Every source counted by its status; only those that did not succeed listed.
        let mut by_status: std::collections::BTreeMap<&str, f64> = Default::default();
        for src in list {
            *by_status.entry(src.status.as_str()).or_default() += 1.0;
        }
        for st in STATES {
            assert_eq!(
                s.get(
                    "aws_config_aggregator_sources",
                    &[
                        ("region", region),
                        ("aggregator", agg.as_str()),
                        ("status", st)
                    ]
                ),
                by_status.get(st).copied(),
                "{agg} {st}"
            );
        }
        for src in list {
            let l = [
                ("region", region),
                ("aggregator", agg.as_str()),
                ("source_id", src.source_id.as_str()),
                ("source_type", src.source_type.as_str()),
                ("source_region", src.region.as_str()),
            ];
            let succeeded = src.status == "SUCCEEDED";
            for st in STATES {
                let mut ls = l.to_vec();
                ls.push(("status", st));
                assert_eq!(
                    s.get("aws_config_aggregator_source_status", &ls),
                    (*st == src.status && !succeeded).then_some(1.0),
                    "{ls:?}"
                );
            }
            let t = s.get(
                "aws_config_aggregator_source_last_update_timestamp_seconds",
                &l,
            );
            if succeeded {
                assert_eq!(t, None, "{l:?}");
            } else {
                assert!((t.unwrap() - src.last_update).abs() < 1e-3);
                listed += 1;
            }
            let mut le = l.to_vec();
            let code = src.error_code.clone().unwrap_or_default();
            le.push(("error_code", code.as_str()));
            assert_eq!(
                s.get("aws_config_aggregator_source_last_error_info", &le),
                (src.status == "FAILED").then_some(1.0),
                "{le:?}"
            );
        }
    }
    // One series a source that did not succeed, its current status. `matching` looks for
    // substrings, and `region="x"` is also in `source_region="x"`.
    let prefix = format!("{{region=\"{region}\",");
    assert_eq!(
        s.matching("aws_config_aggregator_source_status", &[])
            .iter()
            .filter(|(k, _)| k.contains(&prefix))
            .count(),
        listed
    );
}

#[tokio::test]
async fn sources_in_every_state_with_the_error_code_of_the_failed_ones() {
    let env = env(WorldOptions::default(), "us-east-1, eu-west-1").await;
    let s = env.scrape().await;
    let t = env.sim.world(|w| truth(w, "us-east-1"));
    assert_eq!(t.len(), 2);
    assert_shows(&s, "us-east-1", &t);
    assert_shows(&s, "eu-west-1", &[]);
    for st in STATES {
        assert!(
            s.matching("aws_config_aggregator_sources", &[("status", st)])
                .iter()
                .any(|(_, v)| *v >= 1.0),
            "no source {st}"
        );
    }
    for ty in ["ACCOUNT", "ORGANIZATION"] {
        assert!(!s
            .matching(
                "aws_config_aggregator_source_status",
                &[("source_type", ty)]
            )
            .is_empty());
    }
    assert!(
        !s.text.contains("has not authorized"),
        "messages stay out of labels"
    );
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert_eq!(s.up("config_aggregators", &mgmt, "us-east-1"), Some(1.0));
    assert_eq!(s.up("config_aggregators", &mgmt, "eu-west-1"), Some(1.0));
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| {
            r.key.collector == CollectorKind::ConfigAggregators && r.key.region == "us-east-1"
        })
        .unwrap();
    assert!(
        row.notes
            .iter()
            .any(|n| n.contains("FAILED") && n.contains("has not authorized")),
        "{:?}",
        row.notes
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_over_2500_members() {
    let env = env(
        WorldOptions {
            members: 2_499,
            ..WorldOptions::default()
        },
        "us-east-1",
    )
    .await;
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let t = env.sim.world(|w| truth(w, "us-east-1"));
    assert_eq!(t[1].1.len(), 5_000, "2,500 accounts in two regions");
    assert_shows(&s, "us-east-1", &t);
    // One page for the organization aggregator, 50 pages of 100 for the account aggregator.
    assert_eq!(
        env.sim
            .calls("DescribeConfigurationAggregatorSourcesStatus"),
        1 + 50
    );
    assert_eq!(env.sim.calls("DescribeConfigurationAggregators"), 1);
    env.stop().await;
}

#[tokio::test]
async fn deleted_aggregators_vanish_and_new_statuses_keep_their_spelling() {
    let env = env(WorldOptions::default(), "us-east-1").await;
    let before = env.sim.world(|w| truth(w, "us-east-1"));
    let org_source = before[0].1[0].clone();
    env.sim.world(|w| {
        w.config_org
            .delete_aggregator_after_listing("accounts-aggregator");
        w.config_org.set_source_status(
            "organization-aggregator",
            SourceStatus {
                status: "PAUSED".into(),
                ..org_source.clone()
            },
        );
    });
    assert_eq!(
        env.cycle().await,
        0,
        "deleted mid-cycle: dropped, not a failure"
    );
    let s = env.scrape().await;
    assert!(s
        .matching(
            "aws_config_aggregator_source_status",
            &[("aggregator", "accounts-aggregator")]
        )
        .is_empty());
    assert_eq!(
        s.get("aws_config_aggregators", &[("region", "us-east-1")]),
        Some(1.0)
    );
    let l = [
        ("region", "us-east-1"),
        ("aggregator", "organization-aggregator"),
        ("source_id", org_source.source_id.as_str()),
        ("source_type", "ORGANIZATION"),
        ("source_region", org_source.region.as_str()),
    ];
    let mut raw = l.to_vec();
    raw.push(("status", "PAUSED"));
    assert_eq!(
        s.get("aws_config_aggregator_source_status", &raw),
        Some(1.0)
    );
    let mut known = l.to_vec();
    known.push(("status", "SUCCEEDED"));
    assert_eq!(
        s.get("aws_config_aggregator_source_status", &known),
        None,
        "only the current status has a series"
    );

    env.sim
        .world(|w| w.config_org.delete_aggregator("organization-aggregator"));
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    assert!(s
        .matching("aws_config_aggregator_source_status", &[])
        .is_empty());
    assert_eq!(
        s.get("aws_config_aggregators", &[("region", "us-east-1")]),
        Some(0.0)
    );
    env.stop().await;
}
