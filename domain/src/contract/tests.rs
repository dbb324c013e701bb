use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

fn doc() -> Value {
    document("0.0.0", "ws://127.0.0.1:8002/ws")
}

#[test]
fn the_server_url_takes_a_plain_host_header_only() {
    assert_eq!(
        ws_url(Some("cam.lan:8002"), "0.0.0.0:8002"),
        "ws://cam.lan:8002/ws"
    );
    assert_eq!(ws_url(Some("[::1]:9"), "x:1"), "ws://[::1]:9/ws");
    assert_eq!(
        ws_url(Some("evil/path?x"), "127.0.0.1:8002"),
        "ws://127.0.0.1:8002/ws"
    );
    assert_eq!(ws_url(None, "127.0.0.1:8002"), "ws://127.0.0.1:8002/ws");
}

#[test]
fn every_method_has_a_row() {
    let rows = methods::rows();
    for m in Method::ALL {
        assert_eq!(
            rows.iter().filter(|r| r.method == *m).count(),
            1,
            "{} needs exactly one row in contract/methods.rs",
            m.name()
        );
    }
    assert_eq!(rows.len(), Method::ALL.len());
}

#[test]
fn params_schemas_name_the_registry_params() {
    let mut g = SchemaSettings::draft07()
        .for_deserialize()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    for row in methods::rows() {
        let schema = (row.params)(&mut g);
        let props: BTreeSet<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let names: BTreeSet<String> = row
            .method
            .param_names()
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(props, names, "params of {}", row.method.name());
    }
}

#[test]
fn the_document_lists_every_method_with_role_and_errors() {
    let d = doc();
    let methods = d["methods"].as_array().unwrap();
    assert_eq!(methods.len(), Method::ALL.len());
    for m in Method::ALL {
        let o = methods.iter().find(|o| o["name"] == m.name()).unwrap();
        assert_eq!(o["x-min-role"], role_text(m.min_role()));
        let codes: Vec<i64> = o["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_i64().unwrap())
            .collect();
        assert!(codes.contains(&-32602), "{}", m.name());
        assert_eq!(
            codes.contains(&-32001),
            m.min_role().is_some() || *m == Method::Authenticate
        );
        for c in codes {
            assert!(
                o["x-error-data"][c.to_string()].is_object(),
                "{} {c}",
                m.name()
            );
        }
    }
}

/// Every `$ref` points at a schema the document has.
#[test]
fn every_ref_resolves() {
    let d = doc();
    let mut refs = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r.clone());
                }
                o.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&d, &mut refs);
    assert!(refs.len() > 30);
    for r in refs {
        let pointer = r.strip_prefix('#').expect("local refs only");
        assert!(d.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[test]
fn every_topic_has_an_event_schema_in_its_notification() {
    let d = doc();
    let notes = d["x-notifications"].as_array().unwrap();
    for t in Topic::ALL {
        let n = notes
            .iter()
            .find(|n| n["name"] == t.notification_method())
            .unwrap();
        let entry = n["x-topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == t.name())
            .unwrap();
        assert_eq!(entry["x-min-role"], t.min_role().as_str());
        let name = event_schema_name(t);
        let s = &d["components"]["schemas"][&name];
        assert_eq!(s["properties"]["topic"]["const"], t.name(), "{name}");
    }
    assert_eq!(
        event_schema_name(Topic::CameraStatusChange),
        "EventCameraStatusChange"
    );
}

#[test]
fn positional_order_is_the_registry_order() {
    let d = doc();
    let snap = d["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "take_snapshot")
        .unwrap();
    let names: Vec<&str> = snap["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["device", "format", "quality", "filename"]);
    assert_eq!(snap["params"][0]["required"], true);
    assert_eq!(snap["params"][2]["required"], false);
}

#[test]
fn topic_patterns_are_each_listed_once_and_all_parse() {
    let mut g = SchemaGenerator::default();
    let s = topic_patterns(&mut g);
    let names: Vec<&str> = s
        .get("items")
        .and_then(|i| i.get("enum"))
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    for n in names {
        assert!(Topic::parse_pattern(n).is_some(), "{n}");
    }
}
