//! End to end with a real Prometheus (Debian package prometheus): authwatch and Prometheus on
//! 127.0.0.1, Prometheus configured from deploy/prometheus/ (ports and intervals rewritten), error lines
//! appended, then Prometheus' HTTP API shows the counter and the shipped alert rule firing.

mod common;
use common::daemon::*;
use common::{Kill, external_tool, free_addr, http_get, root, write};
use std::process::{Command, Stdio};

fn query(prom: &str, path: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&http_get(prom, path)?.1).ok()
}

#[test]
fn prometheus_scrapes_authwatch_and_fires_the_shipped_rule() {
    let Some(prometheus) = external_tool("prometheus", "prometheus_scrapes_authwatch_and_fires_the_shipped_rule")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("getLoginTicket.log");
    append(&log, b"START RequestId: 8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\n");
    let d = Daemon::start(&[log.to_str().unwrap()], &dir.path().join("state"));
    let prom = free_addr();
    let shipped = std::fs::read_to_string(root().join("deploy/prometheus/prometheus.yml")).unwrap();
    let rules = root().join("deploy/prometheus/authwatch.rules.yml");
    let config = shipped
        .replace("127.0.0.1:9471", &d.addr)
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        .replace("  - authwatch.rules.yml", &format!("  - {}", rules.display()));
    assert_ne!(config, shipped);
    write(&dir.path().join("prometheus.yml"), config.as_bytes());
    let _prom = Kill(
        Command::new(prometheus)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address={prom}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let q = "/api/v1/query?query=authwatch_errors_total%7Bpattern%3D%22sign_param_invalid%22%7D";
    // The series exists at 0 from the start, so the first scrape already has it.
    wait_until("Prometheus has scraped authwatch", || {
        query(&prom, q).is_some_and(|v| v["data"]["result"][0]["value"][1] == "0")
    });
    append(&log, b"2025-03-14T01:22:08.010Z\t0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d\tSIGN_PARAM_INVALID: credential signature verification failed\n");
    wait_until("the error in Prometheus", || {
        query(&prom, q).is_some_and(|v| v["data"]["result"][0]["value"][1] == "1")
    });
    wait_until("SignParamInvalid firing in Prometheus", || {
        query(&prom, "/api/v1/alerts").is_some_and(|v| {
            v["data"]["alerts"].as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x["labels"]["alertname"] == "SignParamInvalid"
                        && x["state"] == "firing"
                        && x["labels"]["severity"] == "critical"
                })
            })
        })
    });
    let up = query(&prom, "/api/v1/query?query=up%7Bjob%3D%22authwatch%22%7D").unwrap();
    assert_eq!(up["data"]["result"][0]["value"][1], "1");
    d.stop();
}
