//! Alerts evaluated in the daemon: rules over the event-time windows, a Prometheus-like state machine
//! (inactive → pending → firing → resolved) with hysteresis, the `/api/v1/alerts` shape and the
//! Alertmanager `/api/v2/alerts` payload.
//!
//! Contract: `Engine::evaluate(now_ms, windows)` is the only way time enters; it is pure apart from the
//! engine's own state, so tests drive time themselves. A rule whose pattern is not in the catalogue is
//! refused when the rules are built (the config error names it).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::patterns::Catalogue;
use crate::timefmt;
use crate::window::{MINUTE_MS, Windows};

/// What a rule measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Matches over the last `window_secs`.
    Count,
    /// Matches per minute: the larger of the current minute so far and the last complete one.
    PerMinute,
    /// Matches over `window_secs` divided by login attempts over the same window (at least 1).
    RatioToAttempts,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The alert name (the `alertname` label).
    pub alert: String,
    /// A pattern id.
    pub pattern: String,
    pub measure: Measure,
    /// Fires when the value is at or above this.
    pub threshold: f64,
    #[serde(default = "default_window_secs")]
    pub window_secs: u64,
    /// The condition must hold this long before the alert fires (pending meanwhile).
    #[serde(default)]
    pub for_secs: u64,
    /// A firing alert resolves only after its condition has been false this long (hysteresis).
    #[serde(default = "default_keep_firing_for_secs")]
    pub keep_firing_for_secs: u64,
    pub severity: String,
}

fn default_window_secs() -> u64 {
    300
}

fn default_keep_firing_for_secs() -> u64 {
    60
}

/// The guide's defaults: any sign of a broken setup (login disabled, wrong key, npm not built, wrong SDK,
/// domain not allowed) in 5 minutes is critical; 45011 at 1/min is a warning and at 20/min critical; invalid
/// tickets above 5% of login attempts are a warning.
pub fn default_rules() -> Vec<RuleConfig> {
    let rule = |alert: &str, pattern: &str, measure, threshold, severity: &str| RuleConfig {
        alert: alert.into(),
        pattern: pattern.into(),
        measure,
        threshold,
        window_secs: default_window_secs(),
        for_secs: 0,
        keep_firing_for_secs: default_keep_firing_for_secs(),
        severity: severity.into(),
    };
    vec![
        rule("CustomLoginDisabled", "custom_login_disabled", Measure::Count, 1.0, "critical"),
        rule("SignParamInvalid", "sign_param_invalid", Measure::Count, 1.0, "critical"),
        rule("MiniProgramNpmNotBuilt", "mp_require_undefined", Measure::Count, 1.0, "critical"),
        rule("SdkVersionMismatch", "sdk_version_mismatch", Measure::Count, 1.0, "critical"),
        rule("DomainNotAllowlisted", "domain_not_allowlisted", Measure::Count, 1.0, "critical"),
        rule("WeChatMinuteQuota", "wx_45011_minute_quota", Measure::PerMinute, 1.0, "warning"),
        rule("WeChatMinuteQuotaCritical", "wx_45011_minute_quota", Measure::PerMinute, 20.0, "critical"),
        rule("TicketInvalidRatio", "ticket_invalid", Measure::RatioToAttempts, 0.05, "warning"),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
    pattern: usize,
    pub summary: String,
    pub fix: String,
    pub state: State,
    pub active_at_ms: Option<i64>,
    /// While firing: since when the condition has been false.
    clearing_since_ms: Option<i64>,
    pub value: f64,
    /// Set when the alert resolves; cleared once Alertmanager has been told.
    pub resolved_at_ms: Option<i64>,
    pub resolved_sent: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Engine {
    pub alerts: Vec<Alert>,
}

#[derive(Debug, thiserror::Error)]
#[error("alert {alert:?}: {message}")]
pub struct RuleError {
    pub alert: String,
    pub message: String,
}

impl Engine {
    pub fn new(rules: &[RuleConfig], catalogue: &Catalogue) -> Result<Engine, RuleError> {
        let mut alerts = Vec::new();
        for r in rules {
            let err = |message: String| RuleError { alert: r.alert.clone(), message };
            let pattern = catalogue.index_of(&r.pattern).ok_or_else(|| err(format!("no pattern {:?}", r.pattern)))?;
            if !(r.threshold.is_finite() && r.threshold > 0.0) {
                return Err(err("threshold must be a positive number".into()));
            }
            if r.window_secs < 60 {
                return Err(err("window_secs must be at least 60 (windows are per minute)".into()));
            }
            if alerts.iter().any(|a: &Alert| a.rule.alert == r.alert) {
                return Err(err("defined twice".into()));
            }
            let p = catalogue.get(pattern);
            alerts.push(Alert {
                rule: r.clone(),
                pattern,
                summary: p.summary.clone(),
                fix: p.fix_summary.clone(),
                state: State::Inactive,
                active_at_ms: None,
                clearing_since_ms: None,
                value: 0.0,
                resolved_at_ms: None,
                resolved_sent: true,
            });
        }
        Ok(Engine { alerts })
    }

    /// Carries state over from the engine in effect before a reload (same alert name and pattern).
    pub fn inherit(&mut self, old: &Engine) {
        for a in &mut self.alerts {
            if let Some(o) =
                old.alerts.iter().find(|o| o.rule.alert == a.rule.alert && o.rule.pattern == a.rule.pattern)
            {
                a.state = o.state;
                a.active_at_ms = o.active_at_ms;
                a.clearing_since_ms = o.clearing_since_ms;
                a.resolved_at_ms = o.resolved_at_ms;
                a.resolved_sent = o.resolved_sent;
            }
        }
    }

    /// Evaluates every rule at `now_ms`. Returns true when any alert changed state.
    pub fn evaluate(&mut self, now_ms: i64, w: &Windows) -> bool {
        let mut changed = false;
        for a in &mut self.alerts {
            let window_ms = a.rule.window_secs as i64 * 1000;
            a.value = match a.rule.measure {
                Measure::Count => w.count_over(a.pattern, now_ms, window_ms) as f64,
                Measure::PerMinute => {
                    w.count_in_minute(a.pattern, now_ms).max(w.count_in_minute(a.pattern, now_ms - MINUTE_MS)) as f64
                }
                Measure::RatioToAttempts => {
                    let n = w.count_over(a.pattern, now_ms, window_ms) as f64;
                    n / (w.attempts_over(now_ms, window_ms).max(1) as f64)
                }
            };
            let holds = a.value >= a.rule.threshold;
            let before = a.state;
            match (a.state, holds) {
                (State::Inactive, true) => {
                    a.active_at_ms = Some(now_ms);
                    a.state = if a.rule.for_secs == 0 { State::Firing } else { State::Pending };
                }
                (State::Pending, true)
                    if now_ms - a.active_at_ms.unwrap_or(now_ms) >= a.rule.for_secs as i64 * 1000 =>
                {
                    a.state = State::Firing;
                }
                (State::Pending, false) => {
                    a.state = State::Inactive;
                    a.active_at_ms = None;
                }
                (State::Firing, true) => a.clearing_since_ms = None,
                (State::Firing, false) => {
                    let since = *a.clearing_since_ms.get_or_insert(now_ms);
                    if now_ms - since >= a.rule.keep_firing_for_secs as i64 * 1000 {
                        a.state = State::Inactive;
                        a.active_at_ms = None;
                        a.clearing_since_ms = None;
                        a.resolved_at_ms = Some(now_ms);
                        a.resolved_sent = false;
                    }
                }
                _ => {}
            }
            if a.state == State::Firing && before != State::Firing {
                a.resolved_at_ms = None;
                a.resolved_sent = true;
            }
            changed |= a.state != before;
        }
        changed
    }

    fn labels(a: &Alert) -> Value {
        json!({ "alertname": a.rule.alert, "severity": a.rule.severity, "pattern": a.rule.pattern })
    }

    fn annotations(a: &Alert) -> Value {
        json!({ "summary": a.summary, "fix": a.fix, "value": format_value(a.value) })
    }

    /// The body of `GET /api/v1/alerts`, shaped like Prometheus' (pending and firing alerts only).
    pub fn api_v1(&self) -> Value {
        let alerts: Vec<Value> = self
            .alerts
            .iter()
            .filter(|a| a.state != State::Inactive)
            .map(|a| {
                json!({
                    "labels": Engine::labels(a),
                    "annotations": Engine::annotations(a),
                    "state": a.state,
                    "activeAt": a.active_at_ms.map(timefmt::format_utc),
                    "value": format_value(a.value),
                })
            })
            .collect();
        json!({ "status": "success", "data": { "alerts": alerts } })
    }

    /// The Alertmanager `/api/v2/alerts` body: every firing alert (re-sent while it fires) and every
    /// resolution not sent yet. `ends_at_ms` for firing alerts tells Alertmanager when to give up on
    /// them if the daemon goes quiet.
    pub fn alertmanager_payload(&self, ends_at_ms: i64, generator_url: &str) -> Vec<Value> {
        self.alerts
            .iter()
            .filter_map(|a| {
                let (starts, ends) = match (a.state, a.resolved_at_ms) {
                    (State::Firing, _) => (a.active_at_ms?, ends_at_ms),
                    (_, Some(resolved)) if !a.resolved_sent => (resolved - 1000, resolved),
                    _ => return None,
                };
                Some(json!({
                    "labels": Engine::labels(a),
                    "annotations": Engine::annotations(a),
                    "startsAt": timefmt::format_utc(starts),
                    "endsAt": timefmt::format_utc(ends),
                    "generatorURL": generator_url,
                }))
            })
            .collect()
    }

    /// After Alertmanager accepted a payload: the resolutions it held are not sent again.
    pub fn mark_resolved_sent(&mut self, names: &[String]) {
        for a in &mut self.alerts {
            if a.resolved_at_ms.is_some() && names.contains(&a.rule.alert) {
                a.resolved_sent = true;
            }
        }
    }
}

/// Prometheus prints sample values as strings.
fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_741_914_000_000;
    const S: i64 = 1000;

    fn setup() -> (Catalogue, Windows) {
        let c = Catalogue::builtin().unwrap();
        let n = c.patterns().len();
        (c, Windows::new(n, 60))
    }

    fn rule(measure: Measure, threshold: f64, for_secs: u64) -> RuleConfig {
        RuleConfig {
            alert: "Q".into(),
            pattern: "wx_45011_minute_quota".into(),
            measure,
            threshold,
            window_secs: 300,
            for_secs,
            keep_firing_for_secs: 60,
            severity: "warning".into(),
        }
    }

    #[test]
    fn inactive_pending_firing_resolved_with_hysteresis() {
        let (c, mut w) = setup();
        let p = c.index_of("wx_45011_minute_quota").unwrap();
        let mut e = Engine::new(&[rule(Measure::PerMinute, 2.0, 30)], &c).unwrap();
        assert!(!e.evaluate(T0, &w));
        w.add(p, T0 + S);
        w.add(p, T0 + 2 * S);
        assert!(e.evaluate(T0 + 5 * S, &w));
        assert_eq!(e.alerts[0].state, State::Pending);
        assert_eq!(e.api_v1()["data"]["alerts"][0]["state"], "pending");
        assert!(e.alertmanager_payload(T0, "x").is_empty(), "pending is not sent");
        e.evaluate(T0 + 35 * S, &w);
        assert_eq!(e.alerts[0].state, State::Firing);
        assert_eq!(e.alertmanager_payload(T0 + 100 * S, "x").len(), 1);
        // The burst is two minutes old: the condition is false, but it keeps firing for 60 s.
        e.evaluate(T0 + 125 * S, &w);
        assert_eq!(e.alerts[0].state, State::Firing);
        e.evaluate(T0 + 184 * S, &w);
        assert_eq!(e.alerts[0].state, State::Firing);
        e.evaluate(T0 + 185 * S, &w);
        assert_eq!(e.alerts[0].state, State::Inactive);
        assert_eq!(e.api_v1()["data"]["alerts"].as_array().unwrap().len(), 0);
        let resolved = e.alertmanager_payload(T0 + 200 * S, "x");
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0]["endsAt"], timefmt::format_utc(T0 + 185 * S));
        e.mark_resolved_sent(&["Q".to_string()]);
        assert!(e.alertmanager_payload(T0 + 200 * S, "x").is_empty(), "a resolution is sent once");
    }

    #[test]
    fn a_flap_inside_the_hysteresis_does_not_resolve() {
        let (c, mut w) = setup();
        let p = c.index_of("wx_45011_minute_quota").unwrap();
        let mut e = Engine::new(&[rule(Measure::PerMinute, 1.0, 0)], &c).unwrap();
        w.add(p, T0);
        e.evaluate(T0 + S, &w);
        assert_eq!(e.alerts[0].state, State::Firing);
        e.evaluate(T0 + 130 * S, &w); // clearing
        w.add(p, T0 + 150 * S);
        e.evaluate(T0 + 151 * S, &w); // back before 60 s passed
        e.evaluate(T0 + 200 * S, &w);
        assert_eq!(e.alerts[0].state, State::Firing);
        assert_eq!(e.alerts[0].active_at_ms, Some(T0 + S));
    }

    #[test]
    fn ratio_and_count_measures() {
        let (c, mut w) = setup();
        let t = c.index_of("ticket_invalid").unwrap();
        let mut r = rule(Measure::RatioToAttempts, 0.05, 0);
        r.pattern = "ticket_invalid".into();
        let mut e = Engine::new(&[r], &c).unwrap();
        for i in 0..100 {
            w.add_attempt(T0 + i * S);
        }
        for i in 0..4 {
            w.add(t, T0 + i * S);
        }
        e.evaluate(T0 + 100 * S, &w);
        assert_eq!((e.alerts[0].state, e.alerts[0].value), (State::Inactive, 0.04));
        w.add(t, T0 + 50 * S);
        e.evaluate(T0 + 101 * S, &w);
        assert_eq!(e.alerts[0].state, State::Firing);
        let d = default_rules();
        let e = Engine::new(&d, &c).unwrap();
        assert_eq!(e.alerts.len(), 8);
    }

    #[test]
    fn bad_rules_are_refused_by_name() {
        let (c, _) = setup();
        let mut r = rule(Measure::Count, 1.0, 0);
        r.pattern = "nope".into();
        assert_eq!(Engine::new(&[r], &c).unwrap_err().to_string(), "alert \"Q\": no pattern \"nope\"");
        assert!(Engine::new(&[rule(Measure::Count, 0.0, 0)], &c).is_err());
    }
}
