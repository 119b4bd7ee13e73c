//! The API budget of the incremental member scan: 1,000 accounts, 1% of the member deployments
//! failed, spread over every deployment (the hardest case: none is successful, so none can be
//! skipped for its status).

use std::ops::RangeInclusive;
use std::sync::Arc;

use aws_sim::config_org::{self as co, MemberStatus};
use aws_sim::{Sim, WorldOptions};
use posture_exporter::aws::{AwsFactory, CallCounter};
use posture_exporter::collect::JobContext;
use posture_exporter::collectors::config_org_rules::{Settings, State};
use posture_exporter::config::Config;

use super::{mgmt_yaml, Kind, PACKS, RULES};
use crate::common::{creds, only};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_budget_of_50_rules() {
    api_budget(&RULES, 50, 0.009..=0.011).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_budget_of_20_packs() {
    api_budget(&PACKS, 20, 0.008..=0.012).await
}

/// Runs the collector directly, keeping its state from run to run as the scheduler's job loop
/// does, and returns the calls the simulator counted for the run and its exposition.
async fn run(k: &Kind, ctx: &JobContext<Settings>, state: &mut State, sim: &Sim) -> (u64, String) {
    sim.reset_calls();
    let c = k.collect(ctx, state).await;
    // The statuses, then what every part read.
    let parts = c
        .parts
        .iter()
        .filter_map(|p| p.result.as_ref().ok().map(|r| &r.families))
        .flatten();
    let text: String = c.families.iter().chain(parts).map(|f| f.text()).collect();
    (sim.total_calls(), text)
}

/// `n` deployments of kind `k`, their failed share of members within `ratio`.
async fn api_budget(k: &Kind, n: usize, ratio_range: RangeInclusive<f64>) {
    let sim = Sim::start(WorldOptions {
        members: 999,
        regions: vec!["us-east-1".into()],
        config_org: k.options(
            n,
            Some(&["CREATE_FAILED"]),
            co::Options {
                rules: 0,
                packs: 0,
                failure_ratio: 0.009,
                exclude_every: 0,
                ..co::Options::default()
            },
        ),
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let (naive, failed, deployments, mgmt) = sim.world(|w| {
        let mut pages = 0;
        let mut failed = 0;
        let mut deployments = 0;
        for r in (k.list)(w) {
            let m = co::member_statuses(w, r);
            pages += m.len().div_ceil(100) as u64;
            deployments += m.len();
            failed += m.iter().filter(|m| m.status.ends_with("_FAILED")).count();
        }
        // Both listings (one page each) and every deployment's every page.
        (2 + pages, failed, deployments, w.management().id.clone())
    });
    let ratio = failed as f64 / deployments as f64;
    assert!(ratio_range.contains(&ratio), "{ratio}");
    assert_eq!(naive, 2 + 10 * n as u64);

    let cfg = Config::from_yaml_str(&mgmt_yaml(&sim, &only(&[k.collector], "10m"))).unwrap();
    let factory = AwsFactory::new(&cfg.aws, Arc::new(CallCounter::default()), Some(creds())).await;
    let ctx = JobContext {
        aws: Arc::new(factory.ambient().region("us-east-1", &mgmt)),
        settings: k.settings(&cfg),
    };
    let mut state = State::default();

    let (first, cold) = run(k, &ctx, &mut state, &sim).await;
    assert_eq!(first, naive, "the first run scans every {} once", k.noun);
    let mut steady = Vec::new();
    for _ in 0..3 {
        let (calls, text) = run(k, &ctx, &mut state, &sim).await;
        assert_eq!(text, cold, "a steady run shows what the full scan showed");
        steady.push(calls);
    }
    let worst = *steady.iter().max().unwrap();
    eprintln!(
        "API budget, 1,000 accounts x {n} {}, {failed} of {deployments} deployments failed ({:.2}%): \
         naive full scan {naive} calls; first run {first} calls; steady runs {steady:?} calls = {:.1}% of naive",
        k.plural,
        ratio * 100.0,
        worst as f64 * 100.0 / naive as f64
    );
    assert_eq!(
        worst,
        2 + 3,
        "two listings and one check of three filtered calls"
    );
    assert!(worst * 10 <= naive, "at most 10% of the naive scan");

    // A member fails in one deployment: AWS moves its status time, it alone is scanned again.
    let (name, acct) = sim.world(|w| ((k.list)(w)[7].name.clone(), w.accounts[500].id.clone()));
    let newly = MemberStatus {
        account_id: acct.clone(),
        status: "CREATE_FAILED".into(),
        error_code: Some("InsufficientPermissionsException".into()),
        error_message: Some("new failure".into()),
        last_update: 1_763_000_100.0,
    };
    sim.world(|w| {
        w.config_org
            .set_member_status(&name, &acct, Some(newly.clone()))
    });
    let (calls, text) = run(k, &ctx, &mut state, &sim).await;
    eprintln!("a run after one {} changed: {calls} calls", k.noun);
    assert_eq!(calls, 2 + 10 + 3);
    let line = format!(
        "{}{{{}=\"{name}\",deployed_by=\"{mgmt}\",account_id=\"{acct}\",status=\"CREATE_FAILED\",error_code=\"InsufficientPermissionsException\"}} 1\n",
        k.f("member_status"),
        k.label,
    );
    assert!(text.contains(&line), "{line}");

    // A change AWS does not announce is found by the rolling check within one round of the
    // unsuccessful deployments, at the same steady cost.
    let (name, acct) = sim.world(|w| {
        (
            (k.list)(w)[n * 2 / 5].name.clone(),
            w.accounts[600].id.clone(),
        )
    });
    sim.world(|w| {
        w.config_org.set_member_status_quietly(
            &name,
            &acct,
            Some(MemberStatus {
                account_id: acct.clone(),
                ..newly.clone()
            }),
        )
    });
    let mut found = None;
    for i in 1..=n + 1 {
        let (calls, text) = run(k, &ctx, &mut state, &sim).await;
        if text.contains(&format!(
            "{}=\"{name}\",deployed_by=\"{mgmt}\",account_id=\"{acct}\",status=\"CREATE_FAILED\"",
            k.label
        )) {
            found = Some((i, calls));
            break;
        }
        assert_eq!(calls, 5);
    }
    let (runs, calls) = found.expect("the rolling check finds an unannounced change");
    eprintln!("an unannounced change was found after {runs} runs (that run: {calls} calls)");
    assert!(runs <= n);
    assert_eq!(
        calls,
        2 + 3 + 10,
        "the check saw the difference and scanned it"
    );
    sim.stop();
}
