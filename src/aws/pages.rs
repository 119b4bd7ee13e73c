//! Pagination: following `NextToken` from the first page to the last, shared by every listing
//! of the collectors and discovery, with the two defences AWS's tokens call for.

use std::future::Future;
use std::pin::Pin;

use super::call::{Call, Paged};
use super::error::{CollectError, ErrorKind};

/// The error code with which services refuse a pagination token (an expired one, say).
pub const INVALID_NEXT_TOKEN: &str = "InvalidNextTokenException";

impl<O: Paged> Call<'_, O> {
    /// Sends the request once per page, from the first page to the last, and returns what
    /// `items` takes from every page, in order. Each page is a call of its own (its own permit,
    /// counted once). A refused token (`InvalidNextTokenException`, e.g. one that expired
    /// during a long listing) restarts the listing once; a token that repeats itself is refused
    /// as malformed (it would loop forever).
    ///
    /// Boxed, as a single call is: the request it sends again and again would otherwise be part
    /// of its caller's future for the whole of the caller's run.
    pub fn all_pages<'f, T: Send + 'f>(
        self,
        items: impl FnMut(O::Output) -> Result<Vec<T>, CollectError> + Send + 'f,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<T>, CollectError>> + Send + 'f>>
    where
        Self: 'f,
    {
        Box::pin(self.pages(items))
    }

    async fn pages<T>(
        self,
        mut items: impl FnMut(O::Output) -> Result<Vec<T>, CollectError>,
    ) -> Result<Vec<T>, CollectError> {
        let Call { clients: c, op } = self;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut restarted = false;
        loop {
            let sent = token.clone();
            // Boxed, as every call is ([`Call`]'s `into_future`).
            match Box::pin(c.send(op.clone().with_token(token.take()))).await {
                Ok(page) => {
                    let next = O::next_token(&page)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string);
                    out.extend(items(page)?);
                    match next {
                        Some(t) if sent.as_deref() == Some(t.as_str()) => {
                            return Err(CollectError::new(
                                O::NAME,
                                &c.account_id,
                                &c.region,
                                ErrorKind::Malformed,
                                format!(
                                    "the answer repeats the {} it was asked with",
                                    O::SERVICE.next_token_member()
                                ),
                            ))
                        }
                        Some(t) => token = Some(t),
                        None => return Ok(out),
                    }
                }
                Err(e) if sent.is_some() && !restarted && e.code() == Some(INVALID_NEXT_TOKEN) => {
                    tracing::info!(
                        operation = O::NAME,
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
}
