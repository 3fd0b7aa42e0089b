//! A line over max_line_bytes (1 MiB by default) is cut and counted; the next line is intact.

use crate::common::daemon::*;

#[test]
fn a_line_over_one_mib_is_cut_counted_and_skipped_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let d = Daemon::start(&[log.to_str().unwrap()], &dir.path().join("state"));
    let mut big = br#"{"errcode":45011,"errmsg":"api minute-quota reach limit"} "#.to_vec();
    big.resize(3 << 20, b'z');
    // Written in pieces, so the daemon meets the line while it is still growing.
    for chunk in big.chunks(256 * 1024) {
        append(&log, chunk);
    }
    append(&log, b" {\"errcode\":40029} beyond the cap\n");
    append(&log, b"{\"errcode\":40029,\"errmsg\":\"invalid code\"}\n");
    d.wait_lines(2);
    d.wait_metric("authwatch_lines_truncated_total{source=\"default\"}", 1.0);
    assert_eq!(d.errors("wx_45011_minute_quota"), 1);
    assert_eq!(d.errors("wx_40029_invalid_code"), 1);
    d.stop();
}
