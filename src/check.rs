//! `authwatch check`: the one-shot mode (like `mtail --one_shot`). Reads files, `.gz` files or stdin
//! to their end through the same splitter and Event stage as the daemon, and prints one report: the
//! tally is this mode's sink. Each input is one stream; overlapping inputs count once.
//!
//! Contract: an input that cannot be opened or read is reported on stderr and makes the exit code 2,
//! the other inputs are still read and reported. `--fail-on` makes the exit code 1 when a match of that
//! severity or above was found (2 wins over 1). Output goes to the writer given; nothing here prints a
//! matched line, so no secret it holds can leak through this mode. `--report` also writes an HTML page
//! (`crate::report`), which shows one line per pattern only redacted.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};

use flate2::read::MultiGzDecoder;

use std::sync::Arc;

use crate::classify::Classifier;
use crate::event::{Event, Kind, Note, Sink, Stage, StageConfig};
use crate::lines::{self, LineSink, ScanStats};
use crate::metrics::Metrics;
use crate::observe::onset_json;
use crate::patterns::Severity;
use crate::report::{self, InputSummary};
use crate::timefmt;
use crate::window::{MINUTE_MS, Windows};

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
    /// How lines are read (detected per stream, or forced).
    pub format: crate::record::FormatChoice,
    /// Whether login attempts are counted (the classifier was built with signals): the load figures
    /// (`--timeline`, `--output prometheus`, `--report`) need them; counting errors alone does not read
    /// START lines.
    pub count_attempts: bool,
    /// `--report FILE.html`: also write the load-test report there (`crate::report`).
    pub report: Option<std::path::PathBuf>,
    /// The rules the report evaluates (the guide's defaults unless a config gives `[[alerts]]`).
    pub alert_rules: Vec<crate::alerts::RuleConfig>,
    /// The quota line of the report's chart, calls per minute.
    pub quota_per_minute: u64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct PatternTally {
    /// Failed calls (a line outside any call counts once).
    pub count: u64,
    /// Every line recognised as this pattern.
    pub lines: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

/// `check`'s sink: what the Event stage found in all inputs.
#[derive(Debug)]
pub struct Tally {
    pub scan: ScanStats,
    pub malformed: u64,
    pub files: u64,
    pub unreadable: u64,
    pub per_pattern: Vec<PatternTally>,
    pub login_attempts: u64,
    /// Per-minute history of every pattern and of login attempts, by each call's time.
    pub windows: Windows,
    pub duplicates: u64,
    pub future: u64,
    pub arrival: u64,
    pub evicted: u64,
    /// The earliest and the newest time of an error or a login attempt.
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// For `--report`: the first line that showed each pattern (raw; the report redacts it).
    pub samples: Vec<Option<Vec<u8>>>,
    keep_samples: bool,
    /// For `--output matches`: (input, line number) of the line being read, and the lines found.
    at: (usize, u64),
    matched: Vec<(usize, u64, usize)>,
    keep_matches: bool,
}

impl Sink for Tally {
    fn event(&mut self, e: Event) {
        if let Some(input) = e.input {
            self.windows.note_input(input, e.time_ms);
        }
        self.first_ms = Some(self.first_ms.map_or(e.time_ms, |f| f.min(e.time_ms)));
        self.last_ms = Some(self.last_ms.map_or(e.time_ms, |l| l.max(e.time_ms)));
        match e.kind {
            Kind::Error(p) => {
                if let (Some(slot @ None), Some(line)) = (self.samples.get_mut(p), e.sample) {
                    *slot = Some(line);
                }
                self.windows.add(p, e.time_ms);
                if let Some(t) = self.per_pattern.get_mut(p) {
                    t.count += 1;
                    t.first_ms = Some(t.first_ms.map_or(e.time_ms, |f| f.min(e.time_ms)));
                    t.last_ms = Some(t.last_ms.map_or(e.time_ms, |l| l.max(e.time_ms)));
                }
            }
            Kind::Attempt => {
                self.windows.add_attempt(e.time_ms);
                self.login_attempts += 1;
            }
        }
    }

    fn wants_details(&self) -> bool {
        self.keep_samples
    }

    fn error_line(&mut self, _source: usize, pattern: usize) {
        if let Some(t) = self.per_pattern.get_mut(pattern) {
            t.lines += 1;
        }
        if self.keep_matches {
            self.matched.push((self.at.0, self.at.1, pattern));
        }
    }

    fn note(&mut self, _source: usize, note: Note) {
        match note {
            Note::Malformed => self.malformed += 1,
            Note::Duplicate => self.duplicates += 1,
            Note::FutureTime => self.future += 1,
            Note::ArrivalTime => self.arrival += 1,
            Note::CallEvicted | Note::RecordEvicted => self.evicted += 1,
        }
    }
}

/// One input's lines into the stage.
struct Feed<'a> {
    stage: &'a mut Stage,
    tally: &'a mut Tally,
    stream: u64,
}

impl LineSink for Feed<'_> {
    fn wants_every_line(&self) -> bool {
        self.stage.wants_every_line(self.stream)
    }
    fn line(&mut self, line_no: u64, line: &[u8], _cut: bool) {
        self.tally.at.1 = line_no;
        self.stage.line(self.stream, line, self.tally);
    }
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
    classifier: &Arc<Classifier>,
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
        login_attempts: 0,
        duplicates: 0,
        future: 0,
        arrival: 0,
        evicted: 0,
        first_ms: None,
        last_ms: None,
        samples: vec![None; catalogue.patterns().len()],
        keep_samples: opts.report.is_some(),
        at: (0, 0),
        matched: Vec::new(),
        keep_matches: opts.output == Output::Matches,
    };
    let config = StageConfig {
        login_function: opts.login_function.clone(),
        source_functions: vec![None],
        source_formats: vec![opts.format],
        ..StageConfig::default()
    };
    let mut stage = Stage::new(classifier.clone(), config);
    stage.set_now(wall_ms());
    let names: Vec<&str> = paths.iter().map(|p| if p == "-" { STDIN_NAME } else { p.as_str() }).collect();
    let mut inputs: Vec<InputSummary> = Vec::new();
    let summary = |name: &str, error: Option<String>| InputSummary {
        name: name.to_string(),
        form: None,
        lines: 0,
        bytes: 0,
        error,
    };
    for (index, path) in paths.iter().enumerate() {
        let name = names[index];
        if std::path::Path::new(path).is_dir() {
            let _ = writeln!(err, "authwatch: {name}: is a directory");
            inputs.push(summary(name, Some("is a directory".into())));
            tally.unreadable += 1;
            continue;
        }
        let mut reader = match open(path) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "authwatch: {name}: {e}");
                inputs.push(summary(name, Some(e.to_string())));
                tally.unreadable += 1;
                continue;
            }
        };
        tally.files += 1;
        tally.at = (index, 0);
        let stream = index as u64;
        // An export may begin in the middle of a minute.
        stage.open(stream, 0, true);
        let mut file_stats = ScanStats::default();
        let find = |h: &[u8], from: usize| classifier.next_candidate(h, from);
        let mut feed = Feed { stage: &mut stage, tally: &mut tally, stream };
        let result = lines::scan(&mut reader, opts.max_line_bytes, &mut file_stats, &find, &mut feed);
        let form = stage.detected_format(stream);
        stage.close(stream, &mut tally);
        inputs.push(InputSummary {
            form,
            lines: file_stats.lines,
            bytes: file_stats.bytes,
            error: result.as_ref().err().map(|e| format!("read error after {} lines: {e}", file_stats.lines)),
            ..summary(name, None)
        });
        tally.scan.lines += file_stats.lines;
        tally.scan.bytes += file_stats.bytes;
        tally.scan.lines_truncated += file_stats.lines_truncated;
        if let Err(e) = result {
            let _ = writeln!(err, "authwatch: {name}: read error after {} lines: {e}", file_stats.lines);
            tally.unreadable += 1;
        }
    }
    stage.flush(&mut tally);
    let report = match opts.output {
        Output::Matches => write_matches(classifier, &tally, &names, out),
        Output::Json => write_json(classifier, &tally, opts, timeline, out),
        Output::Table => write_table(classifier, &tally, opts, out).and_then(|()| match timeline {
            Some(p) => write_timeline(classifier, &tally, p, out),
            None => Ok(()),
        }),
        Output::Prometheus => write_prometheus(classifier, &tally, opts, out),
    };
    if let Some(e) = report.err().or_else(|| out.flush().err()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            let _ = writeln!(err, "authwatch: cannot write output: {e}");
            return 2;
        }
    }
    if let Some(path) = &opts.report {
        if let Err(e) = write_report(classifier, &tally, &inputs, opts, path) {
            let _ = writeln!(err, "authwatch: --report {}: {e}", path.display());
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

/// The HTML report, written beside its target and renamed over it: a reader never sees half a page.
fn write_report(
    classifier: &Classifier,
    tally: &Tally,
    inputs: &[InputSummary],
    opts: &CheckOptions,
    path: &std::path::Path,
) -> Result<(), String> {
    let samples: Vec<Option<String>> =
        tally.samples.iter().map(|s| s.as_ref().map(|l| crate::redact::redact(&String::from_utf8_lossy(l)))).collect();
    let html = report::render(&report::Report {
        catalogue: classifier.catalogue(),
        inputs,
        tally,
        samples: &samples,
        rules: &opts.alert_rules,
        quota_per_minute: opts.quota_per_minute,
        login_function: &opts.login_function,
        max_line_bytes: opts.max_line_bytes,
        generated_ms: wall_ms(),
    })
    .map_err(|e| e.to_string())?;
    let name = path.file_name().ok_or("not a file name")?.to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, html).and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// `PATH:LINE:ID` for every recognised line, like `grep -n`, in input order.
fn write_matches(classifier: &Classifier, tally: &Tally, names: &[&str], out: &mut dyn Write) -> io::Result<()> {
    for &(input, line, p) in &tally.matched {
        writeln!(out, "{}:{line}:{}", names[input], classifier.catalogue().get(p).id)?;
    }
    Ok(())
}

/// The per-minute table of one pattern against login attempts, the onset minute marked.
fn write_timeline(classifier: &Classifier, tally: &Tally, pattern: usize, out: &mut dyn Write) -> io::Result<()> {
    let id = &classifier.catalogue().get(pattern).id;
    let onset = tally.windows.onset(pattern);
    writeln!(out)?;
    writeln!(out, "{:<20}  {:>width$}  {:>14}", "MINUTE (UTC)", id, "LOGIN ATTEMPTS", width = id.len())?;
    for m in tally.windows.history(pattern) {
        let start = timefmt::format_utc(m.start_ms);
        let mark = match onset {
            Some((ms, 0)) if ms == m.start_ms => {
                "  <- onset: first whole minute with this error (attempts unknown: none seen)"
            }
            Some((ms, _)) if ms == m.start_ms => "  <- onset: first whole minute with this error",
            _ if m.partial => "  (partial: cut by the start of an input, not used for the onset)",
            _ => "",
        };
        writeln!(out, "{:<20}  {:>width$}  {:>14}{mark}", &start[..16], m.count, m.login_attempts, width = id.len())?;
    }
    writeln!(out, "(counts are calls: a call that prints its error several times counts once, at the call's time)")?;
    if tally.arrival > 0 {
        writeln!(
            out,
            "({} errors or attempts had no trustworthy time of their own, of their call or of their input: placed at reading time)",
            tally.arrival
        )?;
    }
    Ok(())
}

fn write_json(
    classifier: &Classifier,
    tally: &Tally,
    opts: &CheckOptions,
    timeline: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut matches = serde_json::Map::new();
    let mut line_matches = serde_json::Map::new();
    for (p, t) in classifier.catalogue().patterns().iter().zip(&tally.per_pattern) {
        matches.insert(p.id.clone(), t.count.into());
        line_matches.insert(p.id.clone(), t.lines.into());
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
    });
    if opts.count_attempts {
        doc["login_attempts"] = tally.login_attempts.into();
    }
    if let Some(p) = timeline {
        let minutes: Vec<serde_json::Value> = tally
            .windows
            .history(p)
            .iter()
            .map(|m| serde_json::json!({"start": timefmt::format_utc(m.start_ms), "count": m.count, "login_attempts": m.login_attempts, "partial": m.partial}))
            .collect();
        doc["timeline"] = serde_json::json!({
            "pattern": classifier.catalogue().get(p).id,
            "minutes": minutes,
            "onset": onset_json(&tally.windows, p),
            "peak_per_minute": tally.windows.peak(p),
        });
    }
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn write_table(classifier: &Classifier, tally: &Tally, opts: &CheckOptions, out: &mut dyn Write) -> io::Result<()> {
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), timefmt::format_utc);
    let rows: Vec<[String; 7]> = classifier
        .catalogue()
        .patterns()
        .iter()
        .zip(&tally.per_pattern)
        .map(|(p, t)| {
            [
                p.id.clone(),
                p.severity.to_string(),
                t.count.to_string(),
                t.lines.to_string(),
                time(t.first_ms),
                time(t.last_ms),
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
        m.error_lines_total.with_label_values(&[p.id.as_str(), src[0]]).inc_by(t.lines);
    }
    m.login_attempts_total.with_label_values(&src).inc_by(tally.login_attempts);
    m.duplicate_records_total.with_label_values(&src).inc_by(tally.duplicates);
    m.future_timestamps_total.with_label_values(&src).inc_by(tally.future);
    m.arrival_time_events_total.with_label_values(&src).inc_by(tally.arrival);
    if let Some(q) = catalogue.index_of(crate::observe::Q45011) {
        let w = &tally.windows;
        // The last complete minute of the input: its very last minute may be cut by the export's end.
        if let Some(last) = w.watermark_ms().map(|ms| ms - MINUTE_MS) {
            m.q45011_last_minute.set(w.count_in_minute(q, last) as i64);
            m.login_attempts_last_minute.set(w.attempts_in_minute(last) as i64);
        }
        m.q45011_peak_per_minute.set(w.peak(q) as i64);
        if let Some((start_ms, attempts)) = w.onset(q) {
            m.set_onset((attempts > 0).then_some(attempts), start_ms);
        }
        m.onset_skipped_partial.set(w.skipped_partial(q).len() as i64);
    }
    m.lines_total.with_label_values(&src).inc_by(tally.scan.lines);
    m.bytes_total.with_label_values(&src).inc_by(tally.scan.bytes);
    m.lines_truncated_total.with_label_values(&src).inc_by(tally.scan.lines_truncated);
    m.malformed_records_total.with_label_values(&src).inc_by(tally.malformed);
    out.write_all(m.render().map_err(to_io)?.as_bytes())
}
