//! Invalid UTF-8 and broken JSON in a followed file: read lossily, counted, never a crash.

use crate::common::daemon::*;

#[test]
fn invalid_utf8_and_truncated_json_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.jsonl");
    let d = Daemon::start(&[log.to_str().unwrap()], &dir.path().join("state"));
    append(&log, b"\xff\xfe\x00 binary \xc3\x28\n");
    append(&log, b"\xe4\xb8 {\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit \xff\"}\n");
    append(&log, b"{\"SCF_FunctionName\":\"getLoginTicket\",\"SCF_Message\":\"{\\\"errcode\\\":40029\n");
    d.wait_lines(3);
    assert_eq!(d.errors("wx_45011_minute_quota"), 1);
    assert_eq!(d.errors("wx_40029_invalid_code"), 1);
    assert_eq!(d.metric("authwatch_malformed_records_total{source=\"default\"}"), Some(1.0));
    d.stop();
}
