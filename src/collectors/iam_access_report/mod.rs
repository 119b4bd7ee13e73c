//! `iam_access_report`: not written yet.

use super::{Collected, JobContext};
use crate::aws::{CollectError, ErrorKind};

/// State kept across runs.
#[derive(Debug, Default)]
pub struct State {}

/// One run.
pub async fn collect(ctx: &JobContext, _state: &mut State) -> Result<Collected, CollectError> {
    Err(CollectError::new(
        "iam_access_report",
        &ctx.aws.account_id,
        &ctx.aws.region,
        ErrorKind::Internal,
        "not implemented yet",
    ))
}
