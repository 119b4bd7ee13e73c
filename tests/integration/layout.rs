//! The shape of the workspace's code, checked for `src/` and for every crate's `crates/*/src`,
//! each crate on its own: modules form layers (no two import each other, directly or through
//! others; a parent that lists its children sits above them), every file stays short, and
//! `src/lib.rs`'s map names every top-level module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
const MAX_LINES: usize = 900;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src is readable") {
        let p = e.expect("an entry").path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The `src` directory of every crate under `crates/`.
fn crate_sources() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("crates"))
        .expect("crates is readable")
        .map(|e| e.expect("an entry").path().join("src"))
        .filter(|src| src.is_dir())
        .collect();
    out.sort();
    out
}

/// The module of `path` in the crate whose sources are `src`: `a/b.rs` and `a/b/mod.rs` are
/// `a::b`; the crate root (`lib.rs`, or `main.rs` of a crate without a library) is empty.
/// `None` for a binary beside a library (`main.rs`, `bin/`), which uses the library by name.
fn module_of(src: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src).ok()?.with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [one] if one == "main" && src.join("lib.rs").exists() => None,
        [one] if one == "lib" || one == "main" => Some(String::new()),
        [first, ..] if first == "bin" => None,
        [.., last] if last == "mod" => Some(parts[..parts.len() - 1].join("::")),
        _ => Some(parts.join("::")),
    }
}

/// Paths named in `text` (`crate::a::b::C`, `super::x`, and each path of a group like
/// `crate::{a::B, c::{D, E}}`), resolved from module `at`, with comments left out.
fn references(text: &str, at: &str) -> Vec<Vec<String>> {
    // Unit tests (`#[cfg(test)] mod tests`, at the end of a file) see their parent by design.
    let code: Vec<&str> = text
        .lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect();
    let code = code.join("\n");
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find(['c', 's']) {
        let tail = &rest[i..];
        let boundary = i == 0
            || !rest[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        if boundary {
            if let Some(t) = tail.strip_prefix("crate::") {
                use_tree(t, Vec::new(), &mut out);
            } else if tail.starts_with("super::") {
                let mut base: Vec<String> = at
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let mut t = tail;
                while let Some(r) = t.strip_prefix("super::") {
                    base.pop();
                    t = r;
                }
                use_tree(t, base, &mut out);
            }
        }
        rest = &tail[1..];
    }
    out
}

/// The path at the start of `t` under `base`, or with a group (`a::{b, c::D}`) each path of it.
fn use_tree(t: &str, base: Vec<String>, out: &mut Vec<Vec<String>>) {
    let path: String = t
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let mut segs = base;
    segs.extend(
        path.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
    let after = &t[path.len()..];
    if let Some(inner) = after
        .strip_prefix('{')
        .filter(|_| path.is_empty() || path.ends_with("::"))
    {
        let (mut depth, mut start) = (0usize, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                '}' | ',' if depth == 0 => {
                    let item = inner[start..i].trim();
                    if !item.is_empty() {
                        use_tree(item, segs.clone(), out);
                    }
                    if c == '}' {
                        return;
                    }
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    out.push(segs);
}

/// Module -> the modules it imports (and its children).
type Edges = BTreeMap<String, BTreeSet<String>>;

/// The module graph of the crate whose sources are `src`, and its files over [`MAX_LINES`].
fn graph(src: &Path) -> (Edges, Vec<(PathBuf, usize)>) {
    let mut paths = Vec::new();
    files(src, &mut paths);
    paths.sort();
    let mut long = Vec::new();
    for p in &paths {
        let lines = std::fs::read_to_string(p)
            .expect("a source file")
            .lines()
            .count();
        if lines > MAX_LINES {
            let shown = p.strip_prefix(ROOT).unwrap_or(p).to_path_buf();
            long.push((shown, lines));
        }
    }
    let modules: BTreeMap<String, PathBuf> = paths
        .iter()
        .filter_map(|p| module_of(src, p).map(|m| (m, p.clone())))
        .filter(|(m, _)| m != "tests" && !m.ends_with("::tests"))
        .collect();
    let mut edges: Edges = BTreeMap::new();
    for (m, p) in &modules {
        let text = std::fs::read_to_string(p).expect("a source file");
        let e = edges.entry(m.clone()).or_default();
        for r in references(&text, m) {
            // The longest prefix of the path that is a module of ours.
            let target = (1..=r.len())
                .rev()
                .map(|n| r[..n].join("::"))
                .find(|cand| modules.contains_key(cand));
            if let Some(t) = target {
                if &t != m && !t.is_empty() {
                    e.insert(t);
                }
            }
        }
    }
    // A parent lists its children: it sits above them.
    for m in modules.keys() {
        if let Some((parent, _)) = m.rsplit_once("::") {
            edges
                .entry(parent.to_string())
                .or_default()
                .insert(m.clone());
        }
    }
    (edges, long)
}

/// A cycle through `start`, if there is one.
fn cycle_from(edges: &Edges, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                let mut p = path.clone();
                p.push(next.clone());
                return Some(p);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

/// What breaks the rules in the crate whose sources are `src`: its modules that import each
/// other, and its files over [`MAX_LINES`]; `min_modules` guards against a walk that found
/// nothing.
fn problems(src: &Path, min_modules: usize) -> Vec<String> {
    let (edges, long) = graph(src);
    let shown = src.strip_prefix(ROOT).unwrap_or(src).display().to_string();
    let mut out = Vec::new();
    if edges.len() < min_modules {
        out.push(format!(
            "{shown}: the walk found only the modules {:?}",
            edges.keys()
        ));
    }
    let cycles: BTreeSet<String> = edges
        .keys()
        .filter_map(|m| cycle_from(&edges, m))
        .map(|c| c.join(" -> "))
        .collect();
    if !cycles.is_empty() {
        out.push(format!(
            "{shown}: modules that import each other (directly or through others; a parent sits above its children):\n{}",
            cycles.into_iter().collect::<Vec<_>>().join("\n")
        ));
    }
    if !long.is_empty() {
        out.push(format!("{shown}: files over {MAX_LINES} lines: {long:?}"));
    }
    out
}

#[test]
fn modules_form_layers_and_files_stay_short() {
    let p = problems(Path::new(SRC), 21);
    assert!(p.is_empty(), "{}", p.join("\n"));
}

#[test]
fn every_crate_of_the_workspace_forms_layers_and_keeps_files_short() {
    let crates = crate_sources();
    assert!(crates.len() >= 2, "the walk found the crates: {crates:?}");
    let p: Vec<String> = crates.iter().flat_map(|src| problems(src, 3)).collect();
    assert!(p.is_empty(), "{}", p.join("\n"));
}

#[test]
fn the_check_sees_a_cycle_and_a_child_importing_its_parent() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("a".into());
    assert!(cycle_from(&edges, "a").is_some());
    let refs = references(
        "use super::Thing;\nuse crate::aws::call;\n",
        "collectors::x",
    );
    assert_eq!(
        refs,
        vec![
            vec!["collectors".to_string(), "Thing".to_string()],
            vec!["aws".to_string(), "call".to_string()]
        ]
    );
    // Comments and unit tests do not count.
    assert!(references("// see crate::store", "a").is_empty());
    assert!(references("#[cfg(test)]\nmod tests { use super::*; }", "a::b").is_empty());
}

#[test]
fn the_check_reads_groups_and_each_crates_root() {
    let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // Each path of a group counts, across lines and nested groups.
    assert_eq!(
        references(
            "use crate::{world::World, wire::{fnv, AwsError}};\nuse super::{\n    draw::EPOCH,\n};\n",
            "a::b",
        ),
        vec![
            path(&["world", "World"]),
            path(&["wire", "fnv"]),
            path(&["wire", "AwsError"]),
            path(&["a", "draw", "EPOCH"]),
        ]
    );
    // A crate without a library has `main.rs` as its root; beside a library it is a binary of
    // its own.
    let root = Path::new(ROOT);
    let bench = root.join("crates/bench/src");
    assert_eq!(
        module_of(&bench, &bench.join("main.rs")),
        Some(String::new())
    );
    assert_eq!(
        module_of(&bench, &bench.join("soak/snapshot.rs")),
        Some("soak::snapshot".to_string())
    );
    let src = Path::new(SRC);
    assert_eq!(module_of(src, &src.join("main.rs")), None);
    assert_eq!(module_of(src, &src.join("lib.rs")), Some(String::new()));
    assert_eq!(
        module_of(src, &src.join("collectors/guardduty/mod.rs")),
        Some("collectors::guardduty".to_string())
    );
}

#[test]
fn the_crate_map_names_every_top_level_module() {
    let lib = std::fs::read_to_string(format!("{SRC}/lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(declared.len() > 5);
    for m in declared {
        assert!(
            lib.contains(&format!("//! - [`{m}`]")),
            "src/lib.rs's map does not describe `{m}`"
        );
    }
}
