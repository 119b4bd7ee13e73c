//! What a service handler sees of a call ([`Call`]) and gives back ([`Answer`]), and the error
//! any operation may answer when the caller lacks permission ([`access_denied`]).

use http::{Response, StatusCode};

use crate::body::SimBody;
use crate::wire::{AwsError, Protocol};

/// What a service handler sees of a call.
#[derive(Debug)]
pub struct Call {
    /// Operation name.
    pub op: String,
    /// The calling account.
    pub account: String,
    /// The access key used.
    pub access_key: String,
    /// Region of the signature.
    pub region: String,
    /// Protocol of the service.
    pub protocol: Protocol,
    /// JSON body (awsJson, restJson).
    pub json: serde_json::Value,
    /// Form parameters (awsQuery) or query-string parameters (restJson).
    pub params: Vec<(String, String)>,
    /// HTTP method.
    pub method: http::Method,
    /// Request path.
    pub path: String,
}

impl Call {
    /// A form / query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Result of a service handler.
pub type Answer = Result<Response<SimBody>, AwsError>;

/// The access denied error of a call's protocol, worded like AWS's.
pub fn access_denied(call: &Call) -> AwsError {
    let msg = format!(
        "User: arn:aws:sts::{}:assumed-role/PostureExporterReadOnly/posture-exporter is not authorized to perform: {}",
        call.account, call.op
    );
    match call.protocol {
        Protocol::Query { .. } => AwsError::status(StatusCode::FORBIDDEN, "AccessDenied", msg),
        Protocol::RestJson => AwsError::status(StatusCode::FORBIDDEN, "AccessDeniedException", msg),
        Protocol::AwsJson => AwsError::client("AccessDeniedException", msg),
    }
}
