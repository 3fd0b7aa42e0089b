//! The per-version rows of a view, formatted: `check`'s table section and JSON `versions`, the API's
//! `/api/v1/versions`, and the HTML table of the status page and the report. Everything here formats
//! `View::versions` (`crate::versions::rows`); nothing decides a number.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::timefmt;
use crate::versions::rows::{ComparisonRow, VersionRow, VersionsView};

/// Ratios as JSON numbers, rounded to 6 places (what a reader compares; no float noise).
fn r6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// One row as `{"function","version","calls","failed_calls":{id:n},"failed_ratio",…}`.
pub fn row_json(r: &VersionRow) -> Value {
    let failed: serde_json::Map<String, Value> = r.failed_calls.iter().map(|(id, n)| (id.clone(), json!(n))).collect();
    json!({
        "function": r.function,
        "version": r.version,
        "calls": r.calls,
        "failed_calls": failed,
        "failed": r.failed,
        "failed_ratio": r6(r.failed_ratio),
        "share": r6(r.share),
        "first_seen": r.first_seen_ms.map(timefmt::format_utc),
        "last_seen": r.last_seen_ms.map(timefmt::format_utc),
    })
}

pub fn comparison_json(c: &ComparisonRow) -> Value {
    let x = &c.c;
    json!({
        "function": x.function,
        "version": x.version,
        "baseline": x.baseline,
        "calls": x.calls,
        "failed": x.failed,
        "failed_ratio": r6(x.ratio()),
        "baseline_calls": x.baseline_calls,
        "baseline_failed": x.baseline_failed,
        "baseline_failed_ratio": r6(x.baseline_ratio()),
        "evidence": r6(x.evidence),
        "verdict": x.verdict.as_str(),
        "pattern": c.pattern,
    })
}

/// `check --output json`'s top-level `versions`.
pub fn rows_json(v: &VersionsView) -> Value {
    Value::Array(v.rows.iter().map(row_json).collect())
}

/// `/api/v1/versions`' `data`.
pub fn api_data(v: &VersionsView) -> Value {
    let test = v.test.unwrap_or_default();
    json!({
        "versions": rows_json(v),
        "comparisons": v.comparisons.iter().map(comparison_json).collect::<Vec<_>>(),
        "window_seconds": test.window_ms / 1000,
        "min_calls": test.min_calls,
        "threshold": test.threshold,
    })
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn ids(r: &VersionRow) -> String {
    if r.failed_calls.is_empty() {
        return "-".into();
    }
    r.failed_calls.iter().map(|(id, n)| format!("{id}={n}")).collect::<Vec<_>>().join(" ")
}

/// `check`'s "by version" section (nothing when no record named a version).
pub fn write_table(v: &VersionsView, out: &mut dyn Write) -> io::Result<()> {
    if v.rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "By version (calls of any function; FAILED is calls that failed with any id, each once):")?;
    let header = [
        "FUNCTION",
        "VERSION",
        "CALLS",
        "SHARE",
        "FAILED",
        "RATIO",
        "FIRST SEEN (UTC)",
        "LAST SEEN (UTC)",
        "FAILED CALLS BY ID",
    ];
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), timefmt::format_utc);
    let rows: Vec<[String; 9]> = v
        .rows
        .iter()
        .map(|r| {
            [
                r.function.clone(),
                r.version.clone(),
                r.calls.to_string(),
                pct(r.share),
                r.failed.to_string(),
                pct(r.failed_ratio),
                time(r.first_seen_ms),
                time(r.last_seen_ms),
                ids(r),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(header.map(str::to_string)).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            match i {
                8 => line.push_str(cell),
                2..=5 => line.push_str(&format!("{cell:>w$}  ")),
                _ => line.push_str(&format!("{cell:<w$}  ")),
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    for c in &v.comparisons {
        let x = &c.c;
        writeln!(
            out,
            "{} {} against {} (the last {} min): {} of {} calls failed ({}) against {} of {} ({}): {}{}",
            x.function,
            x.version,
            x.baseline,
            v.test.unwrap_or_default().window_ms / 60_000,
            x.failed,
            x.calls,
            pct(x.ratio()),
            x.baseline_failed,
            x.baseline_calls,
            pct(x.baseline_ratio()),
            x.verdict.as_str().replace('_', " "),
            c.pattern.as_deref().map(|p| format!(" (mostly {p})")).unwrap_or_default()
        )?;
    }
    Ok(())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The HTML "By version" section of the status page and the report: each version's calls and share
/// of its function's traffic side by side with its failed calls; then the comparisons.
pub fn html(v: &VersionsView) -> String {
    let mut h = String::from(r#"<h2>By version</h2>"#);
    if v.rows.is_empty() {
        h.push_str(r#"<p id="versions" class="muted">No record named a function version (CLS <code>SCF_Qualifier</code>, or a source's <code>version</code>).</p>"#);
        return h;
    }
    h.push_str(r#"<table id="versions"><tr><th>function</th><th>version</th><th class="n">calls</th><th class="n">share of traffic</th><th class="n">failed calls</th><th class="n">failed ratio</th><th>failed calls by id</th><th>first seen (UTC)</th><th>last seen (UTC)</th></tr>"#);
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), timefmt::format_utc);
    for r in &v.rows {
        h.push_str(&format!(
            r#"<tr class="version-row"><td><code>{}</code></td><td><code>{}</code></td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td class="nowrap">{}</td><td class="nowrap">{}</td></tr>"#,
            esc(&r.function),
            esc(&r.version),
            r.calls,
            pct(r.share),
            r.failed,
            pct(r.failed_ratio),
            esc(&ids(r)),
            time(r.first_seen_ms),
            time(r.last_seen_ms)
        ));
    }
    h.push_str("</table>");
    if !v.comparisons.is_empty() {
        h.push_str(r#"<table id="version-comparisons"><tr><th>function</th><th>version</th><th>baseline</th><th class="n">failed / calls</th><th class="n">baseline failed / calls</th><th class="n">evidence (−log10 p)</th><th>verdict</th><th>explained by</th></tr>"#);
        for c in &v.comparisons {
            let x = &c.c;
            h.push_str(&format!(
                r#"<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td class="n">{} / {} ({})</td><td class="n">{} / {} ({})</td><td class="n">{:.2}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&x.function),
                esc(&x.version),
                esc(&x.baseline),
                x.failed,
                x.calls,
                pct(x.ratio()),
                x.baseline_failed,
                x.baseline_calls,
                pct(x.baseline_ratio()),
                x.evidence,
                x.verdict.as_str().replace('_', " "),
                c.pattern.as_deref().map(esc).unwrap_or_else(|| "-".into())
            ));
        }
        h.push_str("</table>");
    }
    h
}
