//! The HTTP endpoint: `/metrics` (Prometheus text format), `/healthz`, `/readyz`, the status page at
//! `/`, and JSON at `/api/v1/alerts`, `/api/v1/rate/{pattern}`, `/api/v1/patterns`.
//!
//! Contract: only GET and HEAD on those paths; any other path is 404, any other method 405 with an
//! `Allow` header. Request headers must arrive within `HEADER_READ_TIMEOUT` (slow-loris). The only
//! log text served is the redacted sample line per pattern.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::observe::Shared;
use crate::status;

pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct HttpState {
    pub metrics: Arc<Metrics>,
    /// Initial scan done and checkpoints loaded.
    pub ready: Arc<AtomicBool>,
    pub observed: Shared,
}

/// Serves until `shutdown` turns true; connections in flight finish on their own tasks.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(respond(&req, &state)) }
                    });
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
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
        "/readyz" if state.ready.load(Ordering::Acquire) => text(StatusCode::OK, PLAIN, "ready\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, PLAIN, "not ready: initial scan not done\n"),
        _ => {
            let Ok(o) = state.observed.lock() else {
                return text(StatusCode::INTERNAL_SERVER_ERROR, PLAIN, "state unavailable\n");
            };
            match (path, rate_id) {
                ("/api/v1/alerts", _) => text(StatusCode::OK, JSON, o.engine.api_v1().to_string()),
                ("/api/v1/patterns", _) => text(StatusCode::OK, JSON, o.patterns_json().to_string()),
                (_, Some(id)) => match o.rate_json(id) {
                    Some(v) => text(StatusCode::OK, JSON, v.to_string()),
                    None => text(StatusCode::NOT_FOUND, JSON, r#"{"status":"error","error":"no such pattern"}"#),
                },
                _ => text(StatusCode::OK, "text/html; charset=utf-8", status::render(&o)),
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
