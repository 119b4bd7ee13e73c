//! The metric model and the two text encoders (Prometheus text 0.0.4 and OpenMetrics 1.0).
//!
//! Collectors build [`Family`] values from scratch for every snapshot, so a label set that AWS
//! stops reporting vanishes with the next snapshot. A family's sample lines are encoded to bytes
//! the moment a sample is pushed: sample lines are the same in both text formats, so the store can
//! assemble a whole exposition by copying the chunks of every snapshot under one header per family,
//! and re-encoding after one snapshot changed costs a memcpy per other snapshot, not a re-format.
//!
//! We write the encoder ourselves rather than go through `prometheus-client`'s registry: that crate
//! encodes OpenMetrics only (its counters would be mis-typed in the 0.0.4 format Prometheus still
//! negotiates), and its registry wants one owner per family, while here one family is fed by many
//! independent (collector, target, region) snapshots that are replaced one at a time.

use std::fmt::Write as _;
use std::io::Write as _;

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
    /// The name that samples of this family carry.
    pub fn sample_name(&self) -> String {
        match self.kind {
            Kind::Gauge => self.name.to_string(),
            Kind::Counter => format!("{}_total", self.name),
            Kind::Info => format!("{}_info", self.name),
        }
    }
}

/// One metric family of one snapshot: its description and its already encoded sample lines.
#[derive(Debug, Clone)]
pub struct Family {
    desc: &'static Desc,
    lines: Vec<u8>,
    samples: usize,
}

impl Family {
    /// An empty family.
    pub fn new(desc: &'static Desc) -> Self {
        Family {
            desc,
            lines: Vec::new(),
            samples: 0,
        }
    }

    /// Appends one sample. `values` pairs with `desc.labels`; a missing value is encoded empty.
    pub fn push(&mut self, values: &[&str], value: f64) {
        let out = &mut self.lines;
        out.extend_from_slice(self.desc.name.as_bytes());
        match self.desc.kind {
            Kind::Gauge => {}
            Kind::Counter => out.extend_from_slice(b"_total"),
            Kind::Info => out.extend_from_slice(b"_info"),
        }
        if !self.desc.labels.is_empty() {
            out.push(b'{');
            for (i, name) in self.desc.labels.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"=\"");
                escape_label_value(out, values.get(i).copied().unwrap_or(""));
                out.push(b'"');
            }
            out.push(b'}');
        }
        out.push(b' ');
        write_value(out, value);
        out.push(b'\n');
        self.samples += 1;
    }

    /// Exports a state set: one sample per known state (1 for `current`, 0 for the others) and,
    /// when `current` is a state we do not know (AWS added one), one more sample under its raw
    /// spelling, so that a new value is never dropped. The state label must be the last label.
    pub fn push_state_set(&mut self, values: &[&str], known: &[&str], current: &str) {
        let mut buf: Vec<&str> = values.to_vec();
        buf.push("");
        let last = buf.len() - 1;
        for state in known {
            buf[last] = state;
            self.push(&buf, if *state == current { 1.0 } else { 0.0 });
        }
        if !known.contains(&current) {
            buf[last] = current;
            self.push(&buf, 1.0);
        }
    }

    /// The family's description.
    pub fn desc(&self) -> &'static Desc {
        self.desc
    }

    /// Encoded sample lines.
    pub fn lines(&self) -> &[u8] {
        &self.lines
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples
    }

    /// True when the family has no samples.
    pub fn is_empty(&self) -> bool {
        self.samples == 0
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
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a family. `help_suffix` is appended to the HELP
/// text (how often the values are collected).
pub fn write_header(out: &mut Vec<u8>, desc: &Desc, help_suffix: &str, format: Format) {
    let (name, ty): (String, &str) = match (format, desc.kind) {
        (_, Kind::Gauge) => (desc.name.to_string(), "gauge"),
        (Format::Prometheus, Kind::Counter) => (desc.sample_name(), "counter"),
        (Format::OpenMetrics, Kind::Counter) => (desc.name.to_string(), "counter"),
        (Format::Prometheus, Kind::Info) => (desc.sample_name(), "gauge"),
        (Format::OpenMetrics, Kind::Info) => (desc.name.to_string(), "info"),
    };
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    escape_help(out, desc.help);
    escape_help(out, help_suffix);
    out.push(b'\n');
    let _ = writeln!(out, "# TYPE {name} {ty}");
}

/// Closes an exposition (OpenMetrics requires `# EOF`).
pub fn write_trailer(out: &mut Vec<u8>, format: Format) {
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
}

fn escape_label_value(out: &mut Vec<u8>, v: &str) {
    for b in v.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

fn escape_help(out: &mut Vec<u8>, v: &str) {
    for b in v.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

/// Formats a sample value: integers without a fraction, the rest in Rust's shortest
/// round-trip form, and the non-finite values in the spelling both formats accept.
pub fn write_value(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let mut s = String::new();
        let _ = write!(s, "{v}");
        out.extend_from_slice(s.as_bytes());
    }
}

/// Seconds since the Unix epoch of a timestamp, as a sample value.
pub fn epoch_seconds(t: std::time::SystemTime) -> f64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        help: "Build.",
        kind: Kind::Info,
        labels: &["version"],
    };

    #[test]
    fn sample_lines_escape_and_format_values() {
        let mut f = Family::new(&G);
        f.push(&["x\"y\\z\nw", "ok"], 1.5);
        f.push(&["b", "ok"], 1_700_000_000.0);
        f.push(&["c", "ok"], f64::NAN);
        f.push(&["d", "ok"], f64::NEG_INFINITY);
        assert_eq!(
            String::from_utf8(f.lines().to_vec()).unwrap(),
            "test_gauge{a=\"x\\\"y\\\\z\\nw\",status=\"ok\"} 1.5\n\
             test_gauge{a=\"b\",status=\"ok\"} 1700000000\n\
             test_gauge{a=\"c\",status=\"ok\"} NaN\n\
             test_gauge{a=\"d\",status=\"ok\"} -Inf\n"
        );
        assert_eq!(f.len(), 4);
    }

    #[test]
    fn state_set_keeps_unknown_values_under_raw_spelling() {
        let mut f = Family::new(&G);
        f.push_state_set(&["r"], &["A", "B"], "B");
        f.push_state_set(&["s"], &["A", "B"], "SHINY_NEW");
        assert_eq!(
            String::from_utf8(f.lines().to_vec()).unwrap(),
            "test_gauge{a=\"r\",status=\"A\"} 0\n\
             test_gauge{a=\"r\",status=\"B\"} 1\n\
             test_gauge{a=\"s\",status=\"A\"} 0\n\
             test_gauge{a=\"s\",status=\"B\"} 0\n\
             test_gauge{a=\"s\",status=\"SHINY_NEW\"} 1\n"
        );
    }

    #[test]
    fn headers_differ_between_formats_for_counters_and_info() {
        let mut p = Vec::new();
        write_header(&mut p, &C, "", Format::Prometheus);
        write_header(&mut p, &I, " (every 5m)", Format::Prometheus);
        assert_eq!(
            String::from_utf8(p).unwrap(),
            "# HELP test_calls_total Calls.\n# TYPE test_calls_total counter\n\
             # HELP test_build_info Build. (every 5m)\n# TYPE test_build_info gauge\n"
        );
        let mut o = Vec::new();
        write_header(&mut o, &C, "", Format::OpenMetrics);
        write_header(&mut o, &I, "", Format::OpenMetrics);
        write_trailer(&mut o, Format::OpenMetrics);
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "# HELP test_calls Calls.\n# TYPE test_calls counter\n\
             # HELP test_build Build.\n# TYPE test_build info\n# EOF\n"
        );
        let mut c = Family::new(&C);
        c.push(&[], 3.0);
        assert_eq!(c.lines(), b"test_calls_total 3\n");
    }
}
