//! The running daemon: store, encoder, scheduler, target resolution and discovery, and the HTTP
//! server, started together, reloaded together (SIGHUP) and stopped together.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::aws::{AwsFactory, CallCounter};
use crate::config::{Config, Shard, TargetConfig};
use crate::scheduler::{Mode, Scheduler};
use crate::server::{self, ServerOptions, WebState};
use crate::store::Store;
use crate::tls_auth::{BasicAuth, CertReloader};

/// How to start.
#[derive(Clone)]
pub struct AppOptions {
    /// How jobs run: loops whose first runs are spread over the interval (production) or all
    /// start at once (demo), or only when asked (tests that drive cycles themselves).
    pub mode: Mode,
    /// Credentials to use instead of the ambient chain (demo, tests).
    pub static_credentials: Option<Credentials>,
}

struct Inner {
    config: Arc<Config>,
    factory: AwsFactory,
    targets: HashMap<String, (TargetConfig, CancellationToken)>,
}

/// A running daemon.
pub struct App {
    /// The store (for tests and the status page).
    pub store: Arc<Store>,
    /// The scheduler.
    pub scheduler: Arc<Scheduler>,
    /// The address `/metrics` is served on.
    pub addr: SocketAddr,
    refresh: Arc<tokio::sync::Notify>,
    web: Arc<WebState>,
    tls: Option<Arc<CertReloader>>,
    opts: AppOptions,
    inner: tokio::sync::Mutex<Inner>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    grace: Duration,
}

fn auth_of(cfg: &Config) -> Option<BasicAuth> {
    (!cfg.web.basic_auth_users.is_empty()).then(|| BasicAuth::new(cfg.web.basic_auth_users.clone()))
}

impl App {
    /// Starts everything on `listener`.
    pub async fn start(
        config: Config,
        listener: TcpListener,
        opts: AppOptions,
    ) -> std::io::Result<App> {
        let addr = listener.local_addr()?;
        let config = Arc::new(config);
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let counter = Arc::new(CallCounter::default());
        let store = Arc::new(Store::new(config.max_stale_intervals, counter.clone()));
        store.set_reload(true, SystemTime::now());
        store.set_overview_url(config.web.external_url());
        store.set_excluded_families(&config.exclude_families);
        store.set_exceptions(config.exceptions.clone());
        let factory = AwsFactory::new(&config.aws, counter, opts.static_credentials.clone()).await;
        store.set_limiter(factory.limiter().clone());
        let scheduler = Scheduler::new(
            store.clone(),
            config.clone(),
            tracker.clone(),
            shutdown.clone(),
            opts.mode,
        );
        tracker.spawn(store.clone().run_encoder(shutdown.clone()));

        let tls = match &config.web.tls {
            Some(t) => Some(Arc::new(
                CertReloader::load(&t.cert_file, &t.key_file).map_err(std::io::Error::other)?,
            )),
            None => None,
        };
        let acceptor = match &tls {
            Some(r) => Some(crate::tls_auth::acceptor(r.clone()).map_err(std::io::Error::other)?),
            None => None,
        };
        let web = Arc::new(WebState::new(store.clone(), auth_of(&config)));
        let sopts = ServerOptions {
            header_read_timeout: config.web.header_read_timeout.0,
            max_connections: config.web.max_connections,
            shutdown_grace: config.web.shutdown_grace.0,
        };
        tracker.spawn(server::run_isolated(
            listener,
            web.clone(),
            acceptor,
            sopts,
            shutdown.clone(),
        ));
        let app = App {
            store,
            scheduler,
            addr,
            refresh: Arc::new(tokio::sync::Notify::new()),
            web,
            tls,
            opts,
            inner: tokio::sync::Mutex::new(Inner {
                config: config.clone(),
                factory,
                targets: HashMap::new(),
            }),
            shutdown,
            tracker,
            grace: config.web.shutdown_grace.0,
        };
        {
            let mut inner = app.inner.lock().await;
            for t in config.targets.clone() {
                let token = app.spawn_target(&inner.factory, &inner.config, t.clone(), true);
                inner.targets.insert(t.name.clone(), (t, token));
            }
        }
        Ok(app)
    }

    /// Starts the task that resolves (or discovers) one configured target; with `pending`,
    /// `/ready` waits for its first resolution (a target restarted by a reload is served from
    /// what it resolved before meanwhile, so it is not pending again).
    fn spawn_target(
        &self,
        factory: &AwsFactory,
        cfg: &Config,
        t: TargetConfig,
        pending: bool,
    ) -> CancellationToken {
        let token = self.shutdown.child_token();
        if pending {
            self.store.add_pending_target(&t.name);
        }
        self.tracker.spawn(crate::targets::watch(
            t,
            factory.clone(),
            self.scheduler.clone(),
            self.store.clone(),
            cfg.shard,
            self.refresh.clone(),
            token.clone(),
        ));
        token
    }

    /// Swaps in a new, already validated configuration: targets and collectors that were added,
    /// removed or changed follow; unchanged ones keep running with their data. The listen
    /// address and turning TLS on or off need a restart (logged); certificate files, basic auth
    /// users, AWS settings, targets, collectors and the freshness window are applied.
    pub async fn reload(&self, new: Config) {
        let mut inner = self.inner.lock().await;
        let old = inner.config.clone();
        if new.listen != old.listen {
            tracing::warn!(old = %old.listen, new = %new.listen, "listen changes need a restart; still serving on the old address");
        }
        match (&new.web.tls, &self.tls) {
            (Some(t), Some(r)) => {
                if let Err(e) = r.set_paths(&t.cert_file, &t.key_file) {
                    tracing::warn!(error = %e, "new TLS files do not load; keeping the old certificate");
                }
            }
            (None, None) => {}
            _ => tracing::warn!("turning TLS on or off needs a restart"),
        }
        self.web.set_auth(auth_of(&new));

        let aws_changed = new.aws != old.aws;
        if aws_changed {
            inner.factory = AwsFactory::new(
                &new.aws,
                self.store.calls().clone(),
                self.opts.static_credentials.clone(),
            )
            .await;
            self.store.set_limiter(inner.factory.limiter().clone());
        }
        let rebuild_all = aws_changed || new.shard != old.shard;
        let new_cfg = Arc::new(new);
        let keep: Vec<String> = inner
            .targets
            .iter()
            .filter(|(name, (tc, _))| {
                !rebuild_all && new_cfg.targets.iter().any(|n| &n.name == *name && n == tc)
            })
            .map(|(n, _)| n.clone())
            .collect();
        let stale: Vec<String> = inner
            .targets
            .keys()
            .filter(|n| !keep.contains(n))
            .cloned()
            .collect();
        let mut restarted: Vec<String> = Vec::new();
        for name in &stale {
            if let Some((_, tok)) = inner.targets.remove(name) {
                tok.cancel();
            }
            if new_cfg.targets.iter().any(|t| &t.name == name) {
                // Restarted, not removed: its accounts' jobs go on with their data (and the old
                // credentials) until the new watch resolves it and replaces them, so a reload
                // never blanks what was known; jobs whose credentials changed restart then.
                restarted.push(name.clone());
                continue;
            }
            self.store.target_removed(name);
            self.scheduler.remove_targets_of(name);
        }
        self.scheduler.set_config(new_cfg.clone());
        for t in new_cfg.targets.iter().filter(|t| !keep.contains(&t.name)) {
            let pending = !restarted.contains(&t.name);
            let token = self.spawn_target(&inner.factory, &new_cfg, t.clone(), pending);
            inner.targets.insert(t.name.clone(), (t.clone(), token));
        }
        self.store.set_overview_url(new_cfg.web.external_url());
        self.store.set_excluded_families(&new_cfg.exclude_families);
        let known_ous = self.store.exceptions().ous();
        self.store.set_exceptions(new_cfg.exceptions.clone());
        // An OU the running exceptions did not name is walked now, not at the next listing.
        if self
            .store
            .exceptions()
            .ous()
            .iter()
            .any(|o| !known_ous.contains(o))
        {
            self.refresh_discovery();
        }
        inner.config = new_cfg;
        self.store.set_reload(true, SystemTime::now());
        tracing::info!(
            kept = keep.len(),
            restarted = inner.targets.len() - keep.len(),
            "configuration reloaded"
        );
    }

    /// What SIGHUP does: reads `path` again and swaps it in; `shard` (the command line's
    /// `--shard`) wins over the file's. A file that does not load or validate is refused with
    /// every problem logged, and the running configuration stays. Returns whether it was applied.
    pub async fn reload_from(&self, path: &Path, shard: Option<Shard>) -> bool {
        match Config::load(path) {
            Ok(mut c) => {
                if let Some(sh) = shard {
                    c.shard = sh;
                }
                self.reload(c).await;
                true
            }
            Err(e) => {
                tracing::error!(file = %path.display(), problems = %e, "reload refused; keeping the running configuration");
                self.reload_failed();
                false
            }
        }
    }

    /// Records a refused reload (the old configuration stays).
    pub fn reload_failed(&self) {
        self.store.set_reload(false, SystemTime::now());
    }

    /// Lists the organization's accounts again now (every discovery target).
    pub fn refresh_discovery(&self) {
        self.refresh.notify_waiters();
    }

    /// The limiter the AWS calls go through now (a reload that changes `aws:` makes another).
    pub async fn limiter(&self) -> Arc<crate::aws::Limiter> {
        self.inner.lock().await.factory.limiter().clone()
    }

    /// A token that stops the daemon when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops everything and waits (at most the grace period plus a second) for the tasks.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(self.grace + Duration::from_secs(1), self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some tasks did not stop within the grace period");
        }
    }
}
