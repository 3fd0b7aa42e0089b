//! The status page at `/` renders in a real browser (Debian chromium, headless): the 45011 chart with
//! its bars, the login-attempts line and the onset marker, the patterns table and the alerts.

mod common;
use common::daemon::*;
use common::external_tool;

fn cls(time_ms: i64, message: &str) -> String {
    serde_json::json!({"SCF_FunctionName": "getLoginTicket", "SCF_LogTime": (time_ms * 1_000_000).to_string(), "SCF_Message": message})
        .to_string()
        + "\n"
}

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
                data += &cls(t + 1, r#"{"errcode":45011,"errmsg":"api minute-quota reach limit"}"#);
            }
        }
    }
    data += &cls(t0 + 6 * 60_000, "SIGN_PARAM_INVALID: credential signature verification failed");
    append(&log, data.as_bytes());
    // The event clock makes the 2025 lines "now", so the default SignParamInvalid alert fires.
    let cfg = dir.path().join("authwatch.toml");
    common::write(
        &cfg,
        format!("[alerting]\nclock = \"event\"\n[[sources]]\nname = \"default\"\npaths = [\"{}\"]\n", log.display())
            .as_bytes(),
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()], &dir.path().join("state"));
    d.wait_lines(data.lines().count() as u64);
    // The page reads what the tailer hands over at the end of a poll, and the alert what it evaluates.
    d.wait_eq("authwatch_alert_firing{alertname=\"SignParamInvalid\",severity=\"critical\"}", 1.0);
    d.wait_eq("authwatch_45011_onset_attempts_per_minute", 140.0);
    let url = format!("http://{}/", d.addr);
    let profile = dir.path().join("chromium-profile");
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<svg id=\"rate-chart\""),
        "no chart in the rendered page:\n{dom}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Seven minutes of history: seven bars (three of them non-empty), the attempts line, the onset marker.
    assert_eq!(dom.matches("class=\"bar-45011\"").count(), 7, "{dom}");
    assert!(dom.contains("id=\"attempts-line\""), "{dom}");
    assert!(dom.contains("id=\"onset-marker\""), "{dom}");
    assert!(dom.contains("onset: 140 attempts/min"), "{dom}");
    assert!(dom.contains("<table id=\"patterns\">"), "{dom}");
    assert!(dom.contains("<td>SignParamInvalid</td><td>firing</td>"), "the firing alert is listed: {dom}");
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
            "--window-size=800,900",
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
