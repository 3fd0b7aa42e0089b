//! Helpers shared by the integration tests: run the real binary, read its outputs.
#![allow(dead_code)]

pub mod browser;
pub mod forms;
pub mod seeds;
pub mod tls;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_authwatch")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn golden(name: &str) -> PathBuf {
    root().join("tests/golden").join(name)
}

/// Runs authwatch from the repository root (so relative paths print as in the golden files).
pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).current_dir(root()).output().expect("authwatch runs")
}

pub fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("authwatch runs");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    child.wait_with_output().expect("authwatch finishes")
}

/// `bytes` gzip-compressed, as `gzip` writes them.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("write to memory");
    e.finish().expect("gzip to memory")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

/// An external tool, or None. In CI (CI=true) a missing tool fails the test instead of skipping it.
pub fn external_tool(name: &str, test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") {
            panic!("{test}: {name} is not installed, and CI needs it (.ci/run installs it)");
        }
        eprintln!("SKIPPED {test}: {name} is not installed (CI fails here instead of skipping)");
    }
    found
}

/// `promtool check metrics` on exposition text: must pass with no lint output. Skips (by name) outside
/// CI when promtool is missing.
pub fn promtool_check(text: &str, test: &str) {
    let Some(promtool) = external_tool("promtool", test) else { return };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("promtool finishes");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills a helper process (Prometheus, Alertmanager) when the test ends, however it ends.
pub struct Kill(pub std::process::Child);

impl Kill {
    /// Starts `program` with `args`, its output discarded.
    pub fn spawn(program: &Path, args: &[String]) -> Kill {
        Kill(
            Command::new(program)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display())),
        )
    }
}

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A GET over HTTP/1.0 (so no chunked answer): (status, body).
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, resp.split_once("\r\n\r\n")?.1.to_string()))
}

/// An address on 127.0.0.1 that was free a moment ago, for a helper process to listen on.
/// A real Alertmanager (`bin`) with `config` (YAML), its state in `dir`, on a free loopback port, ready:
/// (the process, killed on drop; its address).
pub fn alertmanager(bin: &Path, dir: &Path, config: &str) -> (Kill, String) {
    let addr = free_addr();
    write(&dir.join("am.yml"), config.as_bytes());
    let am = Kill::spawn(
        bin,
        &[
            format!("--config.file={}", dir.join("am.yml").display()),
            format!("--storage.path={}", dir.join("am-data").display()),
            format!("--web.listen-address={addr}"),
            "--cluster.listen-address=".to_string(),
        ],
    );
    daemon::wait_until("alertmanager ready", || http_get(&addr, "/-/ready").is_some_and(|(s, _)| s == 200));
    (am, addr)
}

pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    format!("127.0.0.1:{port}")
}

/// `authwatch.toml` in `dir`: the `head` TOML (e.g. a `[limits]` table), then one source named
/// `default` following `path` (a file or glob).
pub fn config_with_source(dir: &Path, head: &str, path: &str) -> PathBuf {
    let config = dir.join("authwatch.toml");
    write(&config, format!("{head}\n[[sources]]\nname = \"default\"\npaths = [\"{path}\"]\n").as_bytes());
    config
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write test file");
}

pub mod daemon;
