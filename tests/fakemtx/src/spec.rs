//! MediaMTX's OpenAPI document as a router and a validator.
//!
//! The validator is our own, over the subset of OpenAPI 3.0 schemas the MediaMTX spec uses:
//! `type` (object, array, string, integer, number, boolean), `properties`, `items`,
//! `minItems` / `maxItems`, `enum`, `nullable`, `format: int64`, `required` and `$ref` to
//! `#/components/schemas/...`. Objects are closed: a field the schema does not list is an
//! error, as MediaMTX's own JSON decoder refuses unknown fields. Anything else the document
//! might say (`oneOf`, `additionalProperties`, ...) is refused at load time so a newer spec
//! cannot be half-understood silently.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamIn {
    Path,
    Query,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub location: ParamIn,
    pub schema: Value,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One method on one path template of the spec.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub method: String,
    pub template: String,
    segments: Vec<Segment>,
    pub params: Vec<Param>,
    /// `(required, schema)` of the JSON request body.
    pub body: Option<(bool, Value)>,
    /// Response schema by status code (`"200"`, `"400"`, ...).
    pub responses: BTreeMap<String, Option<Value>>,
}

/// A request matched to its operation.
#[derive(Debug, Clone)]
pub struct Matched<'a> {
    pub op: &'a Operation,
    /// Path parameters, percent-decoded.
    pub path_params: BTreeMap<String, String>,
}

/// The loaded spec.
#[derive(Debug, Clone)]
pub struct Spec {
    root: Value,
    operations: Vec<Operation>,
}

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];
const SCHEMA_KEYS: [&str; 12] = [
    "type",
    "properties",
    "items",
    "minItems",
    "maxItems",
    "enum",
    "nullable",
    "format",
    "required",
    "$ref",
    "default",
    "description",
];

impl Spec {
    /// Parses the YAML text of the document.
    pub fn parse(yaml: &str) -> Result<Spec, String> {
        let root: Value =
            serde_yaml::from_str(yaml).map_err(|e| format!("spec is not YAML: {e}"))?;
        let paths = root
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("spec has no paths")?;
        let mut operations = Vec::new();
        for (template, item) in paths {
            let item = item
                .as_object()
                .ok_or_else(|| format!("{template}: not an object"))?;
            for (method, op) in item {
                if !METHODS.contains(&method.as_str()) {
                    return Err(format!("{template}: unsupported key {method}"));
                }
                operations.push(parse_operation(template, method, op)?);
            }
        }
        let spec = Spec { root, operations };
        spec.check_schemas()?;
        Ok(spec)
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// A schema by component name (`PathConf`).
    pub fn component(&self, name: &str) -> Option<&Value> {
        self.root.pointer(&format!("/components/schemas/{name}"))
    }

    /// The operation for `method` on `path` (no query), with its path parameters.
    pub fn route(&self, method: &str, path: &str) -> Result<Matched<'_>, String> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut path_known = false;
        for op in &self.operations {
            let Some(params) = match_segments(&op.segments, &parts) else {
                continue;
            };
            path_known = true;
            if op.method.eq_ignore_ascii_case(method) {
                return Ok(Matched {
                    op,
                    path_params: params,
                });
            }
        }
        if path_known {
            Err(format!("method {method} is not allowed on {path}"))
        } else {
            Err(format!("no such API endpoint: {path}"))
        }
    }

    /// Checks the query string against the operation's query parameters.
    pub fn check_query(&self, op: &Operation, query: Option<&str>) -> Result<(), String> {
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key)?;
            let value = percent_decode(raw)?;
            let param = op
                .params
                .iter()
                .find(|p| p.location == ParamIn::Query && p.name == key)
                .ok_or_else(|| format!("unknown query parameter {key:?}"))?;
            let as_json = match param.schema.get("type").and_then(Value::as_str) {
                Some("integer") => value
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("query parameter {key}: {value:?} is not an integer"))?,
                Some("number") => value
                    .parse::<f64>()
                    .ok()
                    .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                    .ok_or_else(|| format!("query parameter {key}: {value:?} is not a number"))?,
                Some("boolean") => match value.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => return Err(format!("query parameter {key}: {value:?} is not a boolean")),
                },
                _ => Value::String(value),
            };
            self.validate(&param.schema, &as_json, &format!("query.{key}"))?;
        }
        Ok(())
    }

    /// Validates `value` against `schema`; the error names where (`body.readers[0].type`).
    pub fn validate(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        self.validate_depth(schema, value, at, 0)
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> Result<&'a Value, String> {
        let mut s = schema;
        for _ in 0..32 {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let pointer = r
                        .strip_prefix('#')
                        .ok_or_else(|| format!("external $ref {r} not supported"))?;
                    s = self
                        .root
                        .pointer(pointer)
                        .ok_or_else(|| format!("dangling $ref {r}"))?;
                }
                None => return Ok(s),
            }
        }
        Err("$ref chain too long".into())
    }

    fn validate_depth(
        &self,
        schema: &Value,
        value: &Value,
        at: &str,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 64 {
            return Err(format!("{at}: nested too deeply"));
        }
        // `nullable` may stand beside a `$ref` (MediaMTX's Path.source does that).
        let nullable = schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let schema = self.resolve(schema)?;
        let nullable = nullable
            || schema
                .get("nullable")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        if value.is_null() {
            return if nullable {
                Ok(())
            } else {
                Err(format!("{at}: must not be null"))
            };
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                return Err(format!(
                    "{at}: {value} is not one of {}",
                    Value::Array(allowed.clone())
                ));
            }
        }
        let ty = schema.get("type").and_then(Value::as_str);
        match ty {
            Some("object") => {
                let obj = value
                    .as_object()
                    .ok_or_else(|| format!("{at}: expected an object, got {}", kind(value)))?;
                let props = schema.get("properties").and_then(Value::as_object);
                for (key, v) in obj {
                    let sub = props
                        .and_then(|p| p.get(key))
                        .ok_or_else(|| format!("{at}: unknown field {key:?}"))?;
                    self.validate_depth(sub, v, &format!("{at}.{key}"), depth + 1)?;
                }
                for req in schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(name) = req.as_str() {
                        if !obj.contains_key(name) {
                            return Err(format!("{at}: missing required field {name:?}"));
                        }
                    }
                }
                Ok(())
            }
            Some("array") => {
                let items = value
                    .as_array()
                    .ok_or_else(|| format!("{at}: expected an array, got {}", kind(value)))?;
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                    if (items.len() as u64) < min {
                        return Err(format!(
                            "{at}: needs at least {min} items, has {}",
                            items.len()
                        ));
                    }
                }
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                    if items.len() as u64 > max {
                        return Err(format!(
                            "{at}: allows at most {max} items, has {}",
                            items.len()
                        ));
                    }
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.validate_depth(item_schema, v, &format!("{at}[{i}]"), depth + 1)?;
                    }
                }
                Ok(())
            }
            Some("string") => value
                .is_string()
                .then_some(())
                .ok_or_else(|| format!("{at}: expected a string, got {}", kind(value))),
            Some("boolean") => value
                .is_boolean()
                .then_some(())
                .ok_or_else(|| format!("{at}: expected a boolean, got {}", kind(value))),
            Some("integer") => {
                let ok = value.is_i64() || value.is_u64();
                let int64 = schema.get("format").and_then(Value::as_str) == Some("int64");
                if !ok || (int64 && !value.is_i64()) {
                    return Err(format!("{at}: expected an integer, got {value}"));
                }
                Ok(())
            }
            Some("number") => value
                .is_number()
                .then_some(())
                .ok_or_else(|| format!("{at}: expected a number, got {}", kind(value))),
            Some(other) => Err(format!("{at}: schema type {other} not supported")),
            None => Err(format!("{at}: schema without a type")),
        }
    }

    /// `value` made to fit `schema` the way MediaMTX reads its YAML config: `null` becomes
    /// the type's empty value, `yes`/`no` text becomes a boolean, fields the schema lacks
    /// are dropped and fields it has but `value` lacks are added empty.
    pub fn coerce(&self, schema: &Value, value: &Value) -> Result<Value, String> {
        let schema = self.resolve(schema)?;
        Ok(match schema.get("type").and_then(Value::as_str) {
            Some("object") => {
                let empty = Map::new();
                let obj = value.as_object().unwrap_or(&empty);
                let mut out = Map::new();
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (key, sub) in props {
                        let v = obj.get(key).unwrap_or(&Value::Null);
                        if v.is_null() && sub.get("nullable").and_then(Value::as_bool) == Some(true)
                        {
                            out.insert(key.clone(), Value::Null);
                        } else {
                            out.insert(key.clone(), self.coerce(sub, v)?);
                        }
                    }
                }
                Value::Object(out)
            }
            Some("array") => {
                let items = schema.get("items").cloned().unwrap_or(Value::Null);
                let list = value.as_array().cloned().unwrap_or_default();
                Value::Array(
                    list.iter()
                        .map(|v| self.coerce(&items, v))
                        .collect::<Result<_, _>>()?,
                )
            }
            Some("string") => match value {
                Value::String(s) => Value::String(s.clone()),
                Value::Null => Value::String(String::new()),
                Value::Bool(b) => Value::String(if *b { "yes" } else { "no" }.into()),
                other => Value::String(other.to_string()),
            },
            Some("boolean") => match value {
                Value::Bool(b) => Value::Bool(*b),
                Value::String(s) if matches!(s.as_str(), "yes" | "true") => Value::Bool(true),
                _ => Value::Bool(false),
            },
            Some("integer") => match value {
                Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
                Value::String(s) => Value::from(s.parse::<i64>().unwrap_or(0)),
                _ => Value::from(0),
            },
            Some("number") => match value {
                Value::Number(_) => value.clone(),
                Value::String(s) => serde_json::Number::from_f64(s.parse::<f64>().unwrap_or(0.0))
                    .map(Value::Number)
                    .unwrap_or(Value::from(0)),
                _ => Value::from(0),
            },
            other => return Err(format!("cannot coerce to schema type {other:?}")),
        })
    }

    /// Every schema in the document uses only what [`Spec::validate`] understands.
    fn check_schemas(&self) -> Result<(), String> {
        fn walk(v: &Value, at: &str) -> Result<(), String> {
            let Some(obj) = v.as_object() else {
                return Ok(());
            };
            for key in obj.keys() {
                if !SCHEMA_KEYS.contains(&key.as_str()) {
                    return Err(format!(
                        "{at}: schema keyword {key} not supported by the fake's validator"
                    ));
                }
            }
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    walk(sub, &format!("{at}.{k}"))?;
                }
            }
            if let Some(items) = obj.get("items") {
                walk(items, &format!("{at}[]"))?;
            }
            Ok(())
        }
        let schemas = self
            .root
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .ok_or("spec has no components.schemas")?;
        for (name, s) in schemas {
            walk(s, name)?;
            self.resolve(s)?;
        }
        for op in &self.operations {
            for s in op
                .responses
                .values()
                .flatten()
                .chain(op.body.iter().map(|(_, s)| s))
            {
                walk(s, &op.id)?;
                self.resolve(s)?;
            }
        }
        Ok(())
    }
}

fn parse_operation(template: &str, method: &str, op: &Value) -> Result<Operation, String> {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{method} {template}: no operationId"))?
        .to_owned();
    let mut params = Vec::new();
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{id}: parameter without name"))?;
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => ParamIn::Path,
            Some("query") => ParamIn::Query,
            other => return Err(format!("{id}: parameter {name} in {other:?} not supported")),
        };
        params.push(Param {
            name: name.to_owned(),
            location,
            schema: p.get("schema").cloned().unwrap_or(Value::Null),
        });
    }
    let body = match op.get("requestBody") {
        None => None,
        Some(rb) => {
            let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
            let schema = rb
                .pointer("/content/application~1json/schema")
                .cloned()
                .ok_or_else(|| format!("{id}: request body is not application/json"))?;
            Some((required, schema))
        }
    };
    let mut responses = BTreeMap::new();
    for (status, r) in op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        responses.insert(
            status.clone(),
            r.pointer("/content/application~1json/schema").cloned(),
        );
    }
    let segments = template
        .trim_start_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_owned()),
                None => Segment::Literal(s.to_owned()),
            },
        )
        .collect();
    Ok(Operation {
        id,
        method: method.to_ascii_uppercase(),
        template: template.to_owned(),
        segments,
        params,
        body,
        responses,
    })
}

/// A trailing `{name}` takes the rest of the path (MediaMTX path names may contain `/`,
/// and its router matches them that way); other parameters are one segment.
fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let mut catch_all = false;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match seg {
            Segment::Literal(l) => {
                if parts.get(i) != Some(&l.as_str()) {
                    return None;
                }
            }
            Segment::Param(name) => {
                catch_all = last && name == "name";
                let value = if catch_all {
                    parts.get(i..).map(|rest| rest.join("/"))?
                } else {
                    (*parts.get(i)?).to_owned()
                };
                if value.is_empty() {
                    return None;
                }
                params.insert(name.clone(), percent_decode(&value).ok()?);
            }
        }
    }
    (catch_all || parts.len() == segments.len()).then_some(params)
}

pub fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("bad percent escape in {text:?}"))?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .map_err(|_| format!("bad percent escape in {text:?}"))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
