//! Serving securely and reloading: basic auth, TLS with certificate reload, config reload.

use std::sync::Arc;
use std::time::Duration;

use aws_sim::{Sim, WorldOptions};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use posture_exporter::config::Config;
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::common::{get, only, yaml_for, Env};

fn world() -> WorldOptions {
    WorldOptions {
        members: 2,
        ..WorldOptions::default()
    }
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        aws_smithy_types::base64::encode(format!("{user}:{pass}"))
    )
}

#[tokio::test]
async fn basic_auth_guards_everything_but_the_probes() {
    let hash = bcrypt::hash("scrape-me", 4).unwrap();
    let extra = format!("web:\n  basic_auth_users:\n    prometheus: \"{hash}\"\n");
    let env = Env::start_with(world(), &only(&["config_recorder"], "1h"), &extra).await;
    env.wait_ready().await;
    let r = get(env.addr(), "/metrics", &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic realm="));
    assert_eq!(
        get(
            env.addr(),
            "/metrics",
            &[("authorization", &basic("prometheus", "nope"))]
        )
        .await
        .status,
        401
    );
    assert_eq!(
        get(
            env.addr(),
            "/",
            &[("authorization", &basic("grafana", "scrape-me"))]
        )
        .await
        .status,
        401
    );
    let ok = get(
        env.addr(),
        "/metrics",
        &[("authorization", &basic("prometheus", "scrape-me"))],
    )
    .await;
    assert_eq!(ok.status, 200);
    assert!(String::from_utf8(ok.body)
        .unwrap()
        .contains("aws_config_recorders"));
    // The overview and its JSON are behind the same users.
    for path in ["/", "/status.json", "/?section=recorders&page=2"] {
        assert_eq!(get(env.addr(), path, &[]).await.status, 401, "{path}");
        let ok = get(
            env.addr(),
            path,
            &[("authorization", &basic("prometheus", "scrape-me"))],
        )
        .await;
        assert_eq!(ok.status, 200, "{path}");
    }
    assert_eq!(get(env.addr(), "/healthz", &[]).await.status, 200);
    assert_eq!(get(env.addr(), "/ready", &[]).await.status, 200);
    env.stop().await;
}

fn self_signed(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key, ck.cert.der().to_vec())
}

async fn https_get(
    addr: std::net::SocketAddr,
    trust: &[u8],
    path: &str,
) -> Result<(u16, Vec<u8>), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(trust.to_vec()))
        .map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = conn.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (mut sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(c);
    let req = http::Request::get(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok((status, body))
}

#[tokio::test]
async fn tls_serves_and_picks_up_a_renewed_certificate() {
    let dir = std::env::temp_dir().join(format!("pe-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, der1) = self_signed(&dir, "a");
    let extra = format!(
        "web:\n  tls:\n    cert_file: {}\n    key_file: {}\n",
        cert.display(),
        key.display()
    );
    let env = Env::start_with(world(), &only(&["config_recorder"], "1h"), &extra).await;
    let (status, _) = https_get(env.addr(), &der1, "/healthz").await.unwrap();
    assert_eq!(status, 200);
    // Plain HTTP on the TLS port gets no HTTP answer.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = TcpStream::connect(env.addr()).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut buf)).await;
        assert!(
            !String::from_utf8_lossy(&buf).contains("HTTP/1.1 200"),
            "{buf:?}"
        );
    }

    // Renew on disk: new handshakes (after the 2 s check interval) present the new certificate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (cert2, key2, der2) = self_signed(&dir, "b");
    std::fs::copy(&cert2, &cert).unwrap();
    std::fs::copy(&key2, &key).unwrap();
    let mut switched = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if https_get(env.addr(), &der2, "/healthz").await.is_ok() {
            switched = true;
            break;
        }
    }
    assert!(switched, "the renewed certificate is served");
    assert!(
        https_get(env.addr(), &der1, "/healthz").await.is_err(),
        "the old one is gone"
    );
    env.stop().await;
}

/// A reload that changes `aws:` rebuilds every target (new SDK clients, every role assumed
/// again). Until the new credentials answer, every job goes on with its data: nothing vanishes
/// from `/metrics` and `/ready` stays 200; then the jobs restart on the new clients and read the
/// same values again.
#[tokio::test]
async fn reload_that_changes_aws_keeps_every_series_until_the_new_targets_answer() {
    let sim = Sim::start(world()).await.unwrap();
    let collectors = only(&["config_recorder", "guardduty"], "1h");
    let yaml_a = yaml_for(&sim, &collectors, "");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml_a).unwrap()).await;
    env.wait_ready().await;
    // What must not move: every series but the exporter's timings, counters and reload state.
    let kept = |s: &crate::common::Scrape| {
        let mut m = crate::faults::stable(s);
        m.retain(|k, _| !k.starts_with("posture_exporter_config_last_reload"));
        m
    };
    let changed = |a: &std::collections::BTreeMap<String, f64>,
                   b: &std::collections::BTreeMap<String, f64>| {
        a.iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .chain(b.keys().filter(|k| !a.contains_key(*k)).cloned())
            .collect::<Vec<_>>()
    };
    let before = kept(&env.scrape().await);
    let members = env.sim.world(|w| w.accounts.len());
    assert!(before.len() > 50, "{before:?}");
    // Each recorder job's last success, from the status rows (the exposition shows it only
    // while a job fails).
    let success_key = |env: &Env| {
        env.app
            .store
            .status()
            .into_iter()
            .filter(|r| r.key.collector.name() == "config_recorder")
            .filter_map(|r| r.last_success.map(|t| (r.key.to_string(), t)))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let first_successes = success_key(&env);
    assert_eq!(first_successes.len(), members * 2, "{first_successes:?}");

    // The management account's identity (the first call of a rebuilt target) hangs for now.
    env.sim
        .add_fault(aws_sim::FaultRule::always(aws_sim::Fault::Hang).operation("GetCallerIdentity"));
    let yaml_b = yaml_a.replace("max_attempts: 2", "max_attempts: 3");
    assert_ne!(yaml_a, yaml_b);
    env.app
        .reload(Config::from_yaml_str(&yaml_b).unwrap())
        .await;
    let during = kept(&env.scrape().await);
    assert_eq!(
        changed(&before, &during),
        Vec::<String>::new(),
        "nothing vanished or changed at the reload"
    );
    assert_eq!(get(env.addr(), "/ready", &[]).await.status, 200);

    // Once the targets resolve on the new clients, the jobs restart on them and run at once.
    env.sim.clear_faults();
    let mut rerun = false;
    // The hung identity call times out and the target's retry comes 5 s later.
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = success_key(&env);
        if now.len() == first_successes.len()
            && now
                .iter()
                .all(|(k, v)| first_successes.get(k).is_some_and(|f| v > f))
        {
            rerun = true;
            break;
        }
    }
    assert!(rerun, "every job ran again on the new clients");
    assert_eq!(
        changed(&before, &kept(&env.scrape().await)),
        Vec::<String>::new()
    );
    env.stop().await;
}

/// A job restarted by a reload that changed only its credentials keeps what it learned. A
/// GuardDuty member managed by an administrator sees the administrator's IP and threat-intel
/// sets (GuardDuty's API reference: "the member account sees the administrator's lists"); the
/// job learns from GetAdministratorAccount that it is managed and reads no sets there. When the
/// first run after the reload cannot ask (GetAdministratorAccount refused), the job still knows,
/// and no member starts exporting its administrator's sets as its own.
#[tokio::test]
async fn reload_that_changes_aws_keeps_what_each_job_learned() {
    let sim = Sim::start(WorldOptions::default()).await.unwrap();
    let managed_with_sets = sim.world(|w| {
        let admin = w.management().id.clone();
        let mut n = 0;
        for a in &w.accounts {
            for r in &w.opts.regions {
                if aws_sim::guardduty_lists::set_owner(w, &a.id, r) != a.id
                    && !(aws_sim::guardduty_lists::ip_sets(w, &admin, r).is_empty()
                        && aws_sim::guardduty_lists::threat_intel_sets(w, &admin, r).is_empty())
                {
                    n += 1;
                }
            }
        }
        n
    });
    assert!(
        managed_with_sets >= 1,
        "a managed member whose administrator has sets"
    );
    let yaml_a = yaml_for(&sim, &only(&["guardduty"], "1h"), "");
    let env = Env::start_config(sim, Config::from_yaml_str(&yaml_a).unwrap()).await;
    env.wait_ready().await;
    let sets = |s: &crate::common::Scrape| {
        s.samples
            .keys()
            .filter(|k| {
                k.starts_with("aws_guardduty_ip_set_")
                    || k.starts_with("aws_guardduty_threat_intel_set_")
            })
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    let before = sets(&env.scrape().await);
    assert!(!before.is_empty(), "some account has sets of its own");
    // The jobs that ask GetAdministratorAccount: every (account, region) with a detector but
    // the administrator's.
    let asking = env.sim.world(|w| {
        let mut n = 0u64;
        for a in &w.accounts {
            for r in &w.opts.regions {
                if !aws_sim::guardduty::detectors(w, &a.id, r).is_empty()
                    && !aws_sim::guardduty::is_administrator(w, &a.id, r)
                {
                    n += 1;
                }
            }
        }
        n
    });
    assert!(asking >= managed_with_sets as u64);

    env.sim.reset_calls();
    env.sim.add_fault(
        aws_sim::FaultRule::always(aws_sim::Fault::AccessDenied)
            .operation("GetAdministratorAccount"),
    );
    let yaml_b = yaml_a.replace("max_attempts: 2", "max_attempts: 3");
    assert_ne!(yaml_a, yaml_b);
    env.app
        .reload(Config::from_yaml_str(&yaml_b).unwrap())
        .await;
    // Every restarted job runs at once and is refused; wait for each refusal to be recorded.
    let failures = |s: &crate::common::Scrape| {
        s.matching(
            "posture_exporter_collector_failures_total",
            &[("collector", "guardduty")],
        )
        .into_iter()
        .map(|(_, v)| v)
        .sum::<f64>()
    };
    let mut seen = 0.0;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = failures(&env.scrape().await);
        if seen >= asking as f64 {
            break;
        }
    }
    assert_eq!(seen, asking as f64, "every job that asks was refused once");
    assert_eq!(
        sets(&env.scrape().await),
        before,
        "no set appeared or vanished"
    );
    env.stop().await;
}

#[tokio::test]
async fn reload_swaps_targets_and_collectors_without_dropping_unchanged_data() {
    let sim = Sim::start(world()).await.unwrap();
    let yaml_a = yaml_for(&sim, &only(&["config_recorder"], "1h"), "");
    let cfg_a = Config::from_yaml_str(&yaml_a).unwrap();
    let env = Env::start_config(sim, cfg_a).await;
    env.wait_ready().await;
    let (mgmt, m1, m2) = env.sim.world(|w| {
        (
            w.accounts[0].id.clone(),
            w.accounts[1].id.clone(),
            w.accounts[2].id.clone(),
        )
    });
    let before = env.scrape().await;
    let key = [
        ("account_id", mgmt.as_str()),
        ("region", "us-east-1"),
        ("kind", "customer_managed"),
    ];
    let v = before.get("aws_config_recorders", &key).unwrap();
    let mgmt_success = |env: &Env| {
        env.app
            .store
            .status()
            .into_iter()
            .find(|r| {
                r.key.collector.name() == "config_recorder"
                    && r.key.account_id == mgmt
                    && r.key.region == "us-east-1"
            })
            .and_then(|r| r.last_success)
    };
    let last_success = mgmt_success(&env).unwrap();

    // B: member 2 removed; management and member 1 unchanged.
    let yaml_b: String = {
        let mut out = String::new();
        let mut skip = false;
        for line in yaml_a.lines() {
            if line.starts_with("  - name: member-00002") {
                skip = true;
                continue;
            }
            if skip && line.starts_with("    ") {
                continue;
            }
            skip = false;
            out.push_str(line);
            out.push('\n');
        }
        out
    };
    assert!(!yaml_b.contains(&m2));
    env.app
        .reload(Config::from_yaml_str(&yaml_b).unwrap())
        .await;
    env.app.store.refresh();
    let after = env.scrape().await;
    assert_eq!(
        after.get("aws_config_recorders", &key),
        Some(v),
        "unchanged target keeps its data"
    );
    assert_eq!(mgmt_success(&env), Some(last_success), "and was not re-run");
    assert!(after.up("config_recorder", &m1, "us-east-1").is_some());
    assert!(
        after.up("config_recorder", &m2, "us-east-1").is_none(),
        "removed target's series are gone"
    );
    assert_eq!(
        after.get("posture_exporter_config_last_reload_successful", &[]),
        Some(1.0)
    );

    // A refused reload keeps everything and says so.
    env.app.reload_failed();
    let s = env.scrape().await;
    assert_eq!(
        s.get("posture_exporter_config_last_reload_successful", &[]),
        Some(0.0)
    );
    assert_eq!(s.get("aws_config_recorders", &key), Some(v));

    // C: member 2 back and guardduty enabled: new jobs appear.
    let yaml_c = yaml_for(&env.sim, &only(&["config_recorder"], "1h"), "");
    env.app
        .reload(Config::from_yaml_str(&yaml_c).unwrap())
        .await;
    let mut back = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if env.scrape().await.up("config_recorder", &m2, "us-east-1") == Some(1.0) {
            back = true;
            break;
        }
    }
    assert!(back, "a target added by reload is collected");
    env.stop().await;
}
