//! Go's `time.Duration` text, which MediaMTX reads (`ParseDuration`, plus its own `d` for
//! days) and writes back (`Duration.String`, so `300s` comes back as `5m0s`).

/// Nanoseconds of a Go duration text (`"1h2m3.5s"`, `"300ms"`, `"0"`, `"-1s"`): the
/// service's own parser (`cs_mediamtx::parse_duration`), with Go's sign on top.
pub fn parse(text: &str) -> Option<i128> {
    let (neg, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let nanos = i128::try_from(cs_mediamtx::parse_duration(rest)?.as_nanos()).ok()?;
    if nanos > i128::from(i64::MAX) {
        return None;
    }
    Some(if neg { -nanos } else { nanos })
}

fn with_fraction(value: i128, unit: i128) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `Duration.String()`.
pub fn format(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.abs();
    let body = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", with_fraction(u, 1_000))
    } else if u < 1_000_000_000 {
        format!("{}ms", with_fraction(u, 1_000_000))
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let s = with_fraction(u % 60_000_000_000, 1_000_000_000);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else if m > 0 {
            format!("{m}m{s}s")
        } else {
            format!("{s}s")
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format(10_000_000_000), "10s");
        assert_eq!(format(300_000_000_000), "5m0s");
        assert_eq!(format(3_600_000_000_000), "1h0m0s");
        assert_eq!(format(1_500_000_000), "1.5s");
        assert_eq!(format(500_000_000), "500ms");
        assert_eq!(format(1_500), "1.5µs");
        assert_eq!(format(0), "0s");
    }

    #[test]
    fn parses_like_go() {
        assert_eq!(parse("300s"), Some(300_000_000_000));
        assert_eq!(parse("5m0s"), Some(300_000_000_000));
        assert_eq!(parse("1h2m3.5s"), Some(3_723_500_000_000));
        assert_eq!(parse("0"), Some(0));
        assert_eq!(parse("1d"), Some(86_400_000_000_000));
        assert_eq!(parse(".5s"), Some(500_000_000));
        for bad in ["", "10", "s", "1x", "1.s.", "--1s"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
