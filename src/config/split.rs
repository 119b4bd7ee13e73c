//! How a section's keys reach its parts: one pass over the mapping that reads the common and
//! placement keys itself and hands every other key, still in the mapping, to the collector's
//! own settings.
//!
//! Why not `#[serde(flatten)]`: flatten buffers the keys it does not know, and with it serde no
//! longer refuses unknown keys (`deny_unknown_fields` does not work with it). Why not read the
//! mapping into a tree and split it: the own part would then be parsed from a copy, and its
//! problems would lose their path in the file. Here the own part is parsed from the section's
//! mapping itself (its derived `Deserialize` sees a mapping holding its keys only), so a wrong
//! type anywhere keeps its path, and a key no part takes is refused, with every key the section
//! accepts, before any part sees it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::section::{Common, Key, Own, Parts, Place};

/// The common keys (those of [`Common`]), in the order messages list them.
const COMMON: [&str; 3] = ["enabled", "interval", "timeout"];

impl<'de, const SECS: u64, O: Own> Deserialize<'de> for Parts<SECS, O> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PartsVisitor::<SECS, O>(PhantomData))
    }
}

struct PartsVisitor<const SECS: u64, O>(PhantomData<O>);

impl<'de, const SECS: u64, O: Own> Visitor<'de> for PartsVisitor<SECS, O> {
    type Value = Parts<SECS, O>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of settings")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut common = Common {
            enabled: O::ENABLED_BY_DEFAULT,
            ..Common::with_interval(SECS)
        };
        let mut place = Place::default();
        let own = O::deserialize(Rest {
            map,
            common: &mut common,
            place: &mut place,
            placement: O::PLACEMENT,
            own_fields: &[],
        })?;
        Ok(Parts { common, place, own })
    }
}

/// The section's mapping as the own part sees it: the shared keys are taken out as they pass.
struct Rest<'a, A> {
    map: A,
    common: &'a mut Common,
    place: &'a mut Place,
    placement: &'static [Key],
    own_fields: &'static [&'static str],
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Rest<'_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
        v.visit_map(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.own_fields = fields;
        v.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Which part a key belongs to.
enum Owner {
    Enabled,
    Interval,
    Timeout,
    Place(Key),
    Own(String),
}

/// Reads a key and tells its part, or refuses it with every key the section accepts (inside
/// the key's read, so that the problem's path ends with the key).
struct KeySeed<'a> {
    placement: &'a [Key],
    own_fields: &'a [&'static str],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Owner;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Owner, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Owner;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a setting name")
    }

    fn visit_str<E: de::Error>(self, k: &str) -> Result<Owner, E> {
        match k {
            "enabled" => return Ok(Owner::Enabled),
            "interval" => return Ok(Owner::Interval),
            "timeout" => return Ok(Owner::Timeout),
            _ => {}
        }
        if let Some(key) = self.placement.iter().find(|p| p.name() == k) {
            return Ok(Owner::Place(*key));
        }
        if self.own_fields.contains(&k) {
            return Ok(Owner::Own(k.to_string()));
        }
        let expected: Vec<String> = COMMON
            .iter()
            .copied()
            .chain(self.placement.iter().map(|p| p.name()))
            .chain(self.own_fields.iter().copied())
            .map(|f| format!("`{f}`"))
            .collect();
        Err(E::custom(format_args!(
            "unknown field `{k}`, expected one of {}",
            expected.join(", ")
        )))
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let owner = self.map.next_key_seed(KeySeed {
                placement: self.placement,
                own_fields: self.own_fields,
            })?;
            match owner {
                None => return Ok(None),
                Some(Owner::Own(k)) => return seed.deserialize(k.into_deserializer()).map(Some),
                Some(Owner::Enabled) => self.common.enabled = self.map.next_value()?,
                Some(Owner::Interval) => self.common.interval = self.map.next_value()?,
                Some(Owner::Timeout) => self.common.timeout = self.map.next_value()?,
                Some(Owner::Place(Key::Target)) => self.place.target = self.map.next_value()?,
                Some(Owner::Place(Key::Targets)) => self.place.targets = self.map.next_value()?,
                Some(Owner::Place(Key::Regions)) => self.place.regions = self.map.next_value()?,
                Some(Owner::Place(Key::Region)) => self.place.region = self.map.next_value()?,
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}
