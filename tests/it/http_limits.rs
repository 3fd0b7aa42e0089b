//! A hostile client cannot hold the endpoint: past the cap on open connections the oldest one with no
//! request in flight is closed to admit the new one (counted), slow-loris headers and idle keep-alives
//! are cut at the header read timeout, oversized headers refused. (tests/it/http_flood.rs: the flood, and
//! the 503 when every slot is answering.)

use crate::common;
use crate::common::daemon::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const HEADER_TIMEOUT_MS: u64 = 600;
const AGE_MS: u64 = 1500;

fn start(dir: &std::path::Path) -> Daemon {
    start_with(dir, HEADER_TIMEOUT_MS, AGE_MS)
}

fn start_with(dir: &std::path::Path, header_timeout_ms: u64, age_ms: u64) -> Daemon {
    let config = common::config_with_source(
        dir,
        &format!(
            "[http]\nmax_connections = 4\nheader_read_timeout_ms = {header_timeout_ms}\nmax_header_bytes = 8192\n\
             max_connection_age_ms = {age_ms}"
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
fn past_the_cap_the_oldest_waiting_connection_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    // Timeouts far beyond the test: any connection closed here was closed to make room.
    let d = start_with(dir.path(), 60_000, 120_000);
    // Four connections that never finish their headers fill every slot, in this order (the server
    // accepts in the order the connections were made).
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(&d.addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    // A fifth is answered; the oldest waiting one was closed for it, without an answer.
    assert_eq!(d.get("/healthz").0, 200);
    let (text, _) = read_to_close(&mut held[0]);
    assert_eq!(text, "", "an evicted connection gets no answer");
    // The answered one closed (Connection: close), so the scrape finds a free slot: one eviction.
    let text = d.metrics();
    let series = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok());
    assert_eq!(series("authwatch_http_connections_evicted_total"), Some(1.0), "{text}");
    assert_eq!(series("authwatch_http_connections_rejected_total"), Some(0.0));
    assert_eq!(series("authwatch_http_connections_open"), Some(4.0), "three held and the scrape");
    // The three younger ones are still open: they finish their request and are answered.
    for s in &mut held[1..] {
        s.write_all(b"\r\n").unwrap();
        let text = read_answer(s);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    }
    d.stop();
}

/// Reads one answer (its head and Content-Length body), not waiting for the keep-alive to end.
fn read_answer(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:")?.trim().parse::<usize>().ok());
            if len.is_some_and(|n| body.len() >= n) {
                return text;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return text,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
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
