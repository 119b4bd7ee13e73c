//! The HTTP surface: readiness, negotiation, errors, status page.

use std::io::Read;
use std::time::Duration;

use aws_sim::WorldOptions;

use crate::common::{get, only, request, Env, Scrape};

#[tokio::test]
async fn ready_waits_for_the_first_collection() {
    let sim_opts = WorldOptions {
        members: 1,
        ..WorldOptions::default()
    };
    let sim = aws_sim::Sim::start(sim_opts).await.unwrap();
    sim.set_latency(Duration::from_millis(700));
    let yaml = crate::common::yaml_for(&sim, &only(&["config_recorder"], "1h"), "");
    let cfg = posture_exporter::config::Config::from_yaml_str(&yaml).unwrap();
    let env = Env::start_config(sim, cfg).await;
    assert_eq!(get(env.addr(), "/ready", &[]).await.status, 503);
    assert_eq!(get(env.addr(), "/healthz", &[]).await.status, 200);
    env.wait_ready().await;
    assert_eq!(get(env.addr(), "/ready", &[]).await.status, 200);
    env.stop().await;
}

#[tokio::test]
async fn gzip_and_openmetrics_are_negotiated() {
    let env = Env::start(
        WorldOptions {
            members: 1,
            ..WorldOptions::default()
        },
        &only(&["config_recorder"], "1h"),
    )
    .await;
    env.wait_ready().await;
    env.app.store.refresh();
    let plain = get(env.addr(), "/metrics", &[]).await;
    assert_eq!(
        plain.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(plain.headers.get("content-encoding").is_none());
    let text = String::from_utf8(plain.body.clone()).unwrap();
    assert!(text.contains("# TYPE posture_exporter_aws_api_calls_total counter"));
    assert!(!text.contains("# EOF"));

    let om = get(
        env.addr(),
        "/metrics",
        &[(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )],
    )
    .await;
    assert!(om.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    let om_text = String::from_utf8(om.body).unwrap();
    assert!(om_text.ends_with("# EOF\n"));
    assert!(om_text.contains("# TYPE posture_exporter_aws_api_calls counter"));
    assert_eq!(
        Scrape::parse(&om_text).samples.len(),
        Scrape::parse(&text).samples.len()
    );

    let gz = get(env.addr(), "/metrics", &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.headers["content-encoding"], "gzip");
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, text);
    // This exposition is small (one member, one collector: about 11 KB, most of it distinct
    // HELP text) and compresses about 3x; a large one compresses 15x (BENCHMARKS.md). Half the
    // size proves the body is compressed without pinning the ratio of a few HELP lines.
    assert!(
        gz.body.len() * 2 < plain.body.len(),
        "gzip {} of {} bytes",
        gz.body.len(),
        plain.body.len()
    );
    env.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_and_the_status_page() {
    let env = Env::start(
        WorldOptions {
            members: 1,
            ..WorldOptions::default()
        },
        &only(&["config_recorder"], "1h"),
    )
    .await;
    env.wait_ready().await;
    assert_eq!(get(env.addr(), "/nope", &[]).await.status, 404);
    let post = request(env.addr(), "POST", "/metrics", &[]).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    let head = request(env.addr(), "HEAD", "/metrics", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let page = String::from_utf8(get(env.addr(), "/", &[]).await.body).unwrap();
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert!(page.contains("<td>config_recorder</td>"), "{page}");
    assert!(page.contains(&format!("<td>{mgmt}</td>")), "{page}");
    assert!(page.contains("class=\"ok\""), "{page}");
    env.stop().await;
}
