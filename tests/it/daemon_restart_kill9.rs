//! kill -9: no line is lost; at most the lines read since the last checkpoint are counted again.

use crate::common;
use crate::common::daemon::*;

#[test]
fn kill9_after_a_checkpoint_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let state = dir.path().join("state");
    // A real process, since kill -9 is the point; checkpoints every 100 ms instead of the default 5 s
    // (the interval is not what is tested).
    let cfg = dir.path().join("authwatch.toml");
    common::write(&cfg, b"[limits]\ncheckpoint_interval_ms = 100\n");
    let d = Daemon::start(&["--config", cfg.to_str().unwrap(), log.to_str().unwrap()], &state);
    append(&log, &lines("a", 500, 50));
    d.wait_lines(500);
    let size = std::fs::metadata(&log).unwrap().len();
    // Wait for the checkpoint that covers all.
    wait_until("checkpoint at end of file", || d.checkpoint_offset(&log) == Some(size));
    d.kill9();
    append(&log, &lines("b", 120, 12));
    let d = Daemon::start(&[log.to_str().unwrap()], &state);
    d.wait_lines(120);
    assert_eq!(d.errors("wx_45011_minute_quota"), 10);
    d.stop();
}

#[test]
fn kill9_between_checkpoints_repeats_at_most_the_unsaved_lines() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    let state = dir.path().join("state");
    let cfg = dir.path().join("authwatch.toml");
    common::write(&cfg, b"[limits]\ncheckpoint_interval_ms = 100\n");
    let d = Daemon::start(&["--config", cfg.to_str().unwrap(), logs.to_str().unwrap()], &state);
    append(&log, &lines("a", 300, 0));
    d.wait_lines(300);
    wait_until("a checkpoint covering app.log", || d.checkpoint_offset(&log).is_some());
    append(&log, &lines("b", 200, 0));
    d.wait_lines(500);
    // The replay can only start at or after the last checkpoint read here.
    let saved = d.checkpoint_offset(&log).unwrap();
    d.kill9();
    let before = std::fs::read(&log).unwrap();
    let unsaved = before[saved as usize..].iter().filter(|&&b| b == b'\n').count() as u64;
    append(&log, &lines("c", 50, 0));
    let d = Daemon::start(&[logs.to_str().unwrap()], &state);
    // A barrier in another file: once it is counted, app.log has been read to its end.
    append(&logs.join("barrier.log"), b"{\"errcode\":40029,\"errmsg\":\"invalid code\"}\n");
    wait_until("the barrier line", || d.errors("wx_40029_invalid_code") == 1);
    let counted = d.lines();
    assert!(counted > 50, "lost lines: {counted} (50 new lines and the barrier were written)");
    assert!(counted <= 50 + 1 + unsaved, "counted {counted}, more than the {unsaved} unsaved lines again");
    d.stop();
}
