//! `authwatch check --report FILE.html`: on every bundled sample and on a generated load test the page
//! is written, self-contained (no script, no external asset), has the chart, and states the same onset
//! as `check --output json --timeline`; what the sample lines hold is redacted; Chromium renders it
//! within a 1280 px window.

use crate::common;
use crate::common::browser;

use std::path::{Path, PathBuf};

use crate::common::forms::{self, Call, Outcome};
use crate::common::{external_tool, json, run, stderr};

const T0: i64 = 1_741_914_000_000; // 2025-03-14T01:00:00Z
const MIN: i64 = 60_000;

/// Runs `check --report` and `check --output json --timeline` on the same inputs: (page, json).
fn report(dir: &Path, name: &str, inputs: &[&str]) -> (String, serde_json::Value) {
    let page = dir.join(format!("{name}.html"));
    let mut args = vec!["check", "--report", page.to_str().unwrap()];
    args.extend_from_slice(inputs);
    let o = run(&args);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{name}: {:?} {}", o.status, stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{name}: no report written: {e}"));
    let mut args = vec!["check", "--output", "json", "--timeline"];
    args.extend_from_slice(inputs);
    (html, json(&run(&args)))
}

/// The onset the page states in words: (minute start, attempts per minute).
fn stated_onset(html: &str) -> Option<(String, Option<u64>)> {
    let p = &html[html.find(r#"<p class="onset" id="onset">"#).expect("an onset paragraph")..];
    let p = &p[..p.find("</p>").unwrap()];
    let lead = "<time id=\"onset-time\" datetime=\"";
    let start = p.find(lead)?;
    let time = p[start + lead.len()..].split('"').next().unwrap().to_string();
    let attempts = p
        .find(r#"id="onset-attempts">"#)
        .map(|i| p[i + 20..].split('<').next().unwrap().parse::<u64>().expect("a number of attempts"));
    Some((time, attempts))
}

/// What every report must be: one page, inline only, with its chart and the onset `check` computes.
fn assert_report(name: &str, html: &str, check: &serde_json::Value) {
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"), "{name}");
    for banned in ["<script", "<link", "<img", "<iframe", " src=", "url(", "@import"] {
        assert!(!html.contains(banned), "{name}: not self-contained ({banned})");
    }
    assert!(html.contains("@media print"), "{name}: print CSS");
    assert!(html.contains(r#"<svg id="rate-chart""#) && html.contains("calls per minute"), "{name}: the chart");
    let onset = &check["timeline"]["onset"];
    match stated_onset(html) {
        Some((time, attempts)) => {
            assert_eq!(onset["start"].as_str(), Some(&time[..]), "{name}: onset minute");
            assert_eq!(onset["login_attempts_per_minute"].as_u64(), attempts, "{name}: onset attempts");
            let hhmm = &time[11..16];
            let label = match attempts {
                Some(a) => format!("onset {hhmm} UTC: {a} attempts/min"),
                None => format!("onset {hhmm} UTC: attempts unknown"),
            };
            // Marked on the chart, or the page says why it cannot be (an input without times of its own
            // was placed at reading time, years after the export).
            assert!(
                html.contains(&label) || html.contains(r#"<span id="onset-outside">"#),
                "{name}: the chart marks the onset ({label})"
            );
        }
        None => {
            assert!(
                onset.is_null() || onset["start"].is_null(),
                "{name}: the page names no onset, check does: {onset}"
            );
            assert!(!html.contains("id=\"onset-marker\""), "{name}");
        }
    }
    // Every id with its count.
    let table = &html[html.find(r#"<table id="patterns">"#).expect("the patterns table")..];
    for (id, count) in check["matches"].as_object().unwrap() {
        let row =
            &table[table.find(&format!("<td><code>{id}</code></td>")).unwrap_or_else(|| panic!("{name}: {id}"))..];
        let row = &row[..row.find("</tr>").unwrap()];
        let n = count.as_u64().unwrap();
        let shown = n
            .to_string()
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(",");
        assert!(row.contains(&format!(r#"<td class="n">{shown}</td>"#)), "{name}: {id} count {n}: {row}");
    }
}

#[test]
fn the_bundled_samples_report_their_onset() {
    let dir = tempfile::tempdir().unwrap();
    let golden = |f: &str| format!("tests/golden/{f}");
    let samples: Vec<(&str, Vec<String>)> = vec![
        ("loadtest", vec![golden("loadtest-getLoginTicket.log")]),
        ("cloud-function", vec![golden("cloud-function.log")]),
        ("cls-export", vec![golden("cls-export.jsonl")]),
        ("devtools", vec![golden("miniprogram-devtools.log")]),
        ("realtime", vec![golden("realtime-log.jsonl")]),
        ("cls-csv", vec!["tests/fixtures/cls-download.csv".into()]),
        ("tcb-fn-log", vec!["tests/fixtures/tcb-fn-log.txt".into()]),
        // The README's sample command: every bundled log as one run.
        (
            "all",
            [
                "cloud-function.log",
                "loadtest-getLoginTicket.log",
                "miniprogram-devtools.log",
                "cls-export.jsonl",
                "realtime-log.jsonl",
            ]
            .map(golden)
            .to_vec(),
        ),
    ];
    for (name, inputs) in &samples {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let (html, check) = report(dir.path(), name, &inputs);
        assert_report(name, &html, &check);
        for input in &inputs {
            assert!(html.contains(&format!("<code>{input}</code>")), "{name}: the input is listed");
        }
        // The real-time log names its user by openid: never on the page.
        assert!(!html.contains("oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O"), "{name}: an openid leaked");
    }
    // The load test's numbers, in words (README: 565 attempts, onset 01:02 at 110/min, 90 refused).
    let (html, _) = report(dir.path(), "loadtest", &[&golden("loadtest-getLoginTicket.log")]);
    assert_eq!(stated_onset(&html), Some(("2025-03-14T01:02:00.000Z".into(), Some(110))));
    assert!(html.contains(r#"The peak was <strong id="peak">50</strong> refusals in the minute starting 01:04 UTC"#));
    assert!(html.contains("565 · peak 150 / min at 01:04"), "attempts");
    assert!(html.contains("SCF plain text"), "the form");
    assert!(html.contains("2025-03-14 01:00:20 to 2025-03-14 01:04:58 UTC"), "the time range");
    // The guide's defaults: 45011 at 1/min warns from the onset minute, at 20/min turns critical.
    let alerts = &html[html.find(r#"<table id="alerts">"#).expect("alerts fired")..];
    let alerts = &alerts[..alerts.find("</table>").unwrap()];
    assert!(alerts.contains("<td>WeChatMinuteQuota</td>") && alerts.contains("2025-03-14 01:02:59"), "{alerts}");
    assert!(
        alerts.contains("<td>WeChatMinuteQuotaCritical</td>") && alerts.contains("2025-03-14 01:03:59"),
        "{alerts}"
    );
    assert_eq!(alerts.matches("class=\"alert-row\"").count(), 2, "{alerts}");
    // The guide's fix for what was seen.
    assert!(html.contains(r#"id="fix-"#) && html.contains("ticket cache"), "the guide's fix text");
}

/// A load test as CLS exports it: 60 attempts in the first minute, 15 more each minute, WeChat refusing
/// every call past 100 in a minute. The first whole minute past 100 is minute 3 (105 attempts).
fn load_test() -> Vec<Call> {
    let mut calls = Vec::new();
    for m in 0..8i64 {
        let n = 60 + 15 * m;
        for i in 0..n {
            calls.push(Call {
                request_id: format!("{:08x}-0a1b-4c2d-9e3f-{:012x}", m, i),
                function: "getLoginTicket".into(),
                // The export begins 20 s into minute 0: that minute is partial.
                start_ms: T0 + m * MIN + 20_000 * i64::from(m == 0) + i * (if m == 0 { 35_000 } else { 55_000 }) / n,
                duration_ms: 40,
                outcome: if i >= 100 {
                    if i % 2 == 0 { Outcome::Returned { errcode: 45011 } } else { Outcome::Thrown { errcode: 45011 } }
                } else {
                    Outcome::Ok
                },
            });
        }
    }
    calls
}

#[test]
fn a_generated_load_test_reports_its_true_onset_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let calls = load_test();
    for (name, bytes) in [
        ("cls.jsonl", forms::cls_json(&calls)),
        ("cls.csv", forms::cls_csv(&calls)),
        ("scf.log", forms::scf_text(&calls)),
        ("tcb.txt", forms::tcb_log(&calls)),
    ] {
        let input = dir.path().join(name);
        common::write(&input, &bytes);
        let (html, check) = report(dir.path(), name, &[input.to_str().unwrap()]);
        assert_report(name, &html, &check);
        assert_eq!(stated_onset(&html), Some(("2025-03-14T01:03:00.000Z".into(), Some(105))), "{name}");
        // Minutes 3..7 refuse 5, 20, 35, 50, 65 calls.
        assert!(
            html.contains(r#"The peak was <strong id="peak">65</strong> refusals in the minute starting 01:07 UTC"#),
            "{name}"
        );
        assert_eq!(html.matches("class=\"bar-45011\"").count(), 5, "{name}");
        assert!(html.contains("WeChatMinuteQuotaCritical"), "{name}: 20/min and more is critical");
    }
}

#[test]
fn sample_lines_and_names_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let openid = "oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O";
    let session_key = "tiihtNczf5v6AKRyjwEUhQ==";
    let ticket = "kid-2025-0001/@@/eyJhbGciOiJSUzI1NiJ9.eyJ1aWQiOiJvWDFZIn0.c2lnbmF0dXJl";
    let log = dir.path().join("secrets.log");
    common::write(
        &log,
        format!(
            "2025-03-14T01:00:01.000Z\tabc\tjscode2session {{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\",\"openid\":\"{openid}\",\"session_key\":\"{session_key}\"}}\n\
             2025-03-14T01:00:02.000Z\tdef\t[getLoginTicket] ticket: {ticket} createTicket failed {{\"code\":\"SIGN_PARAM_INVALID\",\"message\":\"signature is expired\"}}\n"
        )
        .as_bytes(),
    );
    let (html, _) = report(dir.path(), "secrets", &[log.to_str().unwrap()]);
    for secret in [openid, session_key, "eyJhbGciOiJSUzI1NiJ9", "kid-2025-0001"] {
        assert!(!html.contains(secret), "{secret} leaked into the report");
    }
    assert!(
        html.contains(r#"<pre class="sample">"#) && html.contains("&lt;redacted&gt;"),
        "the sample is shown, masked"
    );
}

#[test]
fn an_unwritable_report_fails_the_run() {
    let o = run(&["check", "--report", "/nonexistent-dir/r.html", "tests/golden/cloud-function.log"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--report /nonexistent-dir/r.html"), "{}", stderr(&o));
}

/// Chromium renders the bundled load test's report: the chart with its bars, marker and labels, the
/// page no wider than a 1280 px window. `AUTHWATCH_REPORT_PNG=docs/img/report.png` keeps the picture.
#[test]
fn chromium_renders_the_report() {
    let Some(chromium) = external_tool("chromium", "chromium_renders_the_report") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (html, _) = report(dir.path(), "loadtest", &["tests/golden/loadtest-getLoginTicket.log"]);
    let page = dir.path().join("loadtest.html");
    let profile = dir.path().join("profile");
    let url = format!("file://{}", page.display());
    let dom = browser::dump_dom(&chromium, &profile, &url, 1280);
    assert!(dom.contains(r#"<svg id="rate-chart""#), "no chart in the rendered page: {}", &dom[..dom.len().min(2000)]);
    assert_eq!(dom.matches("class=\"bar-45011\"").count(), 3, "three minutes with 45011");
    for part in [
        "id=\"onset-marker\"",
        "onset 01:02 UTC: 110 attempts/min",
        "id=\"quota-line\"",
        ">01:03<",
        "id=\"attempts-line\"",
    ] {
        assert!(dom.contains(part), "{part} not rendered");
    }
    let (doc, window) = browser::page_width(&chromium, &profile, &html, dir.path(), 1280);
    assert!((1200..=1280).contains(&window) && doc <= window, "the report is {doc} px wide in a {window} px window");
    let png = std::env::var_os("AUTHWATCH_REPORT_PNG").map_or_else(|| dir.path().join("report.png"), PathBuf::from);
    assert!(browser::screenshot(&chromium, &profile, &url, &png, 1280, 1000), "no screenshot");
}

/// `--config FILE`: its `[[alerts]]` replace the guide's rules in the report, its
/// `[alerting] quota_per_minute` moves the chart's quota line.
#[test]
fn the_config_gives_the_rules_and_the_quota_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authwatch.toml");
    common::write(
        &config,
        b"[alerting]\nquota_per_minute = 120\n[[alerts]]\nalert = \"QuotaAt40\"\npattern = \"wx_45011_minute_quota\"\nmeasure = \"per_minute\"\nthreshold = 40\nseverity = \"critical\"\n",
    );
    let page = dir.path().join("r.html");
    let o = run(&[
        "check",
        "--config",
        config.to_str().unwrap(),
        "--report",
        page.to_str().unwrap(),
        "tests/golden/loadtest-getLoginTicket.log",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("configured quota 120 / min (per IP)") && html.contains("id=\"quota-line\""), "quota line");
    assert!(html.contains("1 rule(s) (from the config)"), "the config's rules");
    // 50 refusals in 01:04 is the only minute at 40 or more.
    let alerts = &html[html.find(r#"<table id="alerts">"#).expect("the rule fired")..];
    assert!(alerts.contains("<td>QuotaAt40</td>") && alerts.contains("2025-03-14 01:04:59"), "{alerts}");
    assert!(!html.contains("WeChatMinuteQuota"), "the defaults are replaced");
    // A broken config is refused by file, line and key, and no report is written.
    common::write(&config, b"[alerting]\nquota_per_minut = 1\n");
    let _ = std::fs::remove_file(&page);
    let o = run(&[
        "check",
        "--config",
        config.to_str().unwrap(),
        "--report",
        page.to_str().unwrap(),
        "tests/golden/cloud-function.log",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("authwatch.toml:2:1") && stderr(&o).contains("quota_per_minut"), "{}", stderr(&o));
    assert!(!page.exists());
}
