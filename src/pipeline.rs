//! The daemon's pipeline: the follower's lines go through the Event stage to the sinks.
//!
//! Contract: `Pipeline` is the follower's `Consumer`. Each Event bumps its Prometheus counters at once
//! (the counters sink) and is kept in a batch that goes to the windows + alerts sink (`Observed`) in
//! one lock, at the end of a poll or every `BATCH_EVENTS` Events, whichever comes first: a poll that
//! reads 200 MB of errors must not hold them all in memory. The follower's own health is turned into metrics here
//! too (`apply_health`), so neither the follower nor the stage knows Prometheus; so are its warnings
//! about PATHs that match no file (at once, then at most every `UNMATCHED_WARN_EVERY_MS` per PATH).

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus::IntCounter;

use crate::classify::Classifier;
use crate::classify::ahead::{self, Ahead, AheadSink};
use crate::config::Config;
use crate::event::{Event, Kind, Note, Sink, Stage, StageConfig};
use crate::inputs::{UNMATCHED_WARN_EVERY_MS, UnmatchedLog};
use crate::lines::LineSink;
use crate::metrics::Metrics;
use crate::observe::Shared;
use crate::source::Source;
use crate::tail::{Consumer, SourceHealth};

/// Events handed to the windows sink at once, at most.
pub const BATCH_EVENTS: usize = 1024;

/// The stage's settings from the daemon's configuration.
pub fn stage_config(config: &Config) -> StageConfig {
    let (sources, limits) = (&config.sources, &config.limits);
    StageConfig {
        login_function: config.login_function.clone(),
        source_functions: sources.iter().map(|s| s.function.clone()).collect(),
        source_formats: sources.iter().map(|s| s.format).collect(),
        source_csv: sources.iter().map(|s| s.csv.clone().map(Arc::new)).collect(),
        source_versions: sources.iter().map(|s| s.version.clone()).collect(),
        future_tolerance_ms: limits.event.future_tolerance_secs as i64 * 1000,
        window_ms: limits.event.invocation_window_secs as i64 * 1000,
        max_calls: limits.event.max_invocations as usize,
        max_records: limits.event.max_seen_records as usize,
        ..StageConfig::default()
    }
}

/// Counter handles of one source, resolved once per (re)load.
struct SourceCounters {
    errors: Vec<IntCounter>,
    error_lines: Vec<IntCounter>,
    attempts: IntCounter,
    malformed: IntCounter,
    duplicates: IntCounter,
    future: IntCounter,
    arrival: IntCounter,
}

/// The counters sink, and the batch for the windows sink.
struct Sinks {
    metrics: Arc<Metrics>,
    sources: Vec<SourceCounters>,
    pattern_ids: Vec<String>,
    batch: Vec<Event>,
    observed: Option<Shared>,
}

impl Sinks {
    /// The batch to the windows + alerts sink, in one lock.
    fn hand_over(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        if let Some(o) = &self.observed {
            if let Ok(mut o) = o.lock() {
                o.record(&self.batch);
            }
        }
        self.batch.clear();
    }
}

impl Sink for Sinks {
    fn event(&mut self, e: Event) {
        if let Some(s) = self.sources.get(e.source) {
            match e.kind {
                Kind::Error(p) => {
                    if let Some(c) = s.errors.get(p) {
                        c.inc();
                    }
                    if let (Some(f), Some(id)) = (e.function.as_deref(), self.pattern_ids.get(p)) {
                        self.metrics.count_function_error(f, id);
                    }
                }
                Kind::Attempt => s.attempts.inc(),
                // Per-version figures are read from the view (`crate::versions`), not counted here.
                Kind::Call | Kind::Seen => {}
            }
        }
        self.batch.push(e);
        if self.batch.len() >= BATCH_EVENTS {
            self.hand_over();
        }
    }

    fn error_line(&mut self, source: usize, pattern: usize) {
        if let Some(c) = self.sources.get(source).and_then(|s| s.error_lines.get(pattern)) {
            c.inc();
        }
    }

    fn note(&mut self, source: usize, note: Note) {
        let Some(s) = self.sources.get(source) else { return };
        match note {
            Note::Malformed => s.malformed.inc(),
            Note::Duplicate => s.duplicates.inc(),
            Note::FutureTime => s.future.inc(),
            Note::ArrivalTime => s.arrival.inc(),
            Note::CallEvicted => self.metrics.join_evictions_total.with_label_values(&["invocations"]).inc(),
            Note::RecordEvicted => self.metrics.join_evictions_total.with_label_values(&["records"]).inc(),
        }
    }
}

pub struct Pipeline {
    stage: Stage,
    sinks: Sinks,
    /// When to warn again about PATHs that match nothing.
    unmatched_log: UnmatchedLog,
    now_ms: i64,
    /// Per source: its `version_from_path`, compiled.
    path_versions: Vec<Option<crate::versions::PathVersion>>,
    /// The source of each open stream, while any source takes versions from paths.
    stream_sources: std::collections::HashMap<u64, usize>,
}

fn path_versions(sources: &[Source]) -> Vec<Option<crate::versions::PathVersion>> {
    // Checked when the configuration was read: a regex that does not compile here is none.
    sources
        .iter()
        .map(|s| s.version_from_path.as_deref().and_then(|r| crate::versions::PathVersion::new(r).ok()))
        .collect()
}

fn counters(metrics: &Metrics, classifier: &Classifier, sources: &[Source]) -> Vec<SourceCounters> {
    sources
        .iter()
        .map(|s| {
            let label = metrics.source_label(&s.name);
            let name = label.as_str();
            let per_pattern = |v: &prometheus::IntCounterVec| {
                classifier.catalogue().patterns().iter().map(|p| v.with_label_values(&[p.id.as_str(), name])).collect()
            };
            let one = |v: &prometheus::IntCounterVec| v.with_label_values(&[name]);
            SourceCounters {
                errors: per_pattern(&metrics.errors_total),
                error_lines: per_pattern(&metrics.error_lines_total),
                attempts: one(&metrics.login_attempts_total),
                malformed: one(&metrics.malformed_records_total),
                duplicates: one(&metrics.duplicate_records_total),
                future: one(&metrics.future_timestamps_total),
                arrival: one(&metrics.arrival_time_events_total),
            }
        })
        .collect()
}

impl Pipeline {
    pub fn new(
        classifier: Arc<Classifier>,
        config: StageConfig,
        sources: &[Source],
        metrics: Arc<Metrics>,
        observed: Option<Shared>,
    ) -> Pipeline {
        let sinks = Sinks {
            sources: counters(&metrics, &classifier, sources),
            pattern_ids: classifier.catalogue().patterns().iter().map(|p| p.id.clone()).collect(),
            metrics,
            batch: Vec::with_capacity(BATCH_EVENTS),
            observed,
        };
        Pipeline {
            stage: Stage::new(classifier, config),
            sinks,
            unmatched_log: UnmatchedLog::new(UNMATCHED_WARN_EVERY_MS),
            now_ms: 0,
            path_versions: path_versions(sources),
            stream_sources: std::collections::HashMap::new(),
        }
    }

    pub fn reload(&mut self, classifier: Arc<Classifier>, config: StageConfig, sources: &[Source]) {
        self.sinks.sources = counters(&self.sinks.metrics, &classifier, sources);
        self.path_versions = path_versions(sources);
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        self.unmatched_log.retain_sources(&names);
        self.sinks.pattern_ids = classifier.catalogue().patterns().iter().map(|p| p.id.clone()).collect();
        self.stage.reload(classifier, config);
    }

    pub fn classifier(&self) -> Arc<Classifier> {
        self.stage.classifier().clone()
    }

    /// The wall clock for the next poll (arrival time, the future-time bound): set before reading.
    pub fn set_now(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
        self.stage.set_now(now_ms);
    }

    /// After a poll: Events that waited `hold_ms` for their call's time go; table sizes as gauges.
    pub fn tick(&mut self) {
        self.stage.tick(&mut self.sinks);
        let (calls, records) = self.stage.table_sizes();
        self.sinks.metrics.join_table_entries.with_label_values(&["invocations"]).set(calls as i64);
        self.sinks.metrics.join_table_entries.with_label_values(&["records"]).set(records as i64);
    }

    /// Whether Events wait for their call's time (a checkpoint would then cover uncounted lines).
    pub fn holding(&self) -> bool {
        self.stage.holding() > 0
    }

    /// Everything still waiting for its call's time goes now (shutdown).
    pub fn flush(&mut self) {
        self.stage.flush(&mut self.sinks);
    }

    /// The Events not handed over yet go to the windows + alerts sink (end of a poll).
    pub fn hand_over(&mut self) {
        self.sinks.hand_over();
    }

    /// The follower's health, as metrics. Sources past `max_sources` share one label: its gauges are
    /// their sums. PATHs that match nothing are warned about here (at once, then at most every
    /// `UNMATCHED_WARN_EVERY_MS` while they still match nothing).
    pub fn apply_health(&mut self, health: Vec<(String, SourceHealth)>) {
        let now = u64::try_from(self.now_ms).unwrap_or(0);
        for (name, h) in &health {
            let due = self.unmatched_log.due(now, name, &h.unmatched);
            for (path, why) in due.warn {
                tracing::warn!(source = %name, path = %path, reason = %why, "path matches no file; looking again on every rescan");
            }
            for path in due.resolved {
                tracing::info!(source = %name, path = %path, "path matches files now");
            }
        }
        let m = &self.sinks.metrics;
        // Per label (several sources may share `_other`): files, open files, lag, unmatched paths.
        let mut by_label: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
        for (name, h) in health {
            let label = m.source_label(&name);
            let l = [label.as_str()];
            m.lines_total.with_label_values(&l).inc_by(h.lines);
            m.bytes_total.with_label_values(&l).inc_by(h.bytes);
            m.lines_truncated_total.with_label_values(&l).inc_by(h.lines_truncated);
            m.file_rotations_total.with_label_values(&l).inc_by(h.rotations);
            m.file_truncations_total.with_label_values(&l).inc_by(h.truncations);
            m.read_errors_total.with_label_values(&l).inc_by(h.read_errors);
            m.binary_files_total.with_label_values(&l).inc_by(h.binary_files);
            if let Some(ms) = h.last_line_ms {
                let g = m.last_line_timestamp_seconds.with_label_values(&l);
                g.set(g.get().max(ms as f64 / 1000.0));
            }
            let e = by_label.entry(label).or_insert((0, 0, 0, 0));
            e.0 += h.files;
            e.1 += h.files_open;
            e.2 += h.lag_bytes;
            e.3 += h.unmatched.len() as i64;
        }
        for (label, (files, open, lag, unmatched)) in by_label {
            m.files_watched.with_label_values(&[&label]).set(files);
            m.files_open.with_label_values(&[&label]).set(open);
            m.paths_unmatched.with_label_values(&[&label]).set(unmatched);
            m.lag_bytes.with_label_values(&[&label]).set(lag);
        }
    }
}

impl Consumer for Pipeline {
    fn open(&mut self, stream: u64, source: usize, cut: bool) {
        if self.path_versions.iter().any(Option::is_some) {
            self.stream_sources.insert(stream, source);
        }
        self.stage.open(stream, source, cut);
    }

    fn path(&mut self, stream: u64, path: &std::path::Path) {
        let Some(Some(re)) = self.path_versions.get(self.stream_sources.get(&stream).copied().unwrap_or(usize::MAX))
        else {
            return;
        };
        self.stage.set_stream_version(stream, re.of(&path.to_string_lossy()).as_deref());
    }

    fn moved(&mut self, stream: u64, source: usize) {
        self.stream_sources.insert(stream, source);
        self.stage.moved(stream, source);
    }

    fn wants_every_line(&self, stream: u64) -> bool {
        self.stage.wants_every_line(stream)
    }

    fn line(&mut self, stream: u64, line: &[u8]) {
        self.stage.line(stream, line, &mut self.sinks);
    }

    fn block(&mut self, stream: u64, block: &[u8], lines_before: u64, max: usize) -> Option<(u64, u64)> {
        if block.len() < ahead::MIN_BLOCK {
            return None;
        }
        let classifier = Arc::clone(self.stage.classifier());
        let mut lines = StreamAhead { pipeline: self, stream };
        Some(ahead::walk(&classifier, block, lines_before, max, &mut lines, |l| {
            l.pipeline.stage.ahead_choice(l.stream)
        }))
    }

    fn close(&mut self, stream: u64) {
        self.stream_sources.remove(&stream);
        self.stage.close(stream, &mut self.sinks);
    }
}

/// One stream's lines, judged ahead, into the pipeline's stage.
struct StreamAhead<'p> {
    pipeline: &'p mut Pipeline,
    stream: u64,
}

impl LineSink for StreamAhead<'_> {
    fn wants_every_line(&self) -> bool {
        self.pipeline.stage.wants_every_line(self.stream)
    }
    fn line(&mut self, _line_no: u64, line: &[u8], _cut: bool) {
        self.pipeline.stage.line(self.stream, line, &mut self.pipeline.sinks);
    }
}

impl AheadSink for StreamAhead<'_> {
    fn line_ahead<'a>(&mut self, _line_no: u64, line: &'a [u8], ahead: Ahead<'_, 'a>) {
        self.pipeline.stage.line_ahead(self.stream, line, ahead, &mut self.pipeline.sinks);
    }
}
