//! The independent checks of the AWS side, written in Python because that is where the two
//! parties no one here wrote live: botocore (AWS's SDK for Python, parsing by AWS's published
//! service models) against the simulator, `tests/botocore/`; and the exporter against moto (an
//! independent AWS emulator), `tests/moto/`. Each test runs one pytest suite with the Python of
//! the venv that `tests/run.sh` builds (boto3, moto[server], pytest from PyPI), named by
//! `POSTURE_PYTHON`, and hands it this build's binary in `POSTURE_BIN`.
//!
//! They are ignored in a plain `cargo test` (no venv there) and run by `tests/run.sh`, which
//! passes `--include-ignored`; there a missing `POSTURE_PYTHON` fails them rather than skipping.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_posture-exporter");

fn pytest(suite: &str) {
    let python = std::env::var("POSTURE_PYTHON").unwrap_or_else(|_| {
        panic!("POSTURE_PYTHON must name the venv's python with boto3, moto[server] and pytest: run tests/run.sh")
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE"])
        .arg(root.join("tests").join(suite))
        .env("POSTURE_BIN", BIN)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    // pytest exits 5 when it collected nothing: that fails here too.
    assert!(
        out.status.success(),
        "pytest tests/{suite} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs the Python venv: run by tests/run.sh"]
fn botocore_reads_what_the_simulator_serves_as_the_exporter_does() {
    pytest("botocore");
}

#[test]
#[ignore = "needs the Python venv: run by tests/run.sh"]
fn the_exporter_exports_what_moto_holds() {
    pytest("moto");
}
