//! What a recording's ffmpeg tells on stdout, read as progress: the packet list (`framecrc`)
//! of a recording copied from a stream, whose timestamps say how much video the file holds
//! (so a planned recording ends when the *file* holds its duration, not when a wall clock
//! started at its first bytes says so), and the preview frames of a recording from the
//! camera. A recording whose ffmpeg says nothing and whose file does not grow is stalled.

use std::time::Duration;

/// How far a recording has got.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    /// Packets copied (from a stream) or preview frames made (from the camera): it moves
    /// while video flows.
    pub units: u64,
    /// The video the file holds, from its first packet to the end of its last one (a
    /// recording from a stream; `None` until the stream's time base is known).
    pub held: Option<Duration>,
}

/// Reads ffmpeg's `framecrc` output line by line: `#tb 0: 1/90000` gives the time base,
/// then one line per packet: `stream, dts, pts, duration, size, crc[, F=0x..][, S=..]`.
#[derive(Debug, Default)]
pub struct FramecrcReader {
    /// The time base of stream 0 as (numerator, denominator).
    time_base: Option<(i64, i64)>,
    first_pts: Option<i64>,
    last_pts: Option<i64>,
    /// The furthest `pts + duration` seen.
    end: Option<i64>,
    packets: u64,
}

impl FramecrcReader {
    /// Takes one line; true when it was a packet of stream 0.
    pub fn line(&mut self, line: &str) -> bool {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("#tb 0:") {
            if let Some((n, d)) = rest.trim().split_once('/') {
                if let (Ok(n), Ok(d)) = (n.trim().parse::<i64>(), d.trim().parse::<i64>()) {
                    if n > 0 && d > 0 {
                        self.time_base = Some((n, d));
                    }
                }
            }
            return false;
        }
        if line.starts_with('#') {
            return false;
        }
        let mut fields = line.split(',').map(str::trim);
        if fields.next() != Some("0") {
            return false;
        }
        let _dts = fields.next();
        let (Some(Ok(pts)), Some(Ok(duration))) = (
            fields.next().map(str::parse::<i64>),
            fields.next().map(str::parse::<i64>),
        ) else {
            return false;
        };
        self.packets += 1;
        let first = *self.first_pts.get_or_insert(pts);
        // A packet without a duration (RTP carries none) lasts until the next one: take the
        // step from the previous packet.
        let step = match (duration, self.last_pts) {
            (d, _) if d > 0 => d,
            (_, Some(prev)) if pts > prev => pts - prev,
            _ => 0,
        };
        self.last_pts = Some(pts);
        let end = (pts + step).max(first);
        self.end = Some(self.end.map_or(end, |e| e.max(end)));
        true
    }

    pub fn progress(&self) -> Progress {
        let held = match (self.time_base, self.first_pts, self.end) {
            (Some((n, d)), Some(first), Some(end)) => {
                let ticks = (end - first).max(0) as f64;
                Some(Duration::from_secs_f64(ticks * n as f64 / d as f64))
            }
            _ => None,
        };
        Progress {
            units: self.packets,
            held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "#extradata 0:       36, 0x9924091f\n#software: Lavf59.27.100\n#tb 0: 1/90000\n#media_type 0: video\n#codec_id 0: h264\n#dimensions 0: 768x432\n#sar 0: 1/1";

    fn read(text: &str) -> FramecrcReader {
        let mut r = FramecrcReader::default();
        for l in text.lines() {
            r.line(l);
        }
        r
    }

    #[test]
    fn the_held_time_runs_from_the_first_packet_to_the_end_of_the_last() {
        // As ffmpeg 5.1 prints a copy of MediaMTX's stream: 30 fps in 1/90000.
        let r = read(&format!(
            "{HEADER}\n0,          0,          0,     3000,    20236, 0x210c3219\n0,          0,          0,     3000,     8228, 0x95278701, F=0x0\n0,       3000,       3000,     3000,     8612, 0x98f3262a, F=0x0\n0,       6000,       6000,     3000,    10087, 0xd9492945, F=0x0"
        ));
        let p = r.progress();
        assert_eq!(p.units, 4);
        assert_eq!(p.held, Some(Duration::from_millis(100)));
    }

    #[test]
    fn packets_without_a_duration_last_until_the_next() {
        let r = read(&format!(
            "{HEADER}\n0, 900, 900, 0, 10, 0x1\n0, 3900, 3900, 0, 10, 0x2\n0, 6900, 6900, 0, 10, 0x3"
        ));
        assert_eq!(r.progress().held, Some(Duration::from_millis(100)));
    }

    #[test]
    fn nothing_is_held_before_the_time_base_or_a_packet() {
        assert_eq!(read("").progress(), Progress::default());
        let r = read("0, 0, 0, 3000, 10, 0x1");
        assert_eq!(r.progress().units, 1);
        assert_eq!(r.progress().held, None, "no time base yet");
        assert_eq!(read(HEADER).progress().held, None);
    }

    #[test]
    fn lines_that_are_not_packets_of_the_video_are_ignored() {
        let mut r = read(HEADER);
        for l in [
            "",
            "garbage",
            "1, 0, 0, 3000, 10, 0x1",
            "0, x, y, z",
            "#tb 0: 0/0",
        ] {
            assert!(!r.line(l), "{l:?}");
        }
        assert_eq!(r.progress().units, 0);
        assert!(r.line("0, 0, 0, 3000, 10, 0x1, S=1, 8, 0x2"));
    }
}
