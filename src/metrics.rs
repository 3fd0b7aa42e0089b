//! Every Prometheus metric authwatch exports, defined here and nowhere else.
//!
//! Contract: one `authwatch_` namespace, base units, `_total` on counters, one-sentence HELP. Every
//! series whose label values are known up front (each pattern × each source) exists from the start at
//! 0, so `rate()` and alerts see the first error. Label values are bounded: pattern ids from the
//! catalogue and configured source names only, never request ids, openids or file names.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use prometheus::{Encoder, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::patterns::Catalogue;

pub const NAMESPACE: &str = "authwatch";

pub struct Metrics {
    registry: Registry,
    pub errors_total: IntCounterVec,
    pub error_lines_total: IntCounterVec,
    pub duplicate_records_total: IntCounterVec,
    pub future_timestamps_total: IntCounterVec,
    pub arrival_time_events_total: IntCounterVec,
    pub join_evictions_total: IntCounterVec,
    pub join_table_entries: IntGaugeVec,
    pub file_lookalike_decisions_total: IntCounter,
    pub onset_skipped_partial: IntGauge,
    pub lines_total: IntCounterVec,
    pub bytes_total: IntCounterVec,
    pub lines_truncated_total: IntCounterVec,
    pub malformed_records_total: IntCounterVec,
    pub files_watched: IntGaugeVec,
    pub file_rotations_total: IntCounterVec,
    pub file_truncations_total: IntCounterVec,
    pub read_errors_total: IntCounterVec,
    pub lag_bytes: IntGaugeVec,
    pub last_line_timestamp_seconds: GaugeVec,
    pub checkpoint_writes_total: IntCounter,
    pub checkpoint_failures_total: IntCounter,
    pub config_reloads_total: IntCounterVec,
    pub config_last_reload_successful: IntGauge,
    pub login_attempts_total: IntCounterVec,
    pub login_attempts_last_minute: IntGauge,
    pub q45011_last_minute: IntGauge,
    pub q45011_peak_per_minute: IntGauge,
    /// Registered at the first onset: absent until 45011 has appeared.
    /// (attempts per minute, timestamp, whether the attempts gauge is registered now).
    onset: std::sync::Mutex<Option<(IntGauge, IntGauge, bool)>>,
    pub late_lines_total: IntCounter,
    pub alert_firing: IntGaugeVec,
    pub alertmanager_notifications_total: IntCounterVec,
    pub build_info: IntGaugeVec,
    pub function_errors_total: IntCounterVec,
    /// Per function version, set from the view.
    pub versions: crate::version_metrics::VersionCounters,
    pub label_values_dropped_total: IntCounterVec,
    pub http_requests_total: IntCounterVec,
    pub http_connections_open: IntGauge,
    pub http_connections_rejected_total: IntCounter,
    pub http_connections_evicted_total: IntCounter,
    pub tls_handshake_failures_total: IntCounter,
    pub web_config_reloads_total: IntCounterVec,
    pub web_config_last_reload_successful: IntGauge,
    pub checkpoint_healthy: IntGauge,
    pub checkpoint_load_failures_total: IntCounter,
    pub history_writes_total: IntCounter,
    pub history_failures_total: IntCounter,
    pub history_load_failures_total: IntCounter,
    pub paths_unmatched: IntGaugeVec,
    pub binary_files_total: IntCounterVec,
    pub files_open: IntGaugeVec,
    sources_cap: LabelCap,
    functions_cap: LabelCap,
}

/// The label value that stands for every value past a cap (no SCF function or source name can start
/// with `_`).
pub const OVERFLOW_LABEL: &str = "_other";

/// Bounded label values: the first `cap` distinct valid values keep their own series; later and invalid
/// ones share `OVERFLOW_LABEL`, so a flood of names from log lines cannot grow the exposition.
struct LabelCap {
    cap: std::sync::atomic::AtomicUsize,
    known: Mutex<HashSet<String>>,
}

impl LabelCap {
    fn new(cap: usize) -> LabelCap {
        LabelCap { cap: cap.into(), known: Mutex::new(HashSet::new()) }
    }

    /// Whether `value` has (or now gets) a series of its own.
    fn admit(&self, value: &str, valid: bool) -> bool {
        let Ok(mut known) = self.known.lock() else { return false };
        let room = known.len() < self.cap.load(std::sync::atomic::Ordering::Relaxed);
        valid && (known.contains(value) || (room && known.insert(value.to_string())))
    }
}

/// A Cloud Function name as SCF allows it (a letter, then letters, digits, `-` and `_`, at most 60);
/// anything else in that field of a log line is not trusted as a label value.
pub fn valid_function_name(f: &str) -> bool {
    let b = f.as_bytes();
    !b.is_empty()
        && b.len() <= 60
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

/// How many distinct `source` and `function` label values get their own series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelCaps {
    pub max_sources: usize,
    pub max_functions: usize,
}

impl Default for LabelCaps {
    fn default() -> Self {
        LabelCaps { max_sources: 64, max_functions: 64 }
    }
}

impl LabelCaps {
    /// The `[limits]` keys whose values the label bounds cannot take, and why.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let checks = [
            ((1..=10_000).contains(&self.max_sources), "max_sources", "must be 1 to 10000"),
            ((1..=10_000).contains(&self.max_functions), "max_functions", "must be 1 to 10000"),
        ];
        checks.into_iter().filter(|(ok, _, _)| !ok).map(|(_, k, why)| (k, why)).collect()
    }
}

fn plain_gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let g = IntGauge::with_opts(Opts::new(name, help).namespace(NAMESPACE))?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

fn plain_counter(registry: &Registry, name: &str, help: &str) -> Result<IntCounter, prometheus::Error> {
    let c = IntCounter::with_opts(Opts::new(name, help).namespace(NAMESPACE))?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, prometheus::Error> {
    let c = IntCounterVec::new(Opts::new(name, help).namespace(NAMESPACE), labels)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntGaugeVec, prometheus::Error> {
    let g = IntGaugeVec::new(Opts::new(name, help).namespace(NAMESPACE), labels)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Metrics {
    /// `const_labels` are added to every series (the config's `[labels]`).
    pub fn new(catalogue: &Catalogue, sources: &[&str]) -> Result<Metrics, prometheus::Error> {
        Metrics::with_labels(catalogue, sources, &[], LabelCaps::default())
    }

    pub fn with_labels(
        catalogue: &Catalogue,
        sources: &[&str],
        const_labels: &[(String, String)],
        caps: LabelCaps,
    ) -> Result<Metrics, prometheus::Error> {
        let labels: HashMap<String, String> = const_labels.iter().cloned().collect();
        let registry = Registry::new_custom(None, (!labels.is_empty()).then_some(labels))?;
        let m = Metrics {
            errors_total: counter(
                &registry,
                "errors_total",
                "Cloud Function calls that failed with one of the troubleshooting guide's errors (or unlisted), counted once per call however many lines print it (a line outside any call counts once), by pattern id and source.",
                &["pattern", "source"],
            )?,
            error_lines_total: counter(
                &registry,
                "error_lines_total",
                "Log lines recognised as one of the troubleshooting guide's errors (or unlisted), every line counted, by pattern id and source.",
                &["pattern", "source"],
            )?,
            duplicate_records_total: counter(
                &registry,
                "duplicate_records_total",
                "Records read again (same request id, time, function and message, as in overlapping exports) and not counted again, by source.",
                &["source"],
            )?,
            future_timestamps_total: counter(
                &registry,
                "future_timestamps_total",
                "Records stamped further ahead of the wall clock than future_tolerance_secs, placed at their call's time or arrival time instead, by source.",
                &["source"],
            )?,
            arrival_time_events_total: counter(
                &registry,
                "arrival_time_events_total",
                "Errors and login attempts placed at the time they were read because nothing in their stream carried a time, by source.",
                &["source"],
            )?,
            join_evictions_total: counter(
                &registry,
                "join_evictions_total",
                "Calls or records forgotten by the invocation join to stay within its window and caps, by table (invocations or records).",
                &["table"],
            )?,
            file_lookalike_decisions_total: plain_counter(
                &registry,
                "file_lookalike_decisions_total",
                "Files whose first bytes looked like another file's, decided to be new or a copy (each decision is logged).",
            )?,
            join_table_entries: gauge(
                &registry,
                "join_table_entries",
                "Calls or records remembered by the invocation join now, by table (invocations or records).",
                &["table"],
            )?,
            onset_skipped_partial: plain_gauge(
                &registry,
                "45011_onset_skipped_partial",
                "Minutes with 45011 that were cut by the start or the end of an input (an export, the daemon's first minute) and so not taken as the onset.",
            )?,
            lines_total: counter(&registry, "lines_total", "Log lines read, by source.", &["source"])?,
            bytes_total: counter(&registry, "bytes_total", "Log bytes read, by source.", &["source"])?,
            lines_truncated_total: counter(
                &registry,
                "lines_truncated_total",
                "Log lines longer than max_line_bytes that were cut to it, by source.",
                &["source"],
            )?,
            malformed_records_total: counter(
                &registry,
                "malformed_records_total",
                "Candidate lines that looked like CLS or real-time log JSON but did not parse and were read as text, by source.",
                &["source"],
            )?,
            files_watched: gauge(&registry, "files_watched", "Files being followed now, by source.", &["source"])?,
            file_rotations_total: counter(
                &registry,
                "file_rotations_total",
                "Followed files whose path stopped naming them (renamed away, replaced or deleted), by source.",
                &["source"],
            )?,
            file_truncations_total: counter(
                &registry,
                "file_truncations_total",
                "Followed files found shorter than the offset read (copytruncate) and read again from the start, by source.",
                &["source"],
            )?,
            read_errors_total: counter(
                &registry,
                "read_errors_total",
                "Failed attempts to open, stat or read a log file (retried on the next poll), by source.",
                &["source"],
            )?,
            lag_bytes: gauge(
                &registry,
                "lag_bytes",
                "Bytes written to followed files but not read yet, by source.",
                &["source"],
            )?,
            last_line_timestamp_seconds: {
                let g = GaugeVec::new(
                    Opts::new("last_line_timestamp_seconds", "Unix time at which the newest line was read, by source.")
                        .namespace(NAMESPACE),
                    &["source"],
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            checkpoint_writes_total: plain_counter(
                &registry,
                "checkpoint_writes_total",
                "Checkpoint files written to the state directory.",
            )?,
            checkpoint_failures_total: plain_counter(
                &registry,
                "checkpoint_failures_total",
                "Checkpoint writes that failed (reading goes on).",
            )?,
            config_reloads_total: counter(
                &registry,
                "config_reloads_total",
                "Configuration and pattern reloads on SIGHUP, by result (success or failure).",
                &["result"],
            )?,
            config_last_reload_successful: plain_gauge(
                &registry,
                "config_last_reload_successful",
                "1 if the last configuration reload succeeded (or none was tried), else 0.",
            )?,
            login_attempts_total: counter(
                &registry,
                "login_attempts_total",
                "Invocations of the login Cloud Function (its START RequestId record), once per call, by source.",
                &["source"],
            )?,
            login_attempts_last_minute: plain_gauge(
                &registry,
                "login_attempts_last_minute",
                "Login attempts in the last complete minute (by the lines' own times).",
            )?,
            q45011_last_minute: plain_gauge(
                &registry,
                "45011_last_minute",
                "Calls refused with WeChat errcode 45011 (jscode2session minute quota) in the last complete minute, by the calls' own time.",
            )?,
            q45011_peak_per_minute: plain_gauge(
                &registry,
                "45011_peak_per_minute",
                "The most calls refused with 45011 in one minute within the retained history.",
            )?,
            onset: std::sync::Mutex::new(None),
            late_lines_total: plain_counter(
                &registry,
                "late_lines_total",
                "Errors and login attempts older than the retained per-minute history, counted but placed in no minute.",
            )?,
            alert_firing: gauge(
                &registry,
                "alert_firing",
                "1 while the alert fires, else 0, by alert name and severity.",
                &["alertname", "severity"],
            )?,
            alertmanager_notifications_total: counter(
                &registry,
                "alertmanager_notifications_total",
                "Pushes of alerts to Alertmanager, by result (success or failure).",
                &["result"],
            )?,
            build_info: gauge(
                &registry,
                "build_info",
                "Always 1, labelled with the authwatch version and the number of patterns loaded.",
                &["version", "patterns"],
            )?,
            versions: crate::version_metrics::VersionCounters::register(&registry, NAMESPACE)?,
            function_errors_total: counter(
                &registry,
                "function_errors_total",
                "Failed calls (once per call) by the Cloud Function that logged them and pattern id (records that name no function are not here).",
                &["function", "pattern"],
            )?,
            label_values_dropped_total: counter(
                &registry,
                "label_values_dropped_total",
                "Occurrences of a source or function name counted under \"_other\" because its cap was reached or the name was invalid, by label.",
                &["label"],
            )?,
            http_requests_total: counter(
                &registry,
                "http_requests_total",
                "HTTP requests answered, by status code (401: missing or wrong credentials).",
                &["code"],
            )?,
            http_connections_open: plain_gauge(&registry, "http_connections_open", "HTTP connections open now.")?,
            http_connections_rejected_total: plain_counter(
                &registry,
                "http_connections_rejected_total",
                "HTTP connections closed at once because max_connections were open, every one answering a request.",
            )?,
            http_connections_evicted_total: plain_counter(
                &registry,
                "http_connections_evicted_total",
                "HTTP connections closed at max_connections to admit a new one because no request was in flight on them (idle keep-alive, or headers or TLS handshake unfinished), oldest first.",
            )?,
            tls_handshake_failures_total: plain_counter(
                &registry,
                "tls_handshake_failures_total",
                "TLS handshakes that failed or did not finish within the header read timeout.",
            )?,
            web_config_reloads_total: counter(
                &registry,
                "web_config_reloads_total",
                "Re-reads of the web config file after it or a file it names changed, by result.",
                &["result"],
            )?,
            web_config_last_reload_successful: plain_gauge(
                &registry,
                "web_config_last_reload_successful",
                "1 if the last web config re-read succeeded (or none was needed), else 0.",
            )?,
            checkpoint_healthy: plain_gauge(
                &registry,
                "checkpoint_healthy",
                "1 if the last checkpoint write succeeded (or none failed yet), else 0; /readyz fails while 0.",
            )?,
            checkpoint_load_failures_total: plain_counter(
                &registry,
                "checkpoint_load_failures_total",
                "Checkpoint files found unreadable or corrupt at start-up, moved aside; reading began without them.",
            )?,
            history_writes_total: plain_counter(
                &registry,
                "history_writes_total",
                "History files (minute windows, onset, alert states) written to the state directory.",
            )?,
            history_failures_total: plain_counter(
                &registry,
                "history_failures_total",
                "History writes that failed (reading goes on; a restart then begins without history).",
            )?,
            history_load_failures_total: plain_counter(
                &registry,
                "history_load_failures_total",
                "History files found unreadable, of another version, or not matching the checkpoint at start-up; the daemon began without history.",
            )?,
            paths_unmatched: gauge(
                &registry,
                "paths_unmatched",
                "Configured paths, directories or globs that match no file to follow at the last rescan (each is named in a warning), by source.",
                &["source"],
            )?,
            binary_files_total: counter(
                &registry,
                "binary_files_total",
                "Files whose first block held NUL bytes, read as text anyway (each is named in a warning once), by source.",
                &["source"],
            )?,
            files_open: gauge(
                &registry,
                "files_open",
                "Followed files holding an open descriptor now, by source (quiet ones are closed; at most limits.max_open_files in all).",
                &["source"],
            )?,
            sources_cap: LabelCap::new(caps.max_sources),
            functions_cap: LabelCap::new(caps.max_functions),
            registry,
        };
        for label in ["source", "function"] {
            m.label_values_dropped_total.with_label_values(&[label]);
        }
        for table in ["invocations", "records"] {
            m.join_evictions_total.with_label_values(&[table]);
            m.join_table_entries.with_label_values(&[table]);
        }
        for code in ["200", "401", "404", "405", "503"] {
            m.http_requests_total.with_label_values(&[code]);
        }
        for result in ["success", "failure"] {
            m.web_config_reloads_total.with_label_values(&[result]);
        }
        m.web_config_last_reload_successful.set(1);
        m.checkpoint_healthy.set(1);
        m.build_info.with_label_values(&[env!("CARGO_PKG_VERSION"), &catalogue.patterns().len().to_string()]).set(1);
        m.config_last_reload_successful.set(1);
        for result in ["success", "failure"] {
            m.alertmanager_notifications_total.with_label_values(&[result]);
        }
        for result in ["success", "failure"] {
            m.config_reloads_total.with_label_values(&[result]);
        }
        m.add_series(catalogue, sources);
        Ok(m)
    }

    /// The onset: login attempts per minute in the first whole minute in which 45011 appeared (None:
    /// no attempt was seen in it, so the rate is unknown and the series is absent), and when. Both are
    /// registered the first time there is one: absent until 45011 has appeared.
    pub fn set_onset(&self, attempts: Option<u64>, start_ms: i64) {
        let Ok(mut onset) = self.onset.lock() else { return };
        if onset.is_none() {
            let made = plain_gauge(
                &self.registry,
                "45011_onset_timestamp_seconds",
                "Start of the first whole minute in which calls were refused with 45011, Unix time.",
            )
            .and_then(|t| {
                IntGauge::with_opts(
                    Opts::new(
                        "45011_onset_attempts_per_minute",
                        "Login attempts per minute in the first whole minute in which 45011 appeared (absent until it has, or while no attempt was seen in that minute).",
                    )
                    .namespace(NAMESPACE),
                )
                .map(|a| (a, t))
            });
            match made {
                Ok((a, t)) => *onset = Some((a, t, false)),
                Err(e) => tracing::error!(error = %e, "cannot register the onset gauges"),
            }
        }
        if let Some((a, t, registered)) = onset.as_mut() {
            t.set(start_ms / 1000);
            match attempts {
                Some(n) => {
                    a.set(n as i64);
                    if !*registered {
                        *registered = self.registry.register(Box::new(a.clone())).is_ok();
                    }
                }
                None if *registered => {
                    *registered = self.registry.unregister(Box::new(a.clone())).is_err();
                }
                None => {}
            }
        }
    }

    /// One `authwatch_alert_firing` series at 0 for each rule, from the start.
    pub fn add_alert_series(&self, rules: &[crate::alerts::RuleConfig]) {
        for r in rules {
            self.alert_firing.with_label_values(&[&r.alert, &r.severity]);
        }
    }

    /// New caps (on reload): values already admitted keep their series.
    pub fn set_caps(&self, caps: LabelCaps) {
        use std::sync::atomic::Ordering::Relaxed;
        self.sources_cap.cap.store(caps.max_sources, Relaxed);
        self.functions_cap.cap.store(caps.max_functions, Relaxed);
    }

    /// The `source` label value for a configured source: its name, or `_other` past `max_sources`.
    pub fn source_label(&self, name: &str) -> String {
        self.capped(&self.sources_cap, "source", name, true).to_string()
    }

    /// Counts one error line of `pattern` logged by `function` (a name read from the log line itself).
    pub fn count_function_error(&self, function: &str, pattern: &str) {
        let label = self.capped(&self.functions_cap, "function", function, valid_function_name(function));
        self.function_errors_total.with_label_values(&[label, pattern]).inc();
    }

    /// `value`, or `OVERFLOW_LABEL` (counted as dropped) when `cap` has no room for it or it is invalid.
    fn capped<'a>(&self, cap: &LabelCap, label: &str, value: &'a str, valid: bool) -> &'a str {
        if cap.admit(value, valid) {
            return value;
        }
        self.label_values_dropped_total.with_label_values(&[label]).inc();
        OVERFLOW_LABEL
    }

    /// Creates (at 0) every series of these patterns and sources that does not exist yet.
    pub fn add_series(&self, catalogue: &Catalogue, sources: &[&str]) {
        let labels: Vec<String> = sources.iter().map(|s| self.source_label(s)).collect();
        for source in labels.iter().map(String::as_str) {
            for p in catalogue.patterns() {
                self.errors_total.with_label_values(&[p.id.as_str(), source]);
                self.error_lines_total.with_label_values(&[p.id.as_str(), source]);
            }
            for c in [
                &self.lines_total,
                &self.bytes_total,
                &self.lines_truncated_total,
                &self.malformed_records_total,
                &self.file_rotations_total,
                &self.file_truncations_total,
                &self.read_errors_total,
                &self.login_attempts_total,
                &self.duplicate_records_total,
                &self.future_timestamps_total,
                &self.arrival_time_events_total,
                &self.binary_files_total,
            ] {
                c.with_label_values(&[source]);
            }
            self.files_watched.with_label_values(&[source]);
            self.paths_unmatched.with_label_values(&[source]);
            self.files_open.with_label_values(&[source]);
            self.lag_bytes.with_label_values(&[source]);
            self.last_line_timestamp_seconds.with_label_values(&[source]);
        }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

#[cfg(test)]
mod tests;
