//! A connection flood does not take `/metrics` down. With the default `max_connections = 64`, 300 idle
//! connections and 30 slow-loris senders (which reconnect whenever they are cut, as an attacker would)
//! cannot keep a fresh scrape from being answered 200 within 1 s, five times in a row, over plain HTTP
//! and over TLS: the oldest connection with no request in flight is closed to admit a new one, and
//! counted. The other side: when every slot is busy answering a request (a large answer read slowly),
//! a new connection is refused with 503 and no answer is cut.

use crate::common;
use crate::common::daemon::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const IDLE: usize = 300;
const LORIS: usize = 30;
const SCRAPES: usize = 5;
/// The product promise: a scrape on a fresh connection is answered within this however the flood goes.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);
/// The slow-loris pace: one byte per connection per tick.
const DRIP_EVERY: Duration = Duration::from_millis(250);

/// Sockets for the flood and the daemon's side of them (the daemon inherits the limit).
fn raise_fd_limit() {
    let want = ((IDLE + LORIS) * 2 + 512) as libc::rlim_t;
    // SAFETY: getrlimit/setrlimit on a valid struct for this process.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
        assert!(lim.rlim_cur >= want, "the open-file limit ({}) is too low for the flood", lim.rlim_cur);
    }
}

/// The attacker: holds `IDLE` connections that send nothing and `LORIS` that send `prefix` and then
/// one byte per tick; any connection the server closes is opened again at the next tick.
struct Flood {
    stop: Arc<AtomicBool>,
    /// Connections opened again after the server closed them.
    reopened: Arc<AtomicU64>,
    /// Rounds of drips (and re-opening) done; the first one follows the opening of every connection.
    ticks: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

fn open(addr: &str, prefix: &[u8]) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.write_all(prefix).ok()?;
    s.set_nonblocking(true).ok()?;
    Some(s)
}

/// Whether the server has given up on the connection (EOF, reset, or an answer such as a 408).
fn cut(s: &mut Option<TcpStream>) -> bool {
    let Some(s) = s else { return true };
    let mut buf = [0u8; 512];
    !matches!(s.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

impl Flood {
    fn start(addr: &str, prefix: &'static [u8]) -> Flood {
        let (stop, reopened, ticks) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (addr, s, r, t) = (addr.to_string(), stop.clone(), reopened.clone(), ticks.clone());
        let thread = std::thread::spawn(move || {
            let mut idle: Vec<Option<TcpStream>> = (0..IDLE).map(|_| open(&addr, b"")).collect();
            let mut loris: Vec<Option<TcpStream>> = (0..LORIS).map(|_| open(&addr, prefix)).collect();
            while !s.load(Ordering::Acquire) {
                for c in &mut idle {
                    if cut(c) {
                        *c = open(&addr, b"");
                        r.fetch_add(1, Ordering::Relaxed);
                    }
                }
                for c in &mut loris {
                    if cut(c) || c.as_mut().is_some_and(|s| s.write_all(b"a").is_err()) {
                        *c = open(&addr, prefix);
                        r.fetch_add(1, Ordering::Relaxed);
                    }
                }
                t.fetch_add(1, Ordering::AcqRel);
                // The attack's pace, not a wait for the daemon.
                std::thread::sleep(DRIP_EVERY);
            }
        });
        Flood { stop, reopened, ticks, thread: Some(thread) }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join().expect("flood thread");
        }
        self.reopened.load(Ordering::Relaxed)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// A series' value in exposition text.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Five scrapes on fresh connections under the flood, each after another round of the attack; each
/// must be a whole 200 within the promise. Returns the slowest and the last body.
fn scrapes_under_flood(d: &Daemon, flood: &Flood, scrape: impl Fn() -> (u16, String)) -> (Duration, String) {
    let mut slowest = Duration::ZERO;
    let mut last = String::new();
    for i in 0..SCRAPES {
        let round = flood.ticks.load(Ordering::Acquire);
        wait_until("another round of the flood", || flood.ticks.load(Ordering::Acquire) > round);
        let start = Instant::now();
        let (status, body) = scrape();
        let took = start.elapsed();
        assert_eq!(status, 200, "scrape {i} under the flood: {body}\n{}", d.log_text());
        assert!(body.ends_with('\n') && body.contains("authwatch_http_connections_evicted_total"), "cut: {body}");
        assert!(took < ANSWER_WITHIN, "scrape {i} under the flood took {took:?}");
        slowest = slowest.max(took);
        last = body;
    }
    (slowest, last)
}

/// A GET on a fresh plain connection, read to its end.
fn plain_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(ANSWER_WITHIN * 5)).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or(text))
}

/// The flood leaves its mark in the counters: connections evicted (at least everything past the cap
/// that the attacker opened), none refused, and the open ones near the cap.
fn check_counters(body: &str, reopened: u64) {
    let evicted = value(body, "authwatch_http_connections_evicted_total").expect("evicted counter");
    assert!(evicted >= (IDLE + LORIS - 64) as f64, "only {evicted} evicted");
    assert_eq!(value(body, "authwatch_http_connections_rejected_total"), Some(0.0), "nothing was busy");
    let open = value(body, "authwatch_http_connections_open").expect("open gauge");
    assert!((1.0..=66.0).contains(&open), "{open} open");
    assert!(reopened > 0, "the server never cut the attacker, so the flood proved nothing");
    common::promtool_check(body, "flood_counters");
}

#[test]
fn metrics_answer_within_a_second_under_an_idle_and_slow_loris_flood() {
    raise_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    // Default [http] limits: max_connections = 64, header_read_timeout_ms = 10000.
    let d = Daemon::start(&[dir.path().join("app.log").to_str().unwrap()], &dir.path().join("state"));
    let flood = Flood::start(&d.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    let (slowest, body) = scrapes_under_flood(&d, &flood, || plain_get(&d.addr, "/metrics"));
    let reopened = flood.stop();
    eprintln!(
        "plain: {SCRAPES} scrapes under the flood, slowest {slowest:?}; attacker connections reopened {reopened}"
    );
    check_counters(&body, reopened);
    d.stop();
}

use crate::common::tls;
use tls::Tls;

#[test]
fn metrics_answer_within_a_second_over_tls_under_a_handshake_flood() {
    raise_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = certified.cert.pem();
    common::write(&dir.path().join("tls.crt"), cert_pem.as_bytes());
    common::write(&dir.path().join("tls.key"), certified.signing_key.serialize_pem().as_bytes());
    let web = dir.path().join("web.yml");
    common::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            dir.path().join("tls.crt").display(),
            dir.path().join("tls.key").display()
        )
        .as_bytes(),
    );
    let d = Daemon::start_listening(
        &["--web.config.file", web.to_str().unwrap(), dir.path().join("app.log").to_str().unwrap()],
        &dir.path().join("state"),
    );
    let tls = Tls::trusting(&cert_pem);
    wait_until("ready over TLS", || tls.get(&d.addr, "/readyz", None, ANSWER_WITHIN * 5).0 == 200);
    // Idle connections never start the handshake; slow ones send a TLS record header announcing a
    // 16 KiB ClientHello and then drip its bytes.
    let flood = Flood::start(&d.addr, &[0x16, 0x03, 0x01, 0x40, 0x00]);
    let (slowest, body) = scrapes_under_flood(&d, &flood, || tls.get(&d.addr, "/metrics", None, ANSWER_WITHIN * 5));
    let reopened = flood.stop();
    eprintln!("TLS: {SCRAPES} scrapes under the flood, slowest {slowest:?}; attacker connections reopened {reopened}");
    check_counters(&body, reopened);
    d.stop();
}

/// A socket with a small receive buffer set before it connects, so the window stays small and a
/// large answer cannot be absorbed by the kernel: the server stays busy sending it.
fn connect_small_window(addr: &str) -> TcpStream {
    use std::os::fd::FromRawFd;
    let sa: std::net::SocketAddrV4 = addr.parse().expect("an IPv4 address");
    // SAFETY: plain socket calls on a descriptor we own; it is handed to TcpStream, which closes it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        let set = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(set, 0);
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: sa.port().to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(*sa.ip()).to_be() },
            sin_zero: [0; 8],
        };
        let ok = libc::connect(fd, (&sin as *const libc::sockaddr_in).cast(), size_of::<libc::sockaddr_in>() as u32);
        assert_eq!(ok, 0, "connect: {}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

/// Reads `count` whole HTTP/1.1 answers (each with a Content-Length) after `got`; panics if one is
/// cut. Returns their statuses and body sizes.
fn read_whole_answers(s: &mut TcpStream, mut got: Vec<u8>, count: usize) -> Vec<(u16, usize)> {
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut answers = Vec::new();
    let mut buf = [0u8; 65536];
    while answers.len() < count {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("a Content-Length");
            if got.len() >= end + 4 + len {
                answers.push((parse(&got).0, len));
                got.drain(..end + 4 + len);
                continue;
            }
        }
        match s.read(&mut buf) {
            Ok(0) => panic!("answer {} was cut after {} of its bytes", answers.len(), got.len()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("answer {} stalled after {} of its bytes: {e}", answers.len(), got.len()),
        }
    }
    answers
}

/// The most a socket's send buffer may grow to (Linux: tcp_wmem's maximum).
fn send_buffer_max() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20)
}

#[test]
fn when_every_slot_is_answering_a_new_connection_is_refused_and_no_answer_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    // 400 sources make /metrics close to 1 MB.
    let mut config = String::from("[limits]\nmax_sources = 400\n[http]\nmax_connections = 4\n");
    for i in 0..400 {
        config.push_str(&format!(
            "[[sources]]\nname = \"s{i}\"\npaths = [\"{}\"]\n",
            dir.path().join(format!("s{i}.log")).display()
        ));
    }
    let path = dir.path().join("authwatch.toml");
    common::write(&path, config.as_bytes());
    let d = Daemon::start(&["--config", path.to_str().unwrap()], &dir.path().join("state"));
    let size = d.metrics().len();
    assert!(size > 500_000, "/metrics is only {size} bytes");
    // Each slow reader pipelines more answers than the server's send buffer and its own small window
    // can hold, so the server is still sending when the fifth connection comes.
    let pipelined = send_buffer_max() / size + 2;
    assert!(pipelined <= 12, "{pipelined} pipelined requests: hyper answers at most 16 before yielding");
    let mut requests = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(pipelined - 1);
    requests.push_str("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    // Four slow readers: each reads only the first bytes of its first answer, then stops reading.
    let mut readers: Vec<(TcpStream, Vec<u8>)> = (0..4)
        .map(|_| {
            let mut s = connect_small_window(&d.addr);
            s.set_read_timeout(Some(DEADLINE)).unwrap();
            s.write_all(requests.as_bytes()).unwrap();
            let mut first = vec![0u8; 64];
            let n = s.read(&mut first).expect("the answer starts");
            first.truncate(n);
            assert!(first.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&first));
            (s, first)
        })
        .collect();
    let (status, body) = plain_get(&d.addr, "/healthz");
    assert_eq!(status, 503, "with every slot answering, a new connection is refused: {body}");
    assert_eq!(body, "too many connections");
    // Every slow answer arrives whole.
    for (s, first) in &mut readers {
        let answers = read_whole_answers(s, std::mem::take(first), pipelined);
        assert!(answers.iter().all(|&(status, len)| status == 200 && len > 500_000), "{answers:?}");
    }
    // The last request said Connection: close, so the slots are free once everything is read.
    let text = d.metrics();
    assert_eq!(value(&text, "authwatch_http_connections_evicted_total"), Some(0.0), "an answer was evicted");
    assert_eq!(value(&text, "authwatch_http_connections_rejected_total"), Some(1.0));
    d.stop();
}
