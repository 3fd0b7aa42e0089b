//! A running `authwatch run` for integration tests: started on 127.0.0.1:0, read over HTTP, stopped
//! with real signals. Waits are conditions with a deadline, never fixed sleeps.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(15);

pub struct Daemon {
    child: Option<Child>,
    /// Started in this process on a clock of the test's (`in_process`): no child, no signals.
    inproc: Option<authwatch::daemon::Control>,
    pub addr: String,
    pub state_dir: PathBuf,
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Polls `cond` until it holds or the deadline passes (then panics with `what` and the daemon's log).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out after {DEADLINE:?} waiting for {what}");
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(2));
    }
}

impl Daemon {
    /// `authwatch run` with `args`, listening on an ephemeral port, state in `state_dir`.
    pub fn start(args: &[&str], state_dir: &Path) -> Daemon {
        Daemon::start_with(args, state_dir, |_| {})
    }

    pub fn start_with(args: &[&str], state_dir: &Path, tweak: impl FnOnce(&mut Command)) -> Daemon {
        Daemon::start_program(Path::new(super::bin()), args, state_dir, tweak)
    }

    pub fn start_program(program: &Path, args: &[&str], state_dir: &Path, tweak: impl FnOnce(&mut Command)) -> Daemon {
        let state = state_dir.to_str().expect("utf-8 path");
        let mut full = vec!["run", "--listen", "127.0.0.1:0", "--log-format", "json", "--state-dir", state];
        full.extend_from_slice(args);
        Daemon::spawn(program, &full, state_dir, tweak)
    }

    /// Any subcommand that logs `listening` (run, demo), with exactly these arguments.
    pub fn spawn(program: &Path, args: &[&str], state_dir: &Path, tweak: impl FnOnce(&mut Command)) -> Daemon {
        let d = Daemon::spawn_listening(program, args, state_dir, tweak);
        wait_until("/readyz", || d.get("/readyz").0 == 200);
        d
    }

    /// `authwatch run` as `start` does, but only waits for it to listen (for TLS and auth, where a
    /// plain GET /readyz cannot tell readiness).
    pub fn start_listening(args: &[&str], state_dir: &Path) -> Daemon {
        let state = state_dir.to_str().expect("utf-8 path");
        let mut full = vec!["run", "--listen", "127.0.0.1:0", "--log-format", "json", "--state-dir", state];
        full.extend_from_slice(args);
        Daemon::spawn_listening(Path::new(super::bin()), &full, state_dir, |_| {})
    }

    pub fn spawn_listening(
        program: &Path,
        args: &[&str],
        state_dir: &Path,
        tweak: impl FnOnce(&mut Command),
    ) -> Daemon {
        let mut cmd = Command::new(program);
        cmd.args(args).env("RUST_LOG", "info").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        tweak(&mut cmd);
        let mut child = cmd.spawn().expect("authwatch run starts");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut d =
            Daemon { child: Some(child), inproc: None, addr: String::new(), state_dir: state_dir.to_path_buf(), log };
        let start = Instant::now();
        loop {
            let found = d.log.lock().unwrap().iter().find_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                (v["message"] == "listening").then(|| v["addr"].as_str().map(str::to_string)).flatten()
            });
            if let Some(addr) = found {
                d.addr = addr;
                break;
            }
            if let Some(status) = d.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("authwatch exited ({status}) before listening:\n{}", d.log_text());
            }
            assert!(start.elapsed() < DEADLINE, "authwatch did not listen:\n{}", d.log_text());
            std::thread::sleep(Duration::from_millis(2));
        }
        d
    }

    /// `authwatch run` in this process with `paths` (and `config`), on a clock that starts at
    /// `start_ms` and moves only when the test says (`advance`): the poll interval, rescans,
    /// checkpoints and replay's idle time are driven, not waited for. Nothing is logged to read.
    pub fn in_process(paths: &[&str], config: Option<&Path>, state_dir: &Path, start_ms: u64) -> Daemon {
        let opts = authwatch::daemon::RunOptions {
            config: config.map(Path::to_path_buf),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            state_dir: Some(state_dir.to_path_buf()),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        };
        let control = authwatch::daemon::start_in_process(opts, start_ms).expect("the daemon starts");
        let d = Daemon {
            child: None,
            addr: control.addr.to_string(),
            inproc: Some(control),
            state_dir: state_dir.to_path_buf(),
            log: Arc::new(Mutex::new(Vec::new())),
        };
        wait_until("/readyz", || d.get("/readyz").0 == 200);
        d
    }

    /// Moves an in-process daemon's clock on by `ms` (its timers fire as they fall due).
    pub fn advance(&self, ms: u64) {
        self.inproc.as_ref().expect("an in-process daemon").advance(ms);
    }

    /// An in-process daemon's clock, Unix ms.
    pub fn inproc_now(&self) -> u64 {
        self.inproc.as_ref().expect("an in-process daemon").now_ms()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// A raw HTTP/1.1 request; (status, body).
    pub fn request(&self, raw: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        self.request(&format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    }

    pub fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The value of one series, written exactly as exposed (`name{label="v",…}`).
    pub fn metric(&self, series: &str) -> Option<f64> {
        self.metrics().lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
    }

    pub fn lines(&self) -> u64 {
        self.metric("authwatch_lines_total{source=\"default\"}").unwrap_or(-1.0) as u64
    }

    pub fn errors(&self, pattern: &str) -> u64 {
        self.metric(&format!("authwatch_errors_total{{pattern=\"{pattern}\",source=\"default\"}}")).unwrap_or(-1.0)
            as u64
    }

    pub fn wait_lines(&self, n: u64) {
        wait_until(&format!("lines_total == {n}"), || self.lines() >= n);
        assert_eq!(self.lines(), n, "more lines than expected:\n{}", self.log_text());
    }

    /// For counters (and gauges that only grow here): waits until the value reaches `want`, then checks
    /// it did not overshoot.
    pub fn wait_metric(&self, series: &str, want: f64) {
        wait_until(&format!("{series} == {want}"), || self.metric(series).is_some_and(|v| v >= want));
        assert_eq!(self.metric(series), Some(want), "{series}");
    }

    /// Waits until a series has exactly this value (gauges move, and a scrape may fall between two
    /// updates of one poll).
    pub fn wait_eq(&self, series: &str, want: f64) {
        wait_until(&format!("{series} == {want}"), || self.metric(series) == Some(want));
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    /// SIGTERM and wait for a clean exit (an in-process one: the same stop, through its control).
    pub fn stop(mut self) -> Option<ExitStatus> {
        if let Some(c) = self.inproc.take() {
            c.stop().expect("the in-process daemon stops cleanly");
            return None;
        }
        self.signal(libc::SIGTERM);
        let status = self.child.take().unwrap().wait().unwrap();
        assert!(status.success(), "authwatch exited with {status}:\n{}", self.log_text());
        Some(status)
    }

    pub fn hup(&self) {
        match &self.inproc {
            Some(c) => c.reload(),
            None => self.signal(libc::SIGHUP),
        }
    }

    pub fn kill9(mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.take().unwrap().wait();
    }

    /// The checkpointed offset of a file, if any.
    pub fn checkpoint_offset(&self, path: &Path) -> Option<u64> {
        checkpoint_offset(&self.state_dir, path)
    }
}

pub fn checkpoint_offset(state_dir: &Path, path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(state_dir.join("checkpoints.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["files"].as_array()?.iter().find(|f| f["path"] == path.display().to_string() && f.get("retired_at").is_none())?["offset"].as_u64()
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Appends bytes to a file (creating it).
pub fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// `n` numbered lines, every `every`-th one a 45011 error.
pub fn lines(tag: &str, n: usize, every: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        if every > 0 && i % every == 0 {
            out.extend_from_slice(
                format!("{{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\",\"tag\":\"{tag}-{i}\"}}\n")
                    .as_bytes(),
            );
        } else {
            out.extend_from_slice(format!("2025-03-14T01:22:05.117Z\t8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\t[{tag}] line {i} ticket length: 472\n").as_bytes());
        }
    }
    out
}
