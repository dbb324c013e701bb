//! Bounded capture work, black-box: concurrent snapshots of one camera share one capture,
//! and at most `media.max_captures` capture processes run at once.
//!
//! `media.ffmpeg` is a wrapper script that logs when each snapshot capture starts and ends
//! and holds it for a while (so calls sent together surely overlap), then runs the real
//! ffmpeg.

use std::path::{Path, PathBuf};

use cs_tests::{TestService, WsClient};
use domain::Role;
use serde_json::{json, Value};

/// A wrapper around ffmpeg that appends `start <pid> <secs>` / `end <pid> <secs>` to
/// `log` for every snapshot capture, holding each `hold_secs` before it runs.
fn ffmpeg_wrapper(dir: &Path, hold_secs: f64) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("ffmpeg-wrapper.sh");
    let log = dir.join("captures.log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             case \"$*\" in\n\
             *snapshots*)\n\
               echo \"start $$ $(date +%s.%N)\" >> '{log}'\n\
               sleep {hold_secs}\n\
               ffmpeg \"$@\"; rc=$?\n\
               echo \"end $$ $(date +%s.%N)\" >> '{log}'\n\
               exit $rc;;\n\
             esac\n\
             exec ffmpeg \"$@\"\n",
            log = log.display()
        ),
    )
    .expect("wrapper written");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("wrapper executable");
    (script, log)
}

/// (start, end) of every capture the wrapper saw, in seconds.
fn captures(log: &Path) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut starts = std::collections::HashMap::new();
    let mut spans = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [what, pid, at] = parts[..] else { continue };
        let Ok(at) = at.parse::<f64>() else { continue };
        match what {
            "start" => {
                starts.insert(pid.to_owned(), at);
            }
            "end" => {
                if let Some(s) = starts.remove(pid) {
                    spans.push((s, at));
                }
            }
            _ => {}
        }
    }
    spans
}

/// Sends every call at once, then reads every answer (by id order).
async fn pipelined(ws: &mut WsClient, calls: &[(&str, Value)]) -> Vec<Value> {
    for (i, (method, params)) in calls.iter().enumerate() {
        let req = json!({"jsonrpc": "2.0", "id": 1000 + i, "method": method, "params": params});
        ws.send_text(req.to_string()).await;
    }
    let mut answers = Vec::new();
    for _ in calls {
        answers.push(ws.recv_answer(60.0).await.expect("every call is answered"));
    }
    answers.sort_by_key(|a| a["id"].as_u64());
    answers
}

fn skip_without_ffmpeg() -> bool {
    let found = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: ffmpeg is not installed");
    }
    !found
}

#[tokio::test]
async fn concurrent_snapshots_of_one_camera_share_one_capture() {
    if skip_without_ffmpeg() {
        return;
    }
    let tools = tempfile::tempdir().expect("tempdir");
    let (wrapper, log) = ffmpeg_wrapper(tools.path(), 1.0);
    let svc = TestService::builder()
        .config(&format!("media: {{ffmpeg: '{}'}}", wrapper.display()))
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;

    let calls: Vec<(&str, Value)> = (0..10)
        .map(|_| ("take_snapshot", json!({"device": "camera0"})))
        .collect();
    let answers = pipelined(&mut ws, &calls).await;

    let mut names = std::collections::HashSet::new();
    let mut sizes = std::collections::HashSet::new();
    for a in &answers {
        let r = &a["result"];
        assert_eq!(r["status"], "SUCCESS", "{a}");
        names.insert(r["filename"].as_str().expect("a name").to_owned());
        let path = svc
            .dir
            .path()
            .join("snapshots")
            .join(r["filename"].as_str().unwrap());
        let bytes = std::fs::read(&path).expect("each caller's file exists");
        assert_eq!(bytes.len() as u64, r["file_size"].as_u64().unwrap());
        sizes.insert(bytes);
    }
    assert_eq!(names.len(), 10, "each caller has a file of its own");
    assert_eq!(sizes.len(), 1, "all ten files hold the same picture");
    assert_eq!(
        captures(&log).len(),
        1,
        "one capture served ten snapshots: {:?}",
        captures(&log)
    );
}

#[tokio::test]
async fn snapshots_of_other_formats_do_not_share() {
    if skip_without_ffmpeg() {
        return;
    }
    let tools = tempfile::tempdir().expect("tempdir");
    let (wrapper, log) = ffmpeg_wrapper(tools.path(), 0.5);
    let svc = TestService::builder()
        .config(&format!("media: {{ffmpeg: '{}'}}", wrapper.display()))
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;

    let answers = pipelined(
        &mut ws,
        &[
            (
                "take_snapshot",
                json!({"device": "camera0", "format": "jpg"}),
            ),
            (
                "take_snapshot",
                json!({"device": "camera0", "format": "png"}),
            ),
        ],
    )
    .await;

    assert_eq!(answers[0]["result"]["format"], "jpg", "{answers:?}");
    assert_eq!(answers[1]["result"]["format"], "png", "{answers:?}");
    assert_eq!(captures(&log).len(), 2);
}

#[tokio::test]
async fn capture_processes_are_capped_and_a_long_wait_is_refused() {
    if skip_without_ffmpeg() {
        return;
    }
    let tools = tempfile::tempdir().expect("tempdir");
    // Each capture takes at least 3 s; a slot is waited for at most 5 s. With one slot the
    // third of three cameras needs at least 6 s: it is refused, the others are served
    // one after the other.
    let (wrapper, log) = ffmpeg_wrapper(tools.path(), 3.0);
    let svc = TestService::builder()
        .config(&format!(
            "media: {{ffmpeg: '{}', max_captures: 1, snapshot_timeout_secs: 5}}\n\
             camera: {{simulated: [{{index: 0}}, {{index: 1}}, {{index: 2}}]}}",
            wrapper.display()
        ))
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;

    let answers = pipelined(
        &mut ws,
        &[
            ("take_snapshot", json!({"device": "camera0"})),
            ("take_snapshot", json!({"device": "camera1"})),
            ("take_snapshot", json!({"device": "camera2"})),
        ],
    )
    .await;

    let served = answers
        .iter()
        .filter(|a| a["result"]["status"] == "SUCCESS")
        .count();
    let refused: Vec<&Value> = answers.iter().filter_map(|a| a.get("error")).collect();
    assert_eq!(served, 2, "{answers:?}");
    assert_eq!(refused.len(), 1, "{answers:?}");
    assert_eq!(refused[0]["code"], -32003);
    assert_eq!(refused[0]["data"]["reason"], "capture_limit");
    assert_eq!(refused[0]["data"]["max_captures"], 1);
    let mut spans = captures(&log);
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert!(
        spans[0].1 <= spans[1].0,
        "the captures ran one after the other: {spans:?}"
    );
}
