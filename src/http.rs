//! The HTTP endpoint: `/metrics` (Prometheus text format), `/healthz`, `/readyz`, the status page at
//! `/`, and JSON at `/api/v1/alerts`, `/api/v1/rate/{pattern}`, `/api/v1/patterns`.
//!
//! Contract: only GET and HEAD on those paths; any other path is 404, any other method 405 with an
//! `Allow` header. Every connection is bounded: at most `max_connections` at once (more get 503 and are
//! closed), headers (and the TLS handshake) within `header_read_timeout_ms`, which also ends idle
//! keep-alives, headers no larger than `max_header_bytes` (431), and no connection older than
//! `max_connection_age_ms`. With a web config, TLS and basic auth apply to every path; a missing or
//! wrong password is 401, counted. The only log text served is the redacted sample line per pattern.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::config::Http;
use crate::metrics::Metrics;
use crate::observe::Shared;
use crate::status;
use crate::web::{Credentials, WebConfig, WebWatch};

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// bcrypt is slow by design: at most this many checks run at once, off the async thread.
const CONCURRENT_PASSWORD_CHECKS: usize = 2;

pub struct HttpState {
    pub metrics: Arc<Metrics>,
    /// Initial scan done and checkpoints loaded.
    pub ready: Arc<AtomicBool>,
    /// False while checkpoints cannot be written (the tailer thread says so).
    pub checkpoints_ok: Arc<AtomicBool>,
    pub observed: Shared,
    pub web: WebWatch,
    pub limits: Http,
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

/// Serves until `shutdown` turns true; connections in flight finish on their own tasks.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(state.limits.max_connections as usize));
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
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    state.metrics.http_connections_rejected_total.inc();
                    // No re-read of the web config for a connection that is turned away.
                    if !state.web.tls() {
                        // Best effort and never blocking: the accept loop must not wait on a client.
                        let _ = stream.try_write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\ntoo many connections");
                    }
                    continue;
                };
                let web = state.web.current(&state.metrics);
                state.metrics.http_connections_open.inc();
                let open = Open(state.metrics.clone());
                let (state, checks) = (state.clone(), checks.clone());
                tokio::spawn(async move {
                    let _slot = (permit, open);
                    let age = Duration::from_millis(state.limits.max_connection_age_ms);
                    let header = Duration::from_millis(state.limits.header_read_timeout_ms);
                    let work = async {
                        match web.tls.clone() {
                            None => serve_connection(stream, &state, &web, &checks).await,
                            Some(tls) => match tokio::time::timeout(header, tokio_rustls::TlsAcceptor::from(tls).accept(stream)).await {
                                Ok(Ok(stream)) => serve_connection(stream, &state, &web, &checks).await,
                                Ok(Err(e)) => {
                                    state.metrics.tls_handshake_failures_total.inc();
                                    tracing::debug!(error = %e, "TLS handshake failed");
                                }
                                Err(_) => state.metrics.tls_handshake_failures_total.inc(),
                            },
                        }
                    };
                    if tokio::time::timeout(age, work).await.is_err() {
                        tracing::debug!("connection closed at max_connection_age_ms");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}

async fn serve_connection<I>(io: I, state: &Arc<HttpState>, web: &Arc<WebConfig>, checks: &Arc<Semaphore>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(|req: Request<Incoming>| {
        let (state, web, checks) = (state.clone(), web.clone(), checks.clone());
        async move { Ok::<_, Infallible>(handle(req, &state, &web, &checks).await) }
    });
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
    if !matches!(path, "/metrics" | "/healthz" | "/readyz" | "/" | "/api/v1/alerts" | "/api/v1/patterns")
        && rate_id.is_none()
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
            // A copy taken under the lock: the tailer thread never waits for a page to be rendered.
            let Ok(o) = state.observed.lock().map(|o| o.clone()) else {
                return text(StatusCode::INTERNAL_SERVER_ERROR, PLAIN, "state unavailable\n");
            };
            match (path, rate_id) {
                ("/api/v1/alerts", _) => text(StatusCode::OK, JSON, o.engine.api_v1().to_string()),
                ("/api/v1/patterns", _) => text(StatusCode::OK, JSON, o.patterns_json().to_string()),
                (_, Some(id)) => match o.rate_json(id) {
                    Some(v) => text(StatusCode::OK, JSON, v.to_string()),
                    None => text(StatusCode::NOT_FOUND, JSON, r#"{"status":"error","error":"no such pattern"}"#),
                },
                _ => {
                    let wall = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                    let page = status::render(&o, o.now(wall), state.quota_per_minute);
                    text(StatusCode::OK, "text/html; charset=utf-8", page)
                }
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
