//! The client contract as code: the OpenRPC 1.3 document `rpc.discover` answers and
//! `camera-service openrpc` prints, built from the method registry (`Method::ALL`), the
//! params types `Call::parse` uses, the result and event types the use cases build
//! (`results`, `notifications`) and the errors' `data` shapes (`errors`).
//!
//! Adding a method: a registry line (`methods!` in `api.rs`), a `Call` variant, a row in
//! `methods.rs`, a row in docs/api.md. The tests here and in `tests/tests/contract.rs` and
//! `tests/tests/docs.rs` fail until all four are there.
//!
//! Extensions (OpenRPC allows `x-` members): `x-min-role` on each method (`none`, `viewer`,
//! `operator`, `admin`); `x-error-data` on each method (error code → schema of `data`);
//! `x-notifications` at the top: the subscription notifications, each with its `params`
//! (`subscription`, `result`) and `x-topics` (topic name, `x-min-role`, the event's schema).

pub mod errors;
pub mod methods;
pub mod notifications;
mod primitives;
pub mod results;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::error::ErrorKind;
use crate::events::Topic;
use crate::time::Timestamp;
use crate::{CameraId, Method};

/// The OpenRPC version the document follows.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// Where the schemas live in the document.
const SCHEMAS: &str = "/components/schemas";

/// `topics` of `subscribe_events`: names, group wildcards or `*`.
pub(crate) fn topic_patterns(_: &mut SchemaGenerator) -> Schema {
    let mut names: Vec<String> = Topic::ALL.iter().map(|t| t.name().to_owned()).collect();
    for t in Topic::ALL {
        if let Some(group) = t.name().split('.').next() {
            let wildcard = format!("{group}.*");
            if !names.contains(&wildcard) {
                names.push(wildcard);
            }
        }
    }
    names.push("*".into());
    json_schema!({
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "enum": names}
    })
}

/// A subscription id as a client may send it back.
pub(crate) fn subscription_id(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": ["integer", "string"]})
}

fn role_text(role: Option<crate::Role>) -> &'static str {
    role.map(|r| r.as_str()).unwrap_or("none")
}

/// The name of a topic's event schema in `components.schemas`.
pub fn event_schema_name(topic: Topic) -> String {
    let mut name = String::from("Event");
    for part in topic.name().split(['.', '_']) {
        let mut c = part.chars();
        if let Some(first) = c.next() {
            name.push(first.to_ascii_uppercase());
            name.extend(c);
        }
    }
    name
}

/// The generator's draft-07 adjustments, for schemas taken inline (not through a `$ref`).
fn apply_transforms(g: &mut SchemaGenerator, schema: &mut Schema) {
    for t in g.transforms_mut() {
        t.transform(schema);
    }
}

/// A topic's event: its fields plus the envelope (`topic`, `timestamp`, `device` for events
/// about a camera, `dropped` when the subscriber lost events before it).
fn event_schema(topic: Topic, g: &mut SchemaGenerator) -> Schema {
    let mut schema = notifications::fields_schema(topic, g);
    let timestamp = g.subschema_for::<Timestamp>();
    let device = g.subschema_for::<CameraId>();
    let obj = schema.ensure_object();
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(props) = props {
        props.insert("topic".into(), json!({"const": topic.name()}));
        props.insert("timestamp".into(), timestamp.to_value());
        if notifications::has_device(topic) {
            props.insert("device".into(), device.to_value());
        }
        props.insert(
            "dropped".into(),
            json!({"description": "Events this subscriber lost just before this one.", "type": "integer", "minimum": 1}),
        );
    }
    let required = obj
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(req) = required {
        req.push("topic".into());
        req.push("timestamp".into());
        if notifications::has_device(topic) {
            req.push("device".into());
        }
    }
    schema
}

/// Splits an object schema into OpenRPC content descriptors, in the positional order.
fn params_of(method: Method, schema: &Schema) -> Vec<Value> {
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    method
        .param_names()
        .iter()
        .map(|name| {
            let mut s = props.get(*name).cloned().unwrap_or(json!({}));
            let description = s.as_object_mut().and_then(|o| o.remove("description"));
            let mut d = json!({
                "name": name,
                "required": required.contains(name),
                "schema": s,
            });
            if let Some(text) = description {
                d["description"] = text;
            }
            d
        })
        .collect()
}

fn error_object(kind: ErrorKind) -> Value {
    json!({"code": kind.code(), "message": kind.message()})
}

/// The whole document. `version` is the service's; `server_url` the `/ws` URL clients
/// connect to (`ws://host:port/ws`).
pub fn document(version: &str, server_url: &str) -> Value {
    let mut results = SchemaSettings::draft07()
        .for_serialize()
        .with(|s| {
            s.definitions_path = SCHEMAS.into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut params = SchemaSettings::draft07()
        .for_deserialize()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();

    let mut method_objects = Vec::new();
    for row in methods::rows() {
        let mut p = (row.params)(&mut params);
        apply_transforms(&mut params, &mut p);
        let result = (row.result)(&mut results);
        let errors = row.all_errors();
        let mut error_data = Map::new();
        for kind in &errors {
            error_data.insert(
                kind.code().to_string(),
                errors::data_schema(*kind, &mut results).to_value(),
            );
        }
        method_objects.push(json!({
            "name": row.method.name(),
            "summary": row.summary,
            "paramStructure": "by-name",
            "params": params_of(row.method, &p),
            "result": {"name": format!("{}_result", row.method.name().replace('.', "_")), "schema": result},
            "errors": errors.iter().map(|k| error_object(*k)).collect::<Vec<_>>(),
            "x-min-role": role_text(row.method.min_role()),
            "x-error-data": error_data,
        }));
    }

    let mut events = Map::new();
    for topic in Topic::ALL {
        let mut s = event_schema(topic, &mut results);
        apply_transforms(&mut results, &mut s);
        events.insert(event_schema_name(topic), s.to_value());
    }
    let subscription = results.subschema_for::<results::SubscriptionId>();
    let mut notifications = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for topic in Topic::ALL {
        let method = topic.notification_method();
        if seen.contains(&method) {
            continue;
        }
        seen.push(method);
        let topics: Vec<Topic> = Topic::ALL
            .into_iter()
            .filter(|t| t.notification_method() == method)
            .collect();
        let refs: Vec<Value> = topics
            .iter()
            .map(|t| json!({"$ref": format!("#{SCHEMAS}/{}", event_schema_name(*t))}))
            .collect();
        notifications.push(json!({
            "name": method,
            "summary": format!("An event of {}.", topics.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")),
            "params": [
                {"name": "subscription", "required": true, "schema": subscription.clone().to_value()},
                {"name": "result", "required": true, "schema": {"oneOf": refs}},
            ],
            "x-topics": topics.iter().map(|t| json!({
                "name": t.name(),
                "x-min-role": t.min_role().as_str(),
                "schema": {"$ref": format!("#{SCHEMAS}/{}", event_schema_name(*t))},
            })).collect::<Vec<_>>(),
        }));
    }
    let ended = results.subschema_for::<notifications::SubscriptionEnded>();
    notifications.push(json!({
        "name": notifications::SUBSCRIPTION_ENDED,
        "summary": "The last notification of a subscription the service ended (the credential expired or was revoked).",
        "params": [
            {"name": "subscription", "required": true, "schema": subscription.to_value()},
            {"name": "result", "required": true, "schema": ended.to_value()},
        ],
        "x-topics": [],
    }));

    let mut schemas = results.take_definitions(true);
    for (name, schema) in events {
        schemas.insert(name, schema);
    }
    json!({
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "camera-service",
            "version": version,
            "description": "Cameras as JSON-RPC 2.0 over WebSocket. Every method but ping, rpc.discover and authenticate needs an authenticated connection with x-min-role or above. Events: subscribe_events, then the notifications of x-notifications (each event's schema by topic in x-topics).",
            "license": {"name": "MIT"},
        },
        "servers": [{"name": "camera-service", "url": server_url}],
        "methods": method_objects,
        "components": {"schemas": schemas},
        "x-notifications": notifications,
    })
}

/// The `/ws` URL for the document's `servers`: the request's `Host` header when it is a
/// plain host name or address with an optional port, else `fallback` (`host:port`).
pub fn ws_url(host_header: Option<&str>, fallback: &str) -> String {
    let plain = |h: &str| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
    };
    match host_header.map(str::trim) {
        Some(h) if plain(h) => format!("ws://{h}/ws"),
        _ => format!("ws://{fallback}/ws"),
    }
}

#[cfg(test)]
mod tests;
