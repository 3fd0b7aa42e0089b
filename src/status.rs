//! The status page at `/`: for someone watching a load test without Grafana. Server-rendered HTML with
//! an inline SVG chart of 45011 per minute against login attempts (onset marked), the ten ids with
//! counts, last seen and fix, and the alerts that fire. No scripts, no external assets; it refreshes
//! itself every 10 seconds.

use std::fmt::Write;

use crate::alerts::State;
use crate::observe::{Observed, Q45011};
use crate::timefmt;

/// At most this many minutes are drawn (the newest).
const CHART_MINUTES: usize = 120;
const W: f64 = 720.0;
const H: f64 = 220.0;
const PAD: f64 = 36.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn chart(o: &Observed) -> String {
    let Some(q) = o.patterns.iter().position(|p| p.id == Q45011) else { return String::new() };
    let history = o.windows.history(q);
    let minutes = &history[history.len().saturating_sub(CHART_MINUTES)..];
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="rate-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="45011 per minute against login attempts per minute">"#
    );
    let _ = write!(svg, r##"<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>"##);
    let (x0, x1, y0, y1) = (PAD, W - PAD, H - PAD, 12.0);
    let _ = write!(
        svg,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#888"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#888"/>"##
    );
    if minutes.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#666">no 45011 or login attempts yet</text></svg>"##,
            W / 2.0,
            H / 2.0
        );
        return svg;
    }
    let max_count = minutes.iter().map(|m| m.count).max().unwrap_or(0).max(1) as f64;
    let max_attempts = minutes.iter().map(|m| m.login_attempts).max().unwrap_or(0).max(1) as f64;
    let step = (x1 - x0) / minutes.len() as f64;
    for (i, m) in minutes.iter().enumerate() {
        let h = (y0 - y1) * m.count as f64 / max_count;
        let _ = write!(
            svg,
            r##"<rect class="bar-45011" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#d9534f"><title>{} 45011: {} / attempts: {}</title></rect>"##,
            x0 + i as f64 * step + step * 0.1,
            y0 - h,
            step * 0.8,
            h,
            timefmt::format_utc(m.start_ms),
            m.count,
            m.login_attempts
        );
    }
    let points: Vec<String> = minutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "{:.1},{:.1}",
                x0 + (i as f64 + 0.5) * step,
                y0 - (y0 - y1) * m.login_attempts as f64 / max_attempts
            )
        })
        .collect();
    let _ = write!(
        svg,
        r##"<polyline id="attempts-line" fill="none" stroke="#337ab7" stroke-width="2" points="{}"/>"##,
        points.join(" ")
    );
    if let Some((onset_ms, attempts)) = o.windows.onset(q) {
        if let Some(i) = minutes.iter().position(|m| m.start_ms == onset_ms) {
            let x = x0 + i as f64 * step;
            let _ = write!(
                svg,
                r##"<line id="onset-marker" x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{y0}" stroke="#f0ad4e" stroke-width="2" stroke-dasharray="4 3"/><text x="{:.1}" y="{}" fill="#a66">onset: {attempts} attempts/min</text>"##,
                x + 4.0,
                y1 + 12.0
            );
        }
    }
    let _ = write!(
        svg,
        r##"<text x="{x0}" y="{}" font-size="11" fill="#666">{}</text><text x="{x1}" y="{}" font-size="11" fill="#666" text-anchor="end">{}</text><text x="4" y="{}" font-size="11" fill="#d9534f">45011 max {max_count:.0}/min</text><text x="{x1}" y="{}" font-size="11" fill="#337ab7" text-anchor="end">attempts max {max_attempts:.0}/min</text></svg>"##,
        H - 8.0,
        timefmt::format_utc(minutes[0].start_ms),
        H - 8.0,
        timefmt::format_utc(minutes[minutes.len() - 1].start_ms),
        y1 + 0.0,
        y1 + 0.0
    );
    svg
}

pub fn render(o: &Observed) -> String {
    let mut h = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>authwatch</title><style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}.n{text-align:right}.critical{color:#b00}.warning{color:#a60}code{font-size:12px;color:#555}</style></head><body><h1>authwatch</h1>"#,
    );
    let firing: Vec<_> = o.engine.alerts.iter().filter(|a| a.state != State::Inactive).collect();
    h.push_str("<h2>Alerts</h2>");
    if firing.is_empty() {
        h.push_str(r#"<p id="alerts">No alert is pending or firing.</p>"#);
    } else {
        h.push_str(r#"<table id="alerts"><tr><th>alert</th><th>state</th><th>severity</th><th>value</th><th>since (UTC)</th><th>fix</th></tr>"#);
        for a in firing {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td>{}</td><td class="{}">{}</td><td class="n">{:.2}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&a.rule.alert),
                if a.state == State::Firing { "firing" } else { "pending" },
                esc(&a.rule.severity),
                esc(&a.rule.severity),
                a.value,
                a.active_at_ms.map(timefmt::format_utc).unwrap_or_default(),
                esc(&a.fix)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>45011 per minute against login attempts</h2>");
    h.push_str(&chart(o));
    h.push_str(r#"<h2>Errors</h2><table id="patterns"><tr><th>pattern</th><th>severity</th><th class="n">count</th><th>last seen (UTC)</th><th>fix</th><th>last line (redacted)</th></tr>"#);
    for p in &o.patterns {
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
    h.push_str(r#"</table><p><a href="/metrics">/metrics</a> · <a href="/api/v1/alerts">/api/v1/alerts</a> · <a href="/api/v1/rate/wx_45011_minute_quota">/api/v1/rate/wx_45011_minute_quota</a> · <a href="/api/v1/patterns">/api/v1/patterns</a></p></body></html>"#);
    h
}
