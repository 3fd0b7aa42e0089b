//! `--output prometheus` is valid exposition text for the real promtool (Debian package prometheus).

use crate::common::*;

#[test]
fn promtool_check_metrics_passes_on_check_output() {
    let o = run(&["check", "-o", "prometheus", "tests/golden/cloud-function.log", "tests/golden/cls-export.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("authwatch_errors_total{pattern=\"wx_45011_minute_quota\",source=\"default\"} 2"), "{text}");
    assert!(text.contains("authwatch_errors_total{pattern=\"mp_require_undefined\",source=\"default\"} 0"), "{text}");
    promtool_check(&text, "promtool_check_metrics_passes_on_check_output");
}
