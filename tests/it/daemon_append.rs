//! Lines appended to a watched file are counted once each, with their errors.

use crate::common::daemon::*;

#[test]
fn appended_lines_are_counted_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    append(&log, &lines("a", 10, 5)); // present before start: read from the beginning
    let d = Daemon::start(&[&format!("{}/*.log", logs.display())], &dir.path().join("state"));
    d.wait_lines(10);
    assert_eq!(d.errors("wx_45011_minute_quota"), 2);
    for round in 0..20 {
        append(&log, &lines(&format!("r{round}"), 50, 10));
    }
    d.wait_lines(1010);
    assert_eq!(d.errors("wx_45011_minute_quota"), 2 + 20 * 5);
    // A file created after start-up is found and read from its beginning.
    append(&logs.join("new.log"), &lines("n", 7, 0));
    d.wait_lines(1017);
    d.wait_eq("authwatch_files_watched{source=\"default\"}", 2.0);
    let bytes = std::fs::metadata(&log).unwrap().len() + std::fs::metadata(logs.join("new.log")).unwrap().len();
    d.wait_eq("authwatch_bytes_total{source=\"default\"}", bytes as f64);
    d.wait_eq("authwatch_lag_bytes{source=\"default\"}", 0.0);
    d.stop();
}
