//! copytruncate: the copy (`app.log-20261125`, in the watched directory) is recognised as the file
//! already read and not counted again; the truncated original is read again from 0.

mod common;
use common::daemon::*;

#[test]
fn copytruncate_counts_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    let d = Daemon::start(&[logs.to_str().unwrap()], &dir.path().join("state"));
    append(&log, &lines("first", 200, 20));
    d.wait_lines(200);
    // Lines written just before the copy may not have been read yet: the copy must supply them.
    append(&log, &lines("unread", 7, 1));
    std::fs::copy(&log, logs.join("app.log-20261125")).unwrap();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &lines("second", 40, 4));
    d.wait_lines(247);
    assert_eq!(d.errors("wx_45011_minute_quota"), 10 + 7 + 10);
    d.wait_metric("authwatch_file_truncations_total{source=\"default\"}", 1.0);
    // Barrier: one more line proves nothing else was pending.
    append(&log, &lines("barrier", 1, 0));
    d.wait_lines(248);
    d.stop();
}
