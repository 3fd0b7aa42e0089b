//! An unreadable file is logged, counted as a read error and retried; the others are read meanwhile,
//! and it is read in full once it becomes readable. As root (CI), the daemon runs as nobody so that
//! file permissions apply.

use crate::common;
use crate::common::daemon::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

fn chmod(p: &std::path::Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn unreadable_file_is_counted_and_retried() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o777);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    chmod(&logs, 0o777);
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    chmod(&state, 0o777);
    let secret = logs.join("locked.log");
    append(&secret, &lines("locked", 10, 1));
    chmod(&secret, 0o000);
    append(&logs.join("open.log"), &lines("open", 5, 0));
    chmod(&logs.join("open.log"), 0o644);
    // A copy of the binary that nobody can run, wherever the checkout lives.
    let program = dir.path().join("authwatch");
    std::fs::copy(common::bin(), &program).unwrap();
    chmod(&program, 0o755);
    let d = Daemon::start_program(&program, &[logs.to_str().unwrap()], &state, |cmd| {
        if root {
            cmd.uid(65534).gid(65534);
        }
    });
    d.wait_lines(5);
    wait_until("a read error", || d.metric("authwatch_read_errors_total{source=\"default\"}").unwrap_or(0.0) >= 1.0);
    wait_until("the log to say \"cannot open file\"", || d.log_text().contains("cannot open file"));
    assert_eq!(d.errors("wx_45011_minute_quota"), 0);
    chmod(&secret, 0o644);
    // Retried on the next poll (poll_interval_ms, 1 s by default).
    d.wait_lines(15);
    assert_eq!(d.errors("wx_45011_minute_quota"), 10);
    d.stop();
}
