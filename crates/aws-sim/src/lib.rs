//! A simulated AWS on loopback, for posture-exporter's `demo`, its tests and its benchmarks.
//!
//! It answers the real wire protocols the SDK speaks: awsJson1_1 routed by `X-Amz-Target`
//! (Config, Organizations), restJson1 routed by path (GuardDuty) and awsQuery routed by `Action`
//! and the SigV4 credential scope's service (STS, IAM). The calling account is told from the
//! access key: keys that its own AssumeRole handed out carry the account id; any other key is the
//! management account. It serves a generated organization ([`world::World`]), counts calls per
//! operation, enforces an optional rate limit per (account, region, operation) with the real
//! throttling error of each protocol, and injects faults on demand ([`Fault`]).
//!
//! The exporter reaches it only through `aws.endpoint_url`, so what is tested is the real SDK
//! path: signing, retries, parsing. It shares no code with the exporter and uses no AWS SDK
//! crate, so neither side's mistakes can be agreed on by the other.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod body;
pub mod config;
pub mod config_compliance;
pub mod config_org;
pub mod config_org_packs;
pub mod constraints;
pub mod guardduty;
pub mod guardduty_lists;
pub mod guardduty_org;
pub mod iam;
pub mod organizations;
pub mod record;
pub mod sts;
pub mod wire;
pub mod world;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use body::SimBody;
use wire::{AwsError, Protocol};
pub use world::{World, WorldOptions};

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

/// Token-bucket settings of the simulated AWS rate limit.
#[derive(Clone, Copy, Debug)]
pub struct SimRateLimit {
    /// Calls a second per (account, region, operation).
    pub rate: f64,
    /// Burst.
    pub burst: f64,
}

/// (account, region, operation).
type BucketKey = (String, String, String);

/// Shared state of a simulator.
pub struct SimState {
    world: Mutex<World>,
    faults: Mutex<Vec<FaultRule>>,
    latency: Mutex<Duration>,
    calls: Mutex<BTreeMap<String, u64>>,
    rate: Mutex<Option<SimRateLimit>>,
    /// Limits per (account, region, service) of the services named, besides `rate`.
    service_rates: Mutex<HashMap<String, SimRateLimit>>,
    buckets: Mutex<HashMap<BucketKey, (f64, Instant)>>,
    rng: Mutex<fastrand::Rng>,
}

/// A running simulator.
pub struct Sim {
    state: Arc<SimState>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    /// Cancels the listener and every open connection (a child of `shutdown`), so that the
    /// simulator can go away for a while and come back on the same port.
    listening: Mutex<CancellationToken>,
}

impl Sim {
    /// Starts a simulator on an ephemeral loopback port.
    pub async fn start(opts: WorldOptions) -> std::io::Result<Sim> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(listener, opts)
    }

    /// Starts a simulator on `listener`.
    pub fn start_on(listener: TcpListener, opts: WorldOptions) -> std::io::Result<Sim> {
        let addr = listener.local_addr()?;
        let seed = opts.seed;
        let state = Arc::new(SimState {
            world: Mutex::new(World::new(opts)),
            faults: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            calls: Mutex::new(BTreeMap::new()),
            rate: Mutex::new(None),
            service_rates: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        });
        let shutdown = CancellationToken::new();
        let listening = shutdown.child_token();
        tokio::spawn(serve(listener, state.clone(), listening.clone()));
        Ok(Sim {
            state,
            addr,
            shutdown,
            listening: Mutex::new(listening),
        })
    }

    /// Makes the simulator unreachable for `d`: the listener closes and every open connection
    /// is dropped (calls in flight see a reset, new ones a refused connection), then it listens
    /// again on the same address. Errors if the address cannot be bound again.
    pub async fn unreachable_for(&self, d: Duration) -> std::io::Result<()> {
        lock(&self.listening).cancel();
        tokio::time::sleep(d).await;
        // The port was ours a moment ago; a socket still closing can hold it briefly.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries >= 50 => return Err(e),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let token = self.shutdown.child_token();
        *lock(&self.listening) = token.clone();
        tokio::spawn(serve(listener, self.state.clone(), token));
        Ok(())
    }

    /// The endpoint URL to give the exporter.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Reads or changes the organization.
    pub fn world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut lock(&self.state.world))
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.state.faults).push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// Latency added to every call.
    pub fn set_latency(&self, d: Duration) {
        *lock(&self.state.latency) = d;
    }

    /// Enforces a rate limit per (account, region, operation), or none.
    pub fn set_rate_limit(&self, r: Option<SimRateLimit>) {
        *lock(&self.state.rate) = r;
        lock(&self.state.buckets).clear();
    }

    /// Enforces a rate limit per (account, region, service) on every operation of `service`
    /// together (`config`, `guardduty`, `sts`, ...), or lifts it: what AWS allows when other
    /// tools spend the same account's budget, or its quota is lower than the exporter's
    /// configured rate.
    pub fn set_service_rate_limit(&self, service: &str, r: Option<SimRateLimit>) {
        let mut rates = lock(&self.state.service_rates);
        match r {
            Some(r) => rates.insert(service.to_string(), r),
            None => rates.remove(service),
        };
        let key = service_bucket(service);
        lock(&self.state.buckets).retain(|k, _| k.2 != key);
    }

    /// Calls of one operation so far (throttled and failed ones included).
    pub fn calls(&self, op: &str) -> u64 {
        lock(&self.state.calls).get(op).copied().unwrap_or(0)
    }

    /// Calls per operation.
    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        lock(&self.state.calls).clone()
    }

    /// Total calls.
    pub fn total_calls(&self) -> u64 {
        lock(&self.state.calls).values().sum()
    }

    /// Forgets the call counts.
    pub fn reset_calls(&self) {
        lock(&self.state.calls).clear();
    }

    /// Stops serving.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves until `shutdown`.
pub async fn serve(listener: TcpListener, state: Arc<SimState>, shutdown: CancellationToken) {
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let token = shutdown.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = token.cancelled() => {}
            }
        });
    }
}

/// Access key, region and service of a SigV4 `Authorization` header.
pub fn parse_authorization(h: &str) -> Option<(String, String, String)> {
    let cred = h.split("Credential=").nth(1)?;
    let cred = cred.split([',', ' ']).next()?;
    let mut parts = cred.split('/');
    let key = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    Some((key, region, service))
}

/// The account an access key belongs to: keys handed out by the simulator's AssumeRole carry
/// it (`ASIA` + 12 digits + suffix); any other key is the management account's.
pub fn account_for_key(world: &World, key: &str) -> String {
    // Bytes, not a `str` slice: byte 16 of a key that is not ASCII can be inside a character.
    match key.as_bytes().get(4..16) {
        Some(digits) if key.starts_with("ASIA") && digits.iter().all(u8::is_ascii_digit) => {
            String::from_utf8_lossy(digits).into_owned()
        }
        _ => world.management().id.clone(),
    }
}

/// A request as the simulator routes it: what [`read_request`] makes of its method, path,
/// headers and body, before the calling account, rate limits and faults are applied.
#[derive(Debug)]
pub struct Routed {
    /// Service the request is for (`config`, `organizations`, `guardduty`, `sts`, `iam`, or
    /// `unknown`).
    pub service: String,
    /// Protocol of the service.
    pub protocol: Protocol,
    /// Operation name (`Unknown` for a GuardDuty path no operation has).
    pub op: String,
    /// JSON body (awsJson, restJson).
    pub json: serde_json::Value,
    /// Form parameters (awsQuery) or query-string parameters (restJson).
    pub params: Vec<(String, String)>,
    /// Access key, region and service of the `Authorization` header, if it has a credential.
    pub auth: Option<(String, String, String)>,
}

/// Routes a request from its parts: `target` is the `X-Amz-Target` header and `authorization`
/// the `Authorization` header. Pure, so that it can be fuzzed apart from the server; the error
/// is the awsJson answer to a body that is not JSON.
pub fn read_request(
    method: &http::Method,
    path: &str,
    query: Option<&str>,
    target: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<Routed, AwsError> {
    let auth = authorization.and_then(parse_authorization);
    let (service, protocol, op, json, params): (
        String,
        Protocol,
        String,
        serde_json::Value,
        Vec<(String, String)>,
    ) = if let Some(t) = target {
        let (prefix, op) = t.split_once('.').unwrap_or((t, ""));
        let service = match prefix {
            "StarlingDoveService" => "config",
            "AWSOrganizationsV20161128" => "organizations",
            _ => "unknown",
        };
        let json = if body.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                AwsError::client("SerializationException", format!("invalid JSON: {e}"))
            })?
        };
        (
            service.into(),
            Protocol::AwsJson,
            op.to_string(),
            json,
            Vec::new(),
        )
    } else if path.starts_with("/detector")
        || path.starts_with("/organization/")
        || path == "/invitation"
        || path.starts_with("/invitation/")
    {
        // GuardDuty's paths; GetOrganizationStatistics and the invitations are outside
        // `/detector`.
        let params = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let json = if body.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_slice(body).unwrap_or(serde_json::json!({}))
        };
        (
            "guardduty".into(),
            Protocol::RestJson,
            guardduty_operation(method, path),
            json,
            params,
        )
    } else {
        let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let service = auth
            .as_ref()
            .map(|a| a.2.clone())
            .unwrap_or_else(|| "sts".into());
        let xmlns = match service.as_str() {
            "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
            _ => "https://sts.amazonaws.com/doc/2011-06-15/",
        };
        (
            service,
            Protocol::Query { xmlns },
            action,
            serde_json::Value::Null,
            params,
        )
    };
    Ok(Routed {
        service,
        protocol,
        op,
        json,
        params,
        auth,
    })
}

/// Answers a routed call from `world`: the service models' constraints
/// ([`constraints::check`]), then the service handlers, without faults or rate limits.
pub fn answer(world: &mut World, service: &str, call: &Call) -> Answer {
    constraints::check(service, call)?;
    match service {
        "config" => config::handle(world, call),
        "organizations" => organizations::handle(world, call),
        "sts" => sts::handle(world, call),
        "guardduty" => guardduty::handle(world, call),
        "iam" => iam::handle(world, call),
        _ => Err(unknown_operation(call)),
    }
}

async fn handle(state: &SimState, req: Request<Incoming>) -> Response<SimBody> {
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, 16 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let h = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path = parts.uri.path().to_string();
    let Routed {
        service,
        protocol,
        op,
        json,
        params,
        auth,
    } = match read_request(
        &parts.method,
        &path,
        parts.uri.query(),
        h("x-amz-target").as_deref(),
        h("authorization").as_deref(),
        &body,
    ) {
        Ok(r) => r,
        Err(e) => return e.into_response(Protocol::AwsJson),
    };
    record::request(&record::Raw {
        service: &service,
        op: &op,
        protocol: match protocol {
            Protocol::AwsJson => "json",
            Protocol::RestJson => "rest-json",
            Protocol::Query { .. } => "query",
        },
        method: parts.method.as_str(),
        path: &path,
        query: parts.uri.query().unwrap_or(""),
        target: h("x-amz-target").as_deref(),
        user_agent: h("user-agent").as_deref().unwrap_or(""),
        body: &body,
    });

    let Some((access_key, region, _)) = auth else {
        return AwsError::status(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
        .into_response(protocol);
    };
    let account = account_for_key(&lock(&state.world), &access_key);

    let call = Call {
        op,
        account,
        access_key,
        region,
        protocol,
        json,
        params,
        method: parts.method.clone(),
        path,
    };
    *lock(&state.calls).entry(call.op.clone()).or_insert(0) += 1;

    let latency = *lock(&state.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if throttled(state, &service, &call) {
        return wire::throttling(protocol).into_response(protocol);
    }
    let fault = pick_fault(state, &call);
    if let Some(Fault::Latency(d)) = fault {
        tokio::time::sleep(d).await;
    }
    match &fault {
        Some(Fault::Throttle) => return wire::throttling(protocol).into_response(protocol),
        Some(Fault::Http500) => {
            return AwsError::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                "simulated internal failure",
            )
            .into_response(protocol)
        }
        Some(Fault::Http503) => {
            return AwsError::status(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "simulated unavailability",
            )
            .into_response(protocol)
        }
        Some(Fault::AccessDenied) => return access_denied(&call).into_response(protocol),
        Some(Fault::ExpiredToken) => {
            let code = match protocol {
                Protocol::Query { .. } => "ExpiredToken",
                _ => "ExpiredTokenException",
            };
            return AwsError::status(
                StatusCode::FORBIDDEN,
                code,
                "The security token included in the request is expired",
            )
            .into_response(protocol);
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return AwsError::status(StatusCode::GATEWAY_TIMEOUT, "RequestTimeout", "hung")
                .into_response(protocol);
        }
        Some(Fault::Body {
            status,
            content_type,
            body,
        }) => {
            let mut r = Response::new(SimBody::full(body.clone()));
            *r.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            if let Ok(v) = http::HeaderValue::from_str(content_type) {
                r.headers_mut().insert(http::header::CONTENT_TYPE, v);
            }
            return r;
        }
        Some(Fault::Malformed) => {
            let (ct, b): (&'static str, &'static str) = match protocol {
                Protocol::Query { .. } => ("text/xml", "<AssumeRoleResponse><Broken"),
                _ => (
                    "application/x-amz-json-1.1",
                    "{\"ConfigurationRecorders\": [ {\"name\": ",
                ),
            };
            return wire::response(StatusCode::OK, ct, b);
        }
        _ => {}
    }

    let answer = answer(&mut lock(&state.world), &service, &call);
    let resp = match answer {
        Ok(r) => r,
        Err(e) => e.into_response(protocol),
    };
    match fault {
        Some(Fault::Truncated) | Some(Fault::Reset) | Some(Fault::WrongContentType) => {
            let (mut parts, body) = resp.into_parts();
            let full = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let half = full.slice(..full.len() / 2);
            match fault {
                Some(Fault::Truncated) => {
                    parts.headers.remove(http::header::CONTENT_LENGTH);
                    Response::from_parts(parts, SimBody::full(half))
                }
                Some(Fault::Reset) => {
                    Response::from_parts(parts, SimBody::broken(half, full.len() as u64))
                }
                _ => {
                    parts.headers.insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/html"),
                    );
                    Response::from_parts(
                        parts,
                        SimBody::full(Bytes::from_static(
                            b"<html><body>502 Bad Gateway</body></html>",
                        )),
                    )
                }
            }
        }
        Some(Fault::UnknownEnum { .. })
        | Some(Fault::MissingField(_))
        | Some(Fault::HugePage { .. })
            if resp.status().is_success() =>
        {
            let (mut parts, body) = resp.into_parts();
            let full = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let out = match fault {
                Some(f) => rewrite(&f, protocol, full),
                None => full,
            };
            parts.headers.remove(http::header::CONTENT_LENGTH);
            Response::from_parts(parts, SimBody::full(out))
        }
        _ => resp,
    }
}

/// Applies a rewriting fault ([`Fault::UnknownEnum`], [`Fault::MissingField`],
/// [`Fault::HugePage`]) to a successful answer's body. JSON is edited as a tree; XML as text,
/// since awsQuery answers are flat enough that element names identify what a test aims at.
fn rewrite(fault: &Fault, protocol: Protocol, body: Bytes) -> Bytes {
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

/// The operation of a GuardDuty REST request.
fn guardduty_operation(method: &http::Method, path: &str) -> String {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["detector"]) => "ListDetectors",
        ("GET", ["detector", _]) => "GetDetector",
        ("POST", ["detector", _, "findings", "statistics"]) => "GetFindingsStatistics",
        ("GET", ["detector", _, "member"]) => "ListMembers",
        ("GET", ["detector", _, "administrator"]) => "GetAdministratorAccount",
        ("POST", ["detector", _, "member", "detector", "get"]) => "GetMemberDetectors",
        ("GET", ["detector", _, "admin"]) => "DescribeOrganizationConfiguration",
        ("GET", ["organization", "statistics"]) => "GetOrganizationStatistics",
        ("POST", ["detector", _, "coverage", "statistics"]) => "GetCoverageStatistics",
        ("GET", ["detector", _, "threatintelset"]) => "ListThreatIntelSets",
        ("GET", ["detector", _, "threatintelset", _]) => "GetThreatIntelSet",
        ("GET", ["detector", _, "ipset"]) => "ListIPSets",
        ("GET", ["detector", _, "ipset", _]) => "GetIPSet",
        ("GET", ["detector", _, "filter"]) => "ListFilters",
        ("GET", ["detector", _, "filter", _]) => "GetFilter",
        ("GET", ["invitation", "count"]) => "GetInvitationsCount",
        ("GET", ["invitation"]) => "ListInvitations",
        _ => "Unknown",
    }
    .to_string()
}

fn unknown_operation(call: &Call) -> AwsError {
    match call.protocol {
        Protocol::Query { .. } => AwsError::client(
            "InvalidAction",
            format!("The action {} is not valid for this web service.", call.op),
        ),
        Protocol::RestJson => AwsError::status(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("no route for {} {}", call.method, call.path),
        ),
        Protocol::AwsJson => AwsError::client(
            "UnknownOperationException",
            format!("unknown operation {}", call.op),
        ),
    }
}

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

/// The bucket key of a service-wide limit (operations are CamelCase, so it cannot clash).
fn service_bucket(service: &str) -> String {
    format!("service:{service}")
}

fn throttled(state: &SimState, service: &str, call: &Call) -> bool {
    let per_service = lock(&state.service_rates).get(service).copied();
    if let Some(limit) = per_service {
        if take(
            state,
            limit,
            (
                call.account.clone(),
                call.region.clone(),
                service_bucket(service),
            ),
        ) {
            return true;
        }
    }
    let Some(limit) = *lock(&state.rate) else {
        return false;
    };
    take(
        state,
        limit,
        (call.account.clone(), call.region.clone(), call.op.clone()),
    )
}

/// Takes a token of bucket `key`; true when there was none (the call is throttled).
fn take(state: &SimState, limit: SimRateLimit, key: BucketKey) -> bool {
    let now = Instant::now();
    let mut buckets = lock(&state.buckets);
    let b = buckets.entry(key).or_insert((limit.burst, now));
    let elapsed = now.saturating_duration_since(b.1).as_secs_f64();
    b.0 = (b.0 + elapsed * limit.rate).min(limit.burst);
    b.1 = now;
    if b.0 >= 1.0 {
        b.0 -= 1.0;
        false
    } else {
        true
    }
}

fn pick_fault(state: &SimState, call: &Call) -> Option<Fault> {
    let mut faults = lock(&state.faults);
    let mut rng = lock(&state.rng);
    for rule in faults.iter_mut() {
        let matches = rule.operation.as_deref().is_none_or(|o| o == call.op)
            && rule.account.as_deref().is_none_or(|a| a == call.account)
            && rule.region.as_deref().is_none_or(|r| r == call.region)
            && rule.remaining != Some(0);
        if matches && (rule.probability >= 1.0 || rng.f64() < rule.probability) {
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            return Some(rule.fault.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_account_and_no_key_panics() {
        let world = World::new(WorldOptions::default());
        let management = world.management().id.clone();
        assert_eq!(
            account_for_key(&world, "ASIA123456789012XYZ"),
            "123456789012"
        );
        assert_eq!(account_for_key(&world, "ASIA123456789012"), "123456789012");
        assert_eq!(account_for_key(&world, "ASIA12345678901"), management);
        assert_eq!(account_for_key(&world, "AKIDEXAMPLE"), management);
        // Not ASCII where the account id would end: once a panic slicing the key.
        assert_eq!(
            account_for_key(&world, "ASIAAKIDEXAMPL$\u{0100}"),
            management
        );
        assert_eq!(
            account_for_key(&world, "ASIA12345678901\u{00e9}"),
            management
        );
    }
}
