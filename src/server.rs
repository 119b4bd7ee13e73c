//! The HTTP server: `/metrics`, `/healthz`, `/ready`, `/` (the posture overview) and
//! `/status.json` (the same for scripts).
//!
//! `/metrics` serves the exposition the store encoded last, in the format the `Accept` header
//! prefers (OpenMetrics or Prometheus text 0.0.4) and gzip when `Accept-Encoding` allows: a scrape
//! is a lookup and a copy. Connections beyond `max_connections` wait in the kernel's backlog; a
//! client has `header_read_timeout` to send its headers; shutdown stops accepting, asks open
//! connections to finish, and gives up on them after the grace period.

use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::Format;
use crate::overview::{self, Digests, Overview, Query};
use crate::store::Store;
use crate::tls_auth::BasicAuth;

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Time a client has to send its request headers.
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long shutdown waits for open connections.
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// What requests are served from: the store and the (reloadable) basic auth users.
pub struct WebState {
    /// The store whose exposition `/metrics` serves.
    pub store: Arc<Store>,
    auth: RwLock<Option<Arc<BasicAuth>>>,
    /// The overview's digest, reused until the store changes.
    digests: Digests,
}

impl WebState {
    /// A state with optional basic auth.
    pub fn new(store: Arc<Store>, auth: Option<BasicAuth>) -> Self {
        WebState {
            store,
            auth: RwLock::new(auth.map(Arc::new)),
            digests: Digests::default(),
        }
    }

    /// Replaces the basic auth users (on reload); `None` turns auth off.
    pub fn set_auth(&self, auth: Option<BasicAuth>) {
        *self.auth.write().unwrap_or_else(|e| e.into_inner()) = auth.map(Arc::new);
    }

    fn auth(&self) -> Option<Arc<BasicAuth>> {
        self.auth.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serves like [`run`], on a runtime of its own: two worker threads that do nothing but answer
/// requests, so that a scrape or a probe is never queued behind collection work (SDK
/// deserialization, reloads, thousands of job tasks) on the collection runtime's workers.
/// Returns when serving has stopped. If the thread or its runtime cannot be created, serves on
/// the caller's runtime instead, with a warning.
pub async fn run_isolated(
    listener: TcpListener,
    web: Arc<WebState>,
    tls: Option<TlsAcceptor>,
    opts: ServerOptions,
    shutdown: CancellationToken,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("posture-http")
        .enable_all()
        .build();
    let rt = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the HTTP runtime; serving on the collection runtime");
            return run(listener, web, tls, opts, shutdown).await;
        }
    };
    // A listener belongs to the runtime that registered it: hand it over as a std socket.
    let std_listener = match listener.into_std() {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot hand the listener to the HTTP runtime; not serving");
            return;
        }
    };
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("posture-http-main".into())
        .spawn(move || {
            rt.block_on(async move {
                match TcpListener::from_std(std_listener) {
                    Ok(l) => run(l, web, tls, opts, shutdown).await,
                    Err(e) => tracing::error!(error = %e, "cannot serve on the listener"),
                }
            });
            // Connections still open after the grace period are dropped with the runtime.
            rt.shutdown_background();
            let _ = done_tx.send(());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the HTTP thread; not serving");
        return;
    }
    let _ = done_rx.await;
}

/// Serves until `shutdown`, then drains within the grace period. With `tls`, every connection
/// is a TLS handshake first (bounded by the header read timeout).
pub async fn run(
    listener: TcpListener,
    web: Arc<WebState>,
    tls: Option<TlsAcceptor>,
    opts: ServerOptions,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    let conns = TaskTracker::new();
    loop {
        // Wait for a free slot before accepting, so excess clients queue in the backlog.
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let web = web.clone();
        let token = shutdown.clone();
        let tls = tls.clone();
        let opts = opts.clone();
        conns.spawn(async move {
            match tls {
                None => serve_conn(stream, web, &opts, peer, token).await,
                Some(acc) => {
                    let hs = tokio::select! {
                        _ = token.cancelled() => None,
                        r = tokio::time::timeout(opts.header_read_timeout, acc.accept(stream)) => Some(r),
                    };
                    match hs {
                        Some(Ok(Ok(s))) => serve_conn(s, web, &opts, peer, token).await,
                        Some(Ok(Err(e))) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Some(Err(_)) => tracing::debug!(%peer, "TLS handshake timed out"),
                        None => {}
                    }
                }
            }
            drop(permit);
        });
    }
    conns.close();
    if tokio::time::timeout(opts.shutdown_grace, conns.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the grace period; closing them");
    }
}

async fn serve_conn<I>(
    io: I,
    web: Arc<WebState>,
    opts: &ServerOptions,
    peer: std::net::SocketAddr,
    token: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        let web = web.clone();
        async move { Ok::<_, Infallible>(respond(&web, req).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .max_buf_size(64 * 1024);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        _ = token.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(opts.shutdown_grace, conn).await;
        }
    }
}

/// Answers one request, checking basic auth first where it applies: everything but `/healthz`
/// and `/ready` (probes that reveal nothing) needs credentials when users are configured.
pub async fn respond<B>(web: &WebState, req: Request<B>) -> Resp {
    let path = req.uri().path();
    if path != "/healthz" && path != "/ready" {
        if let Some(auth) = web.auth() {
            let h = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            if !auth.check(h).await {
                let mut r = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"posture-exporter\", charset=\"UTF-8\""),
                );
                return r;
            }
        }
    }
    handle(web, req)
}

type Resp = Response<Full<Bytes>>;

fn text(status: StatusCode, body: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Answers one request, without auth. Public for benchmarks.
pub fn handle<B>(web: &WebState, req: Request<B>) -> Resp {
    let store = &*web.store;
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let mut resp = match req.uri().path() {
        "/metrics" => metrics(store, &req),
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/ready" => {
            if store.ready() {
                text(StatusCode::OK, "ready\n")
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: waiting for the first attempt of every collector\n",
                )
            }
        }
        "/" => page(web, req.uri().query(), false),
        "/status.json" => page(web, req.uri().query(), true),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    if head {
        *resp.body_mut() = Full::new(Bytes::new());
    }
    resp
}

/// Picks the exposition format from an `Accept` header: the media type with the highest
/// q-value; OpenMetrics wins ties with text/plain (Prometheus asks for it first).
pub fn negotiate_format(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Prometheus;
    };
    let mut best = (Format::Prometheus, -1.0f32);
    for part in accept.split(',') {
        let mut it = part.split(';');
        let media = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for p in it {
            if let Some(v) = p.trim().strip_prefix("q=") {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        if q <= 0.0 {
            continue;
        }
        let f = match media.as_str() {
            "application/openmetrics-text" => Format::OpenMetrics,
            "text/plain" | "*/*" | "text/*" => Format::Prometheus,
            _ => continue,
        };
        if q > best.1 || (q == best.1 && f == Format::OpenMetrics) {
            best = (f, q);
        }
    }
    best.0
}

/// True when `Accept-Encoding` allows gzip.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(v) = accept_encoding else {
        return false;
    };
    v.split(',').any(|part| {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim();
        let q_ok = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .all(|q| q.trim().parse::<f32>().map(|q| q > 0.0).unwrap_or(false));
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q_ok
    })
}

fn metrics<B>(store: &Store, req: &Request<B>) -> Resp {
    let h = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let format = negotiate_format(h(header::ACCEPT));
    let gzip = accepts_gzip(h(header::ACCEPT_ENCODING));
    // Encoded ahead by the encoder when this body was asked for lately; otherwise encoded here,
    // once per exposition (~1.5 ms at 10k series).
    let body = store.body(format, gzip);
    let mut r = Response::new(Full::new(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if gzip {
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    r
}

fn page(web: &WebState, req_query: Option<&str>, json: bool) -> Resp {
    let q = Query::parse(req_query);
    let mut o = Overview::new(web.digests.get(&web.store), &q);
    o.listings = web.store.listings();
    o.complete = web.store.settled();
    let (body, ty) = if json {
        (overview::json::render(&o, &q), "application/json")
    } else {
        (overview::html::render(&o, &q), "text/html; charset=utf-8")
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_default_accept_header_gets_openmetrics() {
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate_format(Some(prom)), Format::OpenMetrics);
        assert_eq!(negotiate_format(None), Format::Prometheus);
        assert_eq!(negotiate_format(Some("text/plain")), Format::Prometheus);
        assert_eq!(
            negotiate_format(Some("application/openmetrics-text;q=0.2,text/plain;q=0.9")),
            Format::Prometheus
        );
        assert_eq!(
            negotiate_format(Some("application/openmetrics-text;q=0")),
            Format::Prometheus
        );
    }

    #[test]
    fn gzip_negotiation_respects_q_zero() {
        assert!(accepts_gzip(Some("gzip, deflate")));
        assert!(accepts_gzip(Some("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(None));
    }
}
