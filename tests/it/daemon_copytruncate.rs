//! copytruncate: the copy (`app.log-20261125`, in the watched directory) is recognised as the file
//! already read and not counted again; the truncated original is read again from 0.

use crate::common::daemon::*;

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

/// A copy of a few MB written in 64 KiB chunks (cp's and logrotate's read/write loop) while the daemon
/// watches it grow: its bytes were all counted in the original, though they arrive after it is found.
#[test]
fn a_copy_seen_while_it_is_written_is_not_counted_again() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    let d = Daemon::start(&[logs.to_str().unwrap()], &dir.path().join("state"));
    append(&log, &lines("big", 30_000, 100)); // about 2.8 MB
    d.wait_lines(30_000);
    let data = std::fs::read(&log).unwrap();
    assert!(data.len() > 2_500_000, "{}", data.len());
    let mut copy = std::fs::File::create(logs.join("app.log.1")).unwrap();
    let mut chunks = data.chunks(64 * 1024);
    copy.write_all(chunks.next().unwrap()).unwrap();
    // The daemon has found the copy while it holds one chunk of more than forty.
    d.wait_eq("authwatch_files_watched{source=\"default\"}", 2.0);
    for c in chunks {
        copy.write_all(c).unwrap();
    }
    drop(copy);
    // copytruncate: the original is truncated once the copy is complete; the logger writes on.
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &lines("after", 50, 5));
    d.wait_lines(30_050);
    d.wait_metric("authwatch_file_truncations_total{source=\"default\"}", 1.0);
    append(&log, &lines("barrier", 1, 0));
    d.wait_lines(30_051);
    assert_eq!(d.errors("wx_45011_minute_quota"), 300 + 10);
    d.stop();
}
