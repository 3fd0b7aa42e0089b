//! deploy/ proved against the real tools: promtool (rules, rule unit tests, every dashboard query),
//! amtool (Alertmanager config), systemd-analyze (the unit), and the metric names the dashboard and
//! rules use against what authwatch really exports.

use crate::common::daemon::*;
use crate::common::*;
use std::collections::BTreeSet;
use std::process::Command;

fn tool_ok(tool: &std::path::Path, args: &[&str]) -> (bool, String) {
    let o = Command::new(tool).args(args).current_dir(root()).output().expect("tool runs");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn prometheus_rules_check_and_unit_tests_pass() {
    let Some(promtool) = external_tool("promtool", "prometheus_rules_check_and_unit_tests_pass") else { return };
    let (ok, out) = tool_ok(&promtool, &["check", "rules", "deploy/prometheus/authwatch.rules.yml"]);
    assert!(ok && out.contains("SUCCESS"), "{out}");
    let (ok, out) = tool_ok(&promtool, &["test", "rules", "deploy/prometheus/tests/authwatch.rules.test.yml"]);
    assert!(ok && out.contains("SUCCESS"), "{out}");
    let (ok, out) = tool_ok(&promtool, &["check", "config", "--syntax-only", "deploy/prometheus/prometheus.yml"]);
    assert!(ok, "{out}");
}

/// Every PromQL expression of the dashboard (panels and template variables' metrics).
fn dashboard_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("deploy/grafana/authwatch.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut exprs = Vec::new();
    for p in v["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for var in v["templating"]["list"].as_array().unwrap() {
        if let Some(q) = var["query"]["query"].as_str() {
            // label_values(<selector>, label): the selector must be valid PromQL.
            let inner = q.strip_prefix("label_values(").unwrap().rsplit_once(',').unwrap().0;
            exprs.push(inner.to_string());
        }
    }
    assert!(exprs.len() >= 10);
    exprs
}

fn as_promql(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$instance", ".*")
        .replace("$source", ".*")
}

#[test]
fn every_dashboard_query_parses() {
    let Some(promtool) = external_tool("promtool", "every_dashboard_query_parses") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in dashboard_exprs().iter().enumerate() {
        rules += &format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&as_promql(e)).unwrap()
        );
    }
    let file = dir.path().join("dashboard.rules.yml");
    write(&file, rules.as_bytes());
    let (ok, out) = tool_ok(&promtool, &["check", "rules", file.to_str().unwrap()]);
    assert!(ok, "{out}\n{rules}");
}

/// `authwatch_*` metric names in a text, leaving out recording-rule names (`level:metric:op`).
fn metric_names(text: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"(^|[^:a-z_])(authwatch_[a-z0-9_]+)($|[^:a-z0-9_])").unwrap();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let mut at = 0;
        while let Some(c) = re.captures_at(line, at) {
            let m = c.get(2).unwrap();
            names.insert(m.as_str().trim_end_matches("_bucket").to_string());
            at = m.end();
        }
    }
    names
}

#[test]
fn dashboard_and_rules_use_only_exported_metrics() {
    // A daemon that has seen a 45011 exports every family, the onset gauges included, and one from a
    // CLS record (which names its function and version) the per-function and per-version counters.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    // Two minutes: the first one read may be cut by the start of the input, so the onset is the second.
    append(&log, b"START RequestId: 8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\n2025-03-14T01:22:05.117Z\t8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\t{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}\n");
    append(&log, b"{\"SCF_FunctionName\":\"getLoginTicket\",\"SCF_LogTime\":\"1741915385000000000\",\"SCF_RequestId\":\"9f4c0b5e-0a1b-4c2d-9e3f-123456789abc\",\"SCF_Qualifier\":\"3\",\"SCF_Message\":\"START RequestId: 9f4c0b5e-0a1b-4c2d-9e3f-123456789abc\"}\n");
    append(&log, b"{\"SCF_FunctionName\":\"getLoginTicket\",\"SCF_LogTime\":\"1741915385117000000\",\"SCF_RequestId\":\"9f4c0b5e-0a1b-4c2d-9e3f-123456789abc\",\"SCF_Qualifier\":\"3\",\"SCF_Message\":\"jscode2session {\\\"errcode\\\":45011,\\\"errmsg\\\":\\\"api minute-quota reach limit\\\"}\"}\n");
    let d = Daemon::start(&[log.to_str().unwrap()], &dir.path().join("state"));
    d.wait_lines(4);
    wait_until("per-function counter", || d.metrics().contains("authwatch_function_errors_total{"));
    wait_until("onset gauge", || d.metrics().contains("authwatch_45011_onset_attempts_per_minute"));
    wait_until("per-version counters", || d.metrics().contains("authwatch_version_calls_failed_total{"));
    let exported: BTreeSet<String> = d
        .metrics()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    d.stop();
    let used = metric_names(&dashboard_exprs().join("\n"))
        .into_iter()
        .chain(metric_names(&std::fs::read_to_string(root().join("deploy/prometheus/authwatch.rules.yml")).unwrap()));
    let mut checked = 0;
    for name in used {
        assert!(exported.contains(&name), "{name} is used in deploy/ but authwatch does not export it ({exported:?})");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} names found");
}

#[test]
fn alertmanager_config_is_valid() {
    let Some(amtool) = external_tool("amtool", "alertmanager_config_is_valid") else { return };
    let (ok, out) = tool_ok(&amtool, &["check-config", "deploy/alertmanager/alertmanager.yml"]);
    assert!(ok && out.contains("SUCCESS"), "{out}");
}

#[test]
fn systemd_unit_verifies_where_systemd_analyze_exists() {
    // "Where available": systemd-analyze is not installed on every machine of this kind, so this one
    // skips by name (also under CI) rather than pulling systemd into CI.
    let Some(analyze) = which("systemd-analyze") else {
        eprintln!("SKIPPED systemd_unit_verifies_where_systemd_analyze_exists: systemd-analyze is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root().join("deploy/systemd/authwatch.service")).unwrap();
    // verify checks that ExecStart exists: point it at the binary under test.
    let unit = unit.replace("/usr/local/bin/authwatch", bin());
    let file = dir.path().join("authwatch.service");
    write(&file, unit.as_bytes());
    let (ok, out) = tool_ok(&analyze, &["verify", file.to_str().unwrap()]);
    assert!(ok && out.trim().is_empty(), "systemd-analyze verify: {out}");
    for hardening in
        ["NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/authwatch", "User=authwatch"]
    {
        assert!(unit.contains(hardening), "{hardening}");
    }
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}
