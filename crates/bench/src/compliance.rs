//! `bench compliance-budget`: calls per cycle of `config_compliance` through the organization
//! aggregator and through the per-account fan-out, for the same simulated organization.
//!
//! Both runs call the collector's own `collect` the way the scheduler does, on the real SDK path
//! against the simulator, and count what the simulator answered. The fan-out runs one job per
//! (account, region) with the management account's ambient credentials: every account of the
//! generated organization has the same rules and packs, so each job makes the calls a member's
//! job would; the AssumeRole calls a real fan-out adds (one per member account and credential
//! lifetime, shared by its regions) are reported beside it.

use std::sync::Arc;

use anyhow::anyhow;
use aws_sim::config_compliance as cc;
use aws_sim::{Sim, WorldOptions};
use posture_exporter::aws::{AwsFactory, CallCounter};
use posture_exporter::collect::{Collector as _, JobContext};
use posture_exporter::collectors::config_compliance::{ConfigCompliance, Settings};
use posture_exporter::config::Config;

use crate::process::machine;
use crate::setup::{creds, runtime, REGIONS};

type Run = (
    &'static str,
    u64,
    std::collections::BTreeMap<String, u64>,
    usize,
);

/// One run of the aggregator job: (label, calls, calls by operation, series).
async fn agg_run(
    sim: &Sim,
    ctx: &JobContext<Settings>,
    state: &mut <ConfigCompliance as posture_exporter::collect::Collector>::State,
    label: &'static str,
) -> anyhow::Result<Run> {
    sim.reset_calls();
    let got = ConfigCompliance::collect(ctx, state)
        .await
        .map_err(|e| anyhow!("{label}: {e}"))?;
    let series: usize = got.families.iter().map(|f| f.len()).sum();
    Ok((label, sim.total_calls(), sim.all_calls(), series))
}

/// Results fixed (and as many broken) before the last aggregator run.
const CHANGES: usize = 10;

/// Runs the measurement and prints a Markdown table.
pub fn budget(
    accounts: usize,
    regions: usize,
    rules: usize,
    packs: usize,
    ratio: f64,
) -> anyhow::Result<()> {
    let rt = runtime(2)?;
    rt.block_on(async {
        let regions: Vec<String> = REGIONS
            .iter()
            .take(regions)
            .map(|r| r.to_string())
            .collect();
        let sim = Sim::start(WorldOptions {
            members: accounts.saturating_sub(1),
            regions: regions.clone(),
            compliance: cc::Options {
                rules,
                packs,
                noncompliant_ratio: ratio,
                insufficient_ratio: 0.0,
                ..cc::Options::default()
            },
            ..WorldOptions::default()
        })
        .await?;
        let (ids, mgmt, noncompliant, triples) = sim.world(|w| {
            let mut nc = 0usize;
            let mut n = 0usize;
            for a in &w.accounts {
                for g in 0..w.opts.regions.len() {
                    for i in 0..w.opts.compliance.rules {
                        n += 1;
                        nc += usize::from(cc::rule_compliance(w, a, g, i).compliance == "NON_COMPLIANT");
                    }
                }
            }
            (
                w.accounts.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
                w.management().id.clone(),
                nc,
                n,
            )
        });
        let yaml = format!(
            "listen: 127.0.0.1:0\naws:\n  region: {}\n  endpoint_url: \"{}\"\n  rate_limits:\n    config:\n      rate: 0\n      burst: 1\n\
targets:\n  - name: management\n    regions: [{}]\ncollectors:\n  config_compliance:\n    interval: 15m\n",
            regions[0],
            sim.url(),
            regions[0]
        );
        let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow!("{e}"))?;
        let factory = AwsFactory::new(
            &cfg.aws,
            Arc::new(CallCounter::default()),
            Some(creds()),
        )
        .await;
        let mut aggregated = Settings::default();
        aggregated.own.aggregator = Some("organization-aggregator".into());
        let aggregated = Arc::new(aggregated);
        let fanned = Arc::new(Settings::default());

        // The fan-out first, on the organization as generated.
        sim.reset_calls();
        let mut fan_series = 0usize;
        for id in &ids {
            for r in &regions {
                let ctx = JobContext {
                    aws: Arc::new(factory.ambient().region(r, id)),
                    settings: fanned.clone(),
                };
                let got = ConfigCompliance::collect(&ctx, &mut Default::default())
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                fan_series += got.families.iter().map(|f| f.len()).sum::<usize>();
            }
        }
        let fan_calls = sim.all_calls();
        let fan_total = sim.total_calls();
        let assume = ids.len() as u64 - 1;

        // The aggregator: a full listing, then the runs between two full listings, first with
        // nothing changed, then with `CHANGES` results fixed and as many broken.
        let ctx = JobContext {
            aws: Arc::new(factory.ambient().region(&regions[0], &mgmt)),
            settings: aggregated.clone(),
        };
        let mut state = Default::default();
        let full = agg_run(&sim, &ctx, &mut state, "full listing").await?;
        let steady = agg_run(&sim, &ctx, &mut state, "between full listings, nothing changed").await?;
        let changed = sim.world(|w| {
            let mut fixed = 0;
            let mut broken = 0;
            let mut set = Vec::new();
            'all: for a in &w.accounts {
                for (g, region) in w.opts.regions.iter().enumerate() {
                    for i in 0..w.opts.compliance.rules {
                        let r = cc::rule_compliance(w, a, g, i);
                        let nc = r.compliance == "NON_COMPLIANT";
                        let (to, n) = if nc && fixed < CHANGES {
                            fixed += 1;
                            ("COMPLIANT", 0)
                        } else if !nc && broken < CHANGES {
                            broken += 1;
                            ("NON_COMPLIANT", 3)
                        } else {
                            continue;
                        };
                        set.push((a.id.clone(), region.clone(), cc::rule_name(i), to, n));
                        if fixed == CHANGES && broken == CHANGES {
                            break 'all;
                        }
                    }
                }
            }
            for (a, r, rule, to, n) in &set {
                w.compliance.set_rule(
                    a,
                    r,
                    rule,
                    cc::RuleResult {
                        compliance: to.to_string(),
                        resources: *n,
                    },
                );
            }
            set.len()
        });
        let churn = agg_run(&sim, &ctx, &mut state, "between full listings, results changed").await?;
        let agg_total = full.1;
        let agg_series = full.3;
        let agg_calls = full.2.clone();

        println!("machine: {}", machine());
        println!(
            "{accounts} accounts x {} regions x {rules} rules, {packs} conformance packs each: {noncompliant} of {triples} (rule, account, region) NON_COMPLIANT ({:.2}%)",
            regions.len(),
            noncompliant as f64 * 100.0 / triples as f64
        );
        println!();
        println!("| source | calls per cycle | by operation | series |");
        println!("|---|---:|---|---:|");
        let ops = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "| aggregator | {agg_total} | {} | {agg_series} |",
            ops(&agg_calls)
        );
        println!(
            "| fan-out | {fan_total} (+{assume} AssumeRole per credential lifetime) | {} | {fan_series} |",
            ops(&fan_calls)
        );
        println!(
            "\naggregator's full listing / fan-out: {:.2}% of the calls ({:.2}% counting the fan-out's AssumeRole); no AssumeRole through the aggregator",
            agg_total as f64 * 100.0 / fan_total as f64,
            agg_total as f64 * 100.0 / (fan_total + assume) as f64
        );
        println!();
        println!("The aggregator's runs (full_read_interval 1h, interval 15m: one full listing in four runs):");
        println!();
        println!("| aggregator run | calls | by operation | series | / fan-out |");
        println!("|---|---:|---|---:|---:|");
        for (label, total, calls, series) in [&full, &steady, &churn] {
            println!(
                "| {label} | {total} | {} | {series} | {:.2}% |",
                ops(calls),
                *total as f64 * 100.0 / fan_total as f64
            );
        }
        let per_hour = full.1 + 3 * churn.1;
        println!(
            "\n{changed} results changed between the last two runs ({CHANGES} fixed, {CHANGES} broken). \
             An hour of runs with that much change (one full listing, three runs between): {per_hour} calls, \
             {:.2} a run, {:.2}% of the fan-out's {}",
            per_hour as f64 / 4.0,
            per_hour as f64 * 25.0 / fan_total as f64,
            fan_total
        );
        sim.stop();
        Ok(())
    })
}
