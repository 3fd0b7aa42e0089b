//! `check --output openmetrics`: a finished load test as Prometheus would have scraped it live, at its
//! own (event) time, for `promtool tsdb create-blocks-from openmetrics` to backfill. Grafana then shows
//! the test where it happened, not when it was replayed.
//!
//! Contract: two counter families with the daemon's names and labels, `authwatch_errors_total{pattern,
//! source}` (every id, zeros included) and `authwatch_login_attempts_total{source}`, then `# EOF`. Per
//! series one sample at the start of the first minute (0) and one at the end of every minute from the
//! first to the last (empty minutes included): the calls counted up to that minute's end, by each
//! call's own time, so `increase(x[1m])` evaluated at a minute's end is that minute's count, exactly
//! (the samples sit on the range's edges: nothing is extrapolated). Timestamps are Unix seconds. Counts
//! are the read model's minutes (`crate::view`); an Event with no time to trust is in no minute, so
//! in no sample. Nothing here counts or judges.

use std::io::{self, Write};

use crate::view::{View, count};
use crate::window::MINUTE_MS;

/// `label="value"` with the exposition format's escapes.
fn label(name: &str, value: &str) -> String {
    let v = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("{name}=\"{v}\"")
}

/// Unix seconds of a minute boundary (whole seconds: boundaries are).
fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// One series: its zero at the first minute's start, then the running total at each minute's end.
fn series(
    out: &mut dyn Write,
    name: &str,
    labels: &str,
    view: &View,
    per_minute: impl Fn(usize) -> u64,
) -> io::Result<()> {
    let Some(first) = view.minutes.first() else { return Ok(()) };
    writeln!(out, "{name}{{{labels}}} 0 {}", secs(first.start_ms))?;
    let mut total = 0u64;
    for (i, m) in view.minutes.iter().enumerate() {
        total += per_minute(i);
        writeln!(out, "{name}{{{labels}}} {total} {}", secs(m.start_ms + MINUTE_MS))?;
    }
    Ok(())
}

pub fn write(view: &View, source: &str, out: &mut dyn Write) -> io::Result<()> {
    let src = label("source", source);
    writeln!(out, "# HELP authwatch_errors Failed calls recognised as each pattern id, by each call's own time.")?;
    writeln!(out, "# TYPE authwatch_errors counter")?;
    for (p, row) in view.patterns.iter().enumerate() {
        let labels = format!("{},{src}", label("pattern", &row.facts.id));
        series(out, "authwatch_errors_total", &labels, view, |i| count(&view.minutes[i], p))?;
    }
    writeln!(out, "# HELP authwatch_login_attempts Calls of the login function, by each call's own time.")?;
    writeln!(out, "# TYPE authwatch_login_attempts counter")?;
    series(out, "authwatch_login_attempts_total", &src, view, |i| view.minutes[i].attempts)?;
    writeln!(out, "# EOF")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("source", "a\"b\\c"), r#"source="a\"b\\c""#);
    }
}
