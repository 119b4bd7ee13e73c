//! The one way to call AWS.
//!
//! The service clients are shared by the whole process (see the module comment of `aws`), so a
//! call is only right for its job once the job's [`Scope`] (region and credentials) is applied
//! to it. Rather than repeating that at every call site, and testing that nobody forgot, the
//! clients are reachable only through [`RegionClients`]' per-service methods, whose closure gets
//! the client and must return an *unsent* request ([`Operation`]). [`Call`] then does, in one
//! place, what every call needs: the rate-limit permit of the operation's service, held for the
//! duration of the call; the scope; the send; the error mapped with the operation's name; and one
//! more call on the scope's counter ([`RegionClients::calls`]).
//!
//! ```ignore
//! let out = c.config(|cl| cl.describe_configuration_recorders()).await?;
//! let ids = c
//!     .guardduty(|g| g.list_detectors().max_results(50))
//!     .all_pages(|page| Ok(page.detector_ids().to_vec()))
//!     .await?;
//! ```
//!
//! The requests the exporter may send are the fluent builders of the rows of the services table
//! (`services.rs`), with their AWS operation names: a builder without a row does not compile as a
//! call, and the IAM policy test reads the table to know what the exporter calls. The generator
//! at the end of this file makes, from the table, the shared client of each service, the
//! per-service entry points (`config`, `guardduty`, ...) of [`RegionClients`], and an
//! [`Operation`] for every row.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::Ordering;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use aws_credential_types::provider::ProvideCredentials as _;
use aws_smithy_runtime::client::identity::IdentityCache;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};

use super::answers::CheckAnswers;
use super::attempts::{CountCalls, NoThrottleRetry, SlowDown};
use super::clients::{Clients, RegionClients, Scope};
use super::error::{cause_chain, CollectError, ErrorKind};
use super::table::Service;

mod sealed {
    /// Only the SDK's fluent builders of the services table's rows are operations: an
    /// `Operation` implemented elsewhere could send without the scope.
    pub trait Sealed {}
}

/// An unsent request of one AWS operation: an SDK fluent builder, with the operation's name and
/// service. Sealed: implemented only for the rows of the services table (`services.rs`), by this
/// file's generator.
pub trait Operation: sealed::Sealed + Send + Sized + Clone {
    /// What the operation answers.
    type Output: Send;
    /// The operation's SDK error.
    type Error: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
    /// The AWS operation name: in errors, logs and the IAM policy.
    const NAME: &'static str;
    /// The service whose rate limit the call takes.
    const SERVICE: Service;
    /// Sends the request with `scope` applied to the shared client, telling `feedback` of every
    /// throttled attempt.
    fn send_in(
        self,
        scope: &Scope,
        feedback: SlowDown,
    ) -> impl Future<Output = Result<Self::Output, SdkError<Self::Error, HttpResponse>>> + Send;
}

/// An operation that pages by `NextToken`, for [`Call::all_pages`].
pub trait Paged: Operation {
    /// The same request asking for the page at `token` (the first page when `None`).
    fn with_token(self, token: Option<String>) -> Self;
    /// The token of the next page, if the answer has one.
    fn next_token(out: &Self::Output) -> Option<&str>;
}

/// One request of a job, ready to be sent in its scope: await it for the answer, or read every
/// page with [`Call::all_pages`]. Made by [`RegionClients::config`] and its siblings.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'c, O> {
    pub(super) clients: &'c RegionClients,
    pub(super) op: O,
}

impl<'c, O: Operation + 'c> IntoFuture for Call<'c, O> {
    type Output = Result<O::Output, CollectError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.clients.send(self.op))
    }
}

/// What one send of `O` answers.
type Sent<O> = Result<<O as Operation>::Output, SdkError<<O as Operation>::Error, HttpResponse>>;

/// The send of a copy of `op`, boxed and made here rather than in [`RegionClients::send`]:
/// there, the SDK's future and the copy would be part of the call's future from its start, and
/// through every wait for a credential, a token or a slot. A cycle's runs wait at once (every
/// job of a cycle is in flight while the calls queue for their slots), so what a waiting call
/// holds is paid once per job.
fn sending<'s, O: Operation + 's>(
    op: &O,
    scope: &'s Scope,
    feedback: SlowDown,
) -> Pin<Box<dyn Future<Output = Sent<O>> + Send + 's>> {
    Box::pin(op.clone().send_in(scope, feedback))
}

impl RegionClients {
    /// Sends one request: waits for the permit of its service in this account and region (held
    /// until the answer), applies the scope, counts the call and maps its error. A throttled
    /// request queues again for a token of its slowed bucket, for as long as the job's run has
    /// time (see [`super::run::throttle_backoff`]).
    pub(super) async fn send<O: Operation>(&self, op: O) -> Result<O::Output, CollectError> {
        // Before STS has said which account the credentials are in, there is none to name.
        let account = if self.account_id.is_empty() {
            "unknown"
        } else {
            &self.account_id
        };
        // Assumed-role credentials first, before this call takes its slot: their AssumeRole
        // takes a slot and an STS token of its own (and is cached, so the SDK's own resolution
        // below finds them).
        if let Some(p) = &self.scope.credentials {
            // A wait (for the one AssumeRole of the account, queued on the STS bucket): the
            // run's turn goes to a run that has calls ready meanwhile.
            if let Err(e) = super::run::away(p.provide_credentials()).await {
                return Err(CollectError::new(
                    O::NAME,
                    account,
                    &self.region,
                    ErrorKind::Credentials,
                    cause_chain(&e),
                ));
            }
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (mut round, since) = (0, tokio::time::Instant::now());
        loop {
            let permit = self
                .limiter
                .acquire(&self.account_id, &self.region, O::SERVICE)
                .await;
            let feedback = SlowDown::new(
                self.limiter.clone(),
                &self.account_id,
                &self.region,
                O::SERVICE,
                permit.generation(),
            );
            let answer = sending(&op, &self.scope, feedback).await;
            let e = match answer {
                Ok(out) => {
                    self.limiter.ended(&self.account_id, &self.region, false);
                    return Ok(out);
                }
                Err(e) => CollectError::from_sdk(O::NAME, account, &self.region, e),
            };
            self.limiter
                .ended(&self.account_id, &self.region, e.kind == ErrorKind::Timeout);
            drop(permit);
            if e.kind != ErrorKind::Throttled {
                return Err(e);
            }
            let Some(wait) = self.limiter.throttle_wait(round, since) else {
                return Err(e);
            };
            tracing::debug!(
                operation = O::NAME,
                account_id = account,
                region = %self.region,
                round,
                wait = ?wait,
                "throttled; queueing again for a token at the slowed rate"
            );
            tokio::time::sleep(wait).await;
            round += 1;
        }
    }

    /// Resolves the scope's assumed-role credentials if they are not cached yet, so that a job
    /// can wait for its account's one AssumeRole before it takes a turn among the running jobs
    /// (the scheduler does). A failure is not reported here: the run's first call meets it
    /// again, and reports it as that call's.
    pub async fn warm_credentials(&self) {
        if let Some(p) = &self.scope.credentials {
            let _ = p.provide_credentials().await;
        }
    }

    /// The calls sent through this scope so far, each page of a listing one, retries not
    /// (those are in the process-wide [`super::CallCounter`]). A job's runs follow each other,
    /// so the difference across a run is what that run called.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// Makes the calls of the services table: matches the grammar of `services.rs` (as the data's
/// generator in `table.rs` does) and keeps what the call path needs. A macro rather than a trait
/// per service: the SDK's clients and configuration builders share no trait, so the code that
/// builds a client must be written per crate, and a macro writes it once for all of them.
macro_rules! service_calls {
    (@paged $builder:path) => {
        impl Paged for $builder {
            fn with_token(self, token: Option<String>) -> Self {
                self.set_next_token(token)
            }

            fn next_token(out: &Self::Output) -> Option<&str> {
                out.next_token()
            }
        }
    };
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident {
            label: $label:ident,
            name: $name:literal,
            client: $krate:ident,
            iam_prefix: $iam:literal,
            reach: $reach:ident,
            protocol: $protocol:ident,
            next_token: $token:literal,
            rate_limit: { rate: $rate:literal, burst: $burst:literal } $(,)?
        } operations {$(
            $op:ident in $m:ident $([$paged:ident])? $(allowed_by $act:ident)?: $builder:ident -> $output:ident, $error:ident
            $(requires [$($top:ident),* $(,)?])?
            $(each $list:ident [$($member:ident),* $(,)?])*;
        )*}
    )*) => {$(
        impl Clients {
            /// The shared client, built on first use with the exporter's interceptors and a
            /// retry partition of its own (see [`Clients`]).
            pub(super) fn $label(&self) -> &$krate::Client {
                self.services.$label.get_or_init(|| {
                    let conf = $krate::config::Builder::from(&self.base)
                        .interceptor(CountCalls::new(self.counter.clone(), Service::$variant))
                        .interceptor(CheckAnswers::new(Service::$variant))
                        .retry_classifier(NoThrottleRetry)
                        .retry_partition(
                            RetryPartition::custom(concat!("posture-exporter-", stringify!($label)))
                                .token_bucket(TokenBucket::unlimited())
                                .build(),
                        )
                        .build();
                    $krate::Client::from_conf(conf)
                })
            }
        }

        impl From<&Scope> for $krate::config::Builder {
            fn from(s: &Scope) -> Self {
                let mut b = $krate::config::Builder::default().region(s.region.clone());
                if let Some(p) = &s.credentials {
                    // Our provider caches; without `no_cache` the SDK would build a lazy
                    // identity cache for every call that overrides credentials.
                    b = b
                        .credentials_provider(p.clone())
                        .identity_cache(IdentityCache::no_cache());
                }
                b
            }
        }

        impl RegionClients {
            #[doc = concat!(
                "A call to ", $name, " in this scope: `build` gets the shared client and ",
                "returns the unsent request; the call applies the scope when it sends it."
            )]
            pub fn $label<O: Operation>(&self, build: impl FnOnce(&$krate::Client) -> O) -> Call<'_, O> {
                Call {
                    clients: self,
                    op: build(self.clients.$label()),
                }
            }
        }

        $(
        impl sealed::Sealed for $krate::operation::$m::builders::$builder {}

        impl Operation for $krate::operation::$m::builders::$builder {
            type Output = $krate::operation::$m::$output;
            type Error = $krate::operation::$m::$error;
            const NAME: &'static str = stringify!($op);
            const SERVICE: Service = Service::$variant;

            fn send_in(
                self,
                scope: &Scope,
                feedback: SlowDown,
            ) -> impl Future<Output = Result<Self::Output, SdkError<Self::Error, HttpResponse>>> + Send
            {
                self.customize()
                    .config_override(scope)
                    .interceptor(feedback)
                    .send()
            }
        }

        // `$op` must be the SDK's operation type: a name that is not one does not compile.
        const _: Option<$krate::operation::$m::$op> = None;

        $(service_calls!(@$paged $krate::operation::$m::builders::$builder);)?
        )*
    )*};
}

super::services::services_table!(service_calls);
