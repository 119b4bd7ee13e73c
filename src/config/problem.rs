//! Problems of a configuration file: where each is and what is wrong, gathered from every
//! section so that one run lists them all; and the deserialization of one section on its own,
//! so that one bad field does not hide the next section's problems.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

/// A configuration file problem: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path in the file, like `collectors.guardduty.interval` or `targets[1].regions[0]`.
    pub path: String,
    /// Line in the file, where the YAML parser gave one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        match self.line {
            Some(l) => write!(f, "{path} (line {l}): {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Every problem found in a configuration.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The problems, in file order where known.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem{}):",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// The problems found so far, each with its path.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Adds a problem at `path` (no line: semantic checks run on values, not on text).
    pub fn at(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            line: None,
            message: message.into(),
        });
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a section's validation may look at beyond itself.
#[derive(Debug, Clone, Copy)]
pub struct ValidateContext<'a> {
    /// Names of the configured targets, including those whose entry failed to parse (so that a
    /// reference to them is not reported as a second, false problem).
    pub target_names: &'a BTreeSet<String>,
    /// Names of the targets whose regions are `enabled` (read from AWS), including those whose
    /// entry failed to parse.
    pub enabled_targets: &'a BTreeSet<String>,
    /// The first target, where an organization collector runs when its section names none.
    pub first_target: Option<&'a str>,
}

impl ValidateContext<'_> {
    /// Adds a problem when `target` names no configured target.
    pub fn check_target(&self, path: &str, target: Option<&String>, problems: &mut Problems) {
        if let Some(t) = target {
            if !self.target_names.contains(t) {
                problems.at(path, format!("no target is named `{t}`"));
            }
        }
    }
}

/// Deserializes one section, or records its problem with its full path and returns `None`.
pub fn section<T: DeserializeOwned>(v: Value, path: &str, problems: &mut Problems) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let full = if inner == "." || inner.is_empty() {
                path.to_string()
            } else if inner.starts_with('[') {
                format!("{path}{inner}")
            } else {
                format!("{path}.{inner}")
            };
            problems.0.push(Problem {
                path: full,
                line: None,
                message: e.into_inner().to_string(),
            });
            None
        }
    }
}

/// What a YAML value is, in words, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}
