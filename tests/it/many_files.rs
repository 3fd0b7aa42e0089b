//! Many files (issue 15): a directory of 20,000 files is followed whole with a bounded number of open
//! descriptors; files that grow and files that appear are counted within a few poll intervals; a line
//! appended to a quiet (closed) file is counted within one poll interval while another file streams;
//! a restart resumes every file from the checkpoint without counting anything again.
//!
//! Quiet files live in one source, the hot file in another, so `authwatch_lines_total{source=...}`
//! tells their lines apart. Every wait is a condition with a deadline; elapsed times are measured
//! only to compare them with the poll interval the acceptance names.

use crate::common::daemon::*;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const FILES: usize = 20_000;
const MAX_OPEN: usize = 128;
const POLL_MS: u64 = 1_000;
/// Descriptors the daemon holds besides followed files (stdio, sockets, inotify, epoll, runtime,
/// the checkpoint being written): measured at about 15; this leaves room without hiding a leak of
/// one descriptor per file.
const OTHER_FDS: usize = 64;

const QUIET: &str = "authwatch_lines_total{source=\"quiet\"}";
const HOT: &str = "authwatch_lines_total{source=\"hot\"}";

/// One line, unique from its first bytes on (as exported lines are: a time, then ids).
fn line(file: usize, n: usize) -> Vec<u8> {
    format!(
        "2025-03-14T01:{:02}:{:02}.{:03}Z\tf{file:06}-{n:04}\tquiet export line of file {file}, number {n}\n",
        file / 3600 % 60,
        file / 60 % 60,
        file % 1000
    )
    .into_bytes()
}

fn quiet_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("export-{i:06}.log"))
}

fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Waits until `series` reaches `want` (then checks it did not overshoot), keeping the most
/// descriptors the daemon had open meanwhile in `peak`.
fn wait_counted(d: &Daemon, series: &str, want: f64, peak: &mut usize) {
    wait_until(&format!("{series} == {want}"), || {
        *peak = (*peak).max(open_fds(d.pid()));
        d.metric(series).is_some_and(|v| v >= want)
    });
    assert_eq!(d.metric(series), Some(want), "{series}:\n{}", d.log_text());
}

/// A small deterministic generator (the test needs "random" files, the same ones on every run).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

#[test]
fn twenty_thousand_files_with_a_bounded_number_of_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let (quiet, hot, state) = (dir.path().join("quiet"), dir.path().join("hot"), dir.path().join("state"));
    std::fs::create_dir(&quiet).unwrap();
    std::fs::create_dir(&hot).unwrap();
    for i in 0..FILES {
        std::fs::write(quiet_path(&quiet, i), line(i, 0)).unwrap();
    }
    let cfg = dir.path().join("authwatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[limits]\nmax_open_files = {MAX_OPEN}\nclose_idle_secs = 1\npoll_interval_ms = {POLL_MS}\n\
             read_budget_bytes = 65536\n\
             [[sources]]\nname = \"quiet\"\npaths = [\"{}\"]\n\
             [[sources]]\nname = \"hot\"\npaths = [\"{}/*.log\"]\n",
            quiet.display(),
            hot.display()
        ),
    )
    .unwrap();
    let args = ["--config", cfg.to_str().unwrap()];

    // 1. Every file counted; descriptors stay under the bound all along.
    let d = Daemon::start(&args, &state);
    let mut peak = 0;
    wait_counted(&d, QUIET, FILES as f64, &mut peak);
    d.wait_eq("authwatch_files_watched{source=\"quiet\"}", FILES as f64);
    let open = d.metric("authwatch_files_open{source=\"quiet\"}").unwrap();
    assert!(open <= MAX_OPEN as f64, "files_open {open} > {MAX_OPEN}");
    assert!(peak <= MAX_OPEN + OTHER_FDS, "peak of {peak} open descriptors for {FILES} files");
    assert_eq!(d.metric("authwatch_read_errors_total{source=\"quiet\"}"), Some(0.0), "{}", d.log_text());

    // 2. Random files grow, new files appear: all counted within a few poll intervals.
    let mut rng = Lcg(15);
    let t = Instant::now();
    for k in 0..500 {
        append(&quiet_path(&quiet, rng.below(FILES)), &line(FILES + k, 1));
    }
    for k in 0..200 {
        std::fs::write(quiet_path(&quiet, FILES + k), line(FILES + k, 0)).unwrap();
    }
    wait_counted(&d, QUIET, (FILES + 700) as f64, &mut peak);
    let grown = t.elapsed();
    eprintln!("{FILES} files: peak {peak} descriptors; 700 new lines counted after {grown:?}");
    assert!(grown < Duration::from_millis(3 * POLL_MS), "700 new lines counted after {grown:?}");
    d.wait_eq("authwatch_files_watched{source=\"quiet\"}", (FILES + 200) as f64);

    // 3. A hot file streams (8 MiB bursts, 80 MB/s: each burst is more than one poll reads of it);
    // lines appended to quiet files that were closed for idleness are each counted within one poll
    // interval.
    d.wait_eq("authwatch_files_open{source=\"quiet\"}", 0.0);
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, path) = (stop.clone(), written.clone(), hot.join("hot.log"));
        std::thread::spawn(move || {
            let chunk: Vec<u8> = (0..80_000).flat_map(|n| line(999_999, n % 10_000)).collect();
            // At most 1 GiB, in case the test is slow to stop it. The pause paces the load; nothing
            // waits on it.
            while !stop.load(Ordering::Relaxed) && written.load(Ordering::Relaxed) < 1 << 30 {
                append(&path, &chunk);
                written.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    wait_until("the hot file is read", || d.metric(HOT).is_some_and(|v| v > 0.0));
    let mut slowest = Duration::ZERO;
    let mut counted = (FILES + 700) as f64;
    for k in 0..10 {
        let hot_before = d.metric(HOT).unwrap_or(0.0);
        let t = Instant::now();
        append(&quiet_path(&quiet, rng.below(FILES)), &line(FILES + 1000 + k, 2));
        counted += 1.0;
        wait_counted(&d, QUIET, counted, &mut peak);
        slowest = slowest.max(t.elapsed());
        eprintln!("quiet line {k}: counted after {:?} (hot lines so far {hot_before})", t.elapsed());
        // The hot file was being read meanwhile (it streams, it is not done).
        wait_until("the hot file streams on", || d.metric(HOT).is_some_and(|v| v > hot_before));
    }
    assert!(
        !writer.is_finished(),
        "the hot writer stopped before the quiet lines were measured ({} bytes)",
        written.load(Ordering::Relaxed)
    );
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(slowest < Duration::from_millis(POLL_MS), "a quiet line took {slowest:?} while the hot file streamed");
    let chunk_len: usize = (0..80_000).map(|n| line(999_999, n % 10_000).len()).sum();
    let hot_lines = (written.load(Ordering::Relaxed) / chunk_len as u64 * 80_000) as f64;
    wait_counted(&d, HOT, hot_lines, &mut peak);
    assert!(peak <= MAX_OPEN + OTHER_FDS, "peak of {peak} open descriptors");
    d.stop();

    // 4. Restart: every file resumed from the checkpoint, nothing counted again; new lines are.
    let d = Daemon::start(&args, &state);
    d.wait_eq("authwatch_files_watched{source=\"quiet\"}", (FILES + 200) as f64);
    assert_eq!(d.metric(QUIET), Some(0.0), "lines counted again after the restart:\n{}", d.log_text());
    append(&quiet_path(&quiet, 7), &line(7, 3));
    let mut peak = 0;
    wait_counted(&d, QUIET, 1.0, &mut peak);
    assert!(peak <= MAX_OPEN + OTHER_FDS, "peak of {peak} open descriptors after the restart");
    d.stop();
}
