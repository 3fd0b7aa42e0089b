//! State directory faults: a checkpoint that cannot be trusted, and a state directory that fills up or
//! turns read-only under a running daemon. Tailing never stops; failures are counted, /readyz says
//! not ready while checkpoints cannot be written, and ready again once they can.

use crate::common;
use crate::common::daemon::*;
use std::path::Path;
use std::process::Command;

fn config(dir: &Path, log: &Path) -> std::path::PathBuf {
    common::config_with_source(
        dir,
        "[limits]\ncheckpoint_interval_ms = 20\npoll_interval_ms = 20",
        log.to_str().unwrap(),
    )
}

#[test]
fn a_corrupt_checkpoint_is_moved_aside_and_reading_starts_safely() {
    let cases: [(&str, &[u8]); 4] = [
        ("binary garbage", b"\x00\xff\xfe garbage \x01\x02"),
        ("truncated JSON", b"{\"version\": 1, \"files\": [{\"source\": \"default\", \"pa"),
        ("another version", b"{\"version\": 99, \"files\": []}"),
        ("a negative offset", b"{\"version\": 1, \"files\": [{\"source\":\"default\",\"path\":\"/x\",\"dev\":1,\"ino\":2,\"fingerprint\":\"0\",\"fingerprint_bytes\":1,\"offset\":-5}]}"),
    ];
    for (what, bytes) in cases {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        common::write(&state.join("checkpoints.json"), bytes);
        let log = dir.path().join("app.log");
        append(&log, &lines("c", 100, 10));
        let d = Daemon::start(&["--config", config(dir.path(), &log).to_str().unwrap()], &state);
        d.wait_lines(100);
        assert_eq!(d.errors("wx_45011_minute_quota"), 10, "{what}");
        assert_eq!(d.metric("authwatch_checkpoint_load_failures_total"), Some(1.0), "{what}");
        let text = d.log_text();
        assert!(text.contains("moved to") && text.contains("starting without checkpoints"), "{what}: {text}");
        let aside: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("checkpoints.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1, "{what}: the bad file is kept for inspection");
        assert_eq!(std::fs::read(state.join(&aside[0])).unwrap(), bytes, "{what}");
        // A good checkpoint replaces it, and a restart resumes from it.
        wait_until("a fresh checkpoint", || d.checkpoint_offset(&log) == Some(std::fs::metadata(&log).unwrap().len()));
        d.stop();
        append(&log, &lines("d", 5, 1));
        let d = Daemon::start(&["--config", config(dir.path(), &log).to_str().unwrap()], &state);
        d.wait_lines(5);
        assert_eq!(d.metric("authwatch_checkpoint_load_failures_total"), Some(0.0), "{what}");
        d.stop();
    }
}

/// Runs `sh -c script` inside the daemon's mount namespace.
fn in_namespace(pid: i32, script: &str) -> std::process::Output {
    Command::new("nsenter").args(["-t", &pid.to_string(), "-m", "sh", "-c", script]).output().expect("nsenter runs")
}

#[test]
fn a_full_or_read_only_state_dir_keeps_tailing_and_reports_not_ready() {
    const TEST: &str = "a_full_or_read_only_state_dir_keeps_tailing_and_reports_not_ready";
    // A private mount namespace with a small tmpfs as the state directory: needs root and util-linux.
    let (Some(unshare), Some(_)) = (common::external_tool("unshare", TEST), common::external_tool("nsenter", TEST))
    else {
        return;
    };
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        assert!(std::env::var("CI").is_err(), "{TEST}: CI must run as root (mount namespaces)");
        eprintln!("SKIPPED {TEST}: not root, cannot mount a tmpfs state directory");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let log = dir.path().join("app.log");
    append(&log, &lines("a", 10, 0));
    let config = config(dir.path(), &log);
    let script = "mount -t tmpfs -o size=128k tmpfs \"$1\" && exec \"$2\" run --listen 127.0.0.1:0 --log-format json --state-dir \"$1\" --config \"$3\"";
    let args = [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        state.to_str().unwrap(),
        common::bin(),
        config.to_str().unwrap(),
    ];
    let d = Daemon::spawn(&unshare, &args, &state, |_| {});
    d.wait_lines(10);
    let st = state.display();

    // Full: fill the tmpfs, then give the daemon something new to checkpoint.
    let out = in_namespace(d.pid(), &format!("dd if=/dev/zero of={st}/fill bs=4096 2>&1; df -k {st}"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No space left"), "{out:?}");
    append(&log, &lines("b", 1000, 100));
    d.wait_lines(1010);
    wait_until("/readyz reports the state directory", || {
        let (status, body) = d.get("/readyz");
        status == 503 && body.contains("cannot write checkpoints")
    });
    assert_eq!(d.metric("authwatch_checkpoint_healthy"), Some(0.0));
    assert!(d.metric("authwatch_checkpoint_failures_total").unwrap() >= 1.0);
    // Still tailing and counting while not ready.
    append(&log, &lines("c", 10, 1));
    d.wait_lines(1020);
    assert_eq!(d.errors("wx_45011_minute_quota"), 20);
    wait_until("the log to say \"cannot write checkpoint; reading goes on\"", || {
        d.log_text().contains("cannot write checkpoint; reading goes on")
    });
    // No temporary files left behind in the full directory (the history goes with the checkpoint:
    // written beside it while there was room, not after a checkpoint failed).
    let listing = in_namespace(d.pid(), &format!("ls -A {st}"));
    assert_eq!(String::from_utf8_lossy(&listing.stdout).trim(), "authwatch.lock\ncheckpoints.json\nfill\nhistory.json");
    // Space comes back: the next checkpoint succeeds and the daemon is ready again.
    in_namespace(d.pid(), &format!("rm {st}/fill"));
    wait_until("ready again after space is freed", || d.get("/readyz").0 == 200);
    assert_eq!(d.metric("authwatch_checkpoint_healthy"), Some(1.0));

    // Read-only: same story.
    let failures = d.metric("authwatch_checkpoint_failures_total").unwrap();
    let out = in_namespace(d.pid(), &format!("mount -o remount,ro {st}"));
    assert!(out.status.success(), "{out:?}");
    append(&log, &lines("d", 10, 0));
    d.wait_lines(1030);
    wait_until("not ready on a read-only state dir", || d.get("/readyz").0 == 503);
    assert!(d.metric("authwatch_checkpoint_failures_total").unwrap() > failures);
    in_namespace(d.pid(), &format!("mount -o remount,rw {st}"));
    wait_until("ready again after remount rw", || d.get("/readyz").0 == 200);
    let written = in_namespace(d.pid(), &format!("cat {st}/checkpoints.json"));
    let offset = serde_json::from_slice::<serde_json::Value>(&written.stdout).unwrap()["files"][0]["offset"].as_u64();
    assert_eq!(offset, Some(std::fs::metadata(&log).unwrap().len()), "the checkpoint caught up");
    d.stop();
}
