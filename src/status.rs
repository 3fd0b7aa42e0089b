//! The status page at `/`: for someone watching a load test without Grafana. Server-rendered HTML with
//! the chart of 45011 per minute against login attempts (`crate::chart`, the same as `check --report`'s;
//! complete minutes only, onset marked and stated in words), the ids with counts, last seen, fix and the
//! last message that showed each (redacted when it was recorded: a CLS record's `SCF_Message`, a
//! real-time item's joined entries), and the alerts that fire. No scripts, no external assets; it fits
//! a 1280 px window without scrolling sideways (long messages wrap) and refreshes itself every 10 s.

use std::fmt::Write;

use crate::alerts::State;
use crate::chart::{Chart, Minute, hhmm};
use crate::timefmt;
use crate::view::{View, count};

/// At most this many minutes are drawn (the newest): a day, the default retention.
const CHART_MINUTES: usize = 24 * 60;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The onset and peak in words, then the chart of complete minutes (the running one is left out: its
/// counts are still growing). Which minutes are complete, the onset and the peak are the view's.
fn chart(v: &View, quota_per_minute: u64) -> String {
    let Some((q, row)) = v.q45011() else { return String::new() };
    let complete: Vec<Minute> = v
        .complete_minutes()
        .map(|m| Minute { start_ms: m.start_ms, errors: count(m, q), attempts: m.attempts, partial: m.partial })
        .collect();
    let minutes = &complete[complete.len().saturating_sub(CHART_MINUTES)..];
    let mut h = String::from(r#"<p id="onset">"#);
    h.push_str(&v.onset_sentence_html());
    if let Some(k) = row.peak {
        let _ = write!(h, " Peak: {} refusals/min at {} UTC.", k.count, hhmm(k.start_ms));
    }
    h.push_str("</p>");
    let running = v.minutes.iter().find(|m| !m.complete).map(|m| m.start_ms);
    let older = complete.len() > minutes.len();
    let note = match running {
        Some(r) => Some(format!(
            "The running minute ({} UTC) is drawn once it is complete.{}",
            hhmm(r),
            if older { " Older minutes: /api/v1/rate." } else { "" }
        )),
        None if older => Some(format!("The newest {CHART_MINUTES} minutes; older ones: /api/v1/rate.")),
        None => None,
    };
    let chart = Chart {
        id: "rate-chart",
        width: 1100.0,
        minutes,
        onset: row.onset.map(|o| (o.start_ms, o.attempts)),
        quota_per_minute: (quota_per_minute > 0).then_some(quota_per_minute),
        note,
    };
    h.push_str(&chart.svg());
    h
}

/// The page for a view (made at the time alerts were evaluated: the wall clock, or the event clock).
pub fn render(v: &View, quota_per_minute: u64) -> String {
    let mut h = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>authwatch</title><meta name="viewport" content="width=device-width,initial-scale=1"><style>*{box-sizing:border-box}body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}main{max-width:1232px;margin:0 auto;padding:16px 24px}table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}.n{text-align:right}.critical{color:#b00}.warning{color:#a60}.critical,.warning,.info{white-space:nowrap}code{font-size:12px;color:#555;white-space:pre-wrap;overflow-wrap:anywhere}.chart{display:block;width:100%;max-width:1100px;height:auto}#patterns col.id{width:210px}#patterns col.sev{width:84px}#patterns col.count{width:64px}#patterns col.seen{width:200px}#patterns col.fix{width:26%}</style></head><body><main><h1>authwatch</h1>"#,
    );
    let firing: Vec<_> = v.active_alerts().collect();
    h.push_str("<h2>Alerts</h2>");
    if firing.is_empty() {
        h.push_str(r#"<p id="alerts">No alert is pending or firing.</p>"#);
    } else {
        h.push_str(r#"<table id="alerts"><tr><th>alert</th><th>state</th><th>severity</th><th>value</th><th>since (UTC)</th><th>fix</th></tr>"#);
        for a in firing {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td>{}</td><td class="{}">{}</td><td class="n">{:.2}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&a.alert)
                    + &a.labels
                        .iter()
                        .filter(|(k, _)| k != "pattern" || a.labels.len() > 1)
                        .map(|(k, v)| format!(" <code>{}={}</code>", esc(k), esc(v)))
                        .collect::<String>(),
                if a.state == State::Firing { "firing" } else { "pending" },
                esc(&a.severity),
                esc(&a.severity),
                a.value,
                a.active_at_ms.map(timefmt::format_utc).unwrap_or_default(),
                esc(&a.fix)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>45011 per minute against login attempts</h2>");
    h.push_str(&chart(v, quota_per_minute));
    h.push_str(r#"<h2>Errors</h2><table id="patterns"><colgroup><col class="id"><col class="sev"><col class="count"><col class="seen"><col class="fix"><col class="sample"></colgroup><tr><th>pattern</th><th>severity</th><th class="n">count</th><th>last seen (UTC)</th><th>fix</th><th>last message (redacted)</th></tr>"#);
    for p in v.patterns.iter().map(|r| &r.facts) {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="{}">{}</td><td class="n">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>"#,
            esc(&p.id),
            p.severity.as_str(),
            p.severity.as_str(),
            p.count,
            p.last_seen_ms.map(timefmt::format_utc).unwrap_or_else(|| "-".into()),
            esc(&p.fix_summary),
            esc(p.sample.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table>");
    h.push_str(&crate::version_outputs::html(&v.versions));
    h.push_str(r#"<p><a href="/metrics">/metrics</a> · <a href="/api/v1/alerts">/api/v1/alerts</a> · <a href="/api/v1/rate/wx_45011_minute_quota">/api/v1/rate/wx_45011_minute_quota</a> · <a href="/api/v1/patterns">/api/v1/patterns</a> · <a href="/api/v1/versions">/api/v1/versions</a></p></main></body></html>"#);
    h
}
