//! The commands a simulator child answers beside `calls` and `reset`, one line each: faults,
//! rate limits per service, AssumeRole refused, accounts joining and leaving, the simulator
//! unreachable for a while. The child answers them with [`sim_command`]; the soak sends them
//! with [`SimChild::cmd`].

use std::time::Duration;

use anyhow::bail;
use aws_sim::{Fault, FaultRule, Sim};

use crate::sim_child::SimChild;

/// Answers one soak command in the simulator child (one line back):
/// `fault KIND OP ACCOUNT REGION PROBABILITY TIMES` (`-` for any / forever), `clear`,
/// `deny-assume ID`, `allow-assume`, `join` (answers the new id), `leave ID`, `down MS`,
/// `management` (answers its id).
pub fn sim_command(rt: &tokio::runtime::Runtime, sim: &Sim, line: &str) -> String {
    match sim_command_inner(rt, sim, line) {
        Ok(s) => s,
        Err(e) => format!("error {e}"),
    }
}

fn sim_command_inner(
    rt: &tokio::runtime::Runtime,
    sim: &Sim,
    line: &str,
) -> anyhow::Result<String> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let any = |s: &str| (s != "-").then(|| s.to_string());
    match w.as_slice() {
        ["fault", kind, op, account, region, p, times] => {
            let fault = match *kind {
                "throttle" => Fault::Throttle,
                "500" => Fault::Http500,
                "503" => Fault::Http503,
                "malformed" => Fault::Malformed,
                "truncated" => Fault::Truncated,
                "reset" => Fault::Reset,
                "hang" => Fault::Hang,
                "denied" => Fault::AccessDenied,
                "expired" => Fault::ExpiredToken,
                other => bail!("unknown fault {other}"),
            };
            let mut rule = FaultRule::always(fault).probability(p.parse()?);
            rule.operation = any(op);
            rule.account = any(account);
            rule.region = any(region);
            if *times != "-" {
                rule = rule.times(times.parse()?);
            }
            sim.add_fault(rule);
            Ok("ok".into())
        }
        ["service-rate", service, "off"] => {
            sim.set_service_rate_limit(service, None);
            Ok("ok".into())
        }
        ["service-rate", service, rate, burst] => {
            sim.set_service_rate_limit(
                service,
                Some(aws_sim::SimRateLimit {
                    rate: rate.parse()?,
                    burst: burst.parse()?,
                }),
            );
            Ok("ok".into())
        }
        ["clear"] => {
            sim.clear_faults();
            Ok("ok".into())
        }
        ["deny-assume", id] => {
            sim.world(|w| w.assume_role_denied.insert(id.to_string()));
            Ok("ok".into())
        }
        ["allow-assume"] => {
            sim.world(|w| w.assume_role_denied.clear());
            Ok("ok".into())
        }
        ["join"] => Ok(sim.world(|w| w.add_account())),
        ["management"] => Ok(sim.world(|w| w.management().id.clone())),
        ["leave", id] => Ok(if sim.world(|w| w.remove_account(id)) {
            "ok".into()
        } else {
            format!("error no account {id}")
        }),
        ["down", ms] => {
            rt.block_on(sim.unreachable_for(Duration::from_millis(ms.parse()?)))?;
            Ok("ok".into())
        }
        _ => bail!("unknown command {line:?}"),
    }
}

impl SimChild {
    /// Sends a soak command; its answer, or an error if the child said one.
    pub fn cmd(&mut self, line: &str) -> anyhow::Result<String> {
        let a = self.ask(line)?;
        let a = a.trim().to_string();
        if a.starts_with("error") || a.starts_with("unknown") {
            bail!("the simulator refused {line:?}: {a}");
        }
        Ok(a)
    }
}
