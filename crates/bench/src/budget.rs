//! `bench budget`: org-rule calls per cycle against a naive full scan of every member.

use std::sync::Arc;

use anyhow::anyhow;
use aws_sim::config_org as co;
use aws_sim::{Sim, WorldOptions};
use posture_exporter::aws::{AwsFactory, CallCounter};
use posture_exporter::collect::{Collector as _, JobContext};
use posture_exporter::collectors::config_org_rules::{self, ConfigOrgRules};
use posture_exporter::config::Config;

use crate::process::machine;
use crate::setup::{all_collectors, creds, runtime};

/// Runs `bench budget`.
pub fn budget(accounts: usize, rules: usize, cycles: usize) -> anyhow::Result<()> {
    let rt = runtime(2)?;
    rt.block_on(async {
        // 1% of member deployments failed, spread over every rule: the hardest case, since no
        // rule is successful and none can be skipped for its status.
        let sim = Sim::start(WorldOptions {
            members: accounts.saturating_sub(1),
            regions: vec!["us-east-1".into()],
            config_org: co::Options {
                rules,
                org_statuses: vec!["CREATE_FAILED".into()],
                failure_ratio: 0.009,
                exclude_every: 0,
                ..co::Options::default()
            },
            ..WorldOptions::default()
        })
        .await?;
        let (naive, failed, deployments, mgmt, rule_count) = sim.world(|w| {
            let rules = co::rules(w);
            let mut pages = 0u64;
            let (mut failed, mut deployments) = (0usize, 0usize);
            for r in &rules {
                let m = co::member_statuses(w, r);
                pages += m.len().div_ceil(co::MAX_LIMIT as usize) as u64;
                deployments += m.len();
                failed += m.iter().filter(|m| m.status.ends_with("_FAILED")).count();
            }
            // The naive scan: both listings (a page per 100 rules each) and every page of
            // every rule's members.
            let listing = 2 * (rules.len() as u64).div_ceil(co::MAX_LIMIT as u64).max(1);
            (
                listing + pages,
                failed,
                deployments,
                w.management().id.clone(),
                rules.len(),
            )
        });
        let yaml = format!(
            "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  rate_limits:\n    config:\n      rate: 0\n      burst: 1\n\
targets:\n  - name: management\n    regions: [us-east-1]\ncollectors:\n{}",
            sim.url(),
            all_collectors()
                .map(|c| format!(
                    "  {c}:\n    enabled: {}\n    interval: 10m\n",
                    c == "config_org_rules"
                ))
                .collect::<String>()
        );
        let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow!("{e}"))?;
        let factory =
            AwsFactory::new(&cfg.aws, Arc::new(CallCounter::default()), Some(creds())).await;
        let ctx = JobContext {
            aws: Arc::new(factory.ambient().region("us-east-1", &mgmt)),
            settings: cfg.collectors.config_org_rules.clone(),
        };
        let mut state = config_org_rules::State::default();
        let (first, series) = org_rules_run(&ctx, &mut state, &sim).await?;
        let mut steady = Vec::new();
        for _ in 0..cycles {
            steady.push(org_rules_run(&ctx, &mut state, &sim).await?.0);
        }
        let worst = steady.iter().copied().max().unwrap_or(0);
        println!("machine: {}", machine());
        println!(
            "{accounts} accounts x {rule_count} organization rules: {failed} of {deployments} member deployments failed ({:.2}%); {series} series",
            failed as f64 * 100.0 / deployments as f64
        );
        println!();
        println!("| cycle | org-rule calls | of the naive full scan ({naive} calls) |");
        println!("|---|---:|---:|");
        println!(
            "| first (cold) | {first} | {:.1}% |",
            first as f64 * 100.0 / naive as f64
        );
        for (i, s) in steady.iter().enumerate() {
            println!(
                "| steady {} | {s} | {:.1}% |",
                i + 1,
                *s as f64 * 100.0 / naive as f64
            );
        }
        println!(
            "\nworst steady cycle: {worst} calls = {:.1}% of the naive scan (goal: at most 10%)",
            worst as f64 * 100.0 / naive as f64
        );
        sim.stop();
        Ok(())
    })
}

/// One run of the org-rules collector, keeping its state as the job loop does: the calls the
/// simulator counted and the series it produced.
async fn org_rules_run(
    ctx: &JobContext<config_org_rules::Settings>,
    state: &mut config_org_rules::State,
    sim: &Sim,
) -> anyhow::Result<(u64, usize)> {
    sim.reset_calls();
    let c = ConfigOrgRules::collect(ctx, state)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok((sim.total_calls(), c.families.iter().map(|f| f.len()).sum()))
}
