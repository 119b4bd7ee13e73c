//! `regions: enabled`: each account's regions from Account Management's ListRegions, jobs in
//! every enabled region, the regions an organization collector does not read exported as blind
//! spots, and an account's change of regions followed at the next refresh.

use std::time::Duration;

use aws_sim::{Sim, WorldOptions};
use posture_exporter::config::Config;

use crate::common::{only, Env, Scrape};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn yaml(sim: &Sim) -> String {
    // GuardDuty read from the administrator in the two listed regions (an organization
    // collector), the recorder in every region of every account (a per-account one).
    let collectors = only(&["config_recorder", "guardduty"], "1h").replace(
        "  guardduty:\n    enabled: true\n",
        "  guardduty:\n    enabled: true\n    mode: administrator\n    regions: [us-east-1, eu-west-1]\n",
    );
    format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\ntargets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: enabled\n    refresh_interval: 10s\ncollectors:\n{collectors}",
        sim.url()
    )
}

fn id_of(sim: &Sim, index: usize) -> String {
    sim.world(|w| {
        w.accounts
            .iter()
            .find(|a| a.index == index)
            .expect("the account")
            .id
            .clone()
    })
}

fn set_regions(sim: &Sim, id: &str, regions: &[(&str, &str)]) {
    let list: Vec<(String, String)> = regions
        .iter()
        .map(|(r, s)| (r.to_string(), s.to_string()))
        .collect();
    sim.world(|w| w.regions.overrides.insert(id.to_string(), list));
}

/// Scrapes until `cond` holds (at most 60 s: a refresh every 10 s, then one ListRegions a member).
async fn scrape_until(env: &Env, what: &str, cond: impl Fn(&Scrape) -> bool) -> Scrape {
    let start = std::time::Instant::now();
    loop {
        let s = env.scrape().await;
        if cond(&s) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: not within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_enabled_region_is_read_and_an_unread_one_is_a_blind_spot() {
    let sim = Sim::start(WorldOptions {
        members: 11,
        regions: REGIONS.iter().map(|r| r.to_string()).collect(),
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let cfg = Config::from_yaml_str(&yaml(&sim)).unwrap();
    // Generated: index 3 and 8 opted into af-south-1; index 4 is still ENABLING ap-east-1.
    let (opted, enabling, plain) = (id_of(&sim, 3), id_of(&sim, 4), id_of(&sim, 5));
    let env = Env::start_config(sim, cfg).await;
    let s = scrape_until(&env, "the opted-in region read", |s| {
        s.get(
            "aws_config_recorders",
            &[
                ("account_id", &opted),
                ("region", "af-south-1"),
                ("kind", "customer_managed"),
            ],
        )
        .is_some()
    })
    .await;
    // The denominator, per account.
    assert_eq!(
        s.get("aws_account_regions_enabled", &[("account_id", &opted)]),
        Some(3.0)
    );
    assert_eq!(
        s.get("aws_account_regions_enabled", &[("account_id", &plain)]),
        Some(2.0)
    );
    assert_eq!(
        s.get("aws_account_regions_enabled", &[("account_id", &enabling)]),
        Some(2.0)
    );
    // The opt-in statuses that are news, and only those.
    assert_eq!(
        s.get(
            "aws_account_region_opt_in",
            &[
                ("account_id", &opted),
                ("region", "af-south-1"),
                ("status", "ENABLED")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.get(
            "aws_account_region_opt_in",
            &[
                ("account_id", &enabling),
                ("region", "ap-east-1"),
                ("status", "ENABLING")
            ]
        ),
        Some(1.0)
    );
    assert!(s
        .matching("aws_account_region_opt_in", &[("account_id", &plain)])
        .is_empty());
    // Nothing is deployed in the opted-in region: the recorder's own alert has its series.
    assert_eq!(
        s.get(
            "aws_config_recorders",
            &[
                ("account_id", &opted),
                ("region", "af-south-1"),
                ("kind", "customer_managed")
            ]
        ),
        Some(0.0)
    );
    // A region still ENABLING is not read.
    assert!(s
        .matching("aws_config_recorders", &[("region", "ap-east-1")])
        .is_empty());
    // GuardDuty, read from the administrator in the listed regions, does not read af-south-1:
    // a blind spot for each account that enabled it, and for GuardDuty alone.
    let blind = s.matching("aws_account_region_unwatched", &[]);
    assert_eq!(blind.len(), 2, "{blind:?}");
    assert_eq!(
        s.get(
            "aws_account_region_unwatched",
            &[
                ("account_id", &opted),
                ("region", "af-south-1"),
                ("collector", "guardduty")
            ]
        ),
        Some(1.0)
    );
    assert!(s
        .matching(
            "aws_account_region_unwatched",
            &[("collector", "config_recorder")]
        )
        .is_empty());

    // The ENABLING account finishes opting in, the other disables its region: both are
    // followed at the next refresh, without a restart.
    set_regions(
        &env.sim,
        &enabling,
        &[
            ("us-east-1", "ENABLED_BY_DEFAULT"),
            ("eu-west-1", "ENABLED_BY_DEFAULT"),
            ("ap-east-1", "ENABLED"),
        ],
    );
    set_regions(
        &env.sim,
        &opted,
        &[
            ("us-east-1", "ENABLED_BY_DEFAULT"),
            ("eu-west-1", "ENABLED_BY_DEFAULT"),
            ("af-south-1", "DISABLING"),
        ],
    );
    let s = scrape_until(&env, "the regions' changes followed", |s| {
        s.get(
            "aws_config_recorders",
            &[
                ("account_id", &enabling),
                ("region", "ap-east-1"),
                ("kind", "customer_managed"),
            ],
        )
        .is_some()
            && s.get(
                "aws_config_recorders",
                &[
                    ("account_id", &opted),
                    ("region", "af-south-1"),
                    ("kind", "customer_managed"),
                ],
            )
            .is_none()
    })
    .await;
    assert_eq!(
        s.get("aws_account_regions_enabled", &[("account_id", &enabling)]),
        Some(3.0)
    );
    assert_eq!(
        s.get("aws_account_regions_enabled", &[("account_id", &opted)]),
        Some(2.0)
    );
    assert_eq!(
        s.get(
            "aws_account_region_opt_in",
            &[
                ("account_id", &opted),
                ("region", "af-south-1"),
                ("status", "DISABLING")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.get(
            "aws_account_region_unwatched",
            &[
                ("account_id", &enabling),
                ("region", "ap-east-1"),
                ("collector", "guardduty")
            ]
        ),
        Some(1.0)
    );
    assert!(s
        .matching("aws_account_region_unwatched", &[("account_id", &opted)])
        .is_empty());
    env.stop().await;
}
