//! `authwatch demo`: counters move with no configuration, and the temporary directory goes away.

use crate::common;
use crate::common::daemon::*;

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
    // No warning about its own files (a glob matching nothing yet, say): only info lines.
    let log = d.log_text();
    let warnings: Vec<&str> = log.lines().filter(|l| !l.contains("\"level\":\"INFO\"")).collect();
    assert!(warnings.is_empty(), "the demo warns about itself: {warnings:?}");
    d.stop();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "demo directory removed");
}

/// The demo announces that 45011 "starts above 100/min": its load, written from any second of a minute
/// on, has its first whole minute with 45011 above 100 login attempts (the daemon reports only complete
/// minutes; `observe`'s unit tests show a filling minute is not reported).
#[test]
fn the_demo_onset_is_above_the_quota_it_announces() {
    const MINUTE_MS: u64 = 60_000;
    let t0 = 1_741_914_000_000u64;
    let dir = tempfile::tempdir().unwrap();
    for offset_ms in [0, 100, 17_300, 45_000, 59_900] {
        let start = t0 + offset_ms;
        let mut load = authwatch::demo::Load::new(start);
        let mut buf = Vec::new();
        // Four minutes at the writer's 100 ms ticks, driven here.
        for k in 1..=2400u64 {
            load.tick(k as f64 * 0.1, 0.1, start + k * 100, &mut buf);
        }
        let log = dir.path().join(format!("demo-{offset_ms}.log"));
        common::write(&log, &buf);
        let o =
            common::run(&["check", "--output", "json", "--timeline", "wx_45011_minute_quota", log.to_str().unwrap()]);
        let v = common::json(&o);
        let onset = &v["timeline"]["onset"];
        let attempts = onset["login_attempts_per_minute"].as_u64().unwrap_or_else(|| panic!("{offset_ms}: {onset}"));
        assert!(attempts > 100, "start at +{offset_ms} ms: onset {attempts}/min, not above the quota: {onset}");
        let minutes = v["timeline"]["minutes"].as_array().unwrap();
        let first = &minutes[0];
        assert_eq!(first["partial"], true, "the first minute is cut by the start of the log");
        let onset_start = onset["start_ms"].as_u64().unwrap();
        assert!(onset_start > start / MINUTE_MS * MINUTE_MS, "the onset is a whole minute after the first");
    }
}
