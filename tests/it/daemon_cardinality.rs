//! Cardinality bounds: Cloud Function names come from the log lines themselves, so a flood of names
//! (or garbage in that field) must not grow the exposition. Past `max_functions` / `max_sources`, values
//! share the `_other` series and are counted as dropped; totals stay exact.

use crate::common;
use crate::common::daemon::*;

fn cls_45011(function: &str, i: usize) -> String {
    let message = format!("jscode2session {{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\",\"n\":{i}}}");
    serde_json::json!({
        "SCF_FunctionName": function,
        "SCF_LogTime": "1741915325190000000",
        "SCF_Message": message,
        "SCF_RequestId": format!("req-{i}"),
    })
    .to_string()
        + "\n"
}

#[test]
fn function_and_source_labels_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<_> = (0..3).map(|i| dir.path().join(format!("s{i}"))).collect();
    for l in &logs {
        std::fs::create_dir(l).unwrap();
    }
    let config = dir.path().join("authwatch.toml");
    let mut text = String::from("[limits]\nmax_sources = 2\nmax_functions = 3\npoll_interval_ms = 50\n");
    for (i, l) in logs.iter().enumerate() {
        text += &format!("[[sources]]\nname = \"src{i}\"\npaths = [\"{}/*.log\"]\nformat = \"cls\"\n", l.display());
    }
    common::write(&config, text.as_bytes());
    let d = Daemon::start(&["--config", config.to_str().unwrap()], &dir.path().join("state"));

    // 1,000 distinct function names, a name with a space, and one that is an openid-like string.
    let mut burst = String::new();
    for i in 0..1000 {
        burst += &cls_45011(&format!("fn{i:04}"), i);
    }
    burst += &cls_45011("drop table; --", 1000);
    burst += &cls_45011("getLoginTicket", 1001);
    burst += &cls_45011("getLoginTicket", 1002);
    append(&logs[0].join("a.log"), burst.as_bytes());
    append(&logs[1].join("b.log"), cls_45011("getLoginTicket", 0).as_bytes());
    append(&logs[2].join("c.log"), cls_45011("getLoginTicket", 0).as_bytes());

    let e = |s: &str| format!("authwatch_errors_total{{pattern=\"wx_45011_minute_quota\",source=\"{s}\"}}");
    d.wait_metric(&e("src0"), 1003.0);
    d.wait_metric(&e("src1"), 1.0);
    // The third source shares the overflow series.
    d.wait_metric(&e("_other"), 1.0);
    let text = d.metrics();
    assert!(!text.contains("src2"), "a source past the cap has its own series");

    let f = |name: &str| {
        d.metric(&format!("authwatch_function_errors_total{{function=\"{name}\",pattern=\"wx_45011_minute_quota\"}}"))
    };
    // The first three names seen keep their series; "getLoginTicket" came after the cap was full.
    assert_eq!(f("fn0000"), Some(1.0));
    assert_eq!(f("fn0002"), Some(1.0));
    assert_eq!(f("fn0003"), None);
    assert_eq!(f("getLoginTicket"), None);
    // 997 later fn names + the invalid one + 2 + 1 + 1 getLoginTicket lines.
    assert_eq!(f("_other"), Some(1002.0));
    assert_eq!(d.metric("authwatch_label_values_dropped_total{label=\"function\"}"), Some(1002.0));
    assert_eq!(d.metric("authwatch_label_values_dropped_total{label=\"source\"}").map(|v| v >= 1.0), Some(true));
    // Exact totals: every line is counted once whatever its label.
    let sum: f64 = text
        .lines()
        .filter(|l| l.starts_with("authwatch_function_errors_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(sum, 1005.0);
    let series = text.lines().filter(|l| l.starts_with("authwatch_function_errors_total{")).count();
    assert_eq!(series, 4, "three names and _other");
    assert!(!text.contains("drop table"));
    common::promtool_check(&text, "function_and_source_labels_are_capped");
    d.stop();
}
