//! Organization scale: discovery, fan-out through AssumeRole, rate limits, sharding.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sim::{Sim, SimRateLimit, WorldOptions};
use posture_exporter::config::Config;
use posture_exporter::metrics::Format;

use crate::common::{get, only, Env, Scrape};

fn regions(n: usize) -> Vec<String> {
    ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"][..n]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A discovery config for `sim`.
fn discovery_yaml(sim: &Sim, extra_target: &str, extra_top: &str) -> String {
    let regions = sim.world(|w| w.opts.regions.join(", "));
    format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 8\n  attempt_timeout: 5s\n  operation_timeout: 60s\n  max_concurrent_calls: 64\n{extra_top}targets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: [{regions}]\n{extra_target}collectors:\n{}",
        sim.url(),
        only(&["config_recorder"], "1h")
    )
}

async fn start(world: WorldOptions, extra_target: &str, extra_top: &str) -> Env {
    let sim = Sim::start(world).await.unwrap();
    let yaml = discovery_yaml(&sim, extra_target, extra_top);
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_config(sim, cfg).await;
    let t = std::time::Instant::now();
    // A debug build on a shared 2-core machine: generous, this is not a timing test.
    env.wait_ready_for(Duration::from_secs(300)).await;
    eprintln!(
        "first cycle over {} jobs took {:?}",
        env.app.store.keys().len(),
        t.elapsed()
    );
    env
}

fn accounts_in(s: &Scrape) -> BTreeSet<String> {
    s.label_values("aws_config_recorders", "account_id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_accounts_in_four_regions_complete_a_cycle() {
    let env = start(
        WorldOptions {
            members: 999,
            regions: regions(4),
            ..WorldOptions::default()
        },
        "",
        "",
    )
    .await;
    let s = env.scrape().await;
    let all: BTreeSet<String> = env
        .sim
        .world(|w| w.accounts.iter().map(|a| a.id.clone()).collect());
    assert_eq!(all.len(), 1000);
    assert_eq!(accounts_in(&s), all);
    assert_eq!(
        s.matching("aws_config_recorders", &[("kind", "customer_managed")])
            .len(),
        4000
    );
    let up: Vec<_> = s.matching(
        "posture_exporter_collector_up",
        &[("collector", "config_recorder")],
    );
    assert_eq!(up.len(), 4000);
    assert!(up.iter().all(|(_, v)| *v == 1.0));
    // One AssumeRole per member account, whatever the number of regions.
    assert_eq!(env.sim.calls("AssumeRole"), 999);
    assert_eq!(s.matching("aws_account_info", &[]).len(), 1000);
    env.stop().await;
}

#[tokio::test]
async fn accounts_that_leave_or_join_follow_without_a_restart() {
    let env = start(
        WorldOptions {
            members: 6,
            ..WorldOptions::default()
        },
        "",
        "",
    )
    .await;
    let gone = env.sim.world(|w| w.accounts[3].id.clone());
    assert!(accounts_in(&env.scrape().await).contains(&gone));
    let new = env.sim.world(|w| {
        w.remove_account(&gone);
        w.add_account()
    });
    env.app.refresh_discovery();
    let mut ok = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let s = env.scrape().await;
        let accts = accounts_in(&s);
        if !accts.contains(&gone) && accts.contains(&new) {
            ok = true;
            assert!(s
                .get(
                    "aws_account_info",
                    &[
                        ("account_id", &gone),
                        ("account_name", "member-00003"),
                        ("status", "ACTIVE")
                    ]
                )
                .is_none());
            assert!(s.up("config_recorder", &gone, "us-east-1").is_none());
            break;
        }
    }
    assert!(ok, "the removed account must vanish and the new one appear");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_absorbed_by_retries_fails_no_collection() {
    let env = start(
        WorldOptions {
            members: 20,
            ..WorldOptions::default()
        },
        "",
        "",
    )
    .await;
    // Below the demand: one call every two seconds per (account, region, operation), no burst.
    env.sim.set_rate_limit(Some(SimRateLimit {
        rate: 0.5,
        burst: 1.0,
    }));
    // Two cycles at once: a job's runs never overlap, so the second run of every job follows
    // its first at once and finds the bucket of each of its operations empty, unless the machine
    // is so loaded that the first run outlasted the refill; then the next round throttles.
    // Every round must fail no collection.
    let mut throttled = 0.0;
    let mut s = env.scrape().await;
    for round in 0..5 {
        let (a, b) = tokio::join!(env.cycle(), env.cycle());
        assert_eq!(
            (a, b),
            (0, 0),
            "round {round}: retries absorb the throttling"
        );
        s = env.scrape().await;
        throttled = s
            .matching(
                "posture_exporter_aws_api_calls_total",
                &[("outcome", "throttled")],
            )
            .iter()
            .map(|(_, v)| v)
            .sum();
        if throttled > 0.0 {
            break;
        }
    }
    assert!(
        throttled > 0.0,
        "the simulator throttled and it was counted"
    );
    let failures: f64 = s
        .matching("posture_exporter_collector_failures_total", &[])
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert_eq!(failures, 0.0);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenth_of_the_configured_rate_fails_no_collection() {
    // AWS allows a tenth of what the exporter is configured to send (another tool spends the
    // rest): STS, Config and GuardDuty each limited per (account, region) to a tenth of the
    // default rates, every operation of the service together. The exporter starts at its
    // configured rates, is throttled, slows down, and every collection still succeeds with the
    // values an unthrottled cycle read.
    let world = WorldOptions {
        members: 9,
        regions: regions(2),
        ..WorldOptions::default()
    };
    let sim = Sim::start(world).await.unwrap();
    let collectors = only(&["config_recorder", "config_compliance", "guardduty"], "1h");
    let (from, to) = crate::common::UNLIMITED_THROTTLE_RETRIES;
    let yaml = crate::common::yaml_for(&sim, &collectors, "").replace(from, to);
    let env = Env::start_on_demand(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    assert_eq!(env.cycle().await, 0);
    let posture = |s: &Scrape| -> std::collections::BTreeMap<String, f64> {
        s.samples
            .iter()
            .filter(|(k, _)| k.starts_with("aws_") && !k.contains("timestamp"))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    let baseline = posture(&env.scrape().await);
    assert!(baseline.len() > 100, "{} series", baseline.len());

    let defaults = posture_exporter::config::aws::RateLimits::default();
    for (service, rl) in [
        ("sts", defaults.sts),
        ("config", defaults.config),
        ("guardduty", defaults.guardduty),
    ] {
        env.sim.set_service_rate_limit(
            service,
            Some(SimRateLimit {
                rate: rl.rate / 10.0,
                burst: (rl.burst / 10.0).max(1.0),
            }),
        );
    }
    // A new exporter state would assume again; this one forgets its credentials only at
    // expiry, so STS sees the renewal of none: the cycle below throttles Config and GuardDuty.
    // The Config buckets' rates, watched while the cycle runs (they climb back to the ceiling
    // within seconds of the last throttle, so the end of the cycle may not show the cut).
    let limiter = env.app.limiter().await;
    let done = std::sync::atomic::AtomicBool::new(false);
    let t = std::time::Instant::now();
    let (failed, (lowest, most_slowed)) = tokio::join!(
        async {
            let failed = env.cycle().await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            failed
        },
        async {
            let (mut lowest, mut slowed) = (f64::INFINITY, 0);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some((_, r)) = limiter
                    .rates()
                    .into_iter()
                    .find(|(s, _)| *s == posture_exporter::aws::Service::Config)
                {
                    lowest = lowest.min(r.lowest);
                    slowed = slowed.max(r.slowed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (lowest, slowed)
        }
    );
    let took = t.elapsed();
    let s = env.scrape().await;
    let throttled: f64 = s
        .matching(
            "posture_exporter_aws_api_calls_total",
            &[("outcome", "throttled")],
        )
        .iter()
        .map(|(_, v)| v)
        .sum();
    eprintln!("cycle at a tenth of the rates: {took:?}, {throttled} throttled attempts");
    assert_eq!(failed, 0, "no collection fails while AWS is merely slower");
    assert!(throttled > 0.0, "the simulator throttled");
    assert!(
        lowest < defaults.config.rate && most_slowed >= 1,
        "the config buckets slowed down: lowest {lowest}, {most_slowed} slowed at once"
    );
    // And the exporter's own metrics say what the limiter says.
    let r = limiter
        .rates()
        .into_iter()
        .find(|(s, _)| *s == posture_exporter::aws::Service::Config)
        .map(|(_, r)| r)
        .unwrap();
    assert_eq!(
        s.get(
            "posture_exporter_aws_rate_limit_ceiling",
            &[("service", "config")]
        ),
        Some(r.ceiling)
    );
    let now = posture(&s);
    let changed: Vec<_> = baseline
        .iter()
        .filter(|(k, v)| now.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .take(5)
        .collect();
    assert!(
        changed.is_empty() && now.len() == baseline.len(),
        "{changed:?}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_assume_role_waits_for_its_turn_and_marks_no_account_down() {
    // STS at a tenth of its default rate for the management account, whose credentials assume
    // every member's role: a first cycle assumes them all at once and is throttled, and every
    // account comes up.
    let world = WorldOptions {
        members: 30,
        ..WorldOptions::default()
    };
    let sim = Sim::start(world).await.unwrap();
    let sts = posture_exporter::config::aws::RateLimits::default().sts;
    sim.set_service_rate_limit(
        "sts",
        Some(SimRateLimit {
            rate: 2.0,
            burst: 2.0,
        }),
    );
    let collectors = only(&["config_recorder"], "1h");
    let (from, to) = crate::common::UNLIMITED_THROTTLE_RETRIES;
    let yaml = crate::common::yaml_for(&sim, &collectors, "").replace(from, to);
    let env = Env::start_on_demand(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    assert!(
        sts.rate > 20.0,
        "the exporter is configured far above what STS allows"
    );
    assert_eq!(env.cycle().await, 0, "every account up");
    let s = env.scrape().await;
    assert!(
        s.get(
            "posture_exporter_aws_api_calls_total",
            &[
                ("service", "sts"),
                ("operation", "AssumeRole"),
                ("outcome", "throttled")
            ]
        )
        .unwrap_or(0.0)
            > 0.0,
        "AssumeRole was throttled"
    );
    assert_eq!(
        s.label_values("aws_config_recorders", "account_id").len(),
        31
    );
    env.stop().await;
}

#[tokio::test]
async fn a_failing_assume_role_takes_down_only_its_account() {
    let world = WorldOptions {
        members: 8,
        ..WorldOptions::default()
    };
    let sim = Sim::start(world).await.unwrap();
    let denied: Vec<String> = sim.world(|w| {
        let ids: Vec<String> = w.accounts[2..5].iter().map(|a| a.id.clone()).collect();
        w.assume_role_denied.extend(ids.iter().cloned());
        ids
    });
    let yaml = discovery_yaml(&sim, "", "");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    let all: Vec<String> = env
        .sim
        .world(|w| w.accounts.iter().map(|a| a.id.clone()).collect());
    for a in &all {
        for r in ["us-east-1", "eu-west-1"] {
            let want = if denied.contains(a) { 0.0 } else { 1.0 };
            assert_eq!(s.up("config_recorder", a, r), Some(want), "{a} {r}");
            assert_eq!(
                s.get(
                    "aws_config_recorders",
                    &[
                        ("account_id", a),
                        ("region", r),
                        ("kind", "customer_managed")
                    ]
                )
                .is_some(),
                !denied.contains(a)
            );
        }
    }
    for row in env.app.store.status() {
        if denied.contains(&row.key.account_id) {
            let e = row.last_error().expect("failed");
            assert_eq!(e.kind.as_str(), "credentials", "{}", e.message);
            assert!(e.message.contains(&row.key.account_id), "{}", e.message);
            assert!(
                e.message.contains(&format!(
                    "arn:aws:iam::{}:role/PostureExporterReadOnly",
                    row.key.account_id
                )),
                "{}",
                e.message
            );
            // One readable line: AWS's code and message, no raw response (headers, body).
            assert!(e.message.contains("AccessDenied"), "{}", e.message);
            assert!(
                !e.message.contains('\n')
                    && !e.message.contains("headers")
                    && !e.message.contains("SdkBody")
                    && e.message.len() < 600,
                "{} bytes: {}",
                e.message.len(),
                e.message
            );
        }
    }
    env.stop().await;
}

#[tokio::test]
async fn two_shards_cover_every_account_exactly_once() {
    let world = WorldOptions {
        members: 40,
        ..WorldOptions::default()
    };
    let sim = Sim::start(world).await.unwrap();
    let mut seen = Vec::new();
    for i in 0..2 {
        let yaml = discovery_yaml(&sim, "", &format!("shard: \"{i}/2\"\n"));
        let cfg = Config::from_yaml_str(&yaml).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = posture_exporter::app::App::start(
            cfg,
            listener,
            posture_exporter::app::AppOptions {
                mode: posture_exporter::scheduler::Mode::Loops { jitter: false },
                static_credentials: Some(crate::common::creds()),
            },
        )
        .await
        .unwrap();
        for _ in 0..400 {
            if app.store.settled() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(app.store.settled());
        let exp = app.store.refresh();
        seen.push(accounts_in(&Scrape::parse(
            std::str::from_utf8(&exp.body(Format::Prometheus, false)).unwrap(),
        )));
        app.stop().await;
    }
    let all: BTreeSet<String> = sim.world(|w| w.accounts.iter().map(|a| a.id.clone()).collect());
    assert!(seen[0].is_disjoint(&seen[1]), "no account in both shards");
    let union: BTreeSet<String> = seen[0].union(&seen[1]).cloned().collect();
    assert_eq!(union, all);
    assert!(!seen[0].is_empty() && !seen[1].is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_stays_inside_the_sts_budget_and_none_fails() {
    // STS answers 5 AssumeRoles a second from the management account; discovery asks for 30 at
    // once. The exporter's own STS bucket (4 a second) paces them below the simulator's limit.
    let sim = Sim::start(WorldOptions {
        members: 30,
        regions: regions(1),
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    sim.set_rate_limit(Some(SimRateLimit {
        rate: 5.0,
        burst: 5.0,
    }));
    let yaml = discovery_yaml(&sim, "", "  rate_limits:\n    sts: {rate: 4, burst: 4}\n");
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_config(sim, cfg).await;
    env.wait_ready_for(Duration::from_secs(120)).await;
    let calls = env.app.store.calls();
    use posture_exporter::aws::Outcome;
    assert_eq!(
        calls.get("AssumeRole", Outcome::Ok),
        30,
        "one AssumeRole per member account"
    );
    assert_eq!(
        calls.get("AssumeRole", Outcome::Throttled),
        0,
        "no AssumeRole went past STS's rate"
    );
    assert_eq!(calls.get("AssumeRole", Outcome::Error), 0);
    let s = env.scrape().await;
    assert_eq!(accounts_in(&s).len(), 31, "every account was read");
    let failures: f64 = s
        .matching("posture_exporter_collector_failures_total", &[])
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert_eq!(failures, 0.0, "no failed AssumeRole surfaced");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_starts_on_the_first_pages_while_the_rest_are_listed() {
    // 200 members are 11 pages of 20; at one listing call a second the listing takes ~10 s,
    // and the accounts of its first page are read long before the last page is listed.
    let sim = Sim::start(WorldOptions {
        members: 200,
        regions: regions(1),
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let yaml = discovery_yaml(
        &sim,
        "",
        "  rate_limits:\n    organizations: {rate: 1, burst: 1}\n",
    );
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let env = Env::start_config(sim, cfg).await;
    let t = std::time::Instant::now();
    let listing = |env: &Env| env.app.store.listings().first().map(|(_, l)| l.clone());
    let (mut read_while_listing, mut ready_while_listing) = (0, false);
    // (pages, accounts listed) as /status.json showed them mid-way.
    let mut progress: Option<(u64, u64)> = None;
    while listing(&env).is_none_or(|l| l.finished.is_none())
        && t.elapsed() < Duration::from_secs(120)
    {
        let rows = env.app.store.status();
        let done = rows.iter().filter(|r| r.last_attempt.is_some()).count();
        let ready = env.app.store.ready();
        let doc: serde_json::Value =
            serde_json::from_slice(&get(env.addr(), "/status.json", &[]).await.body).unwrap();
        let d = &doc["discovery"][0];
        // Read the state again: the listing may have ended while the rows were taken.
        if listing(&env).is_some_and(|l| l.finished.is_none()) {
            read_while_listing = read_while_listing.max(done);
            ready_while_listing |= ready;
            if d["listing"] == "listing" && d["pages"].as_u64().unwrap_or(0) >= 2 {
                progress.get_or_insert((
                    d["pages"].as_u64().unwrap(),
                    d["accounts_listed"].as_u64().unwrap(),
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listing_pages = env.sim.calls("ListAccounts");
    assert_eq!(listing_pages, 11, "one listing of 11 pages");
    assert!(
        read_while_listing >= 20,
        "the first page's 20 accounts are read before the listing ends ({read_while_listing} were)"
    );
    // Readiness: every account listed so far has been read once, before the listing ends.
    assert!(ready_while_listing, "/ready said yes while the listing ran");
    let (pages, accounts) = progress.expect("/status.json showed the listing mid-way");
    assert!((2..11).contains(&pages), "{pages} pages");
    assert_eq!(accounts, 20 * pages, "20 accounts a page");
    let doc: serde_json::Value =
        serde_json::from_slice(&get(env.addr(), "/status.json", &[]).await.body).unwrap();
    let d = &doc["discovery"][0];
    assert_eq!(d["listing"], "complete", "{d}");
    assert_eq!(
        (d["pages"].as_u64(), d["accounts_listed"].as_u64()),
        (Some(11), Some(201))
    );
    assert_eq!(d["last_complete_accounts"].as_u64(), Some(201));
    env.wait_ready_for(Duration::from_secs(120)).await;
    let calls = env.app.store.calls();
    use posture_exporter::aws::Outcome;
    // A target handed over early is the one the complete listing keeps: its jobs are not
    // restarted and its role is assumed once.
    assert_eq!(calls.get("AssumeRole", Outcome::Ok), 200);
    let s = env.scrape().await;
    assert_eq!(accounts_in(&s).len(), 201, "every account was read");
    assert_eq!(env.app.store.keys().len(), 201);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ou_filters_walk_only_the_included_subtrees_and_hand_accounts_over_as_found() {
    // 50 OUs (ten under the root, ten under each of the first five...), 199 members spread
    // over them. OU 3 holds OUs 40..49; OU 41 is excluded inside it.
    let world = WorldOptions {
        members: 199,
        regions: regions(1),
        ous: 50,
        ..WorldOptions::default()
    };
    let sim = Sim::start(world).await.unwrap();
    let (ou3, ou41, expected) = sim.world(|w| {
        let ous = w.ous();
        let subtree: BTreeSet<usize> = [3].into_iter().chain(40..50).filter(|i| *i != 41).collect();
        let expected: BTreeSet<String> = w
            .accounts
            .iter()
            .filter(|a| w.ou_of(a).is_some_and(|i| subtree.contains(&i)))
            .map(|a| a.id.clone())
            .collect();
        (ous[3].0.clone(), ous[41].0.clone(), expected)
    });
    assert!(expected.len() > 30, "{}", expected.len());
    let yaml = discovery_yaml(
        &sim,
        &format!("    include_ous: [{ou3}]\n    exclude_ous: [{ou41}]\n"),
        "",
    );
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready_for(Duration::from_secs(120)).await;
    let s = env.scrape().await;
    // The management account sits in the root, outside the included OU: not read either.
    assert_eq!(
        accounts_in(&s),
        expected,
        "exactly the accounts of the included subtree"
    );
    // The walk: OU 3 and its nine children left, each one ListAccountsForParent page (at most
    // 20 accounts) and one ListOrganizationalUnitsForParent page; nothing else of the tree, and
    // no ListAccounts or ListRoots.
    assert_eq!(env.sim.calls("ListAccountsForParent"), 10);
    assert_eq!(env.sim.calls("ListOrganizationalUnitsForParent"), 10);
    assert_eq!(env.sim.calls("ListAccounts"), 0);
    assert_eq!(env.sim.calls("ListRoots"), 0);
    let info = s.label_values("aws_account_info", "account_id");
    assert_eq!(info, expected, "aws_account_info names the accounts walked");
    env.stop().await;

    // `exclude_ous` alone: the excluded subtree is walked (one OU, two calls), then the whole
    // listing selects as it arrives.
    let world = WorldOptions {
        members: 199,
        regions: regions(1),
        ous: 50,
        ..WorldOptions::default()
    };
    let sim = Sim::start(world).await.unwrap();
    let (ou41, excluded) = sim.world(|w| {
        let excluded: BTreeSet<String> = w
            .accounts
            .iter()
            .filter(|a| w.ou_of(a) == Some(41))
            .map(|a| a.id.clone())
            .collect();
        (w.ous()[41].0.clone(), excluded)
    });
    let yaml = discovery_yaml(&sim, &format!("    exclude_ous: [{ou41}]\n"), "");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready_for(Duration::from_secs(120)).await;
    let s = env.scrape().await;
    let read = accounts_in(&s);
    assert_eq!(read.len(), 200 - excluded.len());
    assert!(read.is_disjoint(&excluded));
    assert_eq!(env.sim.calls("ListAccountsForParent"), 1);
    assert_eq!(env.sim.calls("ListOrganizationalUnitsForParent"), 1);
    assert_eq!(env.sim.calls("ListAccounts"), 10, "200 accounts, 20 a page");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ou_exception_covers_the_accounts_under_the_ou_at_every_level() {
    // OU 3 holds OUs 40..49: its exception covers the accounts of all eleven, and no other.
    let world = WorldOptions {
        members: 60,
        regions: regions(1),
        ous: 50,
        ..WorldOptions::default()
    };
    let sim = Sim::start(world).await.unwrap();
    let (ou3, expected) = sim.world(|w| {
        let subtree: BTreeSet<usize> = [3].into_iter().chain(40..50).collect();
        let expected: BTreeSet<String> = w
            .accounts
            .iter()
            .filter(|a| w.ou_of(a).is_some_and(|i| subtree.contains(&i)))
            .map(|a| a.id.clone())
            .collect();
        (w.ous()[3].0.clone(), expected)
    });
    assert!(!expected.is_empty());
    let top = format!(
        "exceptions:\n  - name: lab\n    ou: {ou3}\n    signal: guardduty\n    owner: security\n    reason: lab accounts\n    review: 2099-01-01\n"
    );
    let yaml = discovery_yaml(&sim, "", &top);
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml).unwrap()).await;
    env.wait_ready_for(Duration::from_secs(120)).await;
    // The walk follows the listing: wait for it, bounded.
    let mut s = env.scrape().await;
    for _ in 0..60 {
        if !s
            .label_values("posture_exporter_exception", "account_id")
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        s = env.scrape().await;
    }
    let covered = s.label_values("posture_exporter_exception", "account_id");
    assert_eq!(
        covered, expected,
        "the accounts under the OU, at every level"
    );
    // One exception of every region: region empty; its review date exported once.
    assert!(s
        .matching(
            "posture_exporter_exception",
            &[("exception", "lab"), ("signal", "guardduty")]
        )
        .iter()
        .all(|(l, v)| *v == 1.0 && l.contains("region=\"\"")));
    assert_eq!(
        s.get(
            "posture_exporter_exception_review_timestamp_seconds",
            &[("exception", "lab")]
        ),
        Some(4_070_908_800.0)
    );
    env.stop().await;
}
