//! The windowed gauges of `/metrics`, set from a view (`crate::view`): the last complete minute's 45011
//! and login attempts, the 45011 peak, the onset and the partial minutes skipped for it, and which
//! alerts fire. The daemon (after each evaluation) and `check -o prometheus` both set them here, from a
//! view, so they cannot disagree; nothing here decides a number.

use crate::alerts::State;
use crate::metrics::Metrics;
use crate::view::View;

/// Sets every windowed gauge of `m` as `v` has it.
pub fn show(m: &Metrics, v: &View) {
    // A rule with several alerts (one per version) fires when any of them does.
    let mut firing: Vec<(&str, &str, bool)> = Vec::new();
    for a in &v.alerts {
        let on = a.state == State::Firing;
        match firing.iter_mut().find(|(n, s, _)| *n == a.alert && *s == a.severity) {
            Some(f) => f.2 |= on,
            None => firing.push((&a.alert, &a.severity, on)),
        }
    }
    for (alert, severity, on) in firing {
        m.alert_firing.with_label_values(&[alert, severity]).set(i64::from(on));
    }
    m.versions.show(&v.versions);
    if let Some(ms) = v.last_complete_ms {
        m.login_attempts_last_minute.set(v.attempts_in(ms) as i64);
    }
    if let Some((q, row)) = v.q45011() {
        if let Some((_, refused, _)) = v.last_complete(q) {
            m.q45011_last_minute.set(refused as i64);
        }
        m.q45011_peak_per_minute.set(row.peak.map_or(0, |k| k.count) as i64);
        if let Some(o) = row.onset {
            m.set_onset(o.attempts, o.start_ms);
        }
        m.onset_skipped_partial.set(row.skipped_partial.len() as i64);
    }
}
