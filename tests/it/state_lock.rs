//! One state directory, one daemon (issue 21): a second `authwatch run` on a state directory in use
//! exits non-zero at once, naming the directory and the first daemon's pid, and adds nothing to its
//! history. The lock goes with the first daemon, whether it stops cleanly or is killed with SIGKILL.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::daemon::*;
use crate::common::{bin, write};

/// A second `run` on `state`: (exit code, stderr, how long it took).
fn second_run(state: &std::path::Path, logs: &std::path::Path) -> (Option<i32>, String, Duration) {
    let t = Instant::now();
    let o = Command::new(bin())
        .args(["run", "--listen", "127.0.0.1:0", "--state-dir", state.to_str().unwrap(), logs.to_str().unwrap()])
        .output()
        .expect("authwatch runs");
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), t.elapsed())
}

#[test]
fn a_second_daemon_on_a_state_directory_in_use_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write(&logs.join("app.log"), b"2025-03-14T01:00:01.000Z\tr1\tjscode2session {\"errcode\":45011}\n");
    let state = dir.path().join("state");
    let first = Daemon::start(&[logs.to_str().unwrap()], &state);
    first.wait_lines(1);
    let (code, stderr, took) = second_run(&state, &logs);
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    assert!(stderr.contains(&state.display().to_string()), "names the directory: {stderr}");
    assert!(stderr.contains(&format!("pid {}", first.pid())), "names the first daemon's pid: {stderr}");
    assert!(took < Duration::from_secs(5), "at once, not after a timeout: {took:?}");
    // The first daemon is untouched: its count is its own.
    assert_eq!(first.errors("wx_45011_minute_quota"), 1);

    // Freed on a clean exit: the next daemon starts.
    first.stop();
    let again = Daemon::start(&[logs.to_str().unwrap()], &state);
    // Freed by SIGKILL too: the kernel drops the lock with the process.
    again.kill9();
    let third = Daemon::start(&[logs.to_str().unwrap()], &state);
    let (code, stderr, _) = second_run(&state, &logs);
    assert!(code.is_some_and(|c| c != 0) && stderr.contains(&format!("pid {}", third.pid())), "{stderr}");
    third.stop();
}
