//! `security_hub` against the simulator, from the delegated administrator (member index 1):
//! both generations export what the simulated world holds (computed from it here, not written
//! down), the statistics split by account-id prefix when a grouping comes back full, a region
//! where Security Hub is off is a state and not a failure, a part refused or a core call
//! refused fails alone, and throttling is absorbed.

use std::collections::{BTreeMap, BTreeSet};

use aws_sim::securityhub::administrator;
use aws_sim::securityhub_accounts::{
    failed_association_account, groups, hub_enabled, member_status, subscriptions,
};
use aws_sim::world::securityhub::{CONTROLS, SEVERITY_LABELS, STANDARDS};
use aws_sim::{Fault, FaultRule, Sim, World, WorldOptions};
use posture_exporter::aws::Service;
use posture_exporter::config::Config;

use crate::common::{get, only, yaml_for, Env, Scrape};

/// What the overview's `securityhub` section counts, counted over a scrape.
fn attention_count(s: &Scrape) -> usize {
    let n = |name: &str, keep: &dyn Fn(&str, f64) -> bool| {
        s.matching(name, &[])
            .into_iter()
            .filter(|(k, v)| keep(k, *v))
            .count()
    };
    n("aws_securityhub_failed_controls", &|_, v| v > 0.0)
        + n("aws_securityhub_findings", &|k, v| {
            v > 0.0 && k.contains("severity=\"CRITICAL\"")
        })
        + n("aws_securityhub_enabled", &|_, v| v == 0.0)
        + n("aws_securityhub_standard_status", &|k, v| {
            v == 1.0 && (k.contains("status=\"FAILED\"") || k.contains("status=\"INCOMPLETE\""))
        })
        + n("aws_securityhub_policy_association_failed", &|_, v| {
            v == 1.0
        })
}

/// The overview's `securityhub` section: its count, and one item's message.
async fn overview_section(env: &Env) -> (u64, serde_json::Value) {
    let r = get(env.addr(), "/status.json?section=securityhub", &[]).await;
    assert_eq!(r.status, 200);
    let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("valid JSON");
    let sec = doc["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["id"] == "securityhub")
        .expect("a securityhub section")
        .clone();
    (sec["count"].as_u64().expect("a count"), sec)
}

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Runs a test on a thread with 16 MiB of stack, as the exporter's own runtime has (8 MiB a
/// worker): decoding ASFF findings takes more than a test thread's 2 MiB in a debug build.
fn big_stack(test: impl std::future::Future<Output = ()> + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(test)
        })
        .expect("a thread")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// Every collector off but security_hub, on the administrator (`member-00001`).
fn collectors(extra: &str) -> String {
    only(&[], "1h").replace(
        "  security_hub:\n    enabled: false\n    interval: 1h\n",
        &format!(
            "  security_hub:\n    enabled: true\n    interval: 1h\n    target: member-00001\n    regions: [us-east-1, eu-west-1]\n{extra}"
        ),
    )
}

async fn on_demand(world: WorldOptions, collectors: &str) -> Env {
    let sim = Sim::start(world).await.expect("simulator starts");
    let yaml = yaml_for(&sim, collectors, "");
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    Env::start_on_demand(sim, cfg).await
}

/// What the world says the exporter must show in `region` for the accounts `counted`.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    /// (account, standard) -> failing controls.
    failing: BTreeMap<(String, String), BTreeSet<String>>,
    /// (account, severity label) -> active findings.
    findings: BTreeMap<(String, String), i64>,
}

fn active(workflow: &str) -> bool {
    workflow == "NEW" || workflow == "NOTIFIED"
}

fn expected(w: &World, region: &str, counted: &dyn Fn(&World, &str) -> bool) -> Expected {
    let mut e = Expected::default();
    for a in &w.accounts {
        if !counted(w, &a.id) || !hub_enabled(w, a, region) {
            continue;
        }
        for g in groups(w, a, region) {
            if g.record_state != "ACTIVE" || !active(g.workflow) {
                continue;
            }
            *e.findings
                .entry((a.id.clone(), SEVERITY_LABELS[g.severity].to_string()))
                .or_default() += i64::from(g.count);
            if let (Some(c), Some("FAILED")) = (g.control, g.compliance) {
                for s in g.standard_ids() {
                    e.failing
                        .entry((a.id.clone(), s.to_string()))
                        .or_default()
                        .insert(CONTROLS[c].id.to_string());
                }
            }
        }
    }
    e
}

/// Series values by (account, a second label).
type ByAccount = BTreeMap<(String, String), f64>;

/// The failed controls and findings `s` shows in `region`, in the shape of [`Expected`];
/// zero-valued findings series are left out (they are the zero-filled CRITICAL and HIGH).
fn shown(s: &Scrape, region: &str) -> (ByAccount, ByAccount) {
    let label = |k: &str, l: &str| -> String {
        k.split(&format!("{l}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
    };
    let failing = s
        .matching("aws_securityhub_failed_controls", &[("region", region)])
        .into_iter()
        .map(|(k, v)| ((label(k, "account_id"), label(k, "standard")), v))
        .collect();
    let findings = s
        .matching("aws_securityhub_findings", &[("region", region)])
        .into_iter()
        .filter(|(_, v)| *v != 0.0)
        .map(|(k, v)| ((label(k, "account_id"), label(k, "severity")), v))
        .collect();
    (failing, findings)
}

/// Only the severities counted by default.
fn default_severities(mut e: Expected) -> Expected {
    e.findings
        .retain(|(_, s), _| s == "CRITICAL" || s == "HIGH");
    e
}

fn check(s: &Scrape, region: &str, e: &Expected) {
    let (failing, findings) = shown(s, region);
    let want_failing: BTreeMap<(String, String), f64> = e
        .failing
        .iter()
        .map(|(k, v)| (k.clone(), v.len() as f64))
        .collect();
    assert!(!want_failing.is_empty(), "the world has failing controls");
    assert_eq!(failing, want_failing, "failed controls in {region}");
    let want_findings: BTreeMap<(String, String), f64> = e
        .findings
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|(k, n)| (k.clone(), *n as f64))
        .collect();
    assert_eq!(findings, want_findings, "findings in {region}");
    let mut per_control: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for ((a, _), cs) in &e.failing {
        for c in cs {
            per_control.entry(c).or_default().insert(a);
        }
    }
    for (c, accounts) in &per_control {
        assert_eq!(
            s.get(
                "aws_securityhub_control_failing_accounts",
                &[("region", region), ("control", c)]
            ),
            Some(accounts.len() as f64),
            "{c} in {region}"
        );
    }
    assert_eq!(
        s.matching(
            "aws_securityhub_control_failing_accounts",
            &[("region", region)]
        )
        .len(),
        per_control.len()
    );
}

/// `aws_securityhub_enabled` of (account, region), if exported.
fn enabled(s: &Scrape, account: &str, region: &str) -> Option<f64> {
    s.get(
        "aws_securityhub_enabled",
        &[("account_id", account), ("region", region)],
    )
}

/// Every member of the administrator as ListMembers lists it: `aws_securityhub_enabled` 0
/// for one not Enabled, no series for an Enabled one.
fn check_members(s: &Scrape, r: &str, members: &[(String, &'static str)]) {
    assert!(members.iter().any(|(_, st)| *st != "Enabled"));
    for (a, status) in members {
        assert_eq!(
            enabled(s, a, r),
            if *status == "Enabled" {
                None
            } else {
                Some(0.0)
            },
            "{r} {a} {status}"
        );
    }
}

/// The members of the administrator and their `MemberStatus`.
fn members_of(w: &World, admin: &str) -> Vec<(String, &'static str)> {
    w.accounts
        .iter()
        .filter(|a| a.id != admin)
        .map(|a| (a.id.clone(), member_status(w, a)))
        .collect()
}

/// The administrator's standards subscriptions in every region and the failed association of
/// central configuration (home region only), as the world holds them: what both generations
/// export of standards and central configuration.
fn check_standards_and_associations(s: &Scrape, w: &World, admin: &str) {
    let me = w
        .accounts
        .iter()
        .find(|a| a.id == admin)
        .expect("the admin");
    for r in REGIONS {
        let subs = subscriptions(w, me, r);
        assert_eq!(
            s.get(
                "aws_securityhub_standards_enabled",
                &[("account_id", admin), ("region", r)]
            ),
            Some(subs.len() as f64),
            "{r}"
        );
        let not_ready: Vec<_> = subs.iter().filter(|x| x.status != "READY").collect();
        assert_eq!(
            s.matching(
                "aws_securityhub_standard_status",
                &[("account_id", admin), ("region", r)]
            )
            .len(),
            not_ready.len(),
            "{r}"
        );
        for sub in not_ready {
            let std = STANDARDS[sub.standard].id;
            let got = s.matching(
                "aws_securityhub_standard_status",
                &[("region", r), ("standard", std), ("status", sub.status)],
            );
            assert_eq!(got.len(), 1, "{r} {std} {}", sub.status);
        }
    }
    // The administrator's standards are not all READY somewhere (the world says so), so the
    // check above saw a status series.
    assert!(REGIONS
        .iter()
        .any(|r| subscriptions(w, me, r).iter().any(|x| x.status != "READY")));
    let failed = s.matching("aws_securityhub_policy_association_failed", &[]);
    let member = failed_association_account(w).expect("member 3 is in the organization");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]
            .0
            .contains(&format!("target_id=\"{}\"", member.id))
            && failed[0].0.contains("region=\"us-east-1\""),
        "{failed:?}"
    );
}

#[test]
fn security_hub_ocsf_exports_the_organization_from_the_administrator() {
    big_stack(async {
        let env = on_demand(
            WorldOptions::default(),
            &collectors("    generation: ocsf\n"),
        )
        .await;
        let admin = env
            .sim
            .world(|w| administrator(w).expect("an admin").id.clone());
        assert_eq!(env.cycle().await, 0);
        let s = env.scrape().await;
        for r in REGIONS {
            assert_eq!(s.up("security_hub", &admin, r), Some(1.0), "{r}");
            assert_eq!(
                s.get(
                    "aws_securityhub_generation",
                    &[("region", r), ("generation", "ocsf")]
                ),
                Some(1.0)
            );
            // The new Security Hub sees every account of the organization.
            let e = default_severities(env.sim.world(|w| expected(w, r, &|_, _| true)));
            check(&s, r, &e);
            let products = s.label_values("aws_securityhub_findings_by_product", "product");
            assert!(products.contains("GuardDuty"), "{products:?}");
            let ratios = s.matching("aws_securityhub_control_pass_ratio", &[("region", r)]);
            assert!(!ratios.is_empty());
            assert!(ratios.iter().all(|(_, v)| (0.0..=1.0).contains(v)));
        }
        assert!(s
            .matching("aws_securityhub_statistics_capped", &[])
            .is_empty());
        // What the statistics cannot answer, read as Security Hub CSPM reads it: the
        // standards, central configuration and the members whose Security Hub is not Enabled.
        env.sim
            .world(|w| check_standards_and_associations(&s, w, &admin));
        let members = env.sim.world(|w| members_of(w, &admin));
        for r in REGIONS {
            check_members(&s, r, &members);
            assert_eq!(
                s.matching(
                    "aws_securityhub_org_configuration",
                    &[("region", r), ("configuration_type", "CENTRAL")]
                )
                .len(),
                1,
                "{r}"
            );
        }
        // The overview names the failing controls with their titles (BatchGetSecurityControls:
        // one call a region, the organization failing fewer than 100 controls).
        let (count, sec) = overview_section(&env).await;
        assert_eq!(count as usize, attention_count(&s));
        assert!(
            sec.to_string()
                .contains("IAM.6 (Hardware MFA should be enabled for the root user)"),
            "{sec}"
        );
        assert_eq!(
            env.sim.calls("BatchGetSecurityControls"),
            REGIONS.len() as u64
        );
        // No role in any member: every Security Hub call is the administrator's.
        env.stop().await;
    });
}

#[test]
fn security_hub_ocsf_without_cspm_reads_the_statistics_and_notes_the_rest() {
    big_stack(async {
        let env = on_demand(
            WorldOptions::default(),
            &collectors("    generation: ocsf\n"),
        )
        .await;
        // The administrator runs the new Security Hub in eu-west-1 without Security Hub CSPM.
        let admin = env.sim.world(|w| {
            let admin = administrator(w).expect("an admin").id.clone();
            w.securityhub.set_cspm_off(&admin, "eu-west-1");
            admin
        });
        assert_eq!(env.cycle().await, 0, "{:?}", env.app.store.status());
        let s = env.scrape().await;
        assert_eq!(s.up("security_hub", &admin, "eu-west-1"), Some(1.0));
        // The statistics are read there; nothing of Security Hub CSPM's is, and us-east-1 has it.
        assert!(!s
            .matching(
                "aws_securityhub_control_failing_accounts",
                &[("region", "eu-west-1")]
            )
            .is_empty());
        for family in [
            "aws_securityhub_standards_enabled",
            "aws_securityhub_org_configuration",
            "aws_securityhub_members",
        ] {
            assert!(
                s.matching(family, &[("region", "eu-west-1")]).is_empty(),
                "{family}"
            );
            assert!(
                !s.matching(family, &[("region", "us-east-1")]).is_empty(),
                "{family}"
            );
        }
        let status = format!("{:?}", env.app.store.status());
        assert!(
            status.contains(&format!(
                "Security Hub CSPM is not enabled for account {admin} in eu-west-1"
            )),
            "{status}"
        );
        env.stop().await;
    });
}

#[test]
fn security_hub_splits_full_groupings_by_account_prefix() {
    big_stack(async {
        let world = WorldOptions {
            members: 60,
            ..WorldOptions::default()
        };
        let env = on_demand(
            world,
            &collectors("    generation: ocsf\n    max_statistic_results: 25\n"),
        )
        .await;
        let admin = env
            .sim
            .world(|w| administrator(w).expect("an admin").id.clone());
        env.sim.reset_calls();
        assert_eq!(env.cycle().await, 0);
        let s = env.scrape().await;
        for r in REGIONS {
            assert_eq!(s.up("security_hub", &admin, r), Some(1.0), "{r}");
            let e = default_severities(env.sim.world(|w| expected(w, r, &|_, _| true)));
            check(&s, r, &e);
        }
        // Groupings by account were split until complete; only groupings of other fields (more
        // than five products or controls) can be flagged.
        for (k, _) in s.matching("aws_securityhub_statistics_capped", &[]) {
            assert!(
                !k.contains("by account") && !k.contains("accounts failing"),
                "{k}"
            );
        }
        assert!(env.sim.calls("GetFindingStatisticsV2") > 10);
        env.stop().await;
    });
}

#[test]
fn security_hub_cspm_exports_members_standards_controls_and_findings() {
    big_stack(async {
        let env = on_demand(
            WorldOptions::default(),
            &collectors("    generation: cspm\n"),
        )
        .await;
        let (admin, members) = env.sim.world(|w| {
            let admin = administrator(w).expect("an admin").clone();
            let members = members_of(w, &admin.id);
            (admin.id, members)
        });
        assert_eq!(env.cycle().await, 0);
        let s = env.scrape().await;
        let enabled = |w: &World, a: &str| {
            a == admin
                || w.accounts
                    .iter()
                    .any(|x| x.id == a && member_status(w, x) == "Enabled")
        };
        for r in REGIONS {
            assert_eq!(s.up("security_hub", &admin, r), Some(1.0), "{r}");
            let e = default_severities(env.sim.world(|w| expected(w, r, &|w, a| enabled(w, a))));
            check(&s, r, &e);
            check_members(&s, r, &members);
        }
        // The overview counts what the PromQL count over /metrics counts, and names the failing
        // controls with their titles.
        let (count, sec) = overview_section(&env).await;
        assert_eq!(count as usize, attention_count(&s));
        assert!(
            sec.to_string()
                .contains("IAM.6 (Hardware MFA should be enabled for the root user)"),
            "{sec}"
        );
        // The standards and the failed association of central configuration (home region).
        env.sim
            .world(|w| check_standards_and_associations(&s, w, &admin));
        env.stop().await;
    });
}

#[test]
fn security_hub_off_in_a_region_is_a_state_not_a_failure() {
    big_stack(async {
        for generation in ["ocsf", "cspm", "auto"] {
            let env = on_demand(
                WorldOptions::default(),
                &collectors(&format!("    generation: {generation}\n")),
            )
            .await;
            let admin = env.sim.world(|w| {
                let admin = administrator(w).expect("an admin").id.clone();
                w.securityhub.set_hub(&admin, "eu-west-1", false);
                admin
            });
            assert_eq!(env.cycle().await, 0);
            let s = env.scrape().await;
            assert_eq!(s.up("security_hub", &admin, "eu-west-1"), Some(1.0));
            assert_eq!(enabled(&s, &admin, "eu-west-1"), Some(0.0), "{generation}");
            assert!(s
                .matching(
                    "aws_securityhub_failed_controls",
                    &[("region", "eu-west-1")]
                )
                .is_empty());
            assert_eq!(enabled(&s, &admin, "us-east-1"), Some(1.0));
            env.stop().await;
        }
    });
}

#[test]
fn security_hub_a_member_as_target_fails_the_administrator_part_alone() {
    big_stack(async {
        for generation in ["cspm", "ocsf"] {
            // member-00003 is not the delegated administrator: Security Hub CSPM refuses it
            // the organization configuration (in every region) and the central configuration's
            // associations; the new Security Hub's statistics would answer for it alone, so the
            // same refusal is what tells the user, in both generations.
            let cols = collectors(&format!("    generation: {generation}\n"))
                .replace("target: member-00001", "target: member-00003");
            let env = on_demand(WorldOptions::default(), &cols).await;
            let member = env.sim.world(|w| w.accounts[3].id.clone());
            assert_eq!(env.cycle().await, 2, "{:?}", env.app.store.status());
            let s = env.scrape().await;
            assert_eq!(s.up("security_hub", &member, "us-east-1"), Some(0.0));
            // The other parts are exported.
            assert_eq!(enabled(&s, &member, "us-east-1"), Some(1.0), "{generation}");
            let status = format!("{:?}", env.app.store.status());
            assert!(
                status.contains("ListConfigurationPolicyAssociations")
                    && status.contains("DescribeOrganizationConfiguration")
                    && status.contains(&format!(
                        "account {member} is not the Security Hub delegated administrator"
                    )),
                "{generation}: {status}"
            );
            env.stop().await;
        }
    });
}

#[test]
fn security_hub_a_refused_statistics_call_fails_the_run_and_throttling_is_absorbed() {
    big_stack(async {
        let env = on_demand(
            WorldOptions::default(),
            &collectors("    generation: ocsf\n"),
        )
        .await;
        let admin = env
            .sim
            .world(|w| administrator(w).expect("an admin").id.clone());
        env.sim.add_fault(
            FaultRule::always(Fault::Throttle)
                .operation("GetFindingStatisticsV2")
                .times(3),
        );
        assert_eq!(env.cycle().await, 0);
        let s = env.scrape().await;
        let e = default_severities(env.sim.world(|w| expected(w, "us-east-1", &|_, _| true)));
        check(&s, "us-east-1", &e);
        env.sim.clear_faults();
        env.sim.add_fault(
            FaultRule::always(Fault::AccessDenied)
                .operation("GetFindingStatisticsV2")
                .region("eu-west-1"),
        );
        assert_eq!(env.cycle().await, 1);
        let s = env.scrape().await;
        assert_eq!(s.up("security_hub", &admin, "eu-west-1"), Some(0.0));
        assert_eq!(s.up("security_hub", &admin, "us-east-1"), Some(1.0));
        // The last values are kept while the job is down.
        let e = default_severities(env.sim.world(|w| expected(w, "eu-west-1", &|_, _| true)));
        check(&s, "eu-west-1", &e);
        env.stop().await;
    });
}

const BUDGET_REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-1"];

fn budget_world(members: usize) -> WorldOptions {
    WorldOptions {
        members,
        regions: BUDGET_REGIONS.iter().map(|r| r.to_string()).collect(),
        ..WorldOptions::default()
    }
}

/// Security Hub calls of one cycle of `security_hub` with `generation` over `world`, by
/// operation, as the simulator counted them.
async fn cycle_calls(world: WorldOptions, generation: &str) -> BTreeMap<String, u64> {
    let cols = collectors(&format!("    generation: {generation}\n")).replace(
        "regions: [us-east-1, eu-west-1]",
        "regions: [us-east-1, eu-west-1, us-west-2, ap-southeast-1]",
    );
    let env = on_demand(world, &cols).await;
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0, "{:?}", env.app.store.status());
    let calls = env.sim.all_calls();
    env.stop().await;
    calls
        .into_iter()
        .filter(|(op, _)| {
            posture_exporter::aws::OPERATIONS
                .iter()
                .any(|o| o.service == Service::SecurityHub && o.name == op)
        })
        .collect()
}

/// Security Hub CSPM's calls per cycle, by the formula of the collector's documentation, from
/// what the world holds: per region DescribeHub, GetEnabledStandards and
/// DescribeOrganizationConfiguration once, ListMembers 50 a page, GetFindings 100 findings a
/// page (at least one) for failed controls and for CRITICAL and HIGH findings of the
/// administrator and its Enabled members; in the home region ListConfigurationPolicyAssociations
/// 100 FAILED associations a page.
fn cspm_formula(w: &World) -> u64 {
    let pages = |n: u64, per: u64| n.div_ceil(per).max(1);
    let admin = administrator(w).expect("an admin").id.clone();
    let members = (w.accounts.len() - 1) as u64;
    let mut calls = 0;
    for r in &w.opts.regions {
        let (mut failed, mut severe) = (0u64, 0u64);
        for a in &w.accounts {
            if a.id != admin && member_status(w, a) != "Enabled" {
                continue;
            }
            for g in groups(w, a, r) {
                if g.record_state != "ACTIVE" || !active(g.workflow) {
                    continue;
                }
                if g.compliance == Some("FAILED") && g.control.is_some() {
                    failed += u64::from(g.count);
                }
                if matches!(SEVERITY_LABELS[g.severity], "CRITICAL" | "HIGH") {
                    severe += u64::from(g.count);
                }
            }
        }
        calls += 3 + pages(members, 50) + pages(failed, 100) + pages(severe, 100);
    }
    let failed_associations = aws_sim::securityhub::failed_association_account(w).map_or(0, |_| 1);
    calls + pages(failed_associations, 100)
}

/// The API budget of `security_hub` at 1,000 accounts x 4 regions, both generations: the new
/// Security Hub measured against the simulator at that size; Security Hub CSPM by its formula
/// from the world at that size, the formula checked against the simulator's count at 100
/// accounts. `BENCHMARKS.md` states the figures this computes (the test fails when they
/// differ); `SECURITY_HUB_BUDGET=1` prints the section.
#[test]
fn security_hub_api_budget_at_1000_accounts_x_4_regions() {
    big_stack(async {
        let small = cycle_calls(budget_world(99), "cspm").await;
        let small_world = World::new(budget_world(99));
        let measured: u64 = small.values().sum();
        assert_eq!(measured, cspm_formula(&small_world), "{small:?}");
        let big_world = World::new(budget_world(999));
        let cspm = cspm_formula(&big_world);
        let ocsf = cycle_calls(budget_world(999), "ocsf").await;
        let ocsf_total: u64 = ocsf.values().sum();
        let by_op = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let section = format!(
            "| generation | calls per cycle, 1,000 accounts x 4 regions |\n|---|---:|\n| new Security Hub (OCSF, GetFindingStatisticsV2) | {ocsf_total} |\n| Security Hub CSPM (ASFF) | {cspm} |\n\nNew Security Hub by operation: {}.\nSecurity Hub CSPM at 100 accounts x 4 regions, measured: {measured} ({}).\n",
            by_op(&ocsf),
            by_op(&small)
        );
        if std::env::var_os("SECURITY_HUB_BUDGET").is_some() {
            println!("{section}");
        }
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md"))
            .expect("BENCHMARKS.md");
        assert!(
            doc.contains(&section),
            "BENCHMARKS.md lacks the figures this test computes:\n{section}"
        );
    });
}
