//! The posture metric model, and its encoding through `prometheus-client`.
//!
//! Collectors build [`Family`] values from scratch for every snapshot, so a label set that AWS
//! stops reporting vanishes with the next snapshot. A family keeps its samples compactly (the
//! label values of all its samples in one string, their ends, and the values), not as text: the
//! text is written by `prometheus-client`'s encoders, OpenMetrics or Prometheus 0.0.4, through
//! [`Posture`], a `prometheus_client::collector::Collector` over every snapshot held. One family
//! (say `aws_config_recorder_status`) is fed by thousands of independent (collector, account,
//! region) snapshots replaced one at a time; the collector writes one descriptor per family and
//! then the samples of every snapshot under it.
//!
//! Escaping is `prometheus-client`'s (label values: `\\`, `\"`, `\n` in both formats; HELP: `\\`
//! and `\n` in 0.0.4), except for HELP in OpenMetrics, which that crate writes as it is given:
//! [`Posture`] escapes it first (`\\`, `\n` and `\"`, as the OpenMetrics grammar has them).
//!
//! Values: integral values are written as integers (`1`, not `1.0`) as before; other values in
//! the shortest form that round-trips. Infinite values are never pushed: the OpenMetrics encoder
//! of `prometheus-client` 0.26 spells them `inf`, which OpenMetrics parsers refuse, and no
//! posture value (a count, a flag, a timestamp) is infinite, so [`Family::push`] drops one and
//! logs it rather than corrupt a whole exposition.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, LabelSetEncoder,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;

/// How a family is typed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A monotonic counter; samples are named `<name>_total`.
    Counter,
    /// Constant 1 carrying labels; samples are named `<name>_info`
    /// (`# TYPE <name> info` in OpenMetrics, a gauge in the 0.0.4 format).
    Info,
}

impl Kind {
    fn metric_type(self) -> MetricType {
        match self {
            Kind::Gauge => MetricType::Gauge,
            Kind::Counter => MetricType::Counter,
            Kind::Info => MetricType::Info,
        }
    }
}

/// The static description of a metric family.
#[derive(Debug)]
pub struct Desc {
    /// Family name without the `_total`/`_info` suffix.
    pub name: &'static str,
    /// HELP text.
    pub help: &'static str,
    /// Wire type.
    pub kind: Kind,
    /// Label names, in the order that [`Family::push`] takes their values.
    pub labels: &'static [&'static str],
}

impl Desc {
    /// The name `/metrics` shows the family's samples under: with `_info` for an info family
    /// and `_total` for a counter (the name users see in both formats and write in the config).
    pub fn exposed_name(&self) -> Cow<'static, str> {
        match self.kind {
            Kind::Gauge => Cow::Borrowed(self.name),
            Kind::Counter => Cow::Owned(format!("{}_total", self.name)),
            Kind::Info => Cow::Owned(format!("{}_info", self.name)),
        }
    }
}

/// One metric family of one snapshot: its description and its samples.
#[derive(Debug, Clone)]
pub struct Family {
    desc: &'static Desc,
    /// The label values of every sample, one after the other.
    text: String,
    /// Where each label value ends in `text`: `desc.labels.len()` entries a sample.
    ends: Vec<u32>,
    values: Vec<f64>,
}

/// Two families are equal when they describe the same family with the same samples in the same
/// order (a sample's value compared as its bits: a NaN equals itself).
impl PartialEq for Family {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.desc, other.desc)
            && self.text == other.text
            && self.ends == other.ends
            && self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Family {
    /// An empty family.
    pub fn new(desc: &'static Desc) -> Self {
        Family {
            desc,
            text: String::new(),
            ends: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Gives back the room grown for samples never pushed: a family is built by pushing (each
    /// buffer doubling as it grows) and then kept until the job's next run, so up to half of
    /// what it holds would otherwise be slack.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.values.shrink_to_fit();
    }

    /// Appends one sample. `values` pairs with `desc.labels`; a missing value is empty.
    pub fn push(&mut self, values: &[&str], value: f64) {
        if value.is_infinite() {
            tracing::warn!(
                family = self.desc.name,
                "dropped an infinite sample value, which no posture value can be"
            );
            return;
        }
        let added: usize = (0..self.desc.labels.len())
            .map(|i| values.get(i).map_or(0, |v| v.len()))
            .sum();
        // Offsets are u32: a family of more than 4 GiB of label text is refused sample by
        // sample rather than silently mislabelled.
        if u32::try_from(self.text.len() + added).is_err() {
            tracing::warn!(
                family = self.desc.name,
                "dropped a sample: the family's label text exceeds 4 GiB"
            );
            return;
        }
        for i in 0..self.desc.labels.len() {
            self.text.push_str(values.get(i).copied().unwrap_or(""));
            // Checked above.
            self.ends.push(self.text.len() as u32);
        }
        self.values.push(value);
    }

    /// Exports a state: one sample, 1, whose last label is the current state under AWS's
    /// spelling (a state AWS adds later appears as it is spelled). The other states are not
    /// exported as zeros: a series per state that is not the case doubled to septupled the
    /// exposition and the Prometheus that reads it, for nothing a query needs
    /// (`x{status="FAILED"} == 1` selects the same, and a changed state ends the old series).
    pub fn push_state(&mut self, values: &[&str], current: &str) {
        let mut buf: Vec<&str> = values.to_vec();
        buf.push(current);
        self.push(&buf, 1.0);
    }

    /// The family's description.
    pub fn desc(&self) -> &'static Desc {
        self.desc
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the family has no samples.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The samples: label values in `desc.labels` order, and the value.
    pub fn samples(&self) -> impl Iterator<Item = (Labels<'_>, f64)> + '_ {
        let n = self.desc.labels.len();
        self.values.iter().enumerate().map(move |(i, v)| {
            let ends = &self.ends[i * n..(i + 1) * n];
            // A sample's text starts where the previous sample's ended.
            let start = if i == 0 || n == 0 {
                0
            } else {
                self.ends[i * n - 1]
            };
            (
                Labels {
                    names: self.desc.labels,
                    text: &self.text,
                    start,
                    ends,
                },
                *v,
            )
        })
    }

    /// The family's sample lines as the OpenMetrics exposition carries them (no HELP or TYPE),
    /// for tests.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let one = Posture::new(
            Arc::from(vec![Snapshot {
                families: Arc::new(vec![self.clone()]),
                help_suffix: Arc::from(""),
            }]),
            Format::OpenMetrics,
        );
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(one));
        // Writing to a String cannot fail, and our collector fails only with its writer.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &registry);
        out.lines()
            .filter(|l| !l.starts_with('#'))
            .fold(String::new(), |mut s, l| {
                s.push_str(l);
                s.push('\n');
                s
            })
    }
}

/// The label set of one sample, borrowed from its family.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    names: &'static [&'static str],
    text: &'a str,
    start: u32,
    ends: &'a [u32],
}

impl<'a> Labels<'a> {
    /// The values, in label order.
    pub fn values(&self) -> impl Iterator<Item = &'a str> + 'a {
        let text = self.text;
        let mut start = self.start as usize;
        self.ends.iter().map(move |&end| {
            let v = text.get(start..end as usize).unwrap_or("");
            start = end as usize;
            v
        })
    }
}

impl EncodeLabelSet for Labels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        for (name, value) in self.names.iter().zip(self.values()) {
            let mut label = encoder.encode_label();
            let mut key = label.encode_label_key()?;
            key.write_str(name)?;
            let mut v = key.encode_label_value()?;
            // prometheus-client escapes what is written here.
            v.write_str(value)?;
            v.finish()?;
        }
        Ok(())
    }
}

/// Info metrics need an owned, hashable label set; ours is the borrowed one, compared by value.
#[derive(Debug, Clone, Copy)]
struct InfoLabels<'a>(Labels<'a>);

impl PartialEq for InfoLabels<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.names == other.0.names && self.0.values().eq(other.0.values())
    }
}
impl Eq for InfoLabels<'_> {}
impl std::hash::Hash for InfoLabels<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for v in self.0.values() {
            v.hash(state);
        }
    }
}
impl EncodeLabelSet for InfoLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }
}

/// A label set with no labels, for the family level of an info sample.
#[derive(Debug)]
struct NoLabels;

impl EncodeLabelSet for NoLabels {
    fn encode(&self, _: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

/// Text format of an exposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The Content-Type header value for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The kinds of things that need attention: each is a section of the overview.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Concern {
    /// A member account's deployment of an organization rule or conformance pack failed.
    FailedDeployment,
    /// A rule or conformance pack is non-compliant.
    NonCompliant,
    /// High or critical GuardDuty findings.
    Findings,
    /// Current GuardDuty findings older than their severity's remediation age.
    Overdue,
    /// No Config recorder, a recorder not recording, or its last delivery failed.
    Recorders,
    /// Config data not flowing: a delivery channel's delivery failed, a rule's evaluation
    /// failed, a recorder records only part of the account.
    ConfigFlow,
    /// GuardDuty off or not covering an account.
    GuardDuty,
    /// A GuardDuty protection plan is disabled.
    Plans,
    /// Security Hub: failing controls, critical findings, off in an account, a standard or a
    /// central configuration association failed.
    SecurityHub,
}

/// One thing that needs attention, as a collector read it: built in its `convert.rs` from the
/// same answer as the families that export it, with AWS's code and message where AWS gave one.
#[derive(Clone, Debug, PartialEq)]
pub struct Attention {
    /// Which kind.
    pub concern: Concern,
    /// The account it is about.
    pub account_id: String,
    /// The region (empty for organization-wide items).
    pub region: String,
    /// What is wrong, in a few words (the rule and its status, the recorder, ...).
    pub subject: String,
    /// AWS's error code or the state, as exported.
    pub code: String,
    /// AWS's message, or the exporter's, where there is one.
    pub message: String,
}

/// What a run or one of its parts read: its families, and the items among them that need
/// attention. Kept and dropped together by the store's freshness rule.
#[derive(Clone, Debug, Default)]
pub struct Reading {
    /// The families.
    pub families: Vec<Family>,
    /// The items that need attention.
    pub items: Vec<Attention>,
}

impl From<Vec<Family>> for Reading {
    fn from(families: Vec<Family>) -> Self {
        Reading {
            families,
            items: Vec::new(),
        }
    }
}

/// One job's snapshot as the exposition uses it: its families, shared, and what its HELP lines
/// add (how often the values are collected).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The families of the snapshot.
    pub families: Arc<Vec<Family>>,
    /// Appended to each family's HELP text.
    pub help_suffix: Arc<str>,
}

/// The posture families of every snapshot, as one `prometheus-client` collector: per family
/// name (sorted), one descriptor, then the samples of every snapshot that has that family.
#[derive(Debug)]
pub struct Posture {
    snapshots: Arc<[Snapshot]>,
    /// The format being written: OpenMetrics HELP texts are escaped here, 0.0.4 ones by
    /// prometheus-client.
    format: Format,
}

impl Posture {
    /// A collector over `snapshots` for an encode in `format`.
    pub fn new(snapshots: Arc<[Snapshot]>, format: Format) -> Self {
        Posture { snapshots, format }
    }

    /// Number of samples.
    pub fn series(&self) -> usize {
        self.snapshots
            .iter()
            .flat_map(|s| s.families.iter())
            .map(Family::len)
            .sum()
    }
}

impl Collector for Posture {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // Family name -> (description, HELP suffix of the first snapshot, the families).
        let mut groups: std::collections::BTreeMap<&'static str, (&Desc, &str, Vec<&Family>)> =
            Default::default();
        for s in self.snapshots.iter() {
            for f in s.families.iter() {
                let g = groups
                    .entry(f.desc.name)
                    .or_insert_with(|| (f.desc, &s.help_suffix, Vec::new()));
                if !f.is_empty() {
                    g.2.push(f);
                }
            }
        }
        for (name, (desc, suffix, families)) in groups {
            if families.is_empty() {
                continue;
            }
            let help = help_text(desc, suffix, self.format);
            let mut family =
                encoder.encode_descriptor(name, &help, None, desc.kind.metric_type())?;
            for f in families {
                for (labels, v) in f.samples() {
                    match desc.kind {
                        Kind::Gauge => {
                            let m = family.encode_family(&labels)?;
                            match as_integer(v) {
                                Some(i) => ConstGauge::new(i).encode(m)?,
                                None => ConstGauge::new(v).encode(m)?,
                            }
                        }
                        Kind::Counter => {
                            let m = family.encode_family(&labels)?;
                            match as_integer(v).and_then(|i| u64::try_from(i).ok()) {
                                Some(i) => ConstCounter::new(i).encode(m)?,
                                None => ConstCounter::new(v).encode(m)?,
                            }
                        }
                        Kind::Info => {
                            let m = family.encode_family(&NoLabels)?;
                            Info::new(InfoLabels(labels)).encode(m)?
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A family's HELP text as the encoders are given it: the description's, then what the snapshot
/// adds (how often it is collected), escaped here for OpenMetrics (see the module's doc).
fn help_text(desc: &Desc, suffix: &str, format: Format) -> String {
    let help = format!("{}{}", desc.help, suffix);
    match format {
        Format::OpenMetrics => escape_openmetrics_help(&help).into_owned(),
        Format::Prometheus => help,
    }
}

/// The HELP and TYPE lines of one family, as [`Posture`] writes them above its samples (the
/// exposition writes them itself when it puts samples encoded earlier under them).
pub fn encode_header(out: &mut String, desc: &'static Desc, suffix: &str, format: Format) {
    #[derive(Debug)]
    struct Header {
        desc: &'static Desc,
        help: String,
    }
    impl Collector for Header {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            // Both encoders write the header when the descriptor is encoded.
            encoder
                .encode_descriptor(
                    self.desc.name,
                    &self.help,
                    None,
                    self.desc.kind.metric_type(),
                )
                .map(|_| ())
        }
    }
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register_collector(Box::new(Header {
        desc,
        help: help_text(desc, suffix, format),
    }));
    // Writing to a String cannot fail, and neither can this collector otherwise.
    let _ = match format {
        Format::OpenMetrics => prometheus_client::encoding::text::encode_registry(out, &registry),
        Format::Prometheus => prometheus_client::encoding::prometheus_text::encode(out, &registry),
    };
}

/// `v` as an integer when it is one that an f64 holds exactly.
fn as_integer(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 1e15).then_some(v as i64)
}

/// HELP as the OpenMetrics grammar escapes it: backslash, newline and double quote.
pub fn escape_openmetrics_help(help: &str) -> Cow<'_, str> {
    if !help.bytes().any(|b| matches!(b, b'\\' | b'\n' | b'"')) {
        return Cow::Borrowed(help);
    }
    let mut out = String::with_capacity(help.len() + 8);
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Seconds since the Unix epoch of a timestamp, as a sample value.
pub fn epoch_seconds(t: std::time::SystemTime) -> f64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// For the collectors' tests: how many samples of family `name` in `families` satisfy `pred`,
/// given each sample's labels by name and its value. Tests compare it with the items a
/// conversion made from the same answer.
#[cfg(test)]
pub fn count_samples(
    families: &[Family],
    name: &str,
    pred: impl Fn(&std::collections::BTreeMap<&str, &str>, f64) -> bool,
) -> usize {
    families
        .iter()
        .filter(|f| f.desc.name == name)
        .flat_map(|f| {
            f.samples().map(|(labels, v)| {
                let by_name: std::collections::BTreeMap<&str, &str> =
                    f.desc.labels.iter().copied().zip(labels.values()).collect();
                (by_name, v)
            })
        })
        .filter(|(l, v)| pred(l, *v))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;

    static G: Desc = Desc {
        name: "test_gauge",
        help: "A gauge.",
        kind: Kind::Gauge,
        labels: &["a", "status"],
    };
    static C: Desc = Desc {
        name: "test_calls",
        help: "Calls.",
        kind: Kind::Counter,
        labels: &[],
    };
    static I: Desc = Desc {
        name: "test_build",
        help: "Build \"quoted\" \\ back.",
        kind: Kind::Info,
        labels: &["version"],
    };

    fn encode(families: Vec<Family>, suffix: &str, format: Format) -> String {
        let p = Posture::new(
            Arc::from(vec![Snapshot {
                families: Arc::new(families),
                help_suffix: Arc::from(suffix),
            }]),
            format,
        );
        let mut r = Registry::default();
        r.register_collector(Box::new(p));
        let mut out = String::new();
        match format {
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode_registry(&mut out, &r).unwrap()
            }
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &r).unwrap()
            }
        }
        out
    }

    #[test]
    fn sample_lines_escape_and_format_values() {
        let mut f = Family::new(&G);
        f.push(&["x\"y\\z\nw", "ok"], 1.5);
        f.push(&["b", "ok"], 1_700_000_000.0);
        f.push(&["c", "ok"], f64::NAN);
        f.push(&["d", "ok"], f64::NEG_INFINITY);
        f.push(&["e"], 2.0);
        f.push(&["é{,=}", "ok"], -3.0);
        assert_eq!(
            f.text(),
            "test_gauge{a=\"x\\\"y\\\\z\\nw\",status=\"ok\"} 1.5\n\
             test_gauge{a=\"b\",status=\"ok\"} 1700000000\n\
             test_gauge{a=\"c\",status=\"ok\"} NaN\n\
             test_gauge{a=\"e\",status=\"\"} 2\n\
             test_gauge{a=\"é{,=}\",status=\"ok\"} -3\n"
        );
        // The infinite value was dropped.
        assert_eq!(f.len(), 5);
        let values: Vec<Vec<&str>> = f.samples().map(|(l, _)| l.values().collect()).collect();
        assert_eq!(values[3], ["e", ""]);
    }

    #[test]
    fn a_state_is_one_sample_under_its_raw_spelling() {
        let mut f = Family::new(&G);
        f.push_state(&["r"], "B");
        f.push_state(&["s"], "SHINY_NEW");
        assert_eq!(
            f.text(),
            "test_gauge{a=\"r\",status=\"B\"} 1\n\
             test_gauge{a=\"s\",status=\"SHINY_NEW\"} 1\n"
        );
    }

    #[test]
    fn headers_differ_between_formats_for_counters_and_info() {
        let mut c = Family::new(&C);
        c.push(&[], 3.0);
        let mut i = Family::new(&I);
        i.push(&["1.2"], 1.0);
        let p = encode(
            vec![c.clone(), i.clone()],
            " (every 5m)",
            Format::Prometheus,
        );
        assert_eq!(
            p,
            "# HELP test_build_info Build \"quoted\" \\\\ back. (every 5m)\n\
             # TYPE test_build_info gauge\n\
             test_build_info{version=\"1.2\"} 1\n\
             # HELP test_calls_total Calls. (every 5m)\n\
             # TYPE test_calls_total counter\n\
             test_calls_total 3\n"
        );
        let o = encode(vec![c, i], "", Format::OpenMetrics);
        assert_eq!(
            o,
            "# HELP test_build Build \\\"quoted\\\" \\\\ back.\n# TYPE test_build info\n\
             test_build_info{version=\"1.2\"} 1\n\
             # HELP test_calls Calls.\n# TYPE test_calls counter\n\
             test_calls_total 3\n"
        );
    }

    #[test]
    fn one_descriptor_per_family_across_snapshots() {
        let snap = |acct: &str, v: f64| {
            let mut f = Family::new(&G);
            f.push(&[acct, "ok"], v);
            Snapshot {
                families: Arc::new(vec![f, Family::new(&C)]),
                help_suffix: Arc::from(" Every 1m."),
            }
        };
        let p = Posture::new(
            Arc::from(vec![snap("1", 1.0), snap("2", 0.25)]),
            Format::OpenMetrics,
        );
        assert_eq!(p.series(), 2);
        let mut r = Registry::default();
        r.register_collector(Box::new(p));
        let mut out = String::new();
        prometheus_client::encoding::text::encode_registry(&mut out, &r).unwrap();
        // The empty counter family has no descriptor at all.
        assert_eq!(
            out,
            "# HELP test_gauge A gauge. Every 1m.\n# TYPE test_gauge gauge\n\
             test_gauge{a=\"1\",status=\"ok\"} 1\n\
             test_gauge{a=\"2\",status=\"ok\"} 0.25\n"
        );
    }
}
