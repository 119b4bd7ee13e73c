//! Records the requests the exporter sends, for a check outside the project.
//!
//! With `POSTURE_SIM_RECORD` naming a directory, every simulator in the process appends each
//! distinct request that the AWS SDK for Rust sent (the exporter; botocore's and hand-made
//! requests of the tests, and the tests' own SDK clients named [`PROBE`], are left out) to `<dir>/sim-<pid>.jsonl`, one JSON object a line:
//! service, operation, protocol, method, path, raw query, `X-Amz-Target` and raw body. CI
//! validates the lines against AWS's service models with botocore
//! (`tests/botocore/validate_requests.py`), which shares no code with the simulator: a request
//! the simulator's own table let through but the models refuse still fails the suite.
//!
//! Distinct means distinct bytes (a hash of them): the soak repeats the same requests thousands
//! of times, and one copy of each is what the check needs.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use serde_json::json;

/// The environment variable naming the directory.
pub const ENV: &str = "POSTURE_SIM_RECORD";

/// The SDK app name (`app/<name>` in the user agent) of the tests' own clients that probe the
/// simulator with requests AWS refuses on purpose: those are not the exporter's, and not
/// recorded.
pub const PROBE: &str = "sim-probe";

struct Recorder {
    file: Mutex<File>,
    seen: Mutex<HashSet<u64>>,
}

fn recorder() -> Option<&'static Recorder> {
    static REC: OnceLock<Option<Recorder>> = OnceLock::new();
    REC.get_or_init(|| {
        let dir = std::env::var_os(ENV)?;
        std::fs::create_dir_all(&dir).ok()?;
        let path = std::path::Path::new(&dir).join(format!("sim-{}.jsonl", std::process::id()));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()?;
        Some(Recorder {
            file: Mutex::new(file),
            seen: Mutex::new(HashSet::new()),
        })
    })
    .as_ref()
}

/// A request as it came, for [`request`].
pub struct Raw<'a> {
    /// Service the simulator routed it to.
    pub service: &'a str,
    /// Operation.
    pub op: &'a str,
    /// `json`, `rest-json` or `query`, as botocore names protocols.
    pub protocol: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Path.
    pub path: &'a str,
    /// Raw query string.
    pub query: &'a str,
    /// `X-Amz-Target`.
    pub target: Option<&'a str>,
    /// `User-Agent` (only the SDK for Rust's requests are recorded).
    pub user_agent: &'a str,
    /// Body.
    pub body: &'a [u8],
}

/// Records `r` if recording is on, it came from the SDK for Rust, and it was not seen before.
pub fn request(r: &Raw) {
    let Some(rec) = recorder() else { return };
    if !r.user_agent.contains("aws-sdk-rust") || r.user_agent.contains(&format!("app/{PROBE}")) {
        return;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (r.service, r.op, r.method, r.path, r.query, r.target, r.body).hash(&mut h);
    if !rec
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(h.finish())
    {
        return;
    }
    let line = json!({
        "service": r.service,
        "op": r.op,
        "protocol": r.protocol,
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "target": r.target,
        "body": String::from_utf8_lossy(r.body),
    });
    let mut text = line.to_string();
    text.push('\n');
    // One write a line, appended: lines of several simulators in one process do not interleave.
    let _ = rec
        .file
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .write_all(text.as_bytes());
}
