//! Who may read what (a delegated administrator, deployments from two accounts), refused
//! pagination tokens, and statuses AWS may add.

use aws_sim::config_org::{self as co, MemberStatus};
use aws_sim::{Sim, WorldOptions};
use posture_exporter::config::Config;

use super::{assert_shows, env, truth, Kind, PACKS, RULES};
use crate::common::{only, Env, Scrape};

both_kinds! {
    #[tokio::test] fn the_delegated_administrator_reads_what_it_deployed;
    #[tokio::test] fn a_refused_token_restarts_the_scan_once_and_only_once;
    #[tokio::test] fn statuses_aws_may_add_keep_their_raw_spelling;
}

async fn the_delegated_administrator_reads_what_it_deployed(k: &Kind) {
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
    let yaml = crate::common::yaml_for(&sim, &k.only_from("member-00003"), "");
    let cfg = Config::from_yaml_str(&yaml).unwrap();
    let env = Env::start_config(sim, cfg).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    assert_eq!(s.up(k.collector, &admin, "us-east-1"), Some(1.0));
    let t = env.sim.world(|w| truth(k, w));
    assert_shows(&s, k, &t);
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
        let mut s = only(&[RULES.collector, PACKS.collector], "1h");
        for c in [RULES.collector, PACKS.collector] {
            s = s.replace(
                &format!("  {c}:\n    enabled: true\n    interval: 1h\n"),
                &format!("  {c}:\n    enabled: true\n    interval: 1h\n    {placement}\n"),
            );
        }
        s
    };

    // One target: the management account's own deployments only, as AWS documents.
    let sim = Sim::start(world.clone()).await.unwrap();
    let (mgmt, admin) = sim.world(|w| (w.management().id.clone(), w.accounts[3].id.clone()));
    let (t, tp, packs) = sim.world(|w| {
        let packs: Vec<(String, String)> = co::packs(w)
            .into_iter()
            .map(|p| (p.name.clone(), co::deployer(w, p)))
            .collect();
        (truth(&RULES, w), truth(&PACKS, w), packs)
    });
    for t in [&t, &tp] {
        let from = |who: &str| t.values().filter(|v| v.4 == who).count();
        assert!(from(&mgmt) == 2 && from(&admin) >= 2, "{t:?}");
    }
    let yaml = crate::common::yaml_for(&sim, &sections("target: management"), "");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    for k in [&RULES, &PACKS] {
        let seen =
            |s: &Scrape, who: &str| s.matching(&k.f("status"), &[("deployed_by", who)]).len();
        assert_eq!(seen(&s, &mgmt), 2, "{}", k.plural);
        assert_eq!(
            seen(&s, &admin),
            0,
            "the delegated administrator's {} are invisible",
            k.plural
        );
    }
    env.stop().await;

    // Both: every rule and pack once, under its deployer, and both jobs up.
    let sim = Sim::start(world).await.unwrap();
    let yaml = crate::common::yaml_for(&sim, &sections("targets: [management, member-00003]"), "");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    for who in [&mgmt, &admin] {
        for k in [&RULES, &PACKS] {
            assert_eq!(s.up(k.collector, who, "us-east-1"), Some(1.0), "{who}");
        }
    }
    assert_shows(&s, &RULES, &t);
    assert_shows(&s, &PACKS, &tp);
    let shown: Vec<(String, String)> = s
        .matching(&PACKS.f("status"), &[])
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

async fn a_refused_token_restarts_the_scan_once_and_only_once(k: &Kind) {
    let env = env(
        k,
        WorldOptions {
            members: 249,
            config_org: k.options(
                2,
                Some(&["CREATE_FAILED", "CREATE_SUCCESSFUL"]),
                co::Options::default(),
            ),
            ..WorldOptions::default()
        },
    )
    .await;
    let t = env.sim.world(|w| truth(k, w));
    env.sim.world(|w| w.config_org.expire_next_tokens(1));
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    assert_shows(&env.scrape().await, k, &t);
    // Two deployments of 3 pages, and the refused page plus the restarted one.
    assert_eq!(env.sim.calls(k.detail_op), 2 * 3 + 2);

    // Refused again after the restart: the run fails, nothing loops.
    env.sim.world(|w| w.config_org.expire_next_tokens(2));
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 1);
    assert_eq!(env.sim.calls(k.detail_op), 4);
    let e = k.row(&env).last_error().unwrap();
    assert!(
        e.message.contains("InvalidNextTokenException"),
        "{}",
        e.message
    );
    // The last good values stay.
    assert_shows(&env.scrape().await, k, &t);
    env.stop().await;
}

async fn statuses_aws_may_add_keep_their_raw_spelling(k: &Kind) {
    let env = env(k, WorldOptions::default()).await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    let (name, acct) = env
        .sim
        .world(|w| ((k.list)(w)[1].name.clone(), w.accounts[1].id.clone()));
    env.sim.world(|w| {
        w.config_org.set_rule_status(&name, "CREATE_PAUSED");
        w.config_org.set_member_status(
            &name,
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
    let get = |f: &str, status: &str| {
        s.get(
            &k.f(f),
            &[(k.label, &name), ("deployed_by", &mgmt), ("status", status)],
        )
    };
    assert_eq!(get("status", "CREATE_PAUSED"), Some(1.0));
    assert_eq!(
        get("status", "CREATE_SUCCESSFUL"),
        None,
        "only the current status has a series"
    );
    assert_eq!(get("member_accounts", "CREATE_PAUSED"), Some(1.0));
    assert_eq!(get("member_accounts", "CREATE_SUCCESSFUL"), Some(5.0));
    env.stop().await;
}
