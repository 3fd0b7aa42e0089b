//! Tailing throughput of `authwatch run`: a writer appends LINES realistic Cloud Function lines
//! (authwatch::synth, ~3% errors) to a watched file as fast as it can, in 1 MiB writes; timed from the
//! first write until /metrics counts them all. Reports lines/s, MB/s and the daemon's peak RSS (VmHWM).
//!
//! cargo build --release && cargo run --release --example tail_throughput [-- LINES]

#[path = "../tests/it/common/daemon.rs"]
mod daemon;

use std::io::Write;
use std::time::Instant;

use authwatch::synth::{ErrorChoice, START_MS, Synth};

fn bin() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/authwatch")
}

fn main() {
    let want: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    // Generate first, so the writer only writes.
    let mut synth = Synth::new(1, START_MS, false, 30);
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let (mut lines, mut chunk) = (0u64, Vec::with_capacity(1 << 20));
    while lines < want {
        let before = chunk.len();
        synth.invocation(&mut chunk, None, ErrorChoice::Random);
        lines += chunk[before..].iter().filter(|&&b| b == b'\n').count() as u64;
        if chunk.len() >= 1 << 20 {
            chunks.push(std::mem::replace(&mut chunk, Vec::with_capacity(1 << 20)));
        }
    }
    chunks.push(chunk);
    let bytes: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    std::fs::File::create(&log).expect("create");
    let d = daemon::Daemon::start(&[log.to_str().expect("utf-8 path")], &dir.path().join("state"));
    let start = Instant::now();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).expect("open");
    for c in &chunks {
        f.write_all(c).expect("write");
    }
    let written = start.elapsed();
    while d.lines() < lines {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let took = start.elapsed().as_secs_f64();
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap_or_default();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: ? kB").to_string();
    println!(
        "lines={lines} bytes={bytes} writer_done={:.2}s all_counted={took:.2}s → {:.0} lines/s, {:.0} MB/s; daemon {hwm}",
        written.as_secs_f64(),
        lines as f64 / took,
        bytes as f64 / took / 1e6
    );
    d.stop();
}
