//! The `collectors.config_recorder` section: the three common settings, every 5 minutes by default.

use crate::config::section::{Parts, Plain};

/// `config_recorder`: AWS Config recorder status per account and region.
pub type Settings = Parts<300, Plain>;
