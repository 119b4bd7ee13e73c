//! Counting every AWS call attempt by service, operation and outcome.
//!
//! An SDK interceptor sees every attempt, retries included, which is what AWS's rate limits
//! count. Its outcome is `ok`, `throttled` (HTTP 429 or a throttling error code) or `error`
//! (anything else, including timeouts and connection failures that never got a response).

use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    FinalizerInterceptorContextRef, InterceptorContext,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::limits::Limiter;
use super::table::{Service, OPERATIONS};

/// The outcome of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A 2xx response that parsed.
    Ok,
    /// Throttled by AWS.
    Throttled,
    /// Any other failure.
    Error,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Throttled => "throttled",
            Outcome::Error => "error",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

/// The labels of one call counter. Every value is `'static` (the service label, an operation of
/// the services table, the outcome), so counting an attempt allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// Our label for the service (`config`, `guardduty`, ...).
    pub service: &'static str,
    /// The operation's name as AWS spells it.
    pub operation: &'static str,
    /// ok, throttled or error.
    pub outcome: Outcome,
}

/// The label of what the table does not name (a service or an operation).
const OTHER: &str = "other";

/// Every service label the counter may hold.
fn service_labels() -> impl Iterator<Item = &'static str> {
    Service::ALL
        .iter()
        .map(|s| s.as_str())
        .chain(std::iter::once(OTHER))
}

/// Every operation label the counter may hold, once each (two services may share an
/// operation name: GuardDuty's and Security Hub's ListMembers).
fn operation_labels() -> impl Iterator<Item = &'static str> {
    OPERATIONS
        .iter()
        .map(|o| o.name)
        .chain(std::iter::once(OTHER))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
}

/// The `'static` spelling of an operation name, or `other` for one the exporter does not know
/// (which would be a new SDK operation sent without a row in the services table).
fn operation_label(name: &str) -> &'static str {
    OPERATIONS
        .iter()
        .find(|o| o.name == name)
        .map_or(OTHER, |o| o.name)
}

/// Attempts by (service, operation, outcome): a `prometheus-client` counter family, registered
/// as `posture_exporter_aws_api_calls` by the store's telemetry. The key space is bounded by the
/// operations the exporter calls, so this never grows with the organization.
#[derive(Debug, Default, Clone)]
pub struct CallCounter {
    family: Family<CallLabels, Counter>,
}

impl CallCounter {
    /// Adds one attempt.
    pub fn add(&self, service: &'static str, operation: &str, outcome: Outcome) {
        let labels = CallLabels {
            service,
            operation: operation_label(operation),
            outcome,
        };
        self.family.get_or_create(&labels).inc();
    }

    /// The counter family, to register for the exposition.
    pub fn family(&self) -> &Family<CallLabels, Counter> {
        &self.family
    }

    /// Attempts of one operation with one outcome.
    pub fn get(&self, operation: &str, outcome: Outcome) -> u64 {
        let operation = operation_label(operation);
        service_labels()
            .filter_map(|service| {
                self.family
                    .get(&CallLabels {
                        service,
                        operation,
                        outcome,
                    })
                    .map(|c| c.get())
            })
            .sum()
    }

    /// Attempts of every operation of one service (its label: `config`, `sts`, ...) with one
    /// outcome.
    pub fn service_total(&self, service: &str, outcome: Outcome) -> u64 {
        let Some(service) = service_labels().find(|s| *s == service) else {
            return 0;
        };
        operation_labels()
            .filter_map(|operation| {
                self.family
                    .get(&CallLabels {
                        service,
                        operation,
                        outcome,
                    })
                    .map(|c| c.get())
            })
            .sum()
    }

    /// Attempts of every operation with one outcome.
    pub fn total(&self, outcome: Outcome) -> u64 {
        operation_labels().map(|op| self.get(op, outcome)).sum()
    }
}

/// Throttling error codes across the protocols of the services we call.
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "LimitExceededException"
            | "SlowDown"
            | "BandwidthLimitExceeded"
            | "ProvisionedThroughputExceededException"
            | "EC2ThrottledException"
            | "TransactionInProgressException"
            | "PriorRequestNotComplete"
    )
}

fn looks_throttled(status: u16, error_type: Option<&str>, body: Option<&[u8]>) -> bool {
    if status == 429 {
        return true;
    }
    if let Some(t) = error_type {
        let code = t.split(':').next().unwrap_or(t);
        let code = code.rsplit('#').next().unwrap_or(code);
        if is_throttling_code(code) {
            return true;
        }
    }
    let Some(body) = body else { return false };
    let head = &body[..body.len().min(2048)];
    let text = String::from_utf8_lossy(head);
    [
        "Throttl",
        "TooManyRequests",
        "RequestLimitExceeded",
        "Rate exceeded",
    ]
    .iter()
    .any(|n| text.contains(n))
}

/// The interceptor that feeds a [`CallCounter`]: one per service client, so it knows its
/// service without reading the SDK's spelling of it.
#[derive(Debug, Clone)]
pub struct CountCalls {
    counter: Arc<CallCounter>,
    service: Service,
}

impl CountCalls {
    /// An interceptor counting the attempts of `service`'s client into `counter`.
    pub fn new(counter: Arc<CallCounter>, service: Service) -> Self {
        CountCalls { counter, service }
    }
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or(OTHER, Metadata::name);
        self.counter
            .add(self.service.as_str(), operation, attempt_outcome(context));
        Ok(())
    }
}

/// The outcome of the attempt that just ended.
fn attempt_outcome(context: &FinalizerInterceptorContextRef<'_>) -> Outcome {
    match (context.output_or_error(), context.response()) {
        (Some(Ok(_)), _) => Outcome::Ok,
        (_, Some(resp)) => {
            let status = resp.status().as_u16();
            if looks_throttled(
                status,
                resp.headers().get("x-amzn-errortype"),
                resp.body().bytes(),
            ) {
                Outcome::Throttled
            } else {
                Outcome::Error
            }
        }
        (_, None) => Outcome::Error,
    }
}

/// The interceptor of one call that tells the limiter of its throttled attempt, so that the
/// bucket of the call's (account, region, service) slows down at the first sign (see
/// [`Limiter::throttled`]).
#[derive(Debug)]
pub struct SlowDown {
    limiter: Arc<Limiter>,
    account: String,
    region: String,
    service: Service,
    generation: u64,
}

impl SlowDown {
    /// Feedback for the bucket of (account, region, service), for a call sent with a token of
    /// its `generation` (see [`super::limits::Permit::generation`]).
    pub fn new(
        limiter: Arc<Limiter>,
        account: &str,
        region: &str,
        service: Service,
        generation: u64,
    ) -> Self {
        SlowDown {
            limiter,
            account: account.to_string(),
            region: region.to_string(),
            service,
            generation,
        }
    }

    /// The bucket was throttled.
    pub fn throttled(&self) {
        self.limiter
            .throttled(&self.account, &self.region, self.service, self.generation);
    }
}

impl Intercept for SlowDown {
    fn name(&self) -> &'static str {
        "SlowDown"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if attempt_outcome(context) == Outcome::Throttled {
            self.throttled();
        }
        Ok(())
    }
}

/// Forbids the SDK's own retry of a throttled attempt: the call comes back throttled, and the
/// call path queues it for its bucket's next token at the cut rate. A retry by the SDK would
/// be sent on its own backoff, outside the bucket, and spend the quota AWS has just said is
/// spent. Other errors (5xx, timeouts, resets) keep the SDK's retries and `max_attempts`.
#[derive(Debug, Default)]
pub struct NoThrottleRetry;

impl ClassifyRetry for NoThrottleRetry {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response() {
            Some(resp)
                if looks_throttled(
                    resp.status().as_u16(),
                    resp.headers().get("x-amzn-errortype"),
                    resp.body().bytes(),
                ) =>
            {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "NoThrottleRetry"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_recognised_in_every_protocol() {
        assert!(looks_throttled(429, None, None));
        assert!(looks_throttled(
            400,
            None,
            Some(br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
        ));
        assert!(looks_throttled(
            400,
            None,
            Some(b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>")
        ));
        assert!(looks_throttled(
            400,
            Some("TooManyRequestsException:http://x"),
            None
        ));
        assert!(!looks_throttled(
            400,
            None,
            Some(br#"{"__type":"AccessDeniedException"}"#)
        ));
        assert!(!looks_throttled(500, None, Some(b"internal")));
    }

    #[test]
    fn counter_accumulates_per_key() {
        let c = CallCounter::default();
        c.add("config", "DescribeConfigurationRecorders", Outcome::Ok);
        c.add("config", "DescribeConfigurationRecorders", Outcome::Ok);
        c.add(
            "config",
            "DescribeConfigurationRecorders",
            Outcome::Throttled,
        );
        assert_eq!(c.get("DescribeConfigurationRecorders", Outcome::Ok), 2);
        assert_eq!(
            c.get("DescribeConfigurationRecorders", Outcome::Throttled),
            1
        );
        // An operation outside the table is counted, under `other`.
        c.add("config", "SomethingNew", Outcome::Error);
        assert_eq!(c.get("other", Outcome::Error), 1);
        assert_eq!(c.total(Outcome::Ok), 2);
        assert_eq!(c.total(Outcome::Error), 1);
    }
}
