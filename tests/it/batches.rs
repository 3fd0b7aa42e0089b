//! CLS's shipping to COS, synced to disk: batches of CLS JSON, `|`-CSV without a key line and raw
//! content, compressed gzip, lzop (the real `lzop` binary) and snappy (framing format), land in
//! dated folders over time, late and out of order, while an in-process daemon follows three sources
//! of batches. Truth per minute (45011 calls, login attempts, onset) is known by construction; a
//! 45011 burst whose first minute is split over two batches fires once, stamped in that minute, and
//! resolves once; a restart in the middle reads no batch twice.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::common::daemon::*;
use crate::common::forms::{Call, Outcome, cls_json, scf_text};
use crate::common::{external_tool, gzip};

const T0: i64 = 1_741_914_000_000; // 2025-03-14T01:00:00Z
const MIN: i64 = 60_000;
const MINUTES: i64 = 20;
/// 45011 in these minutes: 30 of each minute's 40 calls.
const BURST: [i64; 2] = [9, 10];
/// Batch k of each source holds the calls started in [BOUNDS[k], BOUNDS[k + 1]): boundaries at :30, so
/// the burst's first minute (9) is split over batches 1 and 2.
const BOUNDS: [i64; 5] = [0, 5 * MIN + 30_000, 9 * MIN + 30_000, 15 * MIN + 30_000, MINUTES * MIN];
const CSV_COLUMNS: [&str; 5] = ["SCF_LogTime", "SCF_RequestId", "SCF_FunctionName", "SCF_Level", "SCF_Message"];

fn calls() -> Vec<Call> {
    let mut v = Vec::new();
    for m in 0..MINUTES {
        for i in 0..40 {
            let refused = BURST.contains(&m) && i < 30;
            v.push(Call {
                request_id: format!("{m:08x}-0a1b-4c2d-9e3f-{i:012x}"),
                function: "getLoginTicket".into(),
                start_ms: T0 + m * MIN + i * 1_400 + 200,
                duration_ms: 80,
                outcome: if refused { Outcome::Returned { errcode: 45011 } } else { Outcome::Ok },
            });
        }
    }
    v
}

/// The content of source `s`'s batch `k`: its share of the calls (every third) in the batch's time.
fn content(s: usize, k: usize) -> Vec<u8> {
    let mine: Vec<Call> = calls()
        .into_iter()
        .enumerate()
        .filter(|(i, c)| i % 3 == s && (T0 + BOUNDS[k]..T0 + BOUNDS[k + 1]).contains(&c.start_ms))
        .map(|(_, c)| c)
        .collect();
    match s {
        0 => cls_json(&mine),
        1 => {
            // CSV as a shipping task writes it: `|`, no key line, `"` encloses, "null" for missing.
            let mut w = csv::WriterBuilder::new().delimiter(b'|').from_writer(Vec::new());
            for line in String::from_utf8(cls_json(&mine)).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let row = CSV_COLUMNS.map(|c| match c {
                    "SCF_Level" => "null".to_string(),
                    c => v[c].as_str().unwrap().to_string(),
                });
                w.write_record(&row).unwrap();
            }
            w.into_inner().unwrap()
        }
        _ => scf_text(&mine),
    }
}

fn snappy(bytes: &[u8]) -> Vec<u8> {
    let mut e = snap::write::FrameEncoder::new(Vec::new());
    e.write_all(bytes).unwrap();
    e.into_inner().unwrap()
}

/// The real `lzop` tool's output.
fn lzop(lzop: &Path, bytes: &[u8], scratch: &Path) -> Vec<u8> {
    let plain = scratch.join("plain");
    std::fs::write(&plain, bytes).unwrap();
    let out = Command::new(lzop).arg("-c").arg(&plain).output().unwrap();
    assert!(out.status.success(), "lzop: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Where CLS puts batch `k` of source `s`: `prefix/%Y/%m/%d/%H/` after its shipping time, named
/// after time, partition and offset. Every name ends `.gz` whatever the compression: it is told by
/// its first bytes.
fn batch_path(root: &Path, s: usize, k: usize) -> PathBuf {
    let shipped = T0 + BOUNDS[k + 1];
    let minute = (shipped / MIN) % 60;
    root.join(format!("src{s}/2025/3/14/1/20250314{:02}{minute:02}_000_{}.gz", 1, 1000 + k))
}

fn compressed(s: usize, k: usize, lzop_bin: &Path, scratch: &Path) -> Vec<u8> {
    let c = content(s, k);
    match (s + k) % 3 {
        0 => gzip(&c),
        1 => lzop(lzop_bin, &c, scratch),
        _ => snappy(&c),
    }
}

/// Lands a batch as a sync does: written beside it under a dot name, renamed into place.
fn land(root: &Path, s: usize, k: usize, lzop_bin: &Path, scratch: &Path) {
    let path = batch_path(root, s, k);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let tmp = path.with_file_name(format!(".{}.tmp", path.file_name().unwrap().to_string_lossy()));
    std::fs::write(&tmp, compressed(s, k, lzop_bin, scratch)).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
}

/// Lines read from every source.
fn lines(d: &Daemon) -> u64 {
    ["json", "csv", "raw"]
        .iter()
        .map(|s| d.metric(&format!("authwatch_lines_total{{source=\"{s}\"}}")).unwrap_or(0.0) as u64)
        .sum()
}

fn rate(d: &Daemon) -> serde_json::Value {
    let (_, body) = d.get("/api/v1/rate/wx_45011_minute_quota");
    serde_json::from_str(&body).unwrap()
}

/// (count, attempts, complete) of each minute the daemon shows.
fn minutes(d: &Daemon) -> Vec<(i64, u64, u64, bool)> {
    rate(d)["data"]["minutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let minute = (m["start_ms"].as_i64().unwrap() - T0) / MIN;
            (
                minute,
                m["count"].as_u64().unwrap(),
                m["login_attempts"].as_u64().unwrap(),
                m["complete"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn alert(d: &Daemon) -> Option<(String, String)> {
    let (_, body) = d.get("/api/v1/alerts");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["alerts"].as_array().unwrap().iter().find(|a| a["labels"]["alertname"] == "Q").map(|a| {
        (a["state"].as_str().unwrap_or_default().to_string(), a["activeAt"].as_str().unwrap_or_default().to_string())
    })
}

/// (startsAt, endsAt) of alert `Q` in every push the stand-in Alertmanager (`webhook`) got, in order. A
/// firing alert's endsAt is the daemon's clock plus three resend intervals; a resolved one's is its
/// own end, in event time.
fn pushed(got: &Mutex<Vec<serde_json::Value>>) -> Vec<(String, String)> {
    let got = got.lock().unwrap();
    let alerts = got.iter().filter_map(|body| body.as_array()).flatten().filter(|a| a["labels"]["alertname"] == "Q");
    alerts
        .map(|a| (a["startsAt"].as_str().unwrap_or_default().into(), a["endsAt"].as_str().unwrap_or_default().into()))
        .collect()
}

fn config(dir: &Path, root: &Path, am: &str) -> PathBuf {
    let cfg = dir.join("authwatch.toml");
    let src = |s: usize| root.join(format!("src{s}")).display().to_string();
    let text = format!(
        r#"[[alerts]]
alert = "Q"
pattern = "wx_45011_minute_quota"
measure = "per_minute"
threshold = 20
for_secs = 0
keep_firing_for_secs = 60
severity = "critical"
[alertmanager]
url = "http://{am}"
resend_interval_secs = 1
resolve_hold_secs = 0
[[sources]]
name = "json"
mode = "batches"
paths = ["{}"]
format = "cls"
interval_secs = 600
[[sources]]
name = "csv"
mode = "batches"
paths = ["{}"]
interval_secs = 600
[sources.csv]
delimiter = "|"
header = false
columns = {CSV_COLUMNS:?}
escape = "\""
fill = "null"
[[sources]]
name = "raw"
mode = "batches"
paths = ["{}"]
format = "raw"
interval_secs = 600
"#,
        src(0),
        src(1),
        src(2)
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// Moves the daemon's clock to `at_ms` (minutes after T0 in `at`), a second at a time so every
/// rescan and evaluation falls due on the way.
fn advance_to(d: &Daemon, at_ms: i64) {
    while (d.inproc_now() as i64) < at_ms {
        d.advance(1_000.min((at_ms - d.inproc_now() as i64) as u64));
    }
}

#[test]
fn a_synced_prefix_of_batches_landing_late_and_out_of_order_gives_the_true_minutes_and_one_alert() {
    let test = "a_synced_prefix_of_batches_landing_late_and_out_of_order_gives_the_true_minutes_and_one_alert";
    let Some(lzop_bin) = external_tool("lzop", test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cls");
    for s in 0..3 {
        std::fs::create_dir_all(root.join(format!("src{s}"))).unwrap();
    }
    let scratch = dir.path().to_path_buf();
    let (am, got) = crate::replay_alertmanager::webhook();
    let cfg = config(dir.path(), &root, &am);
    let state = dir.path().join("state");
    let at = |m: f64| T0 + (m * MIN as f64) as i64;
    let mut d = Daemon::in_process(&[], Some(&cfg), &state, at(6.0) as u64);
    // (landing minute, source, batch): late (1 to 7 minutes after the batch's end) and out of order,
    // across sources and, for the raw source, within one (its batch 2 after its batch 3).
    let schedule: [(f64, usize, usize); 12] = [
        (6.5, 0, 0),
        (7.5, 2, 0),
        (8.5, 1, 0),
        (10.5, 1, 1),
        (11.5, 2, 1),
        (13.5, 0, 1),
        (17.0, 0, 2),
        (17.5, 1, 2),
        (21.0, 0, 3),
        (21.0, 2, 3),
        (22.0, 1, 3),
        (22.5, 2, 2),
    ];
    let mut lines_landed = 0u64;
    let mut restarted = false;
    for (m, s, k) in schedule {
        advance_to(&d, at(m));
        if m >= 18.0 && !restarted {
            // A restart between landings: what was read is not read again, nothing is lost.
            d.stop();
            d = Daemon::in_process(&[], Some(&cfg), &state, at(m) as u64);
            d.advance(6_000);
            assert_eq!(lines(&d), 0, "no batch read twice after the restart");
            lines_landed = 0;
            restarted = true;
        }
        land(&root, s, k, &lzop_bin, &scratch);
        lines_landed += content(s, k).split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64;
        // Renamed into place: read at the next rescan, without waiting to settle. (In a directory
        // the sync has just made, inotify may not watch it yet: then it is read once settled.)
        d.advance(1_000);
        let t = std::time::Instant::now();
        while lines(&d) < lines_landed && t.elapsed() < std::time::Duration::from_secs(2) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if lines(&d) < lines_landed {
            d.advance(5_000);
        }
        wait_until(&format!("{lines_landed} lines read"), || lines(&d) >= lines_landed);
        assert_eq!(lines(&d), lines_landed, "a batch read twice");
        if (m, s, k) == (10.5, 1, 1) {
            // Half of minute 9 is in: its 45011 are not all counted, and it must not be judged.
            assert_eq!(alert(&d).map(|a| a.0), None, "fired on half a minute");
            let complete: Vec<i64> = minutes(&d).iter().filter(|x| x.3).map(|x| x.0).collect();
            assert!(!complete.contains(&9), "minute 9 complete before its batches: {complete:?}");
            assert!(rate(&d)["data"]["onset"]["start"].is_null(), "an onset from a minute still waiting for its batch");
        }
    }
    assert_eq!(d.metric("authwatch_read_errors_total{source=\"json\"}"), Some(0.0));
    // Every batch in; the watermark holds the newest minutes back until the sources have shipped all
    // they had (no new event for twice the interval).
    advance_to(&d, at(22.5 + 25.0));
    wait_until("every minute complete", || minutes(&d).iter().all(|x| x.3) && minutes(&d).len() == MINUTES as usize);
    for (minute, count, attempts, _) in minutes(&d) {
        let want = if BURST.contains(&minute) { 30 } else { 0 };
        assert_eq!((minute, count, attempts), (minute, want, 40), "minute {minute}");
    }
    // One episode: every push names the same start, the close of minute 9 (the burst's first, split
    // over two batches), and it ends once, after the burst.
    wait_until("the resolution pushed", || pushed(&got).iter().any(|a| a.1.ends_with(":59.999Z")));
    let all = pushed(&got);
    let starts: std::collections::BTreeSet<&str> = all.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(starts.into_iter().collect::<Vec<_>>(), ["2025-03-14T01:09:59.999Z"], "{all:?}");
    // A resolution's endsAt is the episode's end in event time (a minute's last ms); a firing push's
    // is the daemon's clock plus three resend intervals.
    let ends: std::collections::BTreeSet<&str> =
        all.iter().map(|a| a.1.as_str()).filter(|e| e.ends_with(":59.999Z")).collect();
    assert_eq!(
        ends.into_iter().collect::<Vec<_>>(),
        ["2025-03-14T01:13:59.999Z"],
        "resolved once, after the burst: {all:?}"
    );
    assert_eq!(alert(&d), None, "resolved: {all:?}");
    let onset = &rate(&d)["data"]["onset"];
    assert_eq!(onset["start"], "2025-03-14T01:09:00.000Z", "{onset}");
    assert_eq!(onset["login_attempts_per_minute"], 40);
    d.stop();
    // `check` reads the same trees, each as its source in the config reads it, to the same minutes.
    let mut per_minute = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for (s, name) in ["json", "csv", "raw"].iter().enumerate() {
        let tree = root.join(format!("src{s}"));
        let args = [
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "--source",
            name,
            "--timeline",
            "-o",
            "json",
            tree.to_str().unwrap(),
        ];
        let o = crate::common::run(&args);
        let v = crate::common::json(&o);
        assert_eq!(v["inputs"].as_array().unwrap().len(), 4, "{v}");
        let compressions: std::collections::BTreeSet<&str> =
            v["inputs"].as_array().unwrap().iter().map(|i| i["compression"].as_str().unwrap()).collect();
        assert_eq!(compressions.len(), 3, "gzip, lzop and snappy told by their bytes: {v}");
        for m in v["timeline"]["minutes"].as_array().unwrap() {
            let e = per_minute.entry(m["start"].as_str().unwrap().to_string()).or_default();
            e.0 += m["count"].as_u64().unwrap();
            e.1 += m["login_attempts"].as_u64().unwrap();
        }
    }
    let want: Vec<(u64, u64)> = (0..MINUTES).map(|m| (if BURST.contains(&m) { 30 } else { 0 }, 40)).collect();
    assert_eq!(per_minute.values().copied().collect::<Vec<_>>(), want, "{per_minute:?}");
}
