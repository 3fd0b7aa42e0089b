//! `authwatch demo`: one command that shows counters moving. It writes realistic Cloud Function logs
//! into a temporary directory (login load that ramps up and down, 45011 once the load passes WeChat's
//! documented 100 calls a minute, a few other errors, a rotation now and then) while `run` tails it.
//!
//! Contract: everything lives in one temporary directory, removed on exit (SIGINT/SIGTERM). The onset
//! the daemon reports is the first whole, complete minute with 45011: the demo's first minute is cut
//! (the log begins in it) and a minute still filling is not reported (it read 35, then 40 attempts/min
//! while it filled), so the onset shows the load above the quota that the banner announces.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::daemon::{self, RunOptions};
use crate::synth::{ERRORS, ErrorChoice, LOGIN_FUNCTION, Synth};

/// WeChat's documented jscode2session limit, calls per minute.
const QUOTA_PER_MINUTE: f64 = 100.0;
/// The ramp: login attempts per minute go from LOW to HIGH and back over PERIOD.
const LOW_PER_MINUTE: f64 = 30.0;
const HIGH_PER_MINUTE: f64 = 300.0;
const PERIOD_SECS: f64 = 600.0;
const ROTATE_BYTES: u64 = 4 << 20;

/// The demo starts just under the quota, so the first 45011 shows within seconds.
const START_PHASE: f64 = 0.12;

/// Login attempts per minute `t` seconds into the demo: a triangle wave.
pub fn attempts_per_minute(t: f64) -> f64 {
    let phase = (t / PERIOD_SECS + START_PHASE) % 1.0;
    let up = if phase < 0.5 { phase * 2.0 } else { (1.0 - phase) * 2.0 };
    LOW_PER_MINUTE + (HIGH_PER_MINUTE - LOW_PER_MINUTE) * up
}

/// The demo's load, driven by the caller's clock (the writer's wall clock, or a test's).
pub struct Load {
    synth: Synth,
    due: f64,
}

impl Load {
    pub fn new(now_ms: u64) -> Load {
        Load { synth: Synth::new(now_ms, now_ms, false, 0), due: 0.0 }
    }

    /// The calls due over `tick_s` seconds, `elapsed_s` into the demo, at wall time `now_ms`: appended
    /// to `buf`.
    pub fn tick(&mut self, elapsed_s: f64, tick_s: f64, now_ms: u64, buf: &mut Vec<u8>) {
        let rate = attempts_per_minute(elapsed_s);
        self.due += rate * tick_s / 60.0;
        while self.due >= 1.0 {
            self.due -= 1.0;
            self.synth.now_ms = now_ms;
            // Past the quota, the share of calls above it is refused with 45011.
            let over = ((rate - QUOTA_PER_MINUTE) / rate).max(0.0);
            let ms = self.synth.now_ms;
            let error = if (ms % 1000) as f64 / 1000.0 < over {
                ErrorChoice::Index(0)
            } else if ms % 50 == 0 {
                ErrorChoice::Index(2 + (ms as usize / 50) % (ERRORS.len() - 2))
            } else {
                ErrorChoice::None
            };
            self.synth.invocation(buf, Some(LOGIN_FUNCTION), error);
        }
    }
}

fn writer(dir: &Path, stop: &AtomicBool) -> std::io::Result<()> {
    let log = dir.join("getLoginTicket.log");
    let now_ms = || SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mut load = Load::new(now_ms());
    let start = Instant::now();
    let mut buf = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        buf.clear();
        load.tick(start.elapsed().as_secs_f64(), 0.1, now_ms(), &mut buf);
        if !buf.is_empty() {
            OpenOptions::new().create(true).append(true).open(&log)?.write_all(&buf)?;
        }
        if fs::metadata(&log).is_ok_and(|m| m.len() > ROTATE_BYTES) {
            fs::rename(&log, dir.join("getLoginTicket.log.1"))?;
        }
    }
    Ok(())
}

pub fn run(listen: Option<SocketAddr>) -> Result<(), String> {
    let root: PathBuf = std::env::temp_dir().join(format!("authwatch-demo-{}", std::process::id()));
    let logs = root.join("logs");
    fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    // The log exists before the daemon looks: a glob matching nothing yet would be warned about, and
    // the demo gives no warning about its own files.
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join("getLoginTicket.log"))
        .map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let writer_stop = stop.clone();
    let writer_dir = logs.clone();
    let writer_thread = std::thread::spawn(move || {
        if let Err(e) = writer(&writer_dir, &writer_stop) {
            tracing::error!(error = %e, "demo writer stopped");
        }
    });
    let opts = RunOptions {
        listen,
        state_dir: Some(root.join("state")),
        paths: vec![format!("{}/*.log", logs.display())],
        ..RunOptions::default()
    };
    let shown_logs = logs.display().to_string();
    let result = daemon::run(opts, |addr| {
        println!("authwatch demo: writing Cloud Function logs to {shown_logs}/getLoginTicket.log");
        println!(
            "  login load ramps {LOW_PER_MINUTE}→{HIGH_PER_MINUTE}/min and back every {PERIOD_SECS}s, starting at {:.0}/min on its way up; 45011 starts above {QUOTA_PER_MINUTE}/min",
            attempts_per_minute(0.0)
        );
        println!("  status page:  http://{addr}/   (chart of 45011 against login attempts, alerts)");
        println!("  metrics:      curl -s http://{addr}/metrics | grep -E '^authwatch_(errors_total|45011|login)'");
        println!("  stop with Ctrl-C (the directory is removed)");
    });
    stop.store(true, Ordering::Relaxed);
    let _ = writer_thread.join();
    let _ = fs::remove_dir_all(&root);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_crosses_the_quota_both_ways() {
        let at = |phase: f64| attempts_per_minute((phase - START_PHASE).rem_euclid(1.0) * PERIOD_SECS);
        assert!((at(0.0) - LOW_PER_MINUTE).abs() < 1e-9);
        assert!((at(0.5) - HIGH_PER_MINUTE).abs() < 1e-9);
        assert!(at(0.75) > QUOTA_PER_MINUTE);
        assert!(at(0.95) < QUOTA_PER_MINUTE);
        // Under the quota at the start, over it within 30 s.
        assert!(attempts_per_minute(0.0) < QUOTA_PER_MINUTE);
        assert!(attempts_per_minute(30.0) > QUOTA_PER_MINUTE);
    }
}
