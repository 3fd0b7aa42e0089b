//! Where each alert stands: its state, the transitions between states (stamped with the time of the
//! evaluation that made them), and the firing episodes waiting for Alertmanager. Data only; the
//! engine (`super::engine`) changes it.

use serde::{Deserialize, Serialize};

use crate::window::MINUTE_MS;

use super::rules::RuleConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Inactive,
    Pending,
    Firing,
}

/// One rule and where it stands.
#[derive(Clone, Debug)]
pub struct Alert {
    pub rule: RuleConfig,
    pub(super) pattern: usize,
    pub summary: String,
    pub fix: String,
    pub state: State,
    pub active_at_ms: Option<i64>,
    /// While firing: since when the condition has been false.
    pub clearing_since_ms: Option<i64>,
    pub value: f64,
    /// The rule changed at a reload: the next evaluation resolves a firing alert whose condition no
    /// longer holds at once (hysteresis is for flapping data, not for a new threshold).
    pub(super) rule_changed: bool,
    /// One alert of a rule that has several (`version_worse`: function and version); "" for the rule
    /// itself (a `version_worse` rule's own row never fires: its instances do).
    pub key: String,
    /// Labels besides alertname and severity (a pattern rule: its pattern).
    pub labels: Vec<(String, String)>,
}

/// One change of an alert's state, stamped with the (event or wall) time of the evaluation that made it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    pub alert: String,
    pub severity: String,
    pub pattern: String,
    pub at_ms: i64,
    pub from: State,
    pub to: State,
    /// The rule's value at that evaluation.
    pub value: f64,
    /// When the episode began (pending, or firing at once): Prometheus' activeAt.
    pub active_at_ms: Option<i64>,
    /// The alert's labels besides alertname and severity.
    pub labels: Vec<(String, String)>,
}

/// A firing episode on its way to Alertmanager.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Episode {
    pub alert: String,
    pub starts_ms: i64,
    /// Set when the episode resolved.
    pub ends_ms: Option<i64>,
    /// Wall time at which Alertmanager first accepted it firing.
    pub firing_sent_ms: Option<i64>,
    /// The alert of its rule (`Alert::key`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

/// The last millisecond of the minute that starts at `start_ms`: where `close_minute` evaluates.
pub fn minute_end(start_ms: i64) -> i64 {
    start_ms.div_euclid(MINUTE_MS) * MINUTE_MS + MINUTE_MS - 1
}

/// Prometheus prints sample values as strings.
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v}") }
}
