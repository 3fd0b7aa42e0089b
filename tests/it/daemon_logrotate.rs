//! Rotation by the real logrotate (Debian package `logrotate`) while a writer appends throughout, as
//! loggers do: open, append a batch, close, several thousand lines a second. `logrotate -f` (with its
//! own state file) rotates several times in each mode; afterwards nothing may be counted twice
//! (counted ≤ written) and nothing that is on disk may be lost (counted ≥ distinct lines found in all
//! files, compressed ones included). copytruncate's own window (lines written between logrotate's copy
//! and its truncation are in neither file) is why "on disk" and not "written" is the lower bound.
//!
//! Each mode is its own test, so the harness runs them in parallel threads.

use crate::common::daemon::*;
use crate::common::external_tool;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const BATCH: u64 = 40;
/// 40 lines every 10 ms: about 4,000 lines a second, so that logrotate often runs between two appends.
const BATCH_EVERY: Duration = Duration::from_millis(10);
const ROTATIONS: usize = 4;

/// Every line is a 45011 error carrying its sequence number; `prefix` (if any) starts every line.
fn line(prefix: &str, seq: u64) -> String {
    format!("{prefix}{{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\",\"seq\":\"s{seq:09}e\"}}\n")
}

/// The distinct sequence numbers in `bytes`.
fn seqs_in(bytes: &[u8], into: &mut HashSet<u64>) {
    for l in String::from_utf8_lossy(bytes).lines() {
        if let Some(i) = l.find("\"seq\":\"s") {
            let rest = &l[i + 8..];
            if let Some(n) = rest.strip_suffix("e\"}").and_then(|n| n.parse().ok()) {
                into.insert(n);
            }
        }
    }
}

/// Distinct lines in every file of `dir`, `.gz` ones decompressed.
fn on_disk(dir: &Path) -> (u64, Vec<String>) {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read(&p).unwrap();
        if name.ends_with(".gz") {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
            seqs_in(&out, &mut seen);
        } else {
            seqs_in(&raw, &mut seen);
        }
        names.push(format!("{name} ({} bytes)", raw.len()));
    }
    names.sort();
    (seen.len() as u64, names)
}

/// Runs one mode; returns the daemon's log.
fn run_mode(test: &str, directives: &str, prefix: &str, rotate_every: Duration) -> String {
    let Some(logrotate) = external_tool("logrotate", test) else { return String::new() };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    std::fs::write(&log, b"").unwrap();
    let conf = dir.path().join("logrotate.conf");
    std::fs::write(&conf, format!("{} {{\n    rotate 50\n    missingok\n{directives}\n}}\n", log.display())).unwrap();
    let lr_state = dir.path().join("logrotate.state");
    // The whole directory, as `authwatch run /var/log/app` would follow it (*.gz excluded by default).
    let d = Daemon::start(&[logs.to_str().unwrap()], &dir.path().join("state"));

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, log, prefix) = (stop.clone(), written.clone(), log.clone(), prefix.to_string());
        std::thread::spawn(move || {
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut batch = String::new();
                for _ in 0..BATCH {
                    seq += 1;
                    batch.push_str(&line(&prefix, seq));
                }
                // Open, append, close: the logger follows the path, so a rotation is seen at once.
                let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
                f.write_all(batch.as_bytes()).unwrap();
                drop(f);
                written.store(seq, Ordering::Relaxed);
                // Pacing the writer, not waiting for anything.
                std::thread::sleep(BATCH_EVERY);
            }
        })
    };
    for _ in 0..ROTATIONS {
        std::thread::sleep(rotate_every); // pacing: let lines accumulate before each rotation
        let out = Command::new(&logrotate)
            .args(["-f", "-s", lr_state.to_str().unwrap(), conf.to_str().unwrap()])
            .output()
            .expect("logrotate runs");
        assert!(
            out.status.success(),
            "logrotate failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::thread::sleep(rotate_every);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let written = written.load(Ordering::Relaxed);
    let (disk, names) = on_disk(&logs);
    // Barrier: a line of another kind, after everything else, in the file the writer used.
    append(&log, b"[@cloudbase/js-sdk][INVALID_TICKET]:ticket is invalid or expired (barrier)\n");
    let series_lag = "authwatch_lag_bytes{source=\"default\"}";
    let mut counted = 0;
    wait_until(&format!("{test}: the barrier read, lag 0 and at least the {disk} lines on disk counted"), || {
        counted = d.errors("wx_45011_minute_quota");
        d.errors("ticket_invalid") == 1 && d.metric(series_lag) == Some(0.0) && counted >= disk
    });
    let lines = d.lines();
    eprintln!("{test}: written {written}, on disk {disk}, counted {counted}; files: {}", names.join(", "));
    assert!(counted <= written, "{test}: {counted} counted > {written} written (counted twice)\n{}", d.log_text());
    assert_eq!(lines, counted + 1, "{test}: lines_total counts only our lines and the barrier");
    assert!(disk >= written.saturating_sub(written / 10), "{test}: too few lines on disk, the test is not testing");
    let log_text = d.log_text();
    d.stop();
    log_text
}

fn directives(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("    {l}\n")).collect()
}

const EVERY: Duration = Duration::from_millis(500);

#[test]
fn logrotate_copytruncate() {
    run_mode("logrotate_copytruncate", &directives(&["copytruncate"]), "", EVERY);
}

#[test]
fn logrotate_create() {
    run_mode("logrotate_create", &directives(&["create"]), "", EVERY);
}

#[test]
fn logrotate_create_compress_delaycompress() {
    run_mode(
        "logrotate_create_compress_delaycompress",
        &directives(&["create", "compress", "delaycompress"]),
        "",
        EVERY,
    );
}

#[test]
fn logrotate_create_identical_256_byte_prefixes() {
    let prefix: String = "2026-11-26T10:00:00.000Z INFO [scf-login] ".chars().cycle().take(256).collect();
    assert_eq!(prefix.len(), 256);
    let log = run_mode("logrotate_create_identical_256_byte_prefixes", &directives(&["create"]), &prefix, EVERY);
    // Each new app.log starts like the one renamed away from its name: read as new, and said so.
    if !log.is_empty() {
        assert!(log.contains("file starts like another"), "{log}");
    }
}

#[test]
fn logrotate_dateext() {
    // dateext names one rotation per second at most: logrotate skips a rotation whose name exists.
    run_mode(
        "logrotate_dateext",
        &directives(&["create", "dateext", "dateformat -%Y%m%d-%H%M%S"]),
        "",
        Duration::from_millis(1050),
    );
}

#[test]
fn logrotate_copy() {
    // `copy`: the original stays as it is, the copy holds lines already read from it.
    run_mode("logrotate_copy", &directives(&["copy"]), "", EVERY);
}
