//! What every collector is: the [`Collector`] trait and what a run is
//! given ([`JobContext`]) and gives back ([`Collected`]).
//!
//! This module sits below the collector folders so that they share it without importing the
//! list that names them (`collectors`), and below the scheduler, which runs any collector
//! through these types. A collector's settings and state are associated types, fixed at compile
//! time: the scheduler builds one [`Job`] per (collector, account, region) from a
//! [`TypedJob<C>`], so no run can be handed another collector's state.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::aws::{CollectError, RegionClients};
pub use crate::config::section::{Placement, Schedule, Section};
use crate::metrics::Family;

/// Where a collector's jobs run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Once per (target account, region).
    AccountRegion,
    /// From the organization target (the management or delegated administrator account), in
    /// the regions its section names (the home region unless it names others).
    Org,
}

/// One collector: a folder under `collectors/` and one line in their list.
pub trait Collector: Send + Sync + 'static {
    /// Name in the config, in labels and in logs.
    const NAME: &'static str;
    /// Where its jobs run, unless its settings say otherwise ([`Collector::scope`]).
    const SCOPE: Scope;
    /// Its YAML section.
    type Settings: Section;
    /// What a job keeps from one run to the next (`()` for stateless collectors).
    type State: Default + Send + 'static;

    /// Where its jobs run with these settings: [`Collector::SCOPE`] unless the collector reads
    /// either an organization-wide source or each account, as its section says.
    fn scope(_settings: &Self::Settings) -> Scope {
        Self::SCOPE
    }

    /// One run of one job.
    fn collect(
        ctx: &JobContext<Self::Settings>,
        state: &mut Self::State,
    ) -> impl Future<Output = Result<Collected, CollectError>> + Send;
}

/// What one successful run produced.
#[derive(Debug, Default)]
pub struct Collected {
    /// The families of the new snapshot.
    pub families: Vec<Family>,
    /// Lines for the status page.
    pub notes: Vec<String>,
    /// Run again sooner than the interval (e.g. to poll an asynchronous job).
    pub next_run: Option<Duration>,
}

/// Everything a run needs: where to call, and the collector's own section.
pub struct JobContext<S> {
    /// The job's account and region, and the one path to AWS.
    pub aws: Arc<RegionClients>,
    /// The collector's settings in force.
    pub settings: Arc<S>,
}

/// The future of one boxed run.
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = Result<Collected, CollectError>> + Send + 'a>>;

/// A job of any collector, as the scheduler holds it: its context and its state, together.
pub trait Job: Send {
    /// One run. Boxed: a job lives as long as its loop, and an unboxed run future would keep
    /// the size of its largest state (SDK futures, ~7 KiB) while the job sleeps.
    fn run(&mut self) -> RunFuture<'_>;
}

/// The job of collector `C`.
pub struct TypedJob<C: Collector> {
    ctx: JobContext<C::Settings>,
    state: C::State,
}

impl<C: Collector> TypedJob<C> {
    /// A job that has not run yet.
    pub fn new(ctx: JobContext<C::Settings>) -> Self {
        TypedJob {
            ctx,
            state: C::State::default(),
        }
    }
}

impl<C: Collector> Job for TypedJob<C> {
    fn run(&mut self) -> RunFuture<'_> {
        Box::pin(C::collect(&self.ctx, &mut self.state))
    }
}
