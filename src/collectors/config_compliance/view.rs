//! What an aggregator's last full listing found, kept between runs so that the runs in between
//! read only what needs attention.
//!
//! A full listing of DescribeAggregateComplianceByConfigRules answers one result per (rule,
//! account, region), compliant or not: 200,000 results and 200 calls for 1,000 accounts x 4
//! regions x 50 rules. Between two full listings a run reads the NON_COMPLIANT results only
//! (AWS filters rules by COMPLIANT or NON_COMPLIANT, nothing else) and the NON_COMPLIANT and
//! INSUFFICIENT_DATA packs, and applies them to this view:
//! - a result already known takes its new compliance and counts;
//! - a result the view does not know (a new rule, account or region) makes the run a full
//!   listing, so what is new is counted whole;
//! - a known result that is no longer in its listing (it was NON_COMPLIANT and is not any more)
//!   is looked up on its own, narrowed to its name, account and region, so it shows what it
//!   became (COMPLIANT, INSUFFICIENT_DATA, or gone); past [`LOOKUPS`] of them the run is a full
//!   listing instead.
//!
//! What only the next full listing sees: a rule result that moves between COMPLIANT and
//! INSUFFICIENT_DATA (or to a type AWS adds) without passing through NON_COMPLIANT, and one added
//! or removed while not NON_COMPLIANT. The full listing comes back every `full_read_interval`.
//!
//! The view is compact (names interned, 16 bytes a result) because it lives as long as the job:
//! 200,000 results are about 3.2 MB.

use std::collections::{BTreeMap, HashMap};

use super::api::{PackCompliance, RuleCompliance};
use super::convert::Compliance;

/// Results looked up one by one in a run before a full listing is cheaper.
pub const LOOKUPS: usize = 20;
/// The rule compliance type read between full listings.
pub const RULE_ATTENTION: &str = "NON_COMPLIANT";
/// The conformance pack compliance types read between full listings.
pub const PACK_ATTENTION: &[&str] = &["NON_COMPLIANT", "INSUFFICIENT_DATA"];

const NONE: i32 = -1;

/// One rule result: ids into the view's names.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RuleEntry {
    rule: u32,
    compliance: u32,
    /// `CappedCount`, or [`NONE`].
    resources: i32,
    capped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct PackEntry {
    pack: u32,
    compliance: u32,
    noncompliant_rules: i32,
}

/// The results of one (account, region), sorted by name id.
#[derive(Debug, Clone, Default, PartialEq)]
struct Place {
    rules: Vec<RuleEntry>,
    packs: Vec<PackEntry>,
}

/// Every result of the last full listing, updated by the runs since.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    names: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
    places: BTreeMap<(String, String), Place>,
}

/// A result the view cannot place: the run must list everything.
#[derive(Debug, Clone, PartialEq)]
pub struct Unknown(pub String);

/// A known result that left its attention listing: look it up on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Left {
    /// Rule or pack name.
    pub name: String,
    /// Account of the result.
    pub account_id: String,
    /// Region of the result.
    pub region: String,
}

fn clamp(n: i64) -> i32 {
    i32::try_from(n.max(0)).unwrap_or(i32::MAX)
}

impl View {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    /// The view of a full listing (already tidied: one result per key, each with a type).
    pub fn of(c: &Compliance) -> View {
        let mut v = View::default();
        for (a, r) in &c.covered {
            v.places.entry((a.clone(), r.clone())).or_default();
        }
        for x in &c.rules {
            let e = RuleEntry {
                rule: v.intern(&x.rule),
                compliance: v.intern(&x.compliance),
                resources: x.noncompliant_resources.map_or(NONE, clamp),
                capped: x.capped,
            };
            v.places
                .entry((x.account_id.clone(), x.region.clone()))
                .or_default()
                .rules
                .push(e);
        }
        for x in &c.packs {
            let e = PackEntry {
                pack: v.intern(&x.pack),
                compliance: v.intern(&x.compliance),
                noncompliant_rules: clamp(x.noncompliant_rules),
            };
            v.places
                .entry((x.account_id.clone(), x.region.clone()))
                .or_default()
                .packs
                .push(e);
        }
        for p in v.places.values_mut() {
            p.rules.sort_by_key(|e| e.rule);
            p.rules.dedup_by_key(|e| e.rule);
            p.packs.sort_by_key(|e| e.pack);
            p.packs.dedup_by_key(|e| e.pack);
        }
        v
    }

    /// Results held.
    pub fn len(&self) -> usize {
        self.places
            .values()
            .map(|p| p.rules.len() + p.packs.len())
            .sum()
    }

    /// True when the view holds no result and covers no account.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    fn rule_slot(&mut self, account: &str, region: &str, rule: &str) -> Option<&mut RuleEntry> {
        let id = *self.ids.get(rule)?;
        let place = self
            .places
            .get_mut(&(account.to_string(), region.to_string()))?;
        let i = place.rules.binary_search_by_key(&id, |e| e.rule).ok()?;
        place.rules.get_mut(i)
    }

    fn pack_slot(&mut self, account: &str, region: &str, pack: &str) -> Option<&mut PackEntry> {
        let id = *self.ids.get(pack)?;
        let place = self
            .places
            .get_mut(&(account.to_string(), region.to_string()))?;
        let i = place.packs.binary_search_by_key(&id, |e| e.pack).ok()?;
        place.packs.get_mut(i)
    }

    /// Applies a run's attention listings: every NON_COMPLIANT rule result, and every pack
    /// result of the [`PACK_ATTENTION`] types. On success, the results that left their listing
    /// and must be looked up (rules, packs); `Err` when a result is not in the view.
    pub fn apply(
        &mut self,
        rules: &[RuleCompliance],
        packs: &[PackCompliance],
    ) -> Result<(Vec<Left>, Vec<Left>), Unknown> {
        let rule_t = self.intern(RULE_ATTENTION);
        let pack_t: Vec<u32> = PACK_ATTENTION.iter().map(|t| self.intern(t)).collect();
        // Before the update: what was in the listings, to find what left them.
        let mut was_rules: BTreeMap<(String, String, u32), ()> = BTreeMap::new();
        let mut was_packs: BTreeMap<(String, String, u32), ()> = BTreeMap::new();
        for ((a, r), p) in &self.places {
            for e in p.rules.iter().filter(|e| e.compliance == rule_t) {
                was_rules.insert((a.clone(), r.clone(), e.rule), ());
            }
            for e in p.packs.iter().filter(|e| pack_t.contains(&e.compliance)) {
                was_packs.insert((a.clone(), r.clone(), e.pack), ());
            }
        }
        for x in rules {
            let t = self.intern(&x.compliance);
            let Some(e) = self.rule_slot(&x.account_id, &x.region, &x.rule) else {
                return Err(Unknown(format!(
                    "rule {} in {} {}",
                    x.rule, x.account_id, x.region
                )));
            };
            e.compliance = t;
            e.resources = x.noncompliant_resources.map_or(NONE, clamp);
            e.capped = x.capped;
            let id = e.rule;
            was_rules.remove(&(x.account_id.clone(), x.region.clone(), id));
        }
        for x in packs {
            let t = self.intern(&x.compliance);
            let Some(e) = self.pack_slot(&x.account_id, &x.region, &x.pack) else {
                return Err(Unknown(format!(
                    "conformance pack {} in {} {}",
                    x.pack, x.account_id, x.region
                )));
            };
            e.compliance = t;
            e.noncompliant_rules = clamp(x.noncompliant_rules);
            let id = e.pack;
            was_packs.remove(&(x.account_id.clone(), x.region.clone(), id));
        }
        let left = |m: BTreeMap<(String, String, u32), ()>, v: &View| -> Vec<Left> {
            m.into_keys()
                .map(|(account_id, region, id)| Left {
                    name: v.name(id).to_string(),
                    account_id,
                    region,
                })
                .collect()
        };
        Ok((left(was_rules, self), left(was_packs, self)))
    }

    /// What a lookup of a rule result that left its listing found: its result now, or `None`
    /// when AWS no longer has it.
    pub fn settle_rule(&mut self, left: &Left, now: Option<&RuleCompliance>) {
        match now {
            Some(x) => {
                let t = self.intern(&x.compliance);
                if let Some(e) = self.rule_slot(&left.account_id, &left.region, &left.name) {
                    e.compliance = t;
                    e.resources = x.noncompliant_resources.map_or(NONE, clamp);
                    e.capped = x.capped;
                }
            }
            None => {
                let id = self.ids.get(left.name.as_str()).copied();
                let key = (left.account_id.clone(), left.region.clone());
                if let (Some(id), Some(p)) = (id, self.places.get_mut(&key)) {
                    p.rules.retain(|e| e.rule != id);
                }
            }
        }
    }

    /// The same for a conformance pack.
    pub fn settle_pack(&mut self, left: &Left, now: Option<&PackCompliance>) {
        match now {
            Some(x) => {
                let t = self.intern(&x.compliance);
                if let Some(e) = self.pack_slot(&left.account_id, &left.region, &left.name) {
                    e.compliance = t;
                    e.noncompliant_rules = clamp(x.noncompliant_rules);
                }
            }
            None => {
                let id = self.ids.get(left.name.as_str()).copied();
                let key = (left.account_id.clone(), left.region.clone());
                if let (Some(id), Some(p)) = (id, self.places.get_mut(&key)) {
                    p.packs.retain(|e| e.pack != id);
                }
            }
        }
    }

    /// Everything the view holds, in the shape the families are made from.
    pub fn compliance(&self) -> Compliance {
        let mut c = Compliance {
            rollup: true,
            ..Compliance::default()
        };
        for ((a, r), p) in &self.places {
            c.covered.insert((a.clone(), r.clone()));
            for e in &p.rules {
                c.rules.push(RuleCompliance {
                    account_id: a.clone(),
                    region: r.clone(),
                    rule: self.name(e.rule).to_string(),
                    compliance: self.name(e.compliance).to_string(),
                    noncompliant_resources: (e.resources != NONE).then_some(i64::from(e.resources)),
                    capped: e.capped,
                });
            }
            for e in &p.packs {
                c.packs.push(PackCompliance {
                    account_id: a.clone(),
                    region: r.clone(),
                    pack: self.name(e.pack).to_string(),
                    compliance: self.name(e.compliance).to_string(),
                    noncompliant_rules: i64::from(e.noncompliant_rules),
                });
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(a: &str, r: &str, name: &str, t: &str, n: Option<i64>) -> RuleCompliance {
        RuleCompliance {
            account_id: a.into(),
            region: r.into(),
            rule: name.into(),
            compliance: t.into(),
            noncompliant_resources: n,
            capped: n.is_some_and(|n| n >= 100),
        }
    }

    fn pack(a: &str, r: &str, name: &str, t: &str, nc: i64) -> PackCompliance {
        PackCompliance {
            account_id: a.into(),
            region: r.into(),
            pack: name.into(),
            compliance: t.into(),
            noncompliant_rules: nc,
        }
    }

    fn full() -> Compliance {
        let (a, b, r) = ("111111111111", "222222222222", "us-east-1");
        Compliance {
            covered: [
                (a.to_string(), r.to_string()),
                (b.to_string(), r.to_string()),
                // Covered but without results: kept, so it stays zero-filled.
                (b.to_string(), "eu-west-1".to_string()),
            ]
            .into(),
            rules: vec![
                rule(a, r, "s3", "NON_COMPLIANT", Some(100)),
                rule(a, r, "ebs", "COMPLIANT", None),
                rule(a, r, "mfa", "INSUFFICIENT_DATA", None),
                rule(b, r, "s3", "COMPLIANT", None),
                rule(b, r, "ebs", "NON_COMPLIANT", Some(2)),
                rule(b, r, "iam", "PARTIALLY_COMPLIANT", None),
            ],
            packs: vec![
                pack(a, r, "cis", "NON_COMPLIANT", 2),
                pack(b, r, "cis", "COMPLIANT", 0),
            ],
            rollup: true,
        }
    }

    fn sorted(mut c: Compliance) -> Compliance {
        c.rules.sort_by(|x, y| {
            (&x.account_id, &x.region, &x.rule).cmp(&(&y.account_id, &y.region, &y.rule))
        });
        c.packs.sort_by(|x, y| {
            (&x.account_id, &x.region, &x.pack).cmp(&(&y.account_id, &y.region, &y.pack))
        });
        c
    }

    #[test]
    fn a_result_held_between_runs_is_16_bytes() {
        assert!(std::mem::size_of::<RuleEntry>() <= 16);
        assert!(std::mem::size_of::<PackEntry>() <= 12);
    }

    #[test]
    fn a_view_gives_back_what_it_was_made_of() {
        let v = View::of(&full());
        assert_eq!(v.len(), 8);
        assert_eq!(sorted(v.compliance()), sorted(full()));
    }

    #[test]
    fn attention_listings_update_known_results_and_name_what_left() {
        let (a, b, r) = ("111111111111", "222222222222", "us-east-1");
        let mut v = View::of(&full());
        // s3 in a is still non-compliant with a new count; ebs in b left the listing; s3 in b
        // became non-compliant; cis in a left, cis in b is now INSUFFICIENT_DATA.
        let (rules, packs) = v
            .apply(
                &[
                    rule(a, r, "s3", "NON_COMPLIANT", Some(7)),
                    rule(b, r, "s3", "NON_COMPLIANT", Some(1)),
                ],
                &[pack(b, r, "cis", "INSUFFICIENT_DATA", 0)],
            )
            .unwrap();
        assert_eq!(
            rules,
            vec![Left {
                name: "ebs".into(),
                account_id: b.into(),
                region: r.into()
            }]
        );
        assert_eq!(
            packs,
            vec![Left {
                name: "cis".into(),
                account_id: a.into(),
                region: r.into()
            }]
        );
        // Looked up: ebs in b is compliant now; cis in a is gone.
        v.settle_rule(&rules[0], Some(&rule(b, r, "ebs", "COMPLIANT", None)));
        v.settle_pack(&packs[0], None);
        let mut want = full();
        want.rules[0].noncompliant_resources = Some(7);
        want.rules[0].capped = false;
        want.rules[3] = rule(b, r, "s3", "NON_COMPLIANT", Some(1));
        want.rules[4] = rule(b, r, "ebs", "COMPLIANT", None);
        want.packs = vec![pack(b, r, "cis", "INSUFFICIENT_DATA", 0)];
        assert_eq!(sorted(v.compliance()), sorted(want));
    }

    #[test]
    fn a_result_the_view_does_not_know_asks_for_a_full_listing() {
        let r = "us-east-1";
        let mut v = View::of(&full());
        for (x, what) in [
            (
                rule("333333333333", r, "s3", "NON_COMPLIANT", Some(1)),
                "account",
            ),
            (
                rule("111111111111", "ap-south-1", "s3", "NON_COMPLIANT", None),
                "region",
            ),
            (
                rule("111111111111", r, "new-rule", "NON_COMPLIANT", None),
                "rule",
            ),
            // A rule of the view's names but not in this account and region.
            (
                rule("222222222222", r, "mfa", "NON_COMPLIANT", None),
                "result",
            ),
        ] {
            assert!(v.apply(&[x], &[]).is_err(), "{what}");
        }
        let p = pack("222222222222", "eu-west-1", "cis", "NON_COMPLIANT", 1);
        assert!(v.apply(&[], &[p]).is_err());
    }

    #[test]
    fn a_result_looked_up_and_gone_leaves_its_place_covered() {
        let (a, r) = ("111111111111", "us-east-1");
        let mut v = View::of(&full());
        let (rules, _) = v
            .apply(&[], &[pack(a, r, "cis", "NON_COMPLIANT", 2)])
            .unwrap();
        assert_eq!(rules.len(), 2, "both non-compliant rules left: {rules:?}");
        for l in &rules {
            v.settle_rule(l, None);
        }
        let c = v.compliance();
        assert!(c.rules.iter().all(|x| x.compliance != "NON_COMPLIANT"));
        assert_eq!(c.rules.len(), 4);
        assert_eq!(c.covered.len(), 3);
    }
}
