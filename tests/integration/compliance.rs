//! `config_compliance` end to end against the simulator, through both sources: the aggregator
//! and the per-account fan-out export the same families for the same organization, with every
//! count computed here from the simulator's own generation; zero-fill, detail types, capped
//! counts, empty pages followed by a token, compliance types AWS may add, and faults on every
//! new operation taking down that job alone.

use std::collections::BTreeMap;

use aws_sim::config_compliance::{self as cc, RuleResult, CAP};
use aws_sim::{Fault, FaultRule, World, WorldOptions};
use posture_exporter::collectors::CollectorKind;

use crate::common::{only, Env, Scrape};
use crate::faults::{assert_no_duplicates, NO_RATE_LIMITS};

const AGGREGATOR: &str = "organization-aggregator";
const TYPES: &[&str] = &["COMPLIANT", "NON_COMPLIANT", "INSUFFICIENT_DATA"];

/// The families both sources export (the per-rule roll-up is the aggregator's alone).
const SHARED: &[&str] = &[
    "aws_config_rules_by_compliance",
    "aws_config_rule_compliance",
    "aws_config_rule_noncompliant_resources",
    "aws_config_rule_noncompliant_resources_capped",
    "aws_config_conformance_packs_by_compliance",
    "aws_config_conformance_pack_compliance",
    "aws_config_conformance_pack_noncompliant_rules",
];

fn section(aggregator: bool, detail: &str) -> String {
    section_with(aggregator, detail, "")
}

/// The section with more settings (`extra`: YAML lines indented by four spaces).
fn section_with(aggregator: bool, detail: &str, extra: &str) -> String {
    let mut s = only(&["config_compliance"], "1h");
    s.push_str("  config_compliance:\n    interval: 1h\n");
    s.push_str(extra);
    if aggregator {
        s.push_str(&format!("    aggregator: {AGGREGATOR}\n"));
    }
    s.push_str(&format!("    detail_compliance: [{detail}]\n"));
    // `only` wrote a config_compliance section too: the later key would be a duplicate.
    s.replacen(
        "  config_compliance:\n    enabled: true\n    interval: 1h\n",
        "",
        1,
    )
}

async fn env(world: WorldOptions, aggregator: bool, detail: &str) -> Env {
    env_with(world, &section(aggregator, detail)).await
}

async fn env_with(world: WorldOptions, section: &str) -> Env {
    let env = Env::start_with(world, section, NO_RATE_LIMITS).await;
    env.wait_ready().await;
    // Ready: every job ran once on its own; the calls counted are the cycle's.
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0, "every job succeeds");
    env
}

fn world(members: usize) -> WorldOptions {
    WorldOptions {
        members,
        ..WorldOptions::default()
    }
}

/// The series of the shared families.
fn shared(s: &Scrape) -> BTreeMap<String, f64> {
    s.samples
        .iter()
        .filter(|(k, _)| SHARED.contains(&k.split('{').next().unwrap_or("")))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// Checks every shared series against the simulator's generation.
fn assert_truth(s: &Scrape, w: &World, detail: &[&str]) {
    let mut expected_series = 0;
    for a in &w.accounts {
        for (g, region) in w.opts.regions.iter().enumerate() {
            let ar = [("account_id", a.id.as_str()), ("region", region.as_str())];
            let results: Vec<(String, RuleResult)> = (0..w.opts.compliance.rules)
                .map(|i| (cc::rule_name(i), cc::rule_compliance(w, a, g, i)))
                .collect();
            for t in TYPES {
                let n = results.iter().filter(|(_, r)| r.compliance == *t).count();
                let mut l = ar.to_vec();
                l.push(("compliance", t));
                // NON_COMPLIANT always, another type where it counts something.
                let shown = n > 0 || *t == "NON_COMPLIANT";
                assert_eq!(
                    s.get("aws_config_rules_by_compliance", &l),
                    shown.then_some(n as f64),
                    "{l:?}"
                );
                expected_series += usize::from(shown);
            }
            for (rule, r) in &results {
                let mut l = ar.to_vec();
                l.push(("rule", rule));
                let nc = r.compliance == "NON_COMPLIANT";
                assert_eq!(
                    s.get("aws_config_rule_noncompliant_resources", &l),
                    nc.then_some(r.resources.min(CAP) as f64),
                    "{l:?}"
                );
                let capped = nc && r.resources > CAP;
                assert_eq!(
                    s.get("aws_config_rule_noncompliant_resources_capped", &l),
                    capped.then_some(1.0),
                    "{l:?}"
                );
                expected_series += usize::from(nc) + usize::from(capped);
                let mut lc = l.clone();
                lc.push(("compliance", &r.compliance));
                let listed = detail.contains(&r.compliance.as_str());
                assert_eq!(
                    s.get("aws_config_rule_compliance", &lc),
                    listed.then_some(1.0),
                    "{lc:?}"
                );
                expected_series += usize::from(listed);
            }
            let packs: Vec<(String, (String, usize))> = (0..w.opts.compliance.packs)
                .map(|j| (cc::pack_name(j), cc::pack_compliance(w, a, g, j)))
                .collect();
            for t in TYPES {
                let n = packs.iter().filter(|(_, (c, _))| c == t).count();
                let mut l = ar.to_vec();
                l.push(("compliance", t));
                let shown = n > 0 || *t == "NON_COMPLIANT";
                assert_eq!(
                    s.get("aws_config_conformance_packs_by_compliance", &l),
                    shown.then_some(n as f64),
                    "{l:?}"
                );
                expected_series += usize::from(shown);
            }
            for (pack, (t, nc)) in &packs {
                let mut l = ar.to_vec();
                l.push(("pack", pack));
                assert_eq!(
                    s.get("aws_config_conformance_pack_noncompliant_rules", &l),
                    (*nc > 0).then_some(*nc as f64),
                    "{l:?}"
                );
                let listed = detail.contains(&t.as_str());
                l.push(("compliance", t));
                assert_eq!(
                    s.get("aws_config_conformance_pack_compliance", &l),
                    listed.then_some(1.0),
                    "{l:?}"
                );
                expected_series += usize::from(*nc > 0) + usize::from(listed);
            }
        }
    }
    assert_eq!(shared(s).len(), expected_series, "no series beyond these");
}

#[tokio::test]
async fn aggregator_and_fanout_export_the_same_families() {
    let agg = env(world(3), true, "NON_COMPLIANT").await;
    let fan = env(world(3), false, "NON_COMPLIANT").await;
    let (a, f) = (agg.scrape().await, fan.scrape().await);
    assert_no_duplicates(&a);
    assert_no_duplicates(&f);
    let w = agg.sim.world(|w| w.clone());
    assert_truth(&a, &w, &["NON_COMPLIANT"]);
    assert_truth(&f, &w, &["NON_COMPLIANT"]);
    assert_eq!(shared(&a), shared(&f), "the same series from both sources");

    // The pinned triple: rule 0 of the first member in the first region, capped at 100.
    let l = [
        ("account_id", w.accounts[1].id.as_str()),
        ("region", "us-east-1"),
        ("rule", "s3-bucket-versioning-enabled"),
    ];
    assert_eq!(
        a.get("aws_config_rule_noncompliant_resources", &l),
        Some(100.0)
    );
    assert_eq!(
        a.get("aws_config_rule_noncompliant_resources_capped", &l),
        Some(1.0)
    );

    // The roll-up per rule: account-regions per type, from the aggregator only.
    for i in 0..w.opts.compliance.rules {
        let rule = cc::rule_name(i);
        for t in TYPES {
            let n = w
                .accounts
                .iter()
                .flat_map(|acc| (0..2).map(move |g| (acc, g)))
                .filter(|(acc, g)| cc::rule_compliance(&w, acc, *g, i).compliance == *t)
                .count();
            assert_eq!(
                a.get(
                    "aws_config_rule_account_regions",
                    &[("rule", &rule), ("compliance", t)]
                ),
                (n > 0 || *t == "NON_COMPLIANT").then_some(n as f64),
                "{rule} {t}"
            );
        }
    }
    assert!(f
        .matching("aws_config_rule_account_regions", &[])
        .is_empty());

    // The aggregator: one organization job, nothing per account. This cycle is its second run,
    // between two full listings: one page of NON_COMPLIANT rule results, one of each pack type
    // needing attention, nothing looked up (nothing changed).
    let mgmt = w.management().id.clone();
    assert_eq!(a.up("config_compliance", &mgmt, "us-east-1"), Some(1.0));
    assert_eq!(
        a.matching(
            "posture_exporter_collector_up",
            &[("collector", "config_compliance")]
        )
        .len(),
        1
    );
    assert_eq!(agg.sim.calls("DescribeAggregateComplianceByConfigRules"), 1);
    assert_eq!(
        agg.sim
            .calls("DescribeAggregateComplianceByConformancePacks"),
        2
    );
    for op in [
        "DescribeComplianceByConfigRule",
        "DescribeConformancePacks",
        "AssumeRole",
    ] {
        assert_eq!(agg.sim.calls(op), 0, "{op} through the aggregator");
    }
    // The fan-out: one job per account and region (4 x 2), each its own calls.
    assert_eq!(
        f.matching(
            "posture_exporter_collector_up",
            &[("collector", "config_compliance")]
        )
        .len(),
        8
    );
    assert_eq!(fan.sim.calls("DescribeComplianceByConfigRule"), 8);
    assert_eq!(fan.sim.calls("DescribeConformancePacks"), 8);
    assert_eq!(
        fan.sim.calls("GetConformancePackComplianceSummary"),
        8,
        "3 packs, one call"
    );
    let noncompliant_packs: usize = w
        .accounts
        .iter()
        .flat_map(|acc| (0..2).map(move |g| (acc, g)))
        .map(|(acc, g)| {
            (0..w.opts.compliance.packs)
                .filter(|j| cc::pack_compliance(&w, acc, g, *j).0 == "NON_COMPLIANT")
                .count()
        })
        .sum();
    assert!(noncompliant_packs > 0);
    assert_eq!(
        fan.sim.calls("DescribeConformancePackCompliance") as usize,
        noncompliant_packs,
        "only the NON_COMPLIANT packs are asked for their rules"
    );
    assert_eq!(fan.sim.calls("DescribeAggregateComplianceByConfigRules"), 0);

    // Compliance scores: per account and region in the fan-out (one page of up to 20 packs),
    // none from the aggregator; a ratio for each pack below 100, as the simulator scores it.
    assert_eq!(fan.sim.calls("ListConformancePackComplianceScores"), 8);
    assert_eq!(agg.sim.calls("ListConformancePackComplianceScores"), 0);
    let score = "aws_config_conformance_pack_compliance_score_ratio";
    assert!(a.matching(score, &[]).is_empty());
    let mut below = 0;
    for acc in &w.accounts {
        for (g, region) in w.opts.regions.iter().enumerate() {
            for j in 0..w.opts.compliance.packs {
                let pack = cc::pack_name(j);
                let want = cc::pack_score(&w, acc, g, j)
                    .parse::<f64>()
                    .ok()
                    .filter(|v| *v < 100.0)
                    .map(|v| v / 100.0);
                below += usize::from(want.is_some());
                let l = [
                    ("account_id", acc.id.as_str()),
                    ("region", region.as_str()),
                    ("pack", pack.as_str()),
                ];
                let got = f.get(score, &l);
                assert!(
                    got.zip(want).is_some_and(|(x, y)| (x - y).abs() < 1e-9)
                        || (got.is_none() && want.is_none()),
                    "{l:?}: {got:?} != {want:?}"
                );
                // A non-compliant pack scores below 100; a compliant one 100 (or no data).
                let nc = cc::pack_compliance(&w, acc, g, j).0 == "NON_COMPLIANT";
                assert_eq!(want.is_some(), nc, "{l:?}");
            }
        }
    }
    assert!(below > 0, "some pack scores below 100");
    agg.stop().await;
    fan.stop().await;
}

#[tokio::test]
async fn zero_fill_and_the_detail_types() {
    let mut w = world(2);
    w.compliance.noncompliant_ratio = 0.0;
    w.compliance.insufficient_ratio = 0.0;
    let env = env(w, true, "INSUFFICIENT_DATA, COMPLIANT").await;
    let s = env.scrape().await;
    let w = env.sim.world(|w| w.clone());
    assert_truth(&s, &w, &["INSUFFICIENT_DATA", "COMPLIANT"]);
    // Everything compliant but the two pinned triples: NON_COMPLIANT is a zero, not a gap; the
    // other types that count nothing have no series.
    let m = w.accounts[2].id.as_str();
    for (t, n) in [
        ("COMPLIANT", Some(6.0)),
        ("NON_COMPLIANT", Some(0.0)),
        ("INSUFFICIENT_DATA", None),
    ] {
        assert_eq!(
            s.get(
                "aws_config_rules_by_compliance",
                &[
                    ("account_id", m),
                    ("region", "eu-west-1"),
                    ("compliance", t)
                ]
            ),
            n,
            "{t}"
        );
    }
    // The pinned NON_COMPLIANT triple is not a detail type here: no per-rule series, but its
    // resource count all the same.
    assert!(s
        .matching(
            "aws_config_rule_compliance",
            &[("compliance", "NON_COMPLIANT")]
        )
        .is_empty());
    assert_eq!(
        s.matching("aws_config_rule_noncompliant_resources", &[])
            .len(),
        1
    );
    env.stop().await;
}

#[tokio::test]
async fn empty_pages_with_a_token_are_not_the_end() {
    // 101 accounts x 2 regions x 6 rules = 1,212 results: two pages of 1,000, each after an
    // empty page that carries a token.
    let mut w = world(100);
    w.compliance.empty_pages = true;
    // Every run a full listing, so the cycle counted is one.
    let env = env_with(
        w,
        &section_with(true, "NON_COMPLIANT", "    full_read_interval: 0s\n"),
    )
    .await;
    let s = env.scrape().await;
    let w = env.sim.world(|w| w.clone());
    assert_truth(&s, &w, &["NON_COMPLIANT"]);
    assert_eq!(env.sim.calls("DescribeAggregateComplianceByConfigRules"), 4);
    // 101 x 2 x 3 = 606 pack results: seven pages of 100, each after an empty one.
    assert_eq!(
        env.sim
            .calls("DescribeAggregateComplianceByConformancePacks"),
        14
    );
    env.stop().await;
}

fn set(env: &Env, account: &str, region: &str, rule: &str, t: &str, resources: i64) {
    env.sim.world(|w| {
        w.compliance.set_rule(
            account,
            region,
            rule,
            RuleResult {
                compliance: t.into(),
                resources,
            },
        )
    });
}

fn notes(env: &Env) -> Vec<String> {
    env.app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.collector == CollectorKind::ConfigCompliance)
        .map(|r| r.notes)
        .unwrap_or_default()
}

/// Between two full listings a run reads the NON_COMPLIANT results and looks up the ones that
/// left: what it exports is what a full listing would, but for what AWS cannot filter on
/// (a move between COMPLIANT and INSUFFICIENT_DATA), which waits for the next full listing.
#[tokio::test]
async fn between_full_listings_only_what_needs_attention_is_read() {
    let env = env(world(3), true, "NON_COMPLIANT").await;
    let w = env.sim.world(|w| w.clone());
    let find = |t: &str, not: &[(String, String, String)]| {
        w.accounts
            .iter()
            .flat_map(|a| (0..2).map(move |g| (a, g)))
            .flat_map(|(a, g)| (0..w.opts.compliance.rules).map(move |i| (a, g, i)))
            .filter(|(a, g, i)| cc::rule_compliance(&w, a, *g, *i).compliance == t)
            .map(|(a, g, i)| (a.id.clone(), w.opts.regions[g].clone(), cc::rule_name(i)))
            .find(|k| !not.contains(k))
            .unwrap()
    };
    let fixed = find("NON_COMPLIANT", &[]);
    let to_insufficient = find("NON_COMPLIANT", std::slice::from_ref(&fixed));
    let broken = find("COMPLIANT", &[]);
    set(&env, &fixed.0, &fixed.1, &fixed.2, "COMPLIANT", 0);
    set(
        &env,
        &to_insufficient.0,
        &to_insufficient.1,
        &to_insufficient.2,
        "INSUFFICIENT_DATA",
        0,
    );
    set(&env, &broken.0, &broken.1, &broken.2, "NON_COMPLIANT", 250);
    // A pack that needed attention and no longer does.
    let (pa, pg, pj) = w
        .accounts
        .iter()
        .flat_map(|a| (0..2).map(move |g| (a, g)))
        .flat_map(|(a, g)| (0..w.opts.compliance.packs).map(move |j| (a, g, j)))
        .find(|(a, g, j)| cc::pack_compliance(&w, a, *g, *j).0 == "NON_COMPLIANT")
        .unwrap();
    env.sim.world(|w| {
        w.compliance.set_pack(
            &pa.id,
            &w.opts.regions[pg].clone(),
            &cc::pack_name(pj),
            "COMPLIANT",
        )
    });
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let now = env.sim.world(|w| w.clone());
    assert_truth(&s, &now, &["NON_COMPLIANT"]);
    // One page of NON_COMPLIANT rules and two rules looked up; two pack listings and one
    // pack looked up.
    assert_eq!(env.sim.calls("DescribeAggregateComplianceByConfigRules"), 3);
    assert_eq!(
        env.sim
            .calls("DescribeAggregateComplianceByConformancePacks"),
        3
    );
    let n = notes(&env);
    assert!(
        n.iter().any(|l| l.contains("brought up to date")
            && l.contains("3 results that left them looked up")
            && l.contains("next full listing in")),
        "{n:?}"
    );
    let read = s.matching("aws_config_compliance_full_read_timestamp_seconds", &[]);
    assert_eq!(read.len(), 1, "{read:?}");

    // COMPLIANT -> INSUFFICIENT_DATA never passes through what is read between full listings:
    // it shows only at the next full listing (the documented lag).
    let quiet = find("COMPLIANT", std::slice::from_ref(&broken));
    set(&env, &quiet.0, &quiet.1, &quiet.2, "INSUFFICIENT_DATA", 0);
    assert_eq!(env.cycle().await, 0);
    let lagging = env.scrape().await;
    let count = |s: &crate::common::Scrape, t: &str| {
        s.get(
            "aws_config_rules_by_compliance",
            &[
                ("account_id", &quiet.0),
                ("region", &quiet.1),
                ("compliance", t),
            ],
        )
    };
    assert_eq!(
        count(&lagging, "INSUFFICIENT_DATA"),
        count(&s, "INSUFFICIENT_DATA")
    );

    // A result the view never saw (a new rule in every account) makes the run a full listing.
    env.sim.world(|w| w.opts.compliance.rules += 1);
    assert!(
        env.sim.world(|w| {
            let i = w.opts.compliance.rules - 1;
            w.accounts.iter().any(|a| {
                (0..2).any(|g| cc::rule_compliance(w, a, g, i).compliance == "NON_COMPLIANT")
            })
        }),
        "the new rule is NON_COMPLIANT somewhere"
    );
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let now = env.sim.world(|w| w.clone());
    // Exact again, the lagging move included.
    assert_truth(&s, &now, &["NON_COMPLIANT"]);
    // The NON_COMPLIANT page, then the whole listing.
    assert_eq!(env.sim.calls("DescribeAggregateComplianceByConfigRules"), 2);
    let n = notes(&env);
    assert!(
        n.iter().any(|l| l
            .contains("full listing (a rule or pack result the last full listing did not have)")),
        "{n:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_compliance_type_aws_adds_later_keeps_its_spelling() {
    for aggregator in [true, false] {
        let sim_world = world(1);
        let e = Env::start_with(
            sim_world,
            &section(aggregator, "NON_COMPLIANT, NOT_APPLICABLE"),
            NO_RATE_LIMITS,
        )
        .await;
        let (acct, region) = e.sim.world(|w| {
            let id = w.accounts[1].id.clone();
            w.compliance.set_rule(
                &id,
                "eu-west-1",
                "encrypted-volumes",
                RuleResult {
                    compliance: "PARTIALLY_COMPLIANT".into(),
                    resources: 0,
                },
            );
            w.compliance.set_rule(
                &id,
                "eu-west-1",
                "cloudtrail-enabled",
                RuleResult {
                    compliance: "NOT_APPLICABLE".into(),
                    resources: 0,
                },
            );
            (id, "eu-west-1")
        });
        e.wait_ready().await;
        assert_eq!(e.cycle().await, 0, "aggregator {aggregator}");
        let s = e.scrape().await;
        let l = |t: &'static str| {
            [
                ("account_id", acct.clone()),
                ("region", region.to_string()),
                ("compliance", t.to_string()),
            ]
        };
        let get = |t: &'static str| {
            let l = l(t);
            let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
            s.get("aws_config_rules_by_compliance", &l)
        };
        assert_eq!(
            get("PARTIALLY_COMPLIANT"),
            Some(1.0),
            "aggregator {aggregator}"
        );
        assert_eq!(get("NOT_APPLICABLE"), Some(1.0));
        let total: f64 = [
            "COMPLIANT",
            "NON_COMPLIANT",
            "INSUFFICIENT_DATA",
            "PARTIALLY_COMPLIANT",
            "NOT_APPLICABLE",
        ]
        .into_iter()
        .map(|t| get(t).unwrap())
        .sum();
        assert_eq!(total, 6.0, "every rule counted once");
        assert_eq!(
            s.get(
                "aws_config_rule_compliance",
                &[
                    ("account_id", &acct),
                    ("region", region),
                    ("rule", "cloudtrail-enabled"),
                    ("compliance", "NOT_APPLICABLE")
                ]
            ),
            Some(1.0)
        );
        if aggregator {
            assert_eq!(
                s.get(
                    "aws_config_rule_account_regions",
                    &[
                        ("rule", "encrypted-volumes"),
                        ("compliance", "PARTIALLY_COMPLIANT")
                    ]
                ),
                Some(1.0)
            );
        }
        e.stop().await;
    }
}

#[tokio::test]
async fn an_unknown_aggregator_fails_the_job_with_aws_error() {
    let sim = aws_sim::Sim::start(world(1)).await.unwrap();
    let yaml = crate::common::yaml_for(
        &sim,
        &section(true, "NON_COMPLIANT").replace(AGGREGATOR, "no-such-aggregator"),
        NO_RATE_LIMITS,
    );
    let cfg = posture_exporter::config::Config::from_yaml_str(&yaml).unwrap();
    let env = Env::start_on_demand(sim, cfg).await;
    assert_eq!(env.cycle().await, 1);
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.collector == CollectorKind::ConfigCompliance)
        .unwrap();
    let e = row.last_error().unwrap();
    assert!(
        e.message.contains("NoSuchConfigurationAggregatorException")
            && e.message
                .contains("DescribeAggregateComplianceByConfigRules"),
        "{}",
        e.message
    );
    assert_eq!(e.kind.as_str(), "not_found");
    env.stop().await;
}

/// Every new operation, each fault: the job that made the call fails alone, with the kind
/// named, and keeps its values; the next good run brings it back.
#[tokio::test]
async fn faults_on_every_new_operation_take_down_that_job_alone() {
    let faults = [
        (Fault::Throttle, "throttled"),
        (Fault::Http500, "service_error"),
        (Fault::Malformed, "malformed_response"),
        (Fault::AccessDenied, "access_denied"),
    ];
    let cases: &[(bool, &str)] = &[
        (true, "DescribeAggregateComplianceByConfigRules"),
        (true, "DescribeAggregateComplianceByConformancePacks"),
        (false, "DescribeComplianceByConfigRule"),
        (false, "DescribeConformancePacks"),
        (false, "GetConformancePackComplianceSummary"),
        (false, "DescribeConformancePackCompliance"),
        (false, "ListConformancePackComplianceScores"),
    ];
    for aggregator in [true, false] {
        let env = env(world(2), aggregator, "NON_COMPLIANT").await;
        let baseline = shared(&env.scrape().await);
        let (mgmt, member) = env
            .sim
            .world(|w| (w.management().id.clone(), w.accounts[1].id.clone()));
        // The aimed job: the organization job, or the first member in us-east-1 (whose pinned
        // rule and packs make every operation be called).
        let account = if aggregator { mgmt } else { member };
        for (_, op) in cases.iter().filter(|(a, _)| *a == aggregator) {
            let mut all = faults.to_vec();
            if *op == "GetConformancePackComplianceSummary" {
                all.push((
                    Fault::MissingField("ConformancePackComplianceStatus".into()),
                    "malformed_response",
                ));
            }
            for (fault, kind) in all {
                env.sim.add_fault(
                    FaultRule::always(fault.clone())
                        .operation(op)
                        .account(&account)
                        .region("us-east-1"),
                );
                assert_eq!(env.cycle().await, 1, "{op} {fault:?}: one job fails");
                let rows = env.app.store.status();
                let failed: Vec<_> = rows.iter().filter(|r| r.last_error().is_some()).collect();
                assert_eq!(failed.len(), 1, "{op} {fault:?}");
                let row = failed[0];
                assert_eq!(row.key.collector, CollectorKind::ConfigCompliance);
                assert_eq!(row.key.account_id, account);
                assert_eq!(row.key.region, "us-east-1");
                let e = row.last_error().unwrap();
                assert_eq!(e.kind.as_str(), kind, "{op} {fault:?}: {}", e.message);
                assert!(e.message.contains(op), "{op}: {}", e.message);
                let s = env.scrape().await;
                assert_eq!(shared(&s), baseline, "{op} {fault:?}: last values kept");
                assert_eq!(s.up("config_compliance", &account, "us-east-1"), Some(0.0));
                env.sim.clear_faults();
                assert_eq!(env.cycle().await, 0, "{op} {fault:?}: recovers");
            }
        }
        let s = env.scrape().await;
        assert_eq!(shared(&s), baseline);
        env.stop().await;
    }
}
