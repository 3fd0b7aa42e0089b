//! The log directory itself goes away: renamed away and back (the same files: resumed by dev/inode and
//! fingerprint, nothing counted twice, nothing lost), and deleted and made anew (new files, read from
//! their start). The daemon stays ready throughout.

use crate::common;
use crate::common::daemon::*;

#[test]
fn log_dir_renamed_away_and_back_then_deleted_and_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let config = common::config_with_source(
        dir.path(),
        "[limits]\npoll_interval_ms = 20\ncheckpoint_interval_ms = 20",
        &format!("{}/*.log", logs.display()),
    );
    append(&logs.join("app.log"), &lines("first", 100, 10));
    let d = Daemon::start(&["--config", config.to_str().unwrap()], &dir.path().join("state"));
    d.wait_lines(100);

    // Renamed away: the daemon lets the file go once it is quiet; lines written meanwhile wait.
    let away = dir.path().join("logs.away");
    std::fs::rename(&logs, &away).unwrap();
    append(&away.join("app.log"), &lines("while-away", 10, 1));
    d.wait_eq("authwatch_files_watched{source=\"default\"}", 0.0);
    std::fs::rename(&away, &logs).unwrap();
    append(&logs.join("app.log"), &lines("back", 10, 0));
    d.wait_lines(120);
    assert_eq!(d.errors("wx_45011_minute_quota"), 20, "counted twice or lost:\n{}", d.log_text());
    d.wait_eq("authwatch_files_watched{source=\"default\"}", 1.0);

    // Deleted, then a new directory with new files: read from their beginning.
    std::fs::remove_dir_all(&logs).unwrap();
    d.wait_eq("authwatch_files_watched{source=\"default\"}", 0.0);
    assert_eq!(d.get("/readyz").0, 200);
    std::fs::create_dir(&logs).unwrap();
    append(&logs.join("app.log"), &lines("new-dir", 30, 3));
    append(&logs.join("other.log"), &lines("new-dir-2", 20, 0));
    d.wait_lines(170);
    assert_eq!(d.errors("wx_45011_minute_quota"), 30);
    // Still followed after the directory was replaced (inotify or the poll found it again).
    append(&logs.join("app.log"), &lines("after", 5, 1));
    d.wait_lines(175);
    assert_eq!(d.errors("wx_45011_minute_quota"), 35);
    assert_eq!(d.get("/readyz").0, 200);
    d.stop();
}
