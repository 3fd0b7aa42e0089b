//! What the daemon has observed over time, shared between the tailer thread (the only writer) and the
//! HTTP side: per-minute windows, last sample line per pattern (redacted), alert states.
//!
//! Contract: this is the windows + alerts sink of the Event stage. The tailer thread hands over a poll's
//! Events in one `record` call (one lock per poll, not per line); `evaluate` advances alerts at a time
//! the caller gives (the wall clock, or with `clock = "event"` the newest Event's time, which never
//! includes untrusted future times: the stage replaced those). It writes no metric, formats nothing
//! and judges no minute complete: the daemon builds the read model (`crate::view`) from it after each
//! evaluation (which minutes are complete is the view's rule, from the clocks kept here) and every
//! output reads that.
//!
//! The event clock steps minute by minute: every minute the newest Event's time has passed is closed
//! (`Engine::close_minute`) in order, once, so a replayed export's alerts go pending → firing →
//! resolved at the event times they would have live; between boundaries the rules are also evaluated
//! at the newest time, as live. When no Event has come for `replay_idle_ms` of wall time, the newest
//! minute is closed too (the input has ended; "no more 45011" can resolve).
//!
//! Sources of batches (`crate::batches`) land late: a batch holds up to its source's shipping interval
//! of events. With any such source the daemon is on the event clock whatever `clock` says (the wall
//! clock's current minute is never the one batches are filling), and a minute is closed only once the
//! **watermark** has passed its end: for every source of batches, the newest Event time seen from it
//! minus its interval (the minimum over sources). A source with no new Event for twice its interval
//! of wall time has shipped everything it had (it stops holding minutes back), and so has one with no
//! Event yet. Alerts are then judged only as minutes close, never at the newest time between them, so
//! a burst split over two batches is judged once, with both halves in. The view reads completeness
//! from the minutes closed here (`view::complete_before`), so onsets come only from closed minutes.

use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::alerts::{Engine, RuleConfig, RuleError};
use crate::event::{Event, Kind, TimeFrom};
use crate::patterns::{Catalogue, Severity};
use crate::redact;
use crate::refusal::Refusals;
use crate::window::{MINUTE_MS, Windows};

/// Which clock alerts are evaluated on (`[alerting] clock`): the state's own setting, composed into
/// the configuration by `config`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// The wall clock: for watching live logs.
    #[default]
    Wall,
    /// The newest line's own time: for replaying exported logs as if live.
    Event,
}

/// With the event clock, the newest minute is closed after this long without a new line.
pub const DEFAULT_REPLAY_IDLE_SECS: u64 = 120;

/// The quota line unless configured (`[alerting] quota_per_minute`): jscode2session's per-minute limit
/// (per IP, the guide says, giving no number) as load tests commonly meet it.
pub const DEFAULT_QUOTA_PER_MINUTE: u64 = 100;

/// `[alerting]`: the state's settings (which clock, when a replay's last minute closes) and the quota
/// line the views draw; composed into the configuration by `config`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    #[serde(default)]
    pub clock: Clock,
    /// Event clock: with no new line for this long (wall time), the newest minute is closed and judged
    /// (a replay has ended).
    #[serde(default = "default_replay_idle_secs")]
    pub replay_idle_secs: u64,
    /// The quota line drawn on the 45011 chart (status page, `check --report`), calls per minute, named
    /// "configured quota" there: the guide (`explain 45011`) says jscode2session's limit is per minute
    /// per IP and gives no number; 100 unless set. 0 draws none.
    #[serde(default = "default_quota_per_minute")]
    pub quota_per_minute: u64,
}

fn default_replay_idle_secs() -> u64 {
    DEFAULT_REPLAY_IDLE_SECS
}

impl Default for Alerting {
    fn default() -> Alerting {
        Alerting {
            clock: Clock::default(),
            replay_idle_secs: DEFAULT_REPLAY_IDLE_SECS,
            quota_per_minute: default_quota_per_minute(),
        }
    }
}

fn default_quota_per_minute() -> u64 {
    DEFAULT_QUOTA_PER_MINUTE
}

/// Login attempts older than the newest one by this much are forgotten unless they count for the first
/// refusal (`crate::refusal`): it covers the Event stage's join window twice over.
pub const REFUSAL_HORIZON_MS: i64 = 30 * MINUTE_MS;

/// WeChat's per-minute quota error: the id the load figures (onset, peak, last minute) are about.
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
    /// Event clock: the start of the newest minute closed (evaluated as complete).
    closed_through_ms: Option<i64>,
    /// Event clock: wall time at which the last Event came (None: Events came since the last evaluation).
    last_input_wall_ms: Option<i64>,
    /// Event clock: with no Event for this long (wall ms), the newest minute is closed.
    pub replay_idle_ms: i64,
    /// Something a view shows changed since the last `take_changes` (Events, a reload, a restore).
    changes: bool,
    /// The first 45011 call and the login attempts in the 60 s up to it (`crate::refusal`).
    pub refusals: Refusals,
    /// The index of 45011 in the catalogue in effect.
    q45011: Option<usize>,
    /// Per source index: the shipping interval of a source of batches, ms (None: followed files).
    intervals: Vec<Option<i64>>,
    /// Per source index: the newest Event time from it, and the wall time that was first evaluated at.
    newest_by_source: Vec<Option<(i64, Option<i64>)>>,
}

/// What `history` saves of `Observed` besides the windows and alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clocks {
    pub newest_event_ms: Option<i64>,
    pub closed_through_ms: Option<i64>,
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
            windows: {
                let mut w = Windows::new(catalogue.patterns().len(), retention_minutes);
                // A replay (the event clock) reads exports: one that ends mid-minute cuts that minute.
                if clock == Clock::Event {
                    w.inputs_end();
                }
                w
            },
            engine: Engine::new(rules, catalogue)?,
            clock,
            newest_event_ms: None,
            closed_through_ms: None,
            last_input_wall_ms: None,
            changes: true,
            replay_idle_ms: DEFAULT_REPLAY_IDLE_SECS as i64 * 1000,
            refusals: Refusals::new(Some(REFUSAL_HORIZON_MS)),
            q45011: catalogue.index_of(Q45011),
            intervals: Vec::new(),
            newest_by_source: Vec::new(),
        })
    }

    /// Per source index, the shipping interval (ms) of each source of batches (`config::batch_intervals`).
    pub fn set_intervals(&mut self, intervals: Vec<Option<i64>>) {
        self.newest_by_source.resize(intervals.len(), None);
        self.intervals = intervals;
        self.changes = true;
    }

    /// Whether minutes close on the event clock: `clock = "event"`, or any source of batches.
    pub fn event_clocked(&self) -> bool {
        self.clock == Clock::Event || self.batches()
    }

    /// Whether any source is one of batches (`set_intervals`).
    pub fn has_batches(&self) -> bool {
        self.batches()
    }

    fn batches(&self) -> bool {
        self.intervals.iter().any(Option::is_some)
    }

    /// The batch watermark at wall time `wall_ms`: minutes ending at or before it hold every batch
    /// (None: no source of batches holds minutes back).
    pub fn watermark_ms(&self, wall_ms: i64) -> Option<i64> {
        let holding = self.intervals.iter().zip(&self.newest_by_source).filter_map(|(iv, newest)| {
            let (iv, (t, since)) = (iv.as_ref()?, newest.as_ref()?);
            let drained = since.is_some_and(|w| wall_ms - w >= 2 * iv);
            (!drained).then_some(t - iv)
        });
        holding.min()
    }

    pub fn clocks(&self) -> Clocks {
        Clocks { newest_event_ms: self.newest_event_ms, closed_through_ms: self.closed_through_ms }
    }

    /// State restored from `history` (the windows, patterns and engine already set).
    pub fn restore_clocks(&mut self, c: &Clocks) {
        self.newest_event_ms = c.newest_event_ms;
        self.closed_through_ms = c.closed_through_ms;
        self.changes = true;
    }

    /// Whether Events, a reload or a restore changed what a view shows since the last call: the
    /// daemon builds no new view for a poll that brought nothing (and no minute or alert moved).
    pub fn take_changes(&mut self) -> bool {
        std::mem::take(&mut self.changes)
    }

    /// New patterns or rules: history, counts and alert states carry over by id and name.
    pub fn reload(&mut self, catalogue: &Catalogue, rules: &[RuleConfig], clock: Clock) -> Result<(), RuleError> {
        if clock != self.clock {
            self.closed_through_ms = None;
        }
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
        if clock == Clock::Event {
            self.windows.inputs_end();
        }
        self.q45011 = catalogue.index_of(Q45011);
        self.patterns = fresh;
        self.engine = engine;
        self.clock = clock;
        self.changes = true;
        Ok(())
    }

    /// One poll's Events. The last sample line per pattern is redacted here, once per poll.
    pub fn record(&mut self, events: &[Event]) {
        if !events.is_empty() {
            self.last_input_wall_ms = None;
            self.changes = true;
        }
        let mut samples: Vec<(usize, &[u8])> = Vec::new();
        for e in events {
            let time_ms = e.time_ms;
            if e.time_from == TimeFrom::Untimed {
                // No time to trust: counted, in no minute (arrival time never drags the windows).
                if let Kind::Error(index) = e.kind {
                    if let Some(p) = self.patterns.get_mut(index) {
                        p.count += 1;
                    }
                }
                continue;
            }
            if let Some(input) = e.input {
                self.windows.note_input(input, time_ms);
            }
            match (e.kind, e.version.as_deref()) {
                (Kind::Call, Some(v)) => self.windows.versions.add_call(e.function.as_deref(), v, time_ms),
                (Kind::Error(p), Some(v)) => {
                    self.windows.versions.add_failure(e.function.as_deref(), v, p, e.first_failure, time_ms)
                }
                _ => {}
            }
            match e.kind {
                Kind::Error(index) => {
                    self.windows.add(index, time_ms);
                    if Some(index) == self.q45011 {
                        self.refusals.refusal(time_ms);
                    }
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
                Kind::Attempt => {
                    self.windows.add_attempt(time_ms);
                    self.refusals.attempt(time_ms);
                }
                // A call of any function moves the event clock too (a rollout of a function that is
                // not the login one has no attempts), though only the version figures count it.
                Kind::Call => {}
                Kind::Seen => continue,
            }
            self.newest_event_ms = Some(self.newest_event_ms.map_or(time_ms, |t| t.max(time_ms)));
            if let Some(n) = self.newest_by_source.get_mut(e.source) {
                *n = Some((n.map_or(time_ms, |(t, _)| t.max(time_ms)), None));
            }
        }
        for (index, line) in samples {
            if let Some(p) = self.patterns.get_mut(index) {
                p.sample = Some(redact::redact(&String::from_utf8_lossy(line)));
            }
        }
    }

    /// The time alerts and gauges are evaluated at: the wall clock, or the newest Event's time (the end
    /// of its minute once that minute is closed).
    pub fn now(&self, wall_ms: i64) -> i64 {
        match self.clock {
            Clock::Wall => wall_ms,
            _ if self.batches() => match (self.newest_event_ms, self.closed_through_ms) {
                (Some(_), Some(c)) => crate::alerts::minute_end(c),
                (Some(n), None) => n,
                (None, _) => wall_ms,
            },
            Clock::Event => match (self.newest_event_ms, self.closed_through_ms) {
                (Some(n), Some(c)) if c >= n.div_euclid(MINUTE_MS) * MINUTE_MS => crate::alerts::minute_end(c),
                (Some(n), _) => n,
                (None, _) => wall_ms,
            },
        }
    }

    /// Event clock: closes every minute the newest Event's time has passed (and the newest one too once
    /// input has been idle), in order.
    fn close_minutes(&mut self, wall_ms: i64) -> bool {
        let Some(newest) = self.newest_event_ms else { return false };
        let idle_since = *self.last_input_wall_ms.get_or_insert(wall_ms);
        let current = newest.div_euclid(MINUTE_MS) * MINUTE_MS;
        let mut through = if wall_ms - idle_since >= self.replay_idle_ms { current } else { current - MINUTE_MS };
        for (_, since) in self.newest_by_source.iter_mut().flatten() {
            since.get_or_insert(wall_ms);
        }
        if let Some(w) = self.watermark_ms(wall_ms) {
            // A minute is closed once the watermark has passed its end.
            through = through.min(w.div_euclid(MINUTE_MS) * MINUTE_MS - MINUTE_MS);
        }
        let oldest = current - (self.windows.retention_minutes() as i64 - 1) * MINUTE_MS;
        let first = match self.closed_through_ms {
            Some(c) => c + MINUTE_MS,
            None => {
                let calls = self.windows.versions.span_ms().map(|(first, _)| first.div_euclid(MINUTE_MS) * MINUTE_MS);
                [self.windows.first_minute_ms(), calls].into_iter().flatten().min().unwrap_or(current)
            }
        }
        .max(oldest);
        let transitions = self.engine.close_minutes(first, through, &self.windows, None);
        if first <= through {
            self.closed_through_ms = Some(through);
        }
        !transitions.is_empty()
    }

    /// Advances alerts (closing minutes with the event clock). True when an alert changed state.
    pub fn evaluate(&mut self, wall_ms: i64) -> bool {
        let mut changed = false;
        if self.event_clocked() {
            changed |= self.close_minutes(wall_ms);
        }
        let now = self.now(wall_ms);
        // With batches, rules are judged only as minutes close (the newest time may be in a minute
        // whose batches are not all in).
        if !self.batches() && (self.clock == Clock::Wall || self.newest_event_ms.is_some()) {
            // Between minute boundaries, as live: the newest time (a no-op when nothing moved, but a rule
            // changed by a reload is judged here at once).
            changed |= self.engine.evaluate(now, &self.windows);
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{Measure, RuleConfig, State};
    use crate::view::View;

    /// The 45011 onset as the view has it (start, attempts; 0: unknown).
    fn onset(o: &Observed, wall_ms: i64) -> Option<(i64, u64)> {
        let v = View::of_state(o, wall_ms);
        v.q45011().and_then(|(_, r)| r.onset).map(|x| (x.start_ms, x.attempts.unwrap_or(0)))
    }
    use crate::patterns::Side;

    const T0: i64 = 1_741_914_000_000;
    const WALL: i64 = 2_000_000_000_000;

    fn rule(threshold: f64) -> RuleConfig {
        RuleConfig {
            alert: "Q".into(),
            pattern: Q45011.into(),
            measure: Measure::PerMinute,
            threshold,
            window_secs: 300,
            for_secs: 0,
            keep_firing_for_secs: 60,
            severity: "warning".into(),
            min_calls: None,
        }
    }

    fn event(kind: Kind, time_ms: i64) -> Event {
        Event {
            source: 0,
            kind,
            time_ms,
            time_from: TimeFrom::Own,
            input: Some(1),
            function: None,
            request_id: None,
            side: Side::Any,
            sample: None,
            version: None,
            first_failure: false,
        }
    }

    /// Minutes 0-9 with 50 attempts each; 45011 x30 in minutes 3-4.
    fn export(q: usize) -> Vec<Event> {
        let mut v = Vec::new();
        for m in 0..10 {
            for i in 0..50 {
                v.push(event(Kind::Attempt, T0 + m * MINUTE_MS + i * 1000));
            }
            if (3..=4).contains(&m) {
                for i in 0..30 {
                    v.push(event(Kind::Error(q), T0 + m * MINUTE_MS + i * 1000 + 500));
                }
            }
        }
        v
    }

    fn setup(threshold: f64) -> (Catalogue, Observed) {
        let c = Catalogue::builtin().unwrap();
        let o = Observed::new(&c, 60, &[rule(threshold)], Clock::Event).unwrap();
        (c, o)
    }

    #[test]
    fn an_export_dropped_in_whole_fires_and_resolves_at_event_times_and_closes_when_idle() {
        let (c, mut o) = setup(20.0);
        let q = c.index_of(Q45011).unwrap();
        o.replay_idle_ms = 5_000;
        o.record(&export(q));
        assert!(o.evaluate(WALL), "minutes 0-8 are closed at once");
        let end = |m: i64| T0 + (m + 1) * MINUTE_MS - 1;
        // Fired at the end of minute 3; minute 5 still sees minute 4; resolved 60 s after the condition turned
        // false (end of minute 6).
        assert_eq!(o.engine.alerts[0].state, State::Inactive);
        assert_eq!(o.engine.outbox.len(), 1);
        assert_eq!((o.engine.outbox[0].starts_ms, o.engine.outbox[0].ends_ms), (end(3), Some(end(7))));
        assert_eq!(o.clocks().closed_through_ms, Some(T0 + 8 * MINUTE_MS));
        assert_eq!(o.now(WALL), T0 + 9 * MINUTE_MS + 49_000, "the newest line's time, minute 9 still open");
        // Onset from closed minutes only: minute 3, its 50 attempts.
        assert_eq!(onset(&o, WALL), Some((T0 + 3 * MINUTE_MS, 50)));
        // No new line for the idle time: minute 9 is closed and the clock stands at its end.
        assert!(!o.evaluate(WALL + 4_999));
        assert_eq!(o.clocks().closed_through_ms, Some(T0 + 8 * MINUTE_MS));
        o.evaluate(WALL + 5_000);
        assert_eq!(o.clocks().closed_through_ms, Some(T0 + 9 * MINUTE_MS));
        assert_eq!(o.now(WALL + 5_000), end(9));
    }

    #[test]
    fn a_burst_at_the_end_stays_firing_and_a_raised_threshold_resolves_it_at_once() {
        let (c, mut o) = setup(20.0);
        let q = c.index_of(Q45011).unwrap();
        o.replay_idle_ms = 1_000;
        let burst: Vec<Event> = (0..30).map(|i| event(Kind::Error(q), T0 + 2 * MINUTE_MS + i * 1000)).collect();
        o.record(&[event(Kind::Attempt, T0)]);
        o.record(&burst);
        o.evaluate(WALL);
        o.evaluate(WALL + 1_000);
        assert_eq!(o.engine.alerts[0].state, State::Firing, "the data ends in the burst");
        let started = o.engine.alerts[0].active_at_ms;
        // SIGHUP with the threshold above the value: judged at once, at the same event time.
        o.reload(&c, &[rule(100.0)], Clock::Event).unwrap();
        assert!(o.evaluate(WALL + 2_000));
        assert_eq!(o.engine.alerts[0].state, State::Inactive);
        assert_eq!(o.engine.outbox[0].starts_ms, started.unwrap());
        assert_eq!(o.engine.outbox[0].ends_ms, Some(T0 + 3 * MINUTE_MS - 1));
    }

    #[test]
    fn calls_of_any_function_move_the_event_clock() {
        let (_, mut o) = setup(20.0);
        o.replay_idle_ms = i64::MAX;
        let call = |t: i64| Event {
            kind: Kind::Call,
            function: Some("orderPay".into()),
            version: Some("3".into()),
            ..event(Kind::Call, t)
        };
        o.record(&(0..5).map(|m| call(T0 + m * MINUTE_MS)).collect::<Vec<_>>());
        o.evaluate(WALL);
        assert_eq!(o.clocks().closed_through_ms, Some(T0 + 3 * MINUTE_MS), "minutes 0-3 closed, 4 still open");
        assert_eq!(o.windows.versions.get("orderPay").map(|f| f.slots[0].total.calls), Some(5));
    }

    #[test]
    fn onset_waits_for_its_minute_to_close() {
        let (c, mut o) = setup(20.0);
        let q = c.index_of(Q45011).unwrap();
        o.replay_idle_ms = i64::MAX;
        // Minute 0 is partial (the input starts in it); minute 1 has 45011 and fills up.
        o.record(&[event(Kind::Attempt, T0 + 30_000)]);
        o.record(&(0..35).map(|i| event(Kind::Attempt, T0 + MINUTE_MS + i * 1000)).collect::<Vec<_>>());
        o.record(&[event(Kind::Error(q), T0 + MINUTE_MS + 100)]);
        o.evaluate(WALL);
        assert_eq!(onset(&o, WALL), None, "minute 1 is still filling: its 35 attempts are not its rate");
        o.record(&(35..120).map(|i| event(Kind::Attempt, T0 + MINUTE_MS + i * 490)).collect::<Vec<_>>());
        o.record(&[event(Kind::Attempt, T0 + 2 * MINUTE_MS)]);
        o.evaluate(WALL);
        assert_eq!(onset(&o, WALL), Some((T0 + MINUTE_MS, 120)));
    }
}
