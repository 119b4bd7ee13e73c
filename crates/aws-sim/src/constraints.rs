//! What AWS refuses in a request, from its service models: the simulator checks every call
//! against `constraints.tsv` before a handler sees it, and answers a violation with the error
//! AWS gives for it in that protocol.
//!
//! The table is generated from botocore's copies of the service models by
//! `tests/botocore/constraints.py` (and compared with it in CI), never written by hand: required
//! members, lengths, ranges, list sizes, enums and patterns from the models' traits, and limits
//! that the models state only in a member's documentation ("Max values: 50"), each row with the
//! sentence it comes from. A simulator that forgave these would let a request AWS refuses pass
//! every test, as one did: the exporter sent 100 account ids where the model documents 50.
//!
//! Locations are wire names: `body:` a path into the JSON body (`[]` every item of a list, `{}`
//! every value of a map), `query:` a query-string parameter, `uri:` a label of the request URI
//! (the template is on the operation's `op` line), `form:` an awsQuery parameter. Handlers keep
//! the checks no model states (a `NextToken` they did not issue, a filter the simulator does not
//! implement).

use std::collections::HashMap;
use std::sync::OnceLock;

use http::StatusCode;
use serde_json::{json, Value};

use crate::call::Call;
use crate::wire::{AwsError, Protocol};

/// The generated table.
pub const TABLE: &str = include_str!("../constraints.tsv");

/// One segment of a body path.
#[derive(Clone, Debug, PartialEq)]
enum Seg {
    /// A member, by wire name.
    Key(String),
    /// Every item of a list.
    Items,
    /// Every value of a map.
    Values,
}

/// Where a constrained member is on the wire.
#[derive(Clone, Debug, PartialEq)]
enum Location {
    Body(Vec<Seg>),
    Query(String),
    Uri(String),
    Form(String),
    /// Headers carry nothing the simulator's operations constrain; kept so a row parses.
    Header(String),
}

/// A constraint of the model.
#[derive(Clone, Debug)]
enum Check {
    Required,
    MinLen(usize),
    MaxLen(usize),
    Min(f64),
    Max(f64),
    MinItems(usize),
    MaxItems(usize),
    Enum(Vec<String>),
    /// The model's pattern, compiled to match the whole value; `None` when it uses something
    /// the `regex` crate cannot express (Java's surrogate ranges), then it is not checked.
    Pattern(Option<regex::Regex>, String),
}

/// One row of the table.
#[derive(Clone, Debug)]
struct Rule {
    location: Location,
    /// The location as written in the table (for messages).
    written: String,
    check: Check,
    /// `model`, or `doc: <the sentence>`.
    source: String,
}

/// An operation's rules, and its request URI template (restJson).
#[derive(Debug, Default)]
pub struct OperationRules {
    /// Path segments of the request URI template (`{label}` for labels).
    uri: Vec<String>,
    rules: Vec<Rule>,
}

/// The table, parsed once: (service, operation) -> rules.
pub fn table() -> &'static HashMap<(String, String), OperationRules> {
    static PARSED: OnceLock<HashMap<(String, String), OperationRules>> = OnceLock::new();
    PARSED.get_or_init(|| parse(TABLE).unwrap_or_else(|e| panic!("constraints.tsv: {e}")))
}

/// Parses the table; an error names the line.
fn parse(text: &str) -> Result<HashMap<(String, String), OperationRules>, String> {
    let mut out: HashMap<(String, String), OperationRules> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let bad = |why: &str| format!("line {}: {why}: {line}", n + 1);
        if cols[0] == "op" {
            let (Some(service), Some(op)) = (cols.get(1), cols.get(2)) else {
                return Err(bad("an op line names a service and an operation"));
            };
            let entry = out
                .entry((service.to_string(), op.to_string()))
                .or_default();
            if let Some(uri) = cols.get(3) {
                let path = uri.split_whitespace().last().unwrap_or("");
                let path = path.split('?').next().unwrap_or("");
                entry.uri = path
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect();
            }
            continue;
        }
        let [service, op, location, check, value, source] = cols[..] else {
            return Err(bad("a rule has six columns"));
        };
        let rule = Rule {
            location: parse_location(location).ok_or_else(|| bad("unknown location"))?,
            written: location.to_string(),
            check: parse_check(check, value).ok_or_else(|| bad("unknown check or value"))?,
            source: source.to_string(),
        };
        out.get_mut(&(service.to_string(), op.to_string()))
            .ok_or_else(|| bad("a rule before its op line"))?
            .rules
            .push(rule);
    }
    Ok(out)
}

fn parse_location(s: &str) -> Option<Location> {
    let (kind, rest) = s.split_once(':')?;
    Some(match kind {
        "body" => {
            let mut segs = Vec::new();
            for part in rest.split('.') {
                let (name, items) = match part.strip_suffix("[]") {
                    Some(n) => (n, true),
                    None => (part, false),
                };
                match name {
                    "" => {}
                    "[]" => segs.push(Seg::Items),
                    "{}" => segs.push(Seg::Values),
                    n => segs.push(Seg::Key(n.to_string())),
                }
                if items {
                    segs.push(Seg::Items);
                }
            }
            Location::Body(segs)
        }
        "query" => Location::Query(rest.to_string()),
        "uri" => Location::Uri(rest.to_string()),
        "form" => Location::Form(rest.to_string()),
        "header" => Location::Header(rest.to_string()),
        _ => return None,
    })
}

fn parse_check(check: &str, value: &str) -> Option<Check> {
    Some(match check {
        "required" => Check::Required,
        "min_len" => Check::MinLen(value.parse().ok()?),
        "max_len" => Check::MaxLen(value.parse().ok()?),
        "min" => Check::Min(value.parse().ok()?),
        "max" => Check::Max(value.parse().ok()?),
        "min_items" => Check::MinItems(value.parse().ok()?),
        "max_items" => Check::MaxItems(value.parse().ok()?),
        "enum" => Check::Enum(value.split(',').map(str::to_string).collect()),
        "pattern" => Check::Pattern(
            regex::Regex::new(&format!("^(?:{})$", java_classes(value))).ok(),
            value.to_string(),
        ),
        _ => return None,
    })
}

/// A model pattern with Java's ASCII-only `\w` and `\d` spelt out: the `regex` crate's are
/// Unicode-aware, and would let through an `é` that AWS refuses. (A nested class is fine inside
/// a class: `[[0-9A-Za-z_]+=]`.)
fn java_classes(pattern: &str) -> String {
    pattern
        .replace("\\w", "[0-9A-Za-z_]")
        .replace("\\d", "[0-9]")
}

/// True when the table has an `op` line for the operation.
pub fn covers(service: &str, op: &str) -> bool {
    table().contains_key(&(service.to_string(), op.to_string()))
}

/// Checks a call against its operation's rules: the first violation, as AWS answers it.
pub fn check(service: &str, call: &Call) -> Result<(), AwsError> {
    let Some(rules) = table().get(&(service.to_string(), call.op.clone())) else {
        return Ok(());
    };
    for rule in &rules.rules {
        if let Some(why) = violation(rules, rule, call) {
            return Err(refusal(service, &call.op, call.protocol, rule, why));
        }
    }
    Ok(())
}

/// A value found at a location.
enum Found<'a> {
    Json(&'a Value),
    Text(String),
}

/// Why `call` breaks `rule`, in AWS's words ("Value '...' at '...' failed to satisfy
/// constraint: Member must ..."), or `None`.
fn violation(op: &OperationRules, rule: &Rule, call: &Call) -> Option<String> {
    let member = member_name(&rule.written);
    if let Check::Required = rule.check {
        let present = match &rule.location {
            Location::Body(segs) => {
                let (last, parents) = segs.split_last()?;
                let Seg::Key(last) = last else { return None };
                // Required inside an optional structure binds only where the structure is.
                return values_at(&call.json, parents)
                    .into_iter()
                    .filter_map(Value::as_object)
                    .any(|o| o.get(last).is_none_or(Value::is_null))
                    .then(|| format!("Value null at '{member}' failed to satisfy constraint: Member must not be null"));
            }
            Location::Query(n) => call.param(n).is_some(),
            Location::Form(n) => match n.rsplit_once('.') {
                None => call.param(n).is_some(),
                // A member of a list item binds only where the item is: every item index
                // seen under the prefix must have it.
                Some((prefix, last)) => {
                    let items = form_keys(&call.params, prefix, true);
                    return items
                        .iter()
                        .find(|item| call.param(&format!("{item}.{last}")).is_none())
                        .map(|_| format!("Value null at '{member}' failed to satisfy constraint: Member must not be null"));
                }
            },
            Location::Uri(l) => uri_label(op, &call.path, l).is_some_and(|v| !v.is_empty()),
            Location::Header(_) => true,
        };
        return (!present).then(|| {
            format!(
                "Value null at '{member}' failed to satisfy constraint: Member must not be null"
            )
        });
    }
    let found: Vec<Found> = match &rule.location {
        Location::Body(segs) => values_at(&call.json, segs)
            .into_iter()
            .filter(|v| !v.is_null())
            .map(Found::Json)
            .collect(),
        Location::Query(n) => call
            .params
            .iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| Found::Text(v.clone()))
            .collect(),
        // A list's size, or the values at a path with `[]` for item indexes.
        Location::Form(n) if matches!(rule.check, Check::MinItems(_) | Check::MaxItems(_)) => {
            let items = form_keys(&call.params, &format!("{n}.member.[]"), true);
            let present = !items.is_empty() || call.param(n).is_some();
            return present
                .then_some(items.len())
                .and_then(|k| match rule.check {
                    Check::MinItems(m) if k < m => Some(format!(
                        "Member must have length greater than or equal to {m}"
                    )),
                    Check::MaxItems(m) if k > m => {
                        Some(format!("Member must have length less than or equal to {m}"))
                    }
                    _ => None,
                })
                .map(|must| {
                    format!(
                        "Value '{k}' at '{member}' failed to satisfy constraint: {must}",
                        k = items.len()
                    )
                });
        }
        Location::Form(n) => form_keys(&call.params, n, false)
            .into_iter()
            .filter_map(|k| call.param(&k).map(|v| Found::Text(v.to_string())))
            .collect(),
        Location::Uri(l) => uri_label(op, &call.path, l)
            .map(Found::Text)
            .into_iter()
            .collect(),
        Location::Header(_) => Vec::new(),
    };
    for f in &found {
        let shown = match f {
            Found::Json(v) => match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            Found::Text(s) => s.clone(),
        };
        let text = match f {
            Found::Json(Value::String(s)) => Some(s.as_str()),
            Found::Text(s) => Some(s.as_str()),
            _ => None,
        };
        let number = match f {
            Found::Json(v) => v.as_f64(),
            Found::Text(s) => s.parse::<f64>().ok(),
        };
        let items = match f {
            Found::Json(Value::Array(a)) => Some(a.len()),
            Found::Json(Value::Object(o)) => Some(o.len()),
            _ => None,
        };
        let broken = match &rule.check {
            Check::Required => None,
            Check::MinLen(n) => text
                .filter(|t| t.chars().count() < *n)
                .map(|_| format!("Member must have length greater than or equal to {n}")),
            Check::MaxLen(n) => text
                .filter(|t| t.chars().count() > *n)
                .map(|_| format!("Member must have length less than or equal to {n}")),
            Check::Min(n) => number
                .filter(|x| x < n)
                .map(|_| format!("Member must have value greater than or equal to {n}")),
            Check::Max(n) => number
                .filter(|x| x > n)
                .map(|_| format!("Member must have value less than or equal to {n}")),
            Check::MinItems(n) => items
                .filter(|k| k < n)
                .map(|_| format!("Member must have length greater than or equal to {n}")),
            Check::MaxItems(n) => items
                .filter(|k| k > n)
                .map(|_| format!("Member must have length less than or equal to {n}")),
            Check::Enum(allowed) => text.filter(|t| !allowed.iter().any(|a| a == t)).map(|_| {
                format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                )
            }),
            Check::Pattern(Some(re), written) => text
                .filter(|t| !re.is_match(t))
                .map(|_| format!("Member must satisfy regular expression pattern: {written}")),
            Check::Pattern(None, _) => None,
        };
        if let Some(must) = broken {
            let doc = rule
                .source
                .strip_prefix("doc: ")
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            let shown: String = shown.chars().take(200).collect();
            return Some(format!(
                "Value '{shown}' at '{member}' failed to satisfy constraint: {must}{doc}"
            ));
        }
    }
    None
}

/// The parameter keys that match `path` (`[]` matches an item index); with `prefixes`, the
/// distinct prefixes of longer keys that match it (the list items present).
fn form_keys(params: &[(String, String)], path: &str, prefixes: bool) -> Vec<String> {
    let want: Vec<&str> = path.split('.').collect();
    let mut out: Vec<String> = Vec::new();
    for (k, _) in params {
        let segs: Vec<&str> = k.split('.').collect();
        let long_enough = if prefixes {
            segs.len() >= want.len()
        } else {
            segs.len() == want.len()
        };
        if !long_enough {
            continue;
        }
        let matches = want.iter().zip(&segs).all(|(w, s)| {
            if *w == "[]" {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
            } else {
                w == s
            }
        });
        if matches {
            let key = segs[..want.len()].join(".");
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// Every value at `segs` under `root`.
fn values_at<'a>(root: &'a Value, segs: &[Seg]) -> Vec<&'a Value> {
    let mut here = vec![root];
    for seg in segs {
        let mut next = Vec::new();
        for v in here {
            match (seg, v) {
                (Seg::Key(k), Value::Object(o)) => next.extend(o.get(k)),
                (Seg::Items, Value::Array(a)) => next.extend(a.iter()),
                (Seg::Values, Value::Object(o)) => next.extend(o.values()),
                _ => {}
            }
        }
        here = next;
    }
    here
}

/// The value of URI label `label` in `path`, by the operation's template.
fn uri_label(op: &OperationRules, path: &str, label: &str) -> Option<String> {
    let want = format!("{{{label}}}");
    let want_greedy = format!("{{{label}+}}");
    let i = op
        .uri
        .iter()
        .position(|s| *s == want || *s == want_greedy)?;
    let seg = path.trim_matches('/').split('/').nth(i)?;
    Some(percent_decode(seg))
}

/// A path segment's `%XX` escapes decoded (a `+` stays a `+` in a path).
fn percent_decode(seg: &str) -> String {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The member as AWS's messages name it: the path's members, lower camel case.
fn member_name(written: &str) -> String {
    let rest = written.split_once(':').map_or(written, |(_, r)| r);
    rest.split('.')
        .filter(|s| !matches!(*s, "[]" | "{}" | ""))
        .map(|s| {
            let s = s.trim_end_matches("[]");
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The error AWS answers a request that breaks its model with, per service and protocol.
fn refusal(service: &str, op: &str, protocol: Protocol, rule: &Rule, why: String) -> AwsError {
    let message = format!("1 validation error detected: {why}");
    match (service, protocol) {
        (_, Protocol::Query { .. }) => AwsError::client("ValidationError", message),
        // GuardDuty's modeled error for input it refuses.
        ("guardduty", _) => AwsError::client("BadRequestException", message),
        // Security Hub CSPM's operations model InvalidInputException ("The request was rejected
        // because you supplied an invalid or out-of-range value for an input parameter."); the
        // OCSF generation's (`...V2`) model ValidationException. Both carry a `Code` member.
        ("securityhub", _) => {
            let code = if op.ends_with("V2") {
                "ValidationException"
            } else {
                "InvalidInputException"
            };
            AwsError::client(code, message).with("Code", json!(code))
        }
        // Organizations' InvalidInputException carries a reason from its model's enum.
        ("organizations", _) => {
            let reason = match rule.check {
                Check::Required => "INPUT_REQUIRED",
                Check::MinLen(_) => "MIN_LENGTH_EXCEEDED",
                Check::MaxLen(_) => "MAX_LENGTH_EXCEEDED",
                Check::Min(_) => "MIN_VALUE_EXCEEDED",
                Check::Max(_) => "MAX_VALUE_EXCEEDED",
                Check::MinItems(_) | Check::MaxItems(_) => "MAX_LIMIT_EXCEEDED_FILTER",
                Check::Enum(_) => "INVALID_ENUM",
                Check::Pattern(..) => "INVALID_PATTERN",
            };
            AwsError::client("InvalidInputException", message).with("Reason", json!(reason))
        }
        // Config's operations model their own error for a `Limit` out of range: "The specified
        // limit is outside the allowable range" (InvalidLimitException); those whose model
        // lists no such error (DescribeConfigRuleEvaluationStatus: NoSuchConfigRuleException,
        // InvalidParameterValueException, InvalidNextTokenException) answer the generic one.
        ("config", _)
            if matches!(rule.check, Check::Min(_) | Check::Max(_))
                && rule.written.ends_with(":Limit")
                && op != "DescribeConfigRuleEvaluationStatus" =>
        {
            AwsError::client("InvalidLimitException", message)
        }
        _ => AwsError::status(StatusCode::BAD_REQUEST, "ValidationException", message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(
        op: &str,
        protocol: Protocol,
        json: Value,
        params: &[(&str, &str)],
        path: &str,
    ) -> Call {
        Call {
            op: op.into(),
            account: "123456789012".into(),
            access_key: "AKIAEXAMPLE".into(),
            region: "us-east-1".into(),
            protocol,
            json,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            method: http::Method::POST,
            path: path.into(),
        }
    }

    #[test]
    fn the_table_parses_and_every_pattern_compiles_or_is_known() {
        let t = table();
        assert!(t.len() >= 21, "{} operations", t.len());
        let unchecked: Vec<&str> = t
            .values()
            .flat_map(|o| &o.rules)
            .filter_map(|r| match &r.check {
                Check::Pattern(None, p) => Some(p.as_str()),
                _ => None,
            })
            .collect();
        // Java's surrogate ranges are the only thing `regex` cannot take.
        for p in unchecked {
            assert!(p.contains("\\uD"), "pattern {p} does not compile");
        }
    }

    #[test]
    fn fifty_one_account_ids_in_a_guardduty_criterion_are_refused() {
        let ids: Vec<String> = (0..51)
            .map(|i| format!("{:012}", 100_000_000_000u64 + i))
            .collect();
        let body = |ids: &[String]| json!({"findingCriteria": {"criterion": {"accountId": {"equals": ids}}}, "groupBy": "ACCOUNT"});
        let path = "/detector/abc/findings/statistics";
        let bad = call(
            "GetFindingsStatistics",
            Protocol::RestJson,
            body(&ids),
            &[],
            path,
        );
        let e = check("guardduty", &bad).unwrap_err();
        assert_eq!(e.code, "BadRequestException");
        assert!(e.message.contains("Max values: 50"), "{}", e.message);
        assert!(
            e.message.contains("less than or equal to 50"),
            "{}",
            e.message
        );
        let good = call(
            "GetFindingsStatistics",
            Protocol::RestJson,
            body(&ids[..50]),
            &[],
            path,
        );
        check("guardduty", &good).unwrap();
    }

    #[test]
    fn an_external_id_outside_the_pattern_is_a_validation_error() {
        let q = Protocol::Query {
            xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
        };
        let with = |id: &str| {
            call(
                "AssumeRole",
                q,
                Value::Null,
                &[
                    ("Action", "AssumeRole"),
                    (
                        "RoleArn",
                        "arn:aws:iam::123456789012:role/PostureExporterReadOnly",
                    ),
                    ("RoleSessionName", "posture-exporter"),
                    ("ExternalId", id),
                ],
                "/",
            )
        };
        // Java's `\w` is ASCII: AWS refuses a letter outside it.
        assert!(check("sts", &with("caf\u{e9}")).is_err());
        let e = check("sts", &with("tenant 42 / prod#1")).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(e.message.contains("at 'externalId'"), "{}", e.message);
        check("sts", &with("tenant-42/prod")).unwrap();
    }

    #[test]
    fn a_config_limit_past_the_model_range_and_a_missing_required_member_are_refused() {
        let over = call(
            "DescribeOrganizationConfigRules",
            Protocol::AwsJson,
            json!({"Limit": 101}),
            &[],
            "/",
        );
        let e = check("config", &over).unwrap_err();
        assert_eq!(e.code, "InvalidLimitException");
        assert!(e.message.contains("at 'limit'"), "{}", e.message);
        let missing = call(
            "DescribeConfigurationAggregatorSourcesStatus",
            Protocol::AwsJson,
            json!({}),
            &[],
            "/",
        );
        let e = check("config", &missing).unwrap_err();
        assert!(e.message.contains("must not be null"), "{}", e.message);
    }

    #[test]
    fn a_uri_label_is_read_by_the_template() {
        let op = OperationRules {
            uri: vec!["detector".into(), "{detectorId}".into(), "ipset".into()],
            rules: Vec::new(),
        };
        assert_eq!(
            uri_label(&op, "/detector/d%2F1/ipset", "detectorId").as_deref(),
            Some("d/1")
        );
        assert_eq!(uri_label(&op, "/detector/d1/ipset", "ipSetId"), None);
    }
}
