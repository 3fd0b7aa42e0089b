//! `run` following a `tcb fn log` capture counts its last block: a block is complete only when the next
//! one starts or the input ends, and a followed file does not end; once the file has had no new line
//! for the stage's hold time, its gathered block is given. And `check` says what each input was read as.

use crate::common::daemon::*;
use crate::common::forms::{Call, Outcome, tcb_log};

const T0: i64 = 1_741_914_000_000;

fn calls(n: usize) -> Vec<Call> {
    (0..n)
        .map(|i| Call {
            request_id: format!("00000000-0a1b-4c2d-9e3f-{i:012x}"),
            function: "getLoginTicket".into(),
            start_ms: T0 + i as i64 * 700,
            duration_ms: 80,
            // Every third call refused, the last one too: its block is the file's last.
            outcome: if i % 3 == 0 || i == n - 1 { Outcome::Thrown { errcode: 45011 } } else { Outcome::Ok },
        })
        .collect()
}

#[test]
fn run_counts_the_last_tcb_fn_log_block_once_the_file_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tcb.log");
    let calls = calls(20);
    let refused = calls.iter().filter(|c| c.outcome != Outcome::Ok).count() as u64;
    append(&log, &tcb_log(&calls));
    let lines = std::fs::read(&log).unwrap().split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64;
    let d = Daemon::in_process(&[log.to_str().unwrap()], None, &dir.path().join("state"), (T0 + 3_600_000) as u64);
    wait_until("every line read", || d.lines() >= lines.saturating_sub(1));
    assert_eq!(d.errors("wx_45011_minute_quota"), refused - 1, "the last block is still gathering");
    // No new line for the hold time (5 s): the last block is given.
    d.advance(5_000);
    wait_until("the last block counted", || d.errors("wx_45011_minute_quota") == refused);
    d.advance(5_000);
    assert_eq!(d.errors("wx_45011_minute_quota"), refused, "counted once");
    // `check` of the same file: the same count, and the form it was read as.
    let o = crate::common::run(&["check", "-o", "json", log.to_str().unwrap()]);
    let v = crate::common::json(&o);
    assert_eq!(v["matches"]["wx_45011_minute_quota"], refused);
    assert_eq!(v["inputs"][0]["form"], "tcb-log", "{v}");
    assert_eq!(v["inputs"][0]["compression"], "none", "{v}");
    let table = crate::common::stdout(&crate::common::run(&["check", log.to_str().unwrap()]));
    assert!(table.contains(&format!("{} (tcb-log)", log.display())), "{table}");
    d.stop();
}

/// A `tcb fn log` capture whose first line is not the CLI's banner (here the shell's echo of the
/// command) is read per line as text, as before, but `check` now says it is unsure, and why, on
/// standard error, and names the flag that reads it right.
#[test]
fn a_capture_detected_as_text_that_holds_tcb_blocks_is_said_to_be_unsure() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("capture.txt");
    let mut bytes = b"$ tcb fn log getLoginTicket --limit 100\n".to_vec();
    bytes.extend(tcb_log(&calls(6)));
    std::fs::write(&log, &bytes).unwrap();
    let o = crate::common::run(&["check", "-o", "json", log.to_str().unwrap()]);
    let err = crate::common::stderr(&o);
    assert!(err.contains("read as text but unsure") && err.contains("--format tcb-log"), "{err}");
    assert_eq!(crate::common::json(&o)["inputs"][0]["form"], "text");
    let o = crate::common::run(&["check", "--format", "tcb-log", "-o", "json", log.to_str().unwrap()]);
    assert!(!crate::common::stderr(&o).contains("unsure"));
    assert_eq!(crate::common::json(&o)["inputs"][0]["form"], "tcb-log");
}
