//! Streams: lifecycle policies, the MediaMTX path each camera gets, the reconcile diff
//! between what MediaMTX has and what should exist, and the URLs clients are given.
//!
//! How the policies are kept. MediaMTX starts a path's `runOnDemand` publisher when a reader
//! arrives and stops it `runOnDemandCloseAfter` after the last reader left. Editing a live
//! path's config makes MediaMTX recreate the path (publisher and readers are dropped), so the
//! path config is the same for every use: a short [`PATH_CLOSE_AFTER`]. Each use's policy is
//! then kept by the service holding a reader of its own on the stream for as long as
//! [`StreamHolds`] says (minus that grace), so MediaMTX closes the publisher when the policy
//! says, and at most [`PATH_CLOSE_AFTER`] after the service itself went away.
//!
//! Past 600 lines only by its tests (the rules are ~380, many of them property tests of the
//! reconcile diff).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::camera::{CameraId, Resolution};
use crate::media::{CaptureMode, VideoEncoding};
use crate::time::Timestamp;

/// Why a stream is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamUse {
    /// Clients watch it (`start_streaming`, RTSP / WebRTC / HLS readers).
    Viewing,
    /// A recording reads it.
    Recording,
    /// A snapshot was taken from it.
    Snapshot,
}

/// When a stream opened for one use may close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePolicy {
    /// This long after the last reader left.
    AfterLastReader(Duration),
    /// Never while the use lasts.
    Never,
    /// This long after the capture.
    AfterCapture(Duration),
}

/// Viewing: close 300 s after the last reader.
pub const VIEWING_CLOSE_AFTER: Duration = Duration::from_secs(300);
/// Snapshot: close 60 s after the capture (keeps a burst of snapshots on the fast tier).
pub const SNAPSHOT_CLOSE_AFTER: Duration = Duration::from_secs(60);
/// MediaMTX's own grace after the last reader of a path (the service's hold included).
pub const PATH_CLOSE_AFTER: Duration = Duration::from_secs(10);
/// How long MediaMTX holds readers while the publisher starts (ffmpeg start-up, device open,
/// first keyframe).
pub const PUBLISHER_START_TIMEOUT: Duration = Duration::from_secs(10);

impl StreamUse {
    pub const ALL: [StreamUse; 3] = [
        StreamUse::Viewing,
        StreamUse::Recording,
        StreamUse::Snapshot,
    ];

    pub fn policy(self) -> ClosePolicy {
        match self {
            StreamUse::Viewing => ClosePolicy::AfterLastReader(VIEWING_CLOSE_AFTER),
            StreamUse::Recording => ClosePolicy::Never,
            StreamUse::Snapshot => ClosePolicy::AfterCapture(SNAPSHOT_CLOSE_AFTER),
        }
    }
}

impl ClosePolicy {
    /// How long the service holds the stream after the policy's moment (last reader,
    /// capture) so that MediaMTX, adding [`PATH_CLOSE_AFTER`], closes it on time.
    /// `None` for [`ClosePolicy::Never`].
    pub fn hold_after(self) -> Option<Duration> {
        match self {
            ClosePolicy::AfterLastReader(d) | ClosePolicy::AfterCapture(d) => {
                Some(d.saturating_sub(PATH_CLOSE_AFTER))
            }
            ClosePolicy::Never => None,
        }
    }
}

/// How long the service keeps its own reader on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Not held: MediaMTX closes the publisher [`PATH_CLOSE_AFTER`] after its other readers.
    Released,
    /// Held until this instant (exclusive).
    Until(Timestamp),
    /// Held while a recording lasts.
    Indefinite,
}

/// One camera's uses of its stream, and from them how long the service holds the stream.
/// Pure bookkeeping: the caller says what happened and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamHolds {
    recordings: u32,
    viewing_until: Option<Timestamp>,
    snapshot_until: Option<Timestamp>,
}

fn later(a: Option<Timestamp>, b: Timestamp) -> Option<Timestamp> {
    Some(a.map_or(b, |a| a.max(b)))
}

fn hold_from(now: Timestamp, policy: ClosePolicy) -> Option<Timestamp> {
    let d = policy.hold_after()?;
    Some(now.plus_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
}

impl StreamHolds {
    /// A viewer is there at `now`: `start_streaming`, or readers other than the service's
    /// seen on the path. Viewing is held until the policy's time after the last such moment.
    pub fn viewer_seen(&mut self, now: Timestamp) {
        if let Some(until) = hold_from(now, StreamUse::Viewing.policy()) {
            self.viewing_until = later(self.viewing_until, until);
        }
    }

    /// `stop_streaming`: the viewing hold ends now. Recordings and snapshot holds stay.
    pub fn stop_viewing(&mut self) {
        self.viewing_until = None;
    }

    pub fn recording_started(&mut self) {
        self.recordings = self.recordings.saturating_add(1);
    }

    /// A recording ended (stopped, failed, camera gone). Unmatched calls are ignored.
    pub fn recording_ended(&mut self) {
        self.recordings = self.recordings.saturating_sub(1);
    }

    pub fn snapshot_taken(&mut self, now: Timestamp) {
        if let Some(until) = hold_from(now, StreamUse::Snapshot.policy()) {
            self.snapshot_until = later(self.snapshot_until, until);
        }
    }

    pub fn is_recording(&self) -> bool {
        self.recordings > 0
    }

    /// Recordings reading the stream now (each is a reader of the path).
    pub fn recordings(&self) -> u32 {
        self.recordings
    }

    /// The uses that hold the stream at `now`.
    pub fn active_uses(&self, now: Timestamp) -> Vec<StreamUse> {
        let live = |t: Option<Timestamp>| t.is_some_and(|t| now < t);
        let mut uses = Vec::with_capacity(3);
        if live(self.viewing_until) {
            uses.push(StreamUse::Viewing);
        }
        if self.is_recording() {
            uses.push(StreamUse::Recording);
        }
        if live(self.snapshot_until) {
            uses.push(StreamUse::Snapshot);
        }
        uses
    }

    /// How long the stream is held, seen at `now`.
    pub fn hold(&self, now: Timestamp) -> Hold {
        if self.is_recording() {
            return Hold::Indefinite;
        }
        match [self.viewing_until, self.snapshot_until]
            .into_iter()
            .flatten()
            .max()
        {
            Some(until) if now < until => Hold::Until(until),
            _ => Hold::Released,
        }
    }

    pub fn is_held(&self, now: Timestamp) -> bool {
        self.hold(now) != Hold::Released
    }
}

/// The settings of a MediaMTX path the service manages; `None` is "not said" (on the way
/// out: leave as is; on the way in: MediaMTX did not report it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathConfig {
    pub source: Option<String>,
    pub run_on_demand: Option<String>,
    pub run_on_demand_restart: Option<bool>,
    pub run_on_demand_start_timeout: Option<Duration>,
    pub run_on_demand_close_after: Option<Duration>,
}

impl PathConfig {
    /// A path whose publisher is `publisher`, started on the first reader, restarted if it
    /// exits while readers remain, and stopped [`PATH_CLOSE_AFTER`] after the last reader.
    pub fn on_demand(publisher: &str) -> PathConfig {
        PathConfig {
            source: Some("publisher".into()),
            run_on_demand: Some(publisher.to_owned()),
            run_on_demand_restart: Some(true),
            run_on_demand_start_timeout: Some(PUBLISHER_START_TIMEOUT),
            run_on_demand_close_after: Some(PATH_CLOSE_AFTER),
        }
    }

    /// Every setting `wanted` says is the same here.
    pub fn satisfies(&self, wanted: &PathConfig) -> bool {
        fn ok<T: PartialEq>(have: &Option<T>, want: &Option<T>) -> bool {
            want.is_none() || have == want
        }
        ok(&self.source, &wanted.source)
            && ok(&self.run_on_demand, &wanted.run_on_demand)
            && ok(&self.run_on_demand_restart, &wanted.run_on_demand_restart)
            && ok(
                &self.run_on_demand_start_timeout,
                &wanted.run_on_demand_start_timeout,
            )
            && ok(
                &self.run_on_demand_close_after,
                &wanted.run_on_demand_close_after,
            )
    }

    /// `self` with every setting `patch` says applied (what MediaMTX's path patch does).
    pub fn patched(&self, patch: &PathConfig) -> PathConfig {
        PathConfig {
            source: patch.source.clone().or_else(|| self.source.clone()),
            run_on_demand: patch
                .run_on_demand
                .clone()
                .or_else(|| self.run_on_demand.clone()),
            run_on_demand_restart: patch.run_on_demand_restart.or(self.run_on_demand_restart),
            run_on_demand_start_timeout: patch
                .run_on_demand_start_timeout
                .or(self.run_on_demand_start_timeout),
            run_on_demand_close_after: patch
                .run_on_demand_close_after
                .or(self.run_on_demand_close_after),
        }
    }
}

/// The MediaMTX path of a camera: `camera<N>`.
pub fn path_name(camera: CameraId) -> String {
    camera.to_string()
}

/// The camera whose path this is, if the service manages it: exactly the text
/// [`path_name`] makes. Other paths (`all_others`, an operator's own, `camera007`) are
/// never touched.
pub fn managed_camera(path: &str) -> Option<CameraId> {
    CameraId::parse(path)
        .ok()
        .filter(|id| id.to_string() == path)
}

/// What reconciling does to MediaMTX: every list sorted by camera.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcilePlan {
    /// Paths MediaMTX lacks.
    pub add: Vec<(CameraId, PathConfig)>,
    /// Paths whose settings drifted (edited by hand, older service version); carries every
    /// managed setting.
    pub patch: Vec<(CameraId, PathConfig)>,
    /// Managed paths of cameras that are gone.
    pub delete: Vec<CameraId>,
}

impl ReconcilePlan {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.patch.is_empty() && self.delete.is_empty()
    }
}

/// The diff between what MediaMTX has (`actual`, every configured path by name) and what
/// should exist (`desired`, one path per present camera).
pub fn reconcile(
    desired: &BTreeMap<CameraId, PathConfig>,
    actual: &BTreeMap<String, PathConfig>,
) -> ReconcilePlan {
    let mut plan = ReconcilePlan::default();
    for (&camera, want) in desired {
        match actual.get(&path_name(camera)) {
            None => plan.add.push((camera, want.clone())),
            Some(have) if !have.satisfies(want) => plan.patch.push((camera, want.clone())),
            Some(_) => {}
        }
    }
    let mut gone: Vec<CameraId> = actual
        .keys()
        .filter_map(|name| managed_camera(name))
        .filter(|camera| !desired.contains_key(camera))
        .collect();
    gone.sort_unstable();
    plan.delete = gone;
    plan
}

/// Where a camera's publisher reads from.
#[derive(Debug, Clone, PartialEq)]
pub enum PublisherInput {
    /// A V4L2 capture node in a capture mode (e.g. [`VideoEncoding::plan`]'s choice).
    Device { path: String, capture: CaptureMode },
    /// An ffmpeg `lavfi` test pattern (`testsrc2`, `smptebars`, ...).
    TestPattern {
        pattern: String,
        size: Resolution,
        fps: f64,
    },
}

/// What a camera's `runOnDemand` publisher publishes: where it reads and the encoding
/// envelope (the STANAG 4406 profile) its output must fit. The command line that does it is
/// the ffmpeg adapter's (`ports::media_server::PublisherCommands`).
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    pub input: PublisherInput,
    pub encoding: VideoEncoding,
}

impl Publication {
    /// The size and rate the source delivers (a test pattern always has a rate).
    pub fn source_mode(&self) -> (Resolution, Option<f64>) {
        match &self.input {
            PublisherInput::Device { capture, .. } => (capture.size, capture.fps),
            PublisherInput::TestPattern { size, fps, .. } => (*size, Some(*fps)),
        }
    }

    /// The size and rate it is encoded at: the largest inside the encoding; `None` when no
    /// frame size of the source fits.
    pub fn output_mode(&self) -> Option<(Resolution, f64)> {
        let (size, fps) = self.source_mode();
        self.encoding.fit(size, fps)
    }
}

/// Where clients reach MediaMTX: the configured public host and MediaMTX's ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEndpoints {
    pub public_host: String,
    pub rtsp_port: u16,
    pub webrtc_port: u16,
    pub hls_port: u16,
}

/// A camera's stream URLs as clients get them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StreamUrls {
    pub rtsp: String,
    /// The WebRTC player page (MediaMTX serves it at `/<path>/`; without the slash it
    /// answers a redirect).
    pub webrtc: String,
    /// The HLS playlist.
    pub hls: String,
    /// The WHEP endpoint (RFC 9725): a WebRTC client POSTs its SDP offer here.
    pub whep: String,
}

impl StreamEndpoints {
    pub fn urls(&self, camera: CameraId) -> StreamUrls {
        let host = if self.public_host.contains(':') && !self.public_host.starts_with('[') {
            format!("[{}]", self.public_host)
        } else {
            self.public_host.clone()
        };
        let name = path_name(camera);
        StreamUrls {
            rtsp: format!("rtsp://{host}:{}/{name}", self.rtsp_port),
            webrtc: format!("http://{host}:{}/{name}/", self.webrtc_port),
            hls: format!("http://{host}:{}/{name}/index.m3u8", self.hls_port),
            whep: format!("http://{host}:{}/{name}/whep", self.webrtc_port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cam(n: u16) -> CameraId {
        CameraId::new(n).unwrap()
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000 + secs * 1000)
    }

    #[test]
    fn policies_are_the_documented_ones() {
        assert_eq!(
            StreamUse::Viewing.policy(),
            ClosePolicy::AfterLastReader(Duration::from_secs(300))
        );
        assert_eq!(StreamUse::Recording.policy(), ClosePolicy::Never);
        assert_eq!(
            StreamUse::Snapshot.policy(),
            ClosePolicy::AfterCapture(Duration::from_secs(60))
        );
    }

    #[test]
    fn viewing_closes_300_s_after_the_last_reader_including_mediamtx_grace() {
        let mut holds = StreamHolds::default();
        holds.viewer_seen(at(0));
        holds.viewer_seen(at(100));
        let Hold::Until(until) = holds.hold(at(100)) else {
            panic!("viewing must hold")
        };
        let closes = until.plus_millis(PATH_CLOSE_AFTER.as_millis() as i64);
        assert_eq!(closes, at(400));
        assert_eq!(holds.hold(at(390)), Hold::Released);
    }

    #[test]
    fn snapshot_closes_60_s_after_the_capture() {
        let mut holds = StreamHolds::default();
        holds.snapshot_taken(at(0));
        assert_eq!(holds.hold(at(0)), Hold::Until(at(50)));
        assert_eq!(holds.active_uses(at(49)), vec![StreamUse::Snapshot]);
        assert!(!holds.is_held(at(50)));
    }

    #[test]
    fn recording_is_never_released_while_it_lasts() {
        let mut holds = StreamHolds::default();
        holds.recording_started();
        holds.viewer_seen(at(0));
        holds.stop_viewing();
        assert_eq!(holds.hold(at(1_000_000)), Hold::Indefinite);
        holds.recording_ended();
        assert_eq!(holds.hold(at(1_000_000)), Hold::Released);
    }

    #[test]
    fn each_recording_is_a_reader_of_its_own_and_unmatched_ends_are_ignored() {
        let mut holds = StreamHolds::default();
        holds.recording_ended();
        assert_eq!(holds.recordings(), 0);
        holds.recording_started();
        holds.recording_started();
        assert_eq!(holds.recordings(), 2);
        holds.recording_ended();
        assert_eq!(holds.recordings(), 1);
        assert!(holds.is_recording());
        assert_eq!(holds.active_uses(at(0)), vec![StreamUse::Recording]);
    }

    #[test]
    fn stop_viewing_keeps_a_snapshot_hold() {
        let mut holds = StreamHolds::default();
        holds.viewer_seen(at(0));
        holds.snapshot_taken(at(10));
        holds.stop_viewing();
        assert_eq!(holds.hold(at(11)), Hold::Until(at(60)));
    }

    #[test]
    fn path_config_is_on_demand_with_the_short_grace() {
        let cmd = "ffmpeg -re -f lavfi -i testsrc2 -f rtsp rtsp://localhost:$RTSP_PORT/$MTX_PATH";
        let cfg = PathConfig::on_demand(cmd);
        assert_eq!(cfg.source.as_deref(), Some("publisher"));
        assert_eq!(cfg.run_on_demand.as_deref(), Some(cmd));
        assert_eq!(cfg.run_on_demand_restart, Some(true));
        assert_eq!(
            cfg.run_on_demand_start_timeout,
            Some(PUBLISHER_START_TIMEOUT)
        );
        assert_eq!(cfg.run_on_demand_close_after, Some(PATH_CLOSE_AFTER));
    }

    #[test]
    fn urls_use_the_public_host_and_mediamtx_ports() {
        let ends = StreamEndpoints {
            public_host: "cam.example".into(),
            rtsp_port: 8554,
            webrtc_port: 8889,
            hls_port: 8888,
        };
        let urls = ends.urls(cam(0));
        assert_eq!(urls.rtsp, "rtsp://cam.example:8554/camera0");
        assert_eq!(urls.webrtc, "http://cam.example:8889/camera0/");
        assert_eq!(urls.hls, "http://cam.example:8888/camera0/index.m3u8");
        assert_eq!(urls.whep, "http://cam.example:8889/camera0/whep");
        let v6 = StreamEndpoints {
            public_host: "fd00::1".into(),
            ..ends
        };
        assert_eq!(v6.urls(cam(2)).rtsp, "rtsp://[fd00::1]:8554/camera2");
    }

    #[test]
    fn only_canonical_camera_paths_are_managed() {
        assert_eq!(managed_camera("camera3"), Some(cam(3)));
        for other in [
            "camera007",
            "all_others",
            "camera",
            "camera3/sub",
            "~^camera.*$",
        ] {
            assert_eq!(managed_camera(other), None, "{other}");
        }
    }

    #[test]
    fn reconcile_adds_patches_and_deletes() {
        let want = PathConfig::on_demand(
            "ffmpeg -f lavfi -i testsrc2 rtsp://localhost:$RTSP_PORT/$MTX_PATH",
        );
        let desired = BTreeMap::from([(cam(0), want.clone()), (cam(1), want.clone())]);
        let edited = PathConfig {
            run_on_demand_close_after: Some(Duration::from_secs(1)),
            ..want.clone()
        };
        let actual = BTreeMap::from([
            ("camera1".to_string(), edited),
            ("camera5".to_string(), want.clone()),
            ("all_others".to_string(), PathConfig::default()),
        ]);
        let plan = reconcile(&desired, &actual);
        assert_eq!(plan.add, vec![(cam(0), want.clone())]);
        assert_eq!(plan.patch, vec![(cam(1), want)]);
        assert_eq!(plan.delete, vec![cam(5)]);
    }

    // ----- properties -----

    fn any_duration() -> impl Strategy<Value = Option<Duration>> {
        prop_oneof![
            Just(None),
            (0u64..400).prop_map(|s| Some(Duration::from_secs(s)))
        ]
    }

    fn any_config() -> impl Strategy<Value = PathConfig> {
        (
            prop_oneof![
                Just(None),
                Just(Some("publisher".to_string())),
                Just(Some("rtsp://x".to_string()))
            ],
            prop_oneof![
                Just(None),
                Just(Some("ffmpeg a".to_string())),
                Just(Some("ffmpeg b".to_string()))
            ],
            proptest::option::of(any::<bool>()),
            any_duration(),
            any_duration(),
        )
            .prop_map(
                |(source, run_on_demand, run_on_demand_restart, start, close)| PathConfig {
                    source,
                    run_on_demand,
                    run_on_demand_restart,
                    run_on_demand_start_timeout: start,
                    run_on_demand_close_after: close,
                },
            )
    }

    fn any_name() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (0u16..8).prop_map(|n| format!("camera{n}")),
            1 => (0u16..8).prop_map(|n| format!("camera00{n}")),
            1 => prop_oneof![Just("all_others".to_string()), Just("live/cam".to_string()), Just("camera".to_string())],
        ]
    }

    fn any_desired() -> impl Strategy<Value = BTreeMap<CameraId, PathConfig>> {
        proptest::collection::btree_map((0u16..8).prop_map(cam), any_config(), 0..6)
    }

    fn any_actual() -> impl Strategy<Value = BTreeMap<String, PathConfig>> {
        proptest::collection::btree_map(any_name(), any_config(), 0..8)
    }

    /// What MediaMTX ends up with after the plan: add creates, patch merges, delete removes.
    fn apply(
        plan: &ReconcilePlan,
        actual: &BTreeMap<String, PathConfig>,
    ) -> BTreeMap<String, PathConfig> {
        let mut after = actual.clone();
        for (camera, cfg) in &plan.add {
            assert!(
                after.insert(path_name(*camera), cfg.clone()).is_none(),
                "add of an existing path"
            );
        }
        for (camera, cfg) in &plan.patch {
            let have = after
                .get_mut(&path_name(*camera))
                .expect("patch of a missing path");
            *have = have.patched(cfg);
        }
        for camera in &plan.delete {
            assert!(
                after.remove(&path_name(*camera)).is_some(),
                "delete of a missing path"
            );
        }
        after
    }

    proptest! {
        #[test]
        fn applying_the_plan_gives_every_camera_its_settings(desired in any_desired(), actual in any_actual()) {
            let after = apply(&reconcile(&desired, &actual), &actual);
            for (camera, want) in &desired {
                let have = after.get(&path_name(*camera));
                prop_assert!(have.is_some_and(|h| h.satisfies(want)), "{camera}: {have:?} vs {want:?}");
            }
        }

        #[test]
        fn applying_the_plan_leaves_no_stale_managed_path(desired in any_desired(), actual in any_actual()) {
            let after = apply(&reconcile(&desired, &actual), &actual);
            for name in after.keys() {
                if let Some(camera) = managed_camera(name) {
                    prop_assert!(desired.contains_key(&camera), "{name} left behind");
                }
            }
        }

        #[test]
        fn paths_the_service_does_not_manage_are_never_touched(desired in any_desired(), actual in any_actual()) {
            let plan = reconcile(&desired, &actual);
            let after = apply(&plan, &actual);
            for (name, cfg) in actual.iter().filter(|(n, _)| managed_camera(n).is_none()) {
                prop_assert_eq!(after.get(name), Some(cfg));
            }
        }

        #[test]
        fn one_reconcile_converges(desired in any_desired(), actual in any_actual()) {
            let after = apply(&reconcile(&desired, &actual), &actual);
            prop_assert!(reconcile(&desired, &after).is_empty());
        }

        #[test]
        fn a_camera_is_in_at_most_one_list(desired in any_desired(), actual in any_actual()) {
            let plan = reconcile(&desired, &actual);
            let mut seen = std::collections::HashSet::new();
            for c in plan.add.iter().map(|(c, _)| c).chain(plan.patch.iter().map(|(c, _)| c)).chain(&plan.delete) {
                prop_assert!(seen.insert(*c), "{c} twice");
            }
        }

        #[test]
        fn nothing_to_do_when_mediamtx_has_what_should_exist(desired in any_desired()) {
            let actual = desired.iter().map(|(c, cfg)| (path_name(*c), cfg.clone())).collect();
            prop_assert!(reconcile(&desired, &actual).is_empty());
        }

        #[test]
        fn a_publication_is_encoded_inside_the_profile(w in 16u32..=4096, h in 16u32..=4096, fps in 1.0f64..120.0) {
            let encoding = VideoEncoding::standard();
            let size = Resolution::new(w, h).unwrap();
            let p = Publication { input: PublisherInput::TestPattern { pattern: "testsrc2".into(), size, fps }, encoding };
            match p.output_mode() {
                Some((out, out_fps)) => prop_assert!(encoding.admits(out, out_fps).is_ok()),
                None => prop_assert!(encoding.fit(size, Some(fps)).is_none()),
            }
        }

        #[test]
        fn a_recording_hold_outlasts_every_other_event(
            events in proptest::collection::vec((0u8..4, 0i64..10_000), 0..30),
            probe in 0i64..20_000,
        ) {
            let mut holds = StreamHolds::default();
            holds.recording_started();
            for (kind, t) in events {
                match kind {
                    0 => holds.viewer_seen(at(t)),
                    1 => holds.stop_viewing(),
                    2 => holds.snapshot_taken(at(t)),
                    _ => {}
                }
            }
            prop_assert_eq!(holds.hold(at(probe)), Hold::Indefinite);
        }

        #[test]
        fn without_new_events_a_released_stream_stays_released(
            events in proptest::collection::vec((0u8..3, 0i64..1_000), 0..20),
            t1 in 0i64..2_000,
            dt in 0i64..2_000,
        ) {
            let mut holds = StreamHolds::default();
            for (kind, t) in events {
                match kind {
                    0 => holds.viewer_seen(at(t)),
                    1 => holds.stop_viewing(),
                    _ => holds.snapshot_taken(at(t)),
                }
            }
            if !holds.is_held(at(t1)) {
                prop_assert!(!holds.is_held(at(t1 + dt)));
            }
        }

        #[test]
        fn a_snapshot_is_held_for_its_policy(t in 0i64..100_000) {
            let mut holds = StreamHolds::default();
            holds.snapshot_taken(at(t));
            let keep = (SNAPSHOT_CLOSE_AFTER - PATH_CLOSE_AFTER).as_secs() as i64;
            prop_assert!(holds.is_held(at(t + keep - 1)));
            prop_assert!(!holds.is_held(at(t + keep)));
        }
    }
}
