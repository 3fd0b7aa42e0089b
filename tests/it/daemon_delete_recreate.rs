//! A deleted file is read to its end and let go; a new file at the same path is read from 0.

use crate::common::daemon::*;

#[test]
fn delete_and_recreate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let d = Daemon::start(&[log.to_str().unwrap()], &dir.path().join("state"));
    append(&log, &lines("one", 60, 6));
    d.wait_lines(60);
    // Gauges are set at the end of a poll: see the file followed before taking it away.
    d.wait_eq("authwatch_files_watched{source=\"default\"}", 1.0);
    std::fs::remove_file(&log).unwrap();
    d.wait_eq("authwatch_files_watched{source=\"default\"}", 0.0);
    assert_eq!(d.metric("authwatch_file_rotations_total{source=\"default\"}"), Some(1.0));
    append(&log, &lines("two", 25, 5));
    d.wait_lines(85);
    assert_eq!(d.errors("wx_45011_minute_quota"), 10 + 5);
    // Deleted and recreated between two looks: the new inode is a new file.
    std::fs::remove_file(&log).unwrap();
    append(&log, &lines("three", 3, 0));
    d.wait_lines(88);
    d.stop();
}
