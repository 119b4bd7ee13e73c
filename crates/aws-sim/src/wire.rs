//! Wire formats of the three AWS protocols the simulator speaks: awsJson1_1 (Config,
//! Organizations), restJson1 (GuardDuty) and awsQuery (STS, IAM), answers and error shapes.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};

use crate::body::SimBody;

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

/// ISO 8601 in UTC, as awsQuery and restJson1 services send timestamps: whole seconds, then the
/// fraction to the microsecond without trailing zeros, if any (`2024-01-02T03:04:05.25Z`).
/// Outside the years 1-9999 it gives the epoch.
pub fn iso8601(epoch_secs: f64) -> String {
    let mut secs = epoch_secs.floor() as i64;
    let mut nanos = ((epoch_secs - epoch_secs.floor()) * 1e9) as u32;
    if nanos >= 1_000_000_000 {
        secs += 1;
        nanos = 0;
    }
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_date(days);
    if !(1..=9_999).contains(&year) {
        return "1970-01-01T00:00:00Z".into();
    }
    let (hour, minute, second) = (day_secs / 3_600, day_secs / 60 % 60, day_secs % 60);
    let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    let micros = nanos / 1_000;
    if micros > 0 {
        let frac = format!("{micros:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The (year, month, day) of the proleptic Gregorian calendar `days` after 1970-01-01.
fn civil_date(days: i64) -> (i64, i64, i64) {
    // Days since 0000-03-01, in 400-year eras of 146,097 days; a year runs March to February.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// True for a 12-digit AWS account id.
pub fn valid_account_id(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

/// The account id of an IAM role ARN (`arn:aws:iam::123456789012:role/Name`), or `None` when
/// `arn` is not one.
pub fn role_arn_account(arn: &str) -> Option<&str> {
    let mut it = arn.splitn(6, ':');
    let (arn_lit, partition, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    let ok = arn_lit == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && valid_account_id(account)
        && resource.starts_with("role/")
        && resource.len() > "role/".len();
    ok.then_some(account)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601_in_utc_with_the_fraction_trimmed() {
        for (secs, text) in [
            (0.0, "1970-01-01T00:00:00Z"),
            (-1.0, "1969-12-31T23:59:59Z"),
            (0.25, "1970-01-01T00:00:00.25Z"),
            (951_782_400.0, "2000-02-29T00:00:00Z"),
            (1_700_000_000.5, "2023-11-14T22:13:20.5Z"),
            (1_700_000_000.125, "2023-11-14T22:13:20.125Z"),
            (1_709_251_199.25, "2024-02-29T23:59:59.25Z"),
            (4_107_542_400.0, "2100-03-01T00:00:00Z"),
            (-62_135_596_800.0, "0001-01-01T00:00:00Z"),
            (253_402_300_799.0, "9999-12-31T23:59:59Z"),
            // Outside the years 1-9999, and what is not a time at all.
            (-62_135_596_801.0, "1970-01-01T00:00:00Z"),
            (253_402_300_800.0, "1970-01-01T00:00:00Z"),
            (f64::NAN, "1970-01-01T00:00:00Z"),
            (f64::INFINITY, "1970-01-01T00:00:00Z"),
        ] {
            assert_eq!(iso8601(secs), text, "{secs}");
        }
    }

    #[test]
    fn role_arns_name_their_account() {
        let arn = "arn:aws:iam::123456789012:role/PostureExporterReadOnly";
        assert_eq!(role_arn_account(arn), Some("123456789012"));
        assert_eq!(
            role_arn_account("arn:aws-us-gov:iam::123456789012:role/a/b"),
            Some("123456789012")
        );
        for bad in [
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:user/PostureExporterReadOnly",
            "arn:aws:sts::123456789012:role/PostureExporterReadOnly",
            "arn:aws:iam:us-east-1:123456789012:role/PostureExporterReadOnly",
            "arn:aws:iam::12345678901:role/PostureExporterReadOnly",
            "arn:aws:iam::12345678901x:role/PostureExporterReadOnly",
            "nra:aws:iam::123456789012:role/PostureExporterReadOnly",
            "arn:aws:iam::123456789012",
        ] {
            assert_eq!(role_arn_account(bad), None, "{bad}");
        }
        assert!(valid_account_id("000000000000"));
        assert!(!valid_account_id("0000000000000"));
    }
}
