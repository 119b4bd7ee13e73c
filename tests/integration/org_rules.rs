//! `config_org_rules` end to end against the simulator: every family against what the simulator
//! holds, pagination over 2,500 members, a rule deleted mid-cycle and between cycles, access
//! from a non-management account, refused pagination tokens, unknown statuses, the simulator's
//! own validation, and the API budget.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_sim::config_org::{self as co, MemberStatus};
use aws_sim::{Sim, World, WorldOptions};
use posture_exporter::aws::{AwsFactory, CallCounter};
use posture_exporter::collect::{Collector as _, JobContext};
use posture_exporter::collectors::config_org_rules::{
    self, config::MEMBER_STATUSES, ConfigOrgRules,
};
use posture_exporter::collectors::CollectorKind;
use posture_exporter::config::Config;

use crate::common::{creds, only, Env, Scrape};

/// A config with only the management target, so that big organizations cost no targets.
pub(crate) fn mgmt_yaml(sim: &Sim, collectors: &str) -> String {
    format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\n  attempt_timeout: 5s\n  operation_timeout: 20s\n  rate_limits:\n    config:\n      rate: 0\n      burst: 1\ntargets:\n  - name: management\n    regions: [us-east-1]\ncollectors:\n{collectors}",
        sim.url()
    )
}

async fn env(world: WorldOptions) -> Env {
    let sim = Sim::start(world).await.unwrap();
    let yaml = mgmt_yaml(&sim, &only(&["config_org_rules"], "1h"));
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    // Cycles are driven by the tests, so the first one is a job's first run (a full scan).
    Env::start_on_demand(sim, cfg).await
}

/// Only `config_org_rules`, called from the target named `target`.
pub(crate) fn only_org_rules_from(target: &str) -> String {
    only(&["config_org_rules"], "1h").replace(
        "  config_org_rules:\n    enabled: true\n    interval: 1h\n",
        &format!(
            "  config_org_rules:\n    enabled: true\n    interval: 1h\n    target: {target}\n"
        ),
    )
}

/// What the simulator holds for every rule: (org status, counts, failed members).
pub(crate) type Truth = BTreeMap<
    String,
    (
        String,
        BTreeMap<String, u64>,
        Vec<MemberStatus>,
        usize,
        String,
    ),
>;

pub(crate) fn truth(w: &World) -> Truth {
    co::rules(w)
        .into_iter()
        .map(|r| {
            let members = co::member_statuses(w, r);
            let mut counts = BTreeMap::new();
            for m in &members {
                *counts.entry(m.status.clone()).or_insert(0) += 1;
            }
            let failed = members
                .into_iter()
                .filter(|m| m.status.ends_with("_FAILED"))
                .collect();
            (
                r.name.clone(),
                (
                    co::rule_status(w, r).status,
                    counts,
                    failed,
                    co::excluded_accounts(w, r).len(),
                    co::deployer(w, r),
                ),
            )
        })
        .collect()
}

/// Asserts that the scrape shows exactly what the simulator holds.
pub(crate) fn assert_shows(s: &Scrape, t: &Truth) {
    let rules_seen = s.matching("aws_config_org_rule_status", &[]).len();
    assert_eq!(
        rules_seen,
        t.len(),
        "one series per rule, its current status"
    );
    let mut failed_total = 0;
    for (rule, (status, counts, failed, excluded, dep)) in t {
        let dep = dep.as_str();
        assert_eq!(
            s.get(
                "aws_config_org_rule_status",
                &[("rule", rule), ("deployed_by", dep), ("status", status)]
            ),
            Some(1.0),
            "{rule} {status}"
        );
        assert_eq!(
            s.matching(
                "aws_config_org_rule_status",
                &[("rule", rule), ("deployed_by", dep)]
            )
            .iter()
            .map(|(_, v)| v)
            .sum::<f64>(),
            1.0
        );
        for st in MEMBER_STATUSES {
            assert_eq!(
                s.get(
                    "aws_config_org_rule_member_accounts",
                    &[("rule", rule), ("deployed_by", dep), ("status", st)]
                ),
                Some(counts.get(*st).copied().unwrap_or(0) as f64),
                "{rule} {st}"
            );
        }
        assert_eq!(
            s.get(
                "aws_config_org_rule_excluded_accounts",
                &[("rule", rule), ("deployed_by", dep)]
            ),
            Some(*excluded as f64)
        );
        let listed = s.matching(
            "aws_config_org_rule_member_status",
            &[("rule", rule), ("deployed_by", dep)],
        );
        assert_eq!(listed.len(), failed.len(), "{rule}");
        for m in failed {
            let code = m.error_code.as_deref().unwrap_or("");
            assert_eq!(
                s.get(
                    "aws_config_org_rule_member_status",
                    &[
                        ("rule", rule),
                        ("deployed_by", dep),
                        ("account_id", &m.account_id),
                        ("status", &m.status),
                        ("error_code", code)
                    ]
                ),
                Some(1.0),
                "{rule} {}",
                m.account_id
            );
            let t = s
                .get(
                    "aws_config_org_rule_member_last_update_timestamp_seconds",
                    &[
                        ("rule", rule),
                        ("deployed_by", dep),
                        ("account_id", &m.account_id),
                    ],
                )
                .unwrap();
            assert!((t - m.last_update).abs() < 1e-3, "{t} vs {}", m.last_update);
        }
        failed_total += failed.len();
    }
    assert!(!s.text.contains("error_message"));
    let _ = failed_total;
}

#[tokio::test]
async fn scrape_shows_every_rule_its_counts_and_its_failed_members() {
    let env = env(WorldOptions::default()).await;
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let t = env.sim.world(|w| truth(w));
    assert_eq!(t.len(), 12);
    assert_shows(&s, &t);
    // The demo organization shows every organization status and failed members by account.
    for st in MEMBER_STATUSES {
        assert!(
            !s.matching("aws_config_org_rule_status", &[("status", st)])
                .iter()
                .all(|(_, v)| *v == 0.0),
            "no rule in {st}"
        );
    }
    let failed = s.matching("aws_config_org_rule_member_status", &[]);
    assert!(failed.len() >= 3, "{failed:?}");
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert_eq!(s.up("config_org_rules", &mgmt, "us-east-1"), Some(1.0));
    // The error messages are on the status page, not in labels.
    let status = env.app.store.status();
    let row = status
        .iter()
        .find(|r| r.key.collector == CollectorKind::ConfigOrgRules)
        .unwrap();
    assert!(
        row.notes.iter().any(|n| n.contains("_FAILED")
            && (n.contains("Failed to put the rule") || n.contains("cannot be assumed"))),
        "{:?}",
        row.notes
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_over_2500_members() {
    let env = env(WorldOptions {
        members: 2_499,
        regions: vec!["us-east-1".into()],
        config_org: co::Options {
            rules: 3,
            org_statuses: vec![
                "CREATE_FAILED".into(),
                "UPDATE_IN_PROGRESS".into(),
                "CREATE_SUCCESSFUL".into(),
            ],
            failure_ratio: 0.3,
            exclude_every: 3,
            ..co::Options::default()
        },
        ..WorldOptions::default()
    })
    .await;
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let t = env.sim.world(|w| truth(w));
    let (_, counts, failed, excluded, _) = &t["org-s3-bucket-versioning-enabled"];
    assert!(failed.len() > 600, "{}", failed.len());
    assert_eq!(counts.values().sum::<u64>(), 2_500);
    assert_eq!(*excluded, 0);
    let (_, counts, _, excluded, _) = &t["org-iam-password-policy"];
    assert_eq!((counts.values().sum::<u64>(), *excluded), (2_499, 1));
    assert_shows(&s, &t);
    // A fresh job scans each rule once: 25 pages of 100 members each, nothing more.
    assert_eq!(
        env.sim.calls("GetOrganizationConfigRuleDetailedStatus"),
        3 * 25
    );
    assert_eq!(env.sim.calls("DescribeOrganizationConfigRuleStatuses"), 1);
    assert_eq!(env.sim.calls("DescribeOrganizationConfigRules"), 1);
    env.stop().await;
}

#[tokio::test]
async fn a_rule_deleted_mid_cycle_is_dropped_and_one_deleted_between_cycles_vanishes() {
    let env = env(WorldOptions::default()).await;
    let gone = "org-s3-bucket-versioning-enabled";
    let ghost = "org-encrypted-volumes";
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert!(s
        .get(
            "aws_config_org_rule_member_accounts",
            &[
                ("rule", gone),
                ("deployed_by", &mgmt),
                ("status", "CREATE_FAILED")
            ]
        )
        .is_some());
    // Between two runs `gone` is deleted; `ghost` changes (so the next run scans it again) and
    // is deleted after that run's listing, before its scan.
    env.sim.world(|w| {
        w.config_org.delete_rule(gone);
        w.config_org.set_rule_status(ghost, "UPDATE_IN_PROGRESS");
        w.config_org.delete_rule_after_listing(ghost);
    });
    assert_eq!(env.cycle().await, 0, "a vanished rule is not a failed run");
    let s = env.scrape().await;
    for rule in [gone, ghost] {
        assert!(
            s.matching("aws_config_org_rule_status", &[("rule", rule)])
                .is_empty(),
            "{rule}"
        );
        assert!(s
            .matching("aws_config_org_rule_member_accounts", &[("rule", rule)])
            .is_empty());
        assert!(s
            .matching("aws_config_org_rule_member_status", &[("rule", rule)])
            .is_empty());
    }
    let t = env.sim.world(|w| {
        let mut t = truth(w);
        t.remove(ghost);
        t
    });
    assert_eq!(t.len(), 10);
    assert_shows(&s, &t);
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.collector == CollectorKind::ConfigOrgRules)
        .unwrap();
    assert!(row.last_error().is_none());
    assert!(
        row.notes
            .iter()
            .any(|n| n == &format!("rule {ghost} was deleted during the run; dropped")),
        "{:?}",
        row.notes
    );
    env.stop().await;
}

#[tokio::test]
async fn a_member_account_is_refused_and_told_which_account_to_use() {
    let sim = Sim::start(WorldOptions::default()).await.unwrap();
    let member = sim.world(|w| w.accounts[2].id.clone());
    let yaml = crate::common::yaml_for(&sim, &only_org_rules_from("member-00002"), "");
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_config(sim, cfg).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    assert_eq!(s.up("config_org_rules", &member, "us-east-1"), Some(0.0));
    assert!(s.matching("aws_config_org_rule_status", &[]).is_empty());
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.collector == CollectorKind::ConfigOrgRules)
        .unwrap();
    let e = row.last_error().expect("the run failed");
    assert_eq!(e.kind.as_str(), "access_denied");
    assert!(
        e.message.contains(&format!(
            "account {member} is neither the management account"
        )),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("delegated administrator"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("OrganizationAccessDeniedException"),
        "{}",
        e.message
    );
    env.stop().await;
}

#[tokio::test]
async fn the_delegated_administrator_reads_the_rules_it_deployed() {
    let sim = Sim::start(WorldOptions {
        config_org: co::Options {
            delegated_admin: Some(3),
            ..co::Options::default()
        },
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let admin = sim.world(|w| w.accounts[3].id.clone());
    let yaml = crate::common::yaml_for(&sim, &only_org_rules_from("member-00003"), "");
    let cfg = Config::from_yaml_str(&yaml).unwrap();
    let env = Env::start_config(sim, cfg).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    assert_eq!(s.up("config_org_rules", &admin, "us-east-1"), Some(1.0));
    let t = env.sim.world(|w| truth(w));
    assert_shows(&s, &t);
    env.stop().await;
}

/// AWS shows an organization rule or pack only to the account that deployed it: with rules
/// deployed from the management account and from a delegated administrator, one target sees
/// only its own, and `targets` lists both to read every one, each series naming its deployer.
#[tokio::test]
async fn rules_and_packs_deployed_from_both_accounts_are_read_from_both_and_say_which() {
    let world = WorldOptions {
        config_org: co::Options {
            delegated_admin: Some(3),
            management_deployed: 2,
            ..co::Options::default()
        },
        ..WorldOptions::default()
    };
    let sections = |placement: &str| {
        only(&["config_org_rules", "config_org_conformance_packs"], "1h")
            .replace(
                "  config_org_rules:\n    enabled: true\n    interval: 1h\n",
                &format!("  config_org_rules:\n    enabled: true\n    interval: 1h\n    {placement}\n"),
            )
            .replace(
                "  config_org_conformance_packs:\n    enabled: true\n    interval: 1h\n",
                &format!("  config_org_conformance_packs:\n    enabled: true\n    interval: 1h\n    {placement}\n"),
            )
    };

    // One target: the management account's own rules only, as AWS documents.
    let sim = Sim::start(world.clone()).await.unwrap();
    let (mgmt, admin) = sim.world(|w| (w.management().id.clone(), w.accounts[3].id.clone()));
    let (t, packs) = sim.world(|w| {
        let packs: Vec<(String, String)> = co::packs(w)
            .into_iter()
            .map(|p| (p.name.clone(), co::deployer(w, p)))
            .collect();
        (truth(w), packs)
    });
    let from = |who: &str| t.values().filter(|v| v.4 == who).count();
    assert!(from(&mgmt) == 2 && from(&admin) >= 2, "{t:?}");
    let yaml = crate::common::yaml_for(&sim, &sections("target: management"), "");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    let seen = |s: &Scrape, who: &str| {
        s.matching("aws_config_org_rule_status", &[("deployed_by", who)])
            .len()
    };
    assert_eq!(seen(&s, &mgmt), 2);
    assert_eq!(
        seen(&s, &admin),
        0,
        "the delegated administrator's rules are invisible"
    );
    env.stop().await;

    // Both: every rule and pack once, under its deployer, and both jobs up.
    let sim = Sim::start(world).await.unwrap();
    let yaml = crate::common::yaml_for(&sim, &sections("targets: [management, member-00003]"), "");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    for who in [&mgmt, &admin] {
        assert_eq!(
            s.up("config_org_rules", who, "us-east-1"),
            Some(1.0),
            "{who}"
        );
        assert_eq!(
            s.up("config_org_conformance_packs", who, "us-east-1"),
            Some(1.0),
            "{who}"
        );
    }
    assert_shows(&s, &t);
    let shown: Vec<(String, String)> = s
        .matching("aws_config_org_conformance_pack_status", &[])
        .into_iter()
        .map(|(k, _)| {
            let label = |name: &str| {
                k.split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or_default()
                    .to_string()
            };
            (label("pack"), label("deployed_by"))
        })
        .collect();
    let mut want = packs;
    want.sort();
    let mut shown = shown;
    shown.sort();
    assert_eq!(shown, want);
    assert!(want.iter().any(|p| p.1 == mgmt) && want.iter().any(|p| p.1 == admin));
    env.stop().await;
}

#[tokio::test]
async fn a_refused_token_restarts_the_rule_once_and_only_once() {
    let env = env(WorldOptions {
        members: 249,
        config_org: co::Options {
            rules: 2,
            ..co::Options::default()
        },
        ..WorldOptions::default()
    })
    .await;
    let t = env.sim.world(|w| truth(w));
    env.sim.world(|w| w.config_org.expire_next_tokens(1));
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    assert_shows(&env.scrape().await, &t);
    // Two rules of 3 pages, and the refused page plus the restarted one.
    assert_eq!(
        env.sim.calls("GetOrganizationConfigRuleDetailedStatus"),
        2 * 3 + 2
    );

    // Refused again after the restart: the run fails, nothing loops.
    env.sim.world(|w| w.config_org.expire_next_tokens(2));
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 1);
    assert_eq!(env.sim.calls("GetOrganizationConfigRuleDetailedStatus"), 4);
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.collector == CollectorKind::ConfigOrgRules)
        .unwrap();
    let e = row.last_error().unwrap();
    assert!(
        e.message.contains("InvalidNextTokenException"),
        "{}",
        e.message
    );
    // The last good values stay.
    assert_shows(&env.scrape().await, &t);
    env.stop().await;
}

#[tokio::test]
async fn statuses_aws_may_add_keep_their_raw_spelling() {
    let env = env(WorldOptions::default()).await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    let (rule, acct) = env.sim.world(|w| {
        let r = co::rules(w)[1].name.clone();
        (r, w.accounts[1].id.clone())
    });
    env.sim.world(|w| {
        w.config_org.set_rule_status(&rule, "CREATE_PAUSED");
        w.config_org.set_member_status(
            &rule,
            &acct,
            Some(MemberStatus {
                account_id: acct.clone(),
                status: "CREATE_PAUSED".into(),
                error_code: None,
                error_message: None,
                last_update: 1_763_000_000.0,
            }),
        );
    });
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    assert_eq!(
        s.get(
            "aws_config_org_rule_status",
            &[
                ("rule", &rule),
                ("deployed_by", &mgmt),
                ("status", "CREATE_PAUSED")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.get(
            "aws_config_org_rule_status",
            &[
                ("rule", &rule),
                ("deployed_by", &mgmt),
                ("status", "CREATE_SUCCESSFUL")
            ]
        ),
        None,
        "only the current status has a series"
    );
    assert_eq!(
        s.get(
            "aws_config_org_rule_member_accounts",
            &[
                ("rule", &rule),
                ("deployed_by", &mgmt),
                ("status", "CREATE_PAUSED")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.get(
            "aws_config_org_rule_member_accounts",
            &[
                ("rule", &rule),
                ("deployed_by", &mgmt),
                ("status", "CREATE_SUCCESSFUL")
            ]
        ),
        Some(5.0)
    );
    env.stop().await;
}

/// Config clients calling the simulator as `account` (the simulator reads the account from
/// the access key). Plain SDK clients: the exporter hands out none of its own, which are
/// reachable only through its call path.
pub async fn config_client(sim: &Sim, account: Option<&str>) -> aws_sdk_config::Client {
    let cfg = Config::from_yaml_str(&mgmt_yaml(sim, "")).unwrap();
    let creds = match account {
        None => creds(),
        Some(a) => Credentials::new(format!("ASIA{a}TEST"), "secret", None, None, "test"),
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        // Probes send what AWS refuses on purpose: the request check leaves them out.
        .app_name(aws_config::AppName::new(aws_sim::record::PROBE).unwrap())
        .region(aws_config::Region::new(cfg.aws.region.clone()))
        .endpoint_url(cfg.aws.endpoint_url.clone().unwrap())
        .credentials_provider(creds)
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(cfg.aws.max_attempts),
        )
        .load()
        .await;
    aws_sdk_config::Client::new(&sdk)
}

fn code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_simulator_validates_like_aws() {
    let sim = Sim::start(WorldOptions {
        members: 150,
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let c = config_client(&sim, None).await;
    let rule = "org-s3-bucket-versioning-enabled";
    // Limit: 0..=100 for every operation (the model's CosmosPageLimit and Limit shapes).
    let e = c
        .describe_organization_config_rules()
        .limit(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidLimitException");
    let e = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .limit(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidLimitException");
    let e = c
        .describe_configuration_aggregator_sources_status()
        .configuration_aggregator_name("organization-aggregator")
        .limit(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidLimitException");
    let ok = c
        .describe_organization_config_rule_statuses()
        .limit(0)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.organization_config_rule_statuses().len(), 12);
    let ok = c
        .describe_organization_config_rules()
        .limit(5)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.organization_config_rules().len(), 5);
    let token = ok.next_token().unwrap().to_string();
    // A token of one listing is refused by another, and a forged one by all.
    let e = c
        .describe_organization_config_rule_statuses()
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidNextTokenException");
    let e = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .next_token("1.0000000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidNextTokenException");
    let page = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .send()
        .await
        .unwrap();
    assert_eq!(page.organization_config_rule_detailed_status().len(), 100);
    let page2 = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page2.organization_config_rule_detailed_status().len(), 51);
    assert!(page2.next_token().is_none());
    let e = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name("org-nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "NoSuchOrganizationConfigRuleException"
    );
    let e = c
        .describe_configuration_aggregator_sources_status()
        .configuration_aggregator_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "NoSuchConfigurationAggregatorException"
    );
    // Filters.
    let failed = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .filters(
            aws_sdk_config::types::StatusDetailFilters::builder()
                .member_account_rule_status(
                    aws_sdk_config::types::MemberAccountRuleStatus::CreateFailed,
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let want = sim.world(|w| {
        let r = co::rule_by_name(w, rule).unwrap();
        co::member_statuses(w, r)
            .into_iter()
            .filter(|m| m.status == "CREATE_FAILED")
            .count()
    });
    assert!(want > 10);
    assert_eq!(
        failed.organization_config_rule_detailed_status().len(),
        want
    );
    assert!(failed
        .organization_config_rule_detailed_status()
        .iter()
        .all(|m| m.error_code().is_some() && m.error_message().is_some()));
    // A member account may not call the organization APIs.
    let member = sim.world(|w| w.accounts[4].id.clone());
    let m = config_client(&sim, Some(&member)).await;
    let e = m
        .describe_organization_config_rule_statuses()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "OrganizationAccessDeniedException"
    );
    sim.stop();
}

/// Runs the collector directly, keeping its state from run to run as the scheduler's job loop
/// does, and returns the calls the simulator counted for the run and its exposition.
async fn run(
    ctx: &JobContext<config_org_rules::Settings>,
    state: &mut config_org_rules::State,
    sim: &Sim,
) -> (u64, String) {
    sim.reset_calls();
    let c = ConfigOrgRules::collect(ctx, state).await.unwrap();
    // The statuses, then what every part read.
    let parts = c
        .parts
        .iter()
        .filter_map(|p| p.result.as_ref().ok().map(|r| &r.families))
        .flatten();
    let text: String = c.families.iter().chain(parts).map(|f| f.text()).collect();
    (sim.total_calls(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_budget() {
    // 1,000 accounts, 50 rules, 1% of the member deployments failed, spread over every rule
    // (the hardest case: no rule is successful, so none can be skipped for its status).
    let sim = Sim::start(WorldOptions {
        members: 999,
        regions: vec!["us-east-1".into()],
        config_org: co::Options {
            rules: 50,
            org_statuses: vec!["CREATE_FAILED".into()],
            failure_ratio: 0.009,
            exclude_every: 0,
            ..co::Options::default()
        },
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let (naive, failed, deployments, mgmt) = sim.world(|w| {
        let rules = co::rules(w);
        let mut pages = 0;
        let mut failed = 0;
        let mut deployments = 0;
        for r in &rules {
            let m = co::member_statuses(w, r);
            pages += m.len().div_ceil(100) as u64;
            deployments += m.len();
            failed += m.iter().filter(|m| m.status.ends_with("_FAILED")).count();
        }
        // Both listings (one page each for 50 rules) and every rule's every page.
        (2 + pages, failed, deployments, w.management().id.clone())
    });
    let ratio = failed as f64 / deployments as f64;
    assert!((0.009..=0.011).contains(&ratio), "{ratio}");
    assert_eq!(naive, 502);

    let cfg = Config::from_yaml_str(&mgmt_yaml(&sim, &only(&["config_org_rules"], "10m"))).unwrap();
    let factory = AwsFactory::new(&cfg.aws, Arc::new(CallCounter::default()), Some(creds())).await;
    let ctx = JobContext {
        aws: Arc::new(factory.ambient().region("us-east-1", &mgmt)),
        settings: cfg.collectors.config_org_rules.clone(),
    };
    let mut state = config_org_rules::State::default();

    let (first, cold) = run(&ctx, &mut state, &sim).await;
    let mut steady = Vec::new();
    for _ in 0..3 {
        let (calls, text) = run(&ctx, &mut state, &sim).await;
        assert_eq!(text, cold, "a steady run shows what the full scan showed");
        steady.push(calls);
    }
    let worst = *steady.iter().max().unwrap();
    eprintln!(
        "API budget, 1,000 accounts x 50 rules, {failed} of {deployments} deployments failed ({:.2}%): \
         naive full scan {naive} calls; first run {first} calls; steady runs {steady:?} calls = {:.1}% of naive",
        ratio * 100.0,
        worst as f64 * 100.0 / naive as f64
    );
    assert_eq!(first, naive, "the first run scans every rule once");
    assert_eq!(
        worst,
        2 + 3,
        "two listings and one check of three filtered calls"
    );
    assert!(worst * 10 <= naive);

    // A member fails in one rule: AWS moves the rule's status time, one rule is scanned again.
    let (rule, acct) = sim.world(|w| (co::rules(w)[7].name.clone(), w.accounts[500].id.clone()));
    let newly = MemberStatus {
        account_id: acct.clone(),
        status: "CREATE_FAILED".into(),
        error_code: Some("InsufficientPermissionsException".into()),
        error_message: Some("new failure".into()),
        last_update: 1_763_000_100.0,
    };
    sim.world(|w| {
        w.config_org
            .set_member_status(&rule, &acct, Some(newly.clone()))
    });
    let (calls, text) = run(&ctx, &mut state, &sim).await;
    eprintln!("a run after one rule changed: {calls} calls");
    assert_eq!(calls, 2 + 10 + 3);
    let line = format!(
        "aws_config_org_rule_member_status{{rule=\"{rule}\",deployed_by=\"{mgmt}\",account_id=\"{acct}\",status=\"CREATE_FAILED\",error_code=\"InsufficientPermissionsException\"}} 1\n"
    );
    assert!(text.contains(&line));

    // A change AWS does not announce is found by the rolling check within one round of the
    // unsuccessful rules, at the same steady cost.
    let (rule, acct) = sim.world(|w| (co::rules(w)[20].name.clone(), w.accounts[600].id.clone()));
    sim.world(|w| {
        w.config_org.set_member_status_quietly(
            &rule,
            &acct,
            Some(MemberStatus {
                account_id: acct.clone(),
                ..newly.clone()
            }),
        )
    });
    let mut found = None;
    for i in 1..=51 {
        let (calls, text) = run(&ctx, &mut state, &sim).await;
        if text.contains(&format!(
            "rule=\"{rule}\",deployed_by=\"{mgmt}\",account_id=\"{acct}\",status=\"CREATE_FAILED\""
        )) {
            found = Some((i, calls));
            break;
        }
        assert_eq!(calls, 5);
    }
    let (runs, calls) = found.expect("the rolling check finds an unannounced change");
    eprintln!("an unannounced change was found after {runs} runs (that run: {calls} calls)");
    assert!(runs <= 50);
    assert_eq!(
        calls,
        2 + 3 + 10,
        "the check saw the difference and scanned the rule"
    );
    sim.stop();
}
