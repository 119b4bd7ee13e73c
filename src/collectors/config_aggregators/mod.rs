//! `config_aggregators`: not written yet.

use super::{Collected, JobContext};
use crate::aws::{CollectError, ErrorKind};

/// One run.
pub async fn collect(ctx: &JobContext) -> Result<Collected, CollectError> {
    Err(CollectError::new(
        "config_aggregators",
        &ctx.aws.account_id,
        &ctx.aws.region,
        ErrorKind::Internal,
        "not implemented yet",
    ))
}
