//! `authwatch check --report FILE.html`: one self-contained HTML page to attach to a load-test ticket.
//! What was read (files, forms, time range, lines, calls), the chart of 45011 per minute against login
//! attempts (`crate::chart`, the status page's chart), the onset and the peak in words, every pattern id
//! with its count, first and last time and the guide's fix, and which alert rules would have fired
//! and when.
//!
//! Contract: `render` is a pure function of the read model (`crate::view`: counts, minutes, onset,
//! peak, the alert episodes of a replay), `check`'s read statistics and the rules; it decides none of
//! those numbers; the page has inline CSS and
//! SVG only (no script, no external asset), reads offline and prints (print CSS: A4 landscape, no
//! element cut across pages). Every text that comes from the inputs or the pattern set passes through
//! `crate::redact` before it is written, so no ticket, openid, session key or code from a sample line or a
//! file name reaches the page.

use std::fmt::Write;

use crate::alerts::RuleConfig;
use crate::chart::{self, Chart, Minute, hhmm};
use crate::patterns::Catalogue;
use crate::record::Format;
use crate::redact;
use crate::tally::{InputReport, Tally};
use crate::timefmt;
use crate::view::{Episode, View, count};

/// Everything the page shows.
pub struct Report<'a> {
    /// Every number the page shows that is not a read statistic.
    pub view: &'a View,
    /// The guide's words for each id (root cause, fix, prevention).
    pub catalogue: &'a Catalogue,
    pub inputs: &'a [InputReport],
    /// What was read: lines, bytes, records dropped or placed.
    pub tally: &'a Tally,
    pub rules: &'a [RuleConfig],
    pub quota_per_minute: u64,
    pub login_function: &'a str,
    pub max_line_bytes: usize,
    /// When the report was made (Unix ms).
    pub generated_ms: i64,
}

/// Escaped and redacted: every text from the inputs or the pattern set goes through here.
fn t(s: &str) -> String {
    esc(&redact::redact_whole(s))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The pattern an episode is about, or for a version alert its labels (`8 of getLoginTicket against 7`).
fn episode_what(e: &crate::view::Episode) -> String {
    let label = |k: &str| e.labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match (label("function"), label("version"), label("baseline")) {
        (Some(f), Some(v), Some(b)) => {
            format!("{f} version {v} against {b}{}", label("pattern").map(|p| format!(": {p}")).unwrap_or_default())
        }
        _ => e.pattern.clone(),
    }
}

fn form_name(f: Option<Format>) -> &'static str {
    match f {
        Some(Format::Text) => "SCF plain text",
        Some(Format::Cls) => "CLS JSON export",
        Some(Format::ClsCsv) => "CLS CSV download",
        Some(Format::TcbLog) => "tcb fn log",
        Some(Format::Realtime) => "Mini Program real-time log",
        None => "nothing read",
    }
}

fn utc(ms: Option<i64>) -> String {
    ms.map_or_else(|| "–".to_string(), |ms| timefmt::format_utc(ms)[..19].replace('T', " "))
}

fn time_el(ms: i64, text: &str) -> String {
    format!(r#"<time datetime="{}">{}</time>"#, timefmt::format_utc(ms), esc(text))
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn value(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.3}") }
}

const CSS: &str = "
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;margin:0;background:#fff}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin:0 0 16px}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:8px 16px;margin:0 0 8px}
.facts div{border:1px solid #e2e2e2;border-radius:6px;padding:8px 10px}
.facts dt{color:#666;font-size:12px}
.facts dd{margin:2px 0 0;font-size:16px;font-weight:600}
.chart{display:block;width:100%;height:auto;max-width:1132px;border:1px solid #e2e2e2;border-radius:6px}
table{border-collapse:collapse;width:100%;table-layout:auto}
th,td{border-bottom:1px solid #e2e2e2;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
td code{white-space:nowrap}
th{background:#f6f6f6;font-weight:600}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.nowrap{white-space:nowrap}
.critical{color:#b00;font-weight:600}.warning{color:#a60;font-weight:600}.info{color:#357}
.critical,.warning,.info{white-space:nowrap}
.zero td{color:#999}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f8f8f8;border:1px solid #eee;border-radius:4px;padding:6px 8px;margin:4px 0}
.fix{border:1px solid #e2e2e2;border-radius:6px;padding:8px 12px;margin:10px 0}
.fix h3{font-size:15px;margin:0 0 4px}
.muted{color:#666}
.onset{font-size:15px;background:#fff7e6;border-left:4px solid #d58512;padding:8px 12px;margin:12px 0}
@page{size:A4 landscape;margin:12mm}
@media print{main{max-width:none;padding:0}.chart{max-width:100%;border:none}
h2{break-after:avoid}.fix,tr,.facts div,svg,.onset{break-inside:avoid}}
";

/// The whole page.
pub fn render(r: &Report<'_>) -> String {
    let tally = r.tally;
    let v = r.view;
    let q45011 = v.q45011();
    let onset = q45011.and_then(|(_, row)| row.onset);
    let peak = q45011.and_then(|(_, row)| row.peak);
    let peak_attempts = v.peak_attempts;
    let failed = v.failed_calls();
    let episodes = &v.episodes;
    let fired: Vec<&Episode> = episodes.iter().filter(|e| e.firing_ms.is_some()).collect();

    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>authwatch load-test report</title><style>{CSS}</style></head><body><main>"#
    );
    let range = match (tally.first_ms, tally.last_ms) {
        (Some(a), Some(b)) => format!("{} to {} UTC", utc(Some(a)), utc(Some(b))),
        _ => "no timed errors or login attempts".to_string(),
    };
    let _ = write!(
        h,
        r#"<h1>authwatch load-test report</h1><p class="sub">{} input(s), {}. Made by <code>authwatch check --report</code> at {} UTC.</p>"#,
        r.inputs.len(),
        esc(&range),
        utc(Some(r.generated_ms))
    );

    // Facts at a glance.
    h.push_str(r#"<dl class="facts" id="facts">"#);
    let fact = |h: &mut String, id: &str, k: &str, v: String| {
        let _ = write!(h, r#"<div id="{id}"><dt>{k}</dt><dd>{v}</dd></div>"#);
    };
    fact(
        &mut h,
        "fact-onset",
        "45011 onset",
        match onset {
            Some(o) => match o.attempts {
                Some(a) => format!("{} UTC · {a} attempts/min", time_el(o.start_ms, &hhmm(o.start_ms))),
                None => format!("{} UTC · attempts unknown", time_el(o.start_ms, &hhmm(o.start_ms))),
            },
            None => match v.load.first_refusal {
                Some(f) => format!("unknown · first refusal {} UTC", time_el(f.time_ms, &hhmm(f.time_ms))),
                None => "none".into(),
            },
        },
    );
    fact(
        &mut h,
        "fact-peak",
        "45011 peak",
        match peak {
            Some(m) => format!("{} / min at {} UTC", m.count, hhmm(m.start_ms)),
            None => "none".into(),
        },
    );
    fact(
        &mut h,
        "fact-attempts",
        "login attempts",
        match peak_attempts {
            Some(m) => {
                format!("{} · peak {} / min at {}", thousands(tally.login_attempts), m.attempts, hhmm(m.start_ms))
            }
            None => thousands(tally.login_attempts),
        },
    );
    fact(&mut h, "fact-failed", "failed calls (all ids)", thousands(failed));
    fact(
        &mut h,
        "fact-alerts",
        "alerts that would have fired",
        if fired.is_empty() { "none".into() } else { fired.len().to_string() },
    );
    h.push_str("</dl>");

    // The onset in words: the same sentence as the status page's (the view's), and who the attempts are.
    h.push_str(r#"<p class="onset" id="onset">"#);
    h.push_str(&v.onset_sentence_html());
    if onset.is_some_and(|o| o.attempts.is_some()) || v.load.first_refusal.is_some() {
        let _ = write!(h, " Login attempts are calls of <code>{}</code>.", t(r.login_function));
    }
    if let Some(refused) = onset.and_then(|o| o.count) {
        let _ = write!(h, " {refused} calls were refused in the onset minute.");
    }
    if let Some(m) = peak {
        let _ = write!(
            h,
            r#" The peak was <strong id="peak">{}</strong> refusals in the minute starting {} UTC, at {} login attempts."#,
            m.count,
            hhmm(m.start_ms),
            m.attempts
        );
    }
    if let Some(ms) = onset.filter(|o| o.count.is_none()).map(|o| o.start_ms) {
        let _ = write!(
            h,
            r#" <span id="onset-outside">The chart cannot show the onset minute ({}): it keeps the newest {} minutes of event time, and the inputs reach to {}{}.</span>"#,
            date_hhmm_words(ms),
            v.retention_minutes,
            utc(tally.last_ms),
            if tally.arrival > 0 {
                format!(
                    " because {} errors or attempts had no time of their own (nor their call's or their input's) and were placed at the time they were read",
                    tally.arrival
                )
            } else {
                String::new()
            }
        );
    }
    h.push_str("</p>");

    // The chart.
    h.push_str("<h2>45011 per minute against login attempts per minute</h2>");
    let minutes: Vec<Minute> = match q45011 {
        Some((q, _)) => v
            .minutes
            .iter()
            .map(|m| Minute { start_ms: m.start_ms, errors: count(m, q), attempts: m.attempts, partial: m.partial })
            .collect(),
        None => Vec::new(),
    };
    let chart = Chart {
        id: "rate-chart",
        width: 1132.0,
        minutes: &minutes,
        onset: onset.map(|o| (o.start_ms, o.attempts)),
        quota_per_minute: (r.quota_per_minute > 0).then_some(r.quota_per_minute),
        note: Some(
            "Counts are calls, by each call's own time: a call that prints its error several times counts once.".into(),
        ),
    };
    h.push_str(&chart.svg());

    // Alerts.
    h.push_str(r#"<h2>Alerts that would have fired</h2>"#);
    let _ = write!(
        h,
        r#"<p class="muted">{} rule(s) ({}), evaluated at the end of every minute of the input as a replay with the event clock does; after the last minute the clock runs on with no new data so that alerts can resolve.</p>"#,
        r.rules.len(),
        if r.rules == crate::alerts::default_rules().as_slice() { "the guide's defaults" } else { "from the config" }
    );
    if episodes.is_empty() {
        h.push_str(r#"<p id="alerts">No alert would have been pending or firing.</p>"#);
    } else {
        h.push_str(r#"<table id="alerts"><tr><th>alert</th><th>severity</th><th>pattern</th><th>pending (UTC)</th><th>firing (UTC)</th><th class="n">value</th><th>resolved (UTC)</th></tr>"#);
        for e in episodes {
            let resolved = match (e.resolved_ms, e.firing_ms) {
                (Some(ms), _) if e.resolved_after_input => {
                    format!("{} (after the input ended, no new data)", utc(Some(ms)))
                }
                (Some(ms), Some(_)) => utc(Some(ms)),
                (Some(ms), None) => format!("{} (pending only, never fired)", utc(Some(ms))),
                (None, _) => "still firing at the end".into(),
            };
            let _ = write!(
                h,
                r#"<tr class="alert-row"><td>{}</td><td class="{}">{}</td><td><code>{}</code></td><td class="nowrap">{}</td><td class="nowrap">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
                t(&e.alert),
                t(&e.severity),
                t(&e.severity),
                t(&episode_what(e)),
                utc(e.pending_ms),
                utc(e.firing_ms),
                value(e.value_at_firing),
                esc(&resolved)
            );
        }
        h.push_str("</table>");
    }

    h.push_str(&crate::version_outputs::html(&v.versions));

    // Every id.
    h.push_str(r#"<h2>Errors by pattern</h2><table id="patterns"><tr><th>pattern</th><th>title</th><th>severity</th><th class="n">calls</th><th class="n">lines</th><th>first seen (UTC)</th><th>last seen (UTC)</th><th>fix</th></tr>"#);
    for (i, p) in v.patterns.iter().map(|row| &row.facts).enumerate() {
        let _ = write!(
            h,
            r#"<tr id="p-{}"{}><td><code>{}</code></td><td>{}</td><td class="{}">{}</td><td class="n">{}</td><td class="n">{}</td><td class="nowrap">{}</td><td class="nowrap">{}</td><td>{}{}</td></tr>"#,
            i,
            if p.count == 0 { r#" class="zero""# } else { "" },
            t(&p.id),
            t(&p.title),
            p.severity.as_str(),
            p.severity.as_str(),
            thousands(p.count),
            thousands(p.lines.unwrap_or(0)),
            utc(p.first_seen_ms),
            utc(p.last_seen_ms),
            t(&p.fix_summary),
            if p.count > 0 { format!(r##" <a href="#fix-{i}">details</a>"##) } else { String::new() }
        );
    }
    h.push_str("</table>");

    // The guide's fix for what was seen.
    let seen: Vec<usize> = (0..v.patterns.len()).filter(|&i| v.patterns[i].facts.count > 0).collect();
    if !seen.is_empty() {
        h.push_str("<h2>What to do: the guide's fix for each error seen</h2>");
        for i in seen {
            let p = r.catalogue.get(i);
            let guide = p.guide_error.map_or_else(|| "not in the guide".to_string(), |n| format!("guide error {n}"));
            let _ = write!(
                h,
                r#"<div class="fix" id="fix-{i}"><h3><code>{}</code> — {} <span class="muted">({}, {} calls)</span></h3><p><strong>Root cause:</strong> {}</p><p><strong>Fix:</strong></p><pre>{}</pre><p><strong>Prevention:</strong> {}</p>"#,
                t(&p.id),
                t(&p.title),
                esc(&guide),
                v.patterns[i].facts.count,
                t(&p.root_cause),
                t(&p.fix),
                t(&p.prevention)
            );
            if let Some(sample) = v.patterns[i].facts.sample.as_deref() {
                let _ = write!(
                    h,
                    r#"<p class="muted">First line seen (redacted):</p><pre class="sample">{}</pre>"#,
                    t(sample)
                );
            }
            h.push_str("</div>");
        }
    }

    // Inputs.
    h.push_str(r#"<h2>Inputs</h2><table id="inputs"><tr><th>input</th><th>form</th><th class="n">lines</th><th class="n">bytes</th><th>status</th></tr>"#);
    for i in r.inputs {
        let _ = write!(
            h,
            r#"<tr><td><code>{}</code></td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            t(&i.name),
            form_name(i.form),
            thousands(i.lines),
            thousands(i.bytes),
            i.error.as_deref().map_or_else(|| "read".to_string(), t)
        );
    }
    let _ = write!(
        h,
        r#"<tr><th>total</th><th></th><th class="n">{}</th><th class="n">{}</th><th></th></tr></table>"#,
        thousands(tally.scan.lines),
        thousands(tally.scan.bytes)
    );
    let _ = write!(
        h,
        r#"<p class="muted" id="counting">Time range of errors and attempts: {}. Login attempts: {} (calls of <code>{}</code>, from their START lines); failed calls: {} in {} lines. {} lines cut at {} bytes, {} malformed records, {} records read twice (overlapping inputs) counted once, {} stamped in the future, {} placed at reading time (no trustworthy time of their own or of their call).</p>"#,
        esc(&range),
        thousands(tally.login_attempts),
        t(r.login_function),
        thousands(failed),
        thousands(v.recognised_lines()),
        thousands(tally.scan.lines_truncated),
        r.max_line_bytes,
        thousands(tally.malformed),
        thousands(tally.duplicates),
        thousands(tally.future),
        thousands(tally.arrival),
    );
    h.push_str("</main></body></html>\n");
    h
}

/// `2025-03-14 01:02`.
fn date_hhmm_words(ms: i64) -> String {
    chart::date_hhmm(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{default_rules, minute_end, replay_transitions};
    use crate::observe::Q45011;
    use crate::view::episodes;
    use crate::window::{MINUTE_MS, Windows};

    const T0: i64 = 1_741_914_000_000;

    #[test]
    fn a_burst_in_the_middle_fires_then_resolves_after_it() {
        let c = Catalogue::builtin().unwrap();
        let q = c.index_of(Q45011).unwrap();
        let mut w = Windows::new(c.patterns().len(), 600);
        for m in 0..20 {
            w.add_attempt(T0 + m * MINUTE_MS);
        }
        for m in 5..8 {
            for i in 0..30 {
                w.add(q, T0 + m * MINUTE_MS + i * 100);
            }
        }
        let tr = replay_transitions(&default_rules(), &c, &w).unwrap();
        let e = episodes(&tr, w.watermark_ms().map(minute_end));
        let warn = e.iter().find(|e| e.alert == "WeChatMinuteQuota").unwrap();
        assert_eq!(warn.firing_ms, Some(T0 + 6 * MINUTE_MS - 1), "fires in the burst's first minute");
        // Last 45011 in minute 7; per-minute value holds through minute 8, clears from 9, resolves 60 s on.
        assert_eq!(warn.resolved_ms, Some(T0 + 11 * MINUTE_MS - 1));
        assert!(!warn.resolved_after_input);
        assert!(e.iter().any(|e| e.alert == "WeChatMinuteQuotaCritical" && e.value_at_firing == 30.0));
        assert!(!e.iter().any(|e| e.alert == "SignParamInvalid"));
        // A burst at the very end resolves after the input, with no new data.
        let mut w2 = Windows::new(c.patterns().len(), 600);
        w2.add(q, T0);
        let e2 = episodes(&replay_transitions(&default_rules(), &c, &w2).unwrap(), w2.watermark_ms().map(minute_end));
        assert!(e2[0].resolved_after_input && e2[0].resolved_ms.is_some(), "{e2:?}");
        assert!(replay_transitions(&default_rules(), &c, &Windows::new(1, 10)).unwrap().is_empty());
    }
}
