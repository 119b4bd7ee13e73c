//! The `collectors.config_org_rules` section: the one organization conformance packs use too.

pub use crate::collectors::org_deployments::{Settings, MEMBER_STATUSES};
