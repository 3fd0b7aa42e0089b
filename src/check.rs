//! `authwatch check`: the one-shot mode (like `mtail --one_shot`). Reads files, `.gz` files or stdin
//! to their end, classifies every line and prints one report.
//!
//! Contract: an input that cannot be opened or read is reported on stderr and makes the exit code 2,
//! the other inputs are still read and reported. `--fail-on` makes the exit code 1 when a match of that
//! severity or above was found (2 wins over 1). Output goes to the writer given; nothing here prints a
//! matched line, so no secret it holds can leak through this mode.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};

use flate2::read::MultiGzDecoder;

use crate::classify::Classifier;
use crate::lines::{self, ScanStats};
use crate::metrics::Metrics;
use crate::patterns::Severity;
use crate::timefmt;
use crate::window::Windows;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// For people: per pattern the count, first and last time seen, and the fix.
    #[default]
    Table,
    /// One object: lines, bytes and matches for every pattern, zeros included.
    Json,
    /// One line per classified line: PATH:LINE:ID, like grep -n.
    Matches,
    /// The Prometheus exposition text the daemon serves.
    Prometheus,
}

pub struct CheckOptions {
    pub output: Output,
    pub fail_on: Option<Severity>,
    pub max_line_bytes: usize,
    /// The `source` label value in `--output prometheus`.
    pub source: String,
    /// Also report the per-minute history of this pattern against login attempts (`--timeline`).
    pub timeline: Option<String>,
    /// Invocations of this function are login attempts.
    pub login_function: String,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct PatternTally {
    pub count: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

#[derive(Debug)]
pub struct Tally {
    pub scan: ScanStats,
    pub malformed: u64,
    pub files: u64,
    pub unreadable: u64,
    pub per_pattern: Vec<PatternTally>,
    /// Per-minute history, by the lines' own times (for `--timeline`); lines without a time are not in it.
    pub windows: Windows,
    pub untimed: u64,
}

const STDIN_NAME: &str = "(standard input)";

/// Opens a path (`-` is stdin); gzip is recognised by its magic bytes, whatever the name.
fn open(path: &str) -> io::Result<Box<dyn Read>> {
    let raw: Box<dyn Read> = if path == "-" { Box::new(io::stdin().lock()) } else { Box::new(File::open(path)?) };
    let mut reader = BufReader::new(raw);
    if reader.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Runs the check and returns the process exit code.
pub fn run(
    classifier: &Classifier,
    paths: &[String],
    opts: &CheckOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let catalogue = classifier.catalogue();
    let timeline = match &opts.timeline {
        Some(id) => match catalogue.index_of(id) {
            Some(i) => Some(i),
            None => {
                let _ = writeln!(err, "authwatch: --timeline {id:?}: no such pattern");
                return 2;
            }
        },
        None => None,
    };
    let mut tally = Tally {
        per_pattern: vec![PatternTally::default(); catalogue.patterns().len()],
        windows: Windows::new(catalogue.patterns().len(), 7 * 24 * 60),
        scan: ScanStats::default(),
        malformed: 0,
        files: 0,
        unreadable: 0,
        untimed: 0,
    };
    let mut write_error: Option<io::Error> = None;
    for path in paths {
        let name = if path == "-" { STDIN_NAME } else { path.as_str() };
        if std::path::Path::new(path).is_dir() {
            let _ = writeln!(err, "authwatch: {name}: is a directory");
            tally.unreadable += 1;
            continue;
        }
        let mut reader = match open(path) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "authwatch: {name}: {e}");
                tally.unreadable += 1;
                continue;
            }
        };
        tally.files += 1;
        let mut file_stats = ScanStats::default();
        let find = |h: &[u8], from: usize| classifier.next_candidate(h, from);
        let result =
            lines::scan(&mut reader, opts.max_line_bytes, &mut file_stats, &find, &mut |line_no, line, _cut| {
                let Some(c) = classifier.classify(line) else { return };
                tally.malformed += u64::from(c.record.malformed);
                if timeline.is_some() && (c.pattern.is_some() || c.signal.is_some()) {
                    match c.record.time_ms {
                        Some(t) => {
                            if let Some(p) = c.pattern {
                                tally.windows.add(p, t);
                            }
                            if c.signal.is_some()
                                && c.record.function.as_deref().is_none_or(|f| f == opts.login_function)
                            {
                                tally.windows.add_attempt(t);
                            }
                        }
                        None => tally.untimed += 1,
                    }
                }
                let Some(i) = c.pattern else { return };
                let t = &mut tally.per_pattern[i];
                t.count += 1;
                if let Some(ms) = c.record.time_ms {
                    t.first_ms = Some(t.first_ms.map_or(ms, |f| f.min(ms)));
                    t.last_ms = Some(t.last_ms.map_or(ms, |l| l.max(ms)));
                }
                if opts.output == Output::Matches && write_error.is_none() {
                    if let Err(e) = writeln!(out, "{name}:{line_no}:{}", catalogue.get(i).id) {
                        write_error = Some(e);
                    }
                }
            });
        tally.scan.lines += file_stats.lines;
        tally.scan.bytes += file_stats.bytes;
        tally.scan.lines_truncated += file_stats.lines_truncated;
        if let Err(e) = result {
            let _ = writeln!(err, "authwatch: {name}: read error after {} lines: {e}", file_stats.lines);
            tally.unreadable += 1;
        }
    }
    let report = match opts.output {
        Output::Matches => Ok(()),
        Output::Json => write_json(classifier, &tally, timeline, out),
        Output::Table => write_table(classifier, &tally, opts, out).and_then(|()| match timeline {
            Some(p) => write_timeline(classifier, &tally, p, out),
            None => Ok(()),
        }),
        Output::Prometheus => write_prometheus(classifier, &tally, opts, out),
    };
    if let Some(e) = write_error.or(report.err()).or_else(|| out.flush().err()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            let _ = writeln!(err, "authwatch: cannot write output: {e}");
            return 2;
        }
    }
    if tally.unreadable > 0 {
        return 2;
    }
    let failing = opts.fail_on.is_some_and(|threshold| {
        catalogue.patterns().iter().zip(&tally.per_pattern).any(|(p, t)| t.count > 0 && p.severity >= threshold)
    });
    i32::from(failing)
}

/// The per-minute table of one pattern against login attempts, the onset minute marked.
fn write_timeline(classifier: &Classifier, tally: &Tally, pattern: usize, out: &mut dyn Write) -> io::Result<()> {
    let id = &classifier.catalogue().get(pattern).id;
    let onset = tally.windows.onset(pattern).map(|(ms, _)| ms);
    writeln!(out)?;
    writeln!(out, "{:<20}  {:>width$}  {:>14}", "MINUTE (UTC)", id, "LOGIN ATTEMPTS", width = id.len())?;
    for m in tally.windows.history(pattern) {
        let start = timefmt::format_utc(m.start_ms);
        let mark = if Some(m.start_ms) == onset { "  <- onset: first minute with this error" } else { "" };
        writeln!(out, "{:<20}  {:>width$}  {:>14}{mark}", &start[..16], m.count, m.login_attempts, width = id.len())?;
    }
    if tally.untimed > 0 {
        writeln!(out, "({} matched lines carry no time and are not in the timeline)", tally.untimed)?;
    }
    Ok(())
}

fn write_json(classifier: &Classifier, tally: &Tally, timeline: Option<usize>, out: &mut dyn Write) -> io::Result<()> {
    let mut matches = serde_json::Map::new();
    for (p, t) in classifier.catalogue().patterns().iter().zip(&tally.per_pattern) {
        matches.insert(p.id.clone(), t.count.into());
    }
    let mut doc = serde_json::json!({
        "lines": tally.scan.lines,
        "bytes": tally.scan.bytes,
        "matches": matches,
        "lines_truncated": tally.scan.lines_truncated,
        "malformed_records": tally.malformed,
        "files": tally.files,
        "unreadable_files": tally.unreadable,
    });
    if let Some(p) = timeline {
        let minutes: Vec<serde_json::Value> = tally
            .windows
            .history(p)
            .iter()
            .map(|m| serde_json::json!({"start": timefmt::format_utc(m.start_ms), "count": m.count, "login_attempts": m.login_attempts}))
            .collect();
        let onset = tally.windows.onset(p).map(|(ms, attempts)| serde_json::json!({"start": timefmt::format_utc(ms), "login_attempts_per_minute": attempts}));
        doc["timeline"] = serde_json::json!({"pattern": classifier.catalogue().get(p).id, "minutes": minutes, "onset": onset, "untimed_lines": tally.untimed});
    }
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn write_table(classifier: &Classifier, tally: &Tally, opts: &CheckOptions, out: &mut dyn Write) -> io::Result<()> {
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), timefmt::format_utc);
    let rows: Vec<[String; 6]> = classifier
        .catalogue()
        .patterns()
        .iter()
        .zip(&tally.per_pattern)
        .map(|(p, t)| {
            [
                p.id.clone(),
                p.severity.to_string(),
                t.count.to_string(),
                time(t.first_ms),
                time(t.last_ms),
                p.fix_summary.clone(),
            ]
        })
        .collect();
    let header = ["PATTERN", "SEVERITY", "COUNT", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "FIX"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    writeln!(
        out,
        "{} lines, {} bytes in {} file(s); {} lines cut at {} bytes; {} malformed records",
        tally.scan.lines,
        tally.scan.bytes,
        tally.files,
        tally.scan.lines_truncated,
        opts.max_line_bytes,
        tally.malformed
    )?;
    writeln!(out)?;
    for row in std::iter::once(header.map(str::to_string)).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i == 5 {
                line.push_str(cell);
            } else if i == 2 {
                line.push_str(&format!("{cell:>w$}  "));
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_prometheus(
    classifier: &Classifier,
    tally: &Tally,
    opts: &CheckOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let catalogue = classifier.catalogue();
    let to_io = |e: prometheus::Error| io::Error::other(e.to_string());
    let m = Metrics::new(catalogue, &[opts.source.as_str()]).map_err(to_io)?;
    let src = [opts.source.as_str()];
    for (p, t) in catalogue.patterns().iter().zip(&tally.per_pattern) {
        m.errors_total.with_label_values(&[p.id.as_str(), src[0]]).inc_by(t.count);
    }
    m.lines_total.with_label_values(&src).inc_by(tally.scan.lines);
    m.bytes_total.with_label_values(&src).inc_by(tally.scan.bytes);
    m.lines_truncated_total.with_label_values(&src).inc_by(tally.scan.lines_truncated);
    m.malformed_records_total.with_label_values(&src).inc_by(tally.malformed);
    out.write_all(m.render().map_err(to_io)?.as_bytes())
}
