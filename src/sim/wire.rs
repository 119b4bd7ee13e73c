//! Wire formats of the three AWS protocols the simulator speaks: awsJson1_1 (Config,
//! Organizations), restJson1 (GuardDuty) and awsQuery (STS, IAM), answers and error shapes.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};

use super::body::SimBody;

/// A response with a fresh request id.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<SimBody> {
    response_with_id(status, content_type, body, &request_id())
}

/// A response whose `x-amzn-RequestId` header is `id`: awsQuery answers carry their request id
/// in the body too, and AWS sends the same one in both places.
fn response_with_id(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
    id: &str,
) -> Response<SimBody> {
    let mut r = Response::new(SimBody::full(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert("x-amzn-requestid", v);
    }
    r
}

/// A per-process counter shaped like an AWS request id.
pub fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// The three protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `X-Amz-Target` + JSON body.
    AwsJson,
    /// REST paths + JSON bodies.
    RestJson,
    /// Form-encoded `Action=` + XML answers.
    Query {
        /// The XML namespace of the service.
        xmlns: &'static str,
    },
}

/// An AWS error: code, message, HTTP status and extra JSON fields.
#[derive(Clone, Debug)]
pub struct AwsError {
    /// Error code (`ThrottlingException`, `AccessDenied`, ...).
    pub code: String,
    /// Human message.
    pub message: String,
    /// HTTP status.
    pub status: StatusCode,
    /// Extra members of the error structure (JSON protocols).
    pub extra: Vec<(&'static str, serde_json::Value)>,
}

impl AwsError {
    /// A 400 error.
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        AwsError {
            code: code.to_string(),
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
            extra: Vec::new(),
        }
    }

    /// An error with a given status.
    pub fn status(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        AwsError {
            code: code.to_string(),
            message: message.into(),
            status,
            extra: Vec::new(),
        }
    }

    /// Adds a member to the error structure.
    pub fn with(mut self, k: &'static str, v: serde_json::Value) -> Self {
        self.extra.push((k, v));
        self
    }

    /// Encodes the error in `protocol`.
    pub fn into_response(self, protocol: Protocol) -> Response<SimBody> {
        match protocol {
            Protocol::AwsJson => {
                let mut o = serde_json::Map::new();
                o.insert("__type".into(), self.code.clone().into());
                o.insert("message".into(), self.message.clone().into());
                for (k, v) in self.extra {
                    o.insert(k.into(), v);
                }
                response(
                    self.status,
                    "application/x-amz-json-1.1",
                    serde_json::Value::Object(o).to_string(),
                )
            }
            Protocol::RestJson => {
                let mut o = serde_json::Map::new();
                o.insert("message".into(), self.message.clone().into());
                o.insert("__type".into(), self.code.clone().into());
                for (k, v) in self.extra {
                    o.insert(k.into(), v);
                }
                let mut r = response(
                    self.status,
                    "application/json",
                    serde_json::Value::Object(o).to_string(),
                );
                if let Ok(v) = HeaderValue::from_str(&self.code) {
                    r.headers_mut().insert("x-amzn-errortype", v);
                }
                r
            }
            Protocol::Query { xmlns } => {
                let kind = if self.status.is_server_error() {
                    "Receiver"
                } else {
                    "Sender"
                };
                let id = request_id();
                let body = format!(
                    "<ErrorResponse xmlns=\"{xmlns}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{id}</RequestId>\n</ErrorResponse>\n",
                    xml_escape(&self.code),
                    xml_escape(&self.message),
                );
                response_with_id(self.status, "text/xml", body, &id)
            }
        }
    }
}

/// The throttling error of each protocol, as AWS sends it.
pub fn throttling(protocol: Protocol) -> AwsError {
    match protocol {
        Protocol::AwsJson => AwsError::client("ThrottlingException", "Rate exceeded"),
        Protocol::RestJson => AwsError::status(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate exceeded",
        ),
        Protocol::Query { .. } => AwsError::client("Throttling", "Rate exceeded"),
    }
}

/// A JSON answer.
pub fn json_ok(protocol: Protocol, v: &serde_json::Value) -> Response<SimBody> {
    let ct = match protocol {
        Protocol::AwsJson => "application/x-amz-json-1.1",
        _ => "application/json",
    };
    response(StatusCode::OK, ct, v.to_string())
}

/// An awsQuery answer: `<{Action}Response><{Action}Result>{inner}</...>` with metadata.
pub fn query_ok(xmlns: &str, action: &str, inner: &str) -> Response<SimBody> {
    let id = request_id();
    let body = format!(
        "<{action}Response xmlns=\"{xmlns}\">\n  <{action}Result>\n{inner}  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{id}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
    );
    response_with_id(StatusCode::OK, "text/xml", body, &id)
}

/// Escapes text for XML.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            _ => o.push(c),
        }
    }
    o
}

/// ISO 8601 with milliseconds, as awsQuery services send timestamps.
pub fn iso8601(epoch_secs: f64) -> String {
    let dt = aws_smithy_types::DateTime::from_secs_f64(epoch_secs);
    dt.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Opaque pagination tokens that the simulator can tell from forged ones.
pub fn next_token(scope: &str, offset: usize) -> String {
    let sig = fnv(&format!("{scope}|{offset}"));
    format!("{offset:x}.{sig:016x}")
}

/// Decodes a token of [`next_token`]; `None` for a forged or foreign one.
pub fn parse_token(scope: &str, token: &str) -> Option<usize> {
    let (off, sig) = token.split_once('.')?;
    let offset = usize::from_str_radix(off, 16).ok()?;
    (format!("{:016x}", fnv(&format!("{scope}|{offset}"))) == sig).then_some(offset)
}

/// FNV-1a, a stable hash for generated data and tokens.
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
