//! Pagination: following `NextToken` from the first page to the last, shared by the
//! collectors and discovery, with the two defences AWS's tokens call for.

use std::future::Future;

use super::{CollectError, ErrorKind, RegionClients};

/// The error code with which services refuse a pagination token (an expired one, say).
pub const INVALID_NEXT_TOKEN: &str = "InvalidNextTokenException";

/// Follows `NextToken` from the first page to the last, each page one call on the scope's
/// counter ([`RegionClients::calls`]). A refused token restarts the listing once; a token that
/// repeats itself is refused as malformed (it would loop forever).
pub async fn all_pages<T, F, Fut>(
    c: &RegionClients,
    operation: &'static str,
    mut page: F,
) -> Result<Vec<T>, CollectError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), CollectError>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut restarted = false;
    loop {
        let sent = token.clone();
        match page(token.take()).await {
            Ok((items, next)) => {
                out.extend(items);
                match next.filter(|t| !t.is_empty()) {
                    Some(t) if sent.as_deref() == Some(t.as_str()) => {
                        return Err(CollectError::new(
                            operation,
                            &c.account_id,
                            &c.region,
                            ErrorKind::Malformed,
                            "the answer repeats the NextToken it was asked with",
                        ))
                    }
                    Some(t) => token = Some(t),
                    None => return Ok(out),
                }
            }
            Err(e) if sent.is_some() && !restarted && e.code() == Some(INVALID_NEXT_TOKEN) => {
                tracing::info!(
                    operation,
                    account_id = %c.account_id,
                    region = %c.region,
                    "AWS refused a pagination token; listing again from the first page"
                );
                restarted = true;
                out.clear();
            }
            Err(e) => return Err(e),
        }
    }
}
