//! The Debian package, black-box: the .deb `scripts/package.sh --test` built (named by
//! `CS_PACKAGE_DEB`; scripts/test.sh sets it): its contents, conffiles and maintainer
//! scripts (dpkg-deb), its units (`systemd-analyze verify`), and the packaged binary,
//! unpacked into a throwaway root, running with its own config against a FUSE fake /dev.
//! Without `CS_PACKAGE_DEB` each test prints that it is skipped (a failure with
//! `CS_REQUIRE_PACKAGE=1`, as in CI).

use std::path::{Path, PathBuf};
use std::process::Command;

use cs_fakecam::{devices, plug, FakeCam, TempDir};
use cs_tests::notify::NotifySocket;
use cs_tests::{TestService, WsClient};
use serde_json::Value;

fn deb_or_skip(test: &str) -> Option<PathBuf> {
    match std::env::var_os("CS_PACKAGE_DEB").map(PathBuf::from) {
        Some(p) if p.exists() => Some(p),
        other => {
            let why = format!(
                "{test}: no .deb ({other:?}); run scripts/package.sh --test and set CS_PACKAGE_DEB"
            );
            assert!(
                std::env::var("CS_REQUIRE_PACKAGE").as_deref() != Ok("1"),
                "{why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("dpkg-deb runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn unpack(deb: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(root.path())
        .output()
        .expect("dpkg-deb runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root
}

#[test]
fn the_deb_holds_the_binary_unit_and_config_as_a_conffile() {
    let Some(deb) = deb_or_skip("the_deb_holds_the_binary_unit_and_config_as_a_conffile") else {
        return;
    };
    let contents = dpkg_deb(&["-c"], &deb);
    for (mode, path) in [
        ("-rwxr-xr-x", "./usr/bin/camera-service"),
        ("-rw-r-----", "./etc/camera-service/config.yaml"),
        ("-rw-r--r--", "./lib/systemd/system/camera-service.service"),
        (
            "-rw-r--r--",
            "./usr/share/doc/camera-service/examples/mediamtx.service",
        ),
    ] {
        assert!(
            contents
                .lines()
                .any(|l| l.starts_with(mode) && l.ends_with(path)),
            "{path} ({mode}) missing:\n{contents}"
        );
    }
    let control = dpkg_deb(&["-f"], &deb);
    assert!(control.contains("Package: camera-service"), "{control}");
    let depends = control
        .lines()
        .find(|l| l.starts_with("Depends:"))
        .unwrap_or_default();
    assert!(depends.contains("ffmpeg"), "{depends}");

    let ctl = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(ctl.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let conffiles = std::fs::read_to_string(ctl.path().join("conffiles")).unwrap();
    assert_eq!(conffiles.trim(), "/etc/camera-service/config.yaml");
    for script in ["postinst", "prerm", "postrm"] {
        let path = ctl.path().join(script);
        let meta = std::fs::metadata(&path).unwrap_or_else(|_| panic!("{script} missing"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            meta.permissions().mode() & 0o111,
            0o111,
            "{script} executable"
        );
        let syntax = Command::new("sh").arg("-n").arg(&path).status().unwrap();
        assert!(syntax.success(), "{script} is valid sh");
    }
    let postinst = std::fs::read_to_string(ctl.path().join("postinst")).unwrap();
    assert!(
        postinst.contains("useradd --system --user-group --groups video"),
        "the user is created in the video group:\n{postinst}"
    );
    let postrm = std::fs::read_to_string(ctl.path().join("postrm")).unwrap();
    let purge = postrm
        .find("\"$1\" = \"purge\"")
        .expect("postrm handles purge");
    let rm = postrm
        .find("rm -rf /var/lib/camera-service")
        .expect("purge deletes state");
    assert!(rm > purge, "state is deleted only on purge:\n{postrm}");
}

#[test]
fn the_packaged_config_has_production_defaults() {
    let Some(deb) = deb_or_skip("the_packaged_config_has_production_defaults") else {
        return;
    };
    let root = unpack(&deb);
    let bin = root.path().join("usr/bin/camera-service");
    let out = Command::new(&bin)
        .arg("--config")
        .arg(root.path().join("etc/camera-service/config.yaml"))
        .args(["serve", "--print-config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(config["camera"]["device_dir"], "/dev");
    assert_eq!(
        config["camera"]["simulated"],
        serde_yaml::Value::Sequence(vec![])
    );
    assert_eq!(config["storage"]["state_dir"], "/var/lib/camera-service");
    assert_eq!(
        config["auth"]["jwt_secret_file"],
        "/var/lib/camera-service/jwt-secret"
    );
}

#[test]
fn the_units_pass_systemd_analyze_verify() {
    let Some(deb) = deb_or_skip("the_units_pass_systemd_analyze_verify") else {
        return;
    };
    let root = unpack(&deb);
    let bin = root.path().join("usr/bin/camera-service");
    let units = tempfile::tempdir().unwrap();
    // The executables must exist: point them at the unpacked binary (and a stand-in for
    // MediaMTX, which is not packaged); everything else is verified as shipped.
    for (unit, from, to) in [
        (
            "lib/systemd/system/camera-service.service",
            "/usr/bin/camera-service",
            bin.display().to_string(),
        ),
        (
            "usr/share/doc/camera-service/examples/mediamtx.service",
            "/usr/local/bin/mediamtx",
            bin.display().to_string(),
        ),
    ] {
        let text = std::fs::read_to_string(root.path().join(unit)).unwrap();
        let name = Path::new(unit).file_name().unwrap();
        std::fs::write(units.path().join(name), text.replace(from, &to)).unwrap();
    }
    for name in ["camera-service.service", "mediamtx.service"] {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(units.path().join(name))
            .output()
            .expect("systemd-analyze runs (apt install systemd)");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let unit = std::fs::read_to_string(units.path().join("camera-service.service")).unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=30s",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/camera-service",
        "DevicePolicy=closed",
        "DeviceAllow=char-video4linux rw",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=",
        "MemoryMax=1G",
    ] {
        assert!(unit.lines().any(|l| l == line), "unit lacks {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unpacked_package_runs_against_a_fuse_fake_dev() {
    let test = "the_unpacked_package_runs_against_a_fuse_fake_dev";
    let Some(deb) = deb_or_skip(test) else {
        return;
    };
    let Some(bench) = FakeCam::mount_or_skip(test, [("cap", devices::uvc_capture())]) else {
        return;
    };
    let root = unpack(&deb);
    let r = root.path();
    let dev = TempDir::new("pkg-dev").unwrap();
    plug(dev.path(), 3, &bench.node("cap")).unwrap();
    // The packaged config, its paths moved into the throwaway root.
    let packaged = std::fs::read_to_string(r.join("etc/camera-service/config.yaml")).unwrap();
    let mut config: serde_yaml::Value = serde_yaml::from_str(&packaged).unwrap();
    let state = r.join("var/lib/camera-service");
    std::fs::create_dir_all(&state).unwrap();
    let s = state.display();
    config["server"]["host"] = "127.0.0.1".into();
    config["server"]["port"] = 0.into();
    config["camera"]["device_dir"] = dev.path().display().to_string().into();
    config["camera"]["accept_file_nodes"] = true.into();
    config["media"]["mode"] = "direct".into();
    config["auth"]["jwt_secret_file"] = format!("{s}/jwt-secret").into();
    config["auth"]["keys_file"] = format!("{s}/api-keys.json").into();
    config["storage"]["recordings_dir"] = format!("{s}/recordings").into();
    config["storage"]["snapshots_dir"] = format!("{s}/snapshots").into();
    config["storage"]["state_dir"] = s.to_string().into();
    config["storage"]["min_free_bytes"] = 1_048_576.into();
    config["logging"]["audit_file"] = format!("{s}/audit.log").into();
    config["logging"]["format"] = "json".into();
    let path = r.join("etc/camera-service/config.yaml");
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();

    let sock = NotifySocket::bind();
    let svc = TestService::spawn_binary(
        &r.join("usr/bin/camera-service"),
        path,
        vec![("NOTIFY_SOCKET".into(), sock.path())],
    );
    sock.wait_for(0, 10.0, |m| m.has("READY=1"))
        .expect("the packaged service says READY=1");
    // The JWT secret is created on first start, private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.join("jwt-secret"))
        .expect("the secret is created on first start")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The packaged CLI signs with that secret.
    let out = svc.cli(&["token", "--role", "viewer", "--lifetime", "10m"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let mut ws = WsClient::connect(&svc.ws_url(), None).await;
    let r = ws
        .call("authenticate", serde_json::json!({"auth_token": token}))
        .await;
    assert_eq!(r["result"]["authenticated"], true, "{r}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = ws.ok("get_camera_list", Value::Null).await;
        let cams = list["cameras"].as_array().cloned().unwrap_or_default();
        if cams
            .iter()
            .any(|c| c["device"] == "camera3" && c["status"] == "CONNECTED")
        {
            assert_eq!(
                list["total"], 1,
                "no simulated camera in production: {list}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the fake camera never connected: {list}\n{}",
            svc.logs().join("\n")
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
