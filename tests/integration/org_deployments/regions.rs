//! Organization deployments read in several regions: `regions` places one job in each, and the
//! series then say their region (a name deployed in two regions is two series); the old
//! `region: x` still reads one region, with the labels as they were.

use aws_sim::{Sim, WorldOptions};
use posture_exporter::config::Config;

use super::{assert_shows, mgmt_yaml, truth, Kind};
use crate::common::Env;

both_kinds! {
    #[tokio::test] fn several_regions_each_have_a_job_and_say_which;
}

/// Organization rules and packs are deployed region by region: `regions` reads each listed
/// region with a job of its own, every series then saying its region, so a name deployed in
/// both is two series, never one repeated; `region: x`, the old spelling, is still one region,
/// with the labels as they were.
async fn several_regions_each_have_a_job_and_say_which(k: &Kind) {
    let sim = Sim::start(WorldOptions::default()).await.unwrap();
    let placed = |key: &str| {
        k.only_from("management").replace(
            "    target: management\n",
            &format!("    target: management\n    {key}\n"),
        )
    };
    let yaml = mgmt_yaml(&sim, &placed("regions: [us-east-1, eu-west-1]"));
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_on_demand(sim, cfg).await;
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    crate::faults::assert_no_duplicates(&s);
    let mgmt = env.sim.world(|w| w.management().id.clone());
    let t = env.sim.world(|w| truth(k, w));
    for region in ["us-east-1", "eu-west-1"] {
        assert_eq!(s.up(k.collector, &mgmt, region), Some(1.0), "{region}");
        for (name, (status, .., dep)) in &t {
            assert_eq!(
                s.get(
                    &k.f("status"),
                    &[
                        (k.label, name),
                        ("deployed_by", dep),
                        ("region", region),
                        ("status", status)
                    ]
                ),
                Some(1.0),
                "{name} in {region}"
            );
        }
    }
    assert_eq!(
        s.label_values(&k.f("member_accounts"), "region"),
        ["eu-west-1".to_string(), "us-east-1".to_string()].into()
    );
    env.stop().await;

    let sim = Sim::start(WorldOptions::default()).await.unwrap();
    let yaml = mgmt_yaml(&sim, &placed("region: eu-west-1"));
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_on_demand(sim, cfg).await;
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    assert_eq!(s.up(k.collector, &mgmt, "eu-west-1"), Some(1.0));
    assert_eq!(s.up(k.collector, &mgmt, "us-east-1"), None);
    assert!(s.label_values(&k.f("status"), "region").is_empty());
    assert_shows(&s, k, &env.sim.world(|w| truth(k, w)));
    env.stop().await;
}
