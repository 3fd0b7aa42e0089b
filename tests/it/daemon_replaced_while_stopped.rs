//! A file replaced while the daemon was stopped is a new file: read from its beginning, even when the
//! new one is longer than the old offset or reuses the inode.

use crate::common::daemon::*;

#[test]
fn replaced_file_is_read_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let state = dir.path().join("state");
    let d = Daemon::start(&[log.to_str().unwrap()], &state);
    append(&log, &lines("old", 20, 0));
    d.wait_lines(20);
    d.stop();
    std::fs::remove_file(&log).unwrap();
    append(&log, &lines("new", 35, 5));
    let d = Daemon::start(&[log.to_str().unwrap()], &state);
    d.wait_lines(35);
    assert_eq!(d.errors("wx_45011_minute_quota"), 7);
    d.stop();

    // Truncated and rewritten in place while stopped (same inode, other first bytes).
    std::fs::write(&log, lines("rewritten", 50, 0)).unwrap();
    let d = Daemon::start(&[log.to_str().unwrap()], &state);
    d.wait_lines(50);
    d.stop();
}
