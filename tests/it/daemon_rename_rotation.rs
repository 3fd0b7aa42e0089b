//! Rotation by rename + create: the old file is read to its end (including what the writer still
//! appends through its open handle), the new one from its beginning, nothing twice, whether or not the
//! rotated name is still in the watched set.

use crate::common::daemon::*;
use std::io::Write;

fn rotate_case(glob_suffix: &str) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    let d = Daemon::start(&[&format!("{}/{glob_suffix}", logs.display())], &dir.path().join("state"));
    // The writer holds its handle across the rename, as loggers do until they reopen.
    let mut writer = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
    writer.write_all(&lines("before", 100, 10)).unwrap();
    d.wait_lines(100);
    std::fs::rename(&log, logs.join("app.log.1")).unwrap();
    writer.write_all(&lines("late", 5, 1)).unwrap();
    drop(writer);
    append(&log, &lines("after", 30, 3));
    d.wait_lines(135);
    assert_eq!(d.errors("wx_45011_minute_quota"), 10 + 5 + 10);
    // A second rotation, and the barrier of one more line: still nothing counted twice.
    std::fs::rename(&log, logs.join("app.log.2")).unwrap();
    append(&log, &lines("third", 1, 0));
    d.wait_lines(136);
    d.stop();
}

#[test]
fn rotated_name_outside_the_glob() {
    rotate_case("*.log");
}

#[test]
fn rotated_name_inside_the_glob_is_the_same_file() {
    rotate_case("app.log*");
}
