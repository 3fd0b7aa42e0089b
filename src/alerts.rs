//! Alerts evaluated in the daemon: rules over the event-time windows, a Prometheus-like state machine
//! (inactive → pending → firing → resolved) with hysteresis, and the Alertmanager `/api/v2/alerts`
//! payload. What `/api/v1/alerts` and the status page show is read from the view (`crate::view`).
//!
//! Contract: `Engine::evaluate(now_ms, windows)` and `Engine::close_minute(start_ms, windows)` are the
//! only ways time enters; they are pure apart from the engine's own state, so tests drive time
//! themselves. A rule whose pattern is not in the catalogue is refused when the rules are built (the
//! config error names it).
//!
//! Replays: `close_minute` evaluates the rules at the last millisecond of a minute that is complete;
//! the daemon's event clock calls it for every minute the newest line's time passes, in order, and
//! `replay_transitions` does the same over a finished history (for `check`), so both tell the same
//! story: every transition stamped with the event time of the minute that caused it.
//!
//! Alertmanager: each firing episode (activeAt → resolution) waits in an outbox until Alertmanager has
//! accepted it firing and then, no sooner than `hold_ms` later, resolved, so an episode that a replay
//! runs through in one read still reaches receivers as firing, then resolved (Alertmanager notifies a
//! group only after its `group_wait`, and never for an alert it first hears of already resolved).

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
    /// Per function, each version against the baseline over `window_secs` (`crate::versions::compare`):
    /// the value is the evidence (−log10 p), `threshold` the evidence that pages, `min_calls` the
    /// calls each side needs. One alert per (function, version) found worse; `pattern` is not used.
    VersionWorse,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The alert name (the `alertname` label).
    pub alert: String,
    /// A pattern id (none for `version_worse`).
    #[serde(default)]
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
    /// `version_worse`: calls each side needs in the window (default `versions::compare::DEFAULT_MIN_CALLS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_calls: Option<u64>,
}

impl RuleConfig {
    /// The comparison a `version_worse` rule makes.
    pub fn version_test(&self) -> crate::versions::compare::Test {
        crate::versions::compare::Test {
            window_ms: self.window_secs as i64 * 1000,
            min_calls: self.min_calls.unwrap_or(crate::versions::compare::DEFAULT_MIN_CALLS),
            threshold: self.threshold,
        }
    }
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
        min_calls: None,
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
        rollout_rule(),
    ]
}

/// A new function version failing more calls than the version carrying the traffic (see
/// `crate::versions::compare` and docs/versions.md for the test and its measured error rates).
pub fn rollout_rule() -> RuleConfig {
    use crate::versions::compare;
    RuleConfig {
        alert: "RolloutVersionWorse".into(),
        pattern: String::new(),
        measure: Measure::VersionWorse,
        threshold: compare::DEFAULT_THRESHOLD,
        window_secs: compare::DEFAULT_WINDOW_SECS,
        for_secs: 0,
        keep_firing_for_secs: 5 * 60,
        severity: "warning".into(),
        min_calls: Some(compare::DEFAULT_MIN_CALLS),
    }
}

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
    pattern: usize,
    pub summary: String,
    pub fix: String,
    pub state: State,
    pub active_at_ms: Option<i64>,
    /// While firing: since when the condition has been false.
    pub clearing_since_ms: Option<i64>,
    pub value: f64,
    /// The rule changed at a reload: the next evaluation resolves a firing alert whose condition no
    /// longer holds at once (hysteresis is for flapping data, not for a new threshold).
    rule_changed: bool,
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

/// Where alerts are pushed, Alertmanager's `/api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alertmanager {
    /// host:port of the Alertmanager (http only).
    pub authority: String,
    /// The path prefix before `/api/v2/alerts` (for Alertmanagers behind a route prefix).
    pub prefix: String,
    pub resend_interval_secs: u64,
    pub timeout_ms: u64,
    /// A resolution is sent no sooner than this after Alertmanager accepted the alert firing, so a
    /// replayed episode reaches receivers as firing, then resolved (Alertmanager's group_wait).
    pub resolve_hold_secs: u64,
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

/// What one push carried: (alert, key, episode start, sent resolved).
pub type Sent = (String, String, i64, bool);

/// Episodes kept for Alertmanager at most; past it the oldest resolved ones are dropped.
const MAX_OUTBOX: usize = 1024;

#[derive(Clone, Debug, Default)]
pub struct Engine {
    pub alerts: Vec<Alert>,
    /// Episodes not fully told to Alertmanager yet, oldest first.
    pub outbox: Vec<Episode>,
    /// The catalogue's ids by index (a version alert names the id that explains it).
    ids: Vec<String>,
}

/// The last millisecond of the minute that starts at `start_ms`: where `close_minute` evaluates.
pub fn minute_end(start_ms: i64) -> i64 {
    start_ms.div_euclid(MINUTE_MS) * MINUTE_MS + MINUTE_MS - 1
}

/// The rules evaluated minute by minute over a finished history, from its first minute to its last,
/// as the daemon's event clock would have: every transition, in order. After the last minute the clock
/// runs on without new data, while any alert is still pending or firing, for at most the longest
/// window + `for` + `keep_firing_for` (plus two minutes), so conditions that need "no more 45011"
/// resolve: those transitions fall after the history's last minute. `check --report` uses it to say
/// which alerts would have fired and when.
pub fn replay_transitions(
    rules: &[RuleConfig],
    catalogue: &Catalogue,
    windows: &Windows,
) -> Result<Vec<Transition>, RuleError> {
    let mut engine = Engine::new(rules, catalogue)?;
    let mut out = Vec::new();
    let span = windows.versions.span_ms();
    let first = [windows.first_minute_ms(), span.map(|s| s.0)].into_iter().flatten().min();
    let last = [windows.watermark_ms(), span.map(|s| s.1)].into_iter().flatten().max();
    let (Some(first), Some(last)) = (first, last) else { return Ok(out) };
    let run_on_minutes = rules
        .iter()
        .map(|r| (r.window_secs + r.for_secs + r.keep_firing_for_secs) as i64 * 1000 / MINUTE_MS + 2)
        .max()
        .unwrap_or(0);
    let last = last.div_euclid(MINUTE_MS) * MINUTE_MS;
    out.extend(engine.close_minutes(first, last + run_on_minutes * MINUTE_MS, windows, Some(last)));
    Ok(out)
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
                Measure::VersionWorse => (VERSION_SUMMARY.to_string(), VERSION_FIX.to_string(), Vec::new()),
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

    /// A `version_worse` rule's alerts: one per (function, version) found worse at `now_ms` that has
    /// none yet (labelled as it is found: function, version, baseline, and the id that explains it).
    fn add_version_alerts(&mut self, now_ms: i64, w: &Windows) {
        let rules: Vec<RuleConfig> = self
            .alerts
            .iter()
            .filter(|a| a.key.is_empty() && a.rule.measure == Measure::VersionWorse)
            .map(|a| a.rule.clone())
            .collect();
        for rule in rules {
            let found = crate::versions::compare::compare_all(&w.versions, now_ms, &rule.version_test());
            for c in found.iter().filter(|c| c.verdict == crate::versions::compare::Verdict::Worse) {
                let key = version_key(&c.function, &c.version);
                if self.alerts.iter().any(|a| a.rule.alert == rule.alert && a.key == key) {
                    continue;
                }
                let mut labels = vec![
                    ("function".to_string(), c.function.clone()),
                    ("version".to_string(), c.version.clone()),
                    ("baseline".to_string(), c.baseline.clone()),
                ];
                if let Some(id) = c.pattern.and_then(|p| self.ids.get(p).cloned()) {
                    labels.push(("pattern".to_string(), id));
                }
                self.alerts.push(Alert {
                    rule: rule.clone(),
                    pattern: c.pattern.unwrap_or(usize::MAX),
                    summary: version_summary(c),
                    fix: VERSION_FIX.to_string(),
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
    fn version_value(a: &Alert, now_ms: i64, w: &Windows) -> (f64, bool, String) {
        let found = crate::versions::compare::compare_all(&w.versions, now_ms, &a.rule.version_test());
        match found.iter().find(|c| version_key(&c.function, &c.version) == a.key) {
            Some(c) => (c.evidence, c.verdict == crate::versions::compare::Verdict::Worse, version_summary(c)),
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
        self.add_version_alerts(now_ms, w);
        for a in &mut self.alerts {
            let window_ms = a.rule.window_secs as i64 * 1000;
            let mut version_holds = None;
            a.value = match a.rule.measure {
                // The rule's own row: its alerts are the ones per version.
                Measure::VersionWorse if a.key.is_empty() => continue,
                Measure::VersionWorse => {
                    let (value, holds, summary) = Engine::version_value(a, now_ms, w);
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

    fn labels(a: &Alert) -> Value {
        let mut l = serde_json::Map::new();
        l.insert("alertname".into(), json!(a.rule.alert));
        l.insert("severity".into(), json!(a.rule.severity));
        for (k, v) in &a.labels {
            l.insert(k.clone(), json!(v));
        }
        Value::Object(l)
    }

    fn annotations(a: &Alert) -> Value {
        json!({ "summary": a.summary, "fix": a.fix, "value": format_value(a.value) })
    }

    /// The Alertmanager `/api/v2/alerts` body at wall time `wall_ms`, and what it carries (for `ack`).
    /// Per alert its oldest episode not fully told: firing until Alertmanager has accepted it so, and
    /// while it fires or its resolution is held (re-sent, valid until `ends_at_ms`); resolved, with its
    /// own `endsAt`, once it has ended and `hold_ms` have passed since Alertmanager accepted it firing.
    pub fn alertmanager_payload(
        &self,
        wall_ms: i64,
        ends_at_ms: i64,
        hold_ms: i64,
        generator_url: &str,
    ) -> (Vec<Value>, Vec<Sent>) {
        let mut body = Vec::new();
        let mut sent = Vec::new();
        for a in &self.alerts {
            let Some(e) = self.outbox.iter().find(|e| e.alert == a.rule.alert && e.key == a.key) else { continue };
            let (ends, resolved) = match (e.firing_sent_ms, e.ends_ms) {
                (Some(told), Some(ended)) if wall_ms - told >= hold_ms => (ended, true),
                // Firing (or held: still told firing, or Alertmanager would time it out by itself).
                _ => (ends_at_ms, false),
            };
            body.push(json!({
                "labels": Engine::labels(a),
                "annotations": Engine::annotations(a),
                "startsAt": timefmt::format_utc(e.starts_ms),
                "endsAt": timefmt::format_utc(ends),
                "generatorURL": generator_url,
            }));
            sent.push((a.rule.alert.clone(), a.key.clone(), e.starts_ms, resolved));
        }
        (body, sent)
    }

    /// Alertmanager accepted a payload at wall time `wall_ms`: episodes it heard of firing are marked,
    /// resolutions it heard of are done.
    pub fn ack(&mut self, sent: &[Sent], wall_ms: i64) {
        for (alert, key, starts_ms, resolved) in sent {
            let Some(i) =
                self.outbox.iter().position(|e| &e.alert == alert && &e.key == key && e.starts_ms == *starts_ms)
            else {
                continue;
            };
            if *resolved {
                self.outbox.remove(i);
            } else {
                self.outbox[i].firing_sent_ms.get_or_insert(wall_ms);
            }
        }
    }

    /// The wall time at which a held resolution may be sent, if one waits.
    pub fn next_release_ms(&self, hold_ms: i64) -> Option<i64> {
        self.outbox.iter().filter(|e| e.ends_ms.is_some()).filter_map(|e| e.firing_sent_ms).map(|t| t + hold_ms).min()
    }
}

const VERSION_SUMMARY: &str = "A function version fails more calls than the version carrying the traffic.";
const VERSION_FIX: &str = "Shift the alias's traffic back to the baseline version, then read the new version's failed calls by id (authwatch check, /api/v1/versions).";

/// The key of a version alert: its function and version.
/// A version alert's summary: the comparison's figures, rendered at every evaluation with the value
/// (the evidence) of the same comparison, so `/api/v1/alerts` and Alertmanager never show a summary
/// of one moment beside a value of another.
fn version_summary(c: &crate::versions::compare::Comparison) -> String {
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

fn version_key(function: &str, version: &str) -> String {
    format!("{function}\u{1f}{version}")
}

/// Prometheus prints sample values as strings.
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v}") }
}

#[cfg(test)]
mod tests;
