//! TLS and basic auth from an exporter-toolkit web config: the same file promtool accepts, 401 (counted)
//! without the right password, and the file re-read when it changes (a broken edit keeps the last good).

use crate::common;
use crate::common::daemon::*;
use std::path::Path;

use crate::common::tls;
use tls::Tls;

/// GET over TLS with the tests' deadline.
fn get(tls: &Tls, addr: &str, path: &str, auth: Option<(&str, &str)>) -> (u16, String) {
    tls.get(addr, path, auth, DEADLINE)
}

fn web_config(dir: &Path, user: &str, password: &str) -> String {
    format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  min_version: TLS12\n\
         http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n\
         basic_auth_users:\n  {user}: {}\n",
        dir.join("tls.crt").display(),
        dir.join("tls.key").display(),
        bcrypt::hash(password, 4).unwrap()
    )
}

#[test]
fn tls_basic_auth_and_reload_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert_pem = certified.cert.pem();
    common::write(&dir.path().join("tls.crt"), cert_pem.as_bytes());
    common::write(&dir.path().join("tls.key"), certified.signing_key.serialize_pem().as_bytes());
    let web = dir.path().join("web.yml");
    common::write(&web, web_config(dir.path(), "prometheus", "first-Secret-1").as_bytes());
    if let Some(promtool) = common::external_tool("promtool", "tls_basic_auth_and_reload_on_change") {
        let out = std::process::Command::new(promtool).args(["check", "web-config"]).arg(&web).output().unwrap();
        assert!(out.status.success(), "promtool refuses our web config: {}", String::from_utf8_lossy(&out.stderr));
    }
    let log = dir.path().join("app.log");
    common::write(&log, b"{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}\n");
    let d = Daemon::start_listening(
        &["--web.config.file", web.to_str().unwrap(), log.to_str().unwrap()],
        &dir.path().join("state"),
    );
    let tls = Tls::trusting(&cert_pem);
    let good = Some(("prometheus", "first-Secret-1"));
    wait_until("ready over TLS with the password", || get(&tls, &d.addr, "/readyz", good).0 == 200);

    // Every path wants the password; a wrong one or an unknown user is 401, like a missing one.
    assert_eq!(get(&tls, &d.addr, "/metrics", None).0, 401);
    assert_eq!(get(&tls, &d.addr, "/healthz", Some(("prometheus", "wrong"))).0, 401);
    assert_eq!(get(&tls, &d.addr, "/", Some(("admin", "first-Secret-1"))).0, 401);
    let (status, body) = get(&tls, &d.addr, "/metrics", good);
    assert_eq!(status, 200);
    assert!(body.contains("authwatch_http_requests_total{code=\"401\"} 3"), "401s are counted:\n{body}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    assert_eq!(d.get("/metrics").0, 0);
    wait_until("the plain-HTTP attempt is counted as a failed handshake", || {
        let (_, body) = get(&tls, &d.addr, "/metrics", good);
        body.lines().any(|l| l.starts_with("authwatch_tls_handshake_failures_total ") && !l.ends_with(" 0"))
    });

    // A new password takes effect without a restart.
    common::write(&web, web_config(dir.path(), "prometheus", "second-Secret-2").as_bytes());
    let new = Some(("prometheus", "second-Secret-2"));
    wait_until("the new password works", || get(&tls, &d.addr, "/healthz", new).0 == 200);
    assert_eq!(get(&tls, &d.addr, "/healthz", good).0, 401, "the old password still works");
    // A broken edit is refused: the last good configuration stays, and it is reported.
    common::write(&web, b"basic_auth_users:\n  prometheus: not-a-hash\n");
    wait_until("the broken edit is reported", || {
        let (_, body) = get(&tls, &d.addr, "/metrics", new);
        body.contains("authwatch_web_config_last_reload_successful 0")
            && body.contains("authwatch_web_config_reloads_total{result=\"failure\"}")
    });
    assert_eq!(get(&tls, &d.addr, "/healthz", new).0, 200);
    // So is an edit that would drop authentication (a half-written file looks like one).
    let failures = || {
        let (_, body) = get(&tls, &d.addr, "/metrics", new);
        body.lines()
            .find_map(|l| {
                l.strip_prefix("authwatch_web_config_reloads_total{result=\"failure\"} ")?.parse::<u64>().ok()
            })
            .unwrap_or(0)
    };
    let before = failures();
    common::write(&web, web_config(dir.path(), "prometheus", "x").split("basic_auth_users").next().unwrap().as_bytes());
    wait_until("the downgrade is refused", || failures() > before);
    wait_until("the log to say \"removing every basic_auth_users entry takes effect at the next restart\"", || {
        d.log_text().contains("removing every basic_auth_users entry takes effect at the next restart")
    });
    assert_eq!(get(&tls, &d.addr, "/healthz", None).0, 401);
    let log_text = d.log_text();
    assert!(log_text.contains("basic_auth_users.prometheus: not a bcrypt hash"), "{log_text}");
    for secret in ["first-Secret-1", "second-Secret-2", "BEGIN PRIVATE KEY"] {
        assert!(!log_text.contains(secret), "{secret} in the daemon log");
    }
    d.stop();
}

#[test]
fn a_broken_web_config_refuses_to_start_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    common::write(&web, b"tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n");
    let out = common::run(&["run", "--listen", "127.0.0.1:0", "--web.config.file", web.to_str().unwrap(), "x.log"]);
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(err.contains(&format!("{}:2:1: tls_server_config.cert_file: ", web.display())), "{err}");
    common::write(&web, b"basic_auth_users:\n  alice: $2y$10$short\n");
    let err = common::stderr(&common::run(&["run", "--web.config.file", web.to_str().unwrap(), "x.log"]));
    assert!(err.contains(":2:1: basic_auth_users.alice: not a bcrypt hash"), "{err}");
    // `validate` checks the web config a config file names, and a plain-text password never shows.
    common::write(&web, b"basic_auth_users: hunter2-plain\n");
    let config = common::config_with_source(dir.path(), "[http]\nweb_config_file = \"web.yml\"", "x.log");
    let o = common::run(&["validate", "--config", config.to_str().unwrap()]);
    let err = common::stderr(&o);
    assert!(!o.status.success() && err.contains("web.yml:1:19: basic_auth_users: invalid type"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
