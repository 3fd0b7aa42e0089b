//! Reading every input through the stage, then the one report.

use std::io::{self, Write};

use std::sync::Arc;

use crate::alerts::replay_transitions;
use crate::classify::Classifier;
use crate::event::{Stage, StageConfig};
use crate::lines::{self, ScanStats};
use crate::patterns::Catalogue;
use crate::report;
use crate::tally::{InputReport, Tally};
use crate::view::View;

use super::feed::Feed;
use super::options::{CheckOptions, Output, timeline_index};
use super::output::{write_json, write_matches, write_prometheus, write_table, write_timeline};
use super::targets::{Target, open, plan};

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
    let mut stdin_head = opts.stdin_head.clone();
    let mut opened = Vec::with_capacity(planned.len());
    for (index, (name, from, target)) in planned.iter().enumerate() {
        let mut report = InputReport { name: name.clone(), from: from.clone(), ..InputReport::default() };
        let (mut reader, detected) = match open(target, &mut stdin_head) {
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
        let result = lines::reads::scan(&mut reader, opts.max_line_bytes, &mut file_stats, &find, &mut feed);
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

        opened.push(stream);
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
    // Inputs are closed once all are read: a call whose START ends one input and whose timed lines
    // open another takes its own time, whichever is read first (closing an input gives its waiting
    // calls their fallback time at once).
    for stream in opened {
        stage.close(stream, &mut tally);
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
pub(super) fn write_report(
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

pub(super) fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
