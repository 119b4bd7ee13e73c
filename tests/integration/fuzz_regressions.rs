//! The fuzz targets' kept inputs on stable: every file of `fuzz/seeds/<target>/` and
//! `fuzz/regressions/<target>/` (the minimized crashes the fuzzers found, fixed since) goes
//! through the same checks the targets run (`fuzz/checks.rs`). The instrumented targets need
//! nightly and are run by hand (README, Reliability).

use std::path::Path;

#[path = "../../fuzz/checks.rs"]
mod checks;

#[test]
fn fuzz_seeds_and_regressions_pass_the_fuzz_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, check) in checks::TARGETS {
        let mut read = 0;
        for kind in ["seeds", "regressions"] {
            let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else {
                continue;
            };
            let mut paths: Vec<_> = dir.map(|e| e.unwrap().path()).collect();
            paths.sort();
            for path in paths {
                let data = std::fs::read(&path).unwrap();
                if std::panic::catch_unwind(|| check(&data)).is_err() {
                    panic!("{} fails its fuzz check", path.display());
                }
                read += 1;
            }
        }
        assert!(read > 0, "no seed or regression of fuzz target {target}");
    }
}
