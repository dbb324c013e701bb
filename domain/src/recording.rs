//! One camera's recording session: idle → starting → recording → stopping → idle, or failed.
//!
//! The session is a plain value: the app feeds it what it asked for and what the capture
//! process reported, with the time each happened, and it says which moves are allowed.
//!
//! Over 600 lines only by its tests (from `mod tests`), kept beside the state machine.

use serde::Serialize;
use thiserror::Error;

use crate::api::RecordingDuration;
use crate::error::{ApiError, ErrorKind};
use crate::files::{RecordingFormat, SafeFileName};
use crate::time::Timestamp;

/// Where a recording's pictures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordingOrigin {
    /// The camera itself: the recorder opens the device (or makes the simulated pattern) and
    /// encodes (media mode `direct`, or `auto` while MediaMTX does not answer).
    Device,
    /// The camera's MediaMTX stream, already H.264 in the profile, copied as it comes: the
    /// recorder is one more reader of the path, so viewers and the recording share the camera.
    Stream,
}

impl RecordingOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingOrigin::Device => "device",
            RecordingOrigin::Stream => "stream",
        }
    }
}

/// What a recording was asked to be.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingPlan {
    /// The (first) file it writes.
    pub file: SafeFileName,
    pub format: RecordingFormat,
    /// Stops by itself after this long; `None`: until stopped.
    pub planned: Option<RecordingDuration>,
    /// Where it records from.
    pub origin: RecordingOrigin,
}

/// Why a recording ended without failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopCause {
    /// A client called `stop_recording`.
    Requested,
    /// The planned duration was reached.
    DurationReached,
    /// The source ended by itself (no planned duration).
    SourceEnded,
}

impl StopCause {
    pub fn as_str(self) -> &'static str {
        match self {
            StopCause::Requested => "requested",
            StopCause::DurationReached => "duration_reached",
            StopCause::SourceEnded => "source_ended",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RecordingState {
    Idle,
    /// The capture process is being started.
    Starting {
        plan: RecordingPlan,
        requested_at: Timestamp,
    },
    /// The file is being written.
    Recording {
        plan: RecordingPlan,
        started_at: Timestamp,
    },
    /// Asked to finish; the process is finalising the file.
    Stopping {
        plan: RecordingPlan,
        started_at: Timestamp,
        cause: StopCause,
    },
    /// The last recording failed; a new one may start.
    Failed {
        file: SafeFileName,
        reason: String,
        at: Timestamp,
    },
}

/// A recording that ended normally.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedRecording {
    pub plan: RecordingPlan,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub cause: StopCause,
}

impl FinishedRecording {
    /// Seconds from start to end (never negative).
    pub fn duration(&self) -> f64 {
        self.ended_at.secs_since(self.started_at).max(0.0)
    }
}

/// A recording that failed; the partial file stays.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedRecording {
    pub plan: RecordingPlan,
    /// `None` when it failed while starting.
    pub started_at: Option<Timestamp>,
    pub at: Timestamp,
    pub reason: String,
}

/// A move the session does not allow in its state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordingError {
    #[error("camera is already recording to {0}")]
    AlreadyRecording(SafeFileName),
    #[error("camera is not recording")]
    NotRecording,
    #[error("recording is still starting")]
    StillStarting,
    #[error("recording is already stopping")]
    AlreadyStopping,
    /// A report from the capture process that does not fit the state (a late or
    /// duplicated report); the app ignores it.
    #[error("unexpected report {report} in state {state}")]
    Unexpected {
        report: &'static str,
        state: &'static str,
    },
}

impl RecordingError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RecordingError::AlreadyRecording(_) => ErrorKind::RecordingInProgress,
            RecordingError::Unexpected { .. } => ErrorKind::Internal,
            _ => ErrorKind::InvalidState,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            RecordingError::AlreadyRecording(_) => "recording_in_progress",
            RecordingError::NotRecording => "not_recording",
            RecordingError::StillStarting => "recording_starting",
            RecordingError::AlreadyStopping => "recording_stopping",
            RecordingError::Unexpected { .. } => "internal_error",
        }
    }
}

impl From<RecordingError> for ApiError {
    fn from(e: RecordingError) -> ApiError {
        let err = ApiError::new(e.kind(), e.reason(), e.to_string());
        match &e {
            RecordingError::AlreadyRecording(f) => err.with("filename", f.as_str()),
            _ => err,
        }
    }
}

/// One camera's recording session.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingSession {
    state: RecordingState,
}

impl Default for RecordingSession {
    fn default() -> Self {
        RecordingSession {
            state: RecordingState::Idle,
        }
    }
}

impl RecordingSession {
    pub fn new() -> RecordingSession {
        RecordingSession::default()
    }

    pub fn state(&self) -> &RecordingState {
        &self.state
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            RecordingState::Idle => "idle",
            RecordingState::Starting { .. } => "starting",
            RecordingState::Recording { .. } => "recording",
            RecordingState::Stopping { .. } => "stopping",
            RecordingState::Failed { .. } => "failed",
        }
    }

    fn unexpected(&self, report: &'static str) -> RecordingError {
        RecordingError::Unexpected {
            report,
            state: self.state_name(),
        }
    }

    /// The plan of the recording under way (starting, recording or stopping).
    pub fn active(&self) -> Option<&RecordingPlan> {
        match &self.state {
            RecordingState::Starting { plan, .. }
            | RecordingState::Recording { plan, .. }
            | RecordingState::Stopping { plan, .. } => Some(plan),
            RecordingState::Idle | RecordingState::Failed { .. } => None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.active().is_some()
    }

    /// When the file began to be written, for a recording under way.
    pub fn started_at(&self) -> Option<Timestamp> {
        match &self.state {
            RecordingState::Recording { started_at, .. }
            | RecordingState::Stopping { started_at, .. } => Some(*started_at),
            _ => None,
        }
    }

    /// Whether `name` is the file being written.
    pub fn writes(&self, name: &SafeFileName) -> bool {
        self.active().is_some_and(|p| &p.file == name)
    }

    /// A client asks for a recording. Refused while one is under way.
    pub fn start(&mut self, plan: RecordingPlan, at: Timestamp) -> Result<(), RecordingError> {
        if let Some(p) = self.active() {
            return Err(RecordingError::AlreadyRecording(p.file.clone()));
        }
        self.state = RecordingState::Starting {
            plan,
            requested_at: at,
        };
        Ok(())
    }

    /// The capture process writes the file.
    pub fn started(&mut self, at: Timestamp) -> Result<(), RecordingError> {
        match std::mem::replace(&mut self.state, RecordingState::Idle) {
            RecordingState::Starting { plan, .. } => {
                self.state = RecordingState::Recording {
                    plan,
                    started_at: at,
                };
                Ok(())
            }
            other => {
                self.state = other;
                Err(self.unexpected("started"))
            }
        }
    }

    /// A client asks to stop.
    pub fn request_stop(&mut self) -> Result<&RecordingPlan, RecordingError> {
        self.begin_stop(StopCause::Requested)
    }

    /// The planned duration passed and the process has not ended by itself: the app stops it.
    pub fn duration_reached(&mut self) -> Result<&RecordingPlan, RecordingError> {
        match &self.state {
            RecordingState::Recording { plan, .. } if plan.planned.is_some() => {
                self.begin_stop(StopCause::DurationReached)
            }
            _ => Err(self.unexpected("duration_reached")),
        }
    }

    fn begin_stop(&mut self, cause: StopCause) -> Result<&RecordingPlan, RecordingError> {
        match self.state {
            RecordingState::Recording { .. } => {}
            RecordingState::Idle | RecordingState::Failed { .. } => {
                return Err(RecordingError::NotRecording)
            }
            RecordingState::Starting { .. } => return Err(RecordingError::StillStarting),
            RecordingState::Stopping { .. } => return Err(RecordingError::AlreadyStopping),
        }
        if let RecordingState::Recording { plan, started_at } =
            std::mem::replace(&mut self.state, RecordingState::Idle)
        {
            self.state = RecordingState::Stopping {
                plan,
                started_at,
                cause,
            };
        }
        self.active().ok_or(RecordingError::NotRecording)
    }

    /// Whether the planned duration has passed at `now` (the app's watchdog asks this).
    pub fn is_due(&self, now: Timestamp) -> bool {
        match &self.state {
            RecordingState::Recording {
                plan: RecordingPlan {
                    planned: Some(d), ..
                },
                started_at,
            } => now.secs_since(*started_at) >= d.secs(),
            _ => false,
        }
    }

    /// The recording goes on from `origin` (its stream ended; the device takes over). Only a
    /// recording under way and not asked to stop may change its source.
    pub fn source_changed(
        &mut self,
        origin: RecordingOrigin,
    ) -> Result<&RecordingPlan, RecordingError> {
        if !matches!(self.state, RecordingState::Recording { .. }) {
            return Err(self.unexpected("source_changed"));
        }
        if let RecordingState::Recording { plan, .. } = &mut self.state {
            plan.origin = origin;
        }
        self.active().ok_or(RecordingError::NotRecording)
    }

    /// The process ended normally (after a stop, or by itself).
    pub fn ended(&mut self, at: Timestamp) -> Result<FinishedRecording, RecordingError> {
        match std::mem::replace(&mut self.state, RecordingState::Idle) {
            RecordingState::Stopping {
                plan,
                started_at,
                cause,
            } => Ok(FinishedRecording {
                plan,
                started_at,
                ended_at: at,
                cause,
            }),
            RecordingState::Recording { plan, started_at } => {
                let cause = if plan.planned.is_some() {
                    StopCause::DurationReached
                } else {
                    StopCause::SourceEnded
                };
                Ok(FinishedRecording {
                    plan,
                    started_at,
                    ended_at: at,
                    cause,
                })
            }
            other => {
                self.state = other;
                Err(self.unexpected("ended"))
            }
        }
    }

    /// The process could not start or died.
    pub fn failed(
        &mut self,
        reason: impl Into<String>,
        at: Timestamp,
    ) -> Result<FailedRecording, RecordingError> {
        let (plan, started_at) = match std::mem::replace(&mut self.state, RecordingState::Idle) {
            RecordingState::Starting { plan, .. } => (plan, None),
            RecordingState::Recording { plan, started_at }
            | RecordingState::Stopping {
                plan, started_at, ..
            } => (plan, Some(started_at)),
            other => {
                self.state = other;
                return Err(self.unexpected("failed"));
            }
        };
        let reason = reason.into();
        self.state = RecordingState::Failed {
            file: plan.file.clone(),
            reason: reason.clone(),
            at,
        };
        Ok(FailedRecording {
            plan,
            started_at,
            at,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plan(n: u32, planned: Option<f64>) -> RecordingPlan {
        RecordingPlan {
            file: SafeFileName::parse(&format!("camera0_{n}.mp4")).unwrap(),
            format: RecordingFormat::Mp4,
            planned: planned.and_then(RecordingDuration::new),
            origin: RecordingOrigin::Device,
        }
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn origins_are_named_for_clients() {
        assert_eq!(
            serde_json::to_value(RecordingOrigin::Stream).unwrap(),
            "stream"
        );
        assert_eq!(
            serde_json::to_value(RecordingOrigin::Device).unwrap(),
            "device"
        );
        assert_eq!(RecordingOrigin::Stream.as_str(), "stream");
    }

    #[test]
    fn a_recording_runs_start_to_stop() {
        let mut s = RecordingSession::new();
        s.start(plan(1, None), t(0)).unwrap();
        s.started(t(300)).unwrap();
        assert!(s.writes(&plan(1, None).file));
        s.request_stop().unwrap();
        let done = s.ended(t(5300)).unwrap();
        assert_eq!((done.cause, done.duration()), (StopCause::Requested, 5.0));
        assert_eq!(s.state(), &RecordingState::Idle);
    }

    #[test]
    fn a_recording_changes_source_only_while_it_records() {
        let mut s = RecordingSession::new();
        let mut p = plan(1, None);
        p.origin = RecordingOrigin::Stream;
        s.start(p, t(0)).unwrap();
        assert!(
            s.source_changed(RecordingOrigin::Device).is_err(),
            "starting"
        );
        s.started(t(1)).unwrap();
        let now = s.source_changed(RecordingOrigin::Device).unwrap();
        assert_eq!(now.origin, RecordingOrigin::Device);
        assert_eq!(s.started_at(), Some(t(1)), "the recording keeps its start");
        s.request_stop().unwrap();
        assert!(
            s.source_changed(RecordingOrigin::Stream).is_err(),
            "stopping"
        );
        assert_eq!(s.ended(t(9)).unwrap().plan.origin, RecordingOrigin::Device);
    }

    #[test]
    fn a_second_start_is_recording_in_progress() {
        let mut s = RecordingSession::new();
        s.start(plan(1, None), t(0)).unwrap();
        let err = s.start(plan(2, None), t(1)).unwrap_err();
        assert_eq!(err.kind().code(), -32004);
        assert_eq!(ApiError::from(err).context["filename"], "camera0_1.mp4");
    }

    #[test]
    fn stop_when_idle_is_invalid_state() {
        let mut s = RecordingSession::new();
        assert_eq!(s.request_stop().unwrap_err().kind().code(), -32020);
    }

    #[test]
    fn a_planned_recording_that_ends_by_itself_reached_its_duration() {
        let mut s = RecordingSession::new();
        s.start(plan(1, Some(3.0)), t(0)).unwrap();
        s.started(t(100)).unwrap();
        assert!(!s.is_due(t(3000)));
        assert!(s.is_due(t(3100)));
        assert_eq!(s.ended(t(3100)).unwrap().cause, StopCause::DurationReached);
    }

    #[test]
    fn a_failure_keeps_the_file_name_and_allows_a_new_start() {
        let mut s = RecordingSession::new();
        s.start(plan(1, None), t(0)).unwrap();
        s.started(t(1)).unwrap();
        let f = s.failed("ffmpeg exited with status 1", t(2)).unwrap();
        assert_eq!(
            (f.started_at, f.reason.as_str()),
            (Some(t(1)), "ffmpeg exited with status 1")
        );
        assert!(!s.is_active());
        s.start(plan(2, None), t(3)).unwrap();
    }

    #[derive(Debug, Clone)]
    enum Op {
        Start(Option<f64>),
        Started,
        Stop,
        DurationReached,
        Ended,
        Failed,
    }

    fn any_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::option::of(1.0f64..10.0).prop_map(Op::Start),
            Just(Op::Started),
            Just(Op::Stop),
            Just(Op::DurationReached),
            Just(Op::Ended),
            Just(Op::Failed),
        ]
    }

    /// The reference model: only the phase.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Phase {
        Idle,
        Starting,
        Recording,
        Stopping,
        Failed,
    }

    proptest! {
        #[test]
        fn the_session_follows_the_state_machine(
            ops in proptest::collection::vec((any_op(), 0i64..5000), 0..60)
        ) {
            let mut s = RecordingSession::new();
            let mut phase = Phase::Idle;
            let mut planned: Option<f64> = None;
            let mut now = 0i64;
            let (mut starts, mut ends) = (0u32, 0u32);
            for (i, (op, dt)) in ops.into_iter().enumerate() {
                now += dt;
                let before = s.clone();
                let ok = match op {
                    Op::Start(d) => {
                        let ok = s.start(plan(i as u32, d), t(now)).is_ok();
                        prop_assert_eq!(ok, matches!(phase, Phase::Idle | Phase::Failed));
                        if ok { phase = Phase::Starting; planned = d; starts += 1; }
                        ok
                    }
                    Op::Started => {
                        let ok = s.started(t(now)).is_ok();
                        prop_assert_eq!(ok, phase == Phase::Starting);
                        if ok { phase = Phase::Recording; }
                        ok
                    }
                    Op::Stop => {
                        let r = s.request_stop().map(|_| ()).map_err(|e| e.kind());
                        prop_assert_eq!(r.is_ok(), phase == Phase::Recording);
                        if let Err(kind) = r { prop_assert_eq!(kind, ErrorKind::InvalidState); }
                        else { phase = Phase::Stopping; }
                        r.is_ok()
                    }
                    Op::DurationReached => {
                        let ok = s.duration_reached().is_ok();
                        prop_assert_eq!(ok, phase == Phase::Recording && planned.is_some());
                        if ok { phase = Phase::Stopping; }
                        ok
                    }
                    Op::Ended => {
                        let r = s.ended(t(now));
                        prop_assert_eq!(r.is_ok(), matches!(phase, Phase::Recording | Phase::Stopping));
                        if let Ok(done) = &r {
                            prop_assert!(done.duration() >= 0.0);
                            prop_assert_eq!(done.ended_at, t(now));
                            phase = Phase::Idle;
                            ends += 1;
                        }
                        r.is_ok()
                    }
                    Op::Failed => {
                        let ok = s.failed("boom", t(now)).is_ok();
                        prop_assert_eq!(ok, matches!(phase, Phase::Starting | Phase::Recording | Phase::Stopping));
                        if ok { phase = Phase::Failed; ends += 1; }
                        ok
                    }
                };
                if !ok {
                    prop_assert_eq!(&s, &before, "a refused move changed the session");
                }
                prop_assert_eq!(phase_of(&s), phase);
                prop_assert_eq!(s.is_active(), matches!(phase, Phase::Starting | Phase::Recording | Phase::Stopping));
                prop_assert_eq!(starts, ends + u32::from(s.is_active()));
            }
        }
    }

    fn phase_of(s: &RecordingSession) -> Phase {
        match s.state() {
            RecordingState::Idle => Phase::Idle,
            RecordingState::Starting { .. } => Phase::Starting,
            RecordingState::Recording { .. } => Phase::Recording,
            RecordingState::Stopping { .. } => Phase::Stopping,
            RecordingState::Failed { .. } => Phase::Failed,
        }
    }
}
