//! History that survives restarts: the minute windows, onset, peak, per-pattern counts, alert states
//! and the Alertmanager outbox, saved beside the checkpoints as versioned JSON (temporary file, fsync,
//! rename, directory fsync; skipped when unchanged) and restored at start.
//!
//! Contract — what holds after any restart, graceful or kill -9:
//! - The history is written right after the checkpoint it goes with, at the same point of the
//!   tailer thread (no Event in between), and names that checkpoint by a hash of its bytes. At start it
//!   is restored only if the checkpoint on disk is that one. The restarted daemon reads on from the
//!   checkpoint's offsets, so every line is in the restored windows exactly once: the lines before the
//!   offsets come from the history, the lines after from the files. Lines read after the last
//!   checkpoint (kill -9) are read again, never counted twice.
//! - If the two disagree (a crash between the two renames, a history write that failed, a checkpoint
//!   removed by hand), or the file is unreadable, not JSON or of another version, the daemon starts
//!   without history (logged, `authwatch_history_load_failures_total`); a corrupt file is moved aside
//!   for inspection. Never a crash, never a double count.
//! - Bounded by `limits.retention_minutes`: the file holds at most the ring (and the outbox's cap).
//! - Patterns and rules are matched by id and alert name, so a changed catalogue or rule set at
//!   restart keeps what still applies.
//!
//! Known limit: a file resumed from its checkpoint is an input that may be cut at its start (the
//! follower cannot tell), so if its first unread line opens a new minute with nothing earlier restored
//! in it, that minute is marked partial (kept out of the onset) where an uninterrupted run would not.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::alerts::{Episode, State};
use crate::observe::{Clocks, Observed};
use crate::window::{Windows, WindowsState};

pub const VERSION: u32 = 1;
pub const FILE_NAME: &str = "history.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternState {
    pub id: String,
    pub count: u64,
    pub last_seen_ms: Option<i64>,
    /// Already redacted.
    pub sample: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertState {
    pub alert: String,
    pub pattern: String,
    pub state: State,
    pub active_at_ms: Option<i64>,
    pub clearing_since_ms: Option<i64>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub version: u32,
    /// FNV-1a (hex) of the checkpoint file's bytes this history goes with; None: there was none.
    pub checkpoint: Option<String>,
    /// Pattern ids in the order the windows number them.
    pub patterns: Vec<PatternState>,
    pub windows: WindowsState,
    pub newest_event_ms: Option<i64>,
    pub closed_through_ms: Option<i64>,
    pub alerts: Vec<AlertState>,
    pub outbox: Vec<Episode>,
    /// The first 45011 call (absent in older history files).
    #[serde(default)]
    pub first_refusal_ms: Option<i64>,
    /// The login attempts in the 60 s up to it.
    #[serde(default)]
    pub refusal_attempts_ms: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not a history file: {source}")]
    Corrupt { path: String, source: serde_json::Error },
    #[error("{path}: history version {found}, this authwatch reads version {VERSION}")]
    Version { path: String, found: u32 },
    #[error("{path}: not a history file: {what} out of range")]
    Invalid { path: String, what: &'static str },
    #[error(
        "{path}: written with another checkpoint than the one in the state directory (a crash between the two writes, or a checkpoint replaced)"
    )]
    Mismatch { path: String },
}

impl HistoryError {
    /// Worth keeping aside for inspection (the file itself is bad, not merely out of step).
    pub fn is_bad_file(&self) -> bool {
        matches!(self, HistoryError::Corrupt { .. } | HistoryError::Version { .. } | HistoryError::Invalid { .. })
    }
}

pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// FNV-1a 64 of a checkpoint file's bytes, hex.
pub fn checkpoint_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// What `Observed` holds now, as a history going with the checkpoint `checkpoint` (its bytes).
pub fn snapshot(o: &Observed, checkpoint: Option<&[u8]>) -> History {
    let clocks = o.clocks();
    History {
        version: VERSION,
        checkpoint: checkpoint.map(checkpoint_hash),
        patterns: o
            .patterns
            .iter()
            .map(|p| PatternState {
                id: p.id.clone(),
                count: p.count,
                last_seen_ms: p.last_seen_ms,
                sample: p.sample.clone(),
            })
            .collect(),
        windows: o.windows.state(),
        newest_event_ms: clocks.newest_event_ms,
        closed_through_ms: clocks.closed_through_ms,
        alerts: o
            .engine
            .alerts
            .iter()
            // A version alert (one of a rule's, per function version) is not saved: the per-version
            // figures it is judged on are not either, so it begins anew after a restart.
            .filter(|a| a.key.is_empty())
            .map(|a| AlertState {
                alert: a.rule.alert.clone(),
                pattern: a.rule.pattern.clone(),
                state: a.state,
                active_at_ms: a.active_at_ms,
                clearing_since_ms: a.clearing_since_ms,
                value: a.value,
            })
            .collect(),
        outbox: o.engine.outbox.clone(),
        first_refusal_ms: o.refusals.state().0,
        refusal_attempts_ms: o.refusals.state().1,
    }
}

/// Puts a loaded history into a fresh `Observed` (patterns by id, alerts by name and pattern).
pub fn apply(h: &History, o: &mut Observed) {
    let retention = o.windows.retention_minutes();
    let mut windows = Windows::from_state(&h.windows, h.patterns.len(), retention);
    let map: Vec<Option<usize>> = o.patterns.iter().map(|p| h.patterns.iter().position(|s| s.id == p.id)).collect();
    windows.remap(&map);
    if o.clock == crate::observe::Clock::Event {
        windows.inputs_end();
    }
    o.windows = windows;
    for (p, old) in o.patterns.iter_mut().zip(&map) {
        if let Some(s) = old.map(|i| &h.patterns[i]) {
            (p.count, p.last_seen_ms, p.sample) = (s.count, s.last_seen_ms, s.sample.clone());
        }
    }
    for a in &mut o.engine.alerts {
        if let Some(s) = h.alerts.iter().find(|s| s.alert == a.rule.alert && s.pattern == a.rule.pattern) {
            a.state = s.state;
            a.active_at_ms = s.active_at_ms;
            a.clearing_since_ms = s.clearing_since_ms;
            a.value = if s.value.is_finite() { s.value } else { 0.0 };
        }
    }
    let names: Vec<String> = o.engine.alerts.iter().map(|a| a.rule.alert.clone()).collect();
    o.engine.outbox = h.outbox.iter().filter(|e| names.contains(&e.alert) && e.key.is_empty()).cloned().collect();
    o.refusals = crate::refusal::Refusals::from_state(
        h.first_refusal_ms,
        &h.refusal_attempts_ms,
        Some(crate::observe::REFUSAL_HORIZON_MS),
    );
    o.restore_clocks(&Clocks { newest_event_ms: h.newest_event_ms, closed_through_ms: h.closed_through_ms });
}

/// The history in `state_dir` if there is one and it goes with the checkpoint whose bytes are given.
pub fn load(state_dir: &Path, checkpoint: Option<&[u8]>) -> Result<Option<History>, HistoryError> {
    let path = path_in(state_dir);
    let shown = path.display().to_string();
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(HistoryError::Io { path: shown, source }),
    };
    // The version first, so a future file is named as such rather than as corrupt.
    #[derive(Deserialize)]
    struct Versioned {
        version: u32,
    }
    let v: Versioned =
        serde_json::from_slice(&bytes).map_err(|source| HistoryError::Corrupt { path: shown.clone(), source })?;
    if v.version != VERSION {
        return Err(HistoryError::Version { path: shown, found: v.version });
    }
    let h: History =
        serde_json::from_slice(&bytes).map_err(|source| HistoryError::Corrupt { path: shown.clone(), source })?;
    if let Some(what) = out_of_range(&h) {
        return Err(HistoryError::Invalid { path: shown, what });
    }
    if h.checkpoint != checkpoint.map(checkpoint_hash) {
        return Err(HistoryError::Mismatch { path: shown });
    }
    Ok(Some(h))
}

/// Times the daemon does arithmetic on must be plausible (within about ±35,000 years of 1970), so a
/// damaged or hand-edited file cannot make it overflow.
fn out_of_range(h: &History) -> Option<&'static str> {
    const MS: i64 = 1 << 50;
    const MIN: i64 = MS / 60_000;
    let far = |t: i64, limit: i64| !(-limit..limit).contains(&t);
    let ms = |t: &Option<i64>| t.is_some_and(|t| far(t, MS));
    let w = &h.windows;
    if w.watermark.is_some_and(|m| far(m, MIN)) || w.slots.iter().any(|s| far(s.minute, MIN)) {
        return Some("a minute");
    }
    if w.frozen_onsets.iter().any(|(_, m, _)| far(*m, MIN)) || w.starts.iter().any(|t| far(*t, MS)) {
        return Some("an onset or input start");
    }
    if ms(&h.newest_event_ms) || ms(&h.closed_through_ms) {
        return Some("the event clock");
    }
    if h.alerts.iter().any(|a| ms(&a.active_at_ms) || ms(&a.clearing_since_ms))
        || h.outbox.iter().any(|e| far(e.starts_ms, MS) || ms(&e.ends_ms) || ms(&e.firing_sent_ms))
    {
        return Some("an alert time");
    }
    None
}

/// Moves a bad history file aside (`history.corrupt-<unix secs>`); the new path if it could.
pub fn move_aside(state_dir: &Path, now_secs: u64) -> Option<PathBuf> {
    let path = path_in(state_dir);
    let aside = path.with_extension(format!("corrupt-{now_secs}"));
    fs::rename(&path, &aside).ok().map(|()| aside)
}

/// Writes histories, skipping one identical to the last written.
#[derive(Debug, Default)]
pub struct Saver {
    last: Option<Vec<u8>>,
}

impl Saver {
    /// Ok(true) when written.
    pub fn save(&mut self, state_dir: &Path, h: &History) -> io::Result<bool> {
        let bytes = serde_json::to_vec(h).map_err(io::Error::other)?;
        if self.last.as_deref() == Some(&bytes[..]) {
            return Ok(false);
        }
        crate::statefile::write_atomic_bytes(&path_in(state_dir), &bytes)?;
        self.last = Some(bytes);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{Measure, RuleConfig};
    use crate::config::Clock;
    use crate::patterns::Catalogue;

    fn observed() -> (Catalogue, Observed) {
        let c = Catalogue::builtin().unwrap();
        let rule = RuleConfig {
            alert: "Q".into(),
            pattern: "wx_45011_minute_quota".into(),
            measure: Measure::PerMinute,
            threshold: 1.0,
            window_secs: 300,
            for_secs: 0,
            keep_firing_for_secs: 60,
            severity: "warning".into(),
            min_calls: None,
        };
        let o = Observed::new(&c, 60, &[rule], Clock::Event).unwrap();
        (c, o)
    }

    #[test]
    fn saved_and_restored_with_its_checkpoint_only() {
        let dir = tempfile::tempdir().unwrap();
        let (c, mut o) = observed();
        let q = c.index_of("wx_45011_minute_quota").unwrap();
        o.windows.add(q, 1_741_914_000_000);
        o.windows.add_attempt(1_741_914_000_000);
        o.patterns[q].count = 1;
        o.engine.alerts[0].state = State::Firing;
        o.engine.alerts[0].active_at_ms = Some(1_741_914_059_999);
        let h = snapshot(&o, Some(b"cp1"));
        let mut saver = Saver::default();
        assert!(saver.save(dir.path(), &h).unwrap());
        assert!(!saver.save(dir.path(), &h).unwrap(), "unchanged: not written again");
        assert!(!dir.path().join(".history.json.tmp").exists());
        let loaded = load(dir.path(), Some(b"cp1")).unwrap().unwrap();
        assert_eq!(loaded, h);
        let (_, mut fresh) = observed();
        apply(&loaded, &mut fresh);
        assert_eq!(fresh.windows.history(q), o.windows.history(q));
        assert_eq!((fresh.patterns[q].count, fresh.engine.alerts[0].state), (1, State::Firing));
        assert_eq!(fresh.engine.alerts[0].active_at_ms, Some(1_741_914_059_999));
        // Another checkpoint (or none): not restored.
        assert!(matches!(load(dir.path(), Some(b"cp2")), Err(HistoryError::Mismatch { .. })));
        assert!(matches!(load(dir.path(), None), Err(HistoryError::Mismatch { .. })));
    }

    #[test]
    fn a_version_alert_is_not_saved_and_its_rule_restores_quiet() {
        let c = Catalogue::builtin().unwrap();
        let mut o = Observed::new(&c, 60, &[crate::alerts::rollout_rule()], Clock::Event).unwrap();
        let q = c.index_of("wx_45011_minute_quota").unwrap();
        let t = 1_741_914_000_000;
        for i in 0..2000 {
            let (v, fails) = if i % 4 == 0 { ("8", i % 8 == 0) } else { ("7", i % 100 == 1) };
            o.windows.versions.add_call(Some("f"), v, t + i);
            if fails {
                o.windows.versions.add_failure(Some("f"), v, q, true, t + i);
            }
        }
        o.engine.evaluate(t + 59_999, &o.windows);
        assert!(o.engine.alerts.iter().any(|a| !a.key.is_empty() && a.state == State::Firing), "{:?}", o.engine.alerts);
        let h = snapshot(&o, None);
        assert_eq!(h.alerts.len(), 1, "the rule's own row only");
        let mut fresh = Observed::new(&c, 60, &[crate::alerts::rollout_rule()], Clock::Event).unwrap();
        apply(&h, &mut fresh);
        assert_eq!(fresh.engine.alerts.len(), 1);
        assert_eq!(fresh.engine.alerts[0].state, State::Inactive);
        assert!(fresh.engine.outbox.is_empty());
    }

    #[test]
    fn bad_files_are_refused_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), None).unwrap().is_none());
        let p = path_in(dir.path());
        fs::write(&p, b"\x00garbage").unwrap();
        let e = load(dir.path(), None).unwrap_err();
        assert!(matches!(e, HistoryError::Corrupt { .. }) && e.is_bad_file());
        fs::write(&p, br#"{"version": 99, "anything": true}"#).unwrap();
        assert!(matches!(load(dir.path(), None), Err(HistoryError::Version { found: 99, .. })));
        fs::write(&p, br#"{"version": 1, "checkpoint": null}"#).unwrap();
        assert!(matches!(load(dir.path(), None), Err(HistoryError::Corrupt { .. })));
        let mut h = snapshot(&observed().1, None);
        h.newest_event_ms = Some(i64::MIN);
        fs::write(&p, serde_json::to_vec(&h).unwrap()).unwrap();
        assert!(matches!(load(dir.path(), None), Err(HistoryError::Invalid { what: "the event clock", .. })));
        let aside = move_aside(dir.path(), 7).unwrap();
        assert!(aside.ends_with("history.corrupt-7") && !p.exists());
    }
}
