//! The running daemon: store, encoder, scheduler, target resolution and HTTP server, started
//! together and stopped together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::aws::{AwsFactory, CallCounter};
use crate::config::Config;
use crate::scheduler::{resolve_target, Scheduler};
use crate::server::{self, ServerOptions};
use crate::store::Store;

/// How to start.
#[derive(Clone, Default)]
pub struct AppOptions {
    /// Spread the first run of each job randomly over its interval (production) or start all at
    /// once (demo, tests).
    pub jitter: bool,
    /// Credentials to use instead of the ambient chain (demo, tests).
    pub static_credentials: Option<Credentials>,
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
    shutdown: CancellationToken,
    tracker: TaskTracker,
    grace: Duration,
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
        let factory = AwsFactory::new(&config.aws, counter, opts.static_credentials.clone()).await;
        let scheduler = Scheduler::new(
            store.clone(),
            config.clone(),
            tracker.clone(),
            shutdown.clone(),
            opts.jitter,
        );
        tracker.spawn(store.clone().run_encoder(shutdown.clone()));
        store.set_pending_targets(config.targets.len());
        let shard = config.shard;
        let refresh = Arc::new(tokio::sync::Notify::new());
        for t in config.targets.clone() {
            if t.discover.is_some() {
                tracker.spawn(crate::discovery::run(
                    t,
                    factory.clone(),
                    scheduler.clone(),
                    store.clone(),
                    shard,
                    refresh.clone(),
                    shutdown.clone(),
                ));
                continue;
            }
            let factory = factory.clone();
            let scheduler = scheduler.clone();
            let store = store.clone();
            let token = shutdown.clone();
            tracker.spawn(async move {
                let mut delay = Duration::from_secs(5);
                loop {
                    match resolve_target(&factory, &t, shard).await {
                        Ok(r) => {
                            tracing::info!(target = %t.name, account_id = %r.account_id, regions = ?r.regions, "target resolved");
                            scheduler.set_targets(vec![r], &[]);
                            store.target_resolved();
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(target = %t.name, error = %e, retry_in = ?delay, "cannot resolve the target's account; retrying");
                        }
                    }
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(300));
                }
            });
        }
        let sopts = ServerOptions {
            header_read_timeout: config.web.header_read_timeout.0,
            max_connections: config.web.max_connections,
            shutdown_grace: config.web.shutdown_grace.0,
        };
        tracker.spawn(server::run(
            listener,
            store.clone(),
            sopts,
            shutdown.clone(),
        ));
        Ok(App {
            store,
            scheduler,
            refresh,
            addr,
            shutdown,
            tracker,
            grace: config.web.shutdown_grace.0,
        })
    }

    /// Lists the organization's accounts again now (every discovery target).
    pub fn refresh_discovery(&self) {
        self.refresh.notify_waiters();
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
