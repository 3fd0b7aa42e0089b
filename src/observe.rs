//! What the daemon has observed over time, shared between the tailer thread (the only writer) and the
//! HTTP side: per-minute windows, last sample line per pattern (redacted), alert states.
//!
//! Contract: this is the windows + alerts sink of the Event stage. The tailer thread hands over a poll's
//! Events in one `record` call (one lock per poll, not per line); `evaluate` advances alerts and the
//! windowed gauges at a time the caller gives (the wall clock, or with `clock = "event"` the newest
//! Event's time, which never includes untrusted future times: the stage replaced those). HTTP renders
//! from a clone taken under the lock, never while holding it.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::alerts::{Engine, RuleConfig, RuleError, State};
use crate::config::Clock;
use crate::event::{Event, Kind};
use crate::metrics::Metrics;
use crate::patterns::{Catalogue, Severity};
use crate::redact;
use crate::timefmt;
use crate::window::{MINUTE_MS, Windows};

pub const Q45011: &str = "wx_45011_minute_quota";

#[derive(Debug, Clone)]
pub struct PatternInfo {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub fix_summary: String,
    pub count: u64,
    pub last_seen_ms: Option<i64>,
    pub sample: Option<String>,
}

#[derive(Clone)]
pub struct Observed {
    pub patterns: Vec<PatternInfo>,
    pub windows: Windows,
    pub engine: Engine,
    pub clock: Clock,
    newest_event_ms: Option<i64>,
    late_reported: u64,
    last_eval_ms: Option<i64>,
}

pub type Shared = Arc<Mutex<Observed>>;

fn infos(catalogue: &Catalogue) -> Vec<PatternInfo> {
    catalogue
        .patterns()
        .iter()
        .map(|p| PatternInfo {
            id: p.id.clone(),
            title: p.title.clone(),
            severity: p.severity,
            fix_summary: p.fix_summary.clone(),
            count: 0,
            last_seen_ms: None,
            sample: None,
        })
        .collect()
}

impl Observed {
    pub fn new(
        catalogue: &Catalogue,
        retention_minutes: usize,
        rules: &[RuleConfig],
        clock: Clock,
    ) -> Result<Observed, RuleError> {
        Ok(Observed {
            patterns: infos(catalogue),
            windows: Windows::new(catalogue.patterns().len(), retention_minutes),
            engine: Engine::new(rules, catalogue)?,
            clock,
            newest_event_ms: None,
            late_reported: 0,
            last_eval_ms: None,
        })
    }

    /// New patterns or rules: history, counts and alert states carry over by id and name.
    pub fn reload(&mut self, catalogue: &Catalogue, rules: &[RuleConfig], clock: Clock) -> Result<(), RuleError> {
        let mut engine = Engine::new(rules, catalogue)?;
        engine.inherit(&self.engine);
        let mut fresh = infos(catalogue);
        let map: Vec<Option<usize>> = fresh.iter().map(|p| self.patterns.iter().position(|o| o.id == p.id)).collect();
        for (p, old) in fresh.iter_mut().zip(&map) {
            if let Some(o) = old.map(|i| &self.patterns[i]) {
                (p.count, p.last_seen_ms, p.sample) = (o.count, o.last_seen_ms, o.sample.clone());
            }
        }
        self.windows.remap(&map);
        self.patterns = fresh;
        self.engine = engine;
        self.clock = clock;
        Ok(())
    }

    /// One poll's Events. The last sample line per pattern is redacted here, once per poll.
    pub fn record(&mut self, events: &[Event]) {
        let mut samples: Vec<(usize, &[u8])> = Vec::new();
        for e in events {
            let time_ms = e.time_ms;
            if let Some(input) = e.input {
                self.windows.note_input(input, time_ms);
            }
            match e.kind {
                Kind::Error(index) => {
                    self.windows.add(index, time_ms);
                    if let Some(p) = self.patterns.get_mut(index) {
                        p.count += 1;
                        p.last_seen_ms = Some(p.last_seen_ms.map_or(time_ms, |t| t.max(time_ms)));
                    }
                    if let Some(s) = e.sample.as_deref() {
                        match samples.iter_mut().find(|(i, _)| *i == index) {
                            Some(slot) => slot.1 = s,
                            None => samples.push((index, s)),
                        }
                    }
                }
                Kind::Attempt => self.windows.add_attempt(time_ms),
            }
            self.newest_event_ms = Some(self.newest_event_ms.map_or(time_ms, |t| t.max(time_ms)));
        }
        for (index, line) in samples {
            if let Some(p) = self.patterns.get_mut(index) {
                p.sample = Some(redact::redact(&String::from_utf8_lossy(line)));
            }
        }
    }

    /// The time alerts and gauges are evaluated at.
    pub fn now(&self, wall_ms: i64) -> i64 {
        match self.clock {
            Clock::Wall => wall_ms,
            Clock::Event => self.newest_event_ms.unwrap_or(wall_ms),
        }
    }

    fn q45011(&self) -> Option<usize> {
        self.patterns.iter().position(|p| p.id == Q45011)
    }

    /// Advances alerts and sets the windowed gauges. True when an alert changed state.
    pub fn evaluate(&mut self, wall_ms: i64, metrics: &Metrics) -> bool {
        let now = self.now(wall_ms);
        let no_time_yet = self.clock == Clock::Event && self.newest_event_ms.is_none();
        // A replay moves the event clock in jumps: step through the minutes it skipped, so alerts go
        // through pending, firing and resolved as they would have live.
        let mut changed = false;
        if let Some(last) = self.last_eval_ms.filter(|&l| now - l > MINUTE_MS) {
            let steps = ((now - last) / MINUTE_MS).min(self.windows.retention_minutes() as i64);
            for k in (1..=steps).rev() {
                changed |= self.engine.evaluate(now - k * MINUTE_MS + 1, &self.windows);
            }
        }
        if !no_time_yet {
            self.last_eval_ms = Some(now);
            changed |= self.engine.evaluate(now, &self.windows);
        }
        for a in &self.engine.alerts {
            metrics
                .alert_firing
                .with_label_values(&[&a.rule.alert, &a.rule.severity])
                .set(i64::from(a.state == State::Firing));
        }
        let last_minute = now - MINUTE_MS;
        metrics.login_attempts_last_minute.set(self.windows.attempts_in_minute(last_minute) as i64);
        if let Some(q) = self.q45011() {
            metrics.q45011_last_minute.set(self.windows.count_in_minute(q, last_minute) as i64);
            metrics.q45011_peak_per_minute.set(self.windows.peak(q) as i64);
            if let Some((start_ms, attempts)) = self.windows.onset(q) {
                metrics.set_onset((attempts > 0).then_some(attempts), start_ms);
            }
            metrics.onset_skipped_partial.set(self.windows.skipped_partial(q).len() as i64);
        }
        let late = self.windows.late();
        metrics.late_lines_total.inc_by(late.saturating_sub(self.late_reported));
        self.late_reported = late;
        changed
    }

    /// `GET /api/v1/rate/{id}`: the per-minute history with login attempts, and the onset.
    pub fn rate_json(&self, id: &str) -> Option<Value> {
        let index = self.patterns.iter().position(|p| p.id == id)?;
        let minutes: Vec<Value> = self
            .windows
            .history(index)
            .iter()
            .map(|m| {
                json!({
                    "start": timefmt::format_utc(m.start_ms),
                    "start_ms": m.start_ms,
                    "count": m.count,
                    "login_attempts": m.login_attempts,
                    "partial": m.partial,
                })
            })
            .collect();
        Some(json!({
            "status": "success",
            "data": {
                "pattern": id,
                "minute_seconds": 60,
                "counts": "calls per minute by each call's own time (a line outside any call counts once)",
                "minutes": minutes,
                "onset": onset_json(&self.windows, index),
                "late_lines": self.windows.late(),
            }
        }))
    }

    /// `GET /api/v1/patterns`: per pattern the count, last time seen, fix and a redacted sample line.
    pub fn patterns_json(&self) -> Value {
        let list: Vec<Value> = self
            .patterns
            .iter()
            .map(|p| {
                json!({
                    "id": p.id, "title": p.title, "severity": p.severity.as_str(), "count": p.count,
                    "last_seen": p.last_seen_ms.map(timefmt::format_utc), "fix": p.fix_summary, "sample": p.sample,
                })
            })
            .collect();
        json!({ "status": "success", "data": list })
    }
}

/// The onset as the API and `check` report it: the first whole minute with the pattern, its login
/// attempts per minute (null, "unknown", when none was seen in that minute), and the partial minutes
/// skipped before it, with why.
pub fn onset_json(windows: &Windows, pattern: usize) -> Value {
    let skipped: Vec<Value> = windows
        .skipped_partial(pattern)
        .into_iter()
        .map(|ms| {
            json!({
                "start": timefmt::format_utc(ms),
                "start_ms": ms,
                "why": "partial minute: cut by the start of an input (an export, or the daemon's first minute), so its rate is not known",
            })
        })
        .collect();
    match windows.onset(pattern) {
        Some((start_ms, attempts)) => json!({
            "start": timefmt::format_utc(start_ms),
            "start_ms": start_ms,
            "login_attempts_per_minute": (attempts > 0).then_some(attempts),
            "login_attempts_known": attempts > 0,
            "skipped_partial_minutes": skipped,
        }),
        None if !skipped.is_empty() => json!({ "start": null, "skipped_partial_minutes": skipped }),
        None => Value::Null,
    }
}
