//! `exclude_families`: families the user turned off, by the names `/metrics` shows them under.
//!
//! One list at the top level rather than one per collector section: family names are unique
//! across collectors (each is the collector's own), so the user writes the name they see in
//! `/metrics` without looking up which collector exports it, as with kube-state-metrics'
//! `--metric-denylist`; and every collector's section stays as it is. A name that no collector
//! exports is refused, with the closest known name and the families of the collector that
//! exports it, so a typo never silently keeps a family the user meant to drop.

use super::problem::Problems;
use crate::collectors::families::OTHER;
use crate::collectors::CollectorKind;

/// Adds a problem for every entry that names no known family, or names one twice.
pub fn validate(names: &[String], p: &mut Problems) {
    for (i, name) in names.iter().enumerate() {
        let at = format!("exclude_families[{i}]");
        if names[..i].contains(name) {
            p.at(at, format!("`{name}` is listed twice"));
            continue;
        }
        if OTHER.contains(&name.as_str()) || CollectorKind::exporting(name).is_some() {
            continue;
        }
        p.at(at, unknown(name));
    }
}

/// The message for a name no collector exports: the closest known family, and every family of
/// the collector that exports that one.
fn unknown(name: &str) -> String {
    let known = CollectorKind::ALL
        .iter()
        .flat_map(|k| k.families().iter().map(move |f| (Some(*k), *f)))
        .chain(OTHER.iter().map(|f| (None, *f)));
    let best = known
        .map(|(k, f)| (distance(name, f), k, f))
        .min_by_key(|(d, _, _)| *d);
    // A name far from every family is not a typo of one: no closest is named.
    let Some((_, kind, closest)) = best.filter(|(d, _, _)| *d <= name.len().max(9) / 3) else {
        return format!(
            "no collector exports a family named `{name}`; the README's metric tables list every family"
        );
    };
    match kind {
        Some(k) => format!(
            "no collector exports a family named `{name}`; the closest is `{closest}`; collector `{}` exports {}",
            k.name(),
            k.families()
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!("no collector exports a family named `{name}`; the closest is `{closest}`"),
    }
}

/// Edit distance (insertions, deletions, substitutions) between two names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != *cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
