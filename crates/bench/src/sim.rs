//! `bench sim`: the simulator child's side. It prints `url <url>`, then answers one command a
//! line on stdin: `calls` and `reset` here, the fault and organization commands in
//! [`sim_command`].

use std::io::{BufRead as _, Write as _};
use std::time::Duration;

use aws_sim::{Sim, SimRateLimit};

use crate::setup::runtime;
use crate::sim_child::sim_world;
use crate::soak::commands::sim_command;

/// Serves a simulator of `members` member accounts in `nregions` regions until stdin closes.
pub fn run(
    members: usize,
    nregions: usize,
    latency_ms: u64,
    rate: f64,
    burst: f64,
    steady_iam: bool,
    gd_admin_all_regions: bool,
) -> anyhow::Result<()> {
    let rt = runtime(2)?;
    let mut world = sim_world(members, nregions, steady_iam);
    world.guardduty.admin_all_regions = gd_admin_all_regions;
    let sim = rt.block_on(Sim::start(world))?;
    sim.set_latency(Duration::from_millis(latency_ms));
    if rate > 0.0 {
        sim.set_rate_limit(Some(SimRateLimit {
            rate,
            burst: burst.max(1.0),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "url {}", sim.url())?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "calls" => writeln!(out, "{}", serde_json::to_string(&sim.all_calls())?)?,
            "reset" => {
                sim.reset_calls();
                writeln!(out, "ok")?;
            }
            other => writeln!(out, "{}", sim_command(&rt, &sim, other))?,
        }
        out.flush()?;
    }
    sim.stop();
    Ok(())
}
