//! `guardduty` partial results and `mode: administrator` against the simulator: a failed part
//! leaves the rest exported and ages under the freshness rule; the administrator mode exports
//! the accounts mode's families with the same values for the same organization, splits the
//! findings statistics so that no member is cut off past 100, reads protection plans,
//! auto-enable, uncovered accounts and runtime coverage, assumes no role, and fails one part at
//! a time when one of its operations fails.

use std::collections::BTreeSet;

use aws_sim::guardduty::{self as gd};
use aws_sim::guardduty_org::{coverage_of, plans_of, AUTO_ENABLE};
use aws_sim::{Fault, FaultRule, Sim, World, WorldOptions};
use posture_exporter::collectors::guardduty::convert::{bucket, SEVERITIES};
use posture_exporter::config::Config;

use crate::common::{only, yaml_for, Env, Scrape};

const ADMIN: &str = "  guardduty:\n    enabled: true\n    interval: 1h\n    mode: administrator\n    regions: [us-east-1, eu-west-1]\n";

/// Every collector off but guardduty, which reads from the administrator.
fn admin_collectors() -> String {
    only(&[], "1h").replace(
        "  guardduty:\n    enabled: false\n    interval: 1h\n",
        ADMIN,
    )
}

async fn on_demand(world: WorldOptions, collectors: &str) -> Env {
    let sim = Sim::start(world).await.expect("simulator starts");
    let yaml = yaml_for(&sim, collectors, "");
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    Env::start_on_demand(sim, cfg).await
}

fn buckets(w: &World, a: &str, r: &str) -> [f64; 4] {
    let mut sums = [0.0; 4];
    for (sev, n) in gd::severity_counts(w, a, r) {
        // Findings with a severity outside any range cannot be selected by a severity
        // criterion; the simulator generates none for members.
        sums[bucket(sev).0] += n.max(0) as f64;
    }
    sums
}

fn findings(s: &Scrape, a: &str, r: &str) -> [Option<f64>; 4] {
    SEVERITIES.map(|sev| {
        s.get(
            "aws_guardduty_findings",
            &[("account_id", a), ("region", r), ("severity", sev)],
        )
    })
}

fn overdue(s: &Scrape, a: &str, r: &str) -> [Option<f64>; 4] {
    SEVERITIES.map(|sev| {
        s.get(
            "aws_guardduty_findings_overdue",
            &[("account_id", a), ("region", r), ("severity", sev)],
        )
    })
}

fn families(s: &Scrape, prefix: &str) -> BTreeSet<String> {
    s.samples
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, _)| k.split('{').next().unwrap_or("").to_string())
        .collect()
}

/// Enabled members of the administrator in `r` that have a detector there.
fn enabled_members(w: &World, r: &str) -> Vec<(String, String)> {
    gd::members(w, &w.management().id, r)
        .into_iter()
        .filter(|m| m.relationship_status == "Enabled")
        .filter_map(|m| Some((m.account_id, m.detector_id?)))
        .collect()
}

#[tokio::test]
async fn a_failed_findings_call_leaves_the_detector_exported_and_ages_alone() {
    let env = on_demand(WorldOptions::default(), &only(&["guardduty"], "1h")).await;
    let (m1, dets) = env.sim.world(|w| {
        let m1 = w.accounts[1].id.clone();
        let d = gd::detectors(w, &m1, "us-east-1");
        (m1, d)
    });
    let det = dets[0].id.clone();
    assert_eq!(env.cycle().await, 0);
    let before = findings(&env.scrape().await, &m1, "us-east-1");
    assert!(before.iter().all(Option::is_some));
    env.sim.add_fault(
        FaultRule::always(Fault::Http500)
            .operation("GetFindingsStatistics")
            .account(&m1)
            .region("us-east-1"),
    );
    let d = [
        ("account_id", m1.as_str()),
        ("region", "us-east-1"),
        ("detector_id", det.as_str()),
    ];
    // max_stale_intervals is 3: two failed reads keep the findings, the third drops them.
    for run in 1..=3 {
        assert_eq!(env.cycle().await, 1, "only m1's us-east-1 job is partial");
        let s = env.scrape().await;
        assert_eq!(s.up("guardduty", &m1, "us-east-1"), Some(0.0));
        assert_eq!(s.up("guardduty", &m1, "eu-west-1"), Some(1.0));
        assert_eq!(
            s.get(
                "aws_guardduty_detectors",
                &[("account_id", &m1), ("region", "us-east-1")]
            ),
            Some(1.0)
        );
        assert_eq!(s.get("aws_guardduty_detector_enabled", &d), Some(1.0));
        assert!(!s
            .matching(
                "aws_guardduty_feature_status",
                &[("account_id", &m1), ("region", "us-east-1")]
            )
            .is_empty());
        // The members part (ListMembers, GetAdministratorAccount) is read and fresh.
        assert_eq!(
            s.matching(
                "aws_guardduty_administrator_relationship",
                &[("account_id", &m1), ("region", "us-east-1")]
            )
            .len(),
            1
        );
        let now = findings(&s, &m1, "us-east-1");
        if run < 3 {
            assert_eq!(now, before, "run {run}: the last good findings are kept");
        } else {
            assert_eq!(now, [None; 4], "run {run}: past the window they are gone");
        }
        let row = env
            .app
            .store
            .status()
            .into_iter()
            .find(|r| r.key.account_id == m1 && r.key.region == "us-east-1")
            .unwrap();
        let e = row.last_error().expect("the partial run is reported");
        assert_eq!(e.kind.as_str(), "service_error", "{}", e.message);
        assert!(
            e.message
                .contains(&format!("part `findings of detector {det}`"))
                && e.message.contains("GetFindingsStatistics"),
            "{}",
            e.message
        );
        // The overdue findings are read with the same operation: that part fails too.
        let names: Vec<&str> = row.failed_parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                format!("findings of detector {det}"),
                format!("overdue findings of detector {det}")
            ]
        );
        assert!(row.failed_parts.iter().all(|p| p.runs == run));
    }
    env.stop().await;
}

#[tokio::test]
async fn both_modes_export_the_same_families_and_values_for_one_organization() {
    let accounts = on_demand(WorldOptions::default(), &only(&["guardduty"], "1h")).await;
    let admin = on_demand(WorldOptions::default(), &admin_collectors()).await;
    assert_eq!(accounts.cycle().await, 0);
    // In eu-west-1 the management account administers nothing: its job reads its own detector
    // and the organization's accounts, and the organization-wide parts fail there.
    assert_eq!(admin.cycle().await, 1, "{:?}", admin.app.store.status());
    let eu = admin
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.region == "eu-west-1")
        .unwrap();
    let failed: Vec<&str> = eu.failed_parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        failed,
        ["organization configuration", "organization statistics"]
    );
    let (a, b) = (accounts.scrape().await, admin.scrape().await);
    let r = "us-east-1";
    let shared: BTreeSet<String> = [
        "aws_guardduty_detectors",
        "aws_guardduty_detector_enabled",
        "aws_guardduty_findings",
        "aws_guardduty_findings_by_account",
        "aws_guardduty_findings_overdue",
        "aws_guardduty_members",
        "aws_guardduty_administrator_relationship",
        "aws_guardduty_feature_status",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let fa = families(&a, "aws_guardduty_");
    let fb = families(&b, "aws_guardduty_");
    assert!(shared.is_subset(&fa), "{fa:?}");
    assert!(shared.is_subset(&fb), "{fb:?}");
    for only_admin in [
        "aws_guardduty_feature_auto_enable",
        "aws_guardduty_org_account_not_covered",
        "aws_guardduty_coverage_resources",
        "aws_guardduty_org_accounts",
    ] {
        assert!(fb.contains(only_admin), "{only_admin} missing: {fb:?}");
    }

    let (mgmt, enabled) = admin
        .sim
        .world(|w| (w.management().id.clone(), enabled_members(w, r)));
    assert!(enabled.len() >= 2, "{enabled:?}");
    for (m, _) in &enabled {
        let want = admin.sim.world(|w| buckets(w, m, r));
        assert_eq!(
            findings(&a, m, r),
            want.map(crate::common::nonzero),
            "accounts mode, {m}"
        );
        assert_eq!(
            findings(&b, m, r),
            want.map(crate::common::nonzero),
            "administrator mode, {m}"
        );
        // A member's overdue findings are its own in both modes, as the simulator dates them.
        let late = admin
            .sim
            .world(|w| crate::guardduty::expected_overdue(w, m, r))
            .get(m)
            .copied()
            .unwrap_or([0.0; 4]);
        assert_eq!(overdue(&a, m, r), late.map(crate::common::nonzero), "{m}");
        assert_eq!(overdue(&b, m, r), late.map(crate::common::nonzero), "{m}");
        for key in [
            "aws_guardduty_detector_enabled",
            "aws_guardduty_feature_status",
        ] {
            let pick = |s: &Scrape| -> Vec<(String, f64)> {
                s.matching(key, &[("account_id", m), ("region", r)])
                    .into_iter()
                    .map(|(k, v)| (k.clone(), v))
                    .collect()
            };
            assert_eq!(pick(&a), pick(&b), "{key} of {m}");
        }
    }
    // The same member counts and the same administrator relationships.
    for key in [
        "aws_guardduty_members",
        "aws_guardduty_administrator_relationship",
    ] {
        let pick = |s: &Scrape| -> Vec<(String, f64)> {
            s.matching(key, &[("region", r)])
                .into_iter()
                .map(|(k, v)| (k.clone(), v))
                .collect()
        };
        assert_eq!(pick(&a), pick(&b), "{key}");
    }
    // The administrator's own findings, in administrator mode its own only.
    let admin_det = admin.sim.world(|w| gd::detectors(w, &mgmt, r))[0]
        .id
        .clone();
    let own: f64 = findings(&b, &mgmt, r).iter().flatten().sum();
    let own_sim: i64 = admin.sim.world(|w| {
        gd::account_counts(w, &mgmt, r)
            .into_iter()
            .find(|(x, _)| *x == mgmt)
            .map(|x| x.1)
            .unwrap_or(0)
    });
    assert_eq!(own, own_sim as f64);

    // Uncovered: every ACTIVE account but the administrator that is not an Enabled member; in
    // eu-west-1, where the management account administers nothing, all of them.
    let (active, enabled_ids): (Vec<String>, BTreeSet<String>) = admin.sim.world(|w| {
        (
            w.accounts
                .iter()
                .filter(|x| x.status == "ACTIVE" && x.index != 0)
                .map(|x| x.id.clone())
                .collect(),
            enabled_members(w, r).into_iter().map(|x| x.0).collect(),
        )
    });
    let mut uncovered = 0;
    for acct in &active {
        let want = (!enabled_ids.contains(acct)).then_some(1.0);
        uncovered += usize::from(want.is_some());
        assert_eq!(
            b.get(
                "aws_guardduty_org_account_not_covered",
                &[("account_id", acct), ("region", r)]
            ),
            want,
            "{acct}"
        );
        assert_eq!(
            b.get(
                "aws_guardduty_org_account_not_covered",
                &[("account_id", acct), ("region", "eu-west-1")]
            ),
            Some(1.0)
        );
    }
    assert!(uncovered >= 1);

    // Auto-enable per plan, and drift: EBS malware protection auto-enabled for ALL yet off.
    for (feature, auto) in AUTO_ENABLE {
        // The simulator lists the agent settings under the unified runtime plan.
        let plan = if feature.ends_with("_MANAGEMENT") {
            "RUNTIME_MONITORING"
        } else {
            feature
        };
        assert_eq!(
            b.get(
                "aws_guardduty_feature_auto_enable",
                &[
                    ("region", r),
                    ("plan", plan),
                    ("feature", feature),
                    ("auto_enable", auto)
                ]
            ),
            Some(1.0),
            "{feature}"
        );
    }
    // The same setting under the legacy plan keeps its own value, not the unified plan's.
    assert_eq!(
        b.get(
            "aws_guardduty_feature_auto_enable",
            &[
                ("region", r),
                ("plan", "EKS_RUNTIME_MONITORING"),
                ("feature", "EKS_ADDON_MANAGEMENT"),
                ("auto_enable", "NONE")
            ]
        ),
        Some(1.0)
    );
    let drift = b
        .matching(
            "aws_guardduty_feature_status",
            &[
                ("region", r),
                ("feature", "EBS_MALWARE_PROTECTION"),
                ("status", "DISABLED"),
            ],
        )
        .into_iter()
        .filter(|(_, v)| *v == 1.0)
        .count();
    assert!(drift >= 1, "no drift to alert on");

    // Runtime coverage: the sums over the covered accounts, UNHEALTHY among them.
    let (healthy, unhealthy) = admin.sim.world(|w| {
        let mut h = 0;
        let mut u = 0;
        let mut covered: Vec<(String, String)> = enabled_members(w, r);
        covered.push((mgmt.clone(), admin_det.clone()));
        for (id, _) in covered {
            let acct = w.account(&id).unwrap();
            let d = gd::detectors(w, &id, r)[0].clone();
            for (_, hh, uu) in coverage_of(w, acct, &d) {
                h += hh;
                u += uu;
            }
            assert!(!plans_of(acct, &d).is_empty());
        }
        (h, u)
    });
    let sum = |status: &str| -> f64 {
        b.matching(
            "aws_guardduty_coverage_resources",
            &[
                ("account_id", &mgmt),
                ("region", r),
                ("coverage_status", status),
            ],
        )
        .into_iter()
        .map(|(_, v)| v)
        .sum()
    };
    assert_eq!(sum("HEALTHY"), healthy as f64);
    assert_eq!(sum("UNHEALTHY"), unhealthy as f64);
    assert!(
        unhealthy >= 1,
        "the demo organization has an unhealthy agent"
    );

    // No role is assumed for GuardDuty in administrator mode, and no member is called.
    assert_eq!(admin.sim.calls("AssumeRole"), 0);
    assert_eq!(admin.sim.calls("GetAdministratorAccount"), 0);
    accounts.stop().await;
    admin.stop().await;
}

#[tokio::test]
async fn findings_past_100_members_are_complete_with_at_most_50_ids_a_criterion() {
    let world = WorldOptions {
        members: 330,
        regions: vec!["us-east-1".into()],
        ..WorldOptions::default()
    };
    let env = on_demand(
        world,
        &admin_collectors().replace("regions: [us-east-1, eu-west-1]", "regions: [us-east-1]"),
    )
    .await;
    assert_eq!(env.cycle().await, 0, "{:?}", env.app.store.status());
    let s = env.scrape().await;
    let r = "us-east-1";
    let enabled = env.sim.world(|w| enabled_members(w, r));
    assert!(enabled.len() > 200, "{}", enabled.len());
    let mut with_findings = 0;
    for (m, _) in &enabled {
        let want = env.sim.world(|w| buckets(w, m, r));
        with_findings += usize::from(want.iter().sum::<f64>() > 0.0);
        assert_eq!(findings(&s, m, r), want.map(crate::common::nonzero), "{m}");
    }
    assert!(with_findings > 100, "{with_findings} members with findings");
    // Overdue findings per member, complete past the top 100 too.
    let mut late_members = 0;
    for (m, _) in &enabled {
        let late = env
            .sim
            .world(|w| crate::guardduty::expected_overdue(w, m, r));
        let want = late.get(m).copied().unwrap_or([0.0; 4]);
        late_members += usize::from(want.iter().sum::<f64>() > 0.0);
        assert_eq!(overdue(&s, m, r), want.map(crate::common::nonzero), "{m}");
    }
    assert!(
        late_members > 100,
        "{late_members} members with overdue findings"
    );
    // Per bucket one call for the top 100 accounts; a bucket with 100 or more accounts with
    // findings is completed for the rest in groups of at most 50 ids (the simulator refuses
    // more, as AWS documents).
    let counted = enabled.len() + 1;
    let full: Vec<usize> = (0..4)
        .filter(|b| {
            let n = env.sim.world(|w| {
                enabled
                    .iter()
                    .filter(|(m, _)| buckets(w, m, r)[*b] > 0.0)
                    .count()
            });
            n >= 100
        })
        .collect();
    assert!(!full.is_empty(), "no bucket has 100 accounts with findings");
    // The overdue findings take the same calls at most (only accounts with findings in a
    // bucket are asked about, so never more).
    let most = 2 * (4 + full.len() as u64 * (counted - 100).div_ceil(50) as u64);
    let calls = env.sim.calls("GetFindingsStatistics");
    assert!(
        calls > 4 && calls <= most,
        "{calls} calls, {} full buckets",
        full.len()
    );
    assert_eq!(
        env.sim.calls("GetMemberDetectors"),
        enabled.len().div_ceil(50) as u64
    );
    // Every Enabled member's plans came back.
    for (m, _) in &enabled {
        assert!(
            !s.matching("aws_guardduty_feature_status", &[("account_id", m)])
                .is_empty(),
            "{m}"
        );
    }
    env.stop().await;
}

#[tokio::test]
async fn findings_of_fewer_than_100_accounts_take_one_call_a_bucket() {
    let world = WorldOptions {
        members: 95,
        regions: vec!["us-east-1".into()],
        ..WorldOptions::default()
    };
    let env = on_demand(
        world,
        &admin_collectors().replace(
            "regions: [us-east-1, eu-west-1]",
            "regions: [us-east-1]\n    oldest_findings: [low, medium, high, critical]",
        ),
    )
    .await;
    assert_eq!(env.cycle().await, 0, "{:?}", env.app.store.status());
    let s = env.scrape().await;
    let r = "us-east-1";
    let enabled = env.sim.world(|w| enabled_members(w, r));
    assert!(enabled.len() > 50, "{}", enabled.len());
    for (m, _) in &enabled {
        let want = env.sim.world(|w| buckets(w, m, r));
        assert_eq!(findings(&s, m, r), want.map(crate::common::nonzero), "{m}");
    }
    // The top-100 answer of each bucket is every account with findings: no partition.
    // Overdue findings: one more call per bucket in which some account has findings.
    let with_findings = env.sim.world(|w| {
        let mgmt = w.management().id.clone();
        (0..4)
            .filter(|b| {
                std::iter::once(mgmt.as_str())
                    .chain(enabled.iter().map(|(m, _)| m.as_str()))
                    .any(|m| buckets(w, m, r)[*b] > 0.0)
            })
            .count() as u64
    });
    assert_eq!(env.sim.calls("GetFindingsStatistics"), 4 + with_findings);
    // The organization's oldest finding of each bucket with findings (every bucket here, by
    // `oldest_findings`): one ListFindings a bucket and one GetFindings, whatever the members;
    // exported under the account holding it.
    assert_eq!(env.sim.calls("ListFindings"), with_findings);
    assert_eq!(env.sim.calls("GetFindings"), u64::from(with_findings > 0));
    let mgmt = env.sim.world(|w| w.management().id.clone());
    let want = env
        .sim
        .world(|w| crate::guardduty::expected_oldest(w, &mgmt, r));
    let exported = s.matching(
        "aws_guardduty_oldest_finding_created_timestamp_seconds",
        &[("region", r)],
    );
    assert_eq!(
        exported.len() as u64,
        with_findings,
        "one series a bucket: {exported:?}"
    );
    for (b, sev) in SEVERITIES.iter().enumerate() {
        let Some((holders, t)) = &want[b] else {
            continue;
        };
        let got: Vec<_> = exported
            .iter()
            .filter(|(k, _)| k.contains(&format!("severity=\"{sev}\"")))
            .collect();
        assert_eq!(got.len(), 1, "{sev}: {got:?}");
        let (key, v) = got[0];
        assert!(
            holders
                .iter()
                .any(|h| key.contains(&format!("account_id=\"{h}\""))),
            "{sev}: {key} is not one of {holders:?}"
        );
        crate::guardduty::assert_oldest(
            [Some(*v), None, None, None],
            [Some(*t), None, None, None],
            sev,
        );
    }
    env.stop().await;
}

#[tokio::test]
async fn each_administrator_operation_fails_only_its_part() {
    let parts = [
        (
            "GetMemberDetectors",
            "member protection plans",
            "aws_guardduty_feature_status",
        ),
        (
            "GetFindingsStatistics",
            "findings",
            "aws_guardduty_findings",
        ),
        (
            "DescribeOrganizationConfiguration",
            "organization configuration",
            "aws_guardduty_feature_auto_enable",
        ),
        (
            "GetOrganizationStatistics",
            "organization statistics",
            "aws_guardduty_org_accounts",
        ),
        (
            "GetCoverageStatistics",
            "coverage",
            "aws_guardduty_coverage_resources",
        ),
        (
            "ListAccounts",
            "organization accounts",
            "aws_guardduty_org_account_not_covered",
        ),
    ];
    let one_region =
        admin_collectors().replace("regions: [us-east-1, eu-west-1]", "regions: [us-east-1]");
    for (op, part, family) in parts {
        let mut faults = vec![
            (Fault::Http500, "service_error"),
            (Fault::Malformed, "malformed_response"),
            (Fault::AccessDenied, "access_denied"),
            (Fault::Throttle, "throttled"),
        ];
        // Required members the SDK would otherwise default: an answer without them is refused.
        match op {
            "GetMemberDetectors" => {
                faults.push((
                    Fault::MissingField("unprocessedAccounts".into()),
                    "malformed_response",
                ));
                faults.push((Fault::MissingField("members".into()), "malformed_response"));
            }
            "DescribeOrganizationConfiguration" => faults.push((
                Fault::MissingField("memberAccountLimitReached".into()),
                "malformed_response",
            )),
            _ => {}
        }
        for (fault, kind) in faults {
            let env = on_demand(WorldOptions::default(), &one_region).await;
            let mgmt = env.sim.world(|w| w.management().id.clone());
            env.sim
                .add_fault(FaultRule::always(fault.clone()).operation(op));
            assert_eq!(env.cycle().await, 1, "{op} {fault:?}");
            let s = env.scrape().await;
            assert_eq!(s.up("guardduty", &mgmt, "us-east-1"), Some(0.0));
            // The core and every other part are exported.
            assert!(
                s.get(
                    "aws_guardduty_detectors",
                    &[("account_id", &mgmt), ("region", "us-east-1")]
                ) == Some(1.0)
            );
            for (_, _, other) in parts.iter().filter(|p| p.0 != op) {
                // The administrator's own plans come from GetDetector, not GetMemberDetectors.
                assert!(
                    !s.matching(other, &[]).is_empty(),
                    "{other} missing when {op} fails"
                );
            }
            if op == "GetMemberDetectors" {
                let member_plans = s
                    .matching(family, &[])
                    .into_iter()
                    .filter(|(k, _)| !k.contains(&format!("account_id=\"{mgmt}\"")))
                    .count();
                assert_eq!(member_plans, 0, "{op}");
            } else {
                assert!(
                    s.matching(family, &[]).is_empty(),
                    "{family} with {op} failing"
                );
            }
            let row = env.app.store.status().into_iter().next().unwrap();
            let e = row.last_error().expect("reported");
            assert_eq!(e.kind.as_str(), kind, "{op} {fault:?}: {}", e.message);
            assert!(
                e.message.contains(&format!("part `{part}` not read")) && e.message.contains(op),
                "{}",
                e.message
            );
            // GetFindingsStatistics also reads the overdue findings: both parts fail.
            let failed: Vec<&str> = row.failed_parts.iter().map(|p| p.name.as_str()).collect();
            if op == "GetFindingsStatistics" {
                assert_eq!(failed, ["findings", "overdue findings"]);
                assert!(s.matching("aws_guardduty_findings_overdue", &[]).is_empty());
            } else {
                assert_eq!(failed, [part], "{op}");
            }
            env.stop().await;
        }
    }
}

#[tokio::test]
async fn both_modes_at_once_are_refused_by_the_configuration() {
    let y = "listen: 127.0.0.1:0\ntargets:\n  - name: management\n    regions: [us-east-1]\ncollectors:\n  guardduty:\n    regions: [us-east-1]\n";
    let e = Config::from_yaml_str(y).expect_err("accounts mode with administrator settings");
    assert!(
        e.to_string().contains("collectors.guardduty.regions"),
        "{e}"
    );
    let ok = format!("{y}    mode: administrator\n");
    Config::from_yaml_str(&ok).expect("administrator mode takes regions");
}

#[tokio::test]
async fn the_organization_is_listed_once_for_every_region_and_for_discovery() {
    // 46 accounts are three pages of ListAccounts. The two regions' jobs share one listing.
    let world = || WorldOptions {
        members: 45,
        ..WorldOptions::default()
    };
    let env = on_demand(world(), &admin_collectors()).await;
    env.cycle().await;
    listed_in_both_regions(&env).await;
    assert_eq!(
        env.sim.calls("ListAccounts"),
        3,
        "one listing for both regions"
    );
    env.stop().await;

    // Discovery listing from the administrator's account: its listing serves the jobs too.
    let sim = Sim::start(world()).await.expect("simulator starts");
    let yaml = format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\ntargets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: [us-east-1, eu-west-1]\ncollectors:\n{}",
        sim.url(),
        admin_collectors()
    );
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_on_demand(sim, cfg).await;
    env.cycle().await;
    listed_in_both_regions(&env).await;
    assert_eq!(
        env.sim.calls("ListAccounts"),
        3,
        "discovery's listing is the jobs' too"
    );
    env.stop().await;
}

/// Both regions' jobs read the `organization accounts` part (the simulator's management account
/// is not eu-west-1's administrator, so other parts fail there).
async fn listed_in_both_regions(env: &Env) {
    let rows = env.app.store.status();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert!(r.last_attempt.is_some(), "{}", r.key);
        assert!(
            !format!("{:?}", r.failed_parts).contains("organization accounts"),
            "{}: {:?}",
            r.key,
            r.failed_parts
        );
    }
    let s = env.scrape().await;
    let regions = s.label_values("aws_guardduty_org_account_not_covered", "region");
    assert_eq!(regions.len(), 2, "{regions:?}");
}
