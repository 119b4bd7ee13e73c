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
use crate::metrics::{Attention, Family, Reading};

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
    /// Whether it says if its service is on in a region (a recorder, a detector, a hub): an
    /// enabled region it does not read is then a blind spot (`aws_account_region_unwatched`).
    const WATCHES_REGIONS: bool = false;
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

/// What one run produced: the families read in every run, and the parts read apart.
///
/// A run that makes several calls whose answers stand on their own (GuardDuty's detectors and
/// its findings statistics) puts each such group of families in a [`Part`]: a part whose calls
/// failed does not fail the run, the store keeps that part's last good families under the
/// freshness rule while the rest is replaced, and the job reports itself down
/// (`collector_up` 0) naming the part, its operation and its error kind. `families` are the
/// run's core: when what they need fails, the whole run fails (`Err`), as before.
#[derive(Debug, Default)]
pub struct Collected {
    /// The families of the new snapshot that are not in a part.
    pub families: Vec<Family>,
    /// What needs attention among `families` (see [`Attention`]).
    pub items: Vec<Attention>,
    /// Lines for the status page.
    pub notes: Vec<String>,
    /// Run again sooner than the interval (e.g. to poll an asynchronous job).
    pub next_run: Option<Duration>,
    /// The parts, each read or failed on its own; names are unique within a run and stable
    /// across runs (a part that is not reported again is gone, with its families).
    pub parts: Vec<Part>,
}

/// A group of families read on its own within a run: their calls succeeded, or they failed with
/// this error and the part's last good families are kept within the staleness window.
#[derive(Debug)]
pub struct Part {
    /// Stable name, e.g. `findings detector 12ab...`; in the log and on the status page.
    pub name: String,
    /// The part's families and items, or the error of the call that failed.
    pub result: Result<Reading, CollectError>,
}

impl From<Reading> for Collected {
    /// A run whose families and items are all its core (no parts, notes or hint).
    fn from(r: Reading) -> Self {
        Collected {
            families: r.families,
            items: r.items,
            ..Collected::default()
        }
    }
}

impl From<Vec<Family>> for Collected {
    /// A run whose families are all its core.
    fn from(families: Vec<Family>) -> Self {
        Collected::from(Reading::from(families))
    }
}

impl Collected {
    /// Adds a part: its families (and items), or its error.
    pub fn part<R: Into<Reading>>(
        &mut self,
        name: impl Into<String>,
        result: Result<R, CollectError>,
    ) {
        self.parts.push(Part {
            name: name.into(),
            result: result.map(Into::into),
        });
    }

    /// Adds a part whose calls failed.
    pub fn failed_part(&mut self, name: impl Into<String>, error: CollectError) {
        self.part(name, Err::<Reading, _>(error));
    }

    /// The parts that failed.
    pub fn failed_parts(&self) -> impl Iterator<Item = (&str, &CollectError)> {
        self.parts.iter().filter_map(|p| match &p.result {
            Ok(_) => None,
            Err(e) => Some((p.name.as_str(), e)),
        })
    }
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

    /// Hands over what the runs so far learned, leaving a fresh state behind.
    fn take_state(&mut self) -> Box<dyn std::any::Any + Send>;

    /// Takes over `state`, what a job of the same collector and section learned (a reload that
    /// changed only the credentials restarts the job, not what it knows); another collector's
    /// state is ignored.
    fn adopt(&mut self, state: Box<dyn std::any::Any + Send>);
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

    fn take_state(&mut self) -> Box<dyn std::any::Any + Send> {
        Box::new(std::mem::take(&mut self.state))
    }

    fn adopt(&mut self, state: Box<dyn std::any::Any + Send>) {
        if let Ok(s) = state.downcast::<C::State>() {
            self.state = *s;
        }
    }
}
