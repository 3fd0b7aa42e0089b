//! Versions are user data: however many there are and whatever they say, the per-version series stay
//! bounded (8 rows per function, `other` included; 16 functions), label values short and of a fixed
//! alphabet, no secret echoed, and the exposition `promtool check metrics` clean.

use serde_json::Value;

use crate::common::daemon::*;
use crate::common::forms::{Call, Outcome, cls_json_as};
use crate::common::write;

const T0: i64 = 1_741_914_000_000;
const SECRET: &str = "eyJhbGciOiJSUzI1NiJ9.eyJ1aWQiOiJhYmMifQ.c2lnbmF0dXJlc2lnbmF0dXJl";

#[test]
fn many_versions_and_functions_stay_bounded_and_odd_names_are_not_echoed() {
    let test = "many_versions_and_functions_stay_bounded_and_odd_names_are_not_echoed";
    // 40 versions of one function (version n takes n calls: the newest are also the busiest), a
    // version named with a secret, one with spaces, one too long; then 30 more functions.
    let mut calls: Vec<(Call, String)> = Vec::new();
    let mut n = 0i64;
    let mut call = |function: &str, version: &str, fail: bool, calls: &mut Vec<(Call, String)>| {
        n += 1;
        calls.push((
            Call {
                request_id: format!("{n:08x}-0a1b-4c2d-9e3f-{n:012x}"),
                function: function.into(),
                start_ms: T0 + n * 50,
                duration_ms: 20,
                outcome: if fail { Outcome::Returned { errcode: 45011 } } else { Outcome::Ok },
            },
            version.to_string(),
        ));
    };
    for v in 1..=40 {
        for i in 0..v {
            call("orderPay", &v.to_string(), i == 0, &mut calls);
        }
    }
    for odd in [SECRET, "1 2", &"9".repeat(41)] {
        call("orderPay", odd, true, &mut calls);
    }
    for f in 0..30 {
        call(&format!("fn{f}"), "1", false, &mut calls);
    }
    let total = calls.len() as f64;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let map: std::collections::HashMap<String, String> =
        calls.iter().map(|(c, v)| (c.request_id.clone(), v.clone())).collect();
    let plain: Vec<Call> = calls.iter().map(|(c, _)| c.clone()).collect();
    let file = logs.join("export.jsonl");
    write(&file, &cls_json_as(&plain, &|c: &Call| map[&c.request_id].clone()));
    let d = Daemon::in_process(&[file.to_str().unwrap()], None, &dir.path().join("state"), 1_765_000_000_000);

    let series = |text: &str, name: &str| -> Vec<String> {
        text.lines().filter(|l| l.starts_with(&format!("{name}{{"))).map(str::to_string).collect()
    };
    // The rows add up to every call (a series' value need not: it counts from when its row was
    // shown, `version_metrics`).
    wait_until("every call counted", || {
        d.advance(500);
        let api: Value = serde_json::from_str(&d.get("/api/v1/versions").1).unwrap();
        let sum: u64 = api["data"]["versions"].as_array().unwrap().iter().map(|r| r["calls"].as_u64().unwrap()).sum();
        sum as f64 == total
    });
    let text = d.metrics();
    let calls_series = series(&text, "authwatch_version_calls_total");
    let of = |f: &str| calls_series.iter().filter(|l| l.contains(&format!("function=\"{f}\""))).count();
    assert_eq!(of("orderPay"), 8, "{calls_series:#?}");
    assert!(calls_series.iter().any(|l| l.contains("function=\"orderPay\",version=\"other\"")));
    let functions: std::collections::BTreeSet<&str> =
        calls_series.iter().map(|l| l.split("function=\"").nth(1).unwrap().split('"').next().unwrap()).collect();
    assert_eq!(functions.len(), 16, "{functions:?}");
    assert!(functions.contains("other"));
    // The newest and busiest versions keep their rows.
    for v in ["40", "39", "38"] {
        assert!(calls_series.iter().any(|l| l.contains(&format!("function=\"orderPay\",version=\"{v}\""))), "{v}");
    }
    let failed = series(&text, "authwatch_version_failed_calls_total");
    assert!(failed.iter().filter(|l| l.contains("function=\"orderPay\"")).count() <= 8, "{failed:#?}");
    // Label values: short, a fixed alphabet; the secret and the odd names are not echoed anywhere.
    let (_, api) = d.get("/api/v1/versions");
    for out in [&text, &api] {
        assert!(!out.contains(SECRET) && !out.contains("eyJhbGci") && !out.contains("1 2"), "echoed");
    }
    let v: Value = serde_json::from_str(&api).unwrap();
    for row in v["data"]["versions"].as_array().unwrap() {
        let name = row["version"].as_str().unwrap();
        assert!(name.len() <= 40 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"$-_.".contains(&b)), "{name}");
    }
    crate::common::promtool_check(&text, test);
    d.stop();
}

#[test]
fn a_source_version_that_is_not_one_is_refused_by_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("a.toml");
    let source = |extra: &str| format!("[[sources]]\nname = \"s\"\npaths = [\"/tmp/x.log\"]\n{extra}\n");
    for (extra, want) in [
        ("version = \"8 beta\"", "a.toml:4:11: sources[0].version: \"8 beta\": a version is letters"),
        (
            "version_from_path = '/v([0-9]+)/'",
            "sources[0].version_from_path: \"/v([0-9]+)/\" has no named group `version`",
        ),
        ("version_from_path = '/v(?P<version>[0-9]+/'", "sources[0].version_from_path: bad regex"),
    ] {
        write(&cfg, source(extra).as_bytes());
        let o = crate::common::run(&["validate", "--config", cfg.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{extra}");
        assert!(crate::common::stderr(&o).contains(want), "{extra}: {}", crate::common::stderr(&o));
    }
    write(&cfg, source("version = \"$LATEST\"\nversion_from_path = '/v(?P<version>[0-9]+)/'").as_bytes());
    let o = crate::common::run(&["validate", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", crate::common::stderr(&o));
    // check's flags say the same.
    let o = crate::common::run(&["check", "--fn-version", "a b", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2));
    let o = crate::common::run(&["check", "--function", "a b", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(crate::common::stderr(&o).contains("--function \"a b\""), "{}", crate::common::stderr(&o));
    let o = crate::common::run(&["check", "--version-from-path", "x", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(crate::common::stderr(&o).contains("no named group `version`"), "{}", crate::common::stderr(&o));
}
