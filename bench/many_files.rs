//! Many files (issue 15): `authwatch run` over one directory of 100,000 exported files (default
//! limits: 1,024 open descriptors, close_idle_secs 300), 1,000 of them growing, one more growing at
//! full speed. Prints:
//! - cold start: time from spawn until every line of every file is counted;
//! - append-to-visible latency (p50 / p99 / max) of single lines appended to the 1,000 growing files,
//!   one at a time, while the hot file streams (written as fast as this process can; renamed out of
//!   the glob every 256 MiB, as a rotating log is);
//! - open descriptors (peak of /proc/PID/fd, and `authwatch_files_open`), RSS (now and peak);
//! - the checkpoint: size, and write time in-process (`Tailer::checkpoint`, changed and unchanged);
//! - restart: time until all files are resumed from the checkpoint.
//!
//! cargo build --release && cargo run --release --example many_files [-- FILES GROWING SAMPLES]

#[path = "../tests/it/common/daemon.rs"]
mod daemon;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use authwatch::config::{Source, StartAt};
use authwatch::record::FormatChoice;
use authwatch::tail::Limits;
use authwatch::tail::{Consumer, Setup, SystemClock, Tailer};

fn bin() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/authwatch")
}

const QUIET: &str = "authwatch_lines_total{source=\"quiet\"}";
const HOT: &str = "authwatch_lines_total{source=\"hot\"}";
const LINES_PER_FILE: usize = 5;
/// The hot file is rotated (renamed out of the glob) at this size, and generations before the last
/// one deleted, so it can stream for as long as the samples take without filling the disk.
const HOT_ROTATE: u64 = 256 << 20;

fn line(file: usize, n: usize) -> String {
    format!(
        "2025-03-14T{:02}:{:02}:{:02}.{:03}Z\tf{file:06}-{n:04}\tINFO user 8f4c0b5e-0a1b-4c2d-9e3f-{file:012} signed in, line {n}\n",
        file / 3600 % 24,
        file / 60 % 60,
        file % 60,
        n % 1000
    )
}

fn path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("fn-{:03}-2025031{}-{i:06}.log", i % 97, i % 10))
}

fn fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// (VmRSS, VmHWM) in MB.
fn rss(pid: i32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status.lines().find_map(|l| l.strip_prefix(key)?.trim().strip_suffix("kB")?.trim().parse::<f64>().ok())
    };
    (kb("VmRSS:").unwrap_or(0.0) / 1024.0, kb("VmHWM:").unwrap_or(0.0) / 1024.0)
}

/// Waits for a condition (polling /metrics), with a deadline; keeps the peak of open descriptors.
fn wait(what: &str, deadline: Duration, peak: &mut usize, pid: i32, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        *peak = (*peak).max(fds(pid));
        assert!(t.elapsed() < deadline, "gave up after {deadline:?} waiting for {what}");
    }
}

struct Count(u64);
impl Consumer for Count {
    fn open(&mut self, _: u64, _: usize, _: bool) {}
    fn moved(&mut self, _: u64, _: usize) {}
    fn wants_every_line(&self, _: u64) -> bool {
        false
    }
    fn line(&mut self, _: u64, _: &[u8]) {
        self.0 += 1;
    }
    fn close(&mut self, _: u64) {}
}

fn main() {
    let arg = |n: usize, default: usize| std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (files, growing, samples) = (arg(1, 100_000), arg(2, 1_000), arg(3, 300));
    let root = std::env::var_os("BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::tempdir_in(root).expect("tempdir");
    let (quiet, hot, state) = (dir.path().join("quiet"), dir.path().join("hot"), dir.path().join("state"));
    std::fs::create_dir(&quiet).expect("mkdir");
    std::fs::create_dir(&hot).expect("mkdir");
    let t = Instant::now();
    for i in 0..files {
        let text: String = (0..LINES_PER_FILE).map(|n| line(i, n)).collect();
        std::fs::write(path(&quiet, i), text).expect("write");
    }
    let bytes: u64 = (0..files).map(|i| std::fs::metadata(path(&quiet, i)).map_or(0, |m| m.len())).sum();
    println!("corpus: {files} files, {:.1} MB, written in {:.1} s", bytes as f64 / 1e6, t.elapsed().as_secs_f64());
    let cfg = dir.path().join("authwatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[sources]]\nname = \"quiet\"\npaths = [\"{}\"]\n[[sources]]\nname = \"hot\"\npaths = [\"{}/*.log\"]\n",
            quiet.display(),
            hot.display()
        ),
    )
    .expect("config");
    let args = ["--config", cfg.to_str().expect("utf-8")];

    if std::env::var_os("IN_PROCESS_ONLY").is_none() {
        run_daemon(&args, &state, &quiet, &hot, files, growing, samples);
    }
    in_process(dir.path(), &quiet, files, growing);
}

fn run_daemon(args: &[&str], state: &Path, quiet: &Path, hot: &Path, files: usize, growing: usize, samples: usize) {
    let total = (files * LINES_PER_FILE) as f64;
    // Cold start.
    let t = Instant::now();
    let d = daemon::Daemon::start_listening(args, state);
    let pid = d.pid();
    let mut peak = 0;
    wait("every line counted", Duration::from_secs(600), &mut peak, pid, || d.metric(QUIET) == Some(total));
    let cold = t.elapsed();
    let (rss_now, rss_peak) = rss(pid);
    println!(
        "cold start: {total} lines of {files} files counted in {:.2} s; peak {peak} descriptors, files_open {}, RSS {rss_now:.1} MB (peak {rss_peak:.1} MB)",
        cold.as_secs_f64(),
        d.metric("authwatch_files_open{source=\"quiet\"}").unwrap_or(-1.0)
    );
    // The first checkpoint is written right after the poll that counted everything.
    let ckpt = state.join("checkpoints.json");
    wait("the first checkpoint", Duration::from_secs(60), &mut peak, pid, || ckpt.exists());
    let size = std::fs::metadata(&ckpt).map_or(0, |m| m.len());
    println!("checkpoint: {:.1} MB ({:.0} bytes a file)", size as f64 / 1e6, size as f64 / files as f64);

    // Latency of quiet lines while the hot file streams.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, dir) = (stop.clone(), written.clone(), hot.to_path_buf());
        std::thread::spawn(move || {
            let chunk: String = (0..10_000).map(|n| line(999_999, n)).collect();
            let (p, mut size, mut generation) = (dir.join("hot.log"), 0u64, 0u32);
            while !stop.load(Ordering::Relaxed) {
                daemon::append(&p, chunk.as_bytes());
                written.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                size += chunk.len() as u64;
                if size >= HOT_ROTATE {
                    generation += 1;
                    let _ = std::fs::rename(&p, dir.join(format!("hot.old.{generation}")));
                    let _ = std::fs::remove_file(dir.join(format!("hot.old.{}", generation.saturating_sub(2))));
                    size = 0;
                }
            }
        })
    };
    wait("the hot file is read", Duration::from_secs(60), &mut peak, pid, || d.metric(HOT).is_some_and(|v| v > 0.0));
    let hot_start = (Instant::now(), d.metric(HOT).unwrap_or(0.0));
    let mut took = Vec::with_capacity(samples);
    let mut counted = total;
    let mut streaming = 0;
    let mut seed = 15u64;
    for k in 0..samples {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        // The growing files: every (files / growing)-th one.
        let i = ((seed >> 33) as usize % growing) * (files / growing);
        let before_hot = written.load(Ordering::Relaxed);
        let t = Instant::now();
        daemon::append(&path(quiet, i), line(i, LINES_PER_FILE + k).as_bytes());
        counted += 1.0;
        wait("a quiet line", Duration::from_secs(60), &mut peak, pid, || d.metric(QUIET) == Some(counted));
        took.push(t.elapsed());
        streaming += usize::from(written.load(Ordering::Relaxed) > before_hot);
    }
    let hot_read = (d.metric(HOT).unwrap_or(0.0) - hot_start.1) / hot_start.0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    took.sort();
    let pct = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)].as_secs_f64() * 1e3;
    let (rss_now, rss_peak) = rss(pid);
    println!(
        "quiet lines while the hot file streams: n={samples} ({streaming} with the hot writer writing) p50={:.1}ms p99={:.1}ms max={:.1}ms; hot file read at {:.0} lines/s ({:.0} MB/s); {:.2} GB written to it",
        pct(0.5),
        pct(0.99),
        took[took.len() - 1].as_secs_f64() * 1e3,
        hot_read,
        hot_read * line(999_999, 5000).len() as f64 / 1e6,
        written.load(Ordering::Relaxed) as f64 / 1e9
    );
    println!(
        "descriptors: peak {peak} (/proc/{pid}/fd), files_open {} + {}; RSS {rss_now:.1} MB (peak {rss_peak:.1} MB)",
        d.metric("authwatch_files_open{source=\"quiet\"}").unwrap_or(-1.0),
        d.metric("authwatch_files_open{source=\"hot\"}").unwrap_or(-1.0)
    );
    d.stop();
    for e in std::fs::read_dir(hot).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(e.path());
    }

    // Restart from the checkpoint.
    let t = Instant::now();
    let d = daemon::Daemon::start_listening(args, state);
    let mut peak = 0;
    let want = files as f64;
    wait("files resumed", Duration::from_secs(600), &mut peak, d.pid(), || {
        d.get("/readyz").0 == 200 && d.metric("authwatch_files_watched{source=\"quiet\"}") == Some(want)
    });
    println!(
        "restart: {files} files resumed in {:.2} s, {} lines counted again, peak {peak} descriptors, RSS {:.1} MB",
        t.elapsed().as_secs_f64(),
        d.metric(QUIET).unwrap_or(-1.0),
        rss(d.pid()).0
    );
    d.stop();
}

/// A `Tailer` driven directly: its first poll, a rescan with nothing new, checkpoint write times.
fn in_process(dir: &Path, quiet: &Path, files: usize, growing: usize) {
    let source = |name: &str, p: &Path| Source {
        name: name.into(),
        paths: vec![p.display().to_string()],
        exclude: Vec::new(),
        format: FormatChoice::Auto,
        start_at: StartAt::Beginning,
        function: None,
        version: None,
        version_from_path: None,
        batches: None,
        csv: None,
    };
    let fresh = dir.join("state-inprocess");
    std::fs::create_dir(&fresh).expect("mkdir");
    let setup = Setup { sources: vec![source("quiet", quiet)], limits: Limits::default() };
    let (mut tailer, _) = Tailer::new(setup, &fresh, Arc::new(SystemClock));
    let none = |_: &[u8], _: usize| None;
    let mut sink = Count(0);
    let t = Instant::now();
    while tailer.poll(true, &none, &mut sink).backlog {}
    let scan = t.elapsed();
    sink.0 = tailer.take_health().iter().map(|(_, h)| h.lines).sum();
    let timed = |tailer: &mut Tailer| {
        let t = Instant::now();
        let wrote = tailer.checkpoint().expect("checkpoint");
        (t.elapsed().as_secs_f64() * 1e3, wrote)
    };
    let first = timed(&mut tailer);
    let unchanged = timed(&mut tailer);
    for k in 0..growing {
        daemon::append(&path(quiet, k * (files / growing)), line(k, 9_000).as_bytes());
    }
    tailer.poll(true, &none, &mut sink);
    let changed = timed(&mut tailer);
    let rescans: u32 = std::env::var("RESCANS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let t = Instant::now();
    for _ in 0..rescans {
        tailer.poll(true, &none, &mut sink);
    }
    let rescan = t.elapsed() / rescans;
    let me = std::process::id() as i32;
    let before = rss(me).0;
    drop(tailer);
    let setup = Setup { sources: vec![source("quiet", quiet)], limits: Limits::default() };
    let t = Instant::now();
    let (mut again, _) = Tailer::new(setup, &fresh, Arc::new(SystemClock));
    let mut resumed = Count(0);
    while again.poll(true, &none, &mut resumed).backlog {}
    let restart = t.elapsed();
    let recounted: u64 = again.take_health().iter().map(|(_, h)| h.lines).sum();
    println!(
        "in-process restart from the checkpoint: {:.2} s, {recounted} lines counted again; this process's RSS {:.1} MB before, {:.1} MB after (peak {:.1} MB)",
        restart.as_secs_f64(),
        before,
        rss(me).0,
        rss(me).1
    );
    println!(
        "in-process: first poll over {files} files {:.2} s ({} lines); rescan with nothing new {:.0} ms; checkpoint write {:.0} ms (written: {}), unchanged {:.0} ms (written: {}), after {growing} files grew {:.0} ms (written: {})",
        scan.as_secs_f64(),
        sink.0,
        rescan.as_secs_f64() * 1e3,
        first.0,
        first.1,
        unchanged.0,
        unchanged.1,
        changed.0,
        changed.1
    );
}
