//! The JSON the view is shown as: `/api/v1/rate/{id}`, `/api/v1/patterns`, `/api/v1/alerts` and the
//! `timeline` of `check -o json`. Formatting only: every number and every judgement (which minute is
//! partial or complete, the onset, the peak, an alert's state) is the view's (`crate::view`).

use serde_json::{Value, json};

use crate::alerts::format_value;
use crate::timefmt;
use crate::view::{Minute, PARTIAL_WHY, PatternRow, View, count};

/// One minute of pattern `p`; `with_ms` adds `start_ms` and `complete` (the API's form).
fn minute(m: &Minute, p: usize, with_ms: bool) -> Value {
    let mut v = json!({
        "start": timefmt::format_utc(m.start_ms),
        "count": count(m, p),
        "login_attempts": m.attempts,
        "partial": m.partial,
    });
    if with_ms {
        v["start_ms"] = m.start_ms.into();
        v["complete"] = m.complete.into();
    }
    v
}

/// The onset as the API and `check` report it: the first whole minute with the pattern, its login
/// attempts per minute (null, "unknown", when none was seen in that minute), and the partial minutes
/// skipped before it, with why.
pub fn onset(row: &PatternRow) -> Value {
    let skipped: Vec<Value> = row
        .skipped_partial
        .iter()
        .map(|&ms| json!({ "start": timefmt::format_utc(ms), "start_ms": ms, "why": PARTIAL_WHY }))
        .collect();
    match row.onset {
        Some(o) => json!({
            "start": timefmt::format_utc(o.start_ms),
            "start_ms": o.start_ms,
            "login_attempts_per_minute": o.attempts,
            "login_attempts_known": o.attempts.is_some(),
            "skipped_partial_minutes": skipped,
        }),
        None if !skipped.is_empty() => json!({ "start": null, "skipped_partial_minutes": skipped }),
        None => Value::Null,
    }
}

/// Whether pattern `p` is 45011, the one the load figures (bracket, first refusal) are about.
fn is_q45011(view: &View, p: usize) -> bool {
    view.q45011().is_some_and(|(q, _)| q == p)
}

/// `onset` for pattern `p`; for 45011 also its `bracket` (`clean_max`, `failing_min`), and `known`:
/// with a refusal seen but no whole minute with it, the onset is an object with `start` null.
fn onset_of(view: &View, p: usize, row: &PatternRow) -> Value {
    let mut v = onset(row);
    if !is_q45011(view, p) {
        return v;
    }
    if v.is_null() {
        v = json!({ "start": null, "skipped_partial_minutes": [] });
    }
    v["known"] = row.onset.is_some().into();
    let b = view.load.bracket;
    v["bracket"] = json!({ "clean_max": b.clean_max, "failing_min": b.failing_min });
    v
}

/// 45011's first refusal: `time` (RFC 3339), `time_ms`, `attempts_last_60s` (login attempts whose call
/// time t satisfies first − 60 s < t ≤ first); null for other patterns or before any refusal.
fn first_refusal(view: &View, p: usize) -> Value {
    match view.load.first_refusal.filter(|_| is_q45011(view, p)) {
        Some(f) => json!({
            "time": timefmt::format_utc(f.time_ms),
            "time_ms": f.time_ms,
            "attempts_last_60s": f.attempts_last_60s,
        }),
        None => Value::Null,
    }
}

/// `GET /api/v1/rate/{id}`: the per-minute history with login attempts, and the onset.
pub fn rate(view: &View, id: &str) -> Option<Value> {
    let (p, row) = view.pattern(id)?;
    let minutes: Vec<Value> = view.minutes.iter().map(|m| minute(m, p, true)).collect();
    Some(json!({
        "status": "success",
        "data": {
            "pattern": id,
            "minute_seconds": 60,
            "counts": "calls per minute by each call's own time (a line outside any call counts once)",
            "minutes": minutes,
            "last_complete_minute": view.last_complete_ms.map(timefmt::format_utc),
            "onset": onset_of(view, p, row),
            "first_refusal": first_refusal(view, p),
            "late_lines": view.late_lines,
        }
    }))
}

/// `check -o json`'s `timeline`: every minute of pattern `p`, the onset and the peak.
pub fn timeline(view: &View, p: usize) -> Value {
    let Some(row) = view.patterns.get(p) else { return Value::Null };
    json!({
        "pattern": row.facts.id,
        "minutes": view.minutes.iter().map(|m| minute(m, p, false)).collect::<Vec<_>>(),
        "onset": onset_of(view, p, row),
        "first_refusal": first_refusal(view, p),
        "peak_per_minute": row.peak.map_or(0, |k| k.count),
    })
}

/// `GET /api/v1/patterns`: per pattern the count, last time seen, fix and a redacted sample line.
pub fn patterns(view: &View) -> Value {
    let list: Vec<Value> = view
        .patterns
        .iter()
        .map(|r| {
            let p = &r.facts;
            json!({
                "id": p.id, "title": p.title, "severity": p.severity.as_str(), "count": p.count,
                "last_seen": p.last_seen_ms.map(timefmt::format_utc), "fix": p.fix_summary, "sample": p.sample,
            })
        })
        .collect();
    json!({ "status": "success", "data": list })
}

/// `GET /api/v1/versions`: per function version, figures and comparisons (`crate::version_outputs`).
pub fn versions(view: &View) -> Value {
    json!({ "status": "success", "data": crate::version_outputs::api_data(&view.versions) })
}

/// `GET /api/v1/alerts`, shaped like Prometheus' (pending and firing alerts only).
pub fn alerts(view: &View) -> Value {
    let alerts: Vec<Value> = view
        .active_alerts()
        .map(|a| {
            let mut labels = json!({ "alertname": a.alert, "severity": a.severity });
            for (k, v) in &a.labels {
                labels[k] = json!(v);
            }
            json!({
                "labels": labels,
                "annotations": { "summary": a.summary, "fix": a.fix, "value": format_value(a.value) },
                "state": a.state,
                "activeAt": a.active_at_ms.map(timefmt::format_utc),
                "value": format_value(a.value),
            })
        })
        .collect();
    json!({ "status": "success", "data": { "alerts": alerts } })
}
