//! A corpus of broken configuration files (`tests/config_corpus/`), each refused through the
//! binary by `check-config`, `run` and `collect --once` with exit status 64, every problem named
//! by its path in the file, and never a panic or a hang. The table below says what each file must
//! be refused for; a file in the folder and not in the table fails the suite, so the corpus and
//! its expectations cannot drift apart.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use posture_exporter::config::Config;

const BIN: &str = env!("CARGO_BIN_EXE_posture-exporter");

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config_corpus")
}

/// Each file and what its refusal must say (problem paths first, then messages).
const CORPUS: &[(&str, &[&str])] = &[
    ("wrong_types.yaml", &[
        "listen: invalid type: integer `9946`, expected a string",
        "max_stale_intervals: invalid type: string \"three\", expected u32",
        "web.max_connections: invalid type: sequence",
        "aws.max_attempts: invalid type: string \"many\"",
        "targets[0].regions: invalid type: string \"us-east-1\", expected a list of regions, or `enabled`",
        "collectors.guardduty.enabled: invalid type: string \"sometimes\", expected a boolean",
    ]),
    ("unknown_keys.yaml", &[
        "lisen: unknown setting `lisen`",
        "aws.regoin: unknown field `regoin`",
        "targets[0].role: unknown field `role`",
        "collectors.config_recorder.intervall: unknown field `intervall`",
        "collectors.guard_duty: unknown collector `guard_duty`",
    ]),
    ("duplicate_keys.yaml", &["(line 2): duplicate entry with key \"listen\""]),
    ("duplicate_nested_keys.yaml", &["targets[0]: duplicate entry with key \"regions\""]),
    ("bad_durations.yaml", &[
        "6 problems",
        "aws.attempt_timeout: invalid duration `5 min`",
        "collectors.config_recorder.interval: invalid duration `10x`: unknown unit `x`",
        "collectors.config_org_rules.interval: invalid duration `99999999999999999999999d`: too large",
        "collectors.config_aggregators.interval: empty duration",
        "web.header_read_timeout: must be more than 0s",
        "collectors.guardduty.interval: must be at least 1s",
    ]),
    ("invalid_arns.yaml", &[
        "4 problems",
        "targets[0].role_arn: `arn:aws:iam::12345:role/Reader` is not an IAM role ARN",
        "targets[1].role_arn: `arn:aws:s3:::my-bucket`",
        "targets[2].role_arn: `arn:aws:iam::123456789012:user/alice`",
        "targets[3].role_arn: `Reader`",
    ]),
    ("invalid_regions.yaml", &[
        "6 problems",
        "aws.region: `moon-1` is not an AWS region name",
        "targets[0].regions[0]: `US-EAST-1`",
        "targets[0].regions[2]: `us-east-1` is listed twice",
        "targets[0].regions[3]: `` is not an AWS region name",
        "targets[0].regions[4]: `eu_west_1`",
        "collectors.config_aggregators.regions[0]: `mars-north-99`",
    ]),
    ("invalid_account_ids.yaml", &[
        "5 problems",
        "targets[0].include_accounts[0]: `12345678901` is not a 12-digit account id",
        "targets[0].include_accounts[1]: `1234567890123`",
        "targets[0].include_accounts[2]: `12345678901a`",
        "targets[0].exclude_accounts[1]: ` 123456789012`",
        "targets[0].include_ous[0]: `ou-nope` is not an OU id",
    ]),
    ("account_id_as_number.yaml", &[
        "1 problem",
        "targets[0].exclude_accounts[0]: invalid type: integer `123456789012`, expected a string",
    ]),
    ("empty_lists.yaml", &[
        "targets[0].regions: the list is empty: at least one region is required",
        "collectors.config_aggregators.regions: the list is empty",
    ]),
    ("empty_targets.yaml", &["targets: the list is empty: at least one target is required"]),
    ("missing_targets.yaml", &["targets: missing: at least one target is required"]),
    ("yaml_bomb.yaml", &["nodes (YAML aliases?)"]),
    ("deep_nesting.yaml", &["(line 1): recursion limit exceeded"]),
    ("empty.yaml", &["the file is empty; at least `targets` is required"]),
    ("comments_only.yaml", &["the file is empty"]),
    ("not_a_mapping.yaml", &["expected a mapping of settings, found a list"]),
    ("scalar.yaml", &["expected a mapping of settings, found a string"]),
    ("syntax_error.yaml", &["(line 4): did not find expected ',' or ']'"]),
    ("tabs.yaml", &["(line 2): found character that cannot start any token"]),
    ("control_chars.yaml", &["(line 1): control characters are not allowed"]),
    ("binary_garbage.bin", &["binary_garbage.bin is not UTF-8 text (invalid byte at offset 8)"]),
    ("bad_web.yaml", &[
        "5 problems",
        "listen: `localhost` is not an address with a port",
        "web.max_connections: must be at least 1",
        "web.tls: cannot read certificates from /nonexistent/cert.pem",
        "web.basic_auth_users: `a:b` is not a user name",
        "web.basic_auth_users.prometheus: is not a bcrypt hash",
    ]),
    ("bad_references.yaml", &[
        "8 problems",
        "shard: `3/2`: the index must be below the count",
        "max_stale_intervals: must be at least 1",
        "aws.endpoint_url: `ftp://example.com` is not an http:// or https:// URL",
        "aws.max_attempts: 0 is out of range 1 to 20",
        "targets[1].name: `management` is used by an earlier target",
        "collectors.config_org_rules.target: no target is named `nobody`",
        "collectors.config_org_rules.detail_statuses[0]: `BROKEN` is not a member account status",
        "collectors.iam_access_report.entity_paths[0]: `not/a/path`",
    ]),
    ("bad_exceptions.yaml", &[
        "9 problems",
        "exceptions[0].account_id: `12345678901` is not a 12-digit account id",
        "exceptions[0].signal: unknown signal `config_recorders`",
        "exceptions[0].review: `2027-13-01` is not a date written YYYY-MM-DD",
        "exceptions[1].name: `sandbox` is used by an earlier exception",
        "exceptions[1]: names no scope",
        "exceptions[1].owner: missing",
        "exceptions[1].reason: missing",
        "exceptions[2].ou: an OU's accounts are known only from a `discover: organizations` target",
        "exceptions[2].region: `us_east_1` is not an AWS region name",
    ]),
];

/// Virtual memory the binary may use (KiB): a file that makes the parser allocate without
/// bound then ends in an allocation failure instead of taking the CI machine's memory.
const MEMORY_CAP_KIB: u64 = 2 * 1024 * 1024;

/// Runs the binary under [`MEMORY_CAP_KIB`], killing it after `limit` (a hang is a failure,
/// not a stuck CI job).
fn run(args: &[&str], limit: Duration) -> (Output, Duration) {
    let t = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP_KIB} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), t.elapsed());
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{args:?} still running after {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Asserts a refusal: exit 64, nothing on stdout, the file named, every needle, no panic.
fn assert_refused(args: &[&str], file: &str, needles: &[&str]) -> Duration {
    let (out, took) = run(args, Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{args:?}:\n{err}");
    assert!(!err.contains("panicked"), "{args:?}:\n{err}");
    assert!(
        out.stdout.is_empty(),
        "{args:?} printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        err.contains(&format!("{file}: invalid configuration (")),
        "{args:?}:\n{err}"
    );
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` missing from:\n{err}");
    }
    took
}

#[test]
fn every_broken_file_is_refused_with_64_and_its_problems_named() {
    for (name, needles) in CORPUS {
        let path = corpus().join(name);
        let file = path.to_str().unwrap();
        let took = assert_refused(&["check-config", file], file, needles);
        // `run` and `collect --once` refuse the same file the same way, before starting anything.
        assert_refused(&["--config", file], file, needles);
        assert_refused(&["collect", "--once", "--config", file], file, needles);
        eprintln!("{name}: refused in {took:?}");
    }
}

#[test]
fn the_corpus_folder_and_the_table_agree() {
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CORPUS.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn the_yaml_bomb_is_refused_fast_in_process_too() {
    let text = std::fs::read_to_string(corpus().join("yaml_bomb.yaml")).unwrap();
    let t = Instant::now();
    let e = Config::from_yaml_str(&text).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(e.problems.len(), 1);
    let m = &e.problems[0].message;
    assert!(
        m.contains("nodes (YAML aliases?)") || m.contains("repetition limit exceeded"),
        "{m}"
    );
}

/// A bomb that serde_yaml's repetition limit does not stop in time: its limit counts alias
/// jumps (100 per event of the document), not the nodes an alias replays, so 300 aliases of
/// 300 aliases of 300 strings (4.5 KiB) build millions of values before it trips.
fn wide_bomb(width: usize, levels: usize) -> String {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut y = format!("a: &a [{}]\n", vec!["\"lol\""; width].join(","));
    for i in 1..=levels {
        let item = format!("*{}", names[i - 1]);
        y.push_str(&format!(
            "{0}: &{0} [{1}]\n",
            names[i],
            vec![item; width].join(",")
        ));
    }
    y.push_str(&format!("targets: *{}\n", names[levels]));
    y
}

#[test]

fn a_wide_yaml_bomb_is_refused_without_blowing_memory() {
    let dir = std::env::temp_dir().join(format!("posture-exporter-bomb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wide_bomb.yaml");
    std::fs::write(&path, wide_bomb(300, 3)).unwrap();
    let p = path.to_str().unwrap();
    let (out, took) = run(&["check-config", p], Duration::from_secs(60));
    std::fs::remove_dir_all(&dir).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(64),
        "refused within {} MiB of memory? status {:?} after {took:?}:\n{err}",
        MEMORY_CAP_KIB / 1024,
        out.status
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn missing_and_unreadable_files_are_refused_with_64() {
    let dir = std::env::temp_dir().join(format!("posture-exporter-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let missing = dir.join("no-such-file.yaml");
    let m = missing.to_str().unwrap();
    assert_refused(
        &["check-config", m],
        m,
        &["cannot read", "No such file or directory"],
    );
    assert_refused(&["--config", m], m, &["cannot read"]);

    // A directory is unreadable as a file whoever runs the test.
    let d = dir.to_str().unwrap();
    assert_refused(&["check-config", d], d, &["cannot read", "Is a directory"]);

    let locked = dir.join("locked.yaml");
    std::fs::write(&locked, "targets:\n  - name: a\n    regions: [us-east-1]\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let l = locked.to_str().unwrap();
    if running_as_root() {
        eprintln!("running as root, which reads a mode-000 file: the permission-denied case is covered by the directory case only");
        let (out, _) = run(&["check-config", l], Duration::from_secs(20));
        assert!(out.status.success(), "root reads it and it is valid");
    } else {
        assert_refused(
            &["check-config", l],
            l,
            &["cannot read", "Permission denied"],
        );
    }

    // No --config at all.
    let (out, _) = run(&["run"], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config FILE is required"));
    std::fs::remove_dir_all(&dir).unwrap();
}
