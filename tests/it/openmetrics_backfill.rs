//! Grafana at the load test's own time (issue 21): `check --output openmetrics` of a generated load test
//! is accepted by the real `promtool tsdb create-blocks-from openmetrics`, and a real Prometheus started
//! on those blocks answers the shipped Grafana dashboard's per-minute expressions
//! (`deploy/grafana/authwatch.json`, "45011 per minute against login attempts") at the test's own times
//! with the generator's true counts, minute by minute.

use std::process::Command;

use crate::common::daemon::wait_until;
use crate::common::forms;
use crate::common::{Kill, external_tool, free_addr, http_get, root, run, write};
use crate::load_test_cut::{MIN, load_test, per_minute};

/// Percent-encoding for a query string value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The shipped dashboard's expressions of one panel, `$instance` as Grafana's "All" sends it.
fn panel_exprs(title: &str) -> Vec<String> {
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/grafana/authwatch.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    let mut stack = vec![&d];
    while let Some(v) = stack.pop() {
        for p in v["panels"].as_array().into_iter().flatten() {
            if p["title"] == title {
                for t in p["targets"].as_array().into_iter().flatten() {
                    out.push(t["expr"].as_str().unwrap().replace("$instance", ".*").replace("$source", ".*"));
                }
            }
            stack.push(p);
        }
    }
    out
}

/// The single value of an instant query at `time_s`, or None (no series).
fn instant(prom: &str, expr: &str, time_s: i64) -> Option<f64> {
    let (status, body) = http_get(prom, &format!("/api/v1/query?query={}&time={time_s}", encode(expr)))?;
    assert_eq!(status, 200, "{expr}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"][0]["value"][1].as_str().map(|s| s.parse().unwrap())
}

#[test]
fn backfilled_blocks_answer_the_dashboards_per_minute_queries_at_event_time() {
    let test = "backfilled_blocks_answer_the_dashboards_per_minute_queries_at_event_time";
    let Some(promtool) = external_tool("promtool", test) else { return };
    let Some(prometheus) = external_tool("prometheus", test) else { return };
    let calls = load_test();
    let truth = per_minute(&calls);
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.jsonl");
    write(&export, &forms::cls_json(&calls));

    // 1. The load test as OpenMetrics.
    let o = run(&["check", "--output", "openmetrics", export.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let samples = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    // One sample per minute per series (and the zero at the start).
    let q = "authwatch_errors_total{pattern=\"wx_45011_minute_quota\"";
    assert_eq!(samples(q), truth.len() + 1);
    assert_eq!(samples("authwatch_login_attempts_total{"), truth.len() + 1);
    let om = dir.path().join("loadtest.om");
    write(&om, text.as_bytes());

    // 2. Blocks from it, by the real promtool.
    let blocks = dir.path().join("data");
    let o = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", om.to_str().unwrap(), blocks.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "promtool: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    // 3. A Prometheus on those blocks answers the dashboard's expressions at the test's own times.
    write(&dir.path().join("prometheus.yml"), b"global:\n  scrape_interval: 1m\n");
    let prom = free_addr();
    let _p = Kill::spawn(
        &prometheus,
        &[
            format!("--config.file={}", dir.path().join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", blocks.display()),
            "--storage.tsdb.retention.time=100y".to_string(),
            format!("--web.listen-address={prom}"),
        ],
    );
    wait_until("Prometheus ready", || http_get(&prom, "/-/ready").is_some_and(|(s, _)| s == 200));
    let exprs = panel_exprs("45011 per minute against login attempts");
    assert_eq!(exprs.len(), 2, "{exprs:?}");
    let (errors, attempts) = (&exprs[0], &exprs[1]);
    assert!(errors.contains("authwatch_errors_total") && attempts.contains("authwatch_login_attempts_total"));
    wait_until("the backfilled blocks loaded", || instant(&prom, attempts, (truth[3].0 + MIN) / 1000).is_some());
    for &(start_ms, want_attempts, want_45011) in &truth {
        // Grafana's point for a minute is at its end: the increase over the minute.
        let at = (start_ms + MIN) / 1000;
        let got_attempts = instant(&prom, attempts, at).unwrap_or(-1.0);
        let got_45011 = instant(&prom, errors, at).unwrap_or(-1.0);
        assert_eq!(
            (got_attempts, got_45011),
            (want_attempts as f64, want_45011 as f64),
            "minute {}: (attempts, 45011) from Prometheus",
            forms::iso_utc(start_ms)
        );
    }
    // And nothing at replay time: the test is where it ran.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert_eq!(instant(&prom, attempts, now), None);
}
