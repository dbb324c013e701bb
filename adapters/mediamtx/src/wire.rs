//! MediaMTX's JSON shapes (OpenAPI v1.15.5: `PathConf`, `Path`, `Error`) and Go duration text.

use std::time::Duration;

use domain::stream::PathConfig;
use domain::Timestamp;
use ports::media_server::PathStatus;
use serde_json::{Map, Value};

/// The `PathConf` fields the service sets; only those `config` says.
pub fn path_conf_body(config: &PathConfig) -> Value {
    let mut body = Map::new();
    if let Some(v) = &config.source {
        body.insert("source".into(), Value::String(v.clone()));
    }
    if let Some(v) = &config.run_on_demand {
        body.insert("runOnDemand".into(), Value::String(v.clone()));
    }
    if let Some(v) = config.run_on_demand_restart {
        body.insert("runOnDemandRestart".into(), Value::Bool(v));
    }
    if let Some(v) = config.run_on_demand_start_timeout {
        body.insert(
            "runOnDemandStartTimeout".into(),
            Value::String(format_duration(v)),
        );
    }
    if let Some(v) = config.run_on_demand_close_after {
        body.insert(
            "runOnDemandCloseAfter".into(),
            Value::String(format_duration(v)),
        );
    }
    Value::Object(body)
}

/// The settings [`PathConfig`] knows from a `PathConf`. A field MediaMTX did not report, or
/// reported in a shape we cannot read, is `None` (reconcile then puts ours back).
pub fn path_config(conf: &Value) -> PathConfig {
    let text = |k: &str| conf.get(k).and_then(Value::as_str).map(str::to_owned);
    let duration = |k: &str| conf.get(k).and_then(Value::as_str).and_then(parse_duration);
    PathConfig {
        source: text("source"),
        run_on_demand: text("runOnDemand"),
        run_on_demand_restart: conf.get("runOnDemandRestart").and_then(Value::as_bool),
        run_on_demand_start_timeout: duration("runOnDemandStartTimeout"),
        run_on_demand_close_after: duration("runOnDemandCloseAfter"),
    }
}

/// A runtime `Path`.
pub fn path_status(path: &Value) -> Result<PathStatus, String> {
    let name = path
        .get("name")
        .and_then(Value::as_str)
        .ok_or("path without a name")?
        .to_owned();
    let count = |k: &str| path.get(k).and_then(Value::as_u64).unwrap_or(0);
    Ok(PathStatus {
        ready: path.get("ready").and_then(Value::as_bool).unwrap_or(false),
        ready_since: path
            .get("readyTime")
            .and_then(Value::as_str)
            .and_then(Timestamp::parse_rfc3339),
        readers: path
            .get("readers")
            .and_then(Value::as_array)
            .map_or(0, |r| u32::try_from(r.len()).unwrap_or(u32::MAX)),
        bytes_received: count("bytesReceived"),
        bytes_sent: count("bytesSent"),
        name,
    })
}

/// The text of MediaMTX's `{"status":"error","error":"..."}`, else the body itself (short).
pub fn error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        if let Some(e) = v.get("error").and_then(Value::as_str) {
            return e.to_owned();
        }
    }
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "no error text".to_owned();
    }
    let mut end = trimmed.len().min(200);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    trimmed[..end].to_owned()
}

/// Go duration text MediaMTX reads: whole seconds as `300s`, else milliseconds, else
/// nanoseconds.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_millis() * 1_000_000 == d.subsec_nanos() {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}ns", d.as_nanos())
    }
}

/// Go's `time.ParseDuration` (plus MediaMTX's `d` for days); negative durations are `None`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    const UNITS: [(&str, u128); 10] = [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("μs", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
        ("d", 86_400_000_000_000),
        ("", 0),
    ];
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() || rest.starts_with('-') {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        rest = after;
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (unit, after) = rest.split_at(unit_len);
        rest = after;
        let scale = UNITS.iter().find(|(u, _)| !u.is_empty() && *u == unit)?.1;
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut value = whole.checked_mul(scale)?;
        if !frac_part.is_empty() {
            let digits = frac_part.len().min(18);
            let frac: u128 = frac_part[..digits].parse().ok()?;
            value += frac * scale / 10u128.pow(digits as u32);
        }
        total = total.checked_add(value)?;
    }
    let nanos = u64::try_from(total).ok()?;
    Some(Duration::from_nanos(nanos))
}

/// A path name as one URL path tail: unreserved characters and `/` as they are (MediaMTX
/// path names may contain `/`), everything else percent-encoded.
pub fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn durations_read_the_way_mediamtx_writes_them() {
        assert_eq!(parse_duration("5m0s"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h0m0s"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["", "10", "ten seconds", "-1s", "1x"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_the_settings_said_are_sent() {
        let cfg = PathConfig {
            run_on_demand_close_after: Some(Duration::from_secs(10)),
            ..PathConfig::default()
        };
        assert_eq!(
            path_conf_body(&cfg),
            json!({"runOnDemandCloseAfter": "10s"})
        );
    }

    #[test]
    fn runtime_paths_map_to_status() {
        let p = json!({
            "name": "camera0", "confName": "camera0", "ready": true,
            "readyTime": "2025-01-15T14:30:00.123456789+01:00",
            "source": {"type": "rtspSession", "id": "x"}, "tracks": ["H264"],
            "bytesReceived": 10, "bytesSent": 20,
            "readers": [{"type": "rtspSession", "id": "a"}, {"type": "webRTCSession", "id": "b"}]
        });
        let s = path_status(&p).unwrap();
        assert!(s.ready);
        assert_eq!(s.readers, 2);
        assert_eq!((s.bytes_received, s.bytes_sent), (10, 20));
        assert_eq!(
            s.ready_since.unwrap().to_rfc3339(),
            "2025-01-15T13:30:00.123Z"
        );
    }

    #[test]
    fn error_bodies_give_mediamtx_text() {
        assert_eq!(
            error_message(r#"{"status":"error","error":"path not found"}"#),
            "path not found"
        );
        assert_eq!(
            error_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(error_message(""), "no error text");
    }

    #[test]
    fn names_are_encoded_as_path_tails() {
        assert_eq!(encode_name("camera0"), "camera0");
        assert_eq!(encode_name("live/cam 1"), "live/cam%201");
    }

    proptest! {
        #[test]
        fn durations_round_trip(nanos in 0u64..=i64::MAX as u64) {
            let d = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Some(d));
        }

        #[test]
        fn path_configs_round_trip_through_json(
            source in proptest::option::of("[a-z]{1,8}"),
            cmd in proptest::option::of("[ -~]{0,40}"),
            restart in proptest::option::of(any::<bool>()),
            start in proptest::option::of(0u64..100_000),
            close in proptest::option::of(0u64..100_000),
        ) {
            let cfg = PathConfig {
                source,
                run_on_demand: cmd,
                run_on_demand_restart: restart,
                run_on_demand_start_timeout: start.map(Duration::from_millis),
                run_on_demand_close_after: close.map(Duration::from_secs),
            };
            prop_assert_eq!(path_config(&path_conf_body(&cfg)), cfg);
        }
    }
}
