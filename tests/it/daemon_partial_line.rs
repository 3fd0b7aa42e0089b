//! A last line without its newline waits for it, and is then counted once.

use crate::common::daemon::*;

#[test]
fn partial_lines_wait_for_their_newline() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    let barrier = logs.join("barrier.log");
    let d = Daemon::start(&[logs.to_str().unwrap()], &dir.path().join("state"));
    append(&log, b"{\"errcode\":45011,\"errmsg\":\"api minute-");
    // Every poll reads every file: once the barrier's line is counted, the partial one was seen too.
    append(&barrier, b"barrier 1\n");
    d.wait_lines(1);
    assert_eq!(d.errors("wx_45011_minute_quota"), 0);
    append(&log, b"quota reach limit\"}");
    append(&barrier, b"barrier 2\n");
    d.wait_lines(2);
    append(&log, b"\n");
    d.wait_lines(3);
    assert_eq!(d.errors("wx_45011_minute_quota"), 1);
    // The offset stops at the end of the last complete line.
    append(&log, b"tail without newline");
    append(&barrier, b"barrier 3\n");
    d.wait_lines(4);
    let d_state = d.state_dir.clone();
    d.stop();
    let complete = std::fs::metadata(&log).unwrap().len() - "tail without newline".len() as u64;
    assert_eq!(checkpoint_offset(&d_state, &log), Some(complete));
}
