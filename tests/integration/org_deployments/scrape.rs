//! Every family against what the simulator holds, pagination over 2,500 members, a deployment
//! deleted mid-cycle and between cycles, and access from a member account.

use aws_sim::config_org::{self as co, MemberStatus};
use aws_sim::WorldOptions;
use posture_exporter::collectors::config_org_rules::config::MEMBER_STATUSES;
use posture_exporter::config::Config;

use super::{assert_shows, env, truth, Kind};
use crate::common::Env;

both_kinds! {
    #[tokio::test] fn scrape_shows_every_deployment_its_counts_and_its_failed_members;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] fn pagination_over_2500_members;
    #[tokio::test] fn one_deleted_mid_cycle_is_dropped_and_one_deleted_between_cycles_vanishes;
    #[tokio::test] fn a_member_account_is_refused_and_told_which_account_to_use;
}

async fn scrape_shows_every_deployment_its_counts_and_its_failed_members(k: &Kind) {
    let env = env(k, WorldOptions::default()).await;
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let t = env.sim.world(|w| truth(k, w));
    assert_eq!(t.len(), k.default_count);
    assert_shows(&s, k, &t);
    // The default organization has failed deployments with failed members, with AWS's codes.
    let failed = s.matching(&k.f("member_status"), &[]);
    assert!(
        failed.len() >= if k.is_rules() { 3 } else { 2 },
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .all(|(l, _)| l.contains("error_code=\"") && !l.contains("error_code=\"\"")),
        "{failed:?}"
    );
    if k.is_rules() {
        // The demo organization shows every organization status.
        for st in MEMBER_STATUSES {
            assert!(
                !s.matching(&k.f("status"), &[("status", st)])
                    .iter()
                    .all(|(_, v)| *v == 0.0),
                "no rule in {st}"
            );
        }
    }
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert_eq!(s.up(k.collector, &mgmt, "us-east-1"), Some(1.0));
    // The error messages are on the status page, not in labels, in the shape the overview
    // reads back.
    let row = k.row(&env);
    if k.is_rules() {
        assert!(
            row.notes.iter().any(|n| n.contains("_FAILED")
                && (n.contains("Failed to put the rule") || n.contains("cannot be assumed"))),
            "{:?}",
            row.notes
        );
    }
    let (name, (_, _, members, _, _)) = t.iter().find(|(_, v)| !v.2.is_empty()).unwrap();
    let m = &members[0];
    let want = format!(
        "{} {name}: account {} {} {}: {}",
        k.noun,
        m.account_id,
        m.status,
        m.error_code.as_deref().unwrap_or(""),
        m.error_message.as_deref().unwrap_or("")
    );
    assert!(row.notes.contains(&want), "{want}\n{:?}", row.notes);
    let n = k.default_count;
    let summary = format!("{n} {}; {n} full member scans", k.plural);
    assert!(
        row.notes.iter().any(|x| x.starts_with(&summary)),
        "{summary}\n{:?}",
        row.notes
    );
    assert_eq!(
        row.last_calls,
        2 + n as u64,
        "two listings and one full scan of each"
    );
    env.stop().await;
}

async fn pagination_over_2500_members(k: &Kind) {
    let statuses = ["CREATE_FAILED", "UPDATE_IN_PROGRESS", "CREATE_SUCCESSFUL"];
    let env = env(
        k,
        WorldOptions {
            members: 2_499,
            regions: vec!["us-east-1".into()],
            config_org: k.options(
                3,
                Some(&statuses),
                co::Options {
                    failure_ratio: 0.3,
                    exclude_every: 3,
                    ..co::Options::default()
                },
            ),
            ..WorldOptions::default()
        },
    )
    .await;
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let (t, first, third) = env.sim.world(|w| {
        let l = (k.list)(w);
        (truth(k, w), l[0].name.clone(), l[2].name.clone())
    });
    let (_, counts, failed, excluded, _) = &t[&first];
    assert!(failed.len() > 600, "{}", failed.len());
    assert_eq!(counts.values().sum::<u64>(), 2_500);
    assert_eq!(*excluded, 0);
    let (_, counts, _, excluded, _) = &t[&third];
    assert_eq!((counts.values().sum::<u64>(), *excluded), (2_499, 1));
    assert_shows(&s, k, &t);
    // A fresh job scans each deployment once: 25 pages of 100 members each, nothing more.
    assert_eq!(env.sim.calls(k.detail_op), 3 * 25);
    assert_eq!(env.sim.calls(k.statuses_op), 1);
    assert_eq!(env.sim.calls(k.definitions_op), 1);
    env.stop().await;
}

async fn one_deleted_mid_cycle_is_dropped_and_one_deleted_between_cycles_vanishes(k: &Kind) {
    let env = env(k, WorldOptions::default()).await;
    let (gone, ghost) = env.sim.world(|w| {
        let l = (k.list)(w);
        (l[0].name.clone(), l[1].name.clone())
    });
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert!(s
        .get(
            &k.f("member_accounts"),
            &[
                (k.label, &gone),
                ("deployed_by", &mgmt),
                ("status", "CREATE_FAILED")
            ]
        )
        .is_some());
    // Between two runs `gone` is deleted; `ghost` changes (so the next run scans it again) and
    // is deleted after that run's listing, before its scan. Rules change their organization
    // status, packs a member's.
    env.sim.world(|w| {
        w.config_org.delete_rule(&gone);
        if k.is_rules() {
            w.config_org.set_rule_status(&ghost, "UPDATE_IN_PROGRESS");
        } else {
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
        }
        w.config_org.delete_rule_after_listing(&ghost);
    });
    assert_eq!(
        env.cycle().await,
        0,
        "a vanished {} is not a failed run",
        k.noun
    );
    let s = env.scrape().await;
    for name in [&gone, &ghost] {
        for f in ["status", "member_accounts", "member_status"] {
            assert!(
                s.matching(&k.f(f), &[(k.label, name)]).is_empty(),
                "{name} {f}"
            );
        }
    }
    let t = env.sim.world(|w| {
        let mut t = truth(k, w);
        t.remove(&ghost);
        t
    });
    assert_eq!(t.len(), k.default_count - 2);
    assert_shows(&s, k, &t);
    let row = k.row(&env);
    assert!(row.last_error().is_none());
    let note = format!("{} {ghost} was deleted during the run; dropped", k.noun);
    assert!(row.notes.contains(&note), "{note}\n{:?}", row.notes);
    env.stop().await;
}

async fn a_member_account_is_refused_and_told_which_account_to_use(k: &Kind) {
    let sim = aws_sim::Sim::start(WorldOptions::default()).await.unwrap();
    let member = sim.world(|w| w.accounts[2].id.clone());
    let yaml = crate::common::yaml_for(&sim, &k.only_from("member-00002"), "");
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_config(sim, cfg).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    assert_eq!(s.up(k.collector, &member, "us-east-1"), Some(0.0));
    assert!(s.matching(&k.f("status"), &[]).is_empty());
    let row = k.row(&env);
    let e = row.last_error().expect("the run failed");
    assert_eq!(e.kind.as_str(), "access_denied");
    for part in [
        format!("account {member} is neither the management account"),
        "delegated administrator".to_string(),
        format!("collectors.{}.target", k.collector),
        "OrganizationAccessDeniedException".to_string(),
    ] {
        assert!(e.message.contains(&part), "{part}: {}", e.message);
    }
    env.stop().await;
}
