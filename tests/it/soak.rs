//! Soak and burst: 10 million lines in bursts across four files that rotate (rename, then the old
//! generation deleted), while a scraper GETs /metrics every 100 ms. At the end the totals are exact,
//! the daemon's RSS has not grown after warm-up, and it holds no more file descriptors than before.
//! Every fifth line is a call refused with 45011 under its own request id, so the invocation join's
//! tables fill to their default caps during warm-up: RSS stays flat, and under 50 MB, with them full.
//! The figures are printed (`cargo test --release --test it soak:: -- --nocapture`) for the README;
//! AUTHWATCH_SOAK_LINES sets the length, AUTHWATCH_SOAK_SAMPLES=FILE keeps every scrape's (lines, RSS,
//! fds) as CSV.

use crate::common;
use crate::common::daemon::*;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lines in the run; AUTHWATCH_SOAK_LINES makes a longer soak by hand.
fn total_lines() -> u64 {
    std::env::var("AUTHWATCH_SOAK_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000)
}
const FILES: usize = 4;
/// Each file is rotated after this many lines.
const ROTATE_EVERY: u64 = 100_000;
const ERROR_EVERY: u64 = 5;
const TICKET_EVERY: u64 = 7919;
/// Past 1 M lines both join tables are full (100,000 calls, 200,000 records: the defaults).
const WARM_UP_LINES: u64 = 2_000_000;

/// Line `n` of the whole run: mostly ordinary Cloud Function output, every 5th a call refused with
/// 45011, every 7919th an expired ticket from the Mini Program SDK.
fn line(n: u64, out: &mut Vec<u8>) {
    if n % ERROR_EVERY == 0 {
        let _ = writeln!(
            out,
            "2025-03-14T01:22:05.190Z\t8f4c0b5e-{n:012}\tjscode2session {{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit, must slower, retry next minute\"}}"
        );
    } else if n % TICKET_EVERY == 0 {
        let _ = writeln!(out, "[signIn] {{ code: 'INVALID_TICKET', message: 'ticket is invalid or expired' }} #{n}");
    } else {
        let _ = writeln!(out, "2025-03-14T01:22:05.190Z\t8f4c0b5e-{n:012}\t[getLoginTicket] openid resolved, user {n}");
    }
}

fn rss_kib(pid: i32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok()))
        .unwrap_or(0)
}

fn fds(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

struct Files {
    dir: PathBuf,
    open: Vec<File>,
    written: Vec<u64>,
    /// Lines written in all files when each file was last rotated: its `.1` holds lines up to there.
    rotated_at: Vec<Option<u64>>,
}

impl Files {
    fn path(dir: &Path, i: usize) -> PathBuf {
        dir.join(format!("app-{i}.log"))
    }

    fn new(dir: &Path) -> Files {
        let open = (0..FILES).map(|i| File::create(Files::path(dir, i)).unwrap()).collect();
        Files { dir: dir.to_path_buf(), open, written: vec![0; FILES], rotated_at: vec![None; FILES] }
    }

    /// logrotate's create mode: the previous generation goes (once the daemon has read past it: a real
    /// rotation keeps generations for the same reason), the live file is renamed, a new one is made.
    fn rotate(&mut self, i: usize, total: u64, d: &Daemon) {
        let live = Files::path(&self.dir, i);
        let old = live.with_extension("log.1");
        if let Some(upto) = self.rotated_at[i] {
            wait_until("the daemon reads past the generation about to be deleted", || d.lines() >= upto);
            fs::remove_file(&old).unwrap();
        }
        // A generation renamed out of the glob before the daemon ever saw it is lost to any tailer
        // (mtail, Vector: the same); real rotations are minutes apart, here they can be milliseconds
        // apart, so the rename waits until the daemon has read what was written.
        wait_until("the daemon reads the generation about to be renamed", || d.lines() >= total);
        fs::rename(&live, &old).unwrap();
        self.open[i] = File::create(&live).unwrap();
        self.written[i] = 0;
        self.rotated_at[i] = Some(total);
    }
}

#[test]
fn ten_million_lines_rotating_with_scrapes_every_100ms() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let config = common::config_with_source(
        dir.path(),
        "[limits]\npoll_interval_ms = 100\ncheckpoint_interval_ms = 500",
        &format!("{}/*.log", logs.display()),
    );
    let mut files = Files::new(&logs);
    let d = Daemon::start(&["--config", config.to_str().unwrap()], &dir.path().join("state"));
    let pid = d.pid();

    // The scraper: one GET /metrics every 100 ms, as a (very eager) Prometheus would; it also samples
    // the daemon's RSS and open descriptors.
    let stop = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicU64::new(0));
    let scraper = {
        let (stop, counted, addr) = (stop.clone(), counted.clone(), d.addr.clone());
        std::thread::spawn(move || {
            let mut samples: Vec<(u64, u64, usize)> = Vec::new(); // (lines seen, RSS KiB, fds)
            let (mut scrapes, mut failed) = (0u64, 0u64);
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                match common::http_get(&addr, "/metrics") {
                    Some((200, body)) => {
                        let lines = body
                            .lines()
                            .find_map(|l| l.strip_prefix("authwatch_lines_total{source=\"default\"} ")?.parse().ok())
                            .unwrap_or(0);
                        counted.store(lines, Ordering::Relaxed);
                        samples.push((lines, rss_kib(pid), fds(pid)));
                    }
                    _ => failed += 1,
                }
                scrapes += 1;
                // Pacing, not waiting for a condition: the scrape interval is the load being applied.
                next += Duration::from_millis(100);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            (samples, scrapes, failed)
        })
    };

    let total = total_lines();
    let started = Instant::now();
    let (mut n, mut burst_no) = (0u64, 0u64);
    let mut buf = Vec::with_capacity(8 << 20);
    let mut bytes = 0u64;
    let mut rotations = 0;
    while n < total {
        // Bursts of 1k to 100k lines to one file: storms of ten back to back, then ten with quiet gaps.
        let i = (burst_no * 7 % FILES as u64) as usize;
        let size = 1000 + (burst_no * 7919 % 99_000);
        buf.clear();
        for _ in 0..size.min(total - n) {
            n += 1;
            line(n, &mut buf);
            files.written[i] += 1;
        }
        files.open[i].write_all(&buf).unwrap();
        bytes += buf.len() as u64;
        if files.written[i] >= ROTATE_EVERY {
            files.rotate(i, n, &d);
            rotations += 1;
        }
        burst_no += 1;
        if burst_no % 20 >= 10 {
            // Load shaping: the gap between bursts.
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    let written_in = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60);
    while counted.load(Ordering::Relaxed) < total {
        assert!(
            Instant::now() < deadline,
            "not every line counted: {} of {total}\n{}",
            counted.load(Ordering::Relaxed),
            d.metrics()
                .lines()
                .filter(|l| l.starts_with("authwatch_")
                    && (l.contains("lines_total")
                        || l.contains("files")
                        || l.contains("lag")
                        || l.contains("rotations")
                        || l.contains("errors_total{pattern=\"wx_45011")))
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let counted_in = started.elapsed();
    // Rotated files are let go once quiet: wait for the descriptors to come back down.
    let fds_before_end = fds(pid);
    wait_until("rotated files released", || {
        d.metric("authwatch_files_watched{source=\"default\"}") == Some(FILES as f64)
    });
    stop.store(true, Ordering::Relaxed);
    let (samples, scrapes, failed) = scraper.join().unwrap();

    // Exact totals.
    assert_eq!(d.lines(), total);
    assert_eq!(d.metric("authwatch_bytes_total{source=\"default\"}"), Some(bytes as f64));
    assert_eq!(d.errors("wx_45011_minute_quota"), total / ERROR_EVERY);
    let tickets = (1..=total).filter(|n| n % TICKET_EVERY == 0 && n % ERROR_EVERY != 0).count() as u64;
    assert_eq!(d.errors("ticket_invalid"), tickets);
    assert_eq!(d.metric("authwatch_read_errors_total{source=\"default\"}"), Some(0.0));
    assert_eq!(failed, 0, "scrapes failed");

    if let Some(path) = std::env::var_os("AUTHWATCH_SOAK_SAMPLES") {
        let csv: String = samples.iter().map(|(l, r, f)| format!("{l},{r},{f}\n")).collect();
        fs::write(path, format!("lines,rss_kib,fds\n{csv}")).unwrap();
    }
    // Memory: the RSS after warm-up never exceeds the warm-up peak by more than a little.
    let warm: Vec<_> = samples.iter().filter(|s| s.0 <= WARM_UP_LINES).collect();
    let after: Vec<_> = samples.iter().filter(|s| s.0 > WARM_UP_LINES).collect();
    assert!(warm.len() >= 2 && after.len() >= 5, "too few samples: {} warm, {} after", warm.len(), after.len());
    let warm_peak = warm.iter().map(|s| s.1).max().unwrap();
    let after_peak = after.iter().map(|s| s.1).max().unwrap();
    let last_rss = rss_kib(pid);
    // File descriptors: no more after every rotation than at warm-up (the four live files).
    let warm_fds = warm.iter().map(|s| s.2).max().unwrap();
    let end_fds = fds(pid);
    eprintln!(
        "SOAK: {total} lines, {:.0} MB, {rotations} rotations, {FILES} files; written in {:.1} s, all counted at {:.1} s, writer-paced \
         ({:.2} M lines/s, {:.0} MB/s end to end); {scrapes} scrapes every 100 ms, {failed} failed; \
         RSS warm-up peak {:.1} MB, after warm-up peak {:.1} MB, at end {:.1} MB; fds at warm-up {warm_fds}, \
         before release {fds_before_end}, at end {end_fds}",
        bytes as f64 / 1e6,
        written_in.as_secs_f64(),
        counted_in.as_secs_f64(),
        total as f64 / counted_in.as_secs_f64() / 1e6,
        bytes as f64 / 1e6 / counted_in.as_secs_f64(),
        warm_peak as f64 / 1024.0,
        after_peak as f64 / 1024.0,
        last_rss as f64 / 1024.0,
    );
    assert!(after_peak <= warm_peak + 2048, "RSS grew after warm-up: {warm_peak} KiB → {after_peak} KiB");
    assert!(after_peak < 50 * 1024, "RSS {after_peak} KiB with the join tables full: over 50 MB");
    if total >= WARM_UP_LINES {
        assert_eq!(d.metric("authwatch_join_table_entries{table=\"invocations\"}"), Some(100_000.0), "tables full");
        assert_eq!(d.metric("authwatch_join_table_entries{table=\"records\"}"), Some(200_000.0), "tables full");
    }
    assert!(end_fds <= warm_fds, "fd leak: {warm_fds} at warm-up, {end_fds} at the end");
    d.stop();
}
