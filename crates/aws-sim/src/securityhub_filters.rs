//! The two generations' finding filters over a [`View`] of a finding group: Security Hub CSPM's
//! ASFF `AwsSecurityFindingFilters` ([`AsffFilters`]) and Security Hub's OCSF
//! `OcsfFindingFilters` ([`OcsfFilters`]), and the OCSF values a group is counted under
//! ([`ocsf_values`]). A field the simulator does not hold is refused, never ignored, so a test
//! cannot pass by accident.

use serde_json::Value;

use crate::draw::EPOCH;
use crate::securityhub_accounts::{invalid_input, validation, Group};
use crate::wire::AwsError;
use crate::world::securityhub::CONTROLS;
use crate::world::Account;

/// One finding group as the filters see it.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The account the findings are in.
    pub account: &'a Account,
    /// Their region.
    pub region: &'a str,
    /// The group.
    pub group: &'a Group,
}

/// OCSF severity captions by ASFF label index. The model spells the OCSF severities in
/// `SeverityTrendsCount` ("Unknown", "Informational", "Low", "Medium", "High", "Critical",
/// "Fatal", "Other").
pub const OCSF_SEVERITY: [&str; 5] = ["Informational", "Low", "Medium", "High", "Critical"];

/// OCSF `severity_id` by ASFF label index: "The severity ID is an integer with the allowed enum
/// values [0, 1, 2, 3, 4, 5, 6, 99]." (the model's `BatchUpdateFindingsV2Request.SeverityId`),
/// in the order of `SeverityTrendsCount`.
const OCSF_SEVERITY_ID: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];

/// OCSF `status` and `status_id` of an ASFF workflow status. The model allows status ids
/// "[0, 1, 2, 3, 4, 5, 99]" and names none; the captions are OCSF's finding status (1 New,
/// 2 In Progress, 3 Suppressed, 4 Resolved).
pub fn ocsf_status(workflow: &str) -> (&'static str, f64) {
    match workflow {
        "NEW" => ("New", 1.0),
        "NOTIFIED" => ("In Progress", 2.0),
        "SUPPRESSED" => ("Suppressed", 3.0),
        "RESOLVED" => ("Resolved", 4.0),
        _ => ("Other", 99.0),
    }
}

/// OCSF compliance `status` and `status_id` of an ASFF compliance status (OCSF's compliance
/// status: 0 Unknown, 1 Pass, 2 Warning, 3 Fail; the model names none).
pub fn ocsf_compliance(status: &str) -> (&'static str, f64) {
    match status {
        "PASSED" => ("Pass", 1.0),
        "WARNING" => ("Warning", 2.0),
        "FAILED" => ("Fail", 3.0),
        _ => ("Unknown", 0.0),
    }
}

/// The values of an OCSF string field (several for `compliance.standards`, none where the
/// finding has no such field); `None` for a field the simulator does not hold.
pub fn ocsf_values(v: &View, field: &str) -> Option<Vec<String>> {
    let g = v.group;
    let one = |s: &str| Some(vec![s.to_string()]);
    match field {
        "cloud.account.uid" | "resources.owner.account.uid" => one(&v.account.id),
        "cloud.account.name" | "resources.owner.account.name" => one(&v.account.name),
        "cloud.region" | "resources.region" => one(v.region),
        "cloud.provider" | "resources.provider" | "metadata.product.vendor_name" => one("AWS"),
        "severity" => one(OCSF_SEVERITY[g.severity]),
        "status" => one(ocsf_status(g.workflow).0),
        "metadata.product.name" => one(g.product.name),
        "finding_info.title" => one(g.title),
        "class_name" => one(g.product.class_name),
        "resources.type" => one(g.resource_type),
        "compliance.status" => Some(
            g.compliance
                .map(|c| vec![ocsf_compliance(c).0.to_string()])
                .unwrap_or_default(),
        ),
        "compliance.control" => Some(
            g.control
                .map(|c| vec![CONTROLS[c].id.to_string()])
                .unwrap_or_default(),
        ),
        "compliance.standards" => Some(g.standard_ids().into_iter().map(str::to_string).collect()),
        _ => None,
    }
}

/// Whether the simulator holds the OCSF string field `field` (filters and group-by).
pub fn ocsf_field_known(field: &str) -> bool {
    let (a, g) = Group::probe();
    let v = View {
        account: &a,
        region: "",
        group: &g,
    };
    ocsf_values(&v, field).is_some()
}

/// The value of an OCSF number field, `None` inside where the finding has none; the outer
/// `None` for a field the simulator does not hold.
fn ocsf_number(v: &View, field: &str) -> Option<Option<f64>> {
    let g = v.group;
    match field {
        "severity_id" => Some(Some(OCSF_SEVERITY_ID[g.severity])),
        "status_id" => Some(Some(ocsf_status(g.workflow).1)),
        "compliance.status_id" => Some(g.compliance.map(|c| ocsf_compliance(c).1)),
        _ => None,
    }
}

/// The values of an ASFF string filter field; `None` for a field the simulator does not hold.
fn asff_values(v: &View, field: &str) -> Option<Vec<String>> {
    let g = v.group;
    let one = |s: &str| Some(vec![s.to_string()]);
    match field {
        "AwsAccountId" => one(&v.account.id),
        "Region" | "ResourceRegion" => one(v.region),
        "ProductName" => one(g.product.name),
        "CompanyName" => one("AWS"),
        "Title" => one(g.title),
        "ResourceType" => one(g.resource_type),
        "SeverityLabel" => one(crate::world::securityhub::SEVERITY_LABELS[g.severity]),
        "WorkflowStatus" => one(g.workflow),
        "RecordState" => one(g.record_state),
        "ComplianceStatus" => Some(
            g.compliance
                .map(|c| vec![c.to_string()])
                .unwrap_or_default(),
        ),
        "ComplianceSecurityControlId" => Some(
            g.control
                .map(|c| vec![CONTROLS[c].id.to_string()])
                .unwrap_or_default(),
        ),
        "ComplianceAssociatedStandardsId" => {
            Some(g.standard_ids().into_iter().map(str::to_string).collect())
        }
        _ => None,
    }
}

/// A string comparison of the model's `StringFilterComparison`.
#[derive(Clone, Debug, PartialEq)]
struct Cmp {
    comparison: String,
    value: String,
}

impl Cmp {
    fn read(f: &Value) -> Option<Cmp> {
        Some(Cmp {
            comparison: f.get("Comparison")?.as_str()?.to_string(),
            value: f.get("Value")?.as_str()?.to_string(),
        })
    }

    fn negative(&self) -> bool {
        self.comparison.starts_with("NOT_") || self.comparison == "PREFIX_NOT_EQUALS"
    }

    /// Whether one value matches the positive form of the comparison.
    fn hits(&self, x: &str) -> bool {
        let v = self.value.as_str();
        match self.comparison.as_str() {
            "EQUALS" | "NOT_EQUALS" => x == v,
            "PREFIX" | "PREFIX_NOT_EQUALS" => x.starts_with(v),
            "CONTAINS" | "NOT_CONTAINS" => x.contains(v),
            // "To search for values that contain a word matching the filter value, regardless
            // of case, use CONTAINS_WORD."
            "CONTAINS_WORD" => x
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w.eq_ignore_ascii_case(v)),
            _ => false,
        }
    }

    /// Whether a finding with `values` passes this comparison alone: a positive one when a
    /// value matches; a negative one when none does (a finding without the field passes).
    fn passes(&self, values: &[String]) -> bool {
        let any = values.iter().any(|x| self.hits(x));
        if self.negative() {
            !any
        } else {
            any
        }
    }
}

/// The model's rules for combining comparisons on one field (`StringFilter.Comparison`):
/// "You can’t have both a CONTAINS filter and a NOT_CONTAINS filter on the same field.
/// Similarly, you can't provide both an EQUALS filter and a NOT_EQUALS or PREFIX_NOT_EQUALS
/// filter on the same field. Combining filters in this way returns an error."
fn check_combination(field: &str, cmps: &[Cmp]) -> Result<(), String> {
    let has = |c: &str| cmps.iter().any(|x| x.comparison == c);
    if has("CONTAINS") && has("NOT_CONTAINS") {
        return Err(format!(
            "You can't have both a CONTAINS filter and a NOT_CONTAINS filter on the same field ({field})."
        ));
    }
    if has("EQUALS") && (has("NOT_EQUALS") || has("PREFIX_NOT_EQUALS")) {
        return Err(format!(
            "You can't provide both an EQUALS filter and a NOT_EQUALS or PREFIX_NOT_EQUALS filter on the same field ({field})."
        ));
    }
    Ok(())
}

/// Comparisons on one field together: "CONTAINS, EQUALS, and PREFIX filters on the same field
/// are joined by OR"; "NOT_CONTAINS, NOT_EQUALS, and PREFIX_NOT_EQUALS filters on the same
/// field are joined by AND"; with both, the positive ones are processed first, then the
/// negative ones exclude.
fn field_passes(cmps: &[Cmp], values: &[String]) -> bool {
    let (neg, pos): (Vec<&Cmp>, Vec<&Cmp>) = cmps.iter().partition(|c| c.negative());
    (pos.is_empty() || pos.iter().any(|c| c.passes(values))) && neg.iter().all(|c| c.passes(values))
}

/// Security Hub CSPM's `AwsSecurityFindingFilters`, of the fields the simulator holds.
#[derive(Clone, Debug, Default)]
pub struct AsffFilters {
    fields: Vec<(String, Vec<Cmp>)>,
}

impl AsffFilters {
    /// Reads the request's `Filters`. "You can filter by up to 10 finding attributes. For each
    /// attribute, you can provide up to 20 filter values." (the model's
    /// `GetFindingsRequest.Filters`)
    pub fn read(filters: Option<&Value>) -> Result<AsffFilters, AwsError> {
        let Some(obj) = filters.and_then(Value::as_object) else {
            return Ok(AsffFilters::default());
        };
        let mut fields = Vec::new();
        for (k, v) in obj {
            let Some(list) = v.as_array() else {
                return Err(invalid_input(format!("Filters.{k} must be a list")));
            };
            if list.is_empty() {
                continue;
            }
            let probe = Group::probe();
            let probe_view = View {
                account: &probe.0,
                region: "us-east-1",
                group: &probe.1,
            };
            if asff_values(&probe_view, k).is_none() {
                return Err(invalid_input(format!(
                    "The simulator filters findings by AwsAccountId, Region, ResourceRegion, ProductName, CompanyName, Title, ResourceType, SeverityLabel, WorkflowStatus, RecordState, ComplianceStatus, ComplianceSecurityControlId and ComplianceAssociatedStandardsId only, not {k}."
                )));
            }
            if list.len() > 20 {
                return Err(invalid_input(format!(
                    "For each attribute, you can provide up to 20 filter values ({k} has {}).",
                    list.len()
                )));
            }
            let cmps: Vec<Cmp> = list.iter().filter_map(Cmp::read).collect();
            if cmps.len() != list.len() {
                return Err(invalid_input(format!(
                    "Every filter of {k} needs a Value and a Comparison."
                )));
            }
            check_combination(k, &cmps).map_err(invalid_input)?;
            fields.push((k.clone(), cmps));
        }
        if fields.len() > 10 {
            return Err(invalid_input(format!(
                "You can filter by up to 10 finding attributes ({} given).",
                fields.len()
            )));
        }
        Ok(AsffFilters { fields })
    }

    /// Whether the findings of `v` match (fields are joined by AND).
    pub fn matches(&self, v: &View) -> bool {
        self.fields.iter().all(|(f, cmps)| {
            let values = asff_values(v, f).unwrap_or_default();
            field_passes(cmps, &values)
        })
    }
}

impl Group {
    /// A group and account to probe which fields exist.
    fn probe() -> (Account, Group) {
        (
            Account {
                id: String::new(),
                name: String::new(),
                email: String::new(),
                status: String::new(),
                joined: 0.0,
                index: 0,
            },
            Group {
                product: &crate::world::securityhub::CONTROL_PRODUCT,
                severity: 0,
                workflow: "NEW",
                record_state: "ACTIVE",
                control: None,
                compliance: None,
                standards: 0,
                title: "",
                resource_type: "",
                created: 0.0,
                count: 0,
            },
        )
    }
}

/// A condition of an OCSF composite filter.
#[derive(Clone, Debug)]
enum Cond {
    Str(String, Cmp),
    Num(String, NumRange),
    /// Created between (inclusive), Unix seconds.
    Date(Option<f64>, Option<f64>),
    Nested(Box<Composite>),
}

#[derive(Clone, Debug, Default)]
struct NumRange {
    gte: Option<f64>,
    lte: Option<f64>,
    eq: Option<f64>,
    gt: Option<f64>,
    lt: Option<f64>,
}

impl NumRange {
    fn passes(&self, x: f64) -> bool {
        self.gte.is_none_or(|b| x >= b)
            && self.lte.is_none_or(|b| x <= b)
            && self.eq.is_none_or(|b| x == b)
            && self.gt.is_none_or(|b| x > b)
            && self.lt.is_none_or(|b| x < b)
    }
}

/// A `CompositeFilter`: conditions joined by its `Operator` ("The logical operator used to
/// combine multiple filter conditions."; AND when absent).
#[derive(Clone, Debug)]
struct Composite {
    or: bool,
    conds: Vec<Cond>,
}

/// Security Hub's `OcsfFindingFilters`: composite filters joined by `CompositeOperator`.
#[derive(Clone, Debug, Default)]
pub struct OcsfFilters {
    or: bool,
    composites: Vec<Composite>,
}

fn operator(v: Option<&Value>) -> Result<bool, AwsError> {
    match v.and_then(Value::as_str) {
        None | Some("AND") => Ok(false),
        Some("OR") => Ok(true),
        Some(o) => Err(validation(format!("Invalid operator {o}"))),
    }
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Unix seconds of an ISO 8601 date or date-time (`2025-11-01`, `2025-11-01T12:00:00Z`,
/// `...T12:00:00.5+02:00`).
pub fn parse_iso(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) as f64 * 86_400.0;
    if b.len() == 10 {
        return Some(secs);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    secs += (hh * 3_600 + mm * 60 + ss) as f64;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        secs += format!("0.{}", &frac[..digits]).parse::<f64>().ok()?;
        rest = &frac[digits..];
    }
    match rest {
        "Z" | "z" => Some(secs),
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let oh: u32 = rest.get(1..3)?.parse().ok()?;
            let om: u32 = rest.get(4..6)?.parse().ok()?;
            let off = f64::from(oh * 3_600 + om * 60);
            match rest.as_bytes()[0] {
                b'+' => Some(secs - off),
                b'-' => Some(secs + off),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn read_composite(v: &Value, depth: usize) -> Result<Composite, AwsError> {
    if depth > 3 {
        return Err(validation(
            "NestedCompositeFilters go three layers deep at most.",
        ));
    }
    let mut conds = Vec::new();
    let probe = Group::probe();
    let view = View {
        account: &probe.0,
        region: "",
        group: &probe.1,
    };
    for f in list(v, "StringFilters") {
        let field = f.get("FieldName").and_then(Value::as_str).unwrap_or("");
        let cmp = f.get("Filter").and_then(Cmp::read).ok_or_else(|| {
            validation(format!(
                "A string filter on {field} needs a Value and a Comparison."
            ))
        })?;
        if ocsf_values(&view, field).is_none() {
            return Err(validation(format!(
                "The simulator does not filter findings by the string field {field}."
            )));
        }
        conds.push(Cond::Str(field.to_string(), cmp));
    }
    for f in list(v, "NumberFilters") {
        let field = f.get("FieldName").and_then(Value::as_str).unwrap_or("");
        if ocsf_number(&view, field).is_none() {
            return Err(validation(format!(
                "The simulator does not filter findings by the number field {field}."
            )));
        }
        let n = |k: &str| f.pointer(&format!("/Filter/{k}")).and_then(Value::as_f64);
        conds.push(Cond::Num(
            field.to_string(),
            NumRange {
                gte: n("Gte"),
                lte: n("Lte"),
                eq: n("Eq"),
                gt: n("Gt"),
                lt: n("Lt"),
            },
        ));
    }
    for f in list(v, "DateFilters") {
        let field = f.get("FieldName").and_then(Value::as_str).unwrap_or("");
        if field != "finding_info.created_time_dt" {
            return Err(validation(format!(
                "The simulator filters findings by the date field finding_info.created_time_dt only, not {field}."
            )));
        }
        let filter = f.get("Filter").cloned().unwrap_or(Value::Null);
        let time = |k: &str| -> Result<Option<f64>, AwsError> {
            match filter.get(k).and_then(Value::as_str) {
                None => Ok(None),
                Some(t) => parse_iso(t)
                    .map(Some)
                    .ok_or_else(|| validation(format!("Invalid timestamp {t} in {k}"))),
            }
        };
        let (mut start, mut end) = (time("Start")?, time("End")?);
        if let Some(r) = filter.get("DateRange") {
            let days = r.get("Value").and_then(Value::as_i64).unwrap_or(0) as f64;
            if r.get("Unit")
                .and_then(Value::as_str)
                .is_some_and(|u| u != "DAYS")
            {
                return Err(validation("DateRange.Unit must be DAYS"));
            }
            // Relative to the simulator's clock, the reference time generated data counts from.
            let edge = EPOCH - days * 86_400.0;
            // "If you don't specify a value, the default is WITHIN."
            match r.get("Comparison").and_then(Value::as_str) {
                None | Some("WITHIN") => start = Some(start.map_or(edge, |s| s.max(edge))),
                Some("OLDER_THAN") => end = Some(end.map_or(edge - 1e-3, |e| e.min(edge - 1e-3))),
                Some(c) => return Err(validation(format!("Invalid DateRange.Comparison {c}"))),
            }
        }
        conds.push(Cond::Date(start, end));
    }
    for (key, what) in [
        ("BooleanFilters", "boolean"),
        ("MapFilters", "map"),
        ("IpFilters", "IP address"),
    ] {
        if let Some(f) = list(v, key).first() {
            let field = f.get("FieldName").and_then(Value::as_str).unwrap_or("");
            return Err(validation(format!(
                "The simulator does not filter findings by the {what} field {field}."
            )));
        }
    }
    for n in list(v, "NestedCompositeFilters") {
        conds.push(Cond::Nested(Box::new(read_composite(n, depth + 1)?)));
    }
    Ok(Composite {
        or: operator(v.get("Operator"))?,
        conds,
    })
}

impl OcsfFilters {
    /// Reads an `OcsfFindingFilters`.
    pub fn read(v: Option<&Value>) -> Result<OcsfFilters, AwsError> {
        let Some(v) = v.filter(|v| v.is_object()) else {
            return Ok(OcsfFilters::default());
        };
        let composites = list(v, "CompositeFilters")
            .iter()
            .map(|c| read_composite(c, 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OcsfFilters {
            or: operator(v.get("CompositeOperator"))?,
            composites,
        })
    }

    /// Whether the findings of `v` match.
    pub fn matches(&self, v: &View) -> bool {
        join(self.or, self.composites.iter().map(|c| c.matches(v)))
    }
}

/// Conditions joined by OR or AND; none at all match.
fn join(or: bool, mut it: impl Iterator<Item = bool>) -> bool {
    if or {
        let mut any = false;
        let mut seen = false;
        for x in it.by_ref() {
            seen = true;
            any |= x;
        }
        any || !seen
    } else {
        it.all(|x| x)
    }
}

impl Composite {
    fn matches(&self, v: &View) -> bool {
        join(
            self.or,
            self.conds.iter().map(|c| match c {
                Cond::Str(f, cmp) => cmp.passes(&ocsf_values(v, f).unwrap_or_default()),
                Cond::Num(f, r) => ocsf_number(v, f).flatten().is_some_and(|x| r.passes(x)),
                Cond::Date(start, end) => {
                    let t = v.group.created;
                    start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e)
                }
                Cond::Nested(n) => n.matches(v),
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> (Account, Group) {
        let (mut a, mut g) = Group::probe();
        a.id = "111122223333".into();
        a.name = "member-00001".into();
        g.control = Some(0);
        g.compliance = Some("FAILED");
        g.standards = 0b11;
        g.severity = 4;
        g.title = CONTROLS[0].title;
        g.created = EPOCH - 10.0 * 86_400.0;
        (a, g)
    }

    #[test]
    fn asff_comparisons_join_as_the_model_says() {
        let (a, g) = sample();
        let v = View {
            account: &a,
            region: "eu-west-1",
            group: &g,
        };
        let f = |j: Value| AsffFilters::read(Some(&j)).map(|f| f.matches(&v));
        let eq = |field: &str, val: &str| json!({field: [{"Value": val, "Comparison": "EQUALS"}]});
        assert!(f(eq("SeverityLabel", "CRITICAL")).unwrap());
        assert!(!f(eq("SeverityLabel", "HIGH")).unwrap());
        assert!(f(eq("ComplianceSecurityControlId", "IAM.6")).unwrap());
        // Positive comparisons on one field are ORed.
        let either = json!({"SeverityLabel": [{"Value": "HIGH", "Comparison": "EQUALS"}, {"Value": "CRITICAL", "Comparison": "EQUALS"}]});
        assert!(f(either).unwrap());
        // Negative ones are ANDed, after the positive ones.
        let pre = json!({"Region": [{"Value": "eu", "Comparison": "PREFIX"}, {"Value": "eu-west-1", "Comparison": "NOT_EQUALS"}]});
        assert!(!f(pre).unwrap());
        let std = json!({"ComplianceAssociatedStandardsId": [{"Value": "standards/cis-aws-foundations-benchmark/v/1.4.0", "Comparison": "EQUALS"}]});
        assert!(f(std).unwrap());
        let word = json!({"Title": [{"Value": "mfa", "Comparison": "CONTAINS_WORD"}]});
        assert!(f(word).unwrap());
        // A finding without a compliance status passes a negative comparison on it.
        let (a2, mut g2) = sample();
        g2.compliance = None;
        let v2 = View {
            account: &a2,
            region: "eu-west-1",
            group: &g2,
        };
        let not = AsffFilters::read(Some(
            &json!({"ComplianceStatus": [{"Value": "PASSED", "Comparison": "NOT_EQUALS"}]}),
        ))
        .unwrap();
        assert!(not.matches(&v2));
        // Refused: EQUALS with NOT_EQUALS, unknown fields, 21 values, 11 fields.
        let both = json!({"Title": [{"Value": "a", "Comparison": "EQUALS"}, {"Value": "b", "Comparison": "NOT_EQUALS"}]});
        assert_eq!(f(both).unwrap_err().code, "InvalidInputException");
        assert!(f(eq("Id", "x")).is_err());
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"Value": format!("{i}"), "Comparison": "EQUALS"}))
            .collect();
        assert!(f(json!({"Title": many})).is_err());
        let fields = [
            "AwsAccountId",
            "Region",
            "ResourceRegion",
            "ProductName",
            "CompanyName",
            "Title",
            "ResourceType",
            "SeverityLabel",
            "WorkflowStatus",
            "RecordState",
            "ComplianceStatus",
        ];
        let mut o = serde_json::Map::new();
        for k in fields {
            o.insert(
                k.into(),
                json!([{"Value": "x", "Comparison": "NOT_EQUALS"}]),
            );
        }
        assert!(f(Value::Object(o)).is_err());
    }

    #[test]
    fn ocsf_composites_and_dates() {
        let (a, g) = sample();
        let v = View {
            account: &a,
            region: "eu-west-1",
            group: &g,
        };
        let s = |field: &str, val: &str, cmp: &str| json!({"FieldName": field, "Filter": {"Value": val, "Comparison": cmp}});
        let f = |j: Value| OcsfFilters::read(Some(&j)).map(|f| f.matches(&v));
        let one = |filters: Value, op: &str| json!({"CompositeFilters": [{"StringFilters": filters, "Operator": op}]});
        assert!(f(one(json!([s("severity", "Critical", "EQUALS")]), "AND")).unwrap());
        assert!(!f(one(
            json!([
                s("severity", "High", "EQUALS"),
                s("status", "New", "EQUALS")
            ]),
            "AND"
        ))
        .unwrap());
        assert!(f(one(
            json!([
                s("severity", "High", "EQUALS"),
                s("status", "New", "EQUALS")
            ]),
            "OR"
        ))
        .unwrap());
        assert!(f(one(
            json!([s("compliance.status", "Fail", "EQUALS")]),
            "AND"
        ))
        .unwrap());
        assert!(f(one(
            json!([s("cloud.region", "us", "PREFIX_NOT_EQUALS")]),
            "AND"
        ))
        .unwrap());
        assert!(f(one(
            json!([s("compliance.standards", "standards/pci", "PREFIX")]),
            "AND"
        ))
        .is_ok_and(|x| !x));
        // Composites joined by CompositeOperator.
        let two = |op: &str| {
            json!({"CompositeOperator": op, "CompositeFilters": [
                {"StringFilters": [s("severity", "Low", "EQUALS")]},
                {"NumberFilters": [{"FieldName": "severity_id", "Filter": {"Gte": 5}}]},
            ]})
        };
        assert!(!f(two("AND")).unwrap());
        assert!(f(two("OR")).unwrap());
        // Dates: created ten days before the reference time.
        let date = |filter: Value| json!({"CompositeFilters": [{"DateFilters": [{"FieldName": "finding_info.created_time_dt", "Filter": filter}]}]});
        assert!(f(date(json!({"DateRange": {"Value": 30, "Unit": "DAYS"}}))).unwrap());
        assert!(!f(date(json!({"DateRange": {"Value": 5, "Unit": "DAYS"}}))).unwrap());
        assert!(f(date(
            json!({"DateRange": {"Value": 5, "Unit": "DAYS", "Comparison": "OLDER_THAN"}})
        ))
        .unwrap());
        assert!(f(date(
            json!({"Start": "2025-10-01T00:00:00Z", "End": "2025-11-13"})
        ))
        .unwrap());
        assert!(!f(date(json!({"Start": "2025-11-05T00:00:00.5+01:00"}))).unwrap());
        assert!(f(date(json!({"Start": "yesterday"}))).is_err());
        // Nested composites.
        let nested = json!({"CompositeFilters": [{"Operator": "OR", "StringFilters": [s("severity", "Low", "EQUALS")],
            "NestedCompositeFilters": [{"StringFilters": [s("cloud.account.uid", "111122223333", "EQUALS")]}]}]});
        assert!(f(nested).unwrap());
        // Unknown fields and unsupported kinds are refused.
        assert_eq!(
            f(one(json!([s("metadata.uid", "x", "EQUALS")]), "AND"))
                .unwrap_err()
                .code,
            "ValidationException"
        );
        assert!(f(json!({"CompositeFilters": [{"MapFilters": [{"FieldName": "resources.tags", "Filter": {"Key": "a", "Value": "b", "Comparison": "EQUALS"}}]}]})).is_err());
    }

    #[test]
    fn iso_dates_parse() {
        assert_eq!(parse_iso("1970-01-01"), Some(0.0));
        // The reference time is 2025-11-13T02:13:20Z.
        assert_eq!(parse_iso("2025-11-13T02:13:20Z"), Some(EPOCH));
        assert_eq!(parse_iso("2025-11-13T03:13:20+01:00"), Some(EPOCH));
        assert_eq!(parse_iso("2025-11-13T02:13:20.25Z"), Some(EPOCH + 0.25));
        assert_eq!(parse_iso("2000-02-29T00:00:00Z"), Some(951_782_400.0));
        for bad in [
            "",
            "2025-13-01",
            "2025-11-13T00:00:00",
            "2025-11-13T25:00:00Z",
            "é025-11-13",
            "2025-11-13T00:00:00+0100",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }
}
