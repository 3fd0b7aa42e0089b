//! The HTTP endpoint: `/metrics` (Prometheus text format), `/healthz`, `/readyz`, the status page at
//! `/`, and JSON at `/api/v1/alerts`, `/api/v1/rate/{pattern}`, `/api/v1/patterns`, `/api/v1/versions`.
//!
//! Contract: only GET and HEAD on those paths; any other path is 404, any other method 405 with an
//! `Allow` header. Every connection is bounded: headers (and the TLS handshake) within
//! `header_read_timeout_ms`, which also ends idle keep-alives, headers no larger than `max_header_bytes`
//! (431), and no connection older than `max_connection_age_ms`. At most `max_connections` are open: a
//! new one past the cap closes the oldest connection with no request in flight (TLS handshake or
//! headers unfinished, or an idle keep-alive; counted as evicted), and only when every slot is answering
//! a request is the new one refused (503, counted). A request is in flight from its complete headers
//! until its answer has been handed to the socket, so an answer is never cut to admit anyone. With a web
//! config, TLS and basic auth apply to every path; a missing or wrong password is 401, counted. The only
//! log text served is the redacted sample line per pattern.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

use crate::api;
use crate::metrics::Metrics;
use crate::status;
use crate::view::Published;
use crate::web::{Credentials, WebConfig, WebWatch};

/// `[http]`: the endpoint's own bounds, and where TLS and basic auth come from (composed into the
/// configuration by `config`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Connections open at once. Past it the oldest connection with no request in flight is closed to
    /// admit the new one; only when every slot is answering a request is the new one refused (503).
    pub max_connections: u64,
    /// A request's headers must arrive within this, and an idle keep-alive connection is closed after
    /// it (slow-loris).
    pub header_read_timeout_ms: u64,
    /// No connection lives longer than this, whatever it does.
    pub max_connection_age_ms: u64,
    /// Request headers larger than this are refused (431).
    pub max_header_bytes: u64,
    /// Prometheus exporter-toolkit web config (YAML): TLS and basic auth. Re-read when it changes.
    pub web_config_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: 64,
            header_read_timeout_ms: 10_000,
            max_connection_age_ms: 120_000,
            max_header_bytes: 16_384,
            web_config_file: None,
        }
    }
}

impl Settings {
    /// The `[http]` keys whose values the endpoint cannot work with, and why.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let checks = [
            ((1..=65_536).contains(&self.max_connections), "max_connections", "must be 1 to 65536"),
            (self.header_read_timeout_ms >= 10, "header_read_timeout_ms", "must be at least 10"),
            (
                self.max_connection_age_ms >= self.header_read_timeout_ms,
                "max_connection_age_ms",
                "must be at least header_read_timeout_ms",
            ),
            ((8192..=1 << 20).contains(&self.max_header_bytes), "max_header_bytes", "must be 8192 to 1048576"),
        ];
        checks.into_iter().filter(|(ok, _, _)| !ok).map(|(_, k, why)| (k, why)).collect()
    }
}

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// bcrypt is slow by design: at most this many checks run at once, off the async thread.
const CONCURRENT_PASSWORD_CHECKS: usize = 2;

pub struct HttpState {
    pub metrics: Arc<Metrics>,
    /// Initial scan done and checkpoints loaded.
    pub ready: Arc<AtomicBool>,
    /// False while checkpoints cannot be written (the tailer thread says so).
    pub checkpoints_ok: Arc<AtomicBool>,
    /// The read model the daemon published after its last evaluation: every page and API answer
    /// formats it and decides nothing.
    pub view: Published,
    pub web: WebWatch,
    pub limits: Settings,
    /// The status page chart's quota line, calls per minute (`[alerting] quota_per_minute`).
    pub quota_per_minute: u64,
}

/// Counts the connection as open for as long as it lives.
struct Open(Arc<Metrics>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.http_connections_open.dec();
    }
}

// What a connection is doing, as the eviction policy sees it.
/// No request in flight: TLS handshake or headers unfinished, or an idle keep-alive. Evictable.
const WAITING: u8 = 0;
/// A request's headers are complete and its answer is being made.
const ANSWERING: u8 = 1;
/// The answer is made; hyper is still handing it to the socket (a slow reader can hold it here).
const SENDING: u8 = 2;
/// Chosen to make room; its task closes it at its next poll.
const EVICTED: u8 = 3;

/// One open connection: its state and the handle that closes it.
struct Conn {
    state: AtomicU8,
    evict: Notify,
}

impl Conn {
    /// Headers complete: a request is in flight (unless the connection is already being closed).
    fn begin(&self) {
        let _ = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| (s != EVICTED).then_some(ANSWERING));
    }

    /// The answer is made; it is in flight until the socket has it all.
    fn answered(&self) {
        let _ = self.state.compare_exchange(ANSWERING, SENDING, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Everything written so far is in the socket: if that was an answer, nothing is in flight now.
    /// (A pipelined request that began meanwhile is ANSWERING and stays so.)
    fn flushed(&self) {
        let _ = self.state.compare_exchange(SENDING, WAITING, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Claims a waiting connection for eviction; false if a request is in flight on it.
    fn try_evict(&self) -> bool {
        self.state.compare_exchange(WAITING, EVICTED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// The `max_connections` slots: open connections by admission order, so the first is the oldest.
struct Slots {
    max: usize,
    next_id: u64,
    open: BTreeMap<u64, Arc<Conn>>,
}

enum Admission {
    /// A free slot.
    Admitted(Slot),
    /// The slot of the oldest connection that had no request in flight; that one is being closed.
    Evicted(Slot),
    /// Every slot is answering a request.
    Refused,
}

impl Slots {
    fn admit(this: &Arc<Mutex<Slots>>) -> Admission {
        let mut slots = this.lock().unwrap_or_else(PoisonError::into_inner);
        let evicted = if slots.open.len() < slots.max {
            false
        } else {
            let Some(id) = slots.open.iter().find(|(_, c)| c.try_evict()).map(|(id, _)| *id) else {
                return Admission::Refused;
            };
            if let Some(old) = slots.open.remove(&id) {
                // A stored permit: the task sees it even if it is not waiting on it right now.
                old.evict.notify_one();
            }
            true
        };
        let id = slots.next_id;
        slots.next_id += 1;
        let conn = Arc::new(Conn { state: AtomicU8::new(WAITING), evict: Notify::new() });
        slots.open.insert(id, conn.clone());
        let slot = Slot { slots: this.clone(), id, conn };
        if evicted { Admission::Evicted(slot) } else { Admission::Admitted(slot) }
    }
}

/// A held slot; given back when the connection's task ends (an evicted one gave it up already).
struct Slot {
    slots: Arc<Mutex<Slots>>,
    id: u64,
    conn: Arc<Conn>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).open.remove(&self.id);
    }
}

/// The connection's IO as hyper sees it: a completed flush means the answer is in the socket.
/// hyper flushes the IO only once its own write buffer is empty.
struct Tracked<I> {
    io: I,
    conn: Arc<Conn>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let done = Pin::new(&mut this.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = done {
            this.conn.flushed();
        }
        done
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A response body that marks its answer made when hyper drops it (all of it is in hyper's buffer).
struct Answer {
    body: Full<Bytes>,
    conn: Arc<Conn>,
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.conn.answered();
    }
}

/// Serves until `shutdown` turns true; connections in flight finish on their own tasks.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>, mut shutdown: watch::Receiver<bool>) {
    let slots =
        Arc::new(Mutex::new(Slots { max: state.limits.max_connections as usize, next_id: 0, open: BTreeMap::new() }));
    let checks = Arc::new(Semaphore::new(CONCURRENT_PASSWORD_CHECKS));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // EMFILE and friends: back off a little instead of spinning on accept.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let slot = match Slots::admit(&slots) {
                    Admission::Admitted(slot) => slot,
                    Admission::Evicted(slot) => {
                        state.metrics.http_connections_evicted_total.inc();
                        slot
                    }
                    Admission::Refused => {
                        state.metrics.http_connections_rejected_total.inc();
                        // No re-read of the web config for a connection that is turned away.
                        if !state.web.tls() {
                            // Best effort and never blocking: the accept loop must not wait on a client.
                            let _ = stream.try_write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\ntoo many connections");
                        }
                        continue;
                    }
                };
                let web = state.web.current(&state.metrics);
                state.metrics.http_connections_open.inc();
                let open = Open(state.metrics.clone());
                let (state, checks) = (state.clone(), checks.clone());
                tokio::spawn(async move {
                    let conn = slot.conn.clone();
                    let _slot = (slot, open);
                    let age = Duration::from_millis(state.limits.max_connection_age_ms);
                    let header = Duration::from_millis(state.limits.header_read_timeout_ms);
                    let work = async {
                        match web.tls.clone() {
                            None => serve_connection(stream, &conn, &state, &web, &checks).await,
                            Some(tls) => match tokio::time::timeout(header, tokio_rustls::TlsAcceptor::from(tls).accept(stream)).await {
                                Ok(Ok(stream)) => serve_connection(stream, &conn, &state, &web, &checks).await,
                                Ok(Err(e)) => {
                                    state.metrics.tls_handshake_failures_total.inc();
                                    tracing::debug!(error = %e, "TLS handshake failed");
                                }
                                Err(_) => state.metrics.tls_handshake_failures_total.inc(),
                            },
                        }
                    };
                    tokio::select! {
                        ended = tokio::time::timeout(age, work) => if ended.is_err() {
                            tracing::debug!("connection closed at max_connection_age_ms");
                        },
                        // Dropping the connection's future closes the socket.
                        () = conn.evict.notified() => tracing::debug!("idle connection closed to admit a new one"),
                    }
                });
                // Let the new connection read the request its client has most likely sent already
                // before more are accepted: a flood of accepts must not make it the oldest waiting one.
                tokio::task::yield_now().await;
            }
            _ = shutdown.changed() => break,
        }
    }
}

async fn serve_connection<I>(
    io: I,
    conn: &Arc<Conn>,
    state: &Arc<HttpState>,
    web: &Arc<WebConfig>,
    checks: &Arc<Semaphore>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(|req: Request<Incoming>| {
        conn.begin();
        let (state, web, checks, conn) = (state.clone(), web.clone(), checks.clone(), conn.clone());
        async move {
            let resp = handle(req, &state, &web, &checks).await;
            Ok::<_, Infallible>(resp.map(|body| Answer { body, conn }))
        }
    });
    let io = Tracked { io, conn: conn.clone() };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(state.limits.header_read_timeout_ms))
        .max_buf_size(state.limits.max_header_bytes as usize)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

async fn handle(
    req: Request<Incoming>,
    state: &HttpState,
    web: &Arc<WebConfig>,
    checks: &Arc<Semaphore>,
) -> Response<Full<Bytes>> {
    let mut resp = if web.auth_required() && !authorized(&req, web, checks).await {
        let mut r = text(StatusCode::UNAUTHORIZED, "text/plain; charset=utf-8", "unauthorized\n");
        r.headers_mut().insert(WWW_AUTHENTICATE, hyper::header::HeaderValue::from_static("Basic realm=\"authwatch\""));
        r
    } else {
        respond(&req, state)
    };
    for (name, value) in &web.headers {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    state.metrics.http_requests_total.with_label_values(&[resp.status().as_str()]).inc();
    resp
}

async fn authorized(req: &Request<Incoming>, web: &Arc<WebConfig>, checks: &Arc<Semaphore>) -> bool {
    let Credentials::Basic { user, password } = WebConfig::credentials(req.headers().get(AUTHORIZATION)) else {
        return false;
    };
    let Ok(_turn) = checks.clone().acquire_owned().await else { return false };
    let web = web.clone();
    tokio::task::spawn_blocking(move || web.verify(&user, &password)).await.unwrap_or(false)
}

fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

pub fn respond(req: &Request<Incoming>, state: &HttpState) -> Response<Full<Bytes>> {
    respond_to(req.method(), req.uri().path(), state)
}

pub fn respond_to(method: &Method, path: &str, state: &HttpState) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    const JSON: &str = "application/json";
    let rate_id = path.strip_prefix("/api/v1/rate/").filter(|id| !id.is_empty() && !id.contains('/'));
    if !matches!(
        path,
        "/metrics" | "/healthz" | "/readyz" | "/" | "/api/v1/alerts" | "/api/v1/patterns" | "/api/v1/versions"
    ) && rate_id.is_none()
    {
        return text(StatusCode::NOT_FOUND, PLAIN, "not found\n");
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, PLAIN, "only GET and HEAD\n");
        r.headers_mut().insert(ALLOW, hyper::header::HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match path {
        "/metrics" => match state.metrics.render() {
            Ok(body) => text(StatusCode::OK, PROMETHEUS_TEXT, body),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, PLAIN, format!("cannot render metrics: {e}\n")),
        },
        "/healthz" => text(StatusCode::OK, PLAIN, "ok\n"),
        "/readyz" if !state.ready.load(Ordering::Acquire) => {
            text(StatusCode::SERVICE_UNAVAILABLE, PLAIN, "not ready: initial scan not done\n")
        }
        "/readyz" if !state.checkpoints_ok.load(Ordering::Acquire) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            PLAIN,
            "not ready: cannot write checkpoints to the state directory (tailing goes on)\n",
        ),
        "/readyz" => text(StatusCode::OK, PLAIN, "ready\n"),
        _ => {
            // The published view: one Arc, no copy of the state, and the tailer thread never waits.
            let view = state.view.get();
            match (path, rate_id) {
                ("/api/v1/alerts", _) => text(StatusCode::OK, JSON, api::alerts(&view).to_string()),
                ("/api/v1/patterns", _) => text(StatusCode::OK, JSON, api::patterns(&view).to_string()),
                ("/api/v1/versions", _) => text(StatusCode::OK, JSON, api::versions(&view).to_string()),
                (_, Some(id)) => match api::rate(&view, id) {
                    Some(v) => text(StatusCode::OK, JSON, v.to_string()),
                    None => text(StatusCode::NOT_FOUND, JSON, r#"{"status":"error","error":"no such pattern"}"#),
                },
                _ => text(StatusCode::OK, "text/html; charset=utf-8", status::render(&view, state.quota_per_minute)),
            }
        }
    }
}

/// POSTs a JSON body over plain HTTP/1.1 and wants a 2xx answer: the Alertmanager client.
pub async fn post_json(authority: &str, path: &str, body: &serde_json::Value, timeout: Duration) -> Result<(), String> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(authority).await.map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let req = Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| format!("request: {e}"))?;
        if resp.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", resp.status())) }
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| format!("no answer within {timeout:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(max: usize) -> Arc<Mutex<Slots>> {
        Arc::new(Mutex::new(Slots { max, next_id: 0, open: BTreeMap::new() }))
    }

    fn admitted(a: Admission) -> Slot {
        match a {
            Admission::Admitted(s) => s,
            Admission::Evicted(_) => panic!("evicted with a free slot"),
            Admission::Refused => panic!("refused with a free slot"),
        }
    }

    #[test]
    fn the_oldest_waiting_connection_makes_room_and_busy_ones_never_do() {
        let s = slots(3);
        let a = admitted(Slots::admit(&s));
        let b = admitted(Slots::admit(&s));
        let c = admitted(Slots::admit(&s));
        // a is answering, b is sending its answer, c waits for headers: c is the one to go.
        a.conn.begin();
        b.conn.begin();
        b.conn.answered();
        let Admission::Evicted(d) = Slots::admit(&s) else { panic!("no eviction") };
        assert_eq!(c.conn.state.load(Ordering::Acquire), EVICTED);
        // Every slot busy (d is answering too): refused.
        d.conn.begin();
        assert!(matches!(Slots::admit(&s), Admission::Refused));
        // b's answer reaches the socket: b is idle keep-alive now, and the oldest waiting one.
        b.conn.flushed();
        let Admission::Evicted(_e) = Slots::admit(&s) else { panic!("no eviction") };
        assert_eq!(b.conn.state.load(Ordering::Acquire), EVICTED);
        assert_eq!(a.conn.state.load(Ordering::Acquire), ANSWERING);
        // An evicted connection that gets its headers anyway stays evicted; its slot is gone already.
        c.conn.begin();
        assert_eq!(c.conn.state.load(Ordering::Acquire), EVICTED);
        drop((c, b));
        assert_eq!(s.lock().unwrap().open.len(), 3);
        // A slot given back is free for the next one.
        drop(a);
        let _f = admitted(Slots::admit(&s));
    }

    #[test]
    fn a_pipelined_request_stays_in_flight_when_the_previous_answer_is_flushed() {
        let s = slots(1);
        let a = admitted(Slots::admit(&s));
        a.conn.begin();
        a.conn.answered();
        a.conn.begin();
        a.conn.flushed();
        assert!(matches!(Slots::admit(&s), Admission::Refused));
    }
}
