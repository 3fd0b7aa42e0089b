//! The daemon on a test's clock (`Daemon::in_process`): its timers fire when the test moves the
//! clock, not when real time passes, so tests drive checkpoints, rescans and replay's idle time.

use crate::common;
use crate::common::daemon::*;

const T0: u64 = 1_741_915_325_000;

#[test]
fn checkpoints_are_written_when_the_clock_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let state = dir.path().join("state");
    append(&log, &lines("a", 10, 5));
    let d = Daemon::in_process(&[log.to_str().unwrap()], None, &state, T0);
    d.wait_lines(10);
    let first = d.checkpoint_offset(&log);
    append(&log, &lines("b", 20, 5));
    d.wait_lines(30);
    // Read, but the checkpoint interval (5 s) has not passed on the daemon's clock: not saved yet,
    // however long real time takes.
    assert_eq!(d.checkpoint_offset(&log), first);
    d.advance(4_999);
    assert_eq!(d.checkpoint_offset(&log), first, "saved before its time");
    d.advance(1);
    let size = std::fs::metadata(&log).unwrap().len();
    wait_until("the checkpoint covering app.log", || d.checkpoint_offset(&log) == Some(size));
    assert_eq!(d.errors("wx_45011_minute_quota"), 6);
    d.stop();
}

#[test]
fn a_rotated_file_is_let_go_when_the_clock_has_passed_its_grace() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    append(&log, &lines("a", 5, 0));
    let d = Daemon::in_process(&[log.to_str().unwrap()], None, &dir.path().join("state"), T0);
    d.wait_lines(5);
    // Renamed out of the watched path: read on through the handle held until quiet for two poll
    // intervals of the daemon's clock (a logger may still write to it).
    std::fs::rename(&log, logs.join("app.log.1")).unwrap();
    d.advance(1_000);
    append(&logs.join("app.log.1"), &lines("b", 3, 0));
    d.advance(1_000);
    d.wait_lines(8);
    let rotations = "authwatch_file_rotations_total{source=\"default\"}";
    wait_until("the rotation seen", || d.metric(rotations) == Some(1.0));
    assert_eq!(d.metric("authwatch_files_watched{source=\"default\"}"), Some(1.0), "still followed");
    d.advance(2_000);
    d.advance(1_000);
    wait_until("let go", || d.metric("authwatch_files_watched{source=\"default\"}") == Some(0.0));
    d.stop();
}

/// A CLS JSON record of `getLoginTicket` at `time_ms`.
fn cls(time_ms: i64, message: &str) -> String {
    serde_json::json!({"SCF_FunctionName": "getLoginTicket", "SCF_LogTime": (time_ms * 1_000_000).to_string(), "SCF_Message": message})
        .to_string()
        + "\n"
}

/// A replayed export's last minute, once replay_idle_secs has closed it, is complete everywhere: the
/// status page draws it and `authwatch_45011_last_minute` is its count, as `check` says of the same
/// export (`check -o prometheus`). Before it is closed, both still show the minute before it.
#[test]
fn a_replays_last_minute_closed_by_idle_shows_on_the_status_page_and_in_the_last_minute_gauge() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("export.jsonl");
    let t0 = 1_741_914_000_000i64; // 2025-03-14T01:00:00Z
    let mut data = String::new();
    // Minutes 01:00-01:03: 20 attempts each; 45011 three times in 01:02, seven times in 01:03 (the last).
    for (m, refused) in [(0i64, 0), (1, 0), (2, 3), (3, 7)] {
        for i in 0..20i64 {
            let t = t0 + m * 60_000 + 1_000 + i * 2_000;
            data += &cls(t, "START RequestId: 8f4c0b5e-0a1b-4c2d-9e3f-123456789abc");
            if i < refused {
                data += &cls(t + 1, "jscode2session {\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}");
            }
        }
    }
    append(&log, data.as_bytes());
    let cfg = dir.path().join("authwatch.toml");
    let toml = format!(
        "[alerting]\nclock = \"event\"\nreplay_idle_secs = 30\n[[sources]]\nname = \"default\"\npaths = [\"{}\"]\n",
        log.display()
    );
    std::fs::write(&cfg, toml).unwrap();
    // The daemon's clock a little after the export (its times are not in the future).
    let d = Daemon::in_process(&[], Some(&cfg), &dir.path().join("state"), (t0 + 10 * 60_000) as u64);
    d.wait_lines(data.lines().count() as u64);
    let last = "authwatch_45011_last_minute";
    // Input still flowing as far as the daemon knows: 01:03 is the running minute.
    d.wait_eq(last, 3.0);
    let (_, page) = d.get("/");
    assert!(page.contains("The running minute (01:03 UTC) is drawn once it is complete."), "{page}");
    assert_eq!(page.matches("class=\"bar-45011\"").count(), 1, "only 01:02 is drawn: {page}");
    // No new line for replay_idle_secs of the daemon's clock: 01:03 is closed, complete, and shown.
    d.advance(29_999);
    assert_eq!(d.metric(last), Some(3.0), "closed before its time");
    d.advance(1);
    d.wait_eq(last, 7.0);
    assert_eq!(d.metric("authwatch_login_attempts_last_minute"), Some(20.0));
    let (_, page) = d.get("/");
    assert!(!page.contains("running minute"), "{page}");
    assert_eq!(page.matches("class=\"bar-45011\"").count(), 2, "01:02 and 01:03 are drawn: {page}");
    let (_, rate) = d.get("/api/v1/rate/wx_45011_minute_quota");
    let rate: serde_json::Value = serde_json::from_str(&rate).unwrap();
    assert_eq!(rate["data"]["last_complete_minute"], "2025-03-14T01:03:00.000Z");
    d.stop();
    // `check` of the same export says the same of its last minute.
    let o = common::run(&["check", "-o", "prometheus", log.to_str().unwrap()]);
    let text = common::stdout(&o);
    assert!(text.lines().any(|l| l == "authwatch_45011_last_minute 7"), "{text}");
}
