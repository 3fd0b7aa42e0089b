//! The HTTP endpoint: known paths only, GET/HEAD only, every series present from the start, and
//! promtool-clean exposition.

use crate::common;
use crate::common::daemon::*;

#[test]
fn endpoints_methods_and_series() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let d = Daemon::start(&[log.to_str().unwrap()], &dir.path().join("state"));
    assert_eq!(d.get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(d.get("/readyz"), (200, "ready\n".to_string()));
    assert_eq!(d.get("/nope").0, 404);
    assert_eq!(d.get("/metrics/../etc/passwd").0, 404);
    assert_eq!(d.request("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").0, 405);
    assert_eq!(d.request("DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").0, 405);
    let (status, body) = d.request("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""));
    // Garbage is answered (400) or dropped, never a crash.
    let (status, _) = d.request("\x00\x01 nonsense\r\n\r\n");
    assert!(status == 400 || status == 0, "{status}");
    assert_eq!(d.get("/healthz").0, 200);

    let text = d.metrics();
    let catalogue = authwatch::patterns::Catalogue::builtin().unwrap();
    for id in catalogue.patterns().iter().map(|p| p.id.as_str()) {
        let series = format!("authwatch_errors_total{{pattern=\"{id}\",source=\"default\"}} 0");
        assert!(text.lines().any(|l| l == series), "missing {series}");
    }
    for name in [
        "authwatch_lines_total",
        "authwatch_bytes_total",
        "authwatch_files_watched",
        "authwatch_file_rotations_total",
        "authwatch_file_truncations_total",
        "authwatch_read_errors_total",
        "authwatch_lines_truncated_total",
        "authwatch_malformed_records_total",
        "authwatch_lag_bytes",
        "authwatch_last_line_timestamp_seconds",
        "authwatch_checkpoint_writes_total",
        "authwatch_checkpoint_failures_total",
        "authwatch_build_info",
    ] {
        assert!(text.contains(&format!("\n{name}")), "missing {name}");
    }
    common::promtool_check(&text, "endpoints_methods_and_series");
    d.stop();
}
