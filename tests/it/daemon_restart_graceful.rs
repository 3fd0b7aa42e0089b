//! SIGTERM, lines written while stopped, restart: every line counted exactly once across the two runs.

use crate::common::daemon::*;

#[test]
fn graceful_restart_counts_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let state = dir.path().join("state");
    let (a, b) = (logs.join("a.log"), logs.join("b.log"));
    let glob = format!("{}/*.log", logs.display());
    let d = Daemon::start(&[&glob], &state);
    append(&a, &lines("a1", 300, 10));
    append(&b, &lines("b1", 200, 0));
    append(&b, b"{\"errcode\":45011,\"errmsg\":\"api minute-quota"); // partial, completed while stopped
    d.wait_lines(500);
    let first_errors = d.errors("wx_45011_minute_quota");
    assert_eq!(first_errors, 30);
    d.stop();

    append(&a, &lines("a2", 70, 7));
    append(&b, b" reach limit\"}\n");
    append(&logs.join("c.log"), &lines("c", 5, 0));
    let d = Daemon::start(&[&glob], &state);
    d.wait_lines(70 + 1 + 5);
    assert_eq!(d.errors("wx_45011_minute_quota"), 10 + 1);
    // Restarting again with nothing new counts nothing.
    d.stop();
    let d = Daemon::start(&[&glob], &state);
    append(&logs.join("barrier.log"), b"barrier\n");
    d.wait_lines(1);
    d.stop();
}

#[test]
fn from_end_skips_old_lines_of_unknown_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let state = dir.path().join("state");
    append(&log, &lines("old", 40, 0));
    append(&log, b"partial line being written");
    let d = Daemon::start(&["--from", "end", log.to_str().unwrap()], &state);
    append(&log, b" now complete\n");
    d.wait_lines(1);
    append(&log, &lines("new", 9, 0));
    d.wait_lines(10);
    d.stop();
    // With a checkpoint, --from end does not skip what was written while stopped.
    append(&log, &lines("stopped", 4, 0));
    let d = Daemon::start(&["--from", "end", log.to_str().unwrap()], &state);
    d.wait_lines(4);
    d.stop();
}
