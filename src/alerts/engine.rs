//! The engine: rules over the event-time windows, a Prometheus-like state machine (inactive →
//! pending → firing → resolved) with hysteresis, and the outbox of episodes for Alertmanager.
//!
//! Contract: `Engine::evaluate(now_ms, windows)` and `Engine::close_minute(start_ms, windows)` are the
//! only ways time enters; they are pure apart from the engine's own state, so tests drive time
//! themselves. A rule whose pattern is not in the catalogue is refused when the rules are built (the
//! config error names it).

use crate::patterns::Catalogue;
use crate::window::{MINUTE_MS, Windows};

use super::rollout::{VERSION_SUMMARY, add_version_alerts, version_fix, version_value};
use super::rules::{Measure, RuleConfig, RuleError};
use super::state::{Alert, Episode, State, Transition, minute_end};

/// Episodes kept for Alertmanager at most; past it the oldest resolved ones are dropped.
const MAX_OUTBOX: usize = 1024;

#[derive(Clone, Debug, Default)]
pub struct Engine {
    pub alerts: Vec<Alert>,
    /// Episodes not fully told to Alertmanager yet, oldest first.
    pub outbox: Vec<Episode>,
    /// The catalogue's ids by index (a version alert names the id that explains it).
    pub(super) ids: Vec<String>,
}

impl Engine {
    pub fn new(rules: &[RuleConfig], catalogue: &Catalogue) -> Result<Engine, RuleError> {
        let mut alerts = Vec::new();
        for r in rules {
            let err = |message: String| RuleError { alert: r.alert.clone(), message };
            let pattern = match r.measure {
                Measure::VersionWorse => usize::MAX,
                _ => catalogue.index_of(&r.pattern).ok_or_else(|| err(format!("no pattern {:?}", r.pattern)))?,
            };
            if !(r.threshold.is_finite() && r.threshold > 0.0) {
                return Err(err("threshold must be a positive number".into()));
            }
            if r.window_secs < 60 {
                return Err(err("window_secs must be at least 60 (windows are per minute)".into()));
            }
            let ring_secs = crate::versions::RING_MINUTES as u64 * 60;
            if r.measure == Measure::VersionWorse && r.window_secs > ring_secs {
                return Err(err(format!(
                    "window_secs must be at most {ring_secs} for version_worse (the minutes kept per version)"
                )));
            }
            if alerts.iter().any(|a: &Alert| a.rule.alert == r.alert) {
                return Err(err("defined twice".into()));
            }
            let (summary, fix, labels) = match r.measure {
                Measure::VersionWorse => (VERSION_SUMMARY.to_string(), version_fix(), Vec::new()),
                _ => {
                    let p = catalogue.get(pattern);
                    (p.summary.clone(), p.fix_summary.clone(), vec![("pattern".to_string(), r.pattern.clone())])
                }
            };
            alerts.push(Alert {
                rule: r.clone(),
                pattern,
                summary,
                fix,
                state: State::Inactive,
                active_at_ms: None,
                clearing_since_ms: None,
                value: 0.0,
                rule_changed: false,
                key: String::new(),
                labels,
            });
        }
        let ids = catalogue.patterns().iter().map(|p| p.id.clone()).collect();
        Ok(Engine { alerts, outbox: Vec::new(), ids })
    }

    /// Carries state over from the engine in effect before a reload (same alert name and pattern).
    pub fn inherit(&mut self, old: &Engine) {
        // A version rule's alerts carry over to the same rule.
        for o in old.alerts.iter().filter(|o| !o.key.is_empty()) {
            let rule =
                self.alerts.iter().find(|a| a.key.is_empty() && a.rule.alert == o.rule.alert).map(|a| a.rule.clone());
            if let Some(rule) = rule.filter(|r| r.measure == Measure::VersionWorse) {
                self.alerts.push(Alert { rule, ..o.clone() });
            }
        }
        for a in &mut self.alerts {
            if let Some(o) = old
                .alerts
                .iter()
                .find(|o| o.rule.alert == a.rule.alert && o.rule.pattern == a.rule.pattern && o.key == a.key)
            {
                a.state = o.state;
                a.active_at_ms = o.active_at_ms;
                a.clearing_since_ms = o.clearing_since_ms;
                a.value = o.value;
                a.rule_changed = o.rule_changed || o.rule != a.rule;
            }
        }
        let names: Vec<&str> = self.alerts.iter().map(|a| a.rule.alert.as_str()).collect();
        self.outbox = old.outbox.iter().filter(|e| names.contains(&e.alert.as_str())).cloned().collect();
    }

    /// Evaluates every rule at `now_ms`. Returns true when any alert changed state.
    pub fn evaluate(&mut self, now_ms: i64, w: &Windows) -> bool {
        !self.step(now_ms, w).is_empty()
    }

    /// Evaluates every rule at the end of the minute starting at `start_ms`, which must be complete in
    /// `w`: what a live evaluation at that moment would have seen.
    pub fn close_minute(&mut self, start_ms: i64, w: &Windows) -> Vec<Transition> {
        self.step(minute_end(start_ms), w)
    }

    /// Closes every minute from the one holding `first_ms` through the one holding `through_ms`, in
    /// order: the one way time steps through minutes, for the daemon's event clock and for a replay of
    /// a finished history. Minutes after `quiet_after_ms`'s are closed only while an alert is pending
    /// or firing (a replay runs on past its data just long enough for alerts to resolve).
    pub fn close_minutes(
        &mut self,
        first_ms: i64,
        through_ms: i64,
        w: &Windows,
        quiet_after_ms: Option<i64>,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        let mut m = first_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        while m <= through_ms {
            if quiet_after_ms.is_some_and(|q| m > q) && self.alerts.iter().all(|a| a.state == State::Inactive) {
                break;
            }
            out.extend(self.close_minute(m, w));
            m += MINUTE_MS;
        }
        out
    }

    fn step(&mut self, now_ms: i64, w: &Windows) -> Vec<Transition> {
        let mut out = Vec::new();
        add_version_alerts(&mut self.alerts, &self.ids, now_ms, w);
        for a in &mut self.alerts {
            let window_ms = a.rule.window_secs as i64 * 1000;
            let mut version_holds = None;
            a.value = match a.rule.measure {
                // The rule's own row: its alerts are the ones per version.
                Measure::VersionWorse if a.key.is_empty() => continue,
                Measure::VersionWorse => {
                    let (value, holds, summary) = version_value(a, now_ms, w);
                    version_holds = Some(holds);
                    a.summary = summary;
                    value
                }
                Measure::Count => w.count_over(a.pattern, now_ms, window_ms) as f64,
                Measure::PerMinute => {
                    w.count_in_minute(a.pattern, now_ms).max(w.count_in_minute(a.pattern, now_ms - MINUTE_MS)) as f64
                }
                Measure::RatioToAttempts => {
                    let n = w.count_over(a.pattern, now_ms, window_ms) as f64;
                    n / (w.attempts_over(now_ms, window_ms).max(1) as f64)
                }
            };
            let holds = version_holds.unwrap_or(a.value >= a.rule.threshold);
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
                (State::Pending, false) => a.state = State::Inactive,
                (State::Firing, true) => a.clearing_since_ms = None,
                (State::Firing, false) => {
                    let since = *a.clearing_since_ms.get_or_insert(now_ms);
                    if a.rule_changed || now_ms - since >= a.rule.keep_firing_for_secs as i64 * 1000 {
                        a.state = State::Inactive;
                        a.clearing_since_ms = None;
                    }
                }
                _ => {}
            }
            a.rule_changed = false;
            if a.state == before {
                continue;
            }
            out.push(Transition {
                alert: a.rule.alert.clone(),
                severity: a.rule.severity.clone(),
                pattern: a.rule.pattern.clone(),
                at_ms: now_ms,
                from: before,
                to: a.state,
                value: a.value,
                active_at_ms: a.active_at_ms,
                labels: a.labels.clone(),
            });
            if a.state == State::Firing {
                let starts_ms = a.active_at_ms.unwrap_or(now_ms);
                self.outbox.push(Episode {
                    alert: a.rule.alert.clone(),
                    starts_ms,
                    ends_ms: None,
                    firing_sent_ms: None,
                    key: a.key.clone(),
                });
            }
            if before == State::Firing {
                let open = self
                    .outbox
                    .iter_mut()
                    .rev()
                    .find(|e| e.alert == a.rule.alert && e.key == a.key && e.ends_ms.is_none());
                match open {
                    Some(e) => e.ends_ms = Some(now_ms),
                    None => self.outbox.push(Episode {
                        alert: a.rule.alert.clone(),
                        starts_ms: a.active_at_ms.unwrap_or(now_ms),
                        ends_ms: Some(now_ms),
                        firing_sent_ms: None,
                        key: a.key.clone(),
                    }),
                }
            }
            if a.state == State::Inactive {
                a.active_at_ms = None;
            }
        }
        // A version alert that has resolved is gone (its labels are those of its episode), once
        // Alertmanager has been told of its end.
        let outbox = &self.outbox;
        self.alerts.retain(|a| {
            a.key.is_empty()
                || a.state != State::Inactive
                || outbox.iter().any(|e| e.alert == a.rule.alert && e.key == a.key)
        });
        while self.outbox.len() > MAX_OUTBOX {
            let i = self.outbox.iter().position(|e| e.ends_ms.is_some()).unwrap_or(0);
            self.outbox.remove(i);
        }
        out
    }
}
