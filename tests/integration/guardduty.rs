//! `guardduty` end to end against the simulator: every family for every account and region,
//! calls per cycle, pagination, a detector deleted mid-cycle, access denied, values AWS may add.

use std::collections::BTreeMap;

use aws_sim::guardduty::{self as gd, Detector};
use aws_sim::guardduty_lists as gl;
use aws_sim::{Fault, FaultRule, World, WorldOptions};
use posture_exporter::collectors::guardduty::convert::{bucket, RELATIONSHIP_STATUSES, SEVERITIES};

use crate::common::{only, Env, Scrape};

async fn env(world: WorldOptions) -> Env {
    let env = Env::start(world, &only(&["guardduty"], "1h")).await;
    env.wait_ready().await;
    env
}

fn ids(env: &Env) -> (Vec<String>, Vec<String>) {
    env.sim.world(|w| {
        (
            w.accounts.iter().map(|a| a.id.clone()).collect(),
            w.opts.regions.clone(),
        )
    })
}

/// Expected bucket sums of (account, region), computed from what the simulator holds.
fn expected_buckets(w: &World, a: &str, r: &str) -> [f64; 4] {
    let mut sums = [0.0; 4];
    for (sev, n) in gd::severity_counts(w, a, r) {
        sums[bucket(sev).0] += n.max(0) as f64;
    }
    sums
}

/// Expected overdue counts of (account, region) by bucket, at the default ages, from the
/// creation times the simulator holds; by the account of each finding when `per_account`
/// (administrator mode), else all under `a` (accounts mode: an administrator's detector counts
/// its members' findings).
pub(crate) fn expected_overdue(w: &World, a: &str, r: &str) -> BTreeMap<String, [f64; 4]> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let ages = [30.0 * 86_400.0, 7.0 * 86_400.0, 86_400.0, 86_400.0];
    let mut out: BTreeMap<String, [f64; 4]> = BTreeMap::new();
    for (acct, sev, n, created) in gd::current_findings(w, a, r) {
        let b = bucket(sev).0;
        if n > 0 && created < now - ages[b] {
            out.entry(acct).or_insert([0.0; 4])[b] += n as f64;
        }
    }
    out
}

/// The oldest current finding of each bucket among those `a`'s detector in `r` lists (its
/// members' too on an administrator): the accounts that hold one created then (several on a
/// tie), and the time. The simulator's creation times are relative to the wall clock.
pub(crate) fn expected_oldest(w: &World, a: &str, r: &str) -> [Option<(Vec<String>, f64)>; 4] {
    let mut out: [Option<(Vec<String>, f64)>; 4] = Default::default();
    for (acct, sev, n, created) in gd::current_findings(w, a, r) {
        if n <= 0 {
            continue;
        }
        let slot = &mut out[bucket(sev).0];
        match slot {
            Some((holders, t)) if (created - *t).abs() < 1e-6 => holders.push(acct),
            Some((_, t)) if created > *t => {}
            _ => *slot = Some((vec![acct], created)),
        }
    }
    out
}

/// Asserts `got` (the exported creation times per bucket) is `want` within `slack` seconds: the
/// simulator computes creation times from its clock at each call.
pub(crate) fn assert_oldest(got: [Option<f64>; 4], want: [Option<f64>; 4], what: &str) {
    for (b, (g, w)) in got.iter().zip(want).enumerate() {
        match (g, w) {
            (None, None) => {}
            (Some(g), Some(w)) => assert!(
                (g - w).abs() < 120.0,
                "{what} {}: {g} vs {w}",
                SEVERITIES[b]
            ),
            _ => panic!("{what} {}: exported {g:?}, expected {w:?}", SEVERITIES[b]),
        }
    }
}

fn oldest(s: &Scrape, a: &str, r: &str) -> [Option<f64>; 4] {
    SEVERITIES.map(|sev| {
        s.get(
            "aws_guardduty_oldest_finding_created_timestamp_seconds",
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

fn findings(s: &Scrape, a: &str, r: &str) -> [Option<f64>; 4] {
    SEVERITIES.map(|sev| {
        s.get(
            "aws_guardduty_findings",
            &[("account_id", a), ("region", r), ("severity", sev)],
        )
    })
}

fn notes(env: &Env, account: &str, region: &str) -> Vec<String> {
    env.app
        .store
        .status()
        .into_iter()
        .find(|row| row.key.account_id == account && row.key.region == region)
        .map(|row| row.notes)
        .unwrap_or_default()
}

/// The oldest findings of a detector are read again only when its counts change: a new high
/// finding older than the others moves the exported time after one ListFindings and one
/// GetFindings, in that detector alone; a cycle at the same counts costs nothing.
#[tokio::test]
async fn the_oldest_findings_are_read_again_when_the_counts_change() {
    let env = env(WorldOptions::default()).await;
    let (accounts, regions) = ids(&env);
    // A member with a detector in the region no administrator reads (an administrator's
    // detector counts its members' findings, so its oldest would be read again too).
    let r = regions[1].clone();
    let a = env.sim.world(|w| {
        accounts[1..]
            .iter()
            .find(|a| !gd::detectors(w, a, &r).is_empty() && gd::members(w, a, &r).is_empty())
            .expect("a member with a detector")
            .clone()
    });
    assert!(env.sim.world(|w| gd::administrator(w, &a, &r)).is_none());
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    assert_eq!(
        env.sim.calls("ListFindings"),
        0,
        "same counts: nothing read"
    );
    assert_eq!(env.sim.calls("GetFindings"), 0);
    // Three high findings, thirty days old, in one account and region.
    env.sim.world(|w| {
        w.guardduty.set_findings(&a, &r, vec![(8.0, 3)]);
        w.guardduty.set_finding_age(&a, &r, 30.0 * 86_400.0);
    });
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    assert_eq!(
        env.sim.calls("ListFindings"),
        1,
        "the high bucket of that detector"
    );
    assert_eq!(env.sim.calls("GetFindings"), 1);
    let s = env.scrape().await;
    let want = env.sim.world(|w| expected_oldest(w, &a, &r));
    assert_oldest(
        oldest(&s, &a, &r),
        [None, None, want[2].as_ref().map(|o| o.1), None],
        "after the change",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let high = oldest(&s, &a, &r)[2].expect("a high finding");
    assert!(
        (now - high - 30.0 * 86_400.0).abs() < 600.0,
        "{}",
        now - high
    );
    env.stop().await;
}

#[tokio::test]
async fn scrape_shows_every_family_for_every_account_and_region() {
    let env = env(WorldOptions::default()).await;
    let s = env.scrape().await;
    let (accounts, regions) = ids(&env);
    assert_eq!(accounts.len(), 6);
    let (mut off, mut disabled, mut admins, mut members_seen) = (0, 0, 0, 0);
    let mut bucket_totals = [0.0; 4];
    let (mut detectors_total, mut admin_detectors) = (0u64, 0u64);
    // GetFindingsStatistics calls for overdue findings: one per bucket with current findings.
    let (mut overdue_calls, mut overdue_seen) = (0u64, 0.0);
    let (mut list_findings_calls, mut get_findings_calls) = (0u64, 0u64);
    // The first cycle read the oldest findings: one ListFindings per high or critical bucket
    // with findings, one GetFindings per detector that has any.
    let first_cycle = (env.sim.calls("ListFindings"), env.sim.calls("GetFindings"));
    for a in &accounts {
        for r in &regions {
            let (dets, members, by_account, admin) = env.sim.world(|w| {
                (
                    gd::detectors(w, a, r),
                    gd::members(w, a, r),
                    gd::account_counts(w, a, r),
                    gd::administrator(w, a, r),
                )
            });
            let want = env.sim.world(|w| expected_buckets(w, a, r));
            assert_eq!(s.up("guardduty", a, r), Some(1.0), "{a} {r}");
            assert_eq!(
                s.get(
                    "aws_guardduty_detectors",
                    &[("account_id", a), ("region", r)]
                ),
                Some(dets.len() as f64),
                "{a} {r}"
            );
            if dets.is_empty() {
                off += 1;
                assert!(s
                    .matching(
                        "aws_guardduty_findings",
                        &[("account_id", a), ("region", r)]
                    )
                    .is_empty());
            }
            detectors_total += dets.len() as u64;
            for d in &dets {
                let with_id = [
                    ("account_id", a.as_str()),
                    ("region", r.as_str()),
                    ("detector_id", d.id.as_str()),
                ];
                // Only aws_guardduty_detector_enabled names the detector.
                let l = &with_id[..2];
                let on = d.status == "ENABLED";
                if !on {
                    disabled += 1;
                }
                assert_eq!(
                    s.get("aws_guardduty_detector_enabled", &with_id),
                    Some(if on { 1.0 } else { 0.0 })
                );
                assert_eq!(
                    findings(&s, a, r),
                    want.map(crate::common::nonzero),
                    "{a} {r}"
                );
                for (t, w) in bucket_totals.iter_mut().zip(want) {
                    *t += w;
                }
                // Overdue: every finding of the detector's view (its members' too on an
                // administrator) past its bucket's age, under the detector's account.
                let late = env.sim.world(|w| {
                    expected_overdue(w, a, r)
                        .into_values()
                        .fold([0.0; 4], |acc, x| [0, 1, 2, 3].map(|i| acc[i] + x[i]))
                });
                assert_eq!(
                    overdue(&s, a, r),
                    late.map(crate::common::nonzero),
                    "{a} {r}"
                );
                overdue_seen += late[2];
                overdue_calls += want.iter().filter(|n| **n > 0.0).count() as u64;
                // The oldest finding of each bucket `oldest_findings` names (high and critical
                // by default) that has findings: one ListFindings each, and one GetFindings for
                // them all.
                let mut first = env.sim.world(|w| expected_oldest(w, a, r));
                first[0] = None;
                first[1] = None;
                assert_oldest(
                    oldest(&s, a, r),
                    first.map(|o| o.map(|(_, t)| t)),
                    &format!("{a} {r}"),
                );
                let paging = want[2..].iter().filter(|n| **n > 0.0).count() as u64;
                list_findings_calls += paging;
                get_findings_calls += u64::from(paging > 0);

                let got_members = s.matching("aws_guardduty_members", l);
                if members.is_empty() {
                    assert!(got_members.is_empty(), "{a} {r}: {got_members:?}");
                    assert!(s
                        .matching("aws_guardduty_findings_by_account", l)
                        .is_empty());
                } else {
                    admins += 1;
                    admin_detectors += 1;
                    let mut counts: BTreeMap<&str, f64> =
                        RELATIONSHIP_STATUSES.iter().map(|s| (*s, 0.0)).collect();
                    for m in &members {
                        *counts.entry(m.relationship_status.as_str()).or_insert(0.0) += 1.0;
                    }
                    assert_eq!(got_members.len(), counts.len());
                    for (status, n) in counts {
                        let mut ml = l.to_vec();
                        ml.push(("relationship_status", status));
                        assert_eq!(s.get("aws_guardduty_members", &ml), Some(n), "{status}");
                    }
                    assert_eq!(
                        s.matching("aws_guardduty_findings_by_account", l).len(),
                        by_account.len()
                    );
                    for (member, n) in &by_account {
                        let mut bl = l.to_vec();
                        bl.push(("member_account_id", member.as_str()));
                        assert_eq!(
                            s.get("aws_guardduty_findings_by_account", &bl),
                            Some(*n as f64)
                        );
                    }
                    // The administrator's counts include its members': they add up.
                    let total: i64 = by_account.iter().map(|x| x.1).sum();
                    assert_eq!(want.iter().sum::<f64>(), total as f64);
                }
            }
            // `administrator_account_id` contains `account_id`: anchor on the first label.
            let first = format!("{{account_id=\"{a}\"");
            let rel: Vec<_> = s
                .matching(
                    "aws_guardduty_administrator_relationship",
                    &[("account_id", a), ("region", r)],
                )
                .into_iter()
                .filter(|(k, _)| k.contains(&first))
                .collect();
            match (&admin, dets.is_empty()) {
                (Some((admin_id, status)), false) => {
                    members_seen += 1;
                    assert_eq!(
                        s.get(
                            "aws_guardduty_administrator_relationship",
                            &[
                                ("account_id", a),
                                ("region", r),
                                ("administrator_account_id", admin_id),
                                ("relationship_status", status),
                            ]
                        ),
                        Some(1.0)
                    );
                    assert_eq!(rel.len(), 1);
                }
                _ => assert!(rel.is_empty(), "{a} {r}: {rel:?}"),
            }
        }
    }
    assert!(off >= 1, "GuardDuty is off somewhere");
    assert!(disabled >= 1, "a detector is disabled somewhere");
    assert_eq!(admins, 1, "the management account administers us-east-1");
    assert!(members_seen >= 1, "a member sees its administrator");
    assert!(
        bucket_totals.iter().all(|t| *t > 0.0),
        "findings in every bucket: {bucket_totals:?}"
    );
    assert!(
        overdue_seen > 0.0,
        "a high finding is past its age somewhere"
    );

    assert!(
        list_findings_calls > 0,
        "some detector has high or critical findings"
    );
    assert_eq!(
        first_cycle,
        (list_findings_calls, get_findings_calls),
        "the first cycle's oldest-finding calls (ListFindings, GetFindings)"
    );

    // The call budget of one cycle: 1 ListDetectors per (account, region); per detector
    // GetDetector, GetFindingsStatistics and ListMembers (one page here); then either
    // GetFindingsStatistics by account (administrator) or GetAdministratorAccount (the rest).
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let calls = env.sim.all_calls();
    let pairs = (accounts.len() * regions.len()) as u64;
    // An hourly job reads the slower lists on every run (they are due every 30 minutes): per
    // detector one page of each list and a Get per entry, per account and region the
    // invitations count, and the invitations where any is pending.
    let lists = env.sim.world(|w| {
        let mut n = [0u64; 5];
        for a in &accounts {
            for r in &regions {
                // A member of an associated administrator sees the administrator's sets: the
                // exporter reads no sets there.
                if gl::set_owner(w, a, r) == *a {
                    n[0] += gl::threat_intel_sets(w, a, r).len() as u64;
                    n[1] += gl::ip_sets(w, a, r).len() as u64;
                    n[4] += gd::detectors(w, a, r).len() as u64;
                }
                n[2] += gl::filters(w, a, r).len() as u64;
                n[3] += u64::from(!gl::invitations(w, a, r).is_empty());
            }
        }
        n
    });
    assert!(
        lists[4] < detectors_total,
        "no member reads its administrator's sets"
    );
    let want: BTreeMap<String, u64> = [
        ("ListDetectors", pairs),
        ("GetDetector", detectors_total),
        (
            "GetFindingsStatistics",
            detectors_total + admin_detectors + overdue_calls,
        ),
        ("ListMembers", detectors_total),
        // The oldest findings were read in the first cycle; at the same counts, none now: no
        // ListFindings or GetFindings in this map.
        ("GetAdministratorAccount", detectors_total - admin_detectors),
        ("ListThreatIntelSets", lists[4]),
        ("GetThreatIntelSet", lists[0]),
        ("ListIPSets", lists[4]),
        ("GetIPSet", lists[1]),
        ("ListFilters", detectors_total),
        ("GetFilter", lists[2]),
        ("GetInvitationsCount", pairs),
        ("ListInvitations", lists[3]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(calls, want);
    env.stop().await;
}

#[tokio::test]
async fn every_page_of_detectors_and_members_is_read() {
    let env = env(WorldOptions {
        guardduty: gd::Options {
            detector_page: 1,
            member_page: 2,
            ..gd::Options::default()
        },
        ..WorldOptions::default()
    })
    .await;
    let (accounts, _) = ids(&env);
    let (mgmt, member) = (accounts[0].clone(), accounts[1].clone());
    let three: Vec<Detector> = (0..3)
        .map(|i| Detector {
            id: format!("{i:032x}"),
            status: if i == 1 { "DISABLED" } else { "ENABLED" }.into(),
        })
        .collect();
    env.sim.world(|w| {
        w.guardduty
            .set_detectors(&member, "eu-west-1", three.clone())
    });
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    assert_eq!(
        s.get(
            "aws_guardduty_detectors",
            &[("account_id", &member), ("region", "eu-west-1")]
        ),
        Some(3.0)
    );
    for d in &three {
        let l = [
            ("account_id", member.as_str()),
            ("region", "eu-west-1"),
            ("detector_id", d.id.as_str()),
        ];
        assert_eq!(
            s.get("aws_guardduty_detector_enabled", &l),
            Some(if d.status == "ENABLED" { 1.0 } else { 0.0 })
        );
    }
    // Five members, two a page: three pages, and all five counted.
    let total: f64 = s
        .matching(
            "aws_guardduty_members",
            &[("account_id", &mgmt), ("region", "us-east-1")],
        )
        .iter()
        .map(|x| x.1)
        .sum();
    assert_eq!(total, 5.0);
    // AWS allows one detector per account and region: the first one's contents are read, and
    // the run says so.
    assert!(
        notes(&env, &member, "eu-west-1")
            .iter()
            .any(|n| n.starts_with("3 detectors listed where AWS allows one")
                && n.contains(&three[0].id)),
        "{:?}",
        notes(&env, &member, "eu-west-1")
    );
    let (pairs, detectors) = env.sim.world(|w| {
        let mut pairs = 0;
        let mut detectors = 0;
        for a in &w.accounts {
            for r in &w.opts.regions {
                pairs += 1;
                detectors += gd::detectors(w, &a.id, r).len() as u64;
            }
        }
        (pairs, detectors)
    });
    // Three pages for the account with three detectors, one for every other pair.
    assert_eq!(env.sim.calls("ListDetectors"), pairs + 2);
    // Three pages for the administrator, one for every other detector but the two read past.
    assert_eq!(env.sim.calls("ListMembers"), detectors + 2 - 2);
    env.stop().await;
}

#[tokio::test]
async fn a_detector_deleted_mid_cycle_is_dropped_but_a_refused_one_fails_the_run() {
    let env = env(WorldOptions::default()).await;
    let (accounts, _) = ids(&env);
    let member = accounts[1].clone();
    let key = [("account_id", member.as_str()), ("region", "us-east-1")];
    let det = env.sim.world(|w| gd::detectors(w, &member, "us-east-1"))[0]
        .id
        .clone();
    let before = env.scrape().await;
    assert_eq!(before.get("aws_guardduty_detectors", &key), Some(1.0));

    env.sim
        .world(|w| w.guardduty.vanish_after_list(&member, "us-east-1"));
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0, "a vanished detector is no failure");
    let s = env.scrape().await;
    assert_eq!(s.up("guardduty", &member, "us-east-1"), Some(1.0));
    assert_eq!(s.get("aws_guardduty_detectors", &key), Some(0.0));
    assert!(s.matching("aws_guardduty_findings", &key).is_empty());
    assert!(s
        .matching("aws_guardduty_detector_enabled", &[("detector_id", &det)])
        .is_empty());
    assert!(
        notes(&env, &member, "us-east-1")
            .iter()
            .any(|n| n.contains(&det) && n.contains("deleted")),
        "{:?}",
        notes(&env, &member, "us-east-1")
    );
    // The BadRequestException cost one more ListDetectors to confirm the deletion.
    let pairs = env.sim.world(|w| w.accounts.len() * w.opts.regions.len()) as u64;
    assert_eq!(env.sim.calls("ListDetectors"), pairs + 1);

    // A detector still listed but refused is not silently dropped: the run fails and the last
    // good values stay.
    let other = accounts[2].clone();
    let odet = env.sim.world(|w| gd::detectors(w, &other, "us-east-1"))[0]
        .id
        .clone();
    env.sim.world(|w| w.guardduty.ghost_detector(&odet));
    assert_eq!(env.cycle().await, 1);
    let s = env.scrape().await;
    assert_eq!(s.up("guardduty", &other, "us-east-1"), Some(0.0));
    assert_eq!(
        s.get(
            "aws_guardduty_detectors",
            &[("account_id", &other), ("region", "us-east-1")]
        ),
        Some(1.0)
    );
    let status = env.app.store.status();
    let row = status
        .iter()
        .find(|r| r.key.account_id == other && r.key.region == "us-east-1")
        .unwrap();
    let e = row.last_error().expect("failed");
    assert_eq!(e.kind.as_str(), "service_error", "{}", e.message);
    assert!(e.message.contains("GetDetector"), "{}", e.message);
    env.stop().await;
}

#[tokio::test]
async fn access_denied_marks_the_target_down_and_names_the_permission() {
    let env = env(WorldOptions::default()).await;
    let (accounts, _) = ids(&env);
    // Member 1 has GuardDuty in us-east-1 only; member 2 in both regions.
    let (m1, m2) = (accounts[1].clone(), accounts[2].clone());
    assert_eq!(
        env.sim.world(|w| (
            gd::detectors(w, &m1, "us-east-1").len(),
            gd::detectors(w, &m1, "eu-west-1").len()
        )),
        (1, 0)
    );
    env.sim.add_fault(
        FaultRule::always(Fault::AccessDenied)
            .operation("GetFindingsStatistics")
            .account(&m1),
    );
    env.sim.add_fault(
        FaultRule::always(Fault::AccessDenied)
            .operation("ListDetectors")
            .account(&m2),
    );
    assert_eq!(env.cycle().await, 3);
    let s = env.scrape().await;
    assert_eq!(s.up("guardduty", &m1, "us-east-1"), Some(0.0));
    assert_eq!(s.up("guardduty", &m1, "eu-west-1"), Some(1.0));
    assert_eq!(s.up("guardduty", &m2, "us-east-1"), Some(0.0));
    assert_eq!(s.up("guardduty", &m2, "eu-west-1"), Some(0.0));
    assert_eq!(s.up("guardduty", &accounts[0], "us-east-1"), Some(1.0));
    let status = env.app.store.status();
    for (a, r, op) in [
        (&m1, "us-east-1", "GetFindingsStatistics"),
        (&m2, "us-east-1", "ListDetectors"),
        (&m2, "eu-west-1", "ListDetectors"),
    ] {
        let row = status
            .iter()
            .find(|row| &row.key.account_id == a && row.key.region == r)
            .unwrap();
        let e = row.last_error().expect("failed");
        assert_eq!(e.kind.as_str(), "access_denied", "{}", e.message);
        assert!(
            e.message
                .contains(&format!("missing permission guardduty:{op}")),
            "{}",
            e.message
        );
    }
    env.stop().await;
}

#[tokio::test]
async fn odd_severities_and_values_aws_may_add_are_kept() {
    let env = env(WorldOptions::default()).await;
    let (accounts, _) = ids(&env);
    let (mgmt, m1, m4) = (
        accounts[0].clone(),
        accounts[1].clone(),
        accounts[4].clone(),
    );
    env.sim.world(|w| {
        w.guardduty.set_findings(
            &mgmt,
            "eu-west-1",
            vec![
                (0.5, 2),
                (3.95, 4),
                (6.95, 1),
                (7.0, 3),
                (8.9, 5),
                (11.0, 1),
                (f64::NAN, 1),
            ],
        );
        w.guardduty.set_relationship(&m1, "us-east-1", "Suspended");
        w.guardduty.set_detectors(
            &m4,
            "eu-west-1",
            vec![Detector {
                id: "f".repeat(32),
                status: "SUSPENDED".into(),
            }],
        );
    });
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    assert_eq!(
        findings(&s, &mgmt, "eu-west-1"),
        [Some(6.0), Some(1.0), Some(8.0), Some(2.0)]
    );
    let n = notes(&env, &mgmt, "eu-west-1");
    assert!(n.iter().any(|x| x.contains("severity 0.5")), "{n:?}");
    assert!(n.iter().any(|x| x.contains("severity 11")), "{n:?}");
    assert!(n.iter().any(|x| x.contains("severity NaN")), "{n:?}");

    let l = [("account_id", mgmt.as_str()), ("region", "us-east-1")];
    let mut raw = l.to_vec();
    raw.push(("relationship_status", "Suspended"));
    assert_eq!(s.get("aws_guardduty_members", &raw), Some(1.0));
    let mut enabled = l.to_vec();
    enabled.push(("relationship_status", "Enabled"));
    assert_eq!(s.get("aws_guardduty_members", &enabled), Some(1.0));
    assert_eq!(
        s.get(
            "aws_guardduty_administrator_relationship",
            &[
                ("account_id", &m1),
                ("region", "us-east-1"),
                ("administrator_account_id", &mgmt),
                ("relationship_status", "Suspended"),
            ]
        ),
        Some(1.0)
    );

    let f = "f".repeat(32);
    let dl = [
        ("account_id", m4.as_str()),
        ("region", "eu-west-1"),
        ("detector_id", f.as_str()),
    ];
    // A status AWS may add is not ENABLED: the detector counts as not enabled.
    assert_eq!(s.get("aws_guardduty_detector_enabled", &dl), Some(0.0));
    assert!(s.matching("aws_guardduty_detector_status", &[]).is_empty());
    env.stop().await;
}

#[tokio::test]
async fn a_next_token_that_repeats_itself_fails_the_run_instead_of_looping() {
    let env = env(WorldOptions::default()).await;
    let (accounts, _) = ids(&env);
    let m1 = accounts[1].clone();
    // Every ListDetectors answer of member 1 in us-east-1 points at the page it was asked for.
    env.sim.add_fault(
        FaultRule::always(Fault::Body {
            status: 200,
            content_type: "application/json".into(),
            body: bytes::Bytes::from_static(br#"{"detectorIds":["d1"],"nextToken":"again"}"#),
        })
        .operation("ListDetectors")
        .account(&m1)
        .region("us-east-1"),
    );
    assert_eq!(env.cycle().await, 1);
    let status = env.app.store.status();
    let row = status
        .iter()
        .find(|row| row.key.account_id == m1 && row.key.region == "us-east-1")
        .unwrap();
    let e = row.last_error().expect("failed");
    assert_eq!(e.kind.as_str(), "malformed_response", "{}", e.message);
    assert!(
        e.message.contains("ListDetectors")
            && e.message
                .contains("the answer repeats the nextToken it was asked with"),
        "{}",
        e.message
    );
    env.stop().await;
}
