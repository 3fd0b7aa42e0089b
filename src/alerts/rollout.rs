//! `RolloutVersionWorse`: a `version_worse` rule has one alert per (function, version) its
//! comparison (`crate::versions::compare`) finds worse, labelled as it is found (function, version,
//! baseline, and the id that explains it); each is then judged by the same comparison at every
//! evaluation. Its summary is rendered at every evaluation from the comparison that gives its value
//! (the evidence), so the two never disagree.

use crate::versions::compare::{self, Comparison, Verdict};
use crate::window::Windows;

use super::rules::{Measure, RuleConfig};
use super::state::{Alert, State};

const VERSION_FIX: &str = "Shift the alias's traffic back to the baseline version, then read the new version's failed calls by id (authwatch check, /api/v1/versions).";
/// The rule's own row (it never fires: its alerts per version do).
pub const VERSION_SUMMARY: &str = "A function version fails more calls than the version carrying the traffic.";

/// The fix shown with a version alert.
pub fn version_fix() -> String {
    VERSION_FIX.to_string()
}

/// A `version_worse` rule's alerts: one per (function, version) found worse at `now_ms` that has
/// none yet (labelled as it is found: function, version, baseline, and the id that explains it).
pub fn add_version_alerts(alerts: &mut Vec<Alert>, ids: &[String], now_ms: i64, w: &Windows) {
    let rules: Vec<RuleConfig> = alerts
        .iter()
        .filter(|a| a.key.is_empty() && a.rule.measure == Measure::VersionWorse)
        .map(|a| a.rule.clone())
        .collect();
    for rule in rules {
        let found = compare::compare_all(&w.versions, now_ms, &rule.version_test());
        for c in found.iter().filter(|c| c.verdict == Verdict::Worse) {
            let key = version_key(&c.function, &c.version);
            if alerts.iter().any(|a| a.rule.alert == rule.alert && a.key == key) {
                continue;
            }
            let mut labels = vec![
                ("function".to_string(), c.function.clone()),
                ("version".to_string(), c.version.clone()),
                ("baseline".to_string(), c.baseline.clone()),
            ];
            if let Some(id) = c.pattern.and_then(|p| ids.get(p).cloned()) {
                labels.push(("pattern".to_string(), id));
            }
            alerts.push(Alert {
                rule: rule.clone(),
                pattern: c.pattern.unwrap_or(usize::MAX),
                summary: version_summary(c),
                fix: version_fix(),
                state: State::Inactive,
                active_at_ms: None,
                clearing_since_ms: None,
                value: 0.0,
                rule_changed: false,
                key,
                labels,
            });
        }
    }
}

/// The evidence and verdict of a version alert at `now_ms`, and its summary from the same
/// comparison (so the summary's figures are those of the value beside it).
pub fn version_value(a: &Alert, now_ms: i64, w: &Windows) -> (f64, bool, String) {
    let found = compare::compare_all(&w.versions, now_ms, &a.rule.version_test());
    match found.iter().find(|c| version_key(&c.function, &c.version) == a.key) {
        Some(c) => (c.evidence, c.verdict == Verdict::Worse, version_summary(c)),
        None => {
            let label = |k: &str| a.labels.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str());
            let summary = format!(
                "Version {} of {} has no calls in the comparison window (or its baseline has none).",
                label("version"),
                label("function")
            );
            (0.0, false, summary)
        }
    }
}

/// A version alert's summary: the comparison's figures.
fn version_summary(c: &Comparison) -> String {
    format!(
        "Version {} of {} fails {:.1}% of its calls ({} of {}), version {} {:.1}% ({} of {}).",
        c.version,
        c.function,
        100.0 * c.ratio(),
        c.failed,
        c.calls,
        c.baseline,
        100.0 * c.baseline_ratio(),
        c.baseline_failed,
        c.baseline_calls
    )
}

/// The key of a version alert: its function and version.
fn version_key(function: &str, version: &str) -> String {
    format!("{function}\u{1f}{version}")
}
