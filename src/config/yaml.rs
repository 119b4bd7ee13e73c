//! A budget on the nodes of a YAML document, aliases expanded, checked before the tree is built.
//!
//! YAML aliases replay whole subtrees: a few KiB can stand for billions of nodes, and
//! serde_yaml's own limit counts alias jumps, not what they replay.

use std::fmt;

/// More nodes than any sensible configuration has, aliases expanded.
pub const MAX_NODES: usize = 100_000;

/// Counts the nodes of a YAML document, aliases expanded, and fails past `max` without
/// allocating: a YAML alias bomb is refused in milliseconds. Syntax errors pass through (the
/// real parse reports them with their line).
pub fn node_budget(text: &str, max: usize) -> Result<(), serde_yaml::Error> {
    use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
    use std::cell::Cell;

    struct Count<'a>(&'a Cell<usize>, usize);
    impl Count<'_> {
        fn bump<E: serde::de::Error>(&self) -> Result<(), E> {
            self.0.set(self.0.get() + 1);
            if self.0.get() > self.1 {
                Err(E::custom(format!(
                    "the document expands to more than {} nodes (YAML aliases?); refused",
                    self.1
                )))
            } else {
                Ok(())
            }
        }
        fn again(&self) -> Count<'_> {
            Count(self.0, self.1)
        }
    }
    impl<'de> DeserializeSeed<'de> for Count<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Count<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any YAML value")
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
            self.bump()
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
            self.bump()
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
            self.bump()
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
            self.bump()
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
            self.bump()
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
            self.bump()
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
            self.bump()
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            self.bump()?;
            self.again().deserialize(d)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            self.bump()?;
            while seq.next_element_seed(self.again())?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            self.bump()?;
            while map.next_key_seed(self.again())?.is_some() {
                map.next_value_seed(self.again())?;
            }
            Ok(())
        }
        fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
            use serde::de::VariantAccess;
            self.bump()?;
            let (_, v) = data.variant_seed(self.again())?;
            v.newtype_variant_seed(self.again())
        }
    }
    let cell = Cell::new(0);
    match Count(&cell, max).deserialize(serde_yaml::Deserializer::from_str(text)) {
        Ok(()) => Ok(()),
        // Only the budget is this walk's business.
        Err(e) if e.to_string().contains("nodes (YAML aliases?)") => Err(e),
        Err(_) => Ok(()),
    }
}
