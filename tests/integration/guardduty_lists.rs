//! `guardduty`'s slower lists against the simulator: threat-intel and trusted IP sets,
//! suppression rules and whether they can hide high-severity findings, pending invitations and
//! the publishing frequency, in both modes; read every `lists_interval` rather than every run;
//! each list a part of its own, so a failing ListFilters does not hide the sets.

use aws_sim::guardduty as gd;
use aws_sim::guardduty_lists::{self as gl, SET_STATUSES};
use aws_sim::{Fault, FaultRule, Sim, WorldOptions};
use posture_exporter::config::Config;

use crate::common::{only, yaml_for, Env, Scrape};

async fn on_demand(world: WorldOptions, collectors: &str) -> Env {
    let sim = Sim::start(world).await.expect("simulator starts");
    let yaml = yaml_for(&sim, collectors, "");
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    Env::start_on_demand(sim, cfg).await
}

/// Accounts mode, every run 10 minutes apart: lists are due on the first run only (30m).
fn accounts_every_10m() -> String {
    only(&["guardduty"], "10m")
}

fn admin_every_10m() -> String {
    only(&[], "10m").replace(
        "  guardduty:\n    enabled: false\n    interval: 10m\n",
        "  guardduty:\n    enabled: true\n    interval: 10m\n    mode: administrator\n    regions: [us-east-1, eu-west-1]\n",
    )
}

fn set_state(
    s: &Scrape,
    family: &str,
    l: &[(&str, &str)],
    set: &gl::ListSet,
) -> Vec<(String, f64)> {
    let mut got = Vec::new();
    for st in SET_STATUSES.iter().copied().chain(["QUARANTINED"]) {
        let mut k = l.to_vec();
        k.push(("set_id", set.id.as_str()));
        k.push(("set_name", set.name.as_str()));
        k.push(("status", st));
        if let Some(v) = s.get(family, &k) {
            got.push((st.to_string(), v));
        }
    }
    got
}

/// A set's series: its current status alone.
fn want_state(status: &str) -> Vec<(String, f64)> {
    vec![(status.to_string(), 1.0)]
}

#[tokio::test]
async fn every_list_of_every_detector_is_exported_in_accounts_mode() {
    let env = on_demand(WorldOptions::default(), &accounts_every_10m()).await;
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let (accounts, regions) = env.sim.world(|w| {
        (
            w.accounts.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
            w.opts.regions.clone(),
        )
    });
    let (mut detectors, mut sets, mut ips, mut filters, mut with_invitations) = (0, 0, 0, 0, 0);
    let (mut error_sets, mut hiding, mut pending_total) = (0, 0, 0.0);
    let (mut managed_detectors, mut unmanaged_detectors) = (0, 0);
    for a in &accounts {
        for r in &regions {
            let (dets, tis, ipl, fl, inv, freq, managed) = env.sim.world(|w| {
                (
                    gd::detectors(w, a, r),
                    gl::threat_intel_sets(w, a, r),
                    gl::ip_sets(w, a, r),
                    gl::filters(w, a, r),
                    gl::invitations(w, a, r),
                    gl::publishing_frequency(w, a, r),
                    // A member of an associated administrator sees the administrator's sets.
                    gl::set_owner(w, a, r) != *a,
                )
            });
            let ar = [("account_id", a.as_str()), ("region", r.as_str())];
            // Invitations are read wherever the job runs, GuardDuty on or off.
            let pending = s.get("aws_guardduty_pending_invitations", &ar);
            assert_eq!(
                pending,
                (!inv.is_empty()).then_some(inv.len() as f64),
                "{a} {r}"
            );
            pending_total += inv.len() as f64;
            let oldest = inv.iter().map(|i| i.invited_at).reduce(f64::min);
            assert_eq!(
                s.get(
                    "aws_guardduty_pending_invitation_oldest_timestamp_seconds",
                    &ar
                ),
                oldest,
                "{a} {r}"
            );
            if !inv.is_empty() {
                with_invitations += 1;
            }
            for _ in &dets {
                detectors += 1;
                let l = [("account_id", a.as_str()), ("region", r.as_str())];
                for f in gl::FREQUENCIES {
                    let mut k = l.to_vec();
                    k.push(("frequency", f));
                    assert_eq!(
                        s.get("aws_guardduty_finding_publishing_frequency", &k),
                        (f == freq).then_some(1.0)
                    );
                }
                if managed {
                    // Its sets are the administrator's: not read, not exported here.
                    managed_detectors += 1;
                    for family in [
                        "aws_guardduty_threat_intel_set_status",
                        "aws_guardduty_ip_set_status",
                    ] {
                        assert!(s.matching(family, &l).is_empty(), "{family} {a} {r}");
                    }
                } else {
                    unmanaged_detectors += 1;
                }
                let (tis, ipl) = if managed {
                    (Vec::new(), Vec::new())
                } else {
                    (tis.clone(), ipl.clone())
                };
                assert_eq!(
                    s.matching("aws_guardduty_threat_intel_set_status", &l)
                        .len(),
                    tis.len()
                );
                for set in &tis {
                    assert_eq!(
                        set_state(&s, "aws_guardduty_threat_intel_set_status", &l, set),
                        want_state(set.status),
                        "{a} {r} {set:?}"
                    );
                    if set.status == "ERROR" {
                        error_sets += 1;
                    }
                }
                sets += tis.len();
                for set in &ipl {
                    assert_eq!(
                        set_state(&s, "aws_guardduty_ip_set_status", &l, set),
                        want_state(set.status),
                        "{a} {r} {set:?}"
                    );
                }
                ips += ipl.len();
                let archiving: Vec<&gl::Filter> =
                    fl.iter().filter(|f| f.action == "ARCHIVE").collect();
                assert_eq!(
                    s.get("aws_guardduty_archive_filters", &l),
                    Some(archiving.len() as f64)
                );
                assert_eq!(
                    s.matching("aws_guardduty_archive_filter_can_hide_high", &l)
                        .len(),
                    archiving.iter().filter(|f| f.can_hide_high).count(),
                    "saved (NOOP) filters are not suppression rules, and one that cannot hide \
                     a high finding has no series"
                );
                for f in archiving {
                    let mut k = l.to_vec();
                    k.push(("filter", f.name));
                    assert_eq!(
                        s.get("aws_guardduty_archive_filter_can_hide_high", &k),
                        f.can_hide_high.then_some(1.0),
                        "{a} {r} {}",
                        f.name
                    );
                    if f.can_hide_high {
                        hiding += 1;
                    }
                }
                filters += fl.len();
            }
            if dets.is_empty() {
                assert!(s.matching("aws_guardduty_archive_filters", &ar).is_empty());
            }
        }
    }
    assert!(error_sets >= 1 && hiding >= 1 && pending_total >= 2.0);
    assert!(
        managed_detectors >= 1,
        "no member of an associated administrator"
    );

    // The calls of a run that reads the lists: per detector one page of each list and a Get per
    // entry; per account and region GetInvitationsCount, and ListInvitations where any is
    // pending.
    let pairs = (accounts.len() * regions.len()) as u64;
    for (op, n) in [
        ("ListThreatIntelSets", unmanaged_detectors),
        ("GetThreatIntelSet", sets),
        ("ListIPSets", unmanaged_detectors),
        ("GetIPSet", ips),
        ("ListFilters", detectors),
        ("GetFilter", filters),
        ("GetInvitationsCount", pairs as usize),
        ("ListInvitations", with_invitations),
    ] {
        assert_eq!(env.sim.calls(op), n as u64, "{op}");
    }

    // The next run, ten minutes later by its schedule, reads none of them, and exports them
    // all the same.
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    for op in [
        "ListThreatIntelSets",
        "GetThreatIntelSet",
        "ListIPSets",
        "GetIPSet",
        "ListFilters",
        "GetFilter",
        "GetInvitationsCount",
        "ListInvitations",
    ] {
        assert_eq!(env.sim.calls(op), 0, "{op}");
    }
    assert!(env.sim.calls("GetDetector") > 0);
    let again = env.scrape().await;
    for family in [
        "aws_guardduty_threat_intel_set_status",
        "aws_guardduty_ip_set_status",
        "aws_guardduty_archive_filters",
        "aws_guardduty_archive_filter_can_hide_high",
        "aws_guardduty_pending_invitations",
        "aws_guardduty_pending_invitation_oldest_timestamp_seconds",
    ] {
        let before = s.matching(family, &[]);
        assert!(!before.is_empty(), "{family}");
        assert_eq!(again.matching(family, &[]), before, "{family}");
    }
    env.stop().await;
}

#[tokio::test]
async fn every_page_of_every_list_is_read() {
    let env = on_demand(
        WorldOptions {
            guardduty: gd::Options {
                list_page: 1,
                ..gd::Options::default()
            },
            ..WorldOptions::default()
        },
        &accounts_every_10m(),
    )
    .await;
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    let (mgmt, r) = env.sim.world(|w| (w.management().id.clone(), "eu-west-1"));
    let (tis, fl) = env
        .sim
        .world(|w| (gl::threat_intel_sets(w, &mgmt, r), gl::filters(w, &mgmt, r)));
    assert!(tis.len() >= 2 && fl.len() >= 2, "{tis:?} {fl:?}");
    let l = [("account_id", mgmt.as_str()), ("region", r)];
    assert_eq!(
        s.matching("aws_guardduty_threat_intel_set_status", &l)
            .len(),
        tis.len(),
        "one series a set"
    );
    let archiving = fl.iter().filter(|f| f.action == "ARCHIVE").count();
    assert_eq!(
        s.get("aws_guardduty_archive_filters", &l),
        Some(archiving as f64)
    );
    // One entry a page: as many pages as entries (one for an empty list).
    let total = |f: &dyn Fn(&aws_sim::World, &str, &str) -> usize, sets_too: bool| -> u64 {
        env.sim.world(|w| {
            let mut n = 0;
            for a in &w.accounts {
                for r in &w.opts.regions {
                    // Members of an associated administrator read no sets; filters everywhere.
                    let reads = sets_too || gl::set_owner(w, &a.id, r) == a.id;
                    if !gd::detectors(w, &a.id, r).is_empty() && reads {
                        n += f(&*w, &a.id, r.as_str()).max(1) as u64;
                    }
                }
            }
            n
        })
    };
    assert_eq!(
        env.sim.calls("ListThreatIntelSets"),
        total(&|w, a, r| gl::threat_intel_sets(w, a, r).len(), false)
    );
    assert_eq!(
        env.sim.calls("ListFilters"),
        total(&|w, a, r| gl::filters(w, a, r).len(), true)
    );
    env.stop().await;
}

#[tokio::test]
async fn a_failing_list_filters_leaves_the_sets_exported_and_is_read_again_next_run() {
    let env = on_demand(WorldOptions::default(), &accounts_every_10m()).await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    let (det, fl) = env.sim.world(|w| {
        (
            gd::detectors(w, &mgmt, "us-east-1")[0].id.clone(),
            gl::filters(w, &mgmt, "us-east-1"),
        )
    });
    let l = [("account_id", mgmt.as_str()), ("region", "us-east-1")];
    env.sim.add_fault(
        FaultRule::always(Fault::Http500)
            .operation("ListFilters")
            .account(&mgmt)
            .region("us-east-1"),
    );
    assert_eq!(
        env.cycle().await,
        1,
        "only the management account's us-east-1 job is partial"
    );
    let s = env.scrape().await;
    assert_eq!(s.up("guardduty", &mgmt, "us-east-1"), Some(0.0));
    assert!(!s
        .matching("aws_guardduty_threat_intel_set_status", &l)
        .is_empty());
    assert!(!s.matching("aws_guardduty_ip_set_status", &l).is_empty());
    assert_eq!(
        s.get(
            "aws_guardduty_detector_enabled",
            &[l[0], l[1], ("detector_id", det.as_str())]
        ),
        Some(1.0)
    );
    assert!(s.matching("aws_guardduty_archive_filters", &l).is_empty());
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.account_id == mgmt && r.key.region == "us-east-1")
        .unwrap();
    let e = row.last_error().expect("the partial run is reported");
    assert_eq!(e.kind.as_str(), "service_error", "{}", e.message);
    assert!(
        e.message
            .contains(&format!("part `filters of detector {det}`"))
            && e.message.contains("ListFilters"),
        "{}",
        e.message
    );
    assert_eq!(row.failed_parts.len(), 1, "{:?}", row.failed_parts);

    // A failed list is read again on the next run, not a lists_interval later; the others wait.
    env.sim.clear_faults();
    env.sim.reset_calls();
    assert_eq!(env.cycle().await, 0);
    assert_eq!(env.sim.calls("ListFilters"), 1);
    assert_eq!(env.sim.calls("ListThreatIntelSets"), 0);
    let s = env.scrape().await;
    assert_eq!(s.up("guardduty", &mgmt, "us-east-1"), Some(1.0));
    let archiving = fl.iter().filter(|f| f.action == "ARCHIVE").count();
    assert_eq!(
        s.get("aws_guardduty_archive_filters", &l),
        Some(archiving as f64)
    );
    env.stop().await;
}

#[tokio::test]
async fn statuses_aws_may_add_and_a_missing_required_member_are_handled() {
    let env = on_demand(WorldOptions::default(), &accounts_every_10m()).await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    env.sim.add_fault(
        FaultRule::always(Fault::UnknownEnum {
            field: "status".into(),
            value: "QUARANTINED".into(),
        })
        .operation("GetThreatIntelSet")
        .account(&mgmt)
        .region("us-east-1"),
    );
    env.sim.add_fault(
        FaultRule::always(Fault::MissingField("action".into()))
            .operation("GetFilter")
            .account(&mgmt)
            .region("us-east-1"),
    );
    assert_eq!(env.cycle().await, 1);
    let s = env.scrape().await;
    let tis = env
        .sim
        .world(|w| gl::threat_intel_sets(w, &mgmt, "us-east-1"));
    let l = [("account_id", mgmt.as_str()), ("region", "us-east-1")];
    for set in &tis {
        let got = set_state(&s, "aws_guardduty_threat_intel_set_status", &l, set);
        assert_eq!(
            got,
            want_state("QUARANTINED"),
            "under its own spelling, alone"
        );
    }
    // A filter without its action cannot be judged: the part fails rather than guess.
    assert!(s.matching("aws_guardduty_archive_filters", &l).is_empty());
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.account_id == mgmt && r.key.region == "us-east-1")
        .unwrap();
    let e = row.last_error().expect("reported");
    assert_eq!(e.kind.as_str(), "malformed_response", "{}", e.message);
    env.stop().await;
}

#[tokio::test]
async fn administrator_mode_reads_the_administrators_lists_and_members_invitations() {
    // The management account administers both regions, as an organization's administrator does.
    let mut world = WorldOptions::default();
    world.guardduty.admin_all_regions = true;
    let env = on_demand(world, &admin_every_10m()).await;
    env.sim.reset_calls();
    let failed = env.cycle().await;
    let errors: Vec<String> = env
        .app
        .store
        .status()
        .into_iter()
        .filter_map(|r| r.last_error().map(|e| e.message))
        .collect();
    assert_eq!(failed, 0, "{errors:?}");
    let s = env.scrape().await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    for r in ["us-east-1", "eu-west-1"] {
        let (tis, fl, freq) = env.sim.world(|w| {
            (
                gl::threat_intel_sets(w, &mgmt, r),
                gl::filters(w, &mgmt, r),
                gl::publishing_frequency(w, &mgmt, r),
            )
        });
        let l = [("account_id", mgmt.as_str()), ("region", r)];
        for set in &tis {
            assert_eq!(
                set_state(&s, "aws_guardduty_threat_intel_set_status", &l, set),
                want_state(set.status)
            );
        }
        let archiving = fl.iter().filter(|f| f.action == "ARCHIVE").count();
        assert_eq!(
            s.get("aws_guardduty_archive_filters", &l),
            Some(archiving as f64)
        );
        let mut k = l.to_vec();
        k.push(("frequency", freq));
        assert_eq!(
            s.get("aws_guardduty_finding_publishing_frequency", &k),
            Some(1.0)
        );
    }
    // Only the administrator's lists: no member's.
    for family in [
        "aws_guardduty_threat_intel_set_status",
        "aws_guardduty_archive_filters",
        "aws_guardduty_finding_publishing_frequency",
    ] {
        for (k, _) in s.matching(family, &[]) {
            assert!(k.contains(&format!("account_id=\"{mgmt}\"")), "{k}");
        }
    }
    // Invitations from ListMembers: 1 for each member still Invited, with the time it was sent.
    let members = env.sim.world(|w| gd::members(w, &mgmt, "us-east-1"));
    let mut invited = 0;
    for m in &members {
        let ar = [
            ("account_id", m.account_id.as_str()),
            ("region", "us-east-1"),
        ];
        let is = m.relationship_status == "Invited";
        assert_eq!(
            s.get("aws_guardduty_pending_invitations", &ar),
            is.then_some(1.0)
        );
        let at = env
            .sim
            .world(|w| gl::invited_at(w, &m.account_id, "us-east-1"));
        assert_eq!(
            s.get(
                "aws_guardduty_pending_invitation_oldest_timestamp_seconds",
                &ar
            ),
            is.then_some(at)
        );
        invited += usize::from(is);
    }
    assert!(invited >= 1);
    // No member is called, and the administrator reads no invitations of its own.
    assert_eq!(env.sim.calls("GetInvitationsCount"), 0);
    assert_eq!(env.sim.calls("ListThreatIntelSets"), 2);
    assert_eq!(env.sim.calls("ListFilters"), 2);
    assert_eq!(env.sim.calls("AssumeRole"), 0);
    env.stop().await;
}

/// A member whose administrator relationship could not be read this run (GetAdministratorAccount
/// refused) keeps what the last good run learnt: it still reads none of its administrator's
/// sets, so no set series appears for it for one run (the soak caught this under throttling).
#[tokio::test]
async fn a_failed_members_part_keeps_a_member_from_reading_its_administrators_sets() {
    let env = on_demand(WorldOptions::default(), &accounts_every_10m()).await;
    assert_eq!(env.cycle().await, 0);
    let (member, region) = managed_member(&env);
    let sets = |s: &Scrape| sets_of(s, &member, &region);
    assert_eq!(sets(&env.scrape().await), 0);
    env.sim.add_fault(
        FaultRule::always(Fault::AccessDenied)
            .operation("GetAdministratorAccount")
            .account(&member)
            .region(&region),
    );
    env.sim.reset_calls();
    assert_eq!(
        env.cycle().await,
        1,
        "the member's job fails its members part"
    );
    assert_eq!(sets(&env.scrape().await), 0);
    env.stop().await;
}

#[tokio::test]
async fn a_member_whose_first_members_read_fails_for_a_passing_cause_reads_no_sets() {
    // A job that knows nothing yet of its account (its first run, or its first after a reload
    // restarted it) and whose GetAdministratorAccount fails for a passing cause must not read
    // the sets: on a managed member they are its administrator's.
    let env = on_demand(WorldOptions::default(), &accounts_every_10m()).await;
    let (member, region) = managed_member(&env);
    let sets = |s: &Scrape| sets_of(s, &member, &region);
    env.sim.add_fault(
        FaultRule::always(Fault::Http503)
            .operation("GetAdministratorAccount")
            .account(&member)
            .region(&region),
    );
    assert_eq!(env.cycle().await, 1, "the member's members part fails");
    assert_eq!(sets(&env.scrape().await), 0, "no sets read while unknown");
    env.sim.clear_faults();
    assert_eq!(env.cycle().await, 0);
    assert_eq!(sets(&env.scrape().await), 0, "a managed member reads none");
    env.stop().await;
}

/// The other side: an account whose sets are its own, its job restarted by a reload (so it
/// knows nothing yet of the account) and its members read failing for a passing cause. Its sets
/// are not read, and not dropped either: their parts fail with that cause and the store keeps
/// what they last exported, until a run learns the account is not a managed member.
#[tokio::test]
async fn an_own_accounts_sets_stay_through_a_restart_and_a_passing_members_failure() {
    let sim = Sim::start(WorldOptions::default())
        .await
        .expect("simulator starts");
    let yaml = yaml_for(&sim, &accounts_every_10m(), "");
    let cfg = Config::from_yaml_str(&yaml).unwrap();
    let env = Env::start_on_demand(sim, cfg).await;
    let (account, region) = find_pair(&env, "an account with sets of its own", |w, a, r| {
        gl::set_owner(w, a, r) == a
            && !gd::detectors(w, a, r).is_empty()
            && !(gl::ip_sets(w, a, r).is_empty() && gl::threat_intel_sets(w, a, r).is_empty())
    });
    assert_eq!(env.cycle().await, 0);
    let before = sets_of(&env.scrape().await, &account, &region);
    assert!(before > 0);
    // A new lists_interval restarts every GuardDuty job: what they learned is gone.
    let changed = yaml.replace(
        "  guardduty:\n    enabled: true\n    interval: 10m\n",
        "  guardduty:\n    enabled: true\n    interval: 10m\n    lists_interval: 20m\n",
    );
    assert_ne!(changed, yaml, "the section changed");
    env.app
        .reload(Config::from_yaml_str(&changed).unwrap())
        .await;
    for op in ["ListMembers", "GetAdministratorAccount"] {
        env.sim.add_fault(
            FaultRule::always(Fault::Http503)
                .operation(op)
                .account(&account)
                .region(&region),
        );
    }
    assert_eq!(env.cycle().await, 1, "that job's members part fails");
    assert_eq!(
        sets_of(&env.scrape().await, &account, &region),
        before,
        "kept, not dropped"
    );
    let failed: Vec<String> = env
        .app
        .store
        .status()
        .iter()
        .filter(|j| j.key.account_id == account && j.key.region == region)
        .flat_map(|j| j.failed_parts.iter().map(|p| p.name.clone()))
        .collect();
    assert!(
        failed
            .iter()
            .any(|p| p.starts_with("threat intel sets of detector"))
            && failed
                .iter()
                .any(|p| p.starts_with("trusted IP sets of detector")),
        "{failed:?}"
    );
    env.sim.clear_faults();
    assert_eq!(env.cycle().await, 0);
    assert_eq!(sets_of(&env.scrape().await, &account, &region), before);
    env.stop().await;
}

/// A member (account, region) of an associated administrator, with a detector: its sets are the
/// administrator's.
fn managed_member(env: &Env) -> (String, String) {
    find_pair(env, "a member of an associated administrator", |w, a, r| {
        gl::set_owner(w, a, r) != a && !gd::detectors(w, a, r).is_empty()
    })
}

/// The first (account, region) of the simulated world for which `pred` holds.
fn find_pair(
    env: &Env,
    what: &str,
    pred: impl Fn(&aws_sim::World, &str, &str) -> bool,
) -> (String, String) {
    env.sim.world(|w| {
        w.accounts
            .iter()
            .flat_map(|a| {
                w.opts
                    .regions
                    .iter()
                    .map(move |r| (a.id.as_str(), r.as_str()))
            })
            .find(|(a, r)| pred(w, a, r))
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .unwrap_or_else(|| panic!("no {what}"))
    })
}

/// How many threat-intel and trusted IP set series `member` exports in `region`.
fn sets_of(s: &Scrape, member: &str, region: &str) -> usize {
    let at = [("account_id", member), ("region", region)];
    s.matching("aws_guardduty_ip_set_status", &at).len()
        + s.matching("aws_guardduty_threat_intel_set_status", &at)
            .len()
}
