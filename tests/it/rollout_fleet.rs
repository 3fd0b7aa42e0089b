//! The rollout view across a fleet, with the real Prometheus (Debian package prometheus): three
//! in-process authwatch instances each read a third of a canary rollout's calls (every record of a
//! call in the same third), Prometheus scrapes them with the shipped recording rules
//! (deploy/prometheus/authwatch.rules.yml), and the recorded per-version calls and failed-call ratio
//! equal what a fourth instance reading all of the logs shows (and the truth).

use serde_json::Value;

use crate::common::daemon::*;
use crate::common::forms::{Call, cls_json_as};
use crate::common::{Kill, external_tool, free_addr, http_get, root, write};
use crate::rollout::{BASE, CANARY, Plan, rollout};

fn query(prom: &str, q: &str) -> Vec<Value> {
    let path = format!("/api/v1/query?query={}", q.replace('(', "%28").replace(')', "%29").replace(' ', "%20"));
    http_get(prom, &path)
        .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
        .and_then(|v| v["data"]["result"].as_array().cloned())
        .unwrap_or_default()
}

/// (version → value) of a recorded series for getLoginTicket.
fn by_version(rows: &[Value]) -> std::collections::BTreeMap<String, f64> {
    rows.iter()
        .filter(|r| r["metric"]["function"] == "getLoginTicket")
        .map(|r| {
            (r["metric"]["version"].as_str().unwrap().to_string(), r["value"][1].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

#[test]
fn three_instances_summed_by_the_recording_rules_equal_one_reading_everything() {
    let test = "three_instances_summed_by_the_recording_rules_equal_one_reading_everything";
    let Some(prometheus) = external_tool("prometheus", test) else { return };
    let plan = Plan {
        function: "getLoginTicket",
        minutes: 12,
        per_minute: 90,
        share: 0.2,
        base_rate: 0.03,
        extra: 0.06,
        canary_until: 12,
        seed: 33,
    };
    let (calls, truth) = rollout(&plan);
    let dir = tempfile::tempdir().unwrap();
    let version_of =
        |c: &Call| calls.iter().find(|(x, _)| x.request_id == c.request_id).map_or(BASE, |(_, v)| *v).to_string();
    let all: Vec<Call> = calls.iter().map(|(c, _)| c.clone()).collect();
    let mut instances = Vec::new();
    for part in 0..4 {
        let logs = dir.path().join(format!("logs{part}"));
        std::fs::create_dir(&logs).unwrap();
        // Parts 0-2: every third call; part 3: all of them.
        let mine: Vec<Call> =
            all.iter().enumerate().filter(|(i, _)| part == 3 || i % 3 == part).map(|(_, c)| c.clone()).collect();
        let file = logs.join("export.jsonl");
        write(&file, &cls_json_as(&mine, &version_of));
        let d = Daemon::in_process(
            &[file.to_str().unwrap()],
            None,
            &dir.path().join(format!("state{part}")),
            1_765_000_000_000,
        );
        instances.push((d, mine.len() as u64));
    }
    for (d, n) in &instances {
        wait_until("each instance has read its calls", || {
            d.advance(500);
            let calls = |v: &str| {
                d.metric(&format!("authwatch_version_calls_total{{function=\"getLoginTicket\",version=\"{v}\"}}"))
            };
            calls(BASE).unwrap_or(0.0) + calls(CANARY).unwrap_or(0.0) == *n as f64
        });
    }

    let prom = free_addr();
    let rules = root().join("deploy/prometheus/authwatch.rules.yml");
    let targets: Vec<String> = instances[..3].iter().map(|(d, _)| format!("\"{}\"", d.addr)).collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: authwatch\n    static_configs:\n      - targets: [{}]\n",
        rules.display(),
        targets.join(", ")
    );
    write(&dir.path().join("prometheus.yml"), config.as_bytes());
    let _prom = Kill::spawn(
        &prometheus,
        &[
            format!("--config.file={}", dir.path().join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()),
            format!("--web.listen-address={prom}"),
        ],
    );
    let want_calls: std::collections::BTreeMap<String, f64> =
        truth.calls.iter().map(|(v, n)| (v.clone(), *n as f64)).collect();
    // The rules of a group are evaluated one after the other, and a query may come between them:
    // the ratio is waited for too, until it is the one the whole rollout gives (or the deadline).
    let truth_ratio = |v: &str| truth.failed[v] as f64 / truth.calls[v] as f64;
    wait_until("the recorded fleet sums and ratios cover all three instances", || {
        let ratio = by_version(&query(&prom, "function_version:authwatch_version_failed_ratio:sum"));
        by_version(&query(&prom, "function_version:authwatch_version_calls:sum")) == want_calls
            && [BASE, CANARY].iter().all(|v| ratio.get(*v).is_some_and(|r| (r - truth_ratio(v)).abs() < 1e-12))
    });
    let fleet_ratio = by_version(&query(&prom, "function_version:authwatch_version_failed_ratio:sum"));

    // One instance reading everything: its own counters and its API.
    let single = &instances[3].0;
    let (_, body) = single.get("/api/v1/versions");
    let api: Value = serde_json::from_str(&body).unwrap();
    for v in [BASE, CANARY] {
        let m = |name: &str| {
            single
                .metric(&format!("authwatch_version_{name}_total{{function=\"getLoginTicket\",version=\"{v}\"}}"))
                .unwrap()
        };
        let single_ratio = m("calls_failed") / m("calls");
        assert_eq!(fleet_ratio[v], single_ratio, "version {v}: the fleet's recorded ratio is the single instance's");
        assert!(
            (fleet_ratio[v] - truth_ratio(v)).abs() < 1e-12,
            "version {v}: {} against the truth {}",
            fleet_ratio[v],
            truth_ratio(v)
        );
        let row = api["data"]["versions"].as_array().unwrap().iter().find(|r| r["version"] == v).unwrap();
        assert!((row["failed_ratio"].as_f64().unwrap() - truth_ratio(v)).abs() < 1e-6, "{row}");
    }
    assert!(fleet_ratio[CANARY] > fleet_ratio[BASE], "{fleet_ratio:?}");
    for (d, _) in instances {
        d.stop();
    }
}
