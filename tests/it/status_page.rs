//! The status page at `/` renders in a real browser (Debian chromium, headless): the 45011 chart with
//! its bars, the login-attempts line and the onset marker, the patterns table and the alerts.

use crate::common;
use crate::common::browser;
use crate::common::daemon::*;
use crate::common::{external_tool, http_get};

use authwatch::alerts::default_rules;
use authwatch::config::Clock;
use authwatch::observe::{Observed, Q45011};
use authwatch::patterns::Catalogue;

fn cls(time_ms: i64, message: &str) -> String {
    serde_json::json!({"SCF_FunctionName": "getLoginTicket", "SCF_LogTime": (time_ms * 1_000_000).to_string(), "SCF_Message": message})
        .to_string()
        + "\n"
}

/// A CLS record (a call of its own) with every field the console exports, the message last: a sample
/// cut after 300 characters of the line would show only metadata.
fn cls_full(time_ms: i64, message: &str) -> String {
    serde_json::json!({
        "SCF_FunctionName": "getLoginTicket", "SCF_Namespace": "prod-1g2h3j4k", "SCF_StartTime": time_ms.to_string(),
        "SCF_LogTime": (time_ms * 1_000_000).to_string(), "SCF_RequestId": format!("8f4c0b5e-0a1b-4c2d-9e3f-{time_ms:012}"),
        "SCF_Duration": "188", "SCF_Alias": "$DEFAULT", "SCF_Qualifier": "$LATEST", "SCF_MemUsage": "31.417969",
        "SCF_Level": "ERROR", "SCF_Type": "Custom", "SCF_StatusCode": "200", "SCF_RetryNum": "0",
        "SCF_Message": message,
    })
    .to_string()
        + "\n"
}

const OPENID: &str = "oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O";

#[test]
fn chromium_renders_the_chart() {
    let Some(chromium) = external_tool("chromium", "chromium_renders_the_chart") else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("export.jsonl");
    let t0 = 1_741_914_000_000i64;
    let mut data = String::new();
    for m in 0..6i64 {
        for i in 0..(50 + 30 * m) {
            let t = t0 + m * 60_000 + i * 300;
            data += &cls(t, "START RequestId: 8f4c0b5e-0a1b-4c2d-9e3f-123456789abc");
            if m >= 3 && i < m * 4 {
                data += &cls_full(
                    t + 1,
                    &format!(
                        "{OPENID} jscode2session {{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}}"
                    ),
                );
            }
        }
    }
    data += &cls(t0 + 6 * 60_000, "SIGN_PARAM_INVALID: credential signature verification failed");
    append(&log, data.as_bytes());
    // The event clock makes the 2025 lines "now", so the default SignParamInvalid alert fires.
    let cfg = dir.path().join("authwatch.toml");
    common::write(
        &cfg,
        format!("[alerting]\nclock = \"event\"\nquota_per_minute = 150\n[[sources]]\nname = \"default\"\npaths = [\"{}\"]\n", log.display())
            .as_bytes(),
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()], &dir.path().join("state"));
    d.wait_lines(data.lines().count() as u64);
    // The page reads what the tailer hands over at the end of a poll, and the alert what it evaluates.
    d.wait_eq("authwatch_alert_firing{alertname=\"SignParamInvalid\",severity=\"critical\"}", 1.0);
    d.wait_eq("authwatch_45011_onset_attempts_per_minute", 140.0);
    let url = format!("http://{}/", d.addr);
    let profile = dir.path().join("chromium-profile");
    let dom = browser::dump_dom(&chromium, &profile, &url, 1280);
    assert!(dom.contains("<svg id=\"rate-chart\""), "no chart in the rendered page:\n{dom}");
    // Seven minutes of history; the event clock stands in the seventh (the SIGN_PARAM_INVALID line), which
    // is still running and not drawn: bars for the three complete minutes with 45011, the attempts
    // line, the onset marker and its label.
    assert_eq!(dom.matches("class=\"bar-45011\"").count(), 3, "{dom}");
    assert!(dom.contains("The running minute (01:06 UTC) is drawn once it is complete."), "{dom}");
    assert!(dom.contains("id=\"attempts-line\""), "{dom}");
    assert!(dom.contains("id=\"onset-marker\""), "{dom}");
    assert!(dom.contains("onset 01:03 UTC: 140 attempts/min"), "{dom}");
    assert!(
        dom.contains("configured quota 150 / min (per IP)") && dom.contains("id=\"quota-line\""),
        "the config's quota"
    );
    assert!(dom.contains(">01:00<") && dom.contains(">01:05<"), "HH:MM minute labels: {dom}");
    assert!(dom.contains("<table id=\"patterns\">"), "{dom}");
    assert!(dom.contains("<td>SignParamInvalid</td><td>firing</td>"), "the firing alert is listed: {dom}");
    // The sample column shows the CLS record's message, redacted, not its metadata.
    let row = dom.split("<tr>").find(|r| r.contains("wx_45011_minute_quota")).expect("a 45011 row");
    assert!(row.contains("jscode2session {\"errcode\":45011"), "the message: {row}");
    assert!(row.contains("&lt;openid&gt;") && !row.contains(OPENID), "redacted: {row}");
    assert!(!row.contains("SCF_Namespace") && !row.contains("SCF_MemUsage"), "no metadata: {row}");
    // The page fits a 1280 px window.
    let (_, page) = http_get(&d.addr, "/").expect("the page");
    let (doc, window) = browser::page_width(&chromium, &profile_for_width(dir.path()), &page, dir.path(), 1280);
    assert!(window >= 1200 && doc <= window, "the page is {doc} px wide in a {window} px window");
    // And a picture, for people reading the test output directory.
    let shot = dir.path().join("status.png");
    let _ = std::process::Command::new(external_tool("chromium", "screenshot").unwrap())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-sync",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output();
    if let Ok(target) = std::env::var("AUTHWATCH_SCREENSHOT") {
        let _ = std::fs::copy(&shot, target);
    }
    d.stop();
}

const MIN: i64 = 60_000;

fn profile_for_width(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("chromium-profile-measure")
}

/// A page as the daemon would render it from `minutes` of (attempts, 45011) starting at `t0`, `now`
/// being `now_after` ms after the last minute's start.
fn observed(t0: i64, minutes: &[(u64, u64)], now_after: i64) -> (Observed, i64) {
    let c = Catalogue::builtin().unwrap();
    let mut o = Observed::new(&c, 24 * 60, &default_rules(), Clock::Wall).unwrap();
    let q = o.patterns.iter().position(|p| p.id == Q45011).unwrap();
    for (m, &(attempts, errors)) in minutes.iter().enumerate() {
        let start = t0 + m as i64 * MIN;
        for i in 0..attempts {
            o.windows.add_attempt(start + (i as i64 * 59_000) / attempts.max(1) as i64);
        }
        for i in 0..errors {
            o.windows.add(q, start + 500 + (i as i64 * 59_000) / errors.max(1) as i64);
        }
    }
    // The widest sample a pattern can show: SAMPLE_CHARS characters without a space to wrap at.
    let long = format!("jscode2session {{\"errcode\":45011,\"errmsg\":\"{}\"}}", "x".repeat(280));
    o.patterns[q].sample = Some(authwatch::redact::redact(&long));
    o.patterns[q].count = minutes.iter().map(|m| m.1).sum();
    let now = t0 + (minutes.len() as i64 - 1) * MIN + now_after;
    for k in 0..minutes.len() as i64 {
        o.engine.evaluate(t0 + k * MIN + MIN - 1, &o.windows);
    }
    (o, now)
}

/// The chart on the page for an empty history, a short test, a day, and a burst: the running minute is
/// left out, labels are HH:MM, the onset is marked where it is, and the page fits a 1280 px window.
#[test]
fn the_status_page_reads_at_1280_px_for_every_history_shape() {
    let Some(chromium) = external_tool("chromium", "the_status_page_reads_at_1280_px_for_every_history_shape") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let shots = std::env::var_os("AUTHWATCH_SHOTS").map_or_else(|| dir.path().to_path_buf(), Into::into);
    let t0 = 1_741_914_000_000i64; // 2025-03-14T01:00:00Z
    let short: Vec<(u64, u64)> = (0..7).map(|m| (40 + 10 * m, 0)).collect();
    // A day: load follows the sun, 45011 for every call past 100 a minute.
    let day: Vec<(u64, u64)> = (0..1440)
        .map(|m| {
            let load = 110.0 - 90.0 * (m as f64 / 1440.0 * std::f64::consts::TAU).cos();
            let a = load as u64;
            (a, a.saturating_sub(100))
        })
        .collect();
    let burst: Vec<(u64, u64)> = (0..60).map(|m| if (25..31).contains(&m) { (250, 150) } else { (60, 0) }).collect();
    let cases: [(&str, &[(u64, u64)]); 4] = [("empty", &[]), ("short", &short), ("day", &day), ("burst", &burst)];
    let profile = dir.path().join("profile");
    for (name, minutes) in cases {
        // The onset label the chart must show: the first minute with 45011, at its attempts.
        let onset = minutes.iter().position(|m| m.1 > 0).map(|i| {
            format!("onset {} UTC: {} attempts/min", authwatch::chart::hhmm(t0 + i as i64 * MIN), minutes[i].0)
        });
        let (o, now) = observed(t0, minutes, 30_000);
        let html = authwatch::status::render(&authwatch::view::View::of_state(&o, now), 100);
        let svg = &html[html.find("<svg id=\"rate-chart\"").expect("a chart")..];
        let svg = &svg[..svg.find("</svg>").unwrap()];
        // The running minute (the last one, 30 s in) is not drawn: one bar less than minutes with 45011.
        let complete = minutes.len().saturating_sub(1);
        let bars = minutes[..complete].iter().filter(|m| m.1 > 0).count();
        assert_eq!(svg.matches("class=\"bar-45011\"").count(), bars, "{name}");
        if complete > 0 {
            assert!(svg.contains(">01:00<") || svg.contains(">02:00<"), "{name}: HH:MM labels");
            assert!(html.contains("is drawn once it is complete"), "{name}");
        } else {
            assert!(svg.contains("id=\"chart-empty\""), "{name}");
        }
        let shown =
            svg.find("id=\"onset-label\"").map(|i| &svg[i..svg[i..].find("</text>").map_or(svg.len(), |e| i + e)]);
        match &onset {
            Some(label) => assert!(
                svg.contains(label.as_str()) && svg.contains("id=\"onset-marker\""),
                "{name}: {label} expected, the chart shows {shown:?}"
            ),
            None => assert!(shown.is_none(), "{name}: {shown:?}"),
        }
        assert!(onset.is_none() || name != "short", "the short test stays under the quota");
        let (doc, window) = browser::page_width(&chromium, &profile, &html, dir.path(), 1280);
        assert!((1200..=1280).contains(&window), "{name}: window {window}");
        assert!(doc <= window, "{name}: the page is {doc} px wide in a {window} px window");
        let page = dir.path().join(format!("{name}.html"));
        std::fs::write(&page, &html).unwrap();
        let png = shots.join(format!("status-{name}.png"));
        assert!(
            browser::screenshot(&chromium, &profile, &format!("file://{}", page.display()), &png, 1280, 900),
            "{name}: no screenshot"
        );
    }
}
