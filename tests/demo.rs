//! `authwatch demo`: counters move with no configuration, and the temporary directory goes away.

mod common;
use common::daemon::*;

#[test]
fn demo_counts_lines_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::spawn(
        std::path::Path::new(common::bin()),
        &["demo", "--listen", "127.0.0.1:0", "--log-format", "json"],
        dir.path(),
        |cmd| {
            cmd.env("TMPDIR", dir.path());
        },
    );
    wait_until("demo lines counted", || d.lines() > 20);
    let work: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(work.len(), 1, "one demo directory");
    assert!(work[0].path().join("logs/getLoginTicket.log").exists());
    d.stop();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "demo directory removed");
}
