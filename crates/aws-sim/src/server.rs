//! The simulator as a server on loopback ([`Sim`]): it reads every request, counts it, applies
//! the rate limits and the faults set, and has the service handlers answer it.

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

use crate::body::SimBody;
use crate::call::{access_denied, Call};
use crate::fault::{rewrite, Fault, FaultRule};
use crate::record;
use crate::routing::{account_for_key, answer, read_request, Routed};
use crate::wire::{self, AwsError, Protocol};
use crate::world::{World, WorldOptions};

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
