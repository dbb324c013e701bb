//! docs/api.md describes what the code serves: its tables are checked against the code.

use std::path::Path;

use domain::events::Topic;
use domain::{ErrorKind, Method};

fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md"))
        .expect("docs/api.md exists")
}

/// Rows of the table whose header starts with `first_header`: cells without backticks.
fn table(doc: &str, first_header: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in doc.lines() {
        let line = line.trim();
        if line.starts_with(&format!("| {first_header} |")) {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with('|') {
                break;
            }
            if line.starts_with("|---") {
                continue;
            }
            rows.push(
                line.trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().replace('`', ""))
                    .collect(),
            );
        }
    }
    rows
}

#[test]
fn every_method_is_documented_with_its_role() {
    let doc = doc();
    let rows = table(&doc, "method");
    assert_eq!(rows.len(), Method::ALL.len(), "one row per method");
    for m in Method::ALL {
        let row = rows
            .iter()
            .find(|r| r[0] == m.name())
            .unwrap_or_else(|| panic!("{} is not in docs/api.md", m.name()));
        let role = m.min_role().map(|r| r.as_str()).unwrap_or("none");
        assert_eq!(row[1], role, "role of {}", m.name());
    }
}

#[test]
fn every_error_code_is_documented() {
    let doc = doc();
    let rows = table(&doc, "code");
    for k in ErrorKind::ALL {
        let row = rows
            .iter()
            .find(|r| r[0] == k.code().to_string())
            .unwrap_or_else(|| panic!("code {} is not in docs/api.md", k.code()));
        assert_eq!(row[1], k.message(), "message of {}", k.code());
    }
}

#[test]
fn every_topic_is_documented_with_its_notification_and_role() {
    let doc = doc();
    let rows = table(&doc, "topic");
    for t in Topic::ALL {
        let row = rows
            .iter()
            .find(|r| r[0].split(", ").any(|name| name == t.name()))
            .unwrap_or_else(|| panic!("topic {} is not in docs/api.md", t.name()));
        assert_eq!(row[1], t.notification_method(), "method of {}", t.name());
        assert_eq!(row[2], t.min_role().as_str(), "role of {}", t.name());
    }
}

/// The OpenRPC document (what `rpc.discover` serves) and docs/api.md tell the same methods,
/// roles, topics and notification methods, both ways.
#[test]
fn the_openrpc_document_and_the_docs_agree() {
    let doc = doc();
    let contract = domain::contract::document("docs", "ws://127.0.0.1:8002/ws");

    let rows = table(&doc, "method");
    let methods = contract["methods"].as_array().expect("methods");
    for m in methods {
        let name = m["name"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name} of the document is not in docs/api.md"));
        assert_eq!(row[1], m["x-min-role"].as_str().unwrap(), "role of {name}");
    }
    for row in &rows {
        assert!(
            methods.iter().any(|m| m["name"] == row[0].as_str()),
            "{} of docs/api.md is not in the document",
            row[0]
        );
    }

    let rows = table(&doc, "topic");
    let mut documented = Vec::new();
    for n in contract["x-notifications"]
        .as_array()
        .expect("x-notifications")
    {
        for t in n["x-topics"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            documented.push(name.to_owned());
            let row = rows
                .iter()
                .find(|r| r[0].split(", ").any(|x| x == name))
                .unwrap_or_else(|| panic!("topic {name} of the document is not in docs/api.md"));
            assert_eq!(row[1], n["name"].as_str().unwrap(), "method of {name}");
            assert_eq!(row[2], t["x-min-role"].as_str().unwrap(), "role of {name}");
        }
    }
    for row in &rows {
        for name in row[0].split(", ") {
            assert!(
                documented.iter().any(|d| d == name),
                "topic {name} of docs/api.md is not in the document"
            );
        }
    }
    // The transport's own notification is documented too.
    assert!(
        contract["x-notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "subscription_ended")
            && doc.contains("subscription_ended")
    );
}
