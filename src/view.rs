//! The read model: every number a user reads, decided once. `/metrics`' windowed gauges, every
//! `/api/v1/*` answer, the status page, every `check` output (table, json, prometheus, timeline) and
//! the report format a `View`; none of them counts, judges a minute complete, or picks an onset or a
//! peak by itself.
//!
//! Semantics, all at one time (`at_ms`: the evaluation time of the daemon, or the end of `check`):
//! - **per-id counts**: failed calls (and, in `check`, recognised lines), first and last seen, the last
//!   redacted sample: as the sink that saw the Events counted them.
//! - **minutes**: every minute from the first with data to the newest, empty ones included, each with
//!   its count per id and its login attempts, and two flags. `partial`: cut by the start or the end of an input
//!   (`PARTIAL_WHY`), never the onset. `complete`: no longer filling. Completeness is the state's
//!   word (`complete_before`): with the wall clock, minutes before the current one; with the event
//!   clock, the minutes closed (the newest too once the input has been idle); after `check`, every
//!   minute (the input has ended).
//! - **the last complete minute**: the one just before `complete_before` (so with the wall clock the
//!   previous wall minute, data or not), or the newest minute when every minute is complete.
//! - **onset** per id: the first complete, whole (not partial) minute with the id, and the login
//!   attempts in it (0: none seen, "unknown"); minutes aged out of the ring keep their onset.
//!   `skipped_partial`: the partial minutes with the id before it (or all, with no onset yet).
//! - **peak** per id: the minute with the most of it (the earliest of equals), complete or not.
//! - **alert rows**: every rule and where it stands; for `check`, the episodes a minute-by-minute
//!   replay would have gone through (`episodes`). A rule with several alerts (`RolloutVersionWorse`:
//!   one per function and version) has a row per alert, told apart by `labels`.
//! - **versions**: per function and version, calls, failed calls, ratio, share, first and last seen,
//!   and each version compared with its function's baseline at `at_ms` (`crate::versions::rows`),
//!   with the test of the first `version_worse` rule (the defaults where there is none, as in `check`).
//!
//! - **load** (45011): the onset's bracket and the first refusal (`onset`, where they are defined).
//!
//! Room for more: a figure another issue adds (an onset bracket, the first refusal, per-version
//! counts) is a field here, filled in `build`, and one line in each output.

pub mod onset;

use crate::alerts::{Alert, State, Transition};
use crate::patterns::Severity;
use crate::window::{MINUTE_MS, Windows};

/// Why a minute is partial, as every output says it.
pub const PARTIAL_WHY: &str = "partial minute: cut by the start or the end of an input (an export, or the daemon's first minute), so its rate is not known";

/// What the sink knows of one pattern id (the catalogue's words and its own counts).
#[derive(Debug, Clone, PartialEq)]
pub struct PatternFacts {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub fix_summary: String,
    /// Failed calls (a line outside any call counts once).
    pub count: u64,
    /// Every line recognised as this id, when the sink counts lines (`check`).
    pub lines: Option<u64>,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    /// Redacted.
    pub sample: Option<String>,
}

/// The first whole, complete minute with an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Onset {
    pub start_ms: i64,
    /// Login attempts in that minute; None when none was seen in it (the rate is unknown).
    pub attempts: Option<u64>,
    /// Calls of the id in that minute, when the minute is still in the ring.
    pub count: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peak {
    pub start_ms: i64,
    pub count: u64,
    pub attempts: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatternRow {
    pub facts: PatternFacts,
    pub onset: Option<Onset>,
    /// Starts of the partial minutes with this id before its onset (all of them, with no onset).
    pub skipped_partial: Vec<i64>,
    pub peak: Option<Peak>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minute {
    pub start_ms: i64,
    /// Per pattern index.
    pub counts: Vec<u64>,
    pub attempts: u64,
    pub partial: bool,
    pub complete: bool,
}

/// One rule and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub alert: String,
    pub severity: String,
    pub pattern: String,
    pub state: State,
    pub value: f64,
    pub active_at_ms: Option<i64>,
    pub summary: String,
    pub fix: String,
    /// Labels besides alertname and severity.
    pub labels: Vec<(String, String)>,
}

/// One stretch of an alert from pending or firing to resolved, in a replay of a finished input.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub alert: String,
    pub severity: String,
    pub pattern: String,
    pub pending_ms: Option<i64>,
    pub firing_ms: Option<i64>,
    pub value_at_firing: f64,
    pub resolved_ms: Option<i64>,
    /// Resolved after the input's last minute ended, when the clock ran on with no new data.
    pub resolved_after_input: bool,
    /// The alert's labels besides alertname and severity.
    pub labels: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct View {
    /// The time the view was computed at (evaluation time).
    pub at_ms: i64,
    pub patterns: Vec<PatternRow>,
    pub minutes: Vec<Minute>,
    /// Start of the last complete minute (None: no minute yet).
    pub last_complete_ms: Option<i64>,
    /// Start of the first minute still filling (None: every minute is complete).
    pub running_ms: Option<i64>,
    /// The peak of login attempts per minute.
    pub peak_attempts: Option<Peak>,
    pub alerts: Vec<AlertRow>,
    /// `check`: what a replay of the input would have fired.
    pub episodes: Vec<Episode>,
    /// Errors and attempts older than the ring, counted in no minute.
    pub late_lines: u64,
    /// How many minutes the ring keeps.
    pub retention_minutes: usize,
    /// 45011's bracket and first refusal (`onset`).
    pub load: onset::Load,
    /// Per function version: figures and comparisons.
    pub versions: crate::versions::rows::VersionsView,
}

/// What a view is built from.
pub struct Inputs<'a> {
    pub at_ms: i64,
    pub patterns: Vec<PatternFacts>,
    pub windows: &'a Windows,
    pub alerts: &'a [Alert],
    /// Minutes starting at or after this one are still filling (None: all are complete).
    pub complete_before_ms: Option<i64>,
    /// `check`: the transitions of a replay of the whole input (`alerts::replay_transitions`).
    pub transitions: &'a [Transition],
    /// The sink's first refusal: (time of the first 45011 call, login attempts in the 60 s up to it).
    pub first_refusal: Option<(i64, u64)>,
}

impl View {
    pub fn build(i: Inputs<'_>) -> View {
        let w = i.windows;
        let running = i.complete_before_ms.map(|t| t.div_euclid(MINUTE_MS) * MINUTE_MS);
        let minutes: Vec<Minute> = w
            .minutes()
            .into_iter()
            .map(|m| Minute {
                complete: running.is_none_or(|r| m.start_ms < r),
                start_ms: m.start_ms,
                counts: m.counts,
                attempts: m.attempts,
                partial: m.partial,
            })
            .collect();
        let newest = minutes.last().map(|m| m.start_ms);
        let last_complete_ms = match running {
            Some(r) => Some(r - MINUTE_MS),
            None => newest,
        };
        let ids: Vec<String> = i.patterns.iter().map(|p| p.id.clone()).collect();
        let patterns: Vec<PatternRow> = i
            .patterns
            .into_iter()
            .enumerate()
            .map(|(p, facts)| {
                let onset = w.onset_before(p, running).map(|(start_ms, attempts)| Onset {
                    start_ms,
                    attempts: (attempts > 0).then_some(attempts),
                    count: minutes.iter().find(|m| m.start_ms == start_ms).map(|m| count(m, p)),
                });
                let peak = minutes
                    .iter()
                    .filter(|m| count(m, p) > 0)
                    .max_by_key(|m| (count(m, p), -m.start_ms))
                    .map(|m| Peak { start_ms: m.start_ms, count: count(m, p), attempts: m.attempts });
                PatternRow { facts, skipped_partial: w.skipped_partial_before(p, running), onset, peak }
            })
            .collect();
        let peak_attempts = minutes.iter().max_by_key(|m| (m.attempts, -m.start_ms)).map(|m| Peak {
            start_ms: m.start_ms,
            count: m.attempts,
            attempts: m.attempts,
        });
        let alerts = i
            .alerts
            .iter()
            .map(|a| AlertRow {
                alert: a.rule.alert.clone(),
                severity: a.rule.severity.clone(),
                pattern: a.rule.pattern.clone(),
                state: a.state,
                value: a.value,
                active_at_ms: a.active_at_ms,
                summary: a.summary.clone(),
                fix: a.fix.clone(),
                labels: a.labels.clone(),
            })
            .collect();
        let test = i
            .alerts
            .iter()
            .find(|a| a.rule.measure == crate::alerts::Measure::VersionWorse)
            .map(|a| a.rule.version_test())
            .unwrap_or_default();
        let versions = crate::versions::rows::VersionsView::build(&w.versions, &ids, i.at_ms, test);
        let input_end = w.watermark_ms().map(crate::alerts::minute_end);
        let q = patterns.iter().position(|r: &PatternRow| r.facts.id == crate::observe::Q45011);
        let facts: Option<Vec<onset::MinuteFacts>> = q.map(|q| {
            (minutes.iter())
                .map(|m| onset::MinuteFacts {
                    start_ms: m.start_ms,
                    whole: m.complete && !m.partial,
                    refused: count(m, q),
                    attempts: m.attempts,
                })
                .collect()
        });
        let onset_ms = q.and_then(|q| patterns[q].onset).map(|o| o.start_ms);
        let load = onset::Load::build(facts.as_deref(), onset_ms, i.first_refusal);
        View {
            load,
            at_ms: i.at_ms,
            patterns,
            running_ms: running,
            last_complete_ms,
            peak_attempts,
            alerts,
            episodes: episodes(i.transitions, input_end),
            late_lines: w.late(),
            retention_minutes: w.retention_minutes(),
            minutes,
            versions,
        }
    }

    /// The index and row of a pattern id.
    pub fn pattern(&self, id: &str) -> Option<(usize, &PatternRow)> {
        self.patterns.iter().enumerate().find(|(_, p)| p.facts.id == id)
    }

    /// The 45011 row (the load figures: onset, peak, last minute).
    pub fn q45011(&self) -> Option<(usize, &PatternRow)> {
        self.pattern(crate::observe::Q45011)
    }

    /// Calls of pattern `p` and login attempts in the minute starting at `start_ms` (0 when empty).
    pub fn in_minute(&self, p: usize, start_ms: i64) -> (u64, u64) {
        match self.minutes.binary_search_by_key(&start_ms, |m| m.start_ms) {
            Ok(i) => (count(&self.minutes[i], p), self.minutes[i].attempts),
            Err(_) => (0, 0),
        }
    }

    /// Login attempts in the minute starting at `start_ms`.
    pub fn attempts_in(&self, start_ms: i64) -> u64 {
        self.minutes.binary_search_by_key(&start_ms, |m| m.start_ms).map_or(0, |i| self.minutes[i].attempts)
    }

    /// Calls of pattern `p` and login attempts in the last complete minute.
    pub fn last_complete(&self, p: usize) -> Option<(i64, u64, u64)> {
        self.last_complete_ms.map(|ms| {
            let (c, a) = self.in_minute(p, ms);
            (ms, c, a)
        })
    }

    /// The complete minutes (the ones a chart draws).
    pub fn complete_minutes(&self) -> impl Iterator<Item = &Minute> {
        self.minutes.iter().filter(|m| m.complete)
    }

    /// Rules pending or firing.
    pub fn active_alerts(&self) -> impl Iterator<Item = &AlertRow> {
        self.alerts.iter().filter(|a| a.state != State::Inactive)
    }

    /// Failed calls of every id.
    pub fn failed_calls(&self) -> u64 {
        self.patterns.iter().map(|p| p.facts.count).sum()
    }

    /// 45011's onset, bracket and first refusal in words (HTML): the status page and the report.
    pub fn onset_sentence_html(&self) -> String {
        let (onset, skipped) = self.q45011().map_or((None, &[][..]), |(_, r)| (r.onset, &r.skipped_partial[..]));
        onset::sentence_html(onset.map(|o| (o.start_ms, o.attempts)), skipped, &self.load)
    }

    /// Lines recognised as any id (when the sink counts lines).
    pub fn recognised_lines(&self) -> u64 {
        self.patterns.iter().filter_map(|p| p.facts.lines).sum()
    }
}

/// Calls of pattern `p` in minute `m`.
pub fn count(m: &Minute, p: usize) -> u64 {
    m.counts.get(p).copied().unwrap_or(0)
}

/// Transitions (`alerts::replay_transitions`) grouped per alert into episodes, in the order they
/// began; a resolution later than `input_end_ms` (the end of the input's last minute) came after the
/// input ended, when the clock ran on so that quiet conditions resolve.
pub fn episodes(transitions: &[Transition], input_end_ms: Option<i64>) -> Vec<Episode> {
    let mut open: Vec<Episode> = Vec::new();
    let mut done = Vec::new();
    for t in transitions {
        let i = match open.iter().position(|e| e.alert == t.alert && e.labels == t.labels) {
            Some(i) => i,
            None => {
                open.push(Episode {
                    alert: t.alert.clone(),
                    severity: t.severity.clone(),
                    pattern: t.pattern.clone(),
                    pending_ms: None,
                    firing_ms: None,
                    value_at_firing: 0.0,
                    resolved_ms: None,
                    resolved_after_input: false,
                    labels: t.labels.clone(),
                });
                open.len() - 1
            }
        };
        let e = &mut open[i];
        match t.to {
            State::Pending => e.pending_ms = Some(t.at_ms),
            State::Firing => (e.firing_ms, e.value_at_firing) = (Some(t.at_ms), t.value),
            State::Inactive => {
                e.resolved_ms = Some(t.at_ms);
                e.resolved_after_input = input_end_ms.is_some_and(|end| t.at_ms > end);
                done.push(open.remove(i));
            }
        }
    }
    done.extend(open);
    done.sort_by_key(|e| (e.pending_ms.or(e.firing_ms), e.alert.clone()));
    done
}

/// Where the daemon's minutes still filling begin at wall time `wall_ms` (None: every minute is
/// complete): the one rule of completeness. With the wall clock, the current minute; with the event
/// clock, the first minute not closed yet (the newest Event's own minute before any is closed).
///
/// With sources of batches (late by up to their shipping interval) the state closes a minute only
/// once the batch watermark has passed it (`Observed::watermark_ms`), and before any minute is closed
/// none is complete: a minute still waiting for its batch is never complete, so never an onset.
pub fn complete_before(o: &crate::observe::Observed, wall_ms: i64) -> Option<i64> {
    let c = o.clocks();
    match o.clock {
        _ if o.has_batches() => c.closed_through_ms.map(|c| c + MINUTE_MS).or(o.windows.first_minute_ms()),
        crate::observe::Clock::Wall => Some(wall_ms),
        crate::observe::Clock::Event => c.closed_through_ms.map(|c| c + MINUTE_MS).or(c.newest_event_ms),
    }
}

impl View {
    /// The daemon's view: the state's windows, alerts and per-id counts at wall time `wall_ms`, with
    /// the minutes the state says are still filling left incomplete.
    pub fn of_state(o: &crate::observe::Observed, wall_ms: i64) -> View {
        View::build(Inputs {
            at_ms: o.now(wall_ms),
            patterns: o
                .patterns
                .iter()
                .map(|p| PatternFacts {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    severity: p.severity,
                    fix_summary: p.fix_summary.clone(),
                    count: p.count,
                    lines: None,
                    first_seen_ms: None,
                    last_seen_ms: p.last_seen_ms,
                    sample: p.sample.clone(),
                })
                .collect(),
            windows: &o.windows,
            alerts: &o.engine.alerts,
            complete_before_ms: complete_before(o, wall_ms),
            transitions: &[],
            first_refusal: o.refusals.first(),
        })
    }
}

impl View {
    /// `check`'s view: the tally of every input, read to its end, so every minute is complete;
    /// `transitions` is the replay of the whole input (`alerts::replay_transitions`, for the report).
    pub fn of_tally(
        t: &crate::tally::Tally,
        catalogue: &crate::patterns::Catalogue,
        transitions: &[Transition],
        at_ms: i64,
    ) -> View {
        let patterns = catalogue
            .patterns()
            .iter()
            .zip(&t.per_pattern)
            .zip(&t.samples)
            .map(|((p, c), sample)| PatternFacts {
                id: p.id.clone(),
                title: p.title.clone(),
                severity: p.severity,
                fix_summary: p.fix_summary.clone(),
                count: c.count,
                lines: Some(c.lines),
                first_seen_ms: c.first_ms,
                last_seen_ms: c.last_ms,
                sample: sample.as_ref().map(|l| crate::redact::redact(&String::from_utf8_lossy(l))),
            })
            .collect();
        View::build(Inputs {
            at_ms,
            patterns,
            windows: &t.windows,
            alerts: &[],
            complete_before_ms: None,
            transitions,
            first_refusal: t.refusals.first(),
        })
    }
}

/// The view the daemon published last. The tailer thread swaps in a whole new one after each
/// evaluation; a reader (an HTTP request) takes the `Arc` under a lock held only for that swap or take,
/// never while a page is rendered, and never copies the state. (A `Mutex<Arc<_>>` does what the
/// `arc-swap` crate would, at one swap per poll.)
#[derive(Clone, Default)]
pub struct Published(std::sync::Arc<std::sync::Mutex<std::sync::Arc<View>>>);

impl Published {
    pub fn publish(&self, view: View) {
        let view = std::sync::Arc::new(view);
        match self.0.lock() {
            Ok(mut slot) => *slot = view,
            // A reader panicked while holding the lock for a clone: the slot is still sound.
            Err(poisoned) => *poisoned.into_inner() = view,
        }
    }

    pub fn get(&self) -> std::sync::Arc<View> {
        match self.0.lock() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}
