//! A duration written like `30s`, `5m`, `6h`, `1h30m`, `500ms` or `1d`, as every interval and
//! timeout of the file is.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration written like `30s`, `5m`, `6h`, `1h30m`, `500ms` or `1d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Parses `30s`, `5m`, `1h30m`, `250ms`, `2d`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty duration".into());
        }
        let mut total: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return Err(format!(
                    "invalid duration `{s}`: expected a number followed by ms, s, m, h or d (e.g. 30s, 5m, 1h30m)"
                ));
            }
            let n: u128 = rest[..digits]
                .parse()
                .map_err(|_| format!("invalid duration `{s}`: number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let ms: u128 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => {
                    return Err(format!(
                        "invalid duration `{s}`: missing unit (ms, s, m, h or d)"
                    ))
                }
                other => {
                    return Err(format!(
                        "invalid duration `{s}`: unknown unit `{other}` (use ms, s, m, h or d)"
                    ))
                }
            };
            total = total
                .checked_add(n.saturating_mul(ms))
                .ok_or_else(|| format!("invalid duration `{s}`: too large"))?;
        }
        if total > u64::MAX as u128 / 2 {
            return Err(format!("invalid duration `{s}`: too large"));
        }
        Ok(HumanDuration(Duration::from_millis(total as u64)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return write!(f, "0s");
        }
        if ms % 1000 != 0 {
            return write!(f, "{ms}ms");
        }
        let mut s = (ms / 1000) as u64;
        for (unit, len) in [("d", 86_400u64), ("h", 3_600), ("m", 60), ("s", 1)] {
            if s >= len {
                write!(f, "{}{unit}", s / len)?;
                s %= len;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HumanDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `secs` seconds, for named defaults.
pub fn d(secs: u64) -> HumanDuration {
    HumanDuration(Duration::from_secs(secs))
}
