//! Memory is bounded by the line cap, not by the input: a 50 MB line and 100 MB of input keep the
//! process far below the 30 MB target. RUSAGE_CHILDREN reports the largest child a process has waited
//! for, and a child's peak includes the RSS it inherited from the process that forked it; in the one
//! test binary that process has run many other tests (and their daemons), so the measurement runs in a
//! fresh copy of this binary that runs this test alone (`ALONE`).

use crate::common::*;

/// Set in the fresh copy of the test binary that measures.
const ALONE: &str = "AUTHWATCH_MEMORY_TEST_ALONE";

fn peak_rss_of_children_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: initialised by the successful call above.
    unsafe { usage.assume_init() }.ru_maxrss
}

#[test]
fn peak_rss_stays_under_30_mb_with_a_50_mb_line_in_100_mb_of_input() {
    if std::env::var_os(ALONE).is_none() {
        let name = "memory::peak_rss_stays_under_30_mb_with_a_50_mb_line_in_100_mb_of_input";
        let o = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads=1", "--nocapture"])
            .env(ALONE, "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains("test result: ok. 1 passed"), "the test ran alone: {}", stdout(&o));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    // Written in small pieces: a forked child inherits this process's RSS high-water mark, so this
    // process must never hold the 100 MB itself.
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        f.write_all(br#"{"errcode":45011} "#).unwrap();
        let chunk = vec![b'y'; 1 << 16];
        for _ in 0..(50 << 20) / chunk.len() {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n").unwrap();
        let line =
            b"2025-03-14T01:22:05.190Z\t8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\t[getLoginTicket] ticket length: 472\n";
        for _ in 0..=(50 << 20) / line.len() {
            f.write_all(line).unwrap();
        }
        f.flush().unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() >= 100 << 20);
    let o = run(&["check", "-o", "json", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["lines_truncated"], 1);
    assert_eq!(v["matches"]["wx_45011_minute_quota"], 1);
    let peak = peak_rss_of_children_kib();
    assert!(peak > 0 && peak < 30 * 1024, "peak RSS {peak} KiB");
}
