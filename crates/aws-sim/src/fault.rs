//! Faults to inject ([`Fault`]), when they apply ([`FaultRule`]), and how a fault that rewrites
//! an answer edits a successful answer's body.

use std::time::Duration;

use bytes::Bytes;

use crate::wire::{self, Protocol};

/// A fault to inject.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The protocol's throttling error.
    Throttle,
    /// HTTP 500 InternalFailure.
    Http500,
    /// HTTP 503 ServiceUnavailable.
    Http503,
    /// A 200 whose body is not valid JSON / XML.
    Malformed,
    /// The real answer cut in half (with a matching Content-Length).
    Truncated,
    /// The real answer broken off mid-body: the connection resets.
    Reset,
    /// No answer for an hour.
    Hang,
    /// The protocol's access denied error.
    AccessDenied,
    /// Expired credentials.
    ExpiredToken,
    /// The real answer with an HTML content type and body.
    WrongContentType,
    /// Extra latency before the real answer.
    Latency(Duration),
    /// The real answer with every member (JSON) or element (XML) named `field` set to `value`:
    /// an enum value AWS added after the SDK was built.
    UnknownEnum {
        /// Wire name of the member, like `lastStatus` or `JobStatus`.
        field: String,
        /// The value sent instead.
        value: String,
    },
    /// The real answer without any member (JSON) or element (XML) named `field`: a required
    /// field AWS left out.
    MissingField(String),
    /// The real JSON answer with the first list named `field` grown to `items` entries by
    /// repeating its own entries (an empty list stays empty): a page far past the `MaxResults`
    /// asked for. awsQuery (XML) answers pass unchanged.
    HugePage {
        /// Wire name of the list, like `members` or `ConfigurationRecordersStatus`.
        field: String,
        /// Entries in the page sent.
        items: usize,
    },
    /// This answer instead of the real one, whatever the protocol: for fuzzing the exporter's
    /// response parsing with generated bodies.
    Body {
        /// HTTP status (200 when not a valid status code).
        status: u16,
        /// `Content-Type` (left out when not a valid header value).
        content_type: String,
        /// The body.
        body: Bytes,
    },
}

/// When a fault applies.
#[derive(Clone, Debug)]
pub struct FaultRule {
    /// The fault.
    pub fault: Fault,
    /// Only this operation (all when `None`).
    pub operation: Option<String>,
    /// Only calls made as this account.
    pub account: Option<String>,
    /// Only this region.
    pub region: Option<String>,
    /// How many more times (forever when `None`).
    pub remaining: Option<u64>,
    /// Chance of applying to a matching call (1.0: always).
    pub probability: f64,
}

impl FaultRule {
    /// A fault on every call.
    pub fn always(fault: Fault) -> Self {
        FaultRule {
            fault,
            operation: None,
            account: None,
            region: None,
            remaining: None,
            probability: 1.0,
        }
    }

    /// Only for `op`.
    pub fn operation(mut self, op: &str) -> Self {
        self.operation = Some(op.to_string());
        self
    }

    /// Only for calls as `account`.
    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.to_string());
        self
    }

    /// Only in `region`.
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_string());
        self
    }

    /// Only `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.remaining = Some(n);
        self
    }

    /// With probability `p`.
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = p;
        self
    }
}

/// Applies a rewriting fault ([`Fault::UnknownEnum`], [`Fault::MissingField`],
/// [`Fault::HugePage`]) to a successful answer's body. JSON is edited as a tree; XML as text,
/// since awsQuery answers are flat enough that element names identify what a test aims at.
pub(crate) fn rewrite(fault: &Fault, protocol: Protocol, body: Bytes) -> Bytes {
    if let Protocol::Query { .. } = protocol {
        let Ok(text) = std::str::from_utf8(&body) else {
            return body;
        };
        let out = match fault {
            Fault::UnknownEnum { field, value } => {
                xml_elements(text, field, |_| Some(wire::xml_escape(value)))
            }
            Fault::MissingField(field) => xml_elements(text, field, |_| None),
            _ => return body,
        };
        return Bytes::from(out);
    }
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    match fault {
        Fault::UnknownEnum { field, value } => json_members(&mut v, &mut |k, m| {
            if k == field && m.is_string() {
                *m = serde_json::Value::String(value.clone());
            }
            true
        }),
        Fault::MissingField(field) => json_members(&mut v, &mut |k, _| k != field),
        Fault::HugePage { field, items } => {
            let mut done = false;
            json_members(&mut v, &mut |k, m| {
                if !done && k == field {
                    if let serde_json::Value::Array(list) = m {
                        done = true;
                        let n = list.len();
                        if n > 0 {
                            let extra: Vec<_> = (n..*items).map(|i| list[i % n].clone()).collect();
                            list.extend(extra);
                        }
                    }
                }
                true
            })
        }
        _ => {}
    }
    Bytes::from(v.to_string())
}

/// Visits every object member under `v` (depth first); `f` may change a member's value and
/// returns false to remove the member.
fn json_members(
    v: &mut serde_json::Value,
    f: &mut impl FnMut(&str, &mut serde_json::Value) -> bool,
) {
    match v {
        serde_json::Value::Object(o) => {
            o.retain(|k, m| f(k, m));
            for m in o.values_mut() {
                json_members(m, f);
            }
        }
        serde_json::Value::Array(a) => {
            for m in a {
                json_members(m, f);
            }
        }
        _ => {}
    }
}

/// Replaces the text of every `<name>text</name>` element (`Some`) or removes the element
/// (`None`).
fn xml_elements(text: &str, name: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let inner_start = start + open.len();
        let Some(len) = rest[inner_start..].find(&close) else {
            break;
        };
        out.push_str(&rest[..start]);
        if let Some(new) = f(&rest[inner_start..inner_start + len]) {
            out.push_str(&open);
            out.push_str(&new);
            out.push_str(&close);
        }
        rest = &rest[inner_start + len + close.len()..];
    }
    out.push_str(rest);
    out
}
