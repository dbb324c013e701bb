//! What `camera-service doctor` asks of ffmpeg and ffprobe: can they run, which version,
//! and does ffmpeg have the encoders the commands in [`crate::command`] use.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use ports::capture::CaptureError;

use crate::process;

/// Encoders the service's ffmpeg commands name (`-c:v`), with what each is for.
pub const ENCODERS_USED: [(&str, &str); 3] = [
    ("libx264", "recordings and streams (H.264)"),
    ("mjpeg", "JPEG snapshots"),
    ("png", "PNG snapshots"),
];

/// The first line of `PROGRAM -version`, or why it cannot be run.
pub async fn version(
    dependency: &'static str,
    program: &Path,
    timeout: Duration,
) -> Result<String, CaptureError> {
    let out = process::run(
        dependency,
        program,
        vec!["-hide_banner".into(), "-version".into()],
        None,
        64 * 1024,
        timeout,
        false,
    )
    .await?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned())
}

/// The names of the encoders `ffmpeg -encoders` lists.
pub async fn encoders(ffmpeg: &Path, timeout: Duration) -> Result<BTreeSet<String>, CaptureError> {
    let out = process::run(
        "ffmpeg",
        ffmpeg,
        vec!["-hide_banner".into(), "-encoders".into()],
        None,
        1024 * 1024,
        timeout,
        false,
    )
    .await?;
    Ok(parse_encoders(&String::from_utf8_lossy(&out.stdout)))
}

/// ` V....D libx264   libx264 H.264 ...` lines after the ` ------` rule → `libx264`.
pub fn parse_encoders(text: &str) -> BTreeSet<String> {
    text.lines()
        .skip_while(|l| !l.trim_start().starts_with("------"))
        .skip(1)
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let _flags = words.next()?;
            words.next().map(str::to_owned)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_names_are_read_after_the_rule() {
        let text = "Encoders:\n V..... = Video\n ------\n V....D libx264              libx264 H.264 / AVC\n VFS... mjpeg                MJPEG (Motion JPEG)\n";
        let got = parse_encoders(text);
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            ["libx264".to_owned(), "mjpeg".to_owned()]
        );
    }
}
