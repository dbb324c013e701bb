//! The OpenRPC document is checked, not trusted: what `rpc.discover` serves before
//! authentication validates against the OpenRPC meta-schema (docs/contract/), the check can
//! fail, every `$ref` resolves, the CLI prints the same document, and the test client's
//! schema check of results and notifications (tests/src/contract.rs) names what broke.

use std::path::Path;

use cs_tests::contract::{check_notification, check_result, document};
use cs_tests::TestService;
use domain::Role;
use serde_json::{json, Value};

fn contract_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/contract")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is in the repo: {e}", path.display()));
    serde_json::from_str(&text).expect("the meta-schema is JSON")
}

/// The meta-schema check's errors for `doc` (empty: valid). The JSON Schema meta-schema
/// the OpenRPC one references is registered from the repo's copy: no network.
fn meta_schema_errors(doc: &Value) -> Vec<String> {
    let jst = contract_file("json-schema-tools-meta-schema.json");
    let registry = jsonschema::Registry::new()
        .add("https://meta.json-schema.tools", jst.clone())
        .expect("the JSON Schema meta-schema registers")
        .add("https://meta.json-schema.tools/", jst)
        .expect("the JSON Schema meta-schema registers")
        .prepare()
        .expect("the registry prepares");
    let meta = contract_file("openrpc-meta-schema.json");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .with_registry(&registry)
        .build(&meta)
        .expect("the OpenRPC meta-schema builds");
    validator
        .iter_errors(doc)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect()
}

#[tokio::test]
async fn rpc_discover_before_authentication_validates_against_the_openrpc_meta_schema() {
    let svc = TestService::start();
    let mut ws = svc.ws().await;
    let doc = ws.ok("rpc.discover", Value::Null).await;
    let errors = meta_schema_errors(&doc);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(doc["openrpc"], domain::contract::OPENRPC_VERSION);
    // The server is the /ws URL the client used (its Host header).
    assert_eq!(doc["servers"][0]["url"], svc.ws_url());
    // What the binary serves is what the test client validates against.
    let local = document();
    for key in ["methods", "components", "x-notifications"] {
        assert_eq!(doc[key], local[key], "{key} differs from domain::contract");
    }
    // Every method of the registry, with its role.
    for m in domain::Method::ALL {
        let o = doc["methods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == m.name())
            .unwrap_or_else(|| panic!("{} is not in the document", m.name()));
        let role = m.min_role().map(Role::as_str).unwrap_or("none");
        assert_eq!(o["x-min-role"], role, "{}", m.name());
    }
}

#[test]
fn the_meta_schema_check_rejects_a_broken_document() {
    let good = document();
    assert!(meta_schema_errors(&good).is_empty());
    let mut cases = Vec::new();
    let mut no_info = good.clone();
    no_info.as_object_mut().unwrap().remove("info");
    cases.push(("no info", no_info, ""));
    let mut version = good.clone();
    version["openrpc"] = json!("2.0.0");
    cases.push(("another version", version, "/openrpc"));
    let mut params = good.clone();
    params["methods"][3]["params"] = json!("device");
    cases.push(("params not a list", params, "/methods/3"));
    let mut error = good.clone();
    error["methods"][3]["errors"][0]["code"] = json!("-32000");
    cases.push(("an error code as text", error, "/methods/3"));
    let mut schema = good.clone();
    schema["methods"][4]["result"]["schema"] = json!({"type": 7});
    cases.push(("a schema that is not one", schema, "/methods/4"));
    for (what, doc, path) in cases {
        let errors = meta_schema_errors(&doc);
        assert!(!errors.is_empty(), "{what}: accepted");
        assert!(
            errors.iter().any(|e| e.contains(path)),
            "{what}: {errors:?} do not name {path}"
        );
    }
}

#[test]
fn every_ref_resolves_in_the_document() {
    let doc = document();
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
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let target = r
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .unwrap_or_else(|| panic!("{r} does not resolve"));
        assert!(target.is_object(), "{r} is not a schema");
    }
}

#[tokio::test]
async fn a_result_that_stops_matching_its_schema_fails_naming_the_path() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    let list = ws.ok("get_camera_list", Value::Null).await;
    assert!(check_result("get_camera_list", &list).is_ok());
    assert!(list["cameras"][0].is_object(), "{list}");

    let mut bad = list.clone();
    bad["cameras"][0]["status"] = json!("MELTED");
    let e = check_result("get_camera_list", &bad).unwrap_err();
    assert!(e.contains("/cameras/0/status"), "{e}");

    let mut missing = list.clone();
    missing.as_object_mut().unwrap().remove("total");
    let e = check_result("get_camera_list", &missing).unwrap_err();
    assert!(e.contains("total"), "{e}");

    let status = ws.ok("get_status", Value::Null).await;
    let mut bad = status.clone();
    bad["uptime"] = json!("long");
    let e = check_result("get_status", &bad).unwrap_err();
    assert!(e.contains("/uptime"), "{e}");

    let metrics = ws.ok("get_metrics", Value::Null).await;
    let mut bad = metrics.clone();
    bad["requests"]["total"] = json!(-1);
    let e = check_result("get_metrics", &bad).unwrap_err();
    assert!(e.contains("/requests/total"), "{e}");
}

#[tokio::test]
async fn a_notification_that_stops_matching_its_topic_fails_naming_the_path() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    ws.ok("subscribe_events", json!({"topics": ["camera.*"]}))
        .await;
    svc.plug_sim(7, "contract cam");
    let note = ws
        .notification(20.0)
        .await
        .expect("camera.connected arrives");
    assert_eq!(
        note["params"]["result"]["topic"], "camera.connected",
        "{note}"
    );
    assert!(check_notification(&note).is_ok());

    let mut bad = note.clone();
    bad["params"]["result"]["fps"] = json!("fast");
    let e = check_notification(&bad).unwrap_err();
    assert!(e.contains("/fps"), "{e}");

    let mut wrong_method = note.clone();
    wrong_method["method"] = json!("snapshot_update");
    assert!(check_notification(&wrong_method).is_err());

    let mut unknown = note;
    unknown["params"]["result"]["topic"] = json!("camera.melted");
    assert!(check_notification(&unknown).is_err());
}

#[test]
fn the_cli_prints_the_document_without_a_server() {
    let out = std::process::Command::new(cs_tests::service::binary())
        .args(["openrpc", "--url", "ws://cam.example:8002/ws"])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed["servers"][0]["url"], "ws://cam.example:8002/ws");
    assert!(meta_schema_errors(&printed).is_empty());
    let local = document();
    assert_eq!(printed["methods"], local["methods"]);
    assert_eq!(printed["x-notifications"], local["x-notifications"]);
}
