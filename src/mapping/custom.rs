//! Custom mappings: a JSON file with a status map and a field map.
//!
//! ```json
//! {
//!   "name": "my-shop",
//!   "status_map": { "paid": "PAID", "refunded": "REFUNDED", "*": "OTHER" },
//!   "require": ["order_ref"],
//!   "fields": {
//!     "orderNumber":   { "path": "order_ref" },
//!     "state":         { "status": true },
//!     "total":         { "path": "amount", "default": "0" },
//!     "error.code":    { "path": "failure.code" },
//!     "source":        { "const": "stripe" },
//!     "note":          { "template": "Stripe {event_type} for order {order_ref}" }
//!   }
//! }
//! ```
//!
//! - `path`: a field of the normalized record (`failure.code` for the nested ones), with an
//!   optional `default` when it is null;
//! - `status`: the record's status through `status_map` (`*` is the fallback); a status that
//!   maps to nothing skips the record;
//! - `const`: any JSON value; `template`: text with `{record field}` placeholders;
//! - output keys with dots build nested objects (`error.code`);
//! - `require`: record fields that must be present, else the record is skipped.
//!
//! Loading checks every entry and names the first bad one (`fields.total.path: unknown record
//! field "amout"`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::mapping::{MappingError, View};
use crate::normalize::Status;

/// Fields of the normalized record a mapping can read.
/// Parts an output name may have (`a.b.c` has 3): deeper output is refused when the mapping is
/// read, so building, serializing and dropping the output never recurses deeply.
pub const MAX_NAME_PARTS: usize = 16;

pub const RECORD_FIELDS: &[&str] = &[
    "event_id",
    "event_type",
    "created",
    "livemode",
    "account",
    "api_version",
    "object",
    "object_id",
    "status",
    "order_ref",
    "customer_id",
    "customer_email",
    "customer_name",
    "currency",
    "amount",
    "amount_minor",
    "amount_refunded",
    "amount_refunded_minor",
    "fee",
    "fee_minor",
    "net",
    "net_minor",
    "settlement_currency",
    "payment_intent",
    "charge",
    "refund",
    "dispute",
    "invoice",
    "checkout_session",
    "payout",
    "subscription",
    "balance_transaction",
    "payment_method_type",
    "reason",
    "failure",
    "failure.code",
    "failure.message",
    "failure.decline_code",
    "arrival_date",
];

#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Path {
        path: String,
        default: Option<Value>,
    },
    Status,
    Const(Value),
    Template(Vec<Piece>),
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Field(String),
}

/// A validated custom mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomMapping {
    pub name: Option<String>,
    status_map: Option<BTreeMap<String, Value>>,
    require: Vec<String>,
    fields: Vec<(Vec<String>, Spec)>,
}

fn err(entry: impl Into<String>, message: impl Into<String>) -> MappingError {
    MappingError::new(entry, message)
}

fn check_field(entry: &str, field: &str) -> Result<(), MappingError> {
    if RECORD_FIELDS.contains(&field) {
        Ok(())
    } else {
        let shown: String = field.chars().take(60).collect();
        Err(err(entry, format!("unknown record field {shown:?}")))
    }
}

fn parse_template(entry: &str, text: &str) -> Result<Vec<Piece>, MappingError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let (before, after) = rest.split_at(open);
        if !before.is_empty() {
            pieces.push(Piece::Text(before.to_owned()));
        }
        let after = after.get(1..).unwrap_or_default();
        let close = after
            .find('}')
            .ok_or_else(|| err(entry, "a \"{\" has no closing \"}\""))?;
        let (name, tail) = after.split_at(close);
        let name = name.trim();
        check_field(entry, name)?;
        pieces.push(Piece::Field(name.to_owned()));
        rest = tail.get(1..).unwrap_or_default();
    }
    if rest.contains('}') {
        return Err(err(entry, "a \"}\" has no opening \"{\""));
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}

fn parse_spec(key: &str, value: &Value, has_status_map: bool) -> Result<Spec, MappingError> {
    let entry = format!("fields.{key}");
    let obj = value.as_object().ok_or_else(|| {
        err(
            &entry,
            "expected an object with one of path, status, const, template",
        )
    })?;
    let kinds: Vec<&str> = ["path", "status", "const", "template"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    let [kind] = kinds.as_slice() else {
        return Err(err(
            &entry,
            "expected exactly one of path, status, const, template",
        ));
    };
    for k in obj.keys() {
        let allowed = *k == *kind || (*kind == "path" && k == "default");
        if !allowed {
            return Err(err(format!("{entry}.{k}"), "unexpected entry"));
        }
    }
    let sub = format!("{entry}.{kind}");
    match *kind {
        "path" => {
            let path = obj
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| err(&sub, "expected a record field name"))?;
            check_field(&sub, path)?;
            Ok(Spec::Path {
                path: path.to_owned(),
                default: obj.get("default").cloned(),
            })
        }
        "status" => {
            if obj.get("status") != Some(&Value::Bool(true)) {
                return Err(err(&sub, "expected true"));
            }
            if !has_status_map {
                return Err(err(&sub, "needs a status_map"));
            }
            Ok(Spec::Status)
        }
        "const" => Ok(Spec::Const(
            obj.get("const").cloned().unwrap_or(Value::Null),
        )),
        _ => {
            let text = obj
                .get("template")
                .and_then(Value::as_str)
                .ok_or_else(|| err(&sub, "expected text"))?;
            Ok(Spec::Template(parse_template(&sub, text)?))
        }
    }
}

impl CustomMapping {
    /// Loads and validates a mapping from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, MappingError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            err(
                "",
                format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            )
        })?;
        CustomMapping::from_value(&value)
    }

    /// Loads and validates a mapping.
    pub fn from_value(value: &Value) -> Result<Self, MappingError> {
        let obj = value
            .as_object()
            .ok_or_else(|| err("", "a mapping is a JSON object"))?;
        for key in obj.keys() {
            if !["name", "status_map", "require", "fields"].contains(&key.as_str()) {
                return Err(err(
                    key,
                    "unexpected entry (expected name, status_map, require, fields)",
                ));
            }
        }
        let name = match obj.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(err("name", "expected text")),
        };
        let status_map = match obj.get("status_map") {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => {
                let mut out = BTreeMap::new();
                for (status, target) in map {
                    let known = status == "*" || Status::ALL.iter().any(|s| s.as_str() == status);
                    if !known {
                        let shown: String = status.chars().take(40).collect();
                        return Err(err(
                            format!("status_map.{shown}"),
                            "not a status (see the status table in README) or \"*\"",
                        ));
                    }
                    out.insert(status.clone(), target.clone());
                }
                Some(out)
            }
            Some(_) => return Err(err("status_map", "expected an object of status: value")),
        };
        let require = match obj.get("require") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let entry = format!("require[{i}]");
                    let field = item
                        .as_str()
                        .ok_or_else(|| err(&entry, "expected a record field name"))?;
                    check_field(&entry, field)?;
                    out.push(field.to_owned());
                }
                out
            }
            Some(_) => return Err(err("require", "expected a list of record field names")),
        };
        let fields_obj = obj
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(|| err("fields", "expected an object of output field: spec"))?;
        if fields_obj.is_empty() {
            return Err(err("fields", "at least one field is needed"));
        }
        let mut fields = Vec::new();
        for (key, spec) in fields_obj {
            if key.split('.').nth(MAX_NAME_PARTS).is_some() {
                return Err(err(
                    "fields",
                    format!("an output name has more than {MAX_NAME_PARTS} parts"),
                ));
            }
            let keys: Vec<String> = key.split('.').map(str::to_owned).collect();
            if keys.iter().any(String::is_empty) {
                return Err(err(
                    format!("fields.{key}"),
                    "empty part in the output name",
                ));
            }
            fields.push((keys, parse_spec(key, spec, status_map.is_some())?));
        }
        // "a" and "a.b" cannot both be set.
        for (i, (a, _)) in fields.iter().enumerate() {
            for (b, _) in fields.iter().skip(i + 1) {
                let shorter = a.len().min(b.len());
                if a.get(..shorter) == b.get(..shorter) {
                    return Err(err(
                        format!("fields.{}", b.join(".")),
                        format!("overlaps fields.{}", a.join(".")),
                    ));
                }
            }
        }
        Ok(CustomMapping {
            name,
            status_map,
            require,
            fields,
        })
    }

    /// Applies the mapping; `None` when a required field is missing or the status maps to
    /// nothing. A consolidated view replaces the record's status, amounts and ids with the
    /// merged state's.
    pub fn apply(&self, view: &View<'_>) -> Result<Option<String>, MappingError> {
        // Through text rather than serde_json's Value serializer: one code path less in wasm.
        let text = serde_json::to_string(view.record).map_err(|e| err("", e.to_string()))?;
        let mut source: Value = serde_json::from_str(&text).map_err(|e| err("", e.to_string()))?;
        if let (true, Some(obj)) = (view.consolidated(), source.as_object_mut()) {
            let text = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_owned()));
            let decimal = |d: Option<rust_decimal::Decimal>| {
                d.map_or(Value::Null, |d| Value::String(d.to_string()))
            };
            obj.insert(
                "status".into(),
                Value::String(view.status().as_str().to_owned()),
            );
            obj.insert("amount".into(), decimal(view.amount()));
            obj.insert("amount_refunded".into(), decimal(view.amount_refunded()));
            obj.insert("order_ref".into(), text(view.order_ref()));
            obj.insert("payment_intent".into(), text(view.payment_intent()));
            obj.insert("charge".into(), text(view.charge()));
            obj.insert("invoice".into(), text(view.invoice()));
            obj.insert(
                "payment_method_type".into(),
                text(view.payment_method_type()),
            );
            for stale in ["amount_minor", "amount_refunded_minor"] {
                obj.insert(stale.into(), Value::Null);
            }
        }
        let record_status = view.status();
        let lookup = |path: &str| -> Value {
            path.split('.')
                .try_fold(&source, |v, part| v.get(part))
                .cloned()
                .unwrap_or(Value::Null)
        };
        if self.require.iter().any(|f| lookup(f).is_null()) {
            return Ok(None);
        }
        let mut out = Map::new();
        for (keys, spec) in &self.fields {
            let value = match spec {
                Spec::Path { path, default } => match lookup(path) {
                    Value::Null => default.clone().unwrap_or(Value::Null),
                    v => v,
                },
                Spec::Const(v) => v.clone(),
                Spec::Status => {
                    let map = self.status_map.as_ref();
                    let mapped =
                        map.and_then(|m| m.get(record_status.as_str()).or_else(|| m.get("*")));
                    match mapped {
                        Some(v) => v.clone(),
                        None => return Ok(None),
                    }
                }
                Spec::Template(pieces) => Value::String(
                    pieces
                        .iter()
                        .map(|p| match p {
                            Piece::Text(t) => t.clone(),
                            Piece::Field(f) => match lookup(f) {
                                Value::Null => String::new(),
                                Value::String(s) => s,
                                other => other.to_string(),
                            },
                        })
                        .collect(),
                ),
            };
            insert(&mut out, keys, value);
        }
        Ok(Some(Value::Object(out).to_string()))
    }
}

fn insert(map: &mut Map<String, Value>, keys: &[String], value: Value) {
    match keys {
        [] => {}
        [last] => {
            map.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let child = map
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(child) = child {
                insert(child, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions, Record};

    fn apply(m: &CustomMapping, r: &Record) -> Option<String> {
        m.apply(&View::new(r, None)).unwrap()
    }

    #[test]
    fn deeply_nested_output_names_are_refused_not_recursed() {
        let name = vec!["a"; 100_000].join(".");
        let text = serde_json::json!({"fields": {name: {"path": "status"}}}).to_string();
        let e = CustomMapping::from_json(&text).unwrap_err();
        assert!(e.to_string().contains("more than 16 parts"), "{e}");
        let ok = vec!["a"; MAX_NAME_PARTS].join(".");
        let text = serde_json::json!({"fields": {ok: {"path": "status"}}}).to_string();
        assert!(CustomMapping::from_json(&text).is_ok());
    }

    const MAPPING: &str = r#"{
        "name": "my-shop",
        "status_map": {"paid": "PAID", "refunded": "REFUNDED", "*": "OTHER"},
        "require": ["order_ref"],
        "fields": {
            "orderNumber": {"path": "order_ref"},
            "state": {"status": true},
            "total": {"path": "amount", "default": "0"},
            "error.code": {"path": "failure.code"},
            "source": {"const": "stripe"},
            "note": {"template": "Stripe {event_type} for order {order_ref} ({amount} {currency})"}
        }
    }"#;

    fn rec(meta: &str, status: &str) -> Record {
        let json = format!(
            r#"{{"id":"evt_1","type":"payment_intent.{status}","created":1,"data":{{"object":{{"id":"pi_1","object":"payment_intent","amount":2198,"currency":"usd","status":"succeeded","metadata":{meta}}}}}}}"#
        );
        normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
    }

    #[test]
    fn applies_paths_status_consts_templates_and_nesting() {
        let m = CustomMapping::from_json(MAPPING).unwrap();
        let paid = apply(&m, &rec(r#"{"order_id":"A-1"}"#, "succeeded")).unwrap();
        let out: Value = serde_json::from_str(&paid).unwrap();
        assert_eq!(out["orderNumber"], "A-1");
        assert_eq!(out["state"], "PAID");
        assert_eq!(out["total"], "21.98");
        assert_eq!(out["error"]["code"], Value::Null);
        assert_eq!(out["source"], "stripe");
        assert_eq!(
            out["note"],
            "Stripe payment_intent.succeeded for order A-1 (21.98 USD)"
        );
        let failed = apply(&m, &rec(r#"{"order_id":"A-1"}"#, "payment_failed")).unwrap();
        let failed: Value = serde_json::from_str(&failed).unwrap();
        assert_eq!(failed["state"], "OTHER");
        // Required field missing: skipped.
        assert_eq!(apply(&m, &rec("{}", "succeeded")), None);
    }

    #[test]
    fn unmapped_status_without_fallback_skips() {
        let m = CustomMapping::from_json(
            r#"{"status_map":{"paid":"P"},"fields":{"s":{"status":true}}}"#,
        )
        .unwrap();
        assert!(apply(&m, &rec(r#"{"order_id":"A"}"#, "succeeded")).is_some());
        assert_eq!(
            apply(&m, &rec(r#"{"order_id":"A"}"#, "payment_failed")),
            None
        );
    }

    #[test]
    fn each_invalid_file_gives_one_clear_error() {
        let cases: &[(&str, &str, &str)] = &[
            ("{", "", "not valid JSON"),
            ("[]", "", "JSON object"),
            (r#"{"fields":{}}"#, "fields", "at least one"),
            (r#"{"feilds":{}}"#, "feilds", "unexpected entry"),
            (
                r#"{"fields":{"t":{"path":"amout"}}}"#,
                "fields.t.path",
                "unknown record field \"amout\"",
            ),
            (
                r#"{"fields":{"t":{"path":"amount","const":1}}}"#,
                "fields.t",
                "exactly one",
            ),
            (
                r#"{"fields":{"t":"amount"}}"#,
                "fields.t",
                "expected an object",
            ),
            (
                r#"{"fields":{"t":{"status":true}}}"#,
                "fields.t.status",
                "needs a status_map",
            ),
            (
                r#"{"status_map":{"payed":"P"},"fields":{"t":{"status":true}}}"#,
                "status_map.payed",
                "not a status",
            ),
            (
                r#"{"fields":{"t":{"template":"x {nope} y"}}}"#,
                "fields.t.template",
                "unknown record field \"nope\"",
            ),
            (
                r#"{"fields":{"t":{"template":"x {amount"}}}"#,
                "fields.t.template",
                "no closing",
            ),
            (
                r#"{"fields":{"t":{"path":"amount","dflt":1}}}"#,
                "fields.t.dflt",
                "unexpected entry",
            ),
            (
                r#"{"fields":{"a":{"const":1},"a.b":{"const":2}}}"#,
                "fields.a.b",
                "overlaps",
            ),
            (
                r#"{"fields":{"a..b":{"const":1}}}"#,
                "fields.a..b",
                "empty part",
            ),
            (
                r#"{"require":["nope"],"fields":{"a":{"const":1}}}"#,
                "require[0]",
                "unknown record field",
            ),
            (
                r#"{"name":5,"fields":{"a":{"const":1}}}"#,
                "name",
                "expected text",
            ),
        ];
        for (text, entry, message) in cases {
            let e = CustomMapping::from_json(text).unwrap_err();
            assert_eq!(&e.entry, entry, "{text}: {e}");
            assert!(e.message.contains(message), "{text}: {e}");
        }
    }
}
