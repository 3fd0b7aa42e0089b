//! Replays: `close_minute` evaluates the rules at the last millisecond of a minute that is complete;
//! the daemon's event clock calls it for every minute the newest line's time passes, in order, and
//! `replay_transitions` does the same over a finished history (for `check`), so both tell the same
//! story: every transition stamped with the event time of the minute that caused it.

use crate::patterns::Catalogue;
use crate::window::{MINUTE_MS, Windows};

use super::engine::Engine;
use super::rules::{RuleConfig, RuleError};
use super::state::Transition;

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
