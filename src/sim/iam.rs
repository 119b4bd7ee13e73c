//! IAM Organizations access reports (awsQuery): not written yet.

use super::wire::AwsError;
use super::{Answer, Call, World, WorldOptions};

/// Generation settings.
#[derive(Clone, Debug, Default)]
pub struct Options {}

/// Generated state and test overrides.
#[derive(Clone, Debug, Default)]
pub struct State {}

impl State {
    /// Generates the state for an organization.
    pub fn new(_opts: &WorldOptions) -> Self {
        State {}
    }
}

/// Handles one call.
pub fn handle(_world: &mut World, call: &Call) -> Answer {
    Err(AwsError::client(
        "UnknownOperationException",
        format!("unknown operation {}", call.op),
    ))
}
