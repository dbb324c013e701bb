//! The OpenRPC document as the test client's referee: every result and every notification
//! the black-box tests receive through [`crate::WsClient`] is validated against the schema
//! the document gives its method or topic, so a result that stops matching its schema fails
//! the test that received it.
//!
//! The document is the one `domain::contract::document` builds, which is what the binary
//! serves (`tests/tests/contract.rs` compares the two).

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{json, Value};

/// The document, with a placeholder server.
pub fn document() -> Value {
    domain::contract::document("test", "ws://127.0.0.1:0/ws")
}

struct Referee {
    /// Method name → its result's validator.
    results: HashMap<String, Validator>,
    /// Topic name → its event's validator (the notification's `params.result`).
    topics: HashMap<String, Validator>,
    /// Topic name → the notification method it arrives as.
    topic_methods: HashMap<String, String>,
    /// Notifications without a topic (`subscription_ended`) → their `result` validator.
    plain: HashMap<String, Validator>,
}

/// A validator of `schema` whose `$ref`s resolve in the document's components.
pub fn validator(doc: &Value, schema: &Value) -> Validator {
    let root = json!({
        "allOf": [schema],
        "components": doc["components"],
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the document's schema {schema} does not build: {e}"))
}

fn referee() -> &'static Referee {
    static REFEREE: OnceLock<Referee> = OnceLock::new();
    REFEREE.get_or_init(|| {
        let doc = document();
        let mut results = HashMap::new();
        for m in doc["methods"].as_array().expect("methods") {
            let name = m["name"].as_str().expect("a method name").to_owned();
            results.insert(name, validator(&doc, &m["result"]["schema"]));
        }
        let mut topics = HashMap::new();
        let mut topic_methods = HashMap::new();
        let mut plain = HashMap::new();
        for n in doc["x-notifications"].as_array().expect("x-notifications") {
            let method = n["name"].as_str().expect("a notification name").to_owned();
            let entries = n["x-topics"].as_array().expect("x-topics");
            if entries.is_empty() {
                let result = n["params"]
                    .as_array()
                    .and_then(|p| p.iter().find(|p| p["name"] == "result"))
                    .expect("a result param");
                plain.insert(method.clone(), validator(&doc, &result["schema"]));
            }
            for t in entries {
                let topic = t["name"].as_str().expect("a topic name").to_owned();
                topics.insert(topic.clone(), validator(&doc, &t["schema"]));
                topic_methods.insert(topic, method.clone());
            }
        }
        Referee {
            results,
            topics,
            topic_methods,
            plain,
        }
    })
}

fn explain(validator: &Validator, value: &Value) -> Result<(), String> {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Whether `result` matches the document's result schema of `method` (a method the
/// document does not list has no schema to break).
pub fn check_result(method: &str, result: &Value) -> Result<(), String> {
    match referee().results.get(method) {
        Some(v) => explain(v, result).map_err(|e| format!("{method} result {result}: {e}")),
        None => Ok(()),
    }
}

/// Whether a notification (the whole JSON-RPC message) matches the document: a known
/// notification method, `params.subscription`, and `params.result` valid for its topic,
/// which arrives as this method.
pub fn check_notification(message: &Value) -> Result<(), String> {
    let r = referee();
    let method = message["method"].as_str().unwrap_or_default();
    let params = &message["params"];
    if !(params["subscription"].is_u64()) {
        return Err(format!("{message}: params.subscription is not an id"));
    }
    let result = &params["result"];
    if let Some(v) = r.plain.get(method) {
        return explain(v, result).map_err(|e| format!("{method} {message}: {e}"));
    }
    let topic = result["topic"].as_str().unwrap_or_default();
    let (Some(v), Some(expected)) = (r.topics.get(topic), r.topic_methods.get(topic)) else {
        return Err(format!("{message}: topic {topic:?} is not in the document"));
    };
    if expected != method {
        return Err(format!(
            "{message}: topic {topic} arrives as {expected}, not {method}"
        ));
    }
    explain(v, result).map_err(|e| format!("{topic} event {result}: {e}"))
}
