//! `config_org_conformance_packs` end to end against the simulator: every family against what
//! the simulator holds, AWS's error codes and messages of failed member deployments, a pack
//! deleted mid-cycle and between cycles, access from a member account, the simulator's own
//! validation, and the API budget of the incremental scan it shares with organization rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sim::config_org::{self as co, MemberStatus};
use aws_sim::{Sim, World, WorldOptions};
use posture_exporter::aws::{AwsFactory, CallCounter};
use posture_exporter::collect::{Collector as _, JobContext};
use posture_exporter::collectors::config_org_conformance_packs::{
    self as packs, config::MEMBER_STATUSES, ConfigOrgConformancePacks,
};
use posture_exporter::collectors::CollectorKind;
use posture_exporter::config::Config;

use crate::common::{creds, only, Env, Scrape};

const NAME: &str = "config_org_conformance_packs";

/// A config with only the management target, so that big organizations cost no targets.
fn mgmt_yaml(sim: &Sim, collectors: &str) -> String {
    format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\n  attempt_timeout: 5s\n  operation_timeout: 20s\n  rate_limits:\n    config:\n      rate: 0\n      burst: 1\ntargets:\n  - name: management\n    regions: [us-east-1]\ncollectors:\n{collectors}",
        sim.url()
    )
}

async fn env(world: WorldOptions) -> Env {
    let sim = Sim::start(world).await.unwrap();
    let yaml = mgmt_yaml(&sim, &only(&[NAME], "1h"));
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    Env::start_on_demand(sim, cfg).await
}

/// What the simulator holds for every pack: (org status, counts, failed members, excluded).
type Truth = BTreeMap<
    String,
    (
        String,
        BTreeMap<String, u64>,
        Vec<MemberStatus>,
        usize,
        String,
    ),
>;

fn truth(w: &World) -> Truth {
    co::packs(w)
        .into_iter()
        .map(|p| {
            let members = co::member_statuses(w, p);
            let mut counts = BTreeMap::new();
            for m in &members {
                *counts.entry(m.status.clone()).or_insert(0) += 1;
            }
            let failed = members
                .into_iter()
                .filter(|m| m.status.ends_with("_FAILED"))
                .collect();
            (
                p.name.clone(),
                (
                    co::rule_status(w, p).status,
                    counts,
                    failed,
                    co::excluded_accounts(w, p).len(),
                    co::deployer(w, p),
                ),
            )
        })
        .collect()
}

fn assert_shows(s: &Scrape, t: &Truth) {
    let seen = s
        .matching("aws_config_org_conformance_pack_status", &[])
        .len();
    assert_eq!(seen, t.len(), "one series per pack, its current status");
    for (pack, (status, counts, failed, excluded, dep)) in t {
        let dep = dep.as_str();
        assert_eq!(
            s.get(
                "aws_config_org_conformance_pack_status",
                &[("pack", pack), ("deployed_by", dep), ("status", status)]
            ),
            Some(1.0),
            "{pack} {status}"
        );
        for st in MEMBER_STATUSES {
            assert_eq!(
                s.get(
                    "aws_config_org_conformance_pack_member_accounts",
                    &[("pack", pack), ("deployed_by", dep), ("status", st)]
                ),
                Some(counts.get(*st).copied().unwrap_or(0) as f64),
                "{pack} {st}"
            );
        }
        assert_eq!(
            s.get(
                "aws_config_org_conformance_pack_excluded_accounts",
                &[("pack", pack), ("deployed_by", dep)]
            ),
            Some(*excluded as f64)
        );
        let listed = s.matching(
            "aws_config_org_conformance_pack_member_status",
            &[("pack", pack), ("deployed_by", dep)],
        );
        assert_eq!(listed.len(), failed.len(), "{pack}");
        for m in failed {
            assert_eq!(
                s.get(
                    "aws_config_org_conformance_pack_member_status",
                    &[
                        ("pack", pack),
                        ("deployed_by", dep),
                        ("account_id", &m.account_id),
                        ("status", &m.status),
                        ("error_code", m.error_code.as_deref().unwrap_or(""))
                    ]
                ),
                Some(1.0),
                "{pack} {}",
                m.account_id
            );
            let t = s
                .get(
                    "aws_config_org_conformance_pack_member_last_update_timestamp_seconds",
                    &[
                        ("pack", pack),
                        ("deployed_by", dep),
                        ("account_id", &m.account_id),
                    ],
                )
                .unwrap();
            assert!((t - m.last_update).abs() < 1e-3, "{t} vs {}", m.last_update);
        }
    }
}

#[tokio::test]
async fn scrape_shows_every_pack_its_counts_and_its_failed_members_with_aws_messages() {
    let env = env(WorldOptions::default()).await;
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let t = env.sim.world(|w| truth(w));
    assert_eq!(t.len(), 4);
    assert_shows(&s, &t);
    // The default organization has failed packs with failed members, with AWS's codes.
    let failed = s.matching("aws_config_org_conformance_pack_member_status", &[]);
    assert!(failed.len() >= 2, "{failed:?}");
    assert!(
        failed
            .iter()
            .all(|(l, _)| l.contains("error_code=\"") && !l.contains("error_code=\"\"")),
        "{failed:?}"
    );
    assert!(!s.text.contains("error_message"));
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert_eq!(s.up(NAME, &mgmt, "us-east-1"), Some(1.0));
    // Messages are on the status page, in the shape the overview reads back.
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.collector == CollectorKind::ConfigOrgConformancePacks)
        .unwrap();
    let (pack, (_, _, members, _, _)) = t.iter().find(|(_, v)| !v.2.is_empty()).unwrap();
    let m = &members[0];
    let want = format!(
        "conformance pack {pack}: account {} {} {}: {}",
        m.account_id,
        m.status,
        m.error_code.as_deref().unwrap_or(""),
        m.error_message.as_deref().unwrap_or("")
    );
    assert!(row.notes.contains(&want), "{want}\n{:?}", row.notes);
    assert!(
        row.notes
            .iter()
            .any(|n| n.starts_with("4 conformance packs; 4 full member scans")),
        "{:?}",
        row.notes
    );
    assert_eq!(
        row.last_calls, 6,
        "two listings and one full scan of each of the four packs"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_pack_deleted_mid_cycle_is_dropped_and_one_deleted_between_cycles_vanishes() {
    let env = env(WorldOptions::default()).await;
    let (gone, ghost) = env.sim.world(|w| {
        let p = co::packs(w);
        (p[0].name.clone(), p[1].name.clone())
    });
    assert_eq!(env.cycle().await, 0);
    env.sim.world(|w| {
        w.config_org.delete_rule(&gone);
        // A change, so the next run scans it again, and a deletion after its listing.
        let acct = w.accounts[1].id.clone();
        w.config_org.set_member_status(
            &ghost,
            &acct,
            Some(MemberStatus {
                account_id: acct.clone(),
                status: "CREATE_IN_PROGRESS".into(),
                error_code: None,
                error_message: None,
                last_update: 1_763_000_000.0,
            }),
        );
        w.config_org.delete_rule_after_listing(&ghost);
    });
    assert_eq!(env.cycle().await, 0, "a vanished pack is not a failed run");
    let s = env.scrape().await;
    for pack in [&gone, &ghost] {
        assert!(s
            .matching("aws_config_org_conformance_pack_status", &[("pack", pack)])
            .is_empty());
        assert!(s
            .matching(
                "aws_config_org_conformance_pack_member_accounts",
                &[("pack", pack)]
            )
            .is_empty());
    }
    let t = env.sim.world(|w| {
        let mut t = truth(w);
        t.remove(&ghost);
        t
    });
    assert_eq!(t.len(), 2);
    assert_shows(&s, &t);
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.collector == CollectorKind::ConfigOrgConformancePacks)
        .unwrap();
    assert!(row.last_error().is_none());
    assert!(row.notes.contains(&format!(
        "conformance pack {ghost} was deleted during the run; dropped"
    )));
    env.stop().await;
}

#[tokio::test]
async fn a_member_account_is_refused_and_told_which_account_to_use() {
    let sim = Sim::start(WorldOptions::default()).await.unwrap();
    let member = sim.world(|w| w.accounts[2].id.clone());
    let collectors = only(&[NAME], "1h").replace(
        &format!("  {NAME}:\n    enabled: true\n    interval: 1h\n"),
        &format!("  {NAME}:\n    enabled: true\n    interval: 1h\n    target: member-00002\n"),
    );
    let yaml = crate::common::yaml_for(&sim, &collectors, "");
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_config(sim, cfg).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    assert_eq!(s.up(NAME, &member, "us-east-1"), Some(0.0));
    assert!(s
        .matching("aws_config_org_conformance_pack_status", &[])
        .is_empty());
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.collector == CollectorKind::ConfigOrgConformancePacks)
        .unwrap();
    let e = row.last_error().expect("the run failed");
    assert_eq!(e.kind.as_str(), "access_denied");
    for part in [
        format!("account {member} is neither the management account"),
        "collectors.config_org_conformance_packs.target".to_string(),
        "OrganizationAccessDeniedException".to_string(),
    ] {
        assert!(e.message.contains(&part), "{part}: {}", e.message);
    }
    env.stop().await;
}

fn code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_simulator_validates_like_aws() {
    let sim = Sim::start(WorldOptions::default()).await.unwrap();
    let c = crate::org_rules::config_client(&sim, None).await;
    let e = c
        .describe_organization_conformance_pack_statuses()
        .limit(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidLimitException");
    let e = c
        .get_organization_conformance_pack_detailed_status()
        .organization_conformance_pack_name("no-such-pack")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "NoSuchOrganizationConformancePackException"
    );
    let e = c
        .describe_organization_conformance_packs()
        .organization_conformance_pack_names("no-such-pack")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "NoSuchOrganizationConformancePackException"
    );
    // Pages of 1 walk every pack, each token good for its own listing only.
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .describe_organization_conformance_packs()
            .limit(1)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        names.extend(
            out.organization_conformance_packs()
                .iter()
                .map(|p| p.organization_conformance_pack_name().to_string()),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let want: Vec<String> = sim.world(|w| co::packs(w).iter().map(|p| p.name.clone()).collect());
    assert_eq!(names, want);
    let member = sim.world(|w| w.accounts[4].id.clone());
    let m = crate::org_rules::config_client(&sim, Some(&member)).await;
    let e = m
        .describe_organization_conformance_packs()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "OrganizationAccessDeniedException"
    );
    sim.stop();
}

async fn run(
    ctx: &JobContext<packs::Settings>,
    state: &mut packs::State,
    sim: &Sim,
) -> (u64, String) {
    sim.reset_calls();
    let c = ConfigOrgConformancePacks::collect(ctx, state)
        .await
        .unwrap();
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
    // 1,000 accounts, 20 organization conformance packs, 1% of the member deployments failed,
    // spread over every pack (none successful, so none can be skipped for its status).
    let sim = Sim::start(WorldOptions {
        members: 999,
        regions: vec!["us-east-1".into()],
        config_org: co::Options {
            rules: 0,
            packs: 20,
            pack_statuses: vec!["CREATE_FAILED".into()],
            failure_ratio: 0.009,
            exclude_every: 0,
            ..co::Options::default()
        },
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let (naive, failed, deployments, mgmt) = sim.world(|w| {
        let mut pages = 0;
        let mut failed = 0;
        let mut deployments = 0;
        for p in co::packs(w) {
            let m = co::member_statuses(w, p);
            pages += m.len().div_ceil(100) as u64;
            deployments += m.len();
            failed += m.iter().filter(|m| m.status.ends_with("_FAILED")).count();
        }
        (2 + pages, failed, deployments, w.management().id.clone())
    });
    let ratio = failed as f64 / deployments as f64;
    assert!((0.008..=0.012).contains(&ratio), "{ratio}");
    assert_eq!(naive, 202);

    let cfg = Config::from_yaml_str(&mgmt_yaml(&sim, &only(&[NAME], "10m"))).unwrap();
    let factory = AwsFactory::new(&cfg.aws, Arc::new(CallCounter::default()), Some(creds())).await;
    let ctx = JobContext {
        aws: Arc::new(factory.ambient().region("us-east-1", &mgmt)),
        settings: cfg.collectors.config_org_conformance_packs.clone(),
    };
    let mut state = packs::State::default();
    let (first, cold) = run(&ctx, &mut state, &sim).await;
    assert_eq!(first, naive, "the first run scans every pack once");
    let mut steady = Vec::new();
    for _ in 0..3 {
        let (calls, text) = run(&ctx, &mut state, &sim).await;
        assert_eq!(text, cold, "a steady run shows what the full scan showed");
        steady.push(calls);
    }
    let worst = *steady.iter().max().unwrap();
    eprintln!(
        "API budget, 1,000 accounts x 20 organization conformance packs, {failed} of {deployments} deployments failed ({:.2}%): \
         naive full scan {naive} calls; first run {first}; steady runs {steady:?} = {:.1}% of naive",
        ratio * 100.0,
        worst as f64 * 100.0 / naive as f64
    );
    assert_eq!(
        worst,
        2 + 3,
        "two listings and one check of three filtered calls"
    );
    assert!(worst * 10 <= naive, "at most 10% of the naive scan");

    // A member fails in one pack: its status time moves, that pack alone is scanned again.
    let (pack, acct) = sim.world(|w| (co::packs(w)[7].name.clone(), w.accounts[500].id.clone()));
    sim.world(|w| {
        w.config_org.set_member_status(
            &pack,
            &acct,
            Some(MemberStatus {
                account_id: acct.clone(),
                status: "CREATE_FAILED".into(),
                error_code: Some("InsufficientPermissionsException".into()),
                error_message: Some("new failure".into()),
                last_update: 1_763_000_100.0,
            }),
        )
    });
    let (calls, text) = run(&ctx, &mut state, &sim).await;
    assert_eq!(calls, 2 + 10 + 3);
    assert!(text.contains(&format!(
        "aws_config_org_conformance_pack_member_status{{pack=\"{pack}\",deployed_by=\"{mgmt}\",account_id=\"{acct}\",status=\"CREATE_FAILED\",error_code=\"InsufficientPermissionsException\"}} 1\n"
    )));
    sim.stop();
}
