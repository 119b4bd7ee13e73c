//! The `collectors.config_aggregators` section: the common settings (every 10 minutes by
//! default), `target` (the account holding the aggregators; the first target by default) and
//! `regions` (where they are; `aws.region` by default). Nothing of its own.

use serde::Deserialize;

use crate::config::section::{Key, Own, Parts};

/// `config_aggregators`: configuration aggregators and their sources.
pub type Settings = Parts<600, Aggregators>;

/// What is particular to `config_aggregators`: only the placement keys it accepts.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Aggregators {}

impl Own for Aggregators {
    const PLACEMENT: &'static [Key] = &[Key::Target, Key::Regions];
}
