//! A hostile client cannot hold the endpoint: a cap on open connections (503 past it, counted),
//! slow-loris headers and idle keep-alives cut at the header read timeout, oversized headers refused.

mod common;
use common::daemon::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const HEADER_TIMEOUT_MS: u64 = 600;
const AGE_MS: u64 = 1500;

fn start(dir: &std::path::Path) -> Daemon {
    let config = common::config_with_source(
        dir,
        &format!(
            "[http]\nmax_connections = 4\nheader_read_timeout_ms = {HEADER_TIMEOUT_MS}\nmax_header_bytes = 8192\n\
             max_connection_age_ms = {AGE_MS}"
        ),
        dir.join("app.log").to_str().unwrap(),
    );
    Daemon::start(&["--config", config.to_str().unwrap()], &dir.join("state"))
}

/// Reads until the server closes the connection; returns what came and when it closed.
fn read_to_close(s: &mut TcpStream) -> (String, Instant) {
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return (String::from_utf8_lossy(&got).into_owned(), Instant::now()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn connection_cap_answers_503_and_frees_slots() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path());
    // Four connections that never finish their headers hold every slot.
    let opened = Instant::now();
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(&d.addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    // The server accepts in order: once a fifth connection is refused, all four are held.
    wait_until("a connection past the cap is refused", || {
        let mut s = TcpStream::connect(&d.addr).unwrap();
        let (text, _) = read_to_close(&mut s);
        text.starts_with("HTTP/1.1 503")
    });
    // The held ones are cut at the header timeout, which frees the slots.
    for s in &mut held {
        let (text, closed) = read_to_close(s);
        let after = closed - opened;
        assert!(after >= Duration::from_millis(HEADER_TIMEOUT_MS), "closed after {after:?}: {text}");
        assert!(after < Duration::from_millis(HEADER_TIMEOUT_MS) + DEADLINE / 3, "closed after {after:?}");
    }
    wait_until("the endpoint serves again", || d.get("/healthz").0 == 200);
    let rejected = d.metric("authwatch_http_connections_rejected_total").unwrap();
    assert!(rejected >= 1.0, "{rejected}");
    wait_eq_at_most(&d, "authwatch_http_connections_open", 1.0);
    d.stop();
}

/// Gauges of connections include the scrape reading them.
fn wait_eq_at_most(d: &Daemon, series: &str, most: f64) {
    wait_until(&format!("{series} <= {most}"), || d.metric(series).is_some_and(|v| v <= most));
}

#[test]
fn slow_loris_and_idle_keep_alive_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path());
    // A client dripping one header byte every 50 ms never gets to hold the connection past the timeout.
    let mut drip = TcpStream::connect(&d.addr).unwrap();
    let start = Instant::now();
    let request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut = None;
    for b in request {
        if drip.write_all(&[*b]).is_err() {
            cut = Some(start.elapsed());
            break;
        }
        // Load generation: the drip rate, not a wait for the daemon.
        std::thread::sleep(Duration::from_millis(50));
        let mut probe = [0u8; 1];
        drip.set_nonblocking(true).unwrap();
        // Any answer (a 408) or EOF means the server gave up on the connection.
        let closed = drip.read(&mut probe).is_ok();
        drip.set_nonblocking(false).unwrap();
        if closed {
            cut = Some(start.elapsed());
            break;
        }
    }
    let cut = cut.expect("a dripping client was never cut off");
    assert!(cut >= Duration::from_millis(HEADER_TIMEOUT_MS), "cut after {cut:?}");
    assert!(cut < Duration::from_millis(HEADER_TIMEOUT_MS * 4), "cut after {cut:?}");

    // A keep-alive connection left idle after one answer is closed at the same timeout.
    let mut idle = TcpStream::connect(&d.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut first = [0u8; 17];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
    let answered = Instant::now();
    let (_, closed) = read_to_close(&mut idle);
    let idle_for = closed - answered;
    assert!(idle_for < Duration::from_millis(HEADER_TIMEOUT_MS * 4), "idle keep-alive lived {idle_for:?}");

    // Headers past max_header_bytes are refused, not buffered.
    let big = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(64 * 1024));
    let mut s = TcpStream::connect(&d.addr).unwrap();
    let _ = s.write_all(big.as_bytes());
    let (text, _) = read_to_close(&mut s);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    assert_eq!(d.get("/healthz").0, 200);
    d.stop();
}

#[test]
fn a_busy_keep_alive_connection_ends_at_max_connection_age() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path());
    let mut s = TcpStream::connect(&d.addr).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let opened = Instant::now();
    let mut answered = 0;
    // A request every 100 ms keeps it inside the header timeout; only its age can end it.
    let ended = loop {
        if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").is_err() {
            break opened.elapsed();
        }
        let mut resp = [0u8; 512];
        match s.read(&mut resp) {
            Ok(0) | Err(_) => break opened.elapsed(),
            Ok(_) => answered += 1,
        }
        assert!(opened.elapsed() < DEADLINE, "the connection outlived max_connection_age_ms");
        // Pacing of the client, not a wait for the daemon.
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(answered >= 5, "only {answered} answers");
    assert!(ended >= Duration::from_millis(AGE_MS), "ended after {ended:?}");
    assert!(ended < Duration::from_millis(AGE_MS * 3), "ended after {ended:?}");
    d.stop();
}
