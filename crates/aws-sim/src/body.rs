//! The simulator's response body: whole, or broken off mid-way to simulate a reset connection.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// A response body.
pub struct SimBody {
    data: Option<Bytes>,
    fail_after: bool,
    declared: Option<u64>,
}

impl SimBody {
    /// A whole body.
    pub fn full(b: Bytes) -> Self {
        let len = b.len() as u64;
        SimBody {
            data: Some(b),
            fail_after: false,
            declared: Some(len),
        }
    }

    /// Sends `first` (having announced `announced` bytes), then fails: the client sees the
    /// connection reset mid-body.
    pub fn broken(first: Bytes, announced: u64) -> Self {
        SimBody {
            data: Some(first),
            fail_after: true,
            declared: Some(announced),
        }
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(d) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        if self.fail_after {
            self.fail_after = false;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated reset",
            ))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && !self.fail_after
    }

    fn size_hint(&self) -> SizeHint {
        match self.declared {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
