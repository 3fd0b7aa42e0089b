//! Append-to-/metrics latency of `authwatch run`: 1,000 single-line appends to a watched file, each
//! timed from the write until /metrics shows it. Prints p50 / p99 / max.
//!
//! cargo build --release && cargo run --release --example tail_latency [-- APPENDS]

#[path = "../tests/it/common/daemon.rs"]
mod daemon;

use std::time::Instant;

fn bin() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/authwatch")
}

fn main() {
    let appends: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    let d = daemon::Daemon::start(&[log.to_str().expect("utf-8 path")], &dir.path().join("state"));
    let mut took = Vec::with_capacity(appends);
    for i in 0..appends {
        let line = format!("{{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\",\"n\":{i}}}\n");
        let start = Instant::now();
        daemon::append(&log, line.as_bytes());
        let want = (i + 1) as f64;
        while d.metric("authwatch_errors_total{pattern=\"wx_45011_minute_quota\",source=\"default\"}") != Some(want) {}
        took.push(start.elapsed());
    }
    took.sort();
    let pct = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
    println!(
        "appends={appends} p50={:.2}ms p99={:.2}ms max={:.2}ms (write → visible in /metrics, polled over HTTP)",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        took[took.len() - 1].as_secs_f64() * 1e3
    );
    d.stop();
}
