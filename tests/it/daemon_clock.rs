//! The daemon on a test's clock (`Daemon::in_process`): its timers fire when the test moves the
//! clock, not when real time passes, so tests drive checkpoints, rescans and replay's idle time.

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
