//! `config_recorder` end to end against the simulator: values, freshness, vanishing series.

use aws_sim::{world::Recorder, Fault, FaultRule, WorldOptions};

use crate::common::{only, Env};

fn world() -> WorldOptions {
    WorldOptions {
        members: 4,
        ..WorldOptions::default()
    }
}

async fn env() -> Env {
    let env = Env::start(world(), &only(&["config_recorder"], "1h")).await;
    env.wait_ready().await;
    env
}

#[tokio::test]
async fn scrape_shows_what_the_simulator_holds_for_every_account_and_region() {
    let env = env().await;
    let s = env.scrape().await;
    let (accounts, regions) = env.sim.world(|w| {
        (
            w.accounts.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
            w.opts.regions.clone(),
        )
    });
    assert_eq!(accounts.len(), 5);
    let mut off = 0;
    for a in &accounts {
        for r in &regions {
            let recs = env.sim.world(|w| w.recorders(a, r));
            let linked = env.sim.world(|w| w.linked_recorders(a, r));
            assert_eq!(
                s.get(
                    "aws_config_recorders",
                    &[
                        ("account_id", a),
                        ("region", r),
                        ("kind", "customer_managed")
                    ]
                ),
                Some(recs.len() as f64),
                "{a} {r}"
            );
            // The service-linked count only where there are some.
            assert_eq!(
                s.get(
                    "aws_config_recorders",
                    &[("account_id", a), ("region", r), ("kind", "service_linked")]
                ),
                (!linked.is_empty()).then_some(linked.len() as f64),
                "{a} {r}"
            );
            for l in &linked {
                assert_eq!(
                    s.get(
                        "aws_config_recorder_recording",
                        &[
                            ("account_id", a),
                            ("region", r),
                            ("recorder", &l.name),
                            ("service_principal", &l.service_principal),
                            ("recording_scope", &l.recording_scope),
                        ]
                    ),
                    Some(1.0),
                    "{a} {r}"
                );
            }
            assert_eq!(s.up("config_recorder", a, r), Some(1.0), "{a} {r}");
            if recs.is_empty() {
                off += 1;
            }
            for rec in recs {
                let l = [
                    ("account_id", a.as_str()),
                    ("region", r.as_str()),
                    ("recorder", rec.name.as_str()),
                ];
                let mut lr = l.to_vec();
                lr.extend([("service_principal", ""), ("recording_scope", "PAID")]);
                assert_eq!(
                    s.get("aws_config_recorder_recording", &lr),
                    Some(if rec.recording { 1.0 } else { 0.0 })
                );
                let mut ls = l.to_vec();
                ls.push(("status", rec.last_status.as_str()));
                // Listed where it is not Success.
                assert_eq!(
                    s.get("aws_config_recorder_last_status", &ls),
                    (rec.last_status != "Success").then_some(1.0)
                );
                // When the status changed, only where it is not Success; when the recorder
                // stopped, only while it does not record.
                let change = s.get(
                    "aws_config_recorder_last_status_change_timestamp_seconds",
                    &l,
                );
                if rec.last_status == "Success" {
                    assert_eq!(change, None);
                } else {
                    let change = change.unwrap();
                    assert!(
                        (change - rec.last_status_change).abs() < 1e-3,
                        "{change} vs {}",
                        rec.last_status_change
                    );
                }
                assert_eq!(
                    s.get("aws_config_recorder_last_stop_timestamp_seconds", &l),
                    rec.last_stop.filter(|_| !rec.recording)
                );
            }
        }
    }
    assert!(
        off >= 1,
        "the generated organization has a region with Config off"
    );
    // Self-metrics: calls were counted by operation.
    assert!(
        s.get(
            "posture_exporter_aws_api_calls_total",
            &[
                ("service", "config"),
                ("operation", "DescribeConfigurationRecorderStatus"),
                ("outcome", "ok")
            ]
        )
        .unwrap()
            >= 10.0
    );
    assert!(s.text.contains("posture_exporter_build_info{version=\""));
    env.stop().await;
}

#[tokio::test]
async fn failures_keep_last_values_for_the_staleness_window_then_drop_them() {
    let env = env().await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    let member = env.sim.world(|w| w.accounts[2].id.clone());
    let before = env.scrape().await;
    let key = [
        ("account_id", member.as_str()),
        ("region", "us-east-1"),
        ("kind", "customer_managed"),
    ];
    let value = before.get("aws_config_recorders", &key).expect("present");

    // A 500 storm in one account: it alone goes down, its values stay.
    env.sim
        .add_fault(FaultRule::always(Fault::Http500).account(&member));
    assert_eq!(env.cycle().await, 2, "both regions of the member fail");
    let s = env.scrape().await;
    assert_eq!(s.up("config_recorder", &member, "us-east-1"), Some(0.0));
    assert_eq!(s.get("aws_config_recorders", &key), Some(value));
    assert_eq!(s.up("config_recorder", &mgmt, "us-east-1"), Some(1.0));
    assert_eq!(
        s.get(
            "posture_exporter_collector_stale_jobs",
            &[("collector", "config_recorder")]
        ),
        Some(2.0),
        "both regions of the member serve their last values"
    );
    // Then a throttling storm (past the retries): still kept after the second failed run.
    env.sim.clear_faults();
    env.sim
        .add_fault(FaultRule::always(Fault::Throttle).account(&member));
    env.cycle().await;
    let s = env.scrape().await;
    assert_eq!(s.get("aws_config_recorders", &key), Some(value));
    assert!(
        s.get(
            "posture_exporter_aws_api_calls_total",
            &[
                ("service", "config"),
                ("operation", "ListConfigurationRecorders"),
                ("outcome", "throttled")
            ]
        )
        .unwrap()
            >= 2.0
    );
    // Third failed run = max_stale_intervals: gone.
    env.cycle().await;
    let s = env.scrape().await;
    assert_eq!(s.get("aws_config_recorders", &key), None);
    assert_eq!(s.up("config_recorder", &member, "us-east-1"), Some(0.0));
    assert!(s
        .get(
            "aws_config_recorders",
            &[
                ("account_id", &mgmt),
                ("region", "us-east-1"),
                ("kind", "customer_managed")
            ]
        )
        .is_some());
    // Recovery brings it back.
    env.sim.clear_faults();
    assert_eq!(env.cycle().await, 0);
    let s = env.scrape().await;
    assert_eq!(s.get("aws_config_recorders", &key), Some(value));
    assert_eq!(s.up("config_recorder", &member, "us-east-1"), Some(1.0));
    env.stop().await;
}

#[tokio::test]
async fn a_vanished_recorder_vanishes_and_unknown_statuses_keep_their_spelling() {
    let env = env().await;
    let a = env.sim.world(|w| w.accounts[0].id.clone());
    let l = [
        ("account_id", a.as_str()),
        ("region", "us-east-1"),
        ("recorder", "default"),
        ("service_principal", ""),
        ("recording_scope", "PAID"),
    ];
    assert!(env
        .scrape()
        .await
        .get("aws_config_recorder_recording", &l)
        .is_some());
    env.sim.world(|w| w.set_recorders(&a, "us-east-1", vec![]));
    env.cycle().await;
    let s = env.scrape().await;
    assert_eq!(s.get("aws_config_recorder_recording", &l), None);
    assert_eq!(
        s.get(
            "aws_config_recorders",
            &[
                ("account_id", &a),
                ("region", "us-east-1"),
                ("kind", "customer_managed")
            ]
        ),
        Some(0.0)
    );

    env.sim.world(|w| {
        w.set_recorders(
            &a,
            "us-east-1",
            vec![Recorder {
                name: "custom".into(),
                recording: true,
                last_status: "SUCCESS".into(),
                last_status_change: 1_700_000_000.0,
                last_start: None,
                last_stop: None,
                last_error_code: None,
                last_error_message: None,
            }],
        )
    });
    env.cycle().await;
    let s = env.scrape().await;
    let base = [
        ("account_id", a.as_str()),
        ("region", "us-east-1"),
        ("recorder", "custom"),
    ];
    let mut raw = base.to_vec();
    raw.push(("status", "SUCCESS"));
    assert_eq!(s.get("aws_config_recorder_last_status", &raw), Some(1.0));
    let mut known = base.to_vec();
    known.push(("status", "Success"));
    assert_eq!(s.get("aws_config_recorder_last_status", &known), None);
    env.stop().await;
}

#[tokio::test]
async fn malformed_answers_fail_the_job_not_the_process() {
    let env = env().await;
    let member = env.sim.world(|w| w.accounts[1].id.clone());
    env.sim.add_fault(
        FaultRule::always(Fault::Malformed)
            .account(&member)
            .region("eu-west-1")
            .operation("DescribeConfigurationRecorderStatus"),
    );
    assert_eq!(env.cycle().await, 1);
    let status = env.app.store.status();
    let row = status
        .iter()
        .find(|r| r.key.account_id == member && r.key.region == "eu-west-1")
        .unwrap();
    let e = row.last_error().expect("failed");
    assert_eq!(e.kind.as_str(), "malformed_response", "{}", e.message);
    assert!(
        e.message.contains("DescribeConfigurationRecorderStatus"),
        "{}",
        e.message
    );
    let s = env.scrape().await;
    assert_eq!(s.up("config_recorder", &member, "us-east-1"), Some(1.0));
    env.stop().await;
}

/// `exclude_families` drops a family from `/metrics` and keeps the others; a reload that
/// excludes another drops it at once, and one that excludes it no more brings it back with the
/// next run.
#[tokio::test]
async fn an_excluded_family_is_absent_and_a_reload_applies_the_list() {
    let sim = aws_sim::Sim::start(world())
        .await
        .expect("simulator starts");
    let cfg = |exclude: &str| {
        let yaml = crate::common::yaml_for(
            &sim,
            &only(&["config_recorder"], "1h"),
            &format!("exclude_families: [{exclude}]\n"),
        );
        posture_exporter::config::Config::from_yaml_str(&yaml).expect("valid")
    };
    let first = cfg("aws_config_recorder_last_status");
    let second = cfg("aws_config_recorders");
    let env = Env::start_on_demand(sim, first).await;
    assert_eq!(env.cycle().await, 0);
    let text = scrape_text(&env).await;
    assert!(!text.contains("aws_config_recorder_last_status{"), "{text}");
    assert!(!text.contains("# HELP aws_config_recorder_last_status "));
    assert!(text.contains("aws_config_recorders{"), "{text}");
    assert!(text.contains("aws_config_recorder_last_status_change_timestamp_seconds{"));

    // Reload: exclude `aws_config_recorders` instead. It goes before any job runs again; the
    // other returns with the next run.
    env.app.reload(second).await;
    let text = scrape_text(&env).await;
    assert!(!text.contains("aws_config_recorders{"), "{text}");
    assert!(text.contains("aws_config_recorder_recording{"), "{text}");
    assert_eq!(env.cycle().await, 0);
    let text = scrape_text(&env).await;
    assert!(text.contains("aws_config_recorder_last_status{"), "{text}");
    assert!(!text.contains("aws_config_recorders{"), "{text}");
    env.stop().await;
}

async fn scrape_text(env: &Env) -> String {
    env.app.store.refresh();
    let r = crate::common::get(env.addr(), "/metrics", &[]).await;
    assert_eq!(r.status, 200);
    String::from_utf8(r.body).expect("UTF-8")
}

/// Whether Config data flows, as the simulator holds it: a service-linked recorder beside (or
/// instead of) the customer-managed one, a recorder of part of the account, failed S3
/// deliveries and rules whose evaluations fail; and nothing for the healthy ones.
#[tokio::test]
async fn service_linked_recorders_failed_deliveries_failing_rules_and_partial_recorders() {
    let env = env().await;
    let s = env.scrape().await;
    let (accounts, regions) = env.sim.world(|w| {
        (
            w.accounts.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
            w.opts.regions.clone(),
        )
    });
    let (mut linked_seen, mut partial_seen, mut delivery_seen, mut rule_seen) = (0, 0, 0, 0);
    for a in &accounts {
        for r in &regions {
            let (recs, linked, group, channels, evals) = env.sim.world(|w| {
                let rules: Vec<String> = (0..w.opts.compliance.rules)
                    .map(aws_sim::config_compliance::rule_name)
                    .collect();
                (
                    w.recorders(a, r),
                    w.linked_recorders(a, r),
                    w.recording_group(a, r),
                    w.delivery_channels(a, r),
                    w.rule_evaluations(a, r, &rules),
                )
            });
            let at = [("account_id", a.as_str()), ("region", r.as_str())];
            linked_seen += linked.len();
            // A recorder of part of the account is flagged with its strategy; others have no series.
            let partial = s.matching("aws_config_recorder_partial", &at);
            if recs.is_empty() || group.strategy == "ALL_SUPPORTED_RESOURCE_TYPES" {
                assert!(partial.is_empty(), "{a} {r}: {partial:?}");
            } else {
                partial_seen += 1;
                assert_eq!(partial.len(), 1, "{a} {r}");
                assert!(
                    partial[0]
                        .0
                        .contains(&format!("strategy=\"{}\"", group.strategy)),
                    "{partial:?}"
                );
            }
            let daily = s.matching("aws_config_recorder_daily", &at);
            assert_eq!(
                daily.len(),
                usize::from(!recs.is_empty() && group.frequency == "DAILY"),
                "{a} {r}"
            );
            // Deliveries: read only where a recorder exists; a failure has its code.
            let any = !recs.is_empty() || !linked.is_empty();
            // Read beside a recorder that delivers: not beside INTERNAL service-linked ones alone.
            let delivers = !recs.is_empty() || linked.iter().any(|l| l.recording_scope == "PAID");
            // The one channel AWS allows has no series; none (or more) has.
            assert_eq!(
                s.get("aws_config_delivery_channels", &at),
                (delivers && channels.len() != 1).then_some(channels.len() as f64),
                "{a} {r}"
            );
            let failing = s.matching("aws_config_delivery_failing", &at);
            let want: usize = channels
                .iter()
                .map(|c| {
                    [&c.history, &c.snapshot, &c.stream]
                        .iter()
                        .filter(|d| d.status == "Failure")
                        .count()
                })
                .sum();
            assert_eq!(failing.len(), want, "{a} {r}: {failing:?}");
            for (k, v) in &failing {
                delivery_seen += 1;
                assert_eq!(*v, 1.0);
                assert!(k.contains("error_code=\"AccessDenied\""), "{k}");
            }
            // Rules whose last evaluation failed, and since when none succeeded.
            let failing = s.matching("aws_config_rule_evaluation_failing", &at);
            let bad: Vec<_> = evals
                .iter()
                .filter(|e| match (e.last_failure, e.last_success) {
                    (Some(f), Some(ok)) => f > ok,
                    (Some(_), None) => true,
                    _ => false,
                })
                .collect();
            assert_eq!(failing.len(), if any { bad.len() } else { 0 }, "{a} {r}");
            if any {
                for e in bad {
                    rule_seen += 1;
                    let l = [
                        ("account_id", a.as_str()),
                        ("region", r.as_str()),
                        ("rule", e.rule.as_str()),
                        ("error_code", e.error_code.unwrap()),
                    ];
                    assert_eq!(s.get("aws_config_rule_evaluation_failing", &l), Some(1.0));
                    let since = s
                        .get(
                            "aws_config_rule_evaluation_last_success_timestamp_seconds",
                            &l[..3],
                        )
                        .unwrap();
                    let want = e.last_success.unwrap_or(e.first_activated);
                    assert!((since - want).abs() < 1e-3, "{since} vs {want}");
                }
            }
        }
    }
    // The generated organization shows every case.
    assert!(linked_seen >= 1 && partial_seen >= 1 && delivery_seen >= 1 && rule_seen >= 1);
    // The service-linked recorders' statuses were read by ARN, one call each.
    assert!(
        s.get(
            "posture_exporter_aws_api_calls_total",
            &[
                ("service", "config"),
                ("operation", "ListConfigurationRecorders"),
                ("outcome", "ok")
            ]
        )
        .unwrap()
            >= 10.0
    );
    // The overview's new section carries AWS's codes and messages.
    let doc = env.app.store.status();
    let items: Vec<_> = doc.iter().flat_map(|r| r.items.iter()).collect();
    assert!(items
        .iter()
        .any(|i| i.code == "AccessDenied" && i.message == "Access Denied"));
    assert!(items
        .iter()
        .any(|i| i.code == "AccessDeniedException" && i.subject.contains("evaluation failed")));
    assert!(items
        .iter()
        .any(|i| i.code == "INCLUSION_BY_RESOURCE_TYPES"));
    env.stop().await;
}

/// A reload replaces the exceptions: the new list's series at once, the old list's gone, and a
/// review date changed in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_replaces_the_exceptions() {
    let sim = aws_sim::Sim::start(world())
        .await
        .expect("simulator starts");
    let cfg = |name: &str, region: &str, review: &str| {
        let yaml = crate::common::yaml_for(
            &sim,
            &only(&["config_recorder"], "1h"),
            &format!("exceptions:\n  - name: {name}\n    account_id: \"111111111111\"\n{region}    signal: config_recorder\n    owner: platform\n    reason: sandbox\n    review: {review}\n"),
        );
        posture_exporter::config::Config::from_yaml_str(&yaml).expect("valid")
    };
    let first = cfg("first", "    region: eu-west-1\n", "2030-01-01");
    let second = cfg("second", "", "2031-01-01");
    let env = Env::start_on_demand(sim, first).await;
    let text = scrape_text(&env).await;
    assert!(text.contains("posture_exporter_exception{exception=\"first\",account_id=\"111111111111\",region=\"eu-west-1\",signal=\"config_recorder\"} 1"), "{text}");
    assert!(
        text.contains(
            "posture_exporter_exception_review_timestamp_seconds{exception=\"first\"} 1893456000"
        ),
        "{text}"
    );

    env.app.reload(second).await;
    let text = scrape_text(&env).await;
    assert!(!text.contains("exception=\"first\""), "{text}");
    assert!(text.contains("posture_exporter_exception{exception=\"second\",account_id=\"111111111111\",region=\"\",signal=\"config_recorder\"} 1"), "{text}");
    assert!(
        text.contains(
            "posture_exporter_exception_review_timestamp_seconds{exception=\"second\"} 1924992000"
        ),
        "{text}"
    );
    env.stop().await;
}
