//! HTTP abuse on loopback, bounded in count and time: a thousand concurrent connections against a
//! connection limit, clients that never finish their headers, oversized headers and URIs,
//! HTTP/1.0 and pipelining, wrong methods, bad and missing credentials. The server keeps
//! answering the others and never serves more connections at once than configured.
//!
//! Requests are written by hand on raw sockets: a client library would refuse to send most of
//! them. The server exposes no gauge of open connections, so the connection limit is observed from
//! the outside: while every slot is held, no further client is answered; once slots free, every
//! queued client is.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sim::WorldOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{get, only, Env};

fn world() -> WorldOptions {
    WorldOptions {
        members: 1,
        ..WorldOptions::default()
    }
}

async fn env(web: &str) -> Env {
    let env = Env::start_with(world(), &only(&["config_recorder"], "1h"), web).await;
    env.wait_ready().await;
    env.app.store.refresh();
    env
}

/// Reads until the peer closes or `limit` passes; what was read and whether the peer closed.
async fn read_all(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// Sends `raw` on a fresh connection and reads the answer until the server closes (at most 5 s).
async fn send_raw(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything (an oversized request).
    let _ = s.write_all(raw).await;
    let (out, _) = read_all(&mut s, Duration::from_secs(5)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The Content-Length of a response head (0 when absent).
fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// The soft limit on open files, which bounds how many connections one test may open.
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|x| x.starts_with("Max open files"))
                .and_then(|x| x.split_whitespace().nth(3))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(1024)
}

#[tokio::test]
async fn a_thousand_clients_queue_behind_the_connection_limit_and_all_get_answered() {
    const LIMIT: usize = 50;
    let env = env(&format!(
        "web:\n  max_connections: {LIMIT}\n  header_read_timeout: 60s\n"
    ))
    .await;
    let addr = env.addr();
    // Client and server ends both count against this process's descriptors.
    let mut total = 1000;
    let fds = open_files_limit();
    if fds < 4 * total {
        total = fds / 4;
        eprintln!("open files limited to {fds}: {total} clients instead of 1000");
    }

    // Every slot held by a client that is still sending its headers.
    let mut holders = Vec::new();
    for _ in 0..LIMIT {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        holders.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The rest connect (the kernel's backlog accepts them) and send whole requests.
    let queued = total - LIMIT;
    let mut clients = Vec::new();
    for _ in 0..queued {
        clients.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let t = Instant::now();
            let (out, closed) = read_all(&mut s, Duration::from_secs(60)).await;
            (
                t.elapsed(),
                status_of(&String::from_utf8_lossy(&out)),
                closed,
            )
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let answered = clients.iter().filter(|c| c.is_finished()).count();
    assert_eq!(
        answered, 0,
        "with all {LIMIT} slots held, no further connection may be served"
    );

    // One slot frees: the queue drains through it, one client after another.
    let t = Instant::now();
    drop(holders.pop());
    let mut results = Vec::new();
    for c in clients {
        results.push(c.await.unwrap());
    }
    let drained = t.elapsed();
    assert!(
        results
            .iter()
            .all(|(_, status, closed)| *status == 200 && *closed),
        "every queued client answered 200"
    );
    eprintln!(
        "{queued} queued clients answered through one free slot in {drained:?} ({} held)",
        holders.len()
    );
    assert!(drained < Duration::from_secs(30), "{drained:?}");

    // The 49 other holders still hold theirs, and the server still answers.
    drop(holders);
    let r = get(addr, "/healthz", &[]).await;
    assert_eq!(r.status, 200);
    env.stop().await;
}

#[tokio::test]
async fn clients_that_never_finish_their_headers_are_cut_off() {
    let env = env("web:\n  max_connections: 4\n  header_read_timeout: 1s\n").await;
    let addr = env.addr();
    let t = Instant::now();
    // A slowloris: headers trickled in, never finished.
    let slow = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\n").await.unwrap();
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if s.write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
        let (out, closed) = read_all(&mut s, Duration::from_secs(10)).await;
        (
            t.elapsed(),
            String::from_utf8_lossy(&out).into_owned(),
            closed,
        )
    });
    // A client that connects and sends nothing at all.
    let silent = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let (out, closed) = read_all(&mut s, Duration::from_secs(10)).await;
        (
            t.elapsed(),
            String::from_utf8_lossy(&out).into_owned(),
            closed,
        )
    });
    // Meanwhile the others are served.
    for _ in 0..10 {
        assert_eq!(get(addr, "/healthz", &[]).await.status, 200);
    }
    let (took, out, closed) = slow.await.unwrap();
    assert!(closed, "the slow client was never cut off: {out}");
    assert!(took < Duration::from_secs(4), "cut off after {took:?}");
    assert!(
        out.is_empty() || status_of(&out) == 408,
        "nothing or a 408: {out}"
    );
    let (took, out, closed) = silent.await.unwrap();
    assert!(
        closed,
        "a silent client holds its slot forever (slowloris): {out}"
    );
    assert!(took < Duration::from_secs(4), "cut off after {took:?}");
    env.stop().await;
}

#[tokio::test]
async fn silent_clients_cannot_take_every_slot() {
    // Four slots, four clients that connect and say nothing: after the header timeout the
    // server answers again.
    let env = env("web:\n  max_connections: 4\n  header_read_timeout: 1s\n").await;
    let addr = env.addr();
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    let t = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), get(addr, "/healthz", &[])).await;
    assert!(
        matches!(&r, Ok(resp) if resp.status == 200),
        "a scrape waited {:?} behind four silent connections",
        t.elapsed()
    );
    drop(silent);
    env.stop().await;
}

#[tokio::test]
async fn oversized_headers_and_uris_are_refused_and_the_server_goes_on() {
    let env = env("").await;
    let addr = env.addr();
    // hyper checks the size of the head between reads, so what it refuses starts somewhere
    // between web's 64 KiB buffer and twice that; a megabyte is refused whatever the timing.
    let big = "a".repeat(1024 * 1024);
    let r = send_raw(
        addr,
        format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status_of(&r), 431, "a 1 MiB header");
    assert!(!r.contains("posture_exporter_"));

    let long = "a".repeat(100 * 1024);
    let r = send_raw(
        addr,
        format!("GET /metrics?{long} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status_of(&r), 414, "a 100 KiB URI");

    let mut many = String::from("GET /metrics HTTP/1.1\r\nHost: x\r\n");
    for i in 0..500 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let st = status_of(&send_raw(addr, many.as_bytes()).await);
    assert!(st == 431 || st == 400, "500 headers: {st}");

    // A GET announcing a gigabyte of body it never sends is answered without waiting for it.
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
        .await
        .unwrap();
    let (out, _) = read_all(&mut s, Duration::from_secs(2)).await;
    assert_eq!(status_of(&String::from_utf8_lossy(&out)), 200);
    assert!(t.elapsed() < Duration::from_secs(2));

    // Garbage instead of HTTP.
    let st = status_of(
        &send_raw(
            addr,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
        )
        .await,
    );
    assert!(st == 400 || st == 0, "garbage: {st}");

    assert_eq!(get(addr, "/metrics", &[]).await.status, 200);
    env.stop().await;
}

#[tokio::test]
async fn http_1_0_and_pipelined_requests_are_answered_in_order() {
    let env = env("").await;
    let addr = env.addr();
    let r = send_raw(addr, b"GET /metrics HTTP/1.0\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1."), "{r}");
    assert_eq!(status_of(&r), 200);
    assert!(
        r.contains("posture_exporter_collector_up{"),
        "the exposition"
    );

    let r = send_raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let mut got = Vec::new();
    let mut rest = r.as_str();
    for i in 0..4 {
        let Some((head, tail)) = rest.split_once("\r\n\r\n") else {
            break;
        };
        // The HEAD answer announces the exposition's length but carries no body.
        let len = if i == 1 { 0 } else { content_length(head) }.min(tail.len());
        got.push((status_of(head), tail[..len].to_string()));
        rest = &tail[len..];
    }
    assert_eq!(
        got,
        vec![
            (200, "ok\n".to_string()),
            (200, String::new()),
            (404, "not found\n".to_string()),
            (200, "ready\n".to_string())
        ]
    );
    env.stop().await;
}

#[tokio::test]
async fn methods_other_than_get_and_head_are_refused() {
    let env = env("").await;
    let addr = env.addr();
    for m in [
        "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO",
    ] {
        let r = send_raw(
            addr,
            format!("{m} /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
        assert_eq!(status_of(&r), 405, "{m}: {r}");
        assert!(
            r.to_ascii_lowercase().contains("allow: get, head"),
            "{m}: {r}"
        );
        assert!(!r.contains("posture_exporter_"), "{m} leaks nothing");
    }
    let r = send_raw(
        addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    )
    .await;
    assert!(matches!(status_of(&r), 400 | 405), "CONNECT: {r}");
    assert_eq!(get(addr, "/metrics", &[]).await.status, 200);
    env.stop().await;
}

#[tokio::test]
async fn bad_and_missing_credentials_never_get_in() {
    let hash = bcrypt::hash("scrape-me", 4).unwrap();
    let env = env(&format!(
        "web:\n  basic_auth_users:\n    prometheus: \"{hash}\"\n"
    ))
    .await;
    let addr = env.addr();
    let b64 = |s: &[u8]| aws_smithy_types::base64::encode(s);
    let good = format!("Basic {}", b64(b"prometheus:scrape-me"));
    let bad: Vec<(&str, String)> = vec![
        ("no header", String::new()),
        (
            "wrong password",
            format!("Basic {}", b64(b"prometheus:nope")),
        ),
        ("unknown user", format!("Basic {}", b64(b"root:scrape-me"))),
        ("empty password", format!("Basic {}", b64(b"prometheus:"))),
        (
            "password with extra",
            format!("Basic {}", b64(b"prometheus:scrape-me ")),
        ),
        ("no colon", format!("Basic {}", b64(b"prometheusscrape-me"))),
        ("not base64", "Basic !!!***".to_string()),
        ("empty basic", "Basic ".to_string()),
        ("bearer", "Bearer scrape-me".to_string()),
        (
            "not utf-8",
            format!("Basic {}", b64(b"prometheus:\xff\xfe")),
        ),
        (
            "user with colon",
            format!("Basic {}", b64(b"prome:theus:scrape-me")),
        ),
        ("huge", format!("Basic {}", b64(&vec![b'a'; 20_000]))),
    ];
    for (what, h) in &bad {
        for path in ["/metrics", "/", "/status.json", "/?section=findings"] {
            let headers: Vec<(&str, &str)> = if h.is_empty() {
                vec![]
            } else {
                vec![("authorization", h.as_str())]
            };
            let r = get(addr, path, &headers).await;
            assert_eq!(r.status, 401, "{what} on {path}");
            let body = String::from_utf8_lossy(&r.body);
            assert!(
                !body.contains("posture_exporter_") && !body.contains("aws_"),
                "{what} leaks nothing"
            );
        }
    }
    assert_eq!(
        get(addr, "/metrics", &[("authorization", &good)])
            .await
            .status,
        200
    );
    let lower = format!("basic {}", b64(b"prometheus:scrape-me"));
    assert_eq!(
        get(addr, "/metrics", &[("authorization", &lower)])
            .await
            .status,
        200,
        "the scheme is case-insensitive"
    );
    assert_eq!(get(addr, "/healthz", &[]).await.status, 200);
    assert_eq!(get(addr, "/ready", &[]).await.status, 200);

    // A flood of distinct wrong passwords does not slow the scraper whose verdict is known.
    let mut flood = Vec::new();
    for i in 0..200 {
        let h = format!("Basic {}", b64(format!("prometheus:guess-{i}").as_bytes()));
        flood.push(tokio::spawn(async move {
            get(addr, "/metrics", &[("authorization", &h)]).await.status
        }));
    }
    let t = Instant::now();
    for _ in 0..5 {
        assert_eq!(
            get(addr, "/metrics", &[("authorization", &good)])
                .await
                .status,
            200
        );
    }
    let scraped = t.elapsed();
    for f in flood {
        assert_eq!(f.await.unwrap(), 401);
    }
    eprintln!("5 good scrapes during a flood of 200 wrong passwords took {scraped:?}");
    assert!(scraped < Duration::from_secs(2), "{scraped:?}");
    env.stop().await;
}
