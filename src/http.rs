//! The HTTP endpoint: `/metrics` (Prometheus text format), `/healthz`, `/readyz` and an index at `/`.
//!
//! Contract: only GET and HEAD on those paths; any other path is 404, any other method 405 with an
//! `Allow` header. Request headers must arrive within `HEADER_READ_TIMEOUT` (slow-loris). Nothing
//! served here holds a log line's text.

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

pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct HttpState {
    pub metrics: Arc<Metrics>,
    /// Initial scan done and checkpoints loaded.
    pub ready: Arc<AtomicBool>,
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

const INDEX: &str = "authwatch: CloudBase Custom Login errors from WeChat Mini Program logs\n\n/metrics  Prometheus metrics\n/healthz  alive\n/readyz   initial scan done, checkpoints loaded\n";

pub fn respond(req: &Request<Incoming>, state: &HttpState) -> Response<Full<Bytes>> {
    respond_to(req.method(), req.uri().path(), state)
}

pub fn respond_to(method: &Method, path: &str, state: &HttpState) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if !matches!(path, "/metrics" | "/healthz" | "/readyz" | "/") {
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
        _ => text(StatusCode::OK, PLAIN, INDEX),
    }
}
