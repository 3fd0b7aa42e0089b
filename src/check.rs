//! `authwatch check`: the one-shot mode (like `mtail --one_shot`). Reads files, `.gz` files or stdin
//! to their end through the same splitter and Event stage as the daemon, and prints one report: the
//! tally is this mode's sink. Each input is one stream; overlapping inputs count once. PATHs follow
//! the one path grammar (`inputs`): files, directories, quoted globs, `-`.
//!
//! Contract: every input is accounted for in the report (`inputs` in JSON, the table's input lines):
//! read (with its lines, bytes, whether gzip, whether it looks binary), or not read and why. A PATH that
//! yields no file, or an input that cannot be opened or read to its end, is also named on stderr and
//! makes the exit code 2; the other inputs are still read and reported. `--fail-on` makes the exit code
//! 1 when a match of that severity or above was found (2 wins over 1). An input that looks binary is
//! read as text and warned about on stderr. Output goes to the writer given; nothing here prints a
//! matched line, so no secret it holds can leak through this mode. `--report` also writes an HTML page
//! (`crate::report`), which shows one line per pattern only redacted.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};

use std::sync::Arc;

use crate::alerts::replay_transitions;
use crate::api;
use crate::classify::Classifier;
use crate::event::{Stage, StageConfig};
use crate::gauges;
use crate::inputs;
use crate::lines::{self, LineSink, ScanStats};
use crate::metrics::Metrics;
use crate::patterns::{Catalogue, Severity};
use crate::report;
pub use crate::tally::{InputReport, PatternTally, Tally};
use crate::timefmt;
use crate::view::{View, count};

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
    /// The load test at its own time: per-minute counter samples with timestamps, for
    /// `promtool tsdb create-blocks-from openmetrics` (`crate::openmetrics`).
    Openmetrics,
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
    /// `--fn-version`: the version of calls whose records name none.
    pub fn_version: Option<String>,
    /// `--version-from-path`: each input's version from its path.
    pub version_from_path: Option<crate::versions::PathVersion>,
    /// `--function`: the function of calls whose records name none, as a source's `function`.
    pub function: Option<String>,
    /// Directories are walked at every depth (`--recursive`: a tree of batches).
    pub recursive: bool,
    /// How CSV inputs are written, from a config source's `[sources.csv]`.
    pub csv: Option<crate::formats::cls_csv::CsvDialect>,
}

/// Bytes of each input looked at for `SCF_Qualifier` (`names_versions`), and inputs at most.
const SNIFF_BYTES: u64 = 64 * 1024;
const SNIFF_INPUTS: usize = 32;

/// Whether the inputs name function versions: `SCF_Qualifier` in the first block of one of the first
/// files (decompressed). Standard input is not looked at (it would be consumed): `--by-version`.
pub fn names_versions(paths: &[String], recursive: bool) -> bool {
    plan(paths, recursive).iter().filter(|(_, _, t)| matches!(t, Target::File(_))).take(SNIFF_INPUTS).any(
        |(_, _, t)| {
            let Ok((r, _)) = open(t) else { return false };
            let mut head = Vec::new();
            r.take(SNIFF_BYTES).read_to_end(&mut head).is_ok()
                && memchr::memmem::find(&head, b"SCF_Qualifier").is_some()
        },
    )
}

/// One input's lines into the stage.
struct Feed<'a> {
    stage: &'a mut Stage,
    tally: &'a mut Tally,
    stream: u64,
    /// The input's first lines hold one delimiter as often each (`delimited`): a CSV without key line?
    delimited: Option<(u8, usize)>,
}

impl LineSink for Feed<'_> {
    fn wants_every_line(&self) -> bool {
        self.stage.wants_every_line(self.stream)
    }
    fn line(&mut self, line_no: u64, line: &[u8], _cut: bool) {
        self.tally.at_line(line_no);
        self.stage.line(self.stream, line, self.tally);
    }
    fn ended(&mut self, head: &[u8], tail: &[u8]) {
        self.stage.input_edges(self.stream, head, tail, self.tally);
        self.delimited = delimited(head);
    }
}

/// A delimiter (of those CLS shipping writes, not space) the first lines of `head` hold equally
/// often, at least 3 times each, in at least 3 lines: the shape of a CSV without key line.
fn delimited(head: &[u8]) -> Option<(u8, usize)> {
    let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').filter(|l| !l.is_empty()).take(6).collect();
    if lines.len() < 3 {
        return None;
    }
    [b'|', b'\t', b';', b','].into_iter().find_map(|d| {
        let n = lines[0].iter().filter(|&&b| b == d).count();
        let alike = lines.iter().all(|l| l.iter().filter(|&&b| b == d).count() == n);
        (n >= 3 && alike && !lines[0].starts_with(b"{")).then_some((d, n))
    })
}

const STDIN_NAME: &str = "(standard input)";

/// What one planned input is.
enum Target {
    Stdin,
    File(std::path::PathBuf),
    /// A PATH that yielded nothing to read, and why.
    Nothing(String),
}

/// Every PATH expanded by the one path grammar, in order: (name, the PATH if a directory or glob, what).
fn plan(paths: &[String], recursive: bool) -> Vec<(String, Option<String>, Target)> {
    let mut plan = Vec::new();
    for spec in paths {
        if spec == inputs::STDIN {
            plan.push((STDIN_NAME.to_string(), None, Target::Stdin));
            continue;
        }
        let files = match crate::batches::expand_for_check(spec, recursive) {
            Ok(files) => files,
            Err(why) => {
                plan.push((spec.clone(), None, Target::Nothing(why.to_string())));
                continue;
            }
        };
        for path in files {
            let name = path.display().to_string();
            let from = (name != *spec).then(|| spec.clone());
            plan.push((name, from, Target::File(path)));
        }
    }
    plan
}

/// Compressions recognised by their magic bytes that `check` does not decompress: (name, command).
fn other_compression(head: &[u8]) -> Option<(&'static str, &'static str)> {
    if head.starts_with(b"BZh") && head.get(3).is_some_and(u8::is_ascii_digit) {
        Some(("bzip2", "bzip2 -dc"))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(("xz", "xz -dc"))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(("zstd", "zstd -dc"))
    } else if head.starts_with(b"PK\x03\x04") {
        Some(("zip", "unzip -p"))
    } else {
        None
    }
}

/// Opens an input; gzip, lzop and snappy are recognised by their magic bytes, whatever the name
/// (`batches::decompress`). Another compression is refused by name: its bytes are not lines.
fn open(target: &Target) -> io::Result<(Box<dyn Read>, crate::batches::decompress::Detected)> {
    let raw: Box<dyn Read> = match target {
        Target::Stdin => Box::new(io::stdin().lock()),
        Target::File(path) => Box::new(File::open(path)?),
        Target::Nothing(why) => return Err(io::Error::other(why.clone())),
    };
    let mut reader = BufReader::new(raw);
    let head = reader.fill_buf()?;
    if let Some((name, command)) = other_compression(head) {
        return Err(io::Error::other(format!(
            "compressed with {name}, which authwatch does not decompress: pipe it in ({command} FILE | authwatch check -)"
        )));
    }
    crate::batches::decompress::open(Box::new(reader))
}

/// The pattern a `--timeline` key names: any key `explain` takes (id, errcode, SDK code); a code that
/// only `unlisted` counts names `unlisted`. Err: why not.
pub fn timeline_index(catalogue: &crate::patterns::Catalogue, key: &str) -> Result<(usize, Option<String>), String> {
    if let Some(p) = catalogue.find(key) {
        return match catalogue.index_of(&p.id) {
            Some(i) => Ok((i, None)),
            None => {
                Err(format!("{} counts login attempts, not errors: every timeline shows them beside its pattern", p.id))
            }
        };
    }
    if crate::patterns::unlisted_code(key).is_some() {
        if let Some(i) = catalogue.patterns().iter().position(|p| p.fallback) {
            let id = &catalogue.get(i).id;
            return Ok((
                i,
                Some(format!(
                    "{key} is not one of the ten: the timeline shows `{id}`, which counts it with every other error none of the ten matches"
                )),
            ));
        }
    }
    Err("no pattern answers to it; give an id, an errcode or an SDK code (authwatch patterns list, authwatch explain KEY)".into())
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
        Some(key) => match timeline_index(catalogue, key) {
            Ok((i, note)) => {
                if let Some(note) = note {
                    let _ = writeln!(err, "authwatch: --timeline {key}: {note}");
                }
                Some(i)
            }
            Err(why) => {
                let _ = writeln!(err, "authwatch: --timeline {key:?}: {why}");
                return 2;
            }
        },
        None => None,
    };
    let mut tally = Tally::new(catalogue.patterns().len(), opts.report.is_some(), opts.output == Output::Matches);
    tally.watch_refusals(catalogue.index_of(crate::observe::Q45011));
    let config = StageConfig {
        login_function: opts.login_function.clone(),
        source_functions: vec![opts.function.clone()],
        source_formats: vec![opts.format],
        source_versions: vec![opts.fn_version.clone()],
        source_csv: vec![opts.csv.clone().map(Arc::new)],
        ..StageConfig::default()
    };
    let mut stage = Stage::new(classifier.clone(), config);
    stage.set_now(wall_ms());
    let planned = plan(paths, opts.recursive);
    let names: Vec<&str> = planned.iter().map(|(name, _, _)| name.as_str()).collect();
    for (index, (name, from, target)) in planned.iter().enumerate() {
        let mut report = InputReport { name: name.clone(), from: from.clone(), ..InputReport::default() };
        let (mut reader, detected) = match open(target) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "authwatch: {name}: {e}");
                tally.unreadable += 1;
                report.error = Some(e.to_string());
                tally.inputs.push(report);
                continue;
            }
        };
        report.gzip = detected.compression == crate::batches::decompress::Compression::Gzip;
        report.compression = detected.compression.name();
        if !detected.sure {
            let _ = writeln!(
                err,
                "authwatch: {name}: no magic bytes; read as {} (a guess from its first lengths)",
                report.compression
            );
        }
        tally.files += 1;
        tally.at_input(index);
        let stream = index as u64;
        // An export may begin in the middle of a minute.
        stage.open(stream, 0, true);
        if let (Some(re), Target::File(path)) = (&opts.version_from_path, target) {
            stage.set_stream_version(stream, re.of(&path.display().to_string()).as_deref());
        }
        let mut file_stats = ScanStats::default();
        let find = |h: &[u8], from: usize| classifier.next_candidate(h, from);
        let mut feed = Feed { stage: &mut stage, tally: &mut tally, stream, delimited: None };
        let result = lines::scan(&mut reader, opts.max_line_bytes, &mut file_stats, &find, &mut feed);
        let delimited = feed.delimited;
        let detected = stage.detected_format(stream);
        if let (Some((crate::record::Format::Text, None)), Some((d, n)), None) = (detected, delimited, &opts.csv) {
            let _ = writeln!(
                err,
                "authwatch: {name}: read as text but unsure: its first lines hold {n} {:?} each, like a CSV \
                 without key line; say its columns with [sources.csv] (--config FILE --source NAME)",
                d as char
            );
        }
        report.form = detected.map(|d| d.0);
        if let Some((form, Some(why))) = detected {
            let _ = writeln!(
                err,
                "authwatch: {name}: read as {} but unsure: {why}; --format tcb-log reads it as such",
                form.name()
            );
        }

        stage.close(stream, &mut tally);
        tally.scan.lines += file_stats.lines;
        tally.scan.bytes += file_stats.bytes;
        tally.scan.lines_truncated += file_stats.lines_truncated;
        (report.read, report.lines, report.bytes, report.binary) =
            (true, file_stats.lines, file_stats.bytes, file_stats.binary);
        if file_stats.binary {
            tally.binary += 1;
            let _ = writeln!(
                err,
                "authwatch: warning: {name} looks binary (a NUL in its first {} bytes); read as text",
                lines::BINARY_PROBE_BYTES
            );
        }
        if let Err(e) = result {
            let why = format!("read error after {} lines: {e}", file_stats.lines);
            let _ = writeln!(err, "authwatch: {name}: {why}");
            tally.unreadable += 1;
            report.error = Some(why);
        }
        tally.inputs.push(report);
    }
    stage.flush(&mut tally);
    // The read model, once: every output below formats it. The report's alert episodes come from a
    // minute-by-minute replay of the whole input, made only when a report is asked for.
    let replay = match &opts.report {
        Some(_) => replay_transitions(&opts.alert_rules, catalogue, &tally.windows).map_err(|e| e.to_string()),
        None => Ok(Vec::new()),
    };
    let view = View::of_tally(&tally, catalogue, replay.as_deref().unwrap_or_default(), wall_ms());
    let report = match opts.output {
        Output::Matches => write_matches(classifier, &tally, &names, out),
        Output::Json => write_json(&view, &tally, opts, timeline, out),
        Output::Table => write_table(&view, &tally, opts, out).and_then(|()| match timeline {
            Some(p) => write_timeline(&view, &tally, p, out),
            None => Ok(()),
        }),
        Output::Prometheus => write_prometheus(catalogue, &view, &tally, opts, out),
        Output::Openmetrics => crate::openmetrics::write(&view, &opts.source, out),
    };
    if let Some(e) = report.err().or_else(|| out.flush().err()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            let _ = writeln!(err, "authwatch: cannot write output: {e}");
            return 2;
        }
    }
    if let Some(path) = &opts.report {
        if let Err(e) = replay.and_then(|_| write_report(catalogue, &view, &tally, opts, path)) {
            let _ = writeln!(err, "authwatch: --report {}: {e}", path.display());
            return 2;
        }
    }
    if tally.unreadable > 0 {
        return 2;
    }
    let failing = opts
        .fail_on
        .is_some_and(|threshold| view.patterns.iter().any(|r| r.facts.count > 0 && r.facts.severity >= threshold));
    i32::from(failing)
}

/// The HTML report, written beside its target and renamed over it: a reader never sees half a page.
fn write_report(
    catalogue: &Catalogue,
    view: &View,
    tally: &Tally,
    opts: &CheckOptions,
    path: &std::path::Path,
) -> Result<(), String> {
    let html = report::render(&report::Report {
        view,
        catalogue,
        inputs: &tally.inputs,
        tally,
        rules: &opts.alert_rules,
        quota_per_minute: opts.quota_per_minute,
        login_function: &opts.login_function,
        max_line_bytes: opts.max_line_bytes,
        generated_ms: view.at_ms,
    });
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
    for &(input, line, p) in tally.matched() {
        writeln!(out, "{}:{line}:{}", names[input], classifier.catalogue().get(p).id)?;
    }
    Ok(())
}

/// The per-minute table of one pattern against login attempts, the onset minute marked.
fn write_timeline(view: &View, tally: &Tally, pattern: usize, out: &mut dyn Write) -> io::Result<()> {
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

fn write_json(
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
fn input_json(i: &InputReport) -> serde_json::Value {
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
const TABLE_INPUTS: usize = 10;

/// The table's input lines: which inputs were read, which were not and why, which look binary.
fn write_inputs(tally: &Tally, out: &mut dyn Write) -> io::Result<()> {
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

fn write_table(view: &View, tally: &Tally, opts: &CheckOptions, out: &mut dyn Write) -> io::Result<()> {
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

fn write_prometheus(
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
