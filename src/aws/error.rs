//! The error of a collection, with the operation, account and region it happened in and a fixed
//! short `kind` fit for a label or an alert, never a `Debug` string.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure a collection met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Throttled past what the retries absorbed.
    Throttled,
    /// The caller lacks a permission (or is not the management / delegated administrator account).
    AccessDenied,
    /// Credentials missing, expired or rejected; AssumeRole failed.
    Credentials,
    /// The call or the run took longer than allowed.
    Timeout,
    /// Connection refused, reset or otherwise broken.
    Network,
    /// AWS answered with something that does not parse.
    Malformed,
    /// A resource the run needed does not exist.
    NotFound,
    /// Any other error answered by the service (5xx, validation).
    Service,
    /// A bug or a request that could not be built.
    Internal,
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ErrorKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Credentials => "credentials",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Malformed => "malformed_response",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Service => "service_error",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A failed AWS call or collection.
#[derive(Debug, thiserror::Error)]
#[error("{operation} for account {account_id} in {region} failed ({}): {message}", kind.as_str())]
pub struct CollectError {
    /// The AWS operation (or step) that failed.
    pub operation: &'static str,
    /// The account the call was made for.
    pub account_id: String,
    /// The region the call was made in.
    pub region: String,
    /// Fixed short classification.
    pub kind: ErrorKind,
    /// The AWS error code, when the service sent one.
    pub code: Option<String>,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    /// The whole cause chain.
    pub message: String,
}

impl CollectError {
    /// An error that did not come from the SDK.
    pub fn new(
        operation: &'static str,
        account_id: &str,
        region: &str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        CollectError {
            operation,
            account_id: account_id.to_string(),
            region: region.to_string(),
            kind,
            code: None,
            status: None,
            message: message.into(),
        }
    }

    /// Classifies an SDK error.
    pub fn from_sdk<E>(
        operation: &'static str,
        account_id: &str,
        region: &str,
        err: SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        // A service error is AWS's own code and message, which is what a reader needs: its
        // chain would end at the SDK's error metadata, whose `Display` is a `Debug` dump.
        let message = match (err.code(), err.message()) {
            (Some(code), Some(m)) => format!("{code}: {m}").replace(['\n', '\r'], " "),
            (Some(code), None) => code.to_string(),
            (None, Some(m)) => format!("{}: {m}", cause_chain(&err)).replace(['\n', '\r'], " "),
            (None, None) => cause_chain(&err),
        };
        let (kind, code) = classify(&err, &message);
        let status = match &err {
            SdkError::ServiceError(ctx) => Some(ctx.raw().status().as_u16()),
            SdkError::ResponseError(ctx) => Some(ctx.raw().status().as_u16()),
            _ => None,
        };
        CollectError {
            operation,
            account_id: account_id.to_string(),
            region: region.to_string(),
            kind,
            code,
            status,
            message,
        }
    }

    /// Whether the failure is expected to pass by itself: throttled, timed out, the network, or
    /// AWS's own fault (a 5xx). A refusal (a permission, an operation the endpoint does not have,
    /// a validation error) is not, and neither is an answer that does not parse.
    pub fn is_passing(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled | ErrorKind::Timeout | ErrorKind::Network
        ) || self.status.is_some_and(|s| s >= 500)
    }

    /// The AWS error code, if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// The messages of an error and of each of its causes, on one line, each once. Never the
/// `Debug` form of an SDK error, which carries the raw response: its headers and its body.
pub fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let m = c.to_string();
        // The SDK's error metadata displays as a `Debug` struct (`Error { code: .. }`); its code
        // and message are taken apart where they are known.
        if !m.is_empty() && !out.contains(&m) && !m.starts_with("Error {") {
            out.push_str(": ");
            out.push_str(&m);
        }
        cause = c.source();
    }
    out.replace(['\n', '\r'], " ")
}

/// What the SDK's error correction puts in a required enum or string that an answer left out.
pub const SDK_MISSING: &str = "no value was set";

/// A required member of an answer: refuses one that is empty or that the SDK's error correction
/// filled in, so that a broken answer fails the run instead of being exported as a value.
pub fn required(
    value: &str,
    member: &str,
    operation: &'static str,
    account_id: &str,
    region: &str,
) -> Result<String, CollectError> {
    if value.is_empty() || value == SDK_MISSING {
        Err(CollectError::new(
            operation,
            account_id,
            region,
            ErrorKind::Malformed,
            format!("the answer lacks its required member {member}"),
        ))
    } else {
        Ok(value.to_string())
    }
}

/// Kind for an AWS error code.
pub fn kind_of_code(code: &str) -> ErrorKind {
    if crate::aws::attempts::is_throttling_code(code) {
        ErrorKind::Throttled
    } else if code.contains("AccessDenied")
        || code == "UnauthorizedOperation"
        || code == "AuthorizationError"
        || code == "UnauthorizedException"
        || code == "AWSOrganizationsNotInUseException"
    {
        ErrorKind::AccessDenied
    } else if matches!(
        code,
        "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "InvalidAccessKeyId"
            | "MissingAuthenticationToken"
    ) {
        ErrorKind::Credentials
    } else if code.starts_with("NoSuch") || code.contains("NotFound") {
        ErrorKind::NotFound
    } else {
        ErrorKind::Service
    }
}

fn classify<E>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
    message: &str,
) -> (ErrorKind, Option<String>)
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().map(str::to_string);
            let status = ctx.raw().status().as_u16();
            let kind = match &code {
                Some(c) => kind_of_code(c),
                None if status == 429 => ErrorKind::Throttled,
                None if (200..300).contains(&status) => ErrorKind::Malformed,
                None if status == 403 => ErrorKind::AccessDenied,
                None => ErrorKind::Service,
            };
            (kind, code)
        }
        SdkError::TimeoutError(_) => (ErrorKind::Timeout, None),
        SdkError::ResponseError(_) => (ErrorKind::Malformed, None),
        SdkError::DispatchFailure(df) => {
            if df.is_timeout() {
                (ErrorKind::Timeout, None)
            } else if message.contains("credentials") || message.contains("AssumeRole") {
                (ErrorKind::Credentials, None)
            } else {
                // I/O errors and anything else the connector reports.
                (ErrorKind::Network, None)
            }
        }
        SdkError::ConstructionFailure(_) => {
            if message.contains("credentials") || message.contains("AssumeRole") {
                (ErrorKind::Credentials, None)
            } else {
                (ErrorKind::Internal, None)
            }
        }
        _ => (ErrorKind::Internal, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of_code("ThrottlingException"), ErrorKind::Throttled);
        assert_eq!(
            kind_of_code("AccessDeniedException"),
            ErrorKind::AccessDenied
        );
        assert_eq!(
            kind_of_code("OrganizationAccessDeniedException"),
            ErrorKind::AccessDenied
        );
        assert_eq!(kind_of_code("ExpiredToken"), ErrorKind::Credentials);
        assert_eq!(
            kind_of_code("NoSuchOrganizationConfigRuleException"),
            ErrorKind::NotFound
        );
        assert_eq!(kind_of_code("InternalFailure"), ErrorKind::Service);
    }

    use aws_sdk_guardduty::operation::list_detectors::ListDetectorsError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn raw(status: u16) -> Response {
        Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    fn service(code: Option<&str>, message: &str, status: u16) -> CollectError {
        let mut meta = ErrorMetadata::builder().message(message);
        if let Some(c) = code {
            meta = meta.code(c);
        }
        let e = SdkError::service_error(ListDetectorsError::generic(meta.build()), raw(status));
        CollectError::from_sdk("ListDetectors", "111111111111", "us-east-1", e)
    }

    /// One readable line with AWS's code and message: never the `Debug` form of the SDK's error
    /// metadata (`Error { code: .., message: .., aws_request_id: .. }`).
    #[test]
    fn a_service_error_is_one_readable_line_with_aws_code_and_message() {
        let e = service(Some("Throttling"), "Rate exceeded", 400);
        assert!(!e.message.contains("Error {"), "{}", e.message);
        assert!(!e.message.contains("aws_request_id"), "{}", e.message);
        assert!(
            e.message.contains("Throttling: Rate exceeded"),
            "{}",
            e.message
        );
        assert!(!e.message.contains('\n'));
    }

    /// Every code and status the collectors can meet, with the kind it must get: the label of
    /// `collector_failures_total` and of the status page.
    #[test]
    fn every_error_the_collectors_meet_gets_its_kind() {
        let table: &[(Option<&str>, u16, &str)] = &[
            // Throttling, as each protocol spells it.
            (Some("ThrottlingException"), 400, "throttled"),
            (Some("Throttling"), 400, "throttled"),
            (Some("TooManyRequestsException"), 429, "throttled"),
            (Some("LimitExceededException"), 400, "throttled"),
            (Some("RequestLimitExceeded"), 400, "throttled"),
            (Some("RequestThrottledException"), 400, "throttled"),
            (None, 429, "throttled"),
            // Access.
            (Some("AccessDeniedException"), 400, "access_denied"),
            (Some("AccessDenied"), 403, "access_denied"),
            (
                Some("OrganizationAccessDeniedException"),
                400,
                "access_denied",
            ),
            (
                Some("AWSOrganizationsNotInUseException"),
                400,
                "access_denied",
            ),
            (Some("UnauthorizedException"), 401, "access_denied"),
            (None, 403, "access_denied"),
            // Credentials.
            (Some("ExpiredToken"), 400, "credentials"),
            (Some("ExpiredTokenException"), 400, "credentials"),
            (Some("InvalidClientTokenId"), 403, "credentials"),
            (Some("UnrecognizedClientException"), 400, "credentials"),
            (Some("SignatureDoesNotMatch"), 403, "credentials"),
            // Gone.
            (
                Some("NoSuchOrganizationConfigRuleException"),
                400,
                "not_found",
            ),
            (
                Some("NoSuchConfigurationAggregatorException"),
                400,
                "not_found",
            ),
            (Some("ResourceNotFoundException"), 404, "not_found"),
            // The service's own failures and refusals.
            (Some("InternalFailure"), 500, "service_error"),
            (Some("ServiceUnavailable"), 503, "service_error"),
            (Some("InvalidNextTokenException"), 400, "service_error"),
            (Some("BadRequestException"), 400, "service_error"),
            (None, 500, "service_error"),
            // A 2xx the SDK could not read as the operation's answer.
            (None, 200, "malformed_response"),
        ];
        for (code, status, kind) in table {
            let e = service(*code, "AWS said so", *status);
            assert_eq!(e.kind.as_str(), *kind, "{code:?} {status}");
            assert_eq!(e.code.as_deref(), *code);
            // One readable line, with AWS's code and message.
            assert!(e.message.contains("AWS said so"), "{}", e.message);
            if let Some(c) = code {
                assert!(e.message.contains(c), "{}", e.message);
            }
            assert!(
                !e.message.contains('\n') && !e.message.contains("headers"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn errors_without_an_answer_get_their_kind() {
        let timeout = SdkError::<ListDetectorsError, Response>::timeout_error("attempt timeout");
        let e = CollectError::from_sdk("ListDetectors", "1", "r", timeout);
        assert_eq!(e.kind, ErrorKind::Timeout);
        let reset = SdkError::<ListDetectorsError, Response>::dispatch_failure(ConnectorError::io(
            "connection reset by peer".into(),
        ));
        let e = CollectError::from_sdk("ListDetectors", "1", "r", reset);
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(
            e.message.contains("connection reset by peer"),
            "{}",
            e.message
        );
        let slow = SdkError::<ListDetectorsError, Response>::dispatch_failure(
            ConnectorError::timeout("connect timed out".into()),
        );
        assert_eq!(
            CollectError::from_sdk("ListDetectors", "1", "r", slow).kind,
            ErrorKind::Timeout
        );
        // The message-sniffing fallback: a credentials provider's failure reaches us as a
        // dispatch or construction failure whose text names it.
        let creds =
            SdkError::<ListDetectorsError, Response>::dispatch_failure(ConnectorError::other(
                "failed to load credentials: AssumeRole of arn:aws:iam::1:role/R refused".into(),
                None,
            ));
        assert_eq!(
            CollectError::from_sdk("ListDetectors", "1", "r", creds).kind,
            ErrorKind::Credentials
        );
        let build = SdkError::<ListDetectorsError, Response>::construction_failure(
            "no credentials in the chain",
        );
        assert_eq!(
            CollectError::from_sdk("ListDetectors", "1", "r", build).kind,
            ErrorKind::Credentials
        );
        let broken =
            SdkError::<ListDetectorsError, Response>::response_error("unexpected EOF", raw(200));
        let e = CollectError::from_sdk("ListDetectors", "1", "r", broken);
        assert_eq!(e.kind, ErrorKind::Malformed);
        assert!(e.message.contains("unexpected EOF"), "{}", e.message);
    }

    /// What passes by itself and what does not: a job that knows nothing yet reads differently
    /// in a run whose failure will pass (a throttle, a 5xx, the network) than in one refused for
    /// good (a permission, an operation the endpoint does not have: moto's 404 page).
    #[test]
    fn passing_failures_are_throttles_timeouts_the_network_and_5xx() {
        let cases: &[(Option<&str>, u16, bool)] = &[
            (Some("ThrottlingException"), 400, true),
            (None, 429, true),
            (Some("InternalFailure"), 500, true),
            (Some("ServiceUnavailable"), 503, true),
            (None, 502, true),
            (Some("AccessDeniedException"), 403, false),
            (Some("BadRequestException"), 400, false),
            (None, 404, false),
            (Some("ResourceNotFoundException"), 404, false),
            (None, 200, false),
        ];
        for (code, status, passing) in cases {
            let e = service(*code, "AWS said so", *status);
            assert_eq!(e.status, Some(*status));
            assert_eq!(e.is_passing(), *passing, "{code:?} {status}");
        }
        let reset = SdkError::<ListDetectorsError, Response>::dispatch_failure(ConnectorError::io(
            "connection reset by peer".into(),
        ));
        let e = CollectError::from_sdk("ListDetectors", "1", "r", reset);
        assert!(e.is_passing() && e.status.is_none());
        let timeout = SdkError::<ListDetectorsError, Response>::timeout_error("attempt timeout");
        assert!(CollectError::from_sdk("ListDetectors", "1", "r", timeout).is_passing());
        let gateway = SdkError::<ListDetectorsError, Response>::response_error("<html>", raw(502));
        assert!(CollectError::from_sdk("ListDetectors", "1", "r", gateway).is_passing());
        let broken =
            SdkError::<ListDetectorsError, Response>::response_error("unexpected EOF", raw(200));
        assert!(!CollectError::from_sdk("ListDetectors", "1", "r", broken).is_passing());
    }
}
