//! The `collectors.guardduty` section: the three common settings, every 5 minutes by default.

use crate::config::section::Common;

/// `guardduty`: GuardDuty detectors, findings, members and administrator per account and region.
pub type Settings = Common<300>;
