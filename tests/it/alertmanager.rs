//! The daemon pushes its alerts to a real Alertmanager (Debian prometheus-alertmanager) started on
//! 127.0.0.1 by this test: the firing alert shows in Alertmanager's API, and its resolution clears it.

use crate::common::daemon::*;
use crate::common::{alertmanager, external_tool, http_get, write};

fn active_alert_names(am: &str) -> Vec<String> {
    let Some((200, body)) = http_get(am, "/api/v2/alerts?active=true&silenced=false&inhibited=false") else {
        return vec![];
    };
    let (Some(a), Some(b)) = (body.find('['), body.rfind(']')) else { return vec![] };
    let v: serde_json::Value = serde_json::from_str(&body[a..=b]).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["status"]["state"] == "active")
        .filter_map(|x| x["labels"]["alertname"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn firing_and_resolved_alerts_reach_a_real_alertmanager() {
    let Some(am_bin) = external_tool("prometheus-alertmanager", "firing_and_resolved_alerts_reach_a_real_alertmanager")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_am, am) = alertmanager(&am_bin, dir.path(), "route:\n  receiver: devnull\nreceivers:\n  - name: devnull\n");

    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = dir.path().join("authwatch.toml");
    write(
        &cfg,
        format!(
            "[alerting]\nclock = \"event\"\n[[alerts]]\nalert = \"SignParamInvalid\"\npattern = \"sign_param_invalid\"\nmeasure = \"count\"\nthreshold = 1\nwindow_secs = 120\nkeep_firing_for_secs = 60\nseverity = \"critical\"\n[alertmanager]\nurl = \"http://{am}\"\nresend_interval_secs = 1\nresolve_hold_secs = 1\n[[sources]]\nname = \"fn\"\npaths = [\"{}/*.log\"]\n",
            logs.display()
        )
        .as_bytes(),
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()], &dir.path().join("state"));
    let log = logs.join("getLoginTicket.log");
    append(&log, b"2025-03-14T01:00:05.000Z\t8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\tSIGN_PARAM_INVALID: credential signature verification failed\n");
    wait_until("the alert in Alertmanager", || active_alert_names(&am).contains(&"SignParamInvalid".to_string()));
    let (_, body) = http_get(&am, "/api/v2/alerts").unwrap();
    assert!(body.contains("\"severity\":\"critical\"") && body.contains("Re-download the private key"), "{body}");

    // Time moves on (event clock): the error leaves the 2-minute window, the alert resolves, and
    // Alertmanager is told once.
    append(
        &log,
        b"2025-03-14T01:10:00.000Z\t9d5e1c6f-0a1b-4c2d-9e3f-123456789abc\t[getLoginTicket] ticket length: 472\n",
    );
    // Another call (its own request id): a call's lines all count at the call's time.
    append(&log, b"2025-03-14T01:10:01.000Z\t9d5e1c6f-0a1b-4c2d-9e3f-123456789abc\t{\"errcode\":40029,\"errmsg\":\"invalid code\"}\n");
    wait_until("resolved in Alertmanager", || !active_alert_names(&am).contains(&"SignParamInvalid".to_string()));
    assert!(d.metric("authwatch_alertmanager_notifications_total{result=\"success\"}").unwrap_or(0.0) >= 2.0);
    d.stop();
}
