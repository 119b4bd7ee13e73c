//! The `posture-exporter` command line: run (the default), check-config, collect --once, demo,
//! simulate.
#![forbid(unsafe_code)]

/// The process allocator (see BENCHMARKS.md, "Changes found by profiling").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_credential_types::Credentials;
use clap::{Parser, Subcommand, ValueEnum};
use tokio::net::TcpListener;

use aws_sim::{Sim, SimRateLimit, WorldOptions};
use posture_exporter::app::{App, AppOptions};
use posture_exporter::aws::{AwsFactory, CallCounter};
use posture_exporter::collectors::CollectorKind;
use posture_exporter::config::{Config, ConfigError, Shard};
use posture_exporter::metrics::Format;
use posture_exporter::scheduler::{Mode, Scheduler};
use posture_exporter::store::Store;
use posture_exporter::targets::{self, TargetSink as _};

/// Exit status for a configuration that is refused (EX_USAGE... EX_DATAERR is 65; sysexits'
/// EX_USAGE, 64, is what the docs promise).
const EXIT_CONFIG: u8 = 64;

#[derive(Parser, Debug)]
#[command(
    name = "posture-exporter",
    version,
    about = "Exports the compliance and security posture of an AWS organization (AWS Config, \
             GuardDuty, IAM) as Prometheus metrics.",
    long_about = "Exports the compliance and security posture of an AWS organization (AWS Config, \
GuardDuty, IAM) as Prometheus metrics.\n\nWithout a subcommand it runs the exporter with --config. \
Values are collected in the background on fixed intervals; /metrics serves the last encoded \
exposition and never waits for AWS."
)]
struct Cli {
    /// Configuration file (YAML) for `run` and `collect`.
    #[arg(long, short = 'c', global = true, env = "POSTURE_EXPORTER_CONFIG")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log level or filter (overrides RUST_LOG), e.g. `info` or `posture_exporter=debug`.
    #[arg(long, global = true)]
    log_level: Option<String>,
    /// Read only this replica's share of the accounts, `i/n` (overrides `shard` in the config).
    #[arg(long, global = true, value_parser = parse_shard)]
    shard: Option<Shard>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the exporter (the default).
    Run,
    /// Validate a configuration file: prints `ok`, or every problem and exits 64.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Run every collector once, print the exposition to stdout, exit 1 if any collection failed.
    Collect {
        /// Collect once and exit (the only mode).
        #[arg(long)]
        once: bool,
        /// Print OpenMetrics text instead of Prometheus text.
        #[arg(long)]
        openmetrics: bool,
    },
    /// Start the simulated AWS organization and the exporter against it; serves until Ctrl-C.
    Demo {
        /// Address for /metrics.
        #[arg(long, default_value = "127.0.0.1:9946")]
        listen: String,
        /// Member accounts in the simulated organization.
        #[arg(long, default_value_t = 5)]
        accounts: usize,
        /// Seed of the simulated organization.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Collection interval of the demo.
        #[arg(long, default_value = "30s")]
        interval: String,
        /// How the demo reads GuardDuty: `accounts` (every account itself) or `administrator`
        /// (the whole organization from the management account, as its GuardDuty
        /// administrator, in every region).
        #[arg(long, default_value = "accounts", value_parser = ["accounts", "administrator"])]
        guardduty_mode: String,
    },
    /// Serve only the simulated AWS on an address (for tests with other SDKs).
    Simulate {
        /// Address to serve on.
        #[arg(long, default_value = "127.0.0.1:4566")]
        listen: String,
        /// Member accounts.
        #[arg(long, default_value_t = 5)]
        accounts: usize,
        /// Seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Calls a second allowed per (account, region, operation), with a burst of as many (at
        /// least one);
        /// past it the simulator answers each protocol's throttling error. Off when unset.
        #[arg(long)]
        rate_limit: Option<f64>,
    },
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    Shard::parse(s)
}

fn init_logs(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let filter = match &cli.log_level {
        Some(l) => EnvFilter::try_new(l).unwrap_or_else(|_| EnvFilter::new("info")),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    // Colours only for a person at a terminal, never in files or the journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => b.init(),
        LogFormat::Json => b.json().init(),
    }
}

fn load_config(path: Option<&Path>) -> Result<Config, ExitCode> {
    let Some(path) = path else {
        eprintln!("posture-exporter: --config FILE is required (see --help)");
        return Err(ExitCode::from(EXIT_CONFIG));
    };
    Config::load(path).map_err(|e: ConfigError| {
        eprint!("{}: {e}", path.display());
        ExitCode::from(EXIT_CONFIG)
    })
}

fn main() -> ExitCode {
    // Before anything else (threads, the runtime): see `posture_exporter::allocator`.
    if let Err(e) = posture_exporter::allocator::purge_promptly() {
        eprintln!("{e}; freed memory is returned to the system later");
    }
    let cli = Cli::parse();
    if let Some(Command::CheckConfig { file }) = &cli.command {
        return match Config::load(file) {
            Ok(_) => {
                println!("ok");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint!("{}: {e}", file.display());
                ExitCode::from(EXIT_CONFIG)
            }
        };
    }
    init_logs(&cli);
    // Refuse a bad file before anything starts.
    let config = match &cli.command {
        None | Some(Command::Run) | Some(Command::Collect { .. }) => {
            match load_config(cli.config.as_deref()) {
                Ok(mut c) => {
                    if let Some(sh) = cli.shard {
                        c.shard = sh;
                    }
                    Some(c)
                }
                Err(code) => return code,
            }
        }
        _ => None,
    };
    // 8 MiB a worker: decoding a page of Security Hub findings (ASFF, hundreds of nested
    // optional structures) takes more than the default 2 MiB of stack in a debug build.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 << 20)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("posture-exporter: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match (cli.command, config) {
            (None | Some(Command::Run), Some(cfg)) => {
                let path = cli.config.clone().unwrap_or_default();
                run(cfg, path, cli.shard).await
            }
            (Some(Command::Collect { once, openmetrics }), Some(cfg)) => {
                if !once {
                    anyhow::bail!("collect only supports --once");
                }
                collect_once(cfg, openmetrics).await
            }
            (
                Some(Command::Demo {
                    listen,
                    accounts,
                    seed,
                    interval,
                    guardduty_mode,
                }),
                _,
            ) => demo(&listen, accounts, seed, &interval, &guardduty_mode).await,
            (
                Some(Command::Simulate {
                    listen,
                    accounts,
                    seed,
                    rate_limit,
                }),
                _,
            ) => simulate(&listen, accounts, seed, rate_limit).await,
            _ => anyhow::bail!("nothing to do"),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("posture-exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a line for the person who started us. A closed stdout (a reader that went away) must
/// not take the daemon down, as `println!` would by panicking.
fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|_| out.flush());
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn serve_until_signal(app: App) {
    shutdown_signal().await;
    tracing::info!("shutting down");
    app.stop().await;
}

async fn run(cfg: Config, path: PathBuf, shard: Option<Shard>) -> anyhow::Result<ExitCode> {
    let listener = TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let app = App::start(
        cfg,
        listener,
        AppOptions {
            mode: Mode::Loops { jitter: true },
            static_credentials: None,
        },
    )
    .await?;
    tracing::info!(addr = %app.addr, "serving /metrics");
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
        let stop = shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = hup.recv() => {
                    app.reload_from(&path, shard).await;
                }
            }
        }
        tracing::info!("shutting down");
        app.stop().await;
    }
    #[cfg(not(unix))]
    {
        let _ = (path, shard);
        serve_until_signal(app).await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn collect_once(cfg: Config, openmetrics: bool) -> anyhow::Result<ExitCode> {
    let cfg = Arc::new(cfg);
    let counter = Arc::new(CallCounter::default());
    let store = Arc::new(Store::new(cfg.max_stale_intervals, counter.clone()));
    store.set_exceptions(cfg.exceptions.clone());
    let factory = AwsFactory::new(&cfg.aws, counter, None).await;
    let sched = Scheduler::new(
        store.clone(),
        cfg.clone(),
        tokio_util::task::TaskTracker::new(),
        tokio_util::sync::CancellationToken::new(),
        Mode::OnDemand,
    );
    let (resolved, unresolved) = targets::resolve_all(&factory, &cfg, &store).await;
    for (name, e) in &unresolved {
        tracing::error!(target = %name, error = %e, "cannot resolve the target");
    }
    let mut failed = unresolved.len();
    sched.set_targets(resolved, &[]);
    // Follow the jobs that ask to run again soon (an IAM report being generated, an org-rules
    // scan cut short) for as long as the longest collector timeout allows.
    let limit = CollectorKind::ALL
        .iter()
        .map(|k| k.schedule(&cfg.collectors).timeout)
        .max()
        .unwrap_or(Duration::from_secs(60));
    let deadline = tokio::time::Instant::now() + limit;
    let (_, mut hints) = sched.run_once_where(None).await;
    while let Some(wait) = hints.iter().map(|h| h.1).min() {
        if tokio::time::Instant::now() + wait > deadline {
            break;
        }
        tokio::time::sleep(wait).await;
        let keys: std::collections::HashSet<_> = hints.into_iter().map(|h| h.0).collect();
        hints = sched.run_once_where(Some(&keys)).await.1;
    }
    failed += store.status().iter().filter(|r| r.failing()).count();
    let exp = store.refresh();
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(&exp.body(
        if openmetrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        },
        false,
    ))?;
    out.flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("posture-exporter: {failed} collection(s) failed");
        ExitCode::FAILURE
    })
}

fn demo_config(
    endpoint: &str,
    listen: &str,
    interval: &str,
    guardduty_mode: &str,
    sim: &Sim,
) -> String {
    let (mgmt, regions, role, iam_root, config_admin, hub_admin, no_recorder) = sim.world(|w| {
        (
            w.management().id.clone(),
            w.opts.regions.clone(),
            w.opts.role_name.clone(),
            aws_sim::iam::root_entity_path(w),
            // The Config delegated administrator, which deployed most organization rules and
            // packs (the management account deployed the others): each sees only its own.
            w.opts
                .config_org
                .delegated_admin
                .and_then(|i| w.accounts.iter().find(|a| a.index == i))
                .map(|a| a.id.clone()),
            // The Security Hub delegated administrator, which reads the organization's Security
            // Hub (none in an organization of the management account alone).
            aws_sim::securityhub::administrator(w)
                .filter(|a| a.index != 0)
                .map(|a| a.id.clone()),
            // The first member without a Config recorder in some region: the gap the demo's
            // exception accepts (the same gap elsewhere still alerts).
            w.accounts.iter().filter(|a| a.index >= 3).find_map(|a| {
                w.opts
                    .regions
                    .iter()
                    .find(|r| w.recorders(&a.id, r).is_empty())
                    .map(|r| (a.id.clone(), r.clone()))
            }),
        )
    });
    let regions = format!("[{}]", regions.join(", "));
    // Its account is read through a target of its own (and left out of discovery), so that the
    // organization sections can name both deployers.
    let (mut excluded, mut admin_target, deployers) = match &config_admin {
        Some(id) => (
            vec![format!("\"{id}\"")],
            format!("  - name: config-admin\n    role_arn: arn:aws:iam::{id}:role/{role}\n    regions: {regions}\n"),
            "    targets: [org, config-admin]\n".to_string(),
        ),
        None => (Vec::new(), String::new(), String::new()),
    };
    // The Security Hub administrator too has a target of its own, left out of discovery, for
    // the organization's Security Hub; the demo counts CRITICAL findings only, to keep the
    // exposition within its budget.
    let security_hub = match &hub_admin {
        Some(id) if Some(id) != config_admin.as_ref() => {
            excluded.push(format!("\"{id}\""));
            admin_target.push_str(&format!(
                "  - name: securityhub-admin\n    role_arn: arn:aws:iam::{id}:role/{role}\n    regions: enabled\n"
            ));
            // Every region the administrator enables, so one it opted into is read too.
            format!("  security_hub:\n    enabled: true\n    interval: {interval}\n    target: securityhub-admin\n    regions: enabled\n    home_region: us-east-1\n    severities: [CRITICAL]\n")
        }
        _ => String::new(),
    };
    let exclude = if excluded.is_empty() {
        String::new()
    } else {
        format!("    exclude_accounts: [{}]\n", excluded.join(", "))
    };
    let packs = if deployers.is_empty() {
        String::new()
    } else {
        format!("  config_org_conformance_packs:\n{deployers}")
    };
    let guardduty = if guardduty_mode == "administrator" {
        format!("    mode: administrator\n    regions: {regions}\n")
    } else {
        String::new()
    };
    // One exception that silences exactly one real gap, and one overdue for review: the same
    // account's enabled regions that no collector reads, in every region.
    let exceptions = match &no_recorder {
        Some((account, region)) => format!(
            "exceptions:\n  - name: sandbox-config-off\n    account_id: \"{account}\"\n    region: {region}\n    signal: config_recorder\n    owner: platform-team\n    reason: sandbox account; Config is off there to save cost\n    review: 2099-12-31\n  - name: lab-regions\n    account_id: \"{account}\"\n    signal: region_unwatched\n    owner: security-team\n    reason: lab account; its opted-in regions are not watched\n    review: 2026-01-01\n"
        ),
        None => String::new(),
    };
    format!(
        "# Generated by `posture-exporter demo` for the simulated organization (management account {mgmt}).\n\
listen: \"{listen}\"\n\
aws:\n  region: us-east-1\n  endpoint_url: \"{endpoint}\"\n  max_attempts: 3\n\
targets:\n  - name: org\n    discover: organizations\n    role_name: {role}\n    regions: enabled\n    refresh_interval: 5m\n{exclude}{admin_target}\
collectors:\n  config_recorder:\n    interval: {interval}\n  config_org_rules:\n    interval: {interval}\n{deployers}{packs}  config_aggregators:\n    interval: {interval}\n  config_compliance:\n    interval: {interval}\n    aggregator: organization-aggregator\n  guardduty:\n    interval: {interval}\n{guardduty}  iam_access_report:\n    interval: 5m\n    poll_interval: 5s\n    entity_paths: [\"{iam_root}\"]\n{security_hub}{exceptions}"
    )
}

async fn demo(
    listen: &str,
    accounts: usize,
    seed: u64,
    interval: &str,
    guardduty_mode: &str,
) -> anyhow::Result<ExitCode> {
    let mut world = WorldOptions {
        seed,
        members: accounts,
        ..WorldOptions::default()
    };
    // Read from the administrator, the demo's management account administers every region.
    world.guardduty.admin_all_regions = guardduty_mode == "administrator";
    // Organization rules and packs deployed from two accounts, as AWS shows them: the Config
    // delegated administrator deployed most, the management account two of each before it.
    if accounts >= 3 {
        world.config_org.delegated_admin = Some(2);
        world.config_org.management_deployed = 2;
    }
    let sim = Sim::start(world)
        .await
        .context("cannot start the simulated AWS")?;
    // The Security Hub administrator opted into af-south-1 and has Security Hub off there (the
    // simulator serves nothing in opt-in regions): its section reads every region the
    // administrator enables, so the demo shows a region where Security Hub is not enabled.
    sim.world(|w| {
        let Some(admin) = aws_sim::securityhub::administrator(w).filter(|a| a.index != 0) else {
            return;
        };
        let id = admin.id.clone();
        let mut regions: Vec<(String, String)> = w
            .opts
            .regions
            .iter()
            .map(|r| (r.clone(), "ENABLED_BY_DEFAULT".to_string()))
            .collect();
        regions.push(("af-south-1".into(), "ENABLED".into()));
        w.regions.overrides.insert(id, regions);
        // A member opted into me-south-1 too, which the administrator did not: Security Hub
        // cannot cover it there, and the demo shows a region nobody watches.
        let Some(member) = w.accounts.iter().find(|a| a.index == 3) else {
            return;
        };
        let (id, index) = (member.id.clone(), member.index);
        let mut regions =
            aws_sim::world::regions::of_account(&w.regions, &w.opts.regions, &id, index);
        for (r, status) in regions.iter_mut() {
            if r == "me-south-1" {
                *status = "ENABLED".into();
            }
        }
        w.regions.overrides.insert(id, regions);
    });
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(%listen, error = %e, "address busy; using an ephemeral port");
            TcpListener::bind("127.0.0.1:0").await?
        }
    };
    let addr = listener.local_addr()?;
    let yaml = demo_config(
        &sim.url(),
        &addr.to_string(),
        interval,
        guardduty_mode,
        &sim,
    );
    let cfg = Config::from_yaml_str(&yaml).map_err(|e| anyhow::anyhow!("demo config: {e}"))?;
    let app = App::start(
        cfg,
        listener,
        AppOptions {
            mode: Mode::Loops { jitter: false },
            static_credentials: Some(Credentials::new(
                "AKIADEMOMANAGEMENT01",
                "demo-secret",
                None,
                None,
                "demo",
            )),
        },
    )
    .await?;
    say(&format!(
        "posture-exporter demo: simulated AWS at {}\nmetrics:     http://{addr}/metrics\nstatus page: http://{addr}/\nCtrl-C to stop.",
        sim.url()
    ));
    serve_until_signal(app).await;
    sim.stop();
    Ok(ExitCode::SUCCESS)
}

async fn simulate(
    listen: &str,
    accounts: usize,
    seed: u64,
    rate_limit: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let sim = Sim::start_on(
        listener,
        WorldOptions {
            seed,
            members: accounts,
            ..WorldOptions::default()
        },
    )?;
    if let Some(rate) = rate_limit.filter(|r| r.is_finite() && *r > 0.0) {
        sim.set_rate_limit(Some(SimRateLimit {
            rate,
            burst: rate.max(1.0),
        }));
    }
    say(&format!("simulated AWS at {}", sim.url()));
    shutdown_signal().await;
    sim.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(ExitCode::SUCCESS)
}
