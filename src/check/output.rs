//! The report's forms: table, JSON, matches, timeline, Prometheus exposition.

use std::io::{self, Write};

use crate::api;
use crate::classify::Classifier;
use crate::gauges;
use crate::metrics::Metrics;
use crate::patterns::Catalogue;
use crate::tally::{InputReport, Tally};
use crate::timefmt;
use crate::view::{View, count};

use super::options::CheckOptions;

/// `PATH:LINE:ID` for every recognised line, like `grep -n`, in input order.
pub(super) fn write_matches(
    classifier: &Classifier,
    tally: &Tally,
    names: &[&str],
    out: &mut dyn Write,
) -> io::Result<()> {
    for &(input, line, p) in tally.matched() {
        writeln!(out, "{}:{line}:{}", names[input], classifier.catalogue().get(p).id)?;
    }
    Ok(())
}

/// The per-minute table of one pattern against login attempts, the onset minute marked.
pub(super) fn write_timeline(view: &View, tally: &Tally, pattern: usize, out: &mut dyn Write) -> io::Result<()> {
    let Some(row) = view.patterns.get(pattern) else { return Ok(()) };
    let id = &row.facts.id;
    writeln!(out)?;
    writeln!(out, "{:<20}  {:>width$}  {:>14}", "MINUTE (UTC)", id, "LOGIN ATTEMPTS", width = id.len())?;
    for m in &view.minutes {
        let start = timefmt::format_utc(m.start_ms);
        let mark = match row.onset {
            Some(o) if o.start_ms == m.start_ms && o.attempts.is_none() => {
                "  <- onset: first whole minute with this error (attempts unknown: none seen)"
            }
            Some(o) if o.start_ms == m.start_ms => "  <- onset: first whole minute with this error",
            _ if m.partial => "  (partial: cut by the start or the end of an input, not used for the onset)",
            _ => "",
        };
        writeln!(
            out,
            "{:<20}  {:>width$}  {:>14}{mark}",
            &start[..16],
            count(m, pattern),
            m.attempts,
            width = id.len()
        )?;
    }
    writeln!(out, "(counts are calls: a call that prints its error several times counts once, at the call's time)")?;
    if view.q45011().is_some_and(|(q, _)| q == pattern) {
        writeln!(
            out,
            "{}",
            crate::view::onset::sentence_text(
                row.onset.map(|o| (o.start_ms, o.attempts)),
                &row.skipped_partial,
                &view.load
            )
        )?;
    }
    if tally.arrival > 0 {
        writeln!(
            out,
            "({} errors or attempts had no trustworthy time of their own, of their call or of their input: placed at reading time)",
            tally.arrival
        )?;
    }
    Ok(())
}

pub(super) fn write_json(
    view: &View,
    tally: &Tally,
    opts: &CheckOptions,
    timeline: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut matches = serde_json::Map::new();
    let mut line_matches = serde_json::Map::new();
    for p in view.patterns.iter().map(|r| &r.facts) {
        matches.insert(p.id.clone(), p.count.into());
        line_matches.insert(p.id.clone(), p.lines.unwrap_or(0).into());
    }
    let mut doc = serde_json::json!({
        "lines": tally.scan.lines,
        "bytes": tally.scan.bytes,
        "matches": matches,
        "line_matches": line_matches,
        "lines_truncated": tally.scan.lines_truncated,
        "malformed_records": tally.malformed,
        "duplicate_records": tally.duplicates,
        "future_timestamps": tally.future,
        "arrival_time_events": tally.arrival,
        "join_evictions": tally.evicted,
        "files": tally.files,
        "unreadable_files": tally.unreadable,
        "binary_files": tally.binary,
        "inputs": tally.inputs.iter().map(input_json).collect::<Vec<_>>(),
    });
    // Present when any record named a version.
    if !view.versions.rows.is_empty() {
        doc["versions"] = crate::version_outputs::rows_json(&view.versions);
    }
    if opts.count_attempts {
        doc["login_attempts"] = tally.login_attempts.into();
    }
    if let Some(p) = timeline {
        doc["timeline"] = api::timeline(view, p);
    }
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// One input in `--output json`: path, from (a directory or glob), read, lines, bytes, gzip, binary,
/// and error when it was not read (or not to its end).
pub(super) fn input_json(i: &InputReport) -> serde_json::Value {
    let mut v = serde_json::json!({"path": i.name, "read": i.read});
    if let Some(from) = &i.from {
        v["from"] = from.as_str().into();
    }
    if i.read {
        v["lines"] = i.lines.into();
        v["bytes"] = i.bytes.into();
        v["gzip"] = i.gzip.into();
        v["compression"] = i.compression.into();
        v["form"] = i.form.map_or(serde_json::Value::Null, |f| f.name().into());
        v["binary"] = i.binary.into();
    }
    if let Some(e) = &i.error {
        v["error"] = e.as_str().into();
    }
    v
}

/// Inputs named in the table at most; JSON lists them all.
pub(super) const TABLE_INPUTS: usize = 10;

/// The table's input lines: which inputs were read, which were not and why, which look binary.
pub(super) fn write_inputs(tally: &Tally, out: &mut dyn Write) -> io::Result<()> {
    let read: Vec<String> = tally
        .inputs
        .iter()
        .filter(|i| i.read)
        .map(|i| {
            let form = i.form.map_or("nothing read", crate::record::Format::name);
            match i.compression {
                "none" | "" => format!("{} ({form})", i.name),
                c => format!("{} ({c}, {form})", i.name),
            }
        })
        .collect();
    let shown = read.len().min(TABLE_INPUTS);
    let more = if read.len() > shown {
        format!(" and {} more (--output json lists every input)", read.len() - shown)
    } else {
        String::new()
    };
    writeln!(
        out,
        "Read {} input(s): {}{more}",
        read.len(),
        if read.is_empty() { "none".to_string() } else { read[..shown].join(", ") }
    )?;
    for i in tally.inputs.iter().filter(|i| i.error.is_some()) {
        let verb = if i.read { "Not read to its end" } else { "Not read" };
        writeln!(out, "{verb}: {}: {}", i.name, i.error.as_deref().unwrap_or_default())?;
    }
    let binary: Vec<&str> = tally.inputs.iter().filter(|i| i.binary).map(|i| i.name.as_str()).collect();
    if !binary.is_empty() {
        writeln!(out, "Looks binary (a NUL in its first block), read as text: {}", binary.join(", "))?;
    }
    Ok(())
}

pub(super) fn write_table(view: &View, tally: &Tally, opts: &CheckOptions, out: &mut dyn Write) -> io::Result<()> {
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), timefmt::format_utc);
    let rows: Vec<[String; 7]> = view
        .patterns
        .iter()
        .map(|r| &r.facts)
        .map(|p| {
            [
                p.id.clone(),
                p.severity.to_string(),
                p.count.to_string(),
                p.lines.unwrap_or(0).to_string(),
                time(p.first_seen_ms),
                time(p.last_seen_ms),
                p.fix_summary.clone(),
            ]
        })
        .collect();
    let header = ["PATTERN", "SEVERITY", "COUNT", "LINES", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "FIX"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    writeln!(
        out,
        "{} lines, {} bytes in {} file(s); {} lines cut at {} bytes; {} malformed records; {}; {} records read twice (overlapping inputs) not counted again; {} stamped in the future",
        tally.scan.lines,
        tally.scan.bytes,
        tally.files,
        tally.scan.lines_truncated,
        opts.max_line_bytes,
        tally.malformed,
        if opts.count_attempts {
            format!("{} login attempts", tally.login_attempts)
        } else {
            "login attempts not counted (--timeline counts them)".to_string()
        },
        tally.duplicates,
        tally.future,
    )?;
    writeln!(out, "COUNT is failed calls (each call once, however many lines print it); LINES is every line.")?;
    write_inputs(tally, out)?;
    writeln!(out)?;
    for row in std::iter::once(header.map(str::to_string)).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i == 6 {
                line.push_str(cell);
            } else if i == 2 || i == 3 {
                line.push_str(&format!("{cell:>w$}  "));
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    crate::version_outputs::write_table(&view.versions, out)
}

pub(super) fn write_prometheus(
    catalogue: &Catalogue,
    view: &View,
    tally: &Tally,
    opts: &CheckOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let to_io = |e: prometheus::Error| io::Error::other(e.to_string());
    let m = Metrics::new(catalogue, &[opts.source.as_str()]).map_err(to_io)?;
    let src = [opts.source.as_str()];
    for p in view.patterns.iter().map(|r| &r.facts) {
        m.errors_total.with_label_values(&[p.id.as_str(), src[0]]).inc_by(p.count);
        m.error_lines_total.with_label_values(&[p.id.as_str(), src[0]]).inc_by(p.lines.unwrap_or(0));
    }
    m.login_attempts_total.with_label_values(&src).inc_by(tally.login_attempts);
    m.duplicate_records_total.with_label_values(&src).inc_by(tally.duplicates);
    m.future_timestamps_total.with_label_values(&src).inc_by(tally.future);
    m.arrival_time_events_total.with_label_values(&src).inc_by(tally.arrival);
    // The windowed gauges exactly as the daemon sets them, from the view: the input has ended, so its
    // last minute is complete (as a replay's is once closed).
    gauges::show(&m, view);
    m.lines_total.with_label_values(&src).inc_by(tally.scan.lines);
    m.bytes_total.with_label_values(&src).inc_by(tally.scan.bytes);
    m.lines_truncated_total.with_label_values(&src).inc_by(tally.scan.lines_truncated);
    m.malformed_records_total.with_label_values(&src).inc_by(tally.malformed);
    out.write_all(m.render().map_err(to_io)?.as_bytes())
}
