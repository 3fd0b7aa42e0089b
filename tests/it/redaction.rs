//! Secrets in log lines (tickets, openids, session keys, wx codes, app secrets, private keys) never
//! leave authwatch unmasked: not through any HTTP endpoint, not through its own log.

use crate::common::daemon::*;

const SECRETS: [&str; 7] = [
    "oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O",
    "tiihtNczf5v6AKRyjwEUhQ==",
    "0a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d",
    "eyJhbGciOiJSUzI1NiJ9.eyJ1aWQiOiJvWDFZIn0.c2lnbmF0dXJl",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "6f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "kid-2025-0001/@@/",
];

#[test]
fn no_secret_leaks_through_any_endpoint_or_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let d = Daemon::start(&[log.to_str().unwrap()], &dir.path().join("state"));
    let lines = [
        // Each is an error line (so it becomes the pattern's sample) that carries secrets.
        r#"2025-03-14T01:00:01.000Z	8f4c0b5e-0a1b-4c2d-9e3f-123456789abc	{"errcode":45011,"errmsg":"api minute-quota reach limit","openid":"oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O","session_key":"tiihtNczf5v6AKRyjwEUhQ=="}"#,
        r#"2025-03-14T01:00:02.000Z	8f4c0b5e-0a1b-4c2d-9e3f-123456789abc	{"errcode":40029,"errmsg":"invalid code"} url=/sns/jscode2session?appid=wx1&secret=6f1e2d3c4b5a69788796a5b4c3d2e1f0&js_code=0a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d"#,
        r#"2025-03-14T01:00:03.000Z	8f4c0b5e-0a1b-4c2d-9e3f-123456789abc	signInWithCustomTicket failed { code: 'INVALID_TICKET' } ticket=kid-2025-0001/@@/eyJhbGciOiJSUzI1NiJ9.eyJ1aWQiOiJvWDFZIn0.c2lnbmF0dXJl"#,
        r#"2025-03-14T01:00:04.000Z	8f4c0b5e-0a1b-4c2d-9e3f-123456789abc	SIGN_PARAM_INVALID: credential signature verification failed {"private_key":"-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END RSA PRIVATE KEY-----"}"#,
        r#"{"level":8,"id":"oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O","timestamp":1741914005,"msg":[{"time":1741914005000,"level":8,"msg":["db get failed",{"code":"PERMISSION_DENIED","openid":"oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O"}]}],"traceid":"t1"}"#,
    ];
    for l in lines {
        append(&log, format!("{l}\n").as_bytes());
    }
    d.wait_lines(5);
    let (_, patterns) = d.get("/api/v1/patterns");
    assert!(patterns.contains("<redacted>") || patterns.contains("<openid>"), "samples are shown, masked: {patterns}");
    assert!(patterns.contains("api minute-quota reach limit"), "the useful part stays: {patterns}");
    let mut bodies = vec![patterns];
    for path in [
        "/",
        "/metrics",
        "/api/v1/alerts",
        "/api/v1/rate/wx_45011_minute_quota",
        "/api/v1/rate/ticket_invalid",
        "/healthz",
        "/readyz",
    ] {
        let (status, body) = d.get(path);
        assert_eq!(status, 200, "{path}");
        bodies.push(body);
    }
    let log_text = d.log_text();
    d.stop();
    bodies.push(log_text);
    for body in &bodies {
        for secret in SECRETS {
            assert!(!body.contains(secret), "{secret} leaked:\n{body}");
        }
    }
}
