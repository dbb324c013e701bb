//! The hexagonal layering of ARCHITECTURE.md, enforced: reads `cargo metadata` and the
//! sources, and fails when a layer gains a dependency it must not have.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON")
}

/// Normal (non-dev, non-build) dependencies of a workspace package.
fn deps(meta: &Value, package: &str) -> BTreeSet<String> {
    let p = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == package)
        .unwrap_or_else(|| panic!("package {package} is in the workspace"));
    p["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null())
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect()
}

fn adapter_packages(meta: &Value) -> Vec<String> {
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["manifest_path"].as_str().unwrap().contains("/adapters/"))
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn domain_depends_only_on_pure_data_crates() {
    // schemars: the JSON Schemas of the contract's params, results and events are derived
    // from the domain's own types (the OpenRPC document, domain::contract); it is data
    // description only, no I/O.
    let allowed = ["serde", "serde_json", "thiserror", "time", "schemars"];
    let got = deps(&metadata(), "cs-domain");
    let extra: Vec<_> = got
        .iter()
        .filter(|d| !allowed.contains(&d.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "domain gained dependencies {extra:?}; it must stay pure"
    );
}

#[test]
fn ports_depend_only_on_the_domain() {
    let allowed = ["cs-domain", "async-trait", "serde_json", "thiserror"];
    let got = deps(&metadata(), "cs-ports");
    let extra: Vec<_> = got
        .iter()
        .filter(|d| !allowed.contains(&d.as_str()))
        .collect();
    assert!(extra.is_empty(), "ports gained dependencies {extra:?}");
}

#[test]
fn adapters_never_depend_on_the_app() {
    let meta = metadata();
    for a in adapter_packages(&meta) {
        assert!(!deps(&meta, &a).contains("cs-app"), "{a} depends on cs-app");
    }
}

#[test]
fn only_adapters_know_the_outside_world() {
    let io = [
        "nix",
        "inotify",
        "ureq",
        "jsonrpsee",
        "hyper",
        "argon2",
        "jsonwebtoken",
        "fuser",
        "rumqttc",
    ];
    let meta = metadata();
    for p in ["cs-domain", "cs-ports", "cs-config", "cs-app"] {
        let got = deps(&meta, p);
        let bad: Vec<_> = io.iter().filter(|c| got.contains(**c)).collect();
        assert!(bad.is_empty(), "{p} depends on {bad:?}: only adapters may");
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("source dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// Source files of `app` other than the composition root never name a concrete adapter.
#[test]
fn use_cases_name_no_concrete_adapter() {
    let meta = metadata();
    let adapters: Vec<String> = adapter_packages(&meta)
        .iter()
        .map(|a| a.replace('-', "_"))
        .collect();
    let root_files = ["root.rs", "cli.rs", "logging.rs", "main.rs"];
    for f in rust_files(&workspace_root().join("app/src")) {
        let name = f.file_name().unwrap().to_str().unwrap();
        if root_files.contains(&name) {
            continue;
        }
        // `fakes/` (the app's unit-test fixtures) may describe a camera with the simulated
        // camera adapter, itself the stand-in for hardware; no other adapter.
        let fixture = f.components().any(|c| c.as_os_str() == "fakes");
        let text = std::fs::read_to_string(&f).unwrap();
        for a in adapters.iter().filter(|a| !(fixture && *a == "cs_sim")) {
            assert!(
                !text.contains(&format!("{a}::")),
                "{} names the adapter {a}",
                f.display()
            );
        }
    }
}

/// The domain does no I/O and reads no clock.
#[test]
fn domain_sources_do_no_io() {
    let banned = [
        "std::fs",
        "std::net",
        "std::process",
        "SystemTime",
        "Instant::now",
        "tokio",
        "std::io::",
    ];
    for f in rust_files(&workspace_root().join("domain/src")) {
        let text = std::fs::read_to_string(&f).unwrap();
        for b in banned {
            assert!(!text.contains(b), "{} uses {b}", f.display());
        }
    }
}
