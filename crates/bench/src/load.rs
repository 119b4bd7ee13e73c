//! HTTP for the benchmarks: a bare server answering fixed bytes as the exporter would, a load
//! generator of keep-alive connections, and single GETs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The Accept header Prometheus 2.x/3.x sends on a scrape.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Connection settings of a bare server: none (hyper's defaults), or one of the exporter's, to
/// tell which of them costs what.
#[derive(Clone, Copy, Debug, Default)]
pub struct BareOpts {
    /// `http1::Builder::max_buf_size`.
    pub max_buf_size: Option<usize>,
    /// `http1::Builder::header_read_timeout` (with hyper-util's Tokio timer).
    pub header_read_timeout: Option<Duration>,
}

/// Serves `plain`/`gzip` on every request (gzip when the request's Accept-Encoding names it),
/// with the headers the exporter sends: the least a server can do to serve these bytes.
pub async fn bare_server(
    listener: TcpListener,
    plain: Bytes,
    gzip: Bytes,
    content_type: &'static str,
    opts: BareOpts,
    token: CancellationToken,
) {
    loop {
        let (stream, _) = tokio::select! {
            _ = token.cancelled() => return,
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
        };
        let _ = stream.set_nodelay(true);
        let (plain, gzip, token) = (plain.clone(), gzip.clone(), token.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                let gz = req
                    .headers()
                    .get(header::ACCEPT_ENCODING)
                    .is_some_and(|v| v.as_bytes().windows(4).any(|w| w == b"gzip"));
                let mut r = Response::new(Full::new(if gz { gzip.clone() } else { plain.clone() }));
                let h = r.headers_mut();
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                if gz {
                    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                h.insert(
                    header::VARY,
                    HeaderValue::from_static("Accept, Accept-Encoding"),
                );
                async move { Ok::<_, std::convert::Infallible>(r) }
            });
            let mut b = hyper::server::conn::http1::Builder::new();
            if let Some(n) = opts.max_buf_size {
                b.max_buf_size(n);
            }
            if let Some(t) = opts.header_read_timeout {
                b.timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(t);
            }
            let conn = b.serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = token.cancelled() => {}
            }
        });
    }
}

/// What one load run measured.
pub struct Load {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Microseconds from sending a request to its last body byte, sorted.
    pub latencies: Vec<u32>,
}

impl Load {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn pct(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((q * self.latencies.len() as f64) as usize).min(self.latencies.len() - 1);
        self.latencies[i] as f64 / 1000.0
    }

    pub fn merge(loads: Vec<Load>) -> Load {
        let mut out = Load {
            requests: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
        };
        for l in loads {
            out.requests += l.requests;
            out.errors += l.errors;
            out.elapsed += l.elapsed;
            out.latencies.extend(l.latencies);
        }
        out.latencies.sort_unstable();
        out
    }
}

/// `conns` keep-alive connections each sending GET /metrics back to back for `dur` (and at most
/// a million requests), draining every body and checking its length when `expect` gives one (a
/// live exporter re-encodes between requests, so its length is not fixed).
pub async fn load(
    addr: SocketAddr,
    conns: usize,
    dur: Duration,
    gzip: bool,
    expect: Option<usize>,
) -> Load {
    let start = Instant::now();
    let deadline = start + dur;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..conns {
        set.spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            let mut errors = 0u64;
            let r: anyhow::Result<()> = async {
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (mut tx, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(conn);
                while Instant::now() < deadline && lat.len() < 1_000_000 {
                    tx.ready().await?;
                    let req = Request::get("/metrics")
                        .header(header::HOST, addr.to_string())
                        .header(header::ACCEPT, PROMETHEUS_ACCEPT)
                        .header(
                            header::ACCEPT_ENCODING,
                            if gzip { "gzip" } else { "identity" },
                        )
                        .body(Empty::<Bytes>::new())?;
                    let t = Instant::now();
                    let resp = tx.send_request(req).await?;
                    let ok = resp.status() == StatusCode::OK;
                    let mut body = resp.into_body();
                    let mut n = 0usize;
                    while let Some(frame) = body.frame().await {
                        if let Ok(d) = frame?.into_data() {
                            n += d.len();
                        }
                    }
                    if !ok || expect.is_some_and(|e| e != n) {
                        errors += 1;
                    }
                    lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                Ok(())
            }
            .await;
            if r.is_err() {
                errors += 1;
            }
            (lat, errors)
        });
    }
    let mut loads = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok((lat, errors)) = r {
            loads.push(Load {
                requests: lat.len() as u64,
                errors,
                elapsed: Duration::ZERO,
                latencies: lat,
            });
        }
    }
    let mut l = Load::merge(loads);
    l.elapsed = start.elapsed();
    l
}

/// One GET, for probes and to fetch the exposition.
pub async fn get(addr: SocketAddr, path: &str, gzip: bool) -> anyhow::Result<(StatusCode, Bytes)> {
    let stream = TcpStream::connect(addr).await?;
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::get(path)
        .header(header::HOST, addr.to_string())
        .header(header::ACCEPT, PROMETHEUS_ACCEPT)
        .header(
            header::ACCEPT_ENCODING,
            if gzip { "gzip" } else { "identity" },
        )
        .body(Empty::<Bytes>::new())?;
    let resp = tx.send_request(req).await?;
    let status = resp.status();
    Ok((status, resp.into_body().collect().await?.to_bytes()))
}
