//! Every Prometheus metric authwatch exports, defined here and nowhere else.
//!
//! Contract: one `authwatch_` namespace, base units, `_total` on counters, one-sentence HELP. Every
//! series whose label values are known up front (each pattern × each source) exists from the start at
//! 0, so `rate()` and alerts see the first error. Label values are bounded: pattern ids from the
//! catalogue and configured source names only, never request ids, openids or file names.

use std::collections::HashMap;

use prometheus::{Encoder, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::patterns::Catalogue;

pub const NAMESPACE: &str = "authwatch";

pub struct Metrics {
    registry: Registry,
    pub errors_total: IntCounterVec,
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
    onset: std::sync::Mutex<Option<(IntGauge, IntGauge)>>,
    pub late_lines_total: IntCounter,
    pub alert_firing: IntGaugeVec,
    pub alertmanager_notifications_total: IntCounterVec,
    pub build_info: IntGaugeVec,
}

fn plain_gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let g = IntGauge::with_opts(Opts::new(name, help).namespace(NAMESPACE))?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
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
        Metrics::with_labels(catalogue, sources, &[])
    }

    pub fn with_labels(
        catalogue: &Catalogue,
        sources: &[&str],
        const_labels: &[(String, String)],
    ) -> Result<Metrics, prometheus::Error> {
        let labels: HashMap<String, String> = const_labels.iter().cloned().collect();
        let registry = Registry::new_custom(None, (!labels.is_empty()).then_some(labels))?;
        let m = Metrics {
            errors_total: counter(
                &registry,
                "errors_total",
                "Log lines recognised as one of the troubleshooting guide's errors (or unlisted), by pattern id and source.",
                &["pattern", "source"],
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
            checkpoint_writes_total: {
                let c = IntCounter::with_opts(
                    Opts::new("checkpoint_writes_total", "Checkpoint files written to the state directory.")
                        .namespace(NAMESPACE),
                )?;
                registry.register(Box::new(c.clone()))?;
                c
            },
            checkpoint_failures_total: {
                let c = IntCounter::with_opts(
                    Opts::new("checkpoint_failures_total", "Checkpoint writes that failed (reading goes on).")
                        .namespace(NAMESPACE),
                )?;
                registry.register(Box::new(c.clone()))?;
                c
            },
            config_reloads_total: counter(
                &registry,
                "config_reloads_total",
                "Configuration and pattern reloads on SIGHUP, by result (success or failure).",
                &["result"],
            )?,
            config_last_reload_successful: {
                let g = IntGauge::with_opts(
                    Opts::new(
                        "config_last_reload_successful",
                        "1 if the last configuration reload succeeded (or none was tried), else 0.",
                    )
                    .namespace(NAMESPACE),
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            login_attempts_total: counter(
                &registry,
                "login_attempts_total",
                "Invocations of the login Cloud Function (its START RequestId lines), by source.",
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
                "WeChat errcode 45011 (jscode2session minute quota) lines in the last complete minute.",
            )?,
            q45011_peak_per_minute: plain_gauge(
                &registry,
                "45011_peak_per_minute",
                "The most 45011 lines seen in one minute within the retained history.",
            )?,
            onset: std::sync::Mutex::new(None),
            late_lines_total: {
                let c = IntCounter::with_opts(
                    Opts::new(
                        "late_lines_total",
                        "Lines older than the retained per-minute history, counted but placed in no minute.",
                    )
                    .namespace(NAMESPACE),
                )?;
                registry.register(Box::new(c.clone()))?;
                c
            },
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
            build_info: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        "build_info",
                        "Always 1, labelled with the authwatch version and the number of patterns loaded.",
                    )
                    .namespace(NAMESPACE),
                    &["version", "patterns"],
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            registry,
        };
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

    /// Login attempts per minute in the first minute 45011 appeared, and when: registered the first time.
    pub fn set_onset(&self, attempts: u64, start_ms: i64) {
        let Ok(mut onset) = self.onset.lock() else { return };
        if onset.is_none() {
            let made = plain_gauge(
                &self.registry,
                "45011_onset_attempts_per_minute",
                "Login attempts per minute in the first minute in which 45011 appeared (absent until it has).",
            )
            .and_then(|a| {
                plain_gauge(
                    &self.registry,
                    "45011_onset_timestamp_seconds",
                    "Start of the first minute in which 45011 appeared, Unix time.",
                )
                .map(|t| (a, t))
            });
            match made {
                Ok(pair) => *onset = Some(pair),
                Err(e) => tracing::error!(error = %e, "cannot register the onset gauges"),
            }
        }
        if let Some((a, t)) = onset.as_ref() {
            a.set(attempts as i64);
            t.set(start_ms / 1000);
        }
    }

    /// One `authwatch_alert_firing` series at 0 for each rule, from the start.
    pub fn add_alert_series(&self, rules: &[crate::alerts::RuleConfig]) {
        for r in rules {
            self.alert_firing.with_label_values(&[&r.alert, &r.severity]);
        }
    }

    /// Creates (at 0) every series of these patterns and sources that does not exist yet.
    pub fn add_series(&self, catalogue: &Catalogue, sources: &[&str]) {
        for source in sources {
            for p in catalogue.patterns() {
                self.errors_total.with_label_values(&[p.id.as_str(), source]);
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
            ] {
                c.with_label_values(&[source]);
            }
            self.files_watched.with_label_values(&[source]);
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
mod tests {
    use super::*;

    #[test]
    fn every_series_exists_from_the_start() {
        let c = Catalogue::builtin().unwrap();
        let m = Metrics::new(&c, &["default"]).unwrap();
        let text = m.render().unwrap();
        for p in c.patterns() {
            let series = format!("authwatch_errors_total{{pattern=\"{}\",source=\"default\"}} 0", p.id);
            assert!(text.contains(&series), "missing {series}");
        }
        assert!(text.contains("authwatch_lines_total{source=\"default\"} 0"));
        assert!(text.contains("# HELP authwatch_errors_total "));
    }
}
