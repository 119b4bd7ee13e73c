//! The shape of `src/`, checked: modules form layers (no two import each other, directly or
//! through others; a parent that lists its children sits above them), every file stays short,
//! and `src/lib.rs`'s map names every top-level module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` is the crate root (empty).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(SRC).ok()?.with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [one] if one == "main" => None,
        [one] if one == "lib" => Some(String::new()),
        [.., last] if last == "mod" => Some(parts[..parts.len() - 1].join("::")),
        _ => Some(parts.join("::")),
    }
}

/// Paths named in `text` (`crate::a::b::C`, `super::x`), resolved from module `at`, with
/// comments and string literals left out.
fn references(text: &str, at: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Unit tests (`#[cfg(test)] mod tests`, at the end of a file) see their parent by design.
    for line in text.lines().take_while(|l| l.trim() != "#[cfg(test)]") {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find(['c', 's']) {
            let tail = &rest[i..];
            let boundary = i == 0
                || !rest[..i]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            let base: Option<(Vec<String>, &str)> = if !boundary {
                None
            } else if let Some(t) = tail.strip_prefix("crate::") {
                Some((Vec::new(), t))
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
                Some((base, t))
            } else {
                None
            };
            match base {
                Some((mut segs, t)) => {
                    let path: String = t
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    segs.extend(
                        path.split("::")
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                    );
                    out.push(segs);
                    rest = &tail[1..];
                }
                None => rest = &tail[1..],
            }
        }
    }
    out
}

/// Module -> the modules it imports (and its children).
type Edges = BTreeMap<String, BTreeSet<String>>;

fn graph() -> (Edges, Vec<(PathBuf, usize)>) {
    let mut paths = Vec::new();
    files(Path::new(SRC), &mut paths);
    let modules: BTreeMap<String, PathBuf> = paths
        .iter()
        .filter_map(|p| module_of(p).map(|m| (m, p.clone())))
        .filter(|(m, _)| m != "tests" && !m.ends_with("::tests"))
        .collect();
    let mut edges: Edges = BTreeMap::new();
    let mut long = Vec::new();
    for (m, p) in &modules {
        let text = std::fs::read_to_string(p).expect("a source file");
        let lines = text.lines().count();
        if lines > MAX_LINES {
            long.push((p.clone(), lines));
        }
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

#[test]
fn modules_form_layers_and_files_stay_short() {
    let (edges, long) = graph();
    assert!(
        edges.len() > 20,
        "the walk found the modules: {:?}",
        edges.keys()
    );
    let cycles: BTreeSet<String> = edges
        .keys()
        .filter_map(|m| cycle_from(&edges, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(
        cycles.is_empty(),
        "modules that import each other (directly or through others; a parent sits above its children):\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
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
