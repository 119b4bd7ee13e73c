//! Shared harness: start a simulator and an exporter against it, scrape over HTTP.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sim::{Sim, WorldOptions};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use posture_exporter::app::{App, AppOptions};
use posture_exporter::config::Config;
use posture_exporter::scheduler::Mode;
use tokio::net::{TcpListener, TcpStream};

/// A simulator and an exporter reading it.
pub struct Env {
    pub sim: Sim,
    pub app: App,
}

/// A YAML config for `sim`: the management account with ambient credentials and each member
/// through its role, in every simulated region, with `collectors` as the collectors section.
///
/// A throttled call is sent again for at most a second past its retries (`throttle_retry_limit`),
/// so that a fault that throttles for good fails its run soon; the tests of what the exporter
/// absorbs lift that (see [`UNLIMITED_THROTTLE_RETRIES`]).
pub fn yaml_for(sim: &Sim, collectors: &str, extra: &str) -> String {
    let (members, regions, role) = sim.world(|w| {
        (
            w.accounts[1..]
                .iter()
                .map(|a| (a.name.clone(), a.id.clone()))
                .collect::<Vec<_>>(),
            w.opts.regions.clone(),
            w.opts.role_name.clone(),
        )
    });
    let regions = format!("[{}]", regions.join(", "));
    let mut y = format!(
        "listen: 127.0.0.1:0\nmax_stale_intervals: 3\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\n  attempt_timeout: 2s\n  operation_timeout: 5s\n  throttle_retry_limit: 1s\n{extra}targets:\n  - name: management\n    regions: {regions}\n",
        sim.url()
    );
    for (name, id) in members {
        y.push_str(&format!(
            "  - name: {name}\n    role_arn: arn:aws:iam::{id}:role/{role}\n    regions: {regions}\n"
        ));
    }
    y.push_str("collectors:\n");
    y.push_str(collectors);
    y
}

/// Every collector but the ones listed, disabled.
pub fn only(enabled: &[&str], interval: &str) -> String {
    let mut s = String::new();
    // Every collector the exporter has, so that one added later is off here too.
    for c in posture_exporter::collectors::CollectorKind::ALL
        .iter()
        .map(|k| k.name())
    {
        s.push_str(&format!(
            "  {c}:\n    enabled: {}\n    interval: {interval}\n",
            enabled.contains(&c)
        ));
    }
    s
}

/// What [`yaml_for`] says to bound throttle retries: replaced by nothing, a throttled call is sent
/// again for as long as its run has time, as by default.
pub const UNLIMITED_THROTTLE_RETRIES: (&str, &str) = ("  throttle_retry_limit: 1s\n", "");

pub fn creds() -> Credentials {
    Credentials::new("AKIATESTMANAGEMENT01", "test-secret", None, None, "test")
}

impl Env {
    /// Starts a simulator with `world` and an exporter with the given collectors section.
    pub async fn start(world: WorldOptions, collectors: &str) -> Env {
        Self::start_with(world, collectors, "").await
    }

    /// Like [`Env::start`] with extra top-level YAML (must end with a newline).
    pub async fn start_with(world: WorldOptions, collectors: &str, extra: &str) -> Env {
        let sim = Sim::start(world).await.expect("simulator starts");
        let yaml = yaml_for(&sim, collectors, extra);
        let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        Self::start_config(sim, cfg).await
    }

    /// Starts an exporter with `cfg` against `sim`, every job's loop starting at once.
    pub async fn start_config(sim: Sim, cfg: Config) -> Env {
        Self::start_mode(sim, cfg, Mode::Loops { jitter: false }).await
    }

    /// Starts an exporter whose jobs run only when the test calls [`Env::cycle`]: each cycle is
    /// then exactly one run of every job, the first with a fresh state.
    pub async fn start_on_demand(sim: Sim, cfg: Config) -> Env {
        let env = Self::start_mode(sim, cfg, Mode::OnDemand).await;
        let start = std::time::Instant::now();
        while !env.app.store.targets_listed() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "targets not listed after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        env
    }

    async fn start_mode(sim: Sim, cfg: Config, mode: Mode) -> Env {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = App::start(
            cfg,
            listener,
            AppOptions {
                mode,
                static_credentials: Some(creds()),
            },
        )
        .await
        .unwrap();
        Env { sim, app }
    }

    pub fn addr(&self) -> SocketAddr {
        self.app.addr
    }

    /// Waits (real time, at most 30 s) until `/ready` says 200.
    pub async fn wait_ready(&self) {
        self.wait_ready_for(Duration::from_secs(30)).await
    }

    /// Waits at most `limit` until `/ready` says 200 and the store is settled: no listing of the
    /// organization running and every job attempted (`/ready` says yes once the accounts listed
    /// so far are read, and stays; the tests read the whole organization).
    pub async fn wait_ready_for(&self, limit: Duration) {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if get(self.addr(), "/ready", &[]).await.status == 200 && self.app.store.settled() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("exporter not ready after {limit:?}");
    }

    /// Runs every job once more (a deterministic cycle) and re-encodes.
    pub async fn cycle(&self) -> usize {
        let failed = self.app.scheduler.run_once().await;
        self.app.store.refresh();
        failed
    }

    /// Re-encodes and scrapes `/metrics` over HTTP.
    pub async fn scrape(&self) -> Scrape {
        self.app.store.refresh();
        let r = get(self.addr(), "/metrics", &[]).await;
        assert_eq!(r.status, 200);
        Scrape::parse(&String::from_utf8(r.body).unwrap())
    }

    pub async fn stop(self) {
        self.app.stop().await;
        self.sim.stop();
    }
}

/// An HTTP response.
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// GET `path` with `headers` over a fresh connection.
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Resp {
    request(addr, "GET", path, headers).await
}

/// Any method.
pub async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = sender
        .send_request(b.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// A parsed exposition: sample lines by series (name plus sorted labels).
#[derive(Debug, Default)]
pub struct Scrape {
    pub text: String,
    pub samples: BTreeMap<String, f64>,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample line");
            let v: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or(f64::NAN),
            };
            samples.insert(series.to_string(), v);
        }
        Scrape {
            text: text.to_string(),
            samples,
        }
    }

    /// The value of the series `name{labels}` with labels in the order exported.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let key = if labels.is_empty() {
            name.to_string()
        } else {
            let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("{name}{{{}}}", l.join(","))
        };
        self.samples.get(&key).copied()
    }

    /// Series of a family whose labels contain all of `labels`.
    pub fn matching(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(&String, f64)> {
        self.samples
            .iter()
            .filter(|(k, _)| {
                k.split('{').next() == Some(name)
                    && labels.iter().all(|(lk, lv)| {
                        // Whole label names only: `account_id` must not match `member_account_id`.
                        k.contains(&format!("{{{lk}=\"{lv}\""))
                            || k.contains(&format!(",{lk}=\"{lv}\""))
                    })
            })
            .map(|(k, v)| (k, *v))
            .collect()
    }

    /// The distinct values of `label` over a family's series.
    pub fn label_values(&self, name: &str, label: &str) -> std::collections::BTreeSet<String> {
        self.matching(name, &[])
            .iter()
            .filter_map(|(k, _)| {
                k.split(&format!("{label}=\""))
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_string)
            })
            .collect()
    }

    pub fn up(&self, collector: &str, account: &str, region: &str) -> Option<f64> {
        self.get(
            "posture_exporter_collector_up",
            &[
                ("collector", collector),
                ("account_id", account),
                ("region", region),
            ],
        )
    }
}

/// A count as the exposition shows it where empty counts have no series: `None` for 0.
pub fn nonzero(v: f64) -> Option<f64> {
    (v != 0.0).then_some(v)
}
