//! `regions: enabled`: each account's regions from Account Management's ListRegions, jobs in
//! every enabled region, the regions an organization collector does not read exported as blind
//! spots, and an account's change of regions followed at the next refresh.

use std::time::Duration;

use aws_sim::{Sim, WorldOptions};
use posture_exporter::config::section::Section;
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

/// An organization collector with `regions: enabled` reads every region its target's account
/// enables: GuardDuty from the administrator follows the management account into af-south-1,
/// which is no longer a blind spot for a member that enabled it, and leaves it when the
/// management account disables it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_collector_follows_the_regions_its_target_enables() {
    let sim = Sim::start(WorldOptions {
        members: 11,
        regions: REGIONS.iter().map(|r| r.to_string()).collect(),
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let yaml = yaml(&sim).replace("regions: [us-east-1, eu-west-1]\n", "regions: enabled\n");
    assert!(yaml.contains("mode: administrator\n    regions: enabled\n"));
    let cfg = Config::from_yaml_str(&yaml).unwrap();
    let management = sim.world(|w| w.management().id.clone());
    let opted = id_of(&sim, 3);
    let job = |region: &'static str| {
        [
            ("collector", "guardduty"),
            ("account_id", management.as_str()),
            ("region", region),
        ]
    };
    // The management account enables only the default regions: GuardDuty runs there alone,
    // and the member's af-south-1 is a blind spot for it.
    let env = Env::start_config(sim, cfg).await;
    let s = scrape_until(&env, "the member's af-south-1 unwatched", |s| {
        s.get(
            "aws_account_region_unwatched",
            &[
                ("account_id", &opted),
                ("region", "af-south-1"),
                ("collector", "guardduty"),
            ],
        ) == Some(1.0)
    })
    .await;
    let jobs = s.matching(
        "posture_exporter_collector_up",
        &[("collector", "guardduty")],
    );
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(s
        .get("posture_exporter_collector_up", &job("eu-west-1"))
        .is_some());

    // The management account opts into af-south-1: a GuardDuty job starts there at the next
    // refresh, without a reload, and the member's region is watched.
    set_regions(
        &env.sim,
        &management,
        &[
            ("us-east-1", "ENABLED_BY_DEFAULT"),
            ("eu-west-1", "ENABLED_BY_DEFAULT"),
            ("af-south-1", "ENABLED"),
        ],
    );
    let s = scrape_until(&env, "GuardDuty read in af-south-1", |s| {
        s.get("posture_exporter_collector_up", &job("af-south-1"))
            .is_some()
    })
    .await;
    assert_eq!(
        s.matching(
            "posture_exporter_collector_up",
            &[("collector", "guardduty")]
        )
        .len(),
        3
    );
    let s = scrape_until(&env, "the member's af-south-1 watched", |s| {
        s.matching(
            "aws_account_region_unwatched",
            &[("account_id", &opted), ("collector", "guardduty")],
        )
        .is_empty()
    })
    .await;
    assert!(s
        .matching("aws_account_region_unwatched", &[("region", "af-south-1")])
        .is_empty());

    // It opts out again: the job stops and its series go; the blind spot is back.
    set_regions(
        &env.sim,
        &management,
        &[
            ("us-east-1", "ENABLED_BY_DEFAULT"),
            ("eu-west-1", "ENABLED_BY_DEFAULT"),
        ],
    );
    let s = scrape_until(&env, "the af-south-1 job stopped", |s| {
        s.get("posture_exporter_collector_up", &job("af-south-1"))
            .is_none()
    })
    .await;
    assert!(s
        .matching(
            "aws_guardduty_detector_enabled",
            &[("account_id", &management), ("region", "af-south-1")]
        )
        .is_empty());
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
    env.stop().await;
}

/// `check-config` refuses `regions: enabled` in a section whose target lists its regions, and
/// Security Hub's without a home region, each problem at its key.
#[test]
fn regions_enabled_in_a_section_needs_a_target_that_reads_them() {
    let yaml = "aws:\n  region: us-east-1\ntargets:\n  - name: listed\n    regions: [us-east-1]\n  - name: admin\n    role_arn: arn:aws:iam::111111111111:role/R\n    regions: enabled\ncollectors:\n  guardduty:\n    mode: administrator\n    regions: enabled\n  security_hub:\n    enabled: true\n    target: admin\n    regions: enabled\n";
    let err = Config::from_yaml_str(yaml).unwrap_err().to_string();
    assert!(
        err.contains("collectors.guardduty.regions")
            && err.contains("give `listed` `regions: enabled`"),
        "{err}"
    );
    assert!(
        err.contains("collectors.security_hub.home_region") && err.contains("name the home region"),
        "{err}"
    );
    assert!(!err.contains("collectors.security_hub.target"), "{err}");
    let fixed = "aws:\n  region: us-east-1\ntargets:\n  - name: listed\n    regions: [us-east-1]\n  - name: admin\n    role_arn: arn:aws:iam::111111111111:role/R\n    regions: enabled\ncollectors:\n  guardduty:\n    mode: administrator\n    target: admin\n    regions: enabled\n  security_hub:\n    enabled: true\n    target: admin\n    regions: enabled\n    home_region: us-east-1\n";
    let cfg = Config::from_yaml_str(fixed).expect("a target that reads its enabled regions");
    assert!(cfg.collectors.guardduty.placement().regions_from_aws());
}
