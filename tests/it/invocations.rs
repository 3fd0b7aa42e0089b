//! Invocations, not lines: generated load tests of the login function (a ramp crossing WeChat's 100
//! calls a minute, every call past 100 in a minute refused with 45011, a few 40029, failures returned or
//! thrown so each prints its error two or three times, another function's calls interleaved) written in
//! every export form a team has. From each form, `check --timeline --output json` must give the
//! generator's truth: login attempts per minute, failed calls per minute per id, the onset (the first
//! whole minute with 45011: the first minute of an input may be cut, so it is never the onset). A daemon
//! replaying the file serves the same at `/api/v1/rate/<id>`, and two overlapping CLS exports read
//! together give the same truth.
//!
//! Plain SCF text does not name its function (a text export is one function's log), so the other
//! function's calls are left out of that form; every other form interleaves them.

use crate::common;
use crate::common::daemon::*;
use crate::common::forms::{self, Call, Outcome};
use crate::common::{json, run};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const T0: i64 = 1_741_914_000_000; // 2025-03-14T01:00:00Z, a minute boundary
const MIN: i64 = 60_000;
const Q: &str = "wx_45011_minute_quota";
const CODE: &str = "wx_40029_invalid_code";

#[derive(Debug, Clone)]
struct Load {
    calls: Vec<Call>,
    minutes: usize,
}

/// Per minute: (login attempts, 45011 calls, 40029 calls).
fn truth(load: &Load) -> Vec<(u64, u64, u64)> {
    let mut t = vec![(0, 0, 0); load.minutes];
    for c in load.calls.iter().filter(|c| c.function == "getLoginTicket") {
        let m = ((c.start_ms - T0) / MIN) as usize;
        t[m].0 += 1;
        match c.outcome {
            Outcome::Returned { errcode: 45011 } | Outcome::Thrown { errcode: 45011 } => t[m].1 += 1,
            Outcome::Returned { errcode: 40029 } | Outcome::Thrown { errcode: 40029 } => t[m].2 += 1,
            _ => {}
        }
    }
    t
}

/// The onset the generator knows: the first whole minute with 45011: not the first one (cut by the
/// start), nor, where inputs end (`check`, a replay), the last one (cut by the end).
fn true_onset(t: &[(u64, u64, u64)], ends: bool) -> Option<(usize, u64)> {
    let whole = t.len() - usize::from(ends);
    t.iter().enumerate().take(whole).skip(1).find(|(_, m)| m.1 > 0).map(|(i, m)| (i, m.0))
}

fn load() -> impl Strategy<Value = Load> {
    (3usize..=5, 40u64..=90, 15u64..=45, any::<u64>()).prop_map(|(minutes, first, step, seed)| {
        let mut rng = seed | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut calls = Vec::new();
        for m in 0..minutes as u64 {
            let n = first + step * m;
            for i in 0..n {
                // Spread over the first 55 s of the minute; a call lasts at most 3 s.
                let start_ms = T0 + m as i64 * MIN + (i as i64 * 55_000) / n as i64;
                let errcode = if i >= 100 {
                    Some(45011) // WeChat refuses every call past 100 in a minute
                } else if next() % 25 == 0 {
                    Some(40029)
                } else {
                    None
                };
                let outcome = match errcode {
                    None => Outcome::Ok,
                    Some(e) if next() % 2 == 0 => Outcome::Returned { errcode: e },
                    Some(e) => Outcome::Thrown { errcode: e },
                };
                let id = next();
                calls.push(Call {
                    request_id: format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", id >> 32, id & 0xffff, m, i % 4096, i),
                    function: "getLoginTicket".into(),
                    start_ms,
                    duration_ms: 20 + (next() % 2000) as i64,
                    outcome,
                });
                if i % 7 == 0 {
                    let other = next();
                    calls.push(Call {
                        request_id: format!("{:032x}", other as u128 * 7 + i as u128),
                        function: "listOrders".into(),
                        start_ms: start_ms + 3,
                        duration_ms: 15,
                        outcome: Outcome::Ok,
                    });
                }
            }
        }
        calls.sort_by_key(|c| c.start_ms);
        Load { calls, minutes }
    })
}

/// The four forms of one load test: (name, file name, bytes).
fn forms_of(load: &Load) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let login_only: Vec<Call> = load.calls.iter().filter(|c| c.function == "getLoginTicket").cloned().collect();
    vec![
        ("scf text", "getLoginTicket.log", forms::scf_text(&login_only)),
        ("cls json", "export.jsonl", forms::cls_json(&load.calls)),
        ("cls csv", "export.csv", forms::cls_csv(&load.calls)),
        ("tcb fn log", "tcb-fn-log.txt", forms::tcb_log(&load.calls)),
    ]
}

/// (minutes as (start_ms, count, attempts), onset as (start_ms, attempts)) from a timeline JSON object.
fn read_timeline(t: &serde_json::Value) -> (Vec<(i64, u64, u64)>, Option<(String, Option<u64>)>) {
    let minutes = t["minutes"]
        .as_array()
        .unwrap_or_else(|| panic!("no minutes: {t}"))
        .iter()
        .map(|m| {
            let start = m["start"].as_str().or_else(|| m["start_ms"].as_str()).map(str::to_string);
            let start_ms = m["start_ms"].as_i64().unwrap_or_else(|| minute_ms(start.as_deref().unwrap_or_default()));
            (start_ms, m["count"].as_u64().unwrap(), m["login_attempts"].as_u64().unwrap())
        })
        .collect();
    let onset = t["onset"]["start"].as_str().map(|s| (s.to_string(), t["onset"]["login_attempts_per_minute"].as_u64()));
    (minutes, onset)
}

/// "2025-03-14T01:04:00.000Z" → Unix ms (minutes of T0's hour only: enough for these tests).
fn minute_ms(s: &str) -> i64 {
    let hh: i64 = s[11..13].parse().unwrap();
    let mm: i64 = s[14..16].parse().unwrap();
    T0 + ((hh - 1) * 60 + mm) * MIN
}

fn utc(minute: usize) -> String {
    format!("2025-03-14T01:{minute:02}:00.000Z")
}

fn expect(
    ends: bool,
    form: &str,
    pattern: &str,
    t: &[(u64, u64, u64)],
    minutes: &[(i64, u64, u64)],
    onset: &Option<(String, Option<u64>)>,
) -> Result<(), TestCaseError> {
    let want: Vec<(i64, u64, u64)> = t
        .iter()
        .enumerate()
        .map(|(m, (attempts, q, code))| (T0 + m as i64 * MIN, if pattern == Q { *q } else { *code }, *attempts))
        .collect();
    prop_assert_eq!(minutes, &want[..], "{}: per-minute ({}, attempts)", form, pattern);
    if pattern == Q {
        let want_onset = true_onset(t, ends).map(|(m, a)| (utc(m), Some(a)));
        prop_assert_eq!(onset, &want_onset, "{}: onset", form);
    }
    Ok(())
}

fn check_timeline(path: &std::path::Path, pattern: &str, extra: &[&std::path::Path]) -> serde_json::Value {
    let timeline = format!("--timeline={pattern}");
    let mut args = vec!["check", "--output", "json", &timeline, path.to_str().unwrap()];
    args.extend(extra.iter().map(|p| p.to_str().unwrap()));
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    json(&o)
}

fn every_form_gives_the_truth(load: &Load) -> Result<(), TestCaseError> {
    let t = truth(load);
    let dir = tempfile::tempdir().unwrap();
    for (form, name, bytes) in forms_of(load) {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        for pattern in [Q, CODE] {
            let doc = check_timeline(&path, pattern, &[]);
            let (minutes, onset) = read_timeline(&doc["timeline"]);
            expect(true, form, pattern, &t, &minutes, &onset)?;
            let calls: u64 = t.iter().map(|m| if pattern == Q { m.1 } else { m.2 }).sum();
            prop_assert_eq!(doc["matches"][pattern].as_u64(), Some(calls), "{}: failed calls of {}", form, pattern);
            // Each failure is printed two or three times: the raw line count says so.
            prop_assert!(doc["line_matches"][pattern].as_u64().unwrap() >= 2 * calls, "{}: line_matches", form);
            // A thrown failure also ends in a 430 status record: the call is 45011 or 40029, not unlisted too.
            prop_assert_eq!(doc["matches"]["unlisted"].as_u64(), Some(0), "{}: unlisted calls", form);
        }
        let attempts: u64 = t.iter().map(|m| m.0).sum();
        prop_assert_eq!(doc_attempts(&check_timeline(&path, Q, &[])), attempts, "{}: login attempts", form);
    }
    Ok(())
}

fn doc_attempts(doc: &serde_json::Value) -> u64 {
    doc["login_attempts"].as_u64().unwrap()
}

/// Two CLS exports that overlap (an earlier window, then a later one starting inside it), read together.
fn overlapping_exports_count_once(load: &Load, cut_a: usize, cut_b: usize) -> Result<(), TestCaseError> {
    let t = truth(load);
    let all = forms::cls_json(&load.calls);
    let records: Vec<&[u8]> = all.split_inclusive(|b| *b == b'\n').collect();
    let (a, b) = (cut_a.min(cut_b) % records.len(), cut_a.max(cut_b) % records.len());
    let (b, a) = (b.max(a + 1).min(records.len()), a);
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("10-00_10-30.jsonl");
    let second = dir.path().join("10-20_11-00.jsonl");
    std::fs::write(&first, records[..b].concat()).unwrap();
    std::fs::write(&second, records[a..].concat()).unwrap();
    let doc = check_timeline(&first, Q, &[&second]);
    let (minutes, onset) = read_timeline(&doc["timeline"]);
    expect(true, "two overlapping CLS exports", Q, &t, &minutes, &onset)?;
    // Named in the other order (a shell glob sorts by name, not by time): the same truth.
    let swapped = check_timeline(&second, Q, &[&first]);
    let (minutes, onset) = read_timeline(&swapped["timeline"]);
    expect(true, "two overlapping CLS exports, later one first", Q, &t, &minutes, &onset)?;
    // Recognised lines are not doubled either: the records read twice were dropped and counted.
    let whole = dir.path().join("whole.jsonl");
    std::fs::write(&whole, &all).unwrap();
    let once = check_timeline(&whole, Q, &[]);
    prop_assert_eq!(&doc["line_matches"], &once["line_matches"], "recognised lines");
    prop_assert_eq!(&doc["login_attempts"], &once["login_attempts"], "login attempts");
    let dup = doc["duplicate_records"].as_u64().unwrap();
    prop_assert!(dup <= (b - a) as u64, "{} records read twice, {} in the overlap", dup, b - a);
    let overlap_has_start = records[a..b].iter().any(|r| String::from_utf8_lossy(r).contains("START RequestId"));
    prop_assert!(!overlap_has_start || dup > 0, "an overlapping START record was not recognised as read twice");
    Ok(())
}

proptest! {
    #![proptest_config(common::seeds::fixed(24, "tests/invocations.proptest-regressions"))]

    #[test]
    fn check_gives_the_generators_truth_in_every_form(l in load()) {
        every_form_gives_the_truth(&l)?;
    }

    #[test]
    fn overlapping_cls_exports_count_once(l in load(), a in any::<usize>(), b in any::<usize>()) {
        overlapping_exports_count_once(&l, a, b)?;
    }
}

proptest! {
    #![proptest_config(common::seeds::fixed(4, "tests/invocations.proptest-regressions"))]

    /// A daemon replaying each form in one go serves the same curve and onset.
    #[test]
    fn a_daemon_replaying_each_form_serves_the_truth(l in load()) {
        let t = truth(&l);
        let attempts: u64 = t.iter().map(|m| m.0).sum();
        for (form, name, bytes) in forms_of(&l) {
            let dir = tempfile::tempdir().unwrap();
            let logs = dir.path().join("logs");
            std::fs::create_dir(&logs).unwrap();
            std::fs::write(logs.join(name), &bytes).unwrap();
            // In process, on a clock of the test's: nothing here waits for a timer.
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
            let d = Daemon::in_process(&[logs.to_str().unwrap()], None, &dir.path().join("state"), now);
            d.wait_metric("authwatch_login_attempts_total{source=\"default\"}", attempts as f64);
            let q: u64 = t.iter().map(|m| m.1).sum();
            d.wait_metric(&format!("authwatch_errors_total{{pattern=\"{Q}\",source=\"default\"}}"), q as f64);
            for pattern in [Q, CODE] {
                let (status, body) = d.get(&format!("/api/v1/rate/{pattern}"));
                prop_assert_eq!(status, 200);
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let (minutes, onset) = read_timeline(&v["data"]);
                expect(false, &format!("daemon, {form}"), pattern, &t, &minutes, &onset)?;
            }
            d.stop();
        }
    }
}

/// The bundled plain-text example (`tests/golden/loadtest-getLoginTicket.log`, README "What a count
/// means"): a fixed ramp of 80, 95, 110, 130 and 150 calls a minute, written by the same writer. Its
/// timeline shows the attempts, and README prints exactly what `check --timeline` prints for it.
#[test]
fn the_bundled_plain_text_load_test_and_its_readme_timeline() {
    let mut calls = Vec::new();
    for (m, n) in [80u64, 95, 110, 130, 150].into_iter().enumerate() {
        for i in 0..n {
            let errcode = if i >= 100 {
                Some(45011)
            } else if i % 37 == 5 {
                Some(40029)
            } else {
                None
            };
            calls.push(Call {
                request_id: format!("{:08x}-0a1b-4c2d-9e3f-{:012x}", 0x5ca1_0000 + m as u64, i),
                function: "getLoginTicket".into(),
                start_ms: T0 + 20_000 + m as i64 * MIN + (i as i64 * 39_000) / n as i64,
                duration_ms: 40 + (i as i64 * 7) % 300,
                outcome: match errcode {
                    None => Outcome::Ok,
                    Some(e) if i % 2 == 0 => Outcome::Returned { errcode: e },
                    Some(e) => Outcome::Thrown { errcode: e },
                },
            });
        }
    }
    let path = common::golden("loadtest-getLoginTicket.log");
    let bytes = forms::scf_text(&calls);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "{} is what the writer writes", path.display());
    let o = run(&["check", "--timeline", "tests/golden/loadtest-getLoginTicket.log"]);
    assert_eq!(o.status.code(), Some(0));
    let out = common::stdout(&o);
    let table = &out[out.find("\nMINUTE (UTC)").unwrap() + 1..];
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    assert!(readme.contains(table), "README must show this timeline as printed:\n{table}");
    // The truth: attempts per minute as written, 45011 from the 101st call of a minute, the onset
    // in the first whole minute (the file starts at 01:00:20, so 01:00 is cut and never the onset).
    for (minute, attempts, refused) in [("01:00", 80, 0), ("01:01", 95, 0), ("01:02", 110, 10), ("01:03", 130, 30)] {
        let row = table.lines().find(|l| l.starts_with(&format!("2025-03-14T{minute}"))).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!((cells[1], cells[2]), (refused.to_string().as_str(), attempts.to_string().as_str()), "{row}");
    }
    let onset: Vec<&str> = table.lines().filter(|l| l.contains("<- onset")).collect();
    assert_eq!(onset.len(), 1, "{table}");
    assert!(onset[0].starts_with("2025-03-14T01:02 "), "{table}");
    assert!(
        table.lines().nth(1).is_some_and(|l| l.starts_with("2025-03-14T01:00 ") && l.contains("(partial")),
        "{table}"
    );
}

/// An export sorted newest first, and one record stamped in 2099 (a broken exporter, a phone's clock),
/// change nothing: the same minutes, the same onset; the 2099 record is counted as such.
#[test]
fn newest_first_exports_and_a_line_from_the_future_change_nothing() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let l = load().new_tree(&mut runner).unwrap().current();
    let t = truth(&l);
    let dir = tempfile::tempdir().unwrap();
    let all = forms::cls_json(&l.calls);
    let mut records: Vec<&[u8]> = all.split_inclusive(|b| *b == b'\n').collect();
    records.reverse();
    let reversed = dir.path().join("newest-first.jsonl");
    std::fs::write(&reversed, records.concat()).unwrap();
    let doc = check_timeline(&reversed, Q, &[]);
    let (minutes, onset) = read_timeline(&doc["timeline"]);
    expect(true, "newest first", Q, &t, &minutes, &onset).unwrap();
    let future = serde_json::json!({
        "SCF_FunctionName": "getLoginTicket",
        "SCF_RequestId": "2099beef-0a1b-4c2d-9e3f-123456789abc",
        "SCF_LogTime": "4070908800000000000",
        "SCF_Message": "jscode2session {\"errcode\":40029,\"errmsg\":\"invalid code\"}",
    })
    .to_string()
        + "\n";
    let mut with_future = all.clone();
    let at = with_future.len() / 2;
    let cut = at + with_future[at..].iter().position(|b| *b == b'\n').unwrap() + 1;
    with_future.splice(cut..cut, future.bytes());
    let path = dir.path().join("with-2099.jsonl");
    std::fs::write(&path, &with_future).unwrap();
    let doc = check_timeline(&path, Q, &[]);
    let (minutes, onset) = read_timeline(&doc["timeline"]);
    expect(true, "a record from 2099", Q, &t, &minutes, &onset).unwrap();
    assert_eq!(doc["future_timestamps"], 1);
    assert_eq!(doc["arrival_time_events"], 0, "in no minute, never at reading time");
}
