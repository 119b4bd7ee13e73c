//! The `collectors.config_org_conformance_packs` section: the same settings as organization
//! rules (interval, timeout, target, region, `detail_statuses`).

pub use crate::collectors::org_deployments::{Settings, MEMBER_STATUSES};
