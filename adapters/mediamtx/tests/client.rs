//! MediamtxClient against the fake MediaMTX, which refuses anything off its OpenAPI spec.

use std::time::Duration;

use cs_mediamtx::MediamtxClient;
use domain::stream::PathConfig;
use fakemtx::{FakeMediamtx, Outage};
use ports::media_server::{MediaServer, MediaServerError};
use serde_json::json;

async fn fake() -> FakeMediamtx {
    FakeMediamtx::start()
        .await
        .expect("fake MediaMTX starts with the shared spec")
}

fn client(fake: &FakeMediamtx, timeout: Duration) -> MediamtxClient {
    MediamtxClient::new(&fake.api_url(), timeout).expect("valid API URL")
}

fn on_demand() -> PathConfig {
    PathConfig {
        source: Some("publisher".into()),
        run_on_demand: Some(
            "ffmpeg -re -f lavfi -i testsrc2 -f rtsp rtsp://localhost:$RTSP_PORT/$MTX_PATH".into(),
        ),
        run_on_demand_restart: Some(true),
        run_on_demand_start_timeout: Some(Duration::from_secs(10)),
        run_on_demand_close_after: Some(Duration::from_secs(300)),
    }
}

/// The fake refused nothing as off-spec.
fn assert_all_on_spec(fake: &FakeMediamtx) {
    for r in fake.requests() {
        assert_eq!(r.rejection, None, "{} {} was off-spec", r.method, r.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_path_reads_back_with_its_settings() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(2));
    mtx.add_path_config("camera0", &on_demand()).await.unwrap();
    // MediaMTX writes 300s back as "5m0s": read back, the settings are the same.
    assert_eq!(
        fake.config_path("camera0").unwrap()["runOnDemandCloseAfter"],
        "5m0s"
    );
    assert_eq!(mtx.get_path_config("camera0").await.unwrap(), on_demand());
    assert_all_on_spec(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_changes_only_the_settings_it_carries() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(2));
    mtx.add_path_config("camera0", &on_demand()).await.unwrap();
    let patch = PathConfig {
        run_on_demand_close_after: Some(Duration::from_secs(60)),
        ..PathConfig::default()
    };
    mtx.patch_path_config("camera0", &patch).await.unwrap();
    let body = fake.requests().last().unwrap().body.clone().unwrap();
    assert_eq!(body, json!({"runOnDemandCloseAfter": "60s"}));
    let read = mtx.get_path_config("camera0").await.unwrap();
    assert_eq!(read, on_demand().patched(&patch));
    assert_all_on_spec(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_resets_what_it_does_not_carry() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(2));
    mtx.add_path_config("camera0", &on_demand()).await.unwrap();
    let only_source = PathConfig {
        source: Some("publisher".into()),
        ..PathConfig::default()
    };
    mtx.replace_path_config("camera0", &only_source)
        .await
        .unwrap();
    let read = mtx.get_path_config("camera0").await.unwrap();
    assert_eq!(read.run_on_demand.as_deref(), Some(""));
    assert_eq!(
        read.run_on_demand_close_after,
        Some(Duration::from_secs(10)),
        "MediaMTX's default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_gathers_every_page() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(5));
    for i in 0..150 {
        mtx.add_path_config(&format!("camera{i}"), &on_demand())
            .await
            .unwrap();
    }
    let configs = mtx.list_path_configs().await.unwrap();
    assert_eq!(
        configs.len(),
        151,
        "150 cameras and the default config's all_others"
    );
    assert_eq!(configs["camera149"], on_demand());
    let paths = mtx.list_paths().await.unwrap();
    assert_eq!(paths.len(), 150);
    let list_calls = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v3/paths/list")
        .count();
    assert_eq!(list_calls, 2);
    assert_all_on_spec(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_path_is_gone_and_deleting_again_is_not_found() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(2));
    mtx.add_path_config("camera0", &on_demand()).await.unwrap();
    mtx.delete_path_config("camera0").await.unwrap();
    assert_eq!(fake.config_path("camera0"), None);
    assert_eq!(
        mtx.delete_path_config("camera0").await,
        Err(MediaServerError::NotFound("camera0".into()))
    );
    assert_eq!(
        mtx.get_path_config("camera0").await,
        Err(MediaServerError::NotFound("camera0".into()))
    );
    // Through the port, removing what is not there is fine.
    mtx.remove_path("camera0").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_creates_or_brings_an_existing_path_to_the_settings() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(2));
    mtx.ensure_path("camera0", &on_demand()).await.unwrap();
    fake.edit_path_by_hand("camera0", json!({"runOnDemandRestart": false}));
    mtx.ensure_path("camera0", &on_demand()).await.unwrap();
    assert_eq!(mtx.get_path_config("camera0").await.unwrap(), on_demand());
    let methods: Vec<String> = fake.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "POST", "PATCH", "GET"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediamtx_error_text_is_in_the_error() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(2));
    mtx.add_path_config("camera0", &on_demand()).await.unwrap();
    assert_eq!(
        mtx.add_path_config("camera0", &on_demand()).await,
        Err(MediaServerError::Rejected {
            status: 400,
            message: "path already exists".into()
        })
    );
    let not_publisher = PathConfig {
        source: Some("rtsp://elsewhere/x".into()),
        ..on_demand()
    };
    match mtx.add_path_config("camera1", &not_publisher).await {
        Err(MediaServerError::Rejected {
            status: 400,
            message,
        }) => {
            assert!(
                message.contains("'runOnDemand' can be used only when source is 'publisher'"),
                "{message}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    fake.go_down(Outage::ServerError("database on fire".into()))
        .await;
    let err = mtx.probe().await.unwrap_err();
    assert_eq!(
        err,
        MediaServerError::Failed {
            status: 500,
            message: "database on fire".into()
        }
    );
    assert!(err.is_unavailable());
    assert!(err.to_string().contains("database on fire"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_status_reports_ready_readers_and_bytes() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(2));
    mtx.add_path_config("camera0", &on_demand()).await.unwrap();
    let idle = mtx.path_status("camera0").await.unwrap().unwrap();
    assert!(!idle.ready);
    assert_eq!((idle.readers, idle.ready_since), (0, None));

    fake.read("camera0").unwrap();
    fake.read("camera0").unwrap();
    fake.add_bytes("camera0", 5000, 9000);
    let live = mtx.path_status("camera0").await.unwrap().unwrap();
    assert!(live.ready);
    assert!(live.ready_since.is_some());
    assert_eq!(
        (live.readers, live.bytes_received, live.bytes_sent),
        (2, 5000, 9000)
    );
    assert_eq!(mtx.path_status("camera9").await.unwrap(), None);
    assert_eq!(mtx.path_statuses().await.unwrap(), vec![live]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_times_out() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_millis(300));
    mtx.probe().await.unwrap();
    fake.go_down(Outage::Hang).await;
    let err = mtx.probe().await.unwrap_err();
    assert_eq!(err, MediaServerError::Timeout(300));
    assert!(err.is_unavailable());
    fake.come_back().await.unwrap();
    mtx.probe().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_server_is_unreachable_then_answers_again() {
    let fake = fake().await;
    let mtx = client(&fake, Duration::from_secs(2));
    mtx.probe().await.unwrap();
    fake.go_down(Outage::Refuse).await;
    let err = mtx.probe().await.unwrap_err();
    assert!(matches!(err, MediaServerError::Unreachable(_)), "{err:?}");
    assert!(err.is_unavailable());
    fake.come_back().await.unwrap();
    mtx.probe().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_base_path_is_refused_with_the_servers_text() {
    let fake = fake().await;
    // Right host, wrong base path: the fake answers 400 "no such API endpoint" for it.
    let mtx =
        MediamtxClient::new(&format!("{}/api", fake.api_url()), Duration::from_secs(2)).unwrap();
    let err = mtx.probe().await.unwrap_err();
    match err {
        MediaServerError::Rejected {
            status: 400,
            message,
        } => assert!(message.contains("no such API endpoint"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn bad_api_urls_are_refused() {
    for bad in ["", "127.0.0.1:9997", "ftp://x", "http://"] {
        assert!(
            MediamtxClient::new(bad, Duration::from_secs(1)).is_err(),
            "{bad}"
        );
    }
    assert!(MediamtxClient::new("http://127.0.0.1:9997", Duration::ZERO).is_err());
    assert_eq!(
        MediamtxClient::new("http://127.0.0.1:9997/", Duration::from_secs(1))
            .unwrap()
            .api_url(),
        "http://127.0.0.1:9997"
    );
}

#[tokio::test]
async fn a_reader_of_a_stream_nobody_serves_ends_by_itself() {
    use cs_mediamtx::RtspReader;
    use ports::media_server::StreamReader;
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let handle = RtspReader::new("ffmpeg")
        .attach(&format!("rtsp://127.0.0.1:{port}/camera0"))
        .await
        .expect("ffmpeg starts");
    let mut waited = 0;
    while handle.is_reading() && waited < 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(
        !handle.is_reading(),
        "ffmpeg kept running against a closed port"
    );
}

#[tokio::test]
async fn a_reader_without_ffmpeg_says_so() {
    use cs_mediamtx::RtspReader;
    use ports::media_server::StreamReader;
    let err = RtspReader::new("/nonexistent/ffmpeg")
        .attach("rtsp://127.0.0.1:1/x")
        .await
        .err()
        .unwrap();
    assert!(err.contains("/nonexistent/ffmpeg"), "{err}");
}

/// Width and height from a baseline JPEG's SOF0 segment.
fn jpeg_size(jpeg: &[u8]) -> Option<(u16, u16)> {
    let at = jpeg.windows(2).position(|w| w == [0xFF, 0xC0])?;
    let h = u16::from_be_bytes([*jpeg.get(at + 5)?, *jpeg.get(at + 6)?]);
    let w = u16::from_be_bytes([*jpeg.get(at + 7)?, *jpeg.get(at + 8)?]);
    Some((w, h))
}

#[tokio::test]
async fn a_reader_keeps_the_newest_keyframe_as_a_jpeg() {
    use cs_mediamtx::RtspReader;
    use ports::media_server::StreamReader;
    // A short H.264 clip with a keyframe every 10 frames stands in for the stream.
    let clip = std::env::temp_dir().join(format!("cs-mediamtx-reader-{}.mp4", std::process::id()));
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=10",
        ])
        .args([
            "-t", "2", "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p",
        ])
        .arg(&clip)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    let handle = RtspReader::new("ffmpeg")
        .attach(clip.to_str().unwrap())
        .await
        .expect("ffmpeg starts");
    let mut waited = 0;
    while handle.is_reading() && waited < 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    // Let the last bytes of its output be read.
    let mut frame = handle.latest_frame();
    for _ in 0..40 {
        if frame.as_ref().is_some_and(|f| f.count >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        frame = handle.latest_frame();
    }
    let _ = std::fs::remove_file(&clip);
    let frame = frame.expect("a keyframe was kept");
    assert_eq!(
        frame.count, 2,
        "keyframes only: 2 s at one keyframe a second"
    );
    assert_eq!(&frame.jpeg[..2], &[0xFF, 0xD8]);
    assert_eq!(&frame.jpeg[frame.jpeg.len() - 2..], &[0xFF, 0xD9]);
    assert_eq!(jpeg_size(&frame.jpeg), Some((320, 240)));
}
