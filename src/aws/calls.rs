//! Counting every AWS call attempt by service, operation and outcome.
//!
//! An SDK interceptor sees every attempt, retries included, which is what AWS's rate limits
//! count. Its outcome is `ok`, `throttled` (HTTP 429 or a throttling error code) or `error`
//! (anything else, including timeouts and connection failures that never got a response).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

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

/// Attempts by (service, operation, outcome). The key space is bounded by the operations the
/// exporter calls, so this never grows with the organization.
#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<(&'static str, String, Outcome), u64>>,
}

impl CallCounter {
    /// Adds one attempt.
    pub fn add(&self, service: &'static str, operation: &str, outcome: Outcome) {
        let mut m = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&(service, operation.to_string(), outcome)) {
            *n += 1;
        } else {
            m.insert((service, operation.to_string(), outcome), 1);
        }
    }

    /// All counts, in key order.
    pub fn snapshot(&self) -> Vec<((&'static str, String, Outcome), u64)> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Attempts of one operation with one outcome.
    pub fn get(&self, operation: &str, outcome: Outcome) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|((_, op, o), _)| op == operation && *o == outcome)
            .map(|(_, n)| *n)
            .sum()
    }
}

/// Our label for an SDK service name (`Config Service` -> `config`).
pub fn service_label(sdk_service: &str) -> &'static str {
    match sdk_service {
        "Config Service" | "config" => "config",
        "GuardDuty" | "guardduty" => "guardduty",
        "IAM" | "iam" => "iam",
        "Organizations" | "organizations" => "organizations",
        "STS" | "sts" => "sts",
        _ => "other",
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

/// The interceptor that feeds a [`CallCounter`].
#[derive(Debug, Clone)]
pub struct CountCalls {
    counter: Arc<CallCounter>,
}

impl CountCalls {
    /// An interceptor counting into `counter`.
    pub fn new(counter: Arc<CallCounter>) -> Self {
        CountCalls { counter }
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
        let (service, operation) = match cfg.load::<Metadata>() {
            Some(m) => (service_label(m.service()), m.name().to_string()),
            None => ("other", "unknown".to_string()),
        };
        let outcome = match (context.output_or_error(), context.response()) {
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
        };
        self.counter.add(service, &operation, outcome);
        Ok(())
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
        assert_eq!(c.snapshot().len(), 2);
    }
}
