//! The simulator as a child process, so that its CPU and memory are not the exporter's: the
//! handle this process keeps on it ([`SimChild`]) and the organization it serves
//! ([`sim_world`]). What runs in the child is `bench sim` (`sim.rs`).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{anyhow, Context as _};
use aws_sim::WorldOptions;

use crate::setup::regions;

/// A simulator running as a child process of this one, driven over its stdin.
pub struct SimChild {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The simulator's endpoint URL.
    pub url: String,
}

impl SimChild {
    /// Starts a simulator child of `members` member accounts in `regions` regions, with
    /// `latency_ms` per call and a rate limit of `rate` a second (0: none), burst `burst`.
    pub fn start(
        members: usize,
        regions: usize,
        latency_ms: u64,
        rate: f64,
        burst: f64,
    ) -> anyhow::Result<SimChild> {
        Self::start_with(members, regions, latency_ms, rate, burst, &[])
    }

    /// Like [`SimChild::start`], with further flags of the `sim` command.
    pub fn start_with(
        members: usize,
        regions: usize,
        latency_ms: u64,
        rate: f64,
        burst: f64,
        flags: &[&str],
    ) -> anyhow::Result<SimChild> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "sim",
                "--members",
                &members.to_string(),
                "--regions",
                &regions.to_string(),
                "--latency-ms",
                &latency_ms.to_string(),
                "--rate",
                &rate.to_string(),
                "--burst",
                &burst.to_string(),
            ])
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the simulator child")?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("url ")
            .ok_or_else(|| anyhow!("the simulator said {line:?}"))?
            .to_string();
        Ok(SimChild {
            child,
            stdin,
            stdout,
            url,
        })
    }

    /// Sends one command line; the child's answer line.
    pub fn ask(&mut self, cmd: &str) -> anyhow::Result<String> {
        writeln!(self.stdin, "{cmd}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(line)
    }

    /// Calls per operation since the last reset (throttled ones included).
    pub fn calls(&mut self) -> anyhow::Result<BTreeMap<String, u64>> {
        Ok(serde_json::from_str(&self.ask("calls")?)?)
    }

    /// Forgets the calls counted so far.
    pub fn reset(&mut self) -> anyhow::Result<()> {
        self.ask("reset").map(|_| ())
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        // Closing stdin ends it; kill only if it lingers.
        let _ = self.stdin.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The organization of a simulator child (the soak computes the same one to know its IAM root).
pub fn sim_world(members: usize, nregions: usize, steady_iam: bool) -> WorldOptions {
    let mut w = WorldOptions {
        members,
        regions: regions(nregions),
        ..WorldOptions::default()
    };
    if steady_iam {
        w.iam.polls_in_progress = 0;
        w.iam.fail_every = 0;
    }
    w
}
