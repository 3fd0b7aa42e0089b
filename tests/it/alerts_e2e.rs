//! End to end: replay a CLS export with a known 45011 curve through `authwatch run` (event clock, so the
//! lines' own times drive the windows and alerts), then check the per-minute history, the onset, and an
//! alert that fires during the burst and resolves after it.

use crate::common;
use crate::common::daemon::*;
use crate::common::write;

const T0: i64 = 1_741_914_000_000; // 2025-03-14T01:00:00Z
const MIN: i64 = 60_000;

/// Minute m of the load test: (login attempts, 45011 errors).
fn curve(m: i64) -> (u64, u64) {
    match m {
        0..=3 => (40 + 20 * m as u64, 0),
        4 => (130, 3),
        5 => (160, 12),
        6 => (190, 25),
        7 => (60, 0),
        _ => (30, 0),
    }
}

/// One CLS record of the call `rid`.
fn cls(time_ms: i64, rid: &str, function: &str, message: &str) -> String {
    serde_json::json!({
        "SCF_FunctionName": function,
        "SCF_LogTime": (time_ms * 1_000_000).to_string(),
        "SCF_StartTime": time_ms.to_string(),
        "SCF_RequestId": rid,
        "SCF_Message": message,
        "SCF_Type": "Custom",
    })
    .to_string()
        + "\n"
}

fn minute_lines(m: i64) -> String {
    let (attempts, errors) = curve(m);
    let mut out = String::new();
    for i in 0..attempts {
        let t = T0 + m * MIN + (i as i64 * 59_000) / attempts as i64;
        let rid = format!("{m:08x}-0a1b-4c2d-9e3f-{i:012x}");
        let other = format!("{m:08x}-0a1b-4c2d-9e3f-{:012x}", 1_000_000 + i);
        out += &cls(t, &rid, "getLoginTicket", &format!("START RequestId: {rid}"));
        // Another function's invocations are not login attempts.
        out += &cls(t, &other, "listOrders", &format!("START RequestId: {other}"));
        if i < errors {
            out += &cls(
                t + 5,
                &rid,
                "getLoginTicket",
                r#"jscode2session {"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute"}"#,
            );
        }
    }
    out
}

#[test]
fn replayed_curve_onset_and_alert_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = dir.path().join("authwatch.toml");
    write(
        &cfg,
        format!(
            r#"[alerting]
clock = "event"
[[alerts]]
alert = "WeChatMinuteQuotaCritical"
pattern = "wx_45011_minute_quota"
measure = "per_minute"
threshold = 20
for_secs = 0
keep_firing_for_secs = 60
severity = "critical"
[[sources]]
name = "cls"
paths = ["{}/*.jsonl"]
format = "cls"
"#,
            logs.display()
        )
        .as_bytes(),
    );
    let export = logs.join("export.jsonl");
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()], &dir.path().join("state"));
    let firing = "authwatch_alert_firing{alertname=\"WeChatMinuteQuotaCritical\",severity=\"critical\"}";
    assert_eq!(d.metric(firing), Some(0.0), "present from the start");
    assert!(!d.metrics().contains("authwatch_45011_onset_attempts_per_minute"), "absent until 45011 appears");

    // Minutes 0-6: the ramp and the burst.
    for m in 0..=6 {
        append(&export, minute_lines(m).as_bytes());
    }
    wait_until("the burst counted", || {
        d.metric("authwatch_errors_total{pattern=\"wx_45011_minute_quota\",source=\"cls\"}") == Some(40.0)
    });
    wait_until("alert firing", || d.metric(firing) == Some(1.0));
    let (_, alerts) = d.get("/api/v1/alerts");
    let v: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    let a = &v["data"]["alerts"][0];
    assert_eq!(a["labels"]["alertname"], "WeChatMinuteQuotaCritical");
    assert_eq!(a["state"], "firing");
    assert_eq!(a["value"], "25");
    assert!(a["annotations"]["fix"].as_str().unwrap().contains("Cache tickets"));

    // Minutes 7-12: the load drops; the event clock moves on and the alert resolves after the hysteresis.
    for m in 7..=12 {
        append(&export, minute_lines(m).as_bytes());
    }
    wait_until("every line counted", || {
        d.metric("authwatch_login_attempts_total{source=\"cls\"}") == Some(curve_total() as f64)
    });
    wait_until("alert resolved", || d.metric(firing) == Some(0.0));
    assert_eq!(d.get("/api/v1/alerts").1, r#"{"status":"success","data":{"alerts":[]}}"#);

    let (status, body) = d.get("/api/v1/rate/wx_45011_minute_quota");
    assert_eq!(status, 200);
    let rate: serde_json::Value = serde_json::from_str(&body).unwrap();
    let minutes = rate["data"]["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 13);
    for (m, row) in minutes.iter().enumerate() {
        let (attempts, errors) = curve(m as i64);
        assert_eq!(row["start_ms"], T0 + m as i64 * MIN, "minute {m}");
        assert_eq!(
            (row["count"].as_u64(), row["login_attempts"].as_u64()),
            (Some(errors), Some(attempts)),
            "minute {m}"
        );
        // The replay starts in minute 0 and ends in minute 12: either may be cut (an export replayed
        // with the event clock ends where it was cut), so both are marked and kept out of the onset.
        assert_eq!(row["partial"], m == 0 || m == 12, "minute {m}");
    }
    assert_eq!(rate["data"]["onset"]["login_attempts_per_minute"], 130);
    assert_eq!(rate["data"]["onset"]["start"], "2025-03-14T01:04:00.000Z");
    assert_eq!(d.metric("authwatch_45011_onset_attempts_per_minute"), Some(130.0));
    assert_eq!(d.metric("authwatch_45011_peak_per_minute"), Some(25.0));
    assert_eq!(d.metric("authwatch_login_attempts_total{source=\"cls\"}"), Some(curve_total() as f64));
    assert_eq!(d.get("/api/v1/rate/nope").0, 404);
    // With every kind of series present (onset, alerts), the exposition is still promtool-clean.
    common::promtool_check(&d.metrics(), "replayed_curve_onset_and_alert_lifecycle");
    d.stop();

    // check --timeline gives the same curve for the exported file.
    let o = common::run(&["check", "--timeline", export.to_str().unwrap()]);
    let t = common::stdout(&o);
    assert!(t.contains("2025-03-14T01:04                          3             130  <- onset"), "{t}");
    assert!(t.contains("2025-03-14T01:06                         25             190\n"), "{t}");
}

fn curve_total() -> u64 {
    (0..=12).map(|m| curve(m).0).sum()
}
