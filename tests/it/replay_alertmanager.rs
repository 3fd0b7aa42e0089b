//! A CLS JSON export with a 45011 burst in the middle of quiet minutes, dropped in whole into a
//! directory `authwatch run` watches with the event clock: a real Alertmanager (Debian
//! prometheus-alertmanager) notifies a webhook receiver run by this test of the alert firing, with
//! `startsAt` in the burst's first minute, and then of its resolution, with `endsAt` after the burst.

use crate::common::daemon::*;
use crate::common::forms::{Call, Outcome, cls_json};
use crate::common::{alertmanager, external_tool, write};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const T0: i64 = 1_741_914_000_000; // 2025-03-14T01:00:00Z
const MIN: i64 = 60_000;

/// Minutes 0 to `minutes - 1` with 40 login calls each; in the `burst` minutes, 30 of them refused with
/// 45011.
fn export(minutes: i64, burst: &[i64]) -> Vec<u8> {
    let mut calls = Vec::new();
    for m in 0..minutes {
        for i in 0..40 {
            let refused = burst.contains(&m) && i < 30;
            calls.push(Call {
                request_id: format!("{m:08x}-0a1b-4c2d-9e3f-{i:012x}"),
                function: "getLoginTicket".into(),
                start_ms: T0 + m * MIN + i * 1_400 + 200,
                duration_ms: 80,
                outcome: if refused { Outcome::Returned { errcode: 45011 } } else { Outcome::Ok },
            });
        }
    }
    cls_json(&calls)
}

/// A webhook receiver: every POST body it gets, in order.
pub(crate) fn webhook() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_ok() {
                if let Ok(v) = serde_json::from_slice(&body) {
                    store.lock().unwrap().push(v);
                }
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (addr, got)
}

/// (status, startsAt, endsAt) of the WeChatMinuteQuotaCritical alert in each notification.
fn notified(got: &Mutex<Vec<serde_json::Value>>) -> Vec<(String, String, String)> {
    got.lock()
        .unwrap()
        .iter()
        .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["labels"]["alertname"] == "WeChatMinuteQuotaCritical")
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (s("status"), s("startsAt"), s("endsAt"))
        })
        .collect()
}

#[test]
fn a_burst_in_the_middle_of_a_dropped_export_fires_and_resolves_in_event_time() {
    let test = "a_burst_in_the_middle_of_a_dropped_export_fires_and_resolves_in_event_time";
    let Some(am_bin) = external_tool("prometheus-alertmanager", test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = webhook();
    let (_am, am) = alertmanager(
        &am_bin,
        dir.path(),
        &format!(
            "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{hook}/\n        send_resolved: true\n"
        ),
    );

    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = dir.path().join("authwatch.toml");
    write(
        &cfg,
        format!(
            r#"[alerting]
clock = "event"
replay_idle_secs = 1
[[alerts]]
alert = "WeChatMinuteQuotaCritical"
pattern = "wx_45011_minute_quota"
measure = "per_minute"
threshold = 20
for_secs = 60
keep_firing_for_secs = 60
severity = "critical"
[alertmanager]
url = "http://{am}"
resend_interval_secs = 1
resolve_hold_secs = 4
[[sources]]
name = "cls"
paths = ["{}/*.jsonl"]
format = "cls"
"#,
            logs.display()
        )
        .as_bytes(),
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()], &dir.path().join("state"));
    // Dropped in whole: written beside the directory, then renamed into it.
    let staged = dir.path().join("export.jsonl");
    write(&staged, &export(12, &[5, 6]));
    std::fs::rename(&staged, logs.join("export.jsonl")).unwrap();

    wait_until("the firing and the resolved notification", || {
        let n = notified(&got);
        n.iter().any(|a| a.0 == "firing") && n.iter().any(|a| a.0 == "resolved")
    });
    let n = notified(&got);
    let firing = n.iter().find(|a| a.0 == "firing").unwrap();
    let resolved = n.iter().find(|a| a.0 == "resolved").unwrap();
    assert!(n.iter().position(|a| a.0 == "firing") < n.iter().position(|a| a.0 == "resolved"), "firing first: {n:?}");
    // Pending at the close of minute 5 (the burst's first), firing a minute later (for_secs = 60):
    // activeAt is the close of minute 5.
    assert_eq!(firing.1, "2025-03-14T01:05:59.999Z", "{n:?}");
    assert_eq!(resolved.1, firing.1, "the same episode");
    // Minute 7 still sees minute 6 (per_minute), false from minute 8, resolved 60 s later.
    assert_eq!(resolved.2, "2025-03-14T01:09:59.999Z", "{n:?}");
    assert_eq!(n.iter().filter(|a| a.0 == "resolved").count(), 1, "resolved once: {n:?}");
    // The daemon's own view: no alert left, the curve complete and the last minute closed.
    assert_eq!(d.get("/api/v1/alerts").1, r#"{"status":"success","data":{"alerts":[]}}"#);
    let (_, body) = d.get("/api/v1/rate/wx_45011_minute_quota");
    let rate: serde_json::Value = serde_json::from_str(&body).unwrap();
    let counts: Vec<u64> =
        rate["data"]["minutes"].as_array().unwrap().iter().map(|m| m["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [0, 0, 0, 0, 0, 30, 30, 0, 0, 0, 0, 0]);
    assert_eq!(rate["data"]["onset"]["start"], "2025-03-14T01:05:00.000Z");
    d.stop();
}

/// When input stops, the last minute is judged complete after `replay_idle_secs`: an alert that needs
/// "no more 45011" resolves. One whose condition still holds at the end stays firing (that is what the
/// data says) until SIGHUP raises its threshold above the value: judged at once, with no new line.
#[test]
fn idle_input_closes_the_last_minute_and_a_threshold_raised_at_sighup_is_judged_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = dir.path().join("authwatch.toml");
    let config = |threshold: u32| {
        format!(
            r#"[alerting]
clock = "event"
replay_idle_secs = 3
[[alerts]]
alert = "QuotaLastMinute"
pattern = "wx_45011_minute_quota"
measure = "count"
window_secs = 60
threshold = 20
keep_firing_for_secs = 0
severity = "warning"
[[alerts]]
alert = "WeChatMinuteQuotaCritical"
pattern = "wx_45011_minute_quota"
measure = "per_minute"
threshold = {threshold}
keep_firing_for_secs = 60
severity = "critical"
[[sources]]
name = "cls"
paths = ["{}/*.jsonl"]
format = "cls"
"#,
            logs.display()
        )
    };
    write(&cfg, config(20).as_bytes());
    // In process, on a clock of the test's: the idle time is driven, not waited for.
    let d = Daemon::in_process(&[], Some(&cfg), &dir.path().join("state"), 1_765_000_000_000);
    // Minutes 0-6, the burst in minute 5: the export ends in a quiet minute 6.
    let staged = dir.path().join("export.jsonl");
    write(&staged, &export(7, &[5]));
    std::fs::rename(&staged, logs.join("export.jsonl")).unwrap();
    let last_minute = "authwatch_alert_firing{alertname=\"QuotaLastMinute\",severity=\"warning\"}";
    let critical = "authwatch_alert_firing{alertname=\"WeChatMinuteQuotaCritical\",severity=\"critical\"}";
    // Minute 5 is closed at once: both fire. At the newest line (in minute 6) the last 60 s still reach
    // into minute 5.
    d.wait_eq(critical, 1.0);
    d.wait_eq(last_minute, 1.0);
    // Not idle yet on the daemon's clock: minute 6 stays open however long real time takes.
    d.advance(2_999);
    assert_eq!(d.metric(last_minute), Some(1.0));
    // Once idle, minute 6 is closed: its 60 s hold no 45011, QuotaLastMinute resolves; per_minute still
    // sees minute 5 (the last complete one), so the critical alert fires on.
    d.advance(1);
    d.wait_eq(last_minute, 0.0);
    assert_eq!(d.metric(critical), Some(1.0));
    let alerts = d.get("/api/v1/alerts").1;
    assert!(
        alerts.contains("\"activeAt\":\"2025-03-14T01:05:59.999Z\"") && !alerts.contains("QuotaLastMinute"),
        "{alerts}"
    );
    write(&cfg, config(100).as_bytes());
    d.hup();
    d.wait_eq(critical, 0.0);
    assert_eq!(d.get("/api/v1/alerts").1, r#"{"status":"success","data":{"alerts":[]}}"#);
    d.stop();
}
