//! History survives restarts: a CLS export replayed with the event clock, the daemon restarted in the
//! middle (SIGTERM, and kill -9 with lines read after the last checkpoint), gives the same per-minute
//! curve, onset and alert as an uninterrupted run: nothing forgotten, nothing counted twice, the alert
//! firing at the restart neither re-fired nor lost.

use crate::common::daemon::*;
use crate::common::forms::{Call, Outcome, cls_json};
use crate::common::write;

use std::path::Path;

const T0: i64 = 1_741_914_000_000; // 2025-03-14T01:00:00Z
const MIN: i64 = 60_000;

/// Minute m: (login calls, of them refused with 45011).
fn curve(m: i64) -> (i64, i64) {
    match m {
        0..=3 => (40 + 20 * m, 0),
        4 => (130, 3),
        5 => (160, 12),
        6 => (190, 25),
        7 => (60, 0),
        _ => (30, 0),
    }
}

fn total_attempts() -> u64 {
    (0..=12).map(|m| curve(m).0 as u64).sum()
}

fn export() -> Vec<u8> {
    let mut calls = Vec::new();
    for m in 0..=12 {
        let (n, refused) = curve(m);
        for i in 0..n {
            calls.push(Call {
                request_id: format!("{m:08x}-0a1b-4c2d-9e3f-{i:012x}"),
                function: "getLoginTicket".into(),
                start_ms: T0 + m * MIN + i * 59_000 / n,
                duration_ms: 40,
                outcome: if i < refused { Outcome::Returned { errcode: 45011 } } else { Outcome::Ok },
            });
        }
    }
    cls_json(&calls)
}

/// The byte offset of the first call starting at or after `ms`: a restart between two calls.
fn split_at(bytes: &[u8], ms: i64) -> usize {
    let mut at = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        let start: i64 = v["SCF_StartTime"].as_str().unwrap().parse().unwrap();
        if start >= ms && v["SCF_Message"].as_str().unwrap().starts_with("START") {
            return at;
        }
        at += line.len();
    }
    at
}

fn config(dir: &Path, logs: &Path, checkpoint_ms: u64) -> std::path::PathBuf {
    let cfg = dir.join("authwatch.toml");
    write(
        &cfg,
        format!(
            r#"[alerting]
clock = "event"
replay_idle_secs = 600
[[alerts]]
alert = "WeChatMinuteQuotaCritical"
pattern = "wx_45011_minute_quota"
measure = "per_minute"
threshold = 20
keep_firing_for_secs = 60
severity = "critical"
[limits]
checkpoint_interval_ms = {checkpoint_ms}
poll_interval_ms = 50
[[sources]]
name = "cls"
paths = ["{}/*.jsonl"]
format = "cls"
"#,
            logs.display()
        )
        .as_bytes(),
    );
    cfg
}

/// The daemon's view: the 45011 minutes (with attempts and partial flags), the onset, the alerts.
fn view(d: &Daemon) -> (serde_json::Value, serde_json::Value, String) {
    let (_, body) = d.get("/api/v1/rate/wx_45011_minute_quota");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (v["data"]["minutes"].clone(), v["data"]["onset"].clone(), d.get("/api/v1/alerts").1)
}

fn attempts_seen(d: &Daemon) -> u64 {
    view(d).0.as_array().map_or(0, |m| m.iter().map(|m| m["login_attempts"].as_u64().unwrap_or(0)).sum())
}

/// Waits until the windows hold `n` login attempts, and checks they do not hold more.
fn wait_attempts(d: &Daemon, n: u64) {
    wait_until(&format!("{n} login attempts in the windows"), || attempts_seen(d) >= n);
    assert_eq!(attempts_seen(d), n, "counted twice:\n{}", d.log_text());
}

fn attempts_in(bytes: &[u8]) -> u64 {
    bytes.split(|&b| b == b'\n').filter(|l| l.windows(18).any(|w| w == b"\"START RequestId: ")).count() as u64
}

struct Run {
    _dir: tempfile::TempDir,
    log: std::path::PathBuf,
    state: std::path::PathBuf,
    cfg: std::path::PathBuf,
}

fn new_run(checkpoint_ms: u64) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = config(dir.path(), &logs, checkpoint_ms);
    Run { log: logs.join("export.jsonl"), state: dir.path().join("state"), cfg, _dir: dir }
}

impl Run {
    fn start(&self) -> Daemon {
        Daemon::start(&["--config", self.cfg.to_str().unwrap()], &self.state)
    }
}

#[test]
fn a_restart_in_the_middle_of_a_replay_keeps_the_curve_onset_and_alert() {
    let bytes = export();
    let firing = "\"state\":\"firing\"";

    // Uninterrupted.
    let r = new_run(100);
    let d = r.start();
    append(&r.log, &bytes);
    wait_attempts(&d, total_attempts());
    let whole = view(&d);
    d.stop();
    assert_eq!(whole.0.as_array().unwrap().len(), 13);
    assert_eq!(whole.1["start"], "2025-03-14T01:04:00.000Z");

    // SIGTERM in the middle of minute 6, the alert firing (minute 6 open, its 25 refusals read).
    let cut = split_at(&bytes, T0 + 6 * MIN + 30_000);
    let r = new_run(100);
    let d = r.start();
    append(&r.log, &bytes[..cut]);
    wait_attempts(&d, attempts_in(&bytes[..cut]));
    wait_until("the alert firing", || d.get("/api/v1/alerts").1.contains(firing));
    let before = d.get("/api/v1/alerts").1;
    d.stop();
    let d = r.start();
    assert_eq!(d.get("/api/v1/alerts").1, before, "restored as it was: not forgotten, not re-fired");
    assert_eq!(attempts_seen(&d), attempts_in(&bytes[..cut]), "the curve so far, restored");
    assert_eq!(d.metric("authwatch_history_load_failures_total"), Some(0.0));
    append(&r.log, &bytes[cut..]);
    wait_attempts(&d, total_attempts());
    assert_eq!(view(&d), whole, "SIGTERM");
    d.stop();

    // kill -9 with lines read after the last checkpoint (every 3 s here): they are read again, and
    // the restored windows do not hold them twice.
    let first = split_at(&bytes, T0 + 3 * MIN + 20_000);
    let second = split_at(&bytes, T0 + 6 * MIN + 40_000);
    let r = new_run(3_000);
    let d = r.start();
    append(&r.log, &bytes[..first]);
    wait_attempts(&d, attempts_in(&bytes[..first]));
    wait_until("a checkpoint at the first cut", || d.checkpoint_offset(&r.log) == Some(first as u64));
    append(&r.log, &bytes[first..second]);
    wait_attempts(&d, attempts_in(&bytes[..second]));
    let saved = d.checkpoint_offset(&r.log);
    d.kill9();
    assert_eq!(saved, Some(first as u64), "the lines after the first cut were read but not checkpointed");
    let d = r.start();
    assert_eq!(d.metric("authwatch_history_load_failures_total"), Some(0.0));
    wait_attempts(&d, attempts_in(&bytes[..second]));
    append(&r.log, &bytes[second..]);
    wait_attempts(&d, total_attempts());
    assert_eq!(view(&d), whole, "kill -9");
    d.stop();
}

#[test]
fn a_bad_history_file_is_set_aside_and_the_daemon_starts_empty() {
    let bytes = export();
    for (what, content) in
        [("garbage", b"\x00\xff not json".to_vec()), ("another version", br#"{"version": 99}"#.to_vec())]
    {
        let r = new_run(100);
        std::fs::create_dir_all(&r.state).unwrap();
        write(&r.state.join("history.json"), &content);
        let d = r.start();
        assert_eq!(d.metric("authwatch_history_load_failures_total"), Some(1.0), "{what}");
        wait_until(&format!("{what}: the log to say \"starting without history\""), || {
            d.log_text().contains("starting without history")
        });
        append(&r.log, &bytes);
        wait_attempts(&d, total_attempts());
        // A good history replaces it.
        wait_until("a history written", || d.metric("authwatch_history_writes_total").is_some_and(|v| v >= 1.0));
        d.stop();
        let aside = std::fs::read_dir(&r.state)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("history.corrupt-"))
            .count();
        assert_eq!(aside, 1, "{what}: kept for inspection");
        let d = r.start();
        assert_eq!(d.metric("authwatch_history_load_failures_total"), Some(0.0), "{what}");
        assert_eq!(attempts_seen(&d), total_attempts(), "{what}: restored");
        d.stop();
    }
}
