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
