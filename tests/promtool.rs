//! `--output prometheus` is valid exposition text for the real promtool (Debian package prometheus).

mod common;
use common::*;

#[test]
fn promtool_check_metrics_passes_on_check_output() {
    let Some(promtool) = external_tool("promtool", "promtool_check_metrics_passes_on_check_output") else { return };
    let o = run(&["check", "-o", "prometheus", "tests/golden/cloud-function.log", "tests/golden/cls-export.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("authwatch_errors_total{pattern=\"wx_45011_minute_quota\",source=\"default\"} 5"), "{text}");
    assert!(text.contains("authwatch_errors_total{pattern=\"mp_require_undefined\",source=\"default\"} 0"), "{text}");
    let check = run_with_stdin(&promtool, &["check", "metrics"], text.as_bytes());
    assert!(check.status.success(), "promtool check metrics failed:\n{}\n{}", stdout(&check), stderr(&check));
    // promtool prints lint problems and still exits 0 for some of them: there must be none.
    assert_eq!(stdout(&check).trim(), "", "promtool lint: {}", stdout(&check));
    assert_eq!(stderr(&check).trim(), "", "promtool lint: {}", stderr(&check));
}

fn run_with_stdin(program: &std::path::Path, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}
