use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn empty_text_is_the_built_in_default_with_two_simulated_cameras() {
    let c = Config::from_yaml_with_env("", "t", env(&[])).unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(c.camera.simulated.len(), 2);
    assert_eq!(c.server.port, 8002);
}

#[test]
fn file_values_override_defaults() {
    let c = Config::from_yaml_with_env("server:\n  port: 9000\n", "t", env(&[])).unwrap();
    assert_eq!(c.server.port, 9000);
    assert_eq!(c.server.host, "0.0.0.0");
}

#[test]
fn env_overrides_the_file() {
    let c = Config::from_yaml_with_env(
        "server:\n  port: 9000\n",
        "t",
        env(&[
            ("CAMERA_SERVICE_SERVER_PORT", "9001"),
            ("CAMERA_SERVICE_SERVER_MAX_CONNECTIONS", "77"),
            ("CAMERA_SERVICE_MEDIA_MODE", "direct"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.server.port, 9001);
    assert_eq!(c.server.max_connections, 77);
    assert_eq!(c.media.mode, MediaMode::Direct);
}

#[test]
fn env_can_set_a_list() {
    let c = Config::from_yaml_with_env(
        "",
        "t",
        env(&[(
            "CAMERA_SERVICE_CAMERA_SIMULATED",
            "[{index: 5, name: Five}]",
        )]),
    )
    .unwrap();
    assert_eq!(c.camera.simulated.len(), 1);
    assert_eq!(c.camera.simulated[0].name, "Five");
}

#[test]
fn unknown_env_key_is_named() {
    let err = Config::from_yaml_with_env("", "t", env(&[("CAMERA_SERVICE_SERVER_PROT", "1")]))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("CAMERA_SERVICE_SERVER_PROT") && text.contains("prot"),
        "{text}"
    );
}

#[test]
fn unknown_file_key_is_named() {
    let err = Config::from_yaml_with_env("server:\n  prot: 1\n", "t", env(&[])).unwrap_err();
    assert!(err.to_string().contains("prot"), "{err}");
}

#[test]
fn invalid_values_name_key_and_value() {
    let cases = [
        ("server:\n  host: nowhere\n", "server.host", "nowhere"),
        ("auth:\n  rate_per_second: 0\n", "auth.rate_per_second", "0"),
        ("logging:\n  level: loud\n", "logging.level", "loud"),
        (
            "camera:\n  simulated: [{index: 1000}]\n",
            "camera.simulated[0].index",
            "1000",
        ),
        (
            "camera:\n  simulated: [{index: 1, resolutions: [big]}]\n",
            "camera.simulated[0].resolutions",
            "big",
        ),
        (
            "camera:\n  simulated: [{index: 1}, {index: 1}]\n",
            "camera.simulated[1].index",
            "1",
        ),
        (
            "mediamtx:\n  api_url: ftp://x\n",
            "mediamtx.api_url",
            "ftp://x",
        ),
    ];
    for (yaml, key, value) in cases {
        let err = Config::from_yaml_with_env(yaml, "t", env(&[]))
            .expect_err(yaml)
            .to_string();
        assert!(
            err.contains(key) && err.contains(value),
            "{yaml:?} gave {err}"
        );
    }
}

#[test]
fn wrong_types_are_reported() {
    let err = Config::from_yaml_with_env("server:\n  port: lots\n", "t", env(&[])).unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
}

#[test]
fn secrets_are_never_printed() {
    let c = Config::from_yaml_with_env(
        "",
        "t",
        env(&[(
            "CAMERA_SERVICE_AUTH_JWT_SECRET",
            "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
        )]),
    )
    .unwrap();
    assert_eq!(
        c.auth.jwt_secret.as_ref().unwrap().expose(),
        "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
    );
    assert!(!format!("{c:?}").contains("s3cr3t"));
    assert!(!c.to_redacted_yaml().contains("s3cr3t"));
}

#[test]
fn short_secret_is_refused() {
    let err =
        Config::from_yaml_with_env("", "t", env(&[("CAMERA_SERVICE_AUTH_JWT_SECRET", "short")]))
            .unwrap_err();
    assert!(err.to_string().contains("auth.jwt_secret"), "{err}");
    assert!(!err.to_string().contains("short"));
}

#[test]
fn missing_explicit_file_is_an_error() {
    let err =
        Config::load(Some(std::path::Path::new("/nonexistent/c.yaml")), env(&[])).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/c.yaml"));
}

#[test]
fn a_video_encoding_outside_stanag_4406_is_refused_naming_the_key() {
    let c = Config::from_yaml_with_env("", "t", env(&[])).unwrap();
    assert_eq!(
        c.media.video.encoding().unwrap(),
        domain::media::VideoEncoding::standard()
    );
    for (yaml, key) in [
        (
            "media:\n  video:\n    profile: high\n",
            "media.video.profile",
        ),
        ("media:\n  video:\n    level: '4.1'\n", "media.video.level"),
        (
            "media:\n  video:\n    bitrate_kbps: 4000\n",
            "media.video.bitrate_kbps",
        ),
        (
            "media:\n  video:\n    gop_secs: 10\n",
            "media.video.gop_secs",
        ),
        (
            "media:\n  video:\n    pixel_format: yuv444p\n",
            "media.video.pixel_format",
        ),
        (
            "media:\n  video:\n    max_resolution: 1920x1080\n",
            "media.video.max_resolution",
        ),
    ] {
        let err = Config::from_yaml_with_env(yaml, "t", env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{yaml}: {err}");
    }
}

#[test]
fn a_video_level_may_be_written_as_a_number() {
    let c =
        Config::from_yaml_with_env("media:\n  video:\n    level: 2.1\n", "t", env(&[])).unwrap();
    assert_eq!(
        c.media.video.encoding().unwrap().level(),
        domain::media::H264Level::L2_1
    );
    let c = Config::from_yaml_with_env(
        "",
        "t",
        env(&[("CAMERA_SERVICE_MEDIA_VIDEO", "{level: 3}")]),
    )
    .unwrap();
    assert_eq!(c.media.video.level, "3.0");
    assert_eq!(c.media.video.bitrate_kbps, 1000);
}

#[test]
fn port_zero_for_mediamtx_and_a_stall_time_out_of_range_are_refused_naming_the_key() {
    for (yaml, key, value) in [
        ("mediamtx:\n  rtsp_port: 0\n", "mediamtx.rtsp_port", "0"),
        ("mediamtx:\n  webrtc_port: 0\n", "mediamtx.webrtc_port", "0"),
        ("mediamtx:\n  hls_port: 0\n", "mediamtx.hls_port", "0"),
        ("recording:\n  stall_secs: 2\n", "recording.stall_secs", "2"),
        (
            "recording:\n  stall_secs: 3601\n",
            "recording.stall_secs",
            "3601",
        ),
    ] {
        let err = Config::from_yaml_with_env(yaml, "t", env(&[]))
            .expect_err(yaml)
            .to_string();
        assert!(
            err.contains(key) && err.contains(value),
            "{yaml:?} gave {err}"
        );
    }
    let c = Config::from_yaml_with_env("recording:\n  stall_secs: 3\n", "t", env(&[])).unwrap();
    assert_eq!(c.recording.stall_secs, 3);
    assert_eq!(Config::default().recording.stall_secs, 10);
}

#[test]
fn tool_variables_are_never_overrides() {
    // Each with a value that would be refused were it read as an override.
    for var in TOOL_VARIABLES {
        assert!(!is_override(var), "{var} must not be an override");
        let c = Config::from_yaml_with_env("", "t", env(&[(var, "{not: [valid")]))
            .unwrap_or_else(|e| panic!("{var} was read as an override: {e}"));
        assert_eq!(c, Config::from_yaml_with_env("", "t", env(&[])).unwrap());
    }
}

#[test]
fn mqtt_is_off_by_default_and_its_bad_values_are_named() {
    let c = Config::from_yaml_with_env("", "t", env(&[])).unwrap();
    assert!(!c.mqtt.enabled);
    assert_eq!(c.mqtt.role, "operator");
    for (yaml, key) in [
        ("mqtt: {broker_url: 'http://x'}", "mqtt.broker_url"),
        ("mqtt: {broker_url: 'mqtts://x'}", "mqtt.ca_file"),
        ("mqtt: {role: root}", "mqtt.role"),
        ("mqtt: {qos: 3}", "mqtt.qos"),
        ("mqtt: {base_topic: 'a/#'}", "mqtt.base_topic"),
        ("mqtt: {base_topic: '/a'}", "mqtt.base_topic"),
    ] {
        let e = Config::from_yaml_with_env(yaml, "t", env(&[])).unwrap_err();
        assert!(e.to_string().contains(key), "{yaml}: {e}");
    }
}

#[test]
fn variables_of_unknown_sections_are_left_to_their_tools() {
    let c = Config::from_yaml_with_env(
        "",
        "t",
        env(&[
            ("CAMERA_SERVICE_DEMO_PORT", "8010"),
            ("CAMERA_SERVICE_SOMETOOL_SETTING", "x"),
            ("CAMERA_SERVICE_", "x"),
            ("CAMERA_SERVICE_SERVER", "x"),
            ("CAMERA_SERVICE_SERVER_PORT", "8011"),
        ]),
    )
    .unwrap();
    assert_eq!(c.server.port, 8011);
}

#[test]
fn an_override_of_a_known_section_is_still_checked() {
    assert!(is_override("CAMERA_SERVICE_SERVER_PROT"));
    assert!(is_override("CAMERA_SERVICE_MEDIAMTX_API_URL"));
    let err = Config::from_yaml_with_env("", "t", env(&[("CAMERA_SERVICE_AUTH_TOKEN", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("CAMERA_SERVICE_AUTH_TOKEN"), "{err}");
}

#[test]
fn logging_level_takes_the_common_spellings() {
    for (given, meant) in [
        ("warn", "warning"),
        ("WARNING", "warning"),
        ("Info", "info"),
    ] {
        let c = Config::from_yaml_with_env(&format!("logging: {{level: {given}}}"), "t", env(&[]))
            .unwrap_or_else(|e| panic!("{given}: {e}"));
        assert_eq!(c.logging.level, meant);
    }
    let err = Config::from_yaml_with_env("logging: {level: loud}", "t", env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("logging.level") && err.contains("loud"),
        "{err}"
    );
}

#[test]
fn mqtt_password_comes_from_the_env_and_is_never_printed() {
    let c = Config::from_yaml_with_env(
        "mqtt: {enabled: true, username: cam}",
        "t",
        env(&[("CAMERA_SERVICE_MQTT_PASSWORD", "hunter2-secret")]),
    )
    .unwrap();
    assert_eq!(
        c.mqtt.password_text().unwrap().as_deref(),
        Some("hunter2-secret")
    );
    assert!(!c.to_redacted_yaml().contains("hunter2-secret"));
}
