//! The exposition cache: what `/metrics` serves.
//!
//! Scrapes only read an `Arc<Exposition>` built when a job last reported, so a scrape never takes
//! the job lock and never waits for AWS. Reports that arrive close together (a cycle over
//! thousands of accounts) are coalesced by a short debounce in [`Cache::run`], so the cost of
//! encoding follows the number of changes a second, not the number of jobs.
//!
//! Of the four bodies an exposition can have (Prometheus text or OpenMetrics, plain or gzip), the
//! encoder encodes ahead only those asked for in the last [`EAGER_WINDOW`]; Prometheus asks for
//! one (OpenMetrics, gzip), so the others cost neither CPU nor memory. A body nobody asked for
//! lately is encoded by the first request for it and then kept with its exposition.
//!
//! A body is the telemetry registry (the exporter's own families, as they are when the body is
//! encoded) followed by the posture families of every snapshot, both written by
//! `prometheus-client`: `text::encode_registry` and `encode_eof` for OpenMetrics,
//! `prometheus_text::encode` for 0.0.4. The posture families' samples are kept encoded per run of
//! snapshots between expositions ([`super::runs`]), so a re-encode formats and compresses the
//! runs that changed and copies the rest; a gzip body joins the runs' kept deflate pieces into one
//! gzip member under a combined CRC-32 (see [`super::runs`]).

use super::jobs::Attempted;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::runs::{gzip_whole, Body, Runs};
use super::telemetry::Telemetry;
use crate::metrics::{Format, Posture, Snapshot};

/// A body asked for within this window is encoded ahead by the encoder after every change; other
/// bodies wait for a request.
pub const EAGER_WINDOW: Duration = Duration::from_secs(600);

/// One exposition: the snapshots it is made of, and its four bodies (two formats, plain and
/// gzip), each encoded once, when first needed.
#[derive(Debug)]
pub struct Exposition {
    /// The store's revision when its snapshots were taken: an exposition never replaces a
    /// newer one (see [`Cache::publish`]).
    pub revision: u64,
    /// Samples of the posture families and the exporter's per-job series (not counted: the
    /// exporter's process-wide series, a few hundred at most).
    pub series: usize,
    /// Which jobs had made their first attempt when the snapshots were taken, so that this
    /// exposition shows their first results (`/ready` waits for one that does).
    pub attempted: Attempted,
    snapshots: Arc<[Snapshot]>,
    telemetry: Arc<Telemetry>,
    /// Bytes of the last body of this kind, to size the next one's buffer.
    size_hint: usize,
    /// Bytes of the largest plain body this exposition encoded.
    plain_len: AtomicUsize,
    bodies: [OnceLock<Bytes>; 4],
    /// The runs kept encoded for each body, shared by the expositions of one cache.
    runs: Arc<[Runs; 4]>,
}

fn body_index(format: Format, gzip: bool) -> usize {
    match (format, gzip) {
        (Format::Prometheus, false) => 0,
        (Format::Prometheus, true) => 1,
        (Format::OpenMetrics, false) => 2,
        (Format::OpenMetrics, true) => 3,
    }
}

/// The four bodies, in [`body_index`] order.
pub const BODIES: [(Format, bool); 4] = [
    (Format::Prometheus, false),
    (Format::Prometheus, true),
    (Format::OpenMetrics, false),
    (Format::OpenMetrics, true),
];

impl Exposition {
    /// An exposition of `snapshots` and the telemetry; `series` counts the samples of both.
    pub fn new(
        revision: u64,
        snapshots: Vec<Snapshot>,
        telemetry: Arc<Telemetry>,
        series: usize,
        size_hint: usize,
        attempted: Attempted,
    ) -> Self {
        Exposition {
            revision,
            series,
            attempted,
            snapshots: Arc::from(snapshots),
            telemetry,
            size_hint,
            plain_len: AtomicUsize::new(0),
            bodies: Default::default(),
            runs: Arc::default(),
        }
    }

    /// The body in `format`, gzip-compressed or not; encoded by the first caller that needs it
    /// (concurrent callers wait for that one) and kept for the life of this exposition.
    pub fn body(&self, format: Format, gzip: bool) -> Bytes {
        self.bodies[body_index(format, gzip)]
            .get_or_init(|| Bytes::from(self.encode(format, gzip)))
            .clone()
    }

    /// Whether that body is already encoded (a request for it will not encode).
    pub fn is_encoded(&self, format: Format, gzip: bool) -> bool {
        self.bodies[body_index(format, gzip)].get().is_some()
    }

    /// Bytes of the largest plain body encoded so far (0 if none).
    fn encoded_len(&self) -> usize {
        self.plain_len.load(Ordering::Relaxed)
    }

    /// The body in `format`: the telemetry, then the posture families from the kept runs
    /// (encoding those not kept), as one gzip member of joined pieces if `gzip`; the whole text
    /// formatted (and compressed) at once if a run did not encode as expected.
    fn encode(&self, format: Format, gzip: bool) -> Vec<u8> {
        let mut own = String::with_capacity(64 * 1024);
        // Writing to a String cannot fail, and neither do the registry's metrics; an error
        // would still leave a parseable prefix, so it is logged.
        let written = match format {
            Format::OpenMetrics => text::encode_registry(&mut own, self.telemetry.registry()),
            Format::Prometheus => prometheus_text::encode(&mut own, self.telemetry.registry()),
        };
        if written.is_err() {
            tracing::error!(?format, "encoding the exporter's own metrics failed");
        }
        let capacity = if gzip {
            self.size_hint / 8
        } else {
            self.size_hint + self.size_hint / 8 + 4096
        };
        let mut body = Body::new(gzip, capacity);
        body.text(&own);
        let written = self.runs[body_index(format, gzip)]
            .write(&self.snapshots, format, &mut body)
            .and_then(|()| {
                if format == Format::OpenMetrics {
                    body.text("# EOF\n");
                }
                body.finish()
            });
        let out = match written {
            Some(out) => out,
            None => {
                tracing::error!(
                    ?format,
                    "a run of snapshots did not encode as expected; encoding the whole body"
                );
                let whole = self.encode_whole(format);
                if gzip {
                    gzip_whole(&whole).to_vec()
                } else {
                    whole
                }
            }
        };
        if !gzip {
            self.plain_len.fetch_max(out.len(), Ordering::Relaxed);
        }
        out
    }

    /// The plain body in `format` with every sample formatted now.
    fn encode_whole(&self, format: Format) -> Vec<u8> {
        let mut posture = Registry::default();
        posture.register_collector(Box::new(Posture::new(self.snapshots.clone(), format)));
        let mut out = String::with_capacity(self.size_hint + self.size_hint / 8 + 4096);
        // Writing to a String cannot fail, and neither the registry's metrics nor our collector
        // fail otherwise; an error would still leave a parseable prefix, so it is logged.
        let written = match format {
            Format::OpenMetrics => text::encode_registry(&mut out, self.telemetry.registry())
                .and_then(|()| text::encode_registry(&mut out, &posture))
                .and_then(|()| text::encode_eof(&mut out)),
            Format::Prometheus => prometheus_text::encode(&mut out, self.telemetry.registry())
                .and_then(|()| prometheus_text::encode(&mut out, &posture)),
        };
        if written.is_err() {
            tracing::error!(
                ?format,
                "encoding the exposition failed; serving what was written"
            );
        }
        self.plain_len.fetch_max(out.len(), Ordering::Relaxed);
        out.into_bytes()
    }
}

/// The exposition served now, the formats asked for lately, and the change signal.
pub struct Cache {
    current: RwLock<Arc<Exposition>>,
    /// The runs kept encoded for each body, handed to every exposition published.
    runs: Arc<[Runs; 4]>,
    epoch: Instant,
    asked: [AtomicU64; 4],
    changed: Notify,
    debounce: Duration,
}

impl Cache {
    /// A cache serving `first` until the first refresh.
    pub fn new(mut first: Exposition) -> Self {
        let runs: Arc<[Runs; 4]> = Arc::default();
        first.runs = runs.clone();
        Cache {
            current: RwLock::new(Arc::new(first)),
            runs,
            epoch: Instant::now(),
            asked: Default::default(),
            changed: Notify::new(),
            debounce: Duration::from_millis(200),
        }
    }

    /// Something the exposition shows changed.
    pub fn changed(&self) {
        self.changed.notify_one();
    }

    /// The exposition published last.
    pub fn current(&self) -> Arc<Exposition> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Bytes of the body encoded last, to size the next.
    pub fn size_hint(&self) -> usize {
        self.current().encoded_len()
    }

    /// Encodes the bodies asked for within [`EAGER_WINDOW`] and publishes `exp`, unless an
    /// exposition of a later revision was published meanwhile: the background encoder and a
    /// refresh on request may overlap, and the one that took its snapshots first must not
    /// replace the other's (its bodies were encoded from older data, the exporter's own counters
    /// included). Returns the exposition current now.
    pub fn publish(&self, mut exp: Exposition) -> Arc<Exposition> {
        exp.runs = self.runs.clone();
        let exp = Arc::new(exp);
        let now = self.epoch.elapsed().as_secs() + 1;
        for (i, (format, gzip)) in BODIES.iter().enumerate() {
            if asked_lately(self.asked[i].load(Ordering::Relaxed), now) {
                exp.body(*format, *gzip);
            } else {
                // Nobody scrapes this body now: its kept runs would only hold memory.
                self.runs[i].clear();
            }
        }
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if exp.revision >= current.revision {
            *current = exp;
        }
        current.clone()
    }

    /// The body a scrape asked for, from the exposition published last; notes that it was
    /// asked for, so the encoder keeps it encoded ahead.
    pub fn body(&self, format: Format, gzip: bool) -> Bytes {
        // Seconds since the cache was created, plus one: 0 stays "never".
        let now = self.epoch.elapsed().as_secs() + 1;
        self.asked[body_index(format, gzip)].store(now, Ordering::Relaxed);
        self.current().body(format, gzip)
    }

    /// Calls `refresh` after changes until `shutdown`, coalescing changes within the debounce.
    pub async fn run<F>(&self, shutdown: CancellationToken, refresh: F)
    where
        F: Fn() + Clone + Send + 'static,
    {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.changed.notified() => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.debounce) => {}
            }
            let started = tokio::time::Instant::now();
            // Encoding a large exposition is CPU work: keep it off the I/O threads.
            if tokio::task::spawn_blocking(refresh.clone()).await.is_err() {
                tracing::error!("encoding the exposition panicked; serving the previous one");
            }
            // During a cycle over thousands of jobs changes never stop: rest four times as long
            // as the encode took, so the encoder takes at most a fifth of a core from the
            // collection.
            let rest = started.elapsed() * 4;
            if rest > self.debounce {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(rest - self.debounce) => {}
                }
            }
        }
    }
}

/// Whether a body last asked for at `asked` (seconds since the cache's creation plus one; 0 for
/// never) was asked for within [`EAGER_WINDOW`] of `now`.
fn asked_lately(asked: u64, now: u64) -> bool {
    asked != 0 && now.saturating_sub(asked) <= EAGER_WINDOW.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asked_lately_is_the_eager_window() {
        let w = EAGER_WINDOW.as_secs();
        assert!(!asked_lately(0, 5));
        assert!(asked_lately(1, 1));
        assert!(asked_lately(10, 10 + w));
        assert!(!asked_lately(10, 11 + w));
    }
}
