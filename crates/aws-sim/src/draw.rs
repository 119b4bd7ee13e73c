//! What every generator draws from: the fixed reference time that generated times are counted
//! from ([`EPOCH`]), and stable hashes that turn the seed and indices into draws (`mix` and
//! `unit` over numbers, `hash` over text).

use crate::wire::fnv;

/// Seconds of a fixed reference time (2025-11-13T00:00:00Z), so generated data is stable.
pub const EPOCH: f64 = 1_763_000_000.0;

/// SplitMix64 over the inputs: a cheap, stable, well-mixed hash of indices.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for p in parts {
        h ^= *p;
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h = z ^ (z >> 31);
    }
    h
}

/// A uniform number in [0, 1).
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A stable hash of `s` with well-mixed low bits: FNV-1a alone leaves its low bits a function
/// of the last bytes' low bits, so `% 4` of two tags differing in one digit would repeat.
pub(crate) fn hash(s: &str) -> u64 {
    let mut h = fnv(s);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}
