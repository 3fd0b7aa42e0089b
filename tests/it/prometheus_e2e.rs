//! End to end with a real Prometheus (Debian package prometheus): authwatch and Prometheus on
//! 127.0.0.1, Prometheus configured from deploy/prometheus/ (ports and intervals rewritten), error lines
//! appended, then Prometheus' HTTP API shows the counter and the shipped alert rule firing.

use crate::common::daemon::*;
use crate::common::{Kill, external_tool, free_addr, http_get, root, write};

fn query(prom: &str, path: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&http_get(prom, path)?.1).ok()
}

/// Prometheus with `dir/prometheus.yml`, its data in `dir/tsdb`, listening on `addr`; killed on drop.
fn start_prometheus(prometheus: &std::path::Path, dir: &std::path::Path, addr: &str) -> Kill {
    Kill::spawn(
        prometheus,
        &[
            format!("--config.file={}", dir.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
            format!("--web.listen-address={addr}"),
        ],
    )
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
    let _prom = start_prometheus(&prometheus, dir.path(), &prom);
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

/// The scrape job the README documents for a locked-down authwatch (commented out in the shipped
/// prometheus.yml), uncommented and run by a real Prometheus against TLS + basic auth; a second job with
/// a wrong password is refused (401, counted).
#[test]
fn prometheus_scrapes_authwatch_over_tls_with_basic_auth() {
    const TEST: &str = "prometheus_scrapes_authwatch_over_tls_with_basic_auth";
    let Some(prometheus) = external_tool("prometheus", TEST) else { return };
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let (crt, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    write(&crt, certified.cert.pem().as_bytes());
    write(&key, certified.signing_key.serialize_pem().as_bytes());
    let web = dir.path().join("web.yml");
    let hash = bcrypt::hash("scrape-Password-1", 4).unwrap();
    write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  prometheus: {hash}\n",
            crt.display(),
            key.display()
        )
        .as_bytes(),
    );
    let log = dir.path().join("app.log");
    append(&log, b"{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}\n");
    let d = Daemon::start_listening(
        &["--web.config.file", web.to_str().unwrap(), log.to_str().unwrap()],
        &dir.path().join("state"),
    );

    let shipped = std::fs::read_to_string(root().join("deploy/prometheus/prometheus.yml")).unwrap();
    let start = shipped.find("  # - job_name: authwatch-tls").expect("the documented TLS job");
    let job: String = shipped[start..]
        .lines()
        .take_while(|l| l.starts_with("  #"))
        .map(|l| format!("  {}\n", l.strip_prefix("  # ").unwrap_or(l.trim_start_matches([' ', '#']))))
        .collect();
    let (good, bad) = (dir.path().join("good.password"), dir.path().join("bad.password"));
    write(&good, b"scrape-Password-1");
    write(&bad, b"not-the-password");
    let job = job.replace("/etc/prometheus/authwatch-ca.crt", crt.to_str().unwrap()).replace("127.0.0.1:9471", &d.addr);
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n{}{}",
        job.replace("/etc/prometheus/authwatch.password", good.to_str().unwrap()),
        job.replace("job_name: authwatch-tls", "job_name: wrong-password")
            .replace("/etc/prometheus/authwatch.password", bad.to_str().unwrap())
    );
    write(&dir.path().join("prometheus.yml"), config.as_bytes());
    let prom = free_addr();
    let _prom = start_prometheus(&prometheus, dir.path(), &prom);
    let value = |q: &str| {
        query(&prom, &format!("/api/v1/query?query={q}"))
            .and_then(|v| v["data"]["result"][0]["value"][1].as_str().map(str::to_string))
    };
    wait_until("Prometheus scrapes over TLS with the password", || {
        value("up%7Bjob%3D%22authwatch-tls%22%7D").as_deref() == Some("1")
    });
    wait_until("the wrong password is refused", || value("up%7Bjob%3D%22wrong-password%22%7D").as_deref() == Some("0"));
    wait_until("the 401s are counted and scraped", || {
        value("authwatch_http_requests_total%7Bjob%3D%22authwatch-tls%22%2Ccode%3D%22401%22%7D")
            .is_some_and(|v| v.parse::<f64>().is_ok_and(|n| n >= 1.0))
    });
    assert_eq!(
        value("authwatch_errors_total%7Bjob%3D%22authwatch-tls%22%2Cpattern%3D%22wx_45011_minute_quota%22%7D")
            .as_deref(),
        Some("1")
    );
    d.stop();
}
