//! `bench throttle`: a cycle over an organization whose AWS allows a fraction of the configured
//! rates, then the recovery once the limit is lifted; and `bench ou-walk`: the Organizations
//! calls of one discovery refresh with and without OU filters.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use tokio::net::TcpListener;

use aws_sim::{Sim, WorldOptions};
use posture_exporter::app::{App, AppOptions};
use posture_exporter::aws::{Outcome, Service};
use posture_exporter::config::aws::RateLimits;
use posture_exporter::config::Config;

use crate::process::machine;
use crate::setup::{creds, discovery_yaml, regions, runtime};
use crate::sim_child::SimChild;

/// The services the simulator slows down, with their configured (default) limits.
fn limited() -> [(
    &'static str,
    Service,
    posture_exporter::config::aws::RateLimit,
); 3] {
    let d = RateLimits::default();
    [
        ("sts", Service::Sts, d.sts),
        ("config", Service::Config, d.config),
        ("guardduty", Service::GuardDuty, d.guardduty),
    ]
}

/// Starts the exporter in-process on `rt`, its loops unjittered, with the bench's credentials.
fn start_app(rt: &tokio::runtime::Runtime, cfg: Config) -> anyhow::Result<App> {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        App::start(
            cfg,
            listener,
            AppOptions {
                mode: posture_exporter::scheduler::Mode::Loops { jitter: false },
                static_credentials: Some(creds()),
            },
        )
        .await
        .map_err(anyhow::Error::from)
    })
}

/// One cycle at `fraction` of the configured rates, then the limit lifted.
pub fn throttle(
    accounts: usize,
    nregions: usize,
    concurrency: usize,
    latency_ms: u64,
    fraction: f64,
) -> anyhow::Result<()> {
    let mut sim = SimChild::start(accounts.saturating_sub(1), nregions, latency_ms, 0.0, 0.0)?;
    let mut allowed: BTreeMap<&str, f64> = BTreeMap::new();
    for (name, _, rl) in limited() {
        let rate = rl.rate * fraction;
        let burst = (rl.burst * fraction).max(1.0);
        let answer = sim.ask(&format!("service-rate {name} {rate} {burst}"))?;
        if answer.trim() != "ok" {
            bail!("the simulator said {answer:?}");
        }
        allowed.insert(name, rate);
    }
    let collectors = ["config_recorder", "guardduty"];
    let yaml = discovery_yaml(
        &sim.url,
        "127.0.0.1:0",
        &regions(nregions),
        &collectors,
        concurrency,
        "1h",
    );
    let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow!("{e}\n{yaml}"))?;
    let rt = runtime(2)?;
    let t0 = Instant::now();
    let app = start_app(&rt, cfg)?;
    let limiter = rt.block_on(app.limiter());
    // The slowest rate each service reached during the cycle.
    let mut lowest: BTreeMap<Service, f64> = BTreeMap::new();
    let limit = Duration::from_secs(3000);
    rt.block_on(async {
        while !app.store.settled() && t0.elapsed() < limit {
            for (s, r) in limiter.rates() {
                let l = lowest.entry(s).or_insert(r.ceiling);
                *l = l.min(r.lowest);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    if !app.store.settled() {
        bail!("not ready after {limit:?}");
    }
    let cycle = t0.elapsed();
    let rows = app.store.status();
    let failed = rows
        .iter()
        .filter(|r| r.last_error().is_some() || !r.failed_parts.is_empty())
        .count();
    let throttled = app.store.calls().total(Outcome::Throttled);
    // The calls AWS answered (the simulator counts the throttled attempts too).
    let answered = |op: &str| app.store.calls().get(op, Outcome::Ok);
    let by_service: BTreeMap<&str, u64> = ["sts", "config", "guardduty"]
        .into_iter()
        .map(|s| (s, app.store.calls().service_total(s, Outcome::Ok)))
        .collect();
    // The least the cycle can take at the allowed rates: every AssumeRole through the
    // management account's one STS bucket, then the busiest per-(account, region) bucket of
    // the last account assumed (its calls spread evenly over the account-regions).
    let pairs = (accounts * nregions) as f64;
    let burst = |s: &str| {
        (limited()
            .iter()
            .find(|l| l.0 == s)
            .map_or(1.0, |l| l.2.burst)
            * fraction)
            .max(1.0)
    };
    let assume = answered("AssumeRole") as f64;
    let sts_floor = (assume - burst("sts")).max(0.0) / allowed["sts"];
    let bucket_floor = ["config", "guardduty"]
        .iter()
        .map(|s| {
            (by_service.get(s).copied().unwrap_or(0) as f64 / pairs - burst(s)).max(0.0)
                / allowed[s]
        })
        .fold(0.0, f64::max);
    let floor = sts_floor + bucket_floor;

    // The limit lifted: how long until every bucket is back at its ceiling, and a steady cycle
    // meanwhile.
    for (name, _, _) in limited() {
        sim.ask(&format!("service-rate {name} off"))?;
    }
    sim.reset()?;
    let throttled0 = app.store.calls().total(Outcome::Throttled);
    let lifted = Instant::now();
    // Both at once: the rates are watched while the cycle runs, not after it.
    let (steady, recovered) = rt.block_on(async {
        let cycle = async {
            let t = Instant::now();
            app.scheduler.run_once().await;
            t.elapsed()
        };
        let watch = async {
            while lifted.elapsed() < Duration::from_secs(300) {
                let rates = limiter.rates();
                if rates.iter().all(|(_, r)| r.slowed == 0) {
                    return Some(lifted.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            None
        };
        tokio::join!(cycle, watch)
    });
    let steady_throttled = app.store.calls().total(Outcome::Throttled) - throttled0;
    let steady_failed = app
        .store
        .status()
        .iter()
        .filter(|r| r.last_error().is_some() || !r.failed_parts.is_empty())
        .count();
    rt.block_on(app.stop());
    drop(sim);

    println!("machine: {}", machine());
    println!(
        "{accounts} accounts x {nregions} regions, collectors {}, concurrency {concurrency}, simulated latency {latency_ms} ms; the simulator allows {:.0}% of the configured rates per (account, region, service): {}",
        collectors.join(","),
        fraction * 100.0,
        limited()
            .iter()
            .map(|(n, _, rl)| format!("{n} {} of {} a second", allowed[n], rl.rate))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    println!("| jobs | cycle (to /ready) | failed collections | calls answered (STS / Config / GuardDuty) | throttled attempts | floor at the allowed rates | cycle / floor | lowest rate reached (STS / Config / GuardDuty) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let low = |s: Service| lowest.get(&s).copied().unwrap_or(f64::NAN);
    println!(
        "| {} | {:.1} s | **{failed}** | {} / {} / {} | {throttled} | {floor:.1} s (AssumeRole {sts_floor:.1} s + busiest bucket {bucket_floor:.1} s) | **{:.2}x** | {:.2} / {:.3} / {:.3} |",
        rows.len(),
        cycle.as_secs_f64(),
        by_service.get("sts").copied().unwrap_or(0),
        by_service.get("config").copied().unwrap_or(0),
        by_service.get("guardduty").copied().unwrap_or(0),
        cycle.as_secs_f64() / floor.max(1e-9),
        low(Service::Sts),
        low(Service::Config),
        low(Service::GuardDuty),
    );
    println!();
    println!(
        "limit lifted: every bucket back at its ceiling after {}; the next cycle took {:.1} s with {steady_throttled} throttled attempts and {steady_failed} failed collections",
        recovered.map_or("more than 300 s".to_string(), |d| format!("{:.1} s", d.as_secs_f64())),
        steady.as_secs_f64()
    );
    if failed > 0 {
        bail!("{failed} collections failed at the slowed rates");
    }
    Ok(())
}

/// The Organizations calls of one discovery refresh over `accounts` in `ous` OUs: no filter,
/// `include_ous` of one top-level OU (a tenth of the tree), and `exclude_ous` of the same.
pub fn ou_walk(accounts: usize, ous: usize) -> anyhow::Result<()> {
    let rt = runtime(2)?;
    let world = WorldOptions {
        members: accounts.saturating_sub(1),
        regions: regions(1),
        ous,
        ..WorldOptions::default()
    };
    let sim = rt.block_on(Sim::start(world))?;
    let (top, subtree) = sim.world(|w| {
        // OU 0 and everything below it.
        let all = w.ous();
        let mut under = vec![all[0].0.clone()];
        let mut i = 0;
        while i < under.len() {
            let p = under[i].clone();
            under.extend(all.iter().filter(|o| o.2 == p).map(|o| o.0.clone()));
            i += 1;
        }
        let accounts = w
            .accounts
            .iter()
            .filter(|a| under.contains(&w.parent_of(a)))
            .count();
        (all[0].0.clone(), (under.len(), accounts))
    });
    println!("machine: {}", machine());
    println!(
        "{accounts} accounts in {ous} OUs (ten under the root, ten under each of those, ...); OU {top} holds {} OUs and {} accounts",
        subtree.0, subtree.1
    );
    println!();
    println!("| filter | Organizations calls per refresh | ListAccounts | ListAccountsForParent | ListOrganizationalUnitsForParent | at 2 calls a second |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, extra) in [
        ("none", String::new()),
        (
            "include_ous: [that OU]",
            format!("    include_ous: [{top}]\n"),
        ),
        (
            "exclude_ous: [that OU]",
            format!("    exclude_ous: [{top}]\n"),
        ),
    ] {
        sim.reset_calls();
        let mut yaml = discovery_yaml(&sim.url(), "127.0.0.1:0", &regions(1), &[], 64, "1h");
        let at = yaml
            .find("collectors:\n")
            .ok_or_else(|| anyhow!("no collectors section"))?;
        yaml.insert_str(at, &extra);
        // Organizations unthrottled: this counts calls, the time at the default rate follows.
        yaml = yaml.replace(
            "aws:\n",
            "aws:\n  rate_limits:\n    organizations: {rate: 1000, burst: 1000}\n",
        );
        let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow!("{e}\n{yaml}"))?;
        let app = start_app(&rt, cfg)?;
        rt.block_on(async {
            let t = Instant::now();
            while !app.store.targets_listed() && t.elapsed() < Duration::from_secs(600) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        rt.block_on(app.stop());
        let c = |op: &str| sim.calls(op);
        let org = c("ListAccounts")
            + c("ListAccountsForParent")
            + c("ListOrganizationalUnitsForParent")
            + c("ListRoots");
        println!(
            "| {label} | {org} | {} | {} | {} | {:.0} s |",
            c("ListAccounts"),
            c("ListAccountsForParent"),
            c("ListOrganizationalUnitsForParent"),
            org as f64 / RateLimits::default().organizations.rate,
        );
    }
    sim.stop();
    Ok(())
}
