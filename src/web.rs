//! The endpoint's web configuration: TLS and basic auth, in Prometheus exporter-toolkit's YAML format
//! (`tls_server_config`, `http_server_config`, `basic_auth_users`), so a `web-config.yml` that
//! `promtool check web-config` accepts for node_exporter works here unchanged.
//!
//! Contract: `WebConfig::load` returns a usable configuration (certificates parsed, bcrypt hashes
//! well-formed) or a `ConfigError` naming file, line and key. Keys exporter-toolkit has but authwatch
//! cannot honour (cipher suites, curves, unverified client certificates) are refused, never ignored.
//! `WebWatch::current` re-reads the file, and the files it names, when any of them changes; a broken
//! edit, or one that would turn TLS on or off or drop authentication, is logged and counted and the
//! last good configuration stays in force.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hyper::header::{HeaderName, HeaderValue};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use crate::metrics::Metrics;
use crate::tomlerr::ConfigError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebConfigFile {
    tls_server_config: Option<TlsFile>,
    http_server_config: Option<HttpFile>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    cert: Option<String>,
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    min_version: Option<String>,
    max_version: Option<String>,
    // exporter-toolkit keys that rustls has no switch for: present means refused, with a reason.
    cipher_suites: Option<serde_yaml_ng::Value>,
    curve_preferences: Option<serde_yaml_ng::Value>,
    prefer_server_cipher_suites: Option<serde_yaml_ng::Value>,
    client_allowed_sans: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    /// authwatch speaks HTTP/1.1 only; accepted so exporter-toolkit files load.
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// The headers exporter-toolkit lets a web config set (the rest are the server's to decide).
const SETTABLE_HEADERS: [&str; 5] = [
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
];

/// A configuration in force.
#[derive(Default)]
pub struct WebConfig {
    pub tls: Option<Arc<ServerConfig>>,
    /// user → bcrypt hash; empty means no authentication.
    users: HashMap<String, String>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Files the configuration was built from, to notice changes (the config file first).
    files: Vec<PathBuf>,
    /// Keyed digests of (user, password) pairs that verified: bcrypt is slow on purpose, and a
    /// scraper sends the same credentials every few seconds.
    verified: Mutex<HashSet<u64>>,
    keys: RandomState,
}

/// A hash for unknown users, so their refusal takes as long as a wrong password's.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
const VERIFIED_CACHE_MAX: usize = 256;

/// What the Authorization header held.
pub enum Credentials {
    Missing,
    Basic { user: String, password: String },
}

impl WebConfig {
    pub fn auth_required(&self) -> bool {
        !self.users.is_empty()
    }

    pub fn credentials(authorization: Option<&HeaderValue>) -> Credentials {
        let decoded = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
            .and_then(|raw| String::from_utf8(raw).ok());
        match decoded.as_deref().and_then(|s| s.split_once(':')) {
            Some((user, password)) => Credentials::Basic { user: user.to_string(), password: password.to_string() },
            None => Credentials::Missing,
        }
    }

    /// Checks a user's password against its bcrypt hash (slow: run it off the async threads).
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let hash = self.users.get(user);
        let key = self.keys.hash_one((user, password, hash));
        if hash.is_some() && self.verified.lock().is_ok_and(|v| v.contains(&key)) {
            return true;
        }
        let ok = bcrypt::verify(password, hash.map_or(DUMMY_HASH, String::as_str)).unwrap_or(false) && hash.is_some();
        if ok {
            if let Ok(mut v) = self.verified.lock() {
                if v.len() >= VERIFIED_CACHE_MAX {
                    v.clear();
                }
                v.insert(key);
            }
        }
        ok
    }

    /// Reads and checks a web config file; relative paths in it are relative to the file.
    pub fn load(path: &Path) -> Result<WebConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { file: file.clone(), source })?;
        WebConfig::parse(&file, &text, path.parent().unwrap_or(Path::new("."))).map(|mut c| {
            c.files.insert(0, path.to_path_buf());
            c
        })
    }

    pub fn parse(file: &str, text: &str, base: &Path) -> Result<WebConfig, ConfigError> {
        // A key's line: where `key:` first starts a line (after indentation), else the top.
        let at = |key: &str, leaf: &str, message: String| {
            let line = text
                .lines()
                .position(|l| l.trim_start().strip_prefix(leaf).is_some_and(|r| r.trim_start().starts_with(':')))
                .map_or(1, |i| i + 1);
            ConfigError::Invalid { file: file.to_string(), line, column: 1, key: key.to_string(), message }
        };
        let raw: WebConfigFile = if text.trim().is_empty() {
            WebConfigFile { tls_server_config: None, http_server_config: None, basic_auth_users: BTreeMap::new() }
        } else {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let key = e.path().to_string();
                let inner = e.into_inner();
                // From the byte offset, counting `\n` as everywhere else: YAML also breaks lines at a lone
                // `\r`, which would name a line no editor shows (found by fuzzing).
                let (line, column) = inner.location().map_or((1, 1), |l| crate::tomlerr::line_col(text, l.index()));
                let message = inner.to_string();
                // serde_yaml appends " at line L column C"; the prefix already says where.
                let message = scrub_values(message.split(" at line ").next().unwrap_or(&message));
                // It also starts with the path, which the key already gives.
                let message = match message.split_once(": ") {
                    Some((path, rest)) if key.starts_with(path) => rest.to_string(),
                    _ => message,
                };
                ConfigError::Invalid { file: file.to_string(), line, column, key, message }
            })?
        };
        let mut config = WebConfig::default();
        for (user, hash) in &raw.basic_auth_users {
            if user.is_empty() || user.contains(':') {
                return Err(at("basic_auth_users", user, format!("{user:?}: a user name is non-empty and has no ':'")));
            }
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(at(
                    &format!("basic_auth_users.{user}"),
                    user,
                    "not a bcrypt hash ($2a$, $2b$ or $2y$; make one with `htpasswd -nBC 10 \"\" | tr -d ':'`)".into(),
                ));
            }
            config.users.insert(user.clone(), hash.clone());
        }
        if let Some(h) = &raw.http_server_config {
            for (name, value) in &h.headers {
                let key = format!("http_server_config.headers.{name}");
                if !SETTABLE_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                    return Err(at(&key, name, format!("only {} can be set", SETTABLE_HEADERS.join(", "))));
                }
                let n = HeaderName::from_bytes(name.as_bytes()).map_err(|e| at(&key, name, e.to_string()))?;
                let v = HeaderValue::from_str(value).map_err(|e| at(&key, name, e.to_string()))?;
                config.headers.push((n, v));
            }
        }
        if let Some(t) = &raw.tls_server_config {
            let refused = [
                ("cipher_suites", t.cipher_suites.is_some()),
                ("curve_preferences", t.curve_preferences.is_some()),
                ("prefer_server_cipher_suites", t.prefer_server_cipher_suites.is_some()),
                ("client_allowed_sans", t.client_allowed_sans.is_some()),
            ];
            if let Some((leaf, _)) = refused.iter().find(|(_, present)| *present) {
                return Err(at(
                    &format!("tls_server_config.{leaf}"),
                    leaf,
                    "not supported by authwatch (rustls chooses safe suites and curves itself); remove it".into(),
                ));
            }
            let (tls, files) = tls_config(t, base, &at)?;
            config.tls = Some(Arc::new(tls));
            config.files.extend(files);
        }
        Ok(config)
    }
}

/// serde quotes the offending value in its messages (`invalid type: string "…"`); in this file that value
/// may be a password or a key, so it is left out of errors, which end up in logs.
fn scrub_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        out.push('"');
        out.push_str(if i % 2 == 0 { "…" } else { part });
    }
    out
}

type At<'a> = dyn Fn(&str, &str, String) -> ConfigError + 'a;

fn tls_config(t: &TlsFile, base: &Path, at: &At) -> Result<(ServerConfig, Vec<PathBuf>), ConfigError> {
    let mut files = Vec::new();
    let mut read = |key: &str, inline: &Option<String>, path: &Option<PathBuf>| -> Result<Vec<u8>, ConfigError> {
        let full = format!("tls_server_config.{key}_file");
        match (inline, path) {
            (Some(_), Some(_)) => Err(at(&full, &format!("{key}_file"), format!("give {key} or {key}_file, not both"))),
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(p)) => {
                let p = base.join(p);
                let bytes = std::fs::read(&p)
                    .map_err(|e| at(&full, &format!("{key}_file"), format!("{}: {e}", p.display())))?;
                files.push(p);
                Ok(bytes)
            }
            (None, None) => Err(at(&full, "tls_server_config", format!("{key}_file is required"))),
        }
    };
    let cert_pem = read("cert", &t.cert, &t.cert_file)?;
    let key_pem = read("key", &t.key, &t.key_file)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| at("tls_server_config.cert_file", "cert_file", format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(at("tls_server_config.cert_file", "cert_file", "no CERTIFICATE block".into()));
    }
    // Never echo the key's bytes: only say what is wrong with them.
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| at("tls_server_config.key_file", "key_file", format!("no usable PEM private key ({e})")))?;
    let version = |leaf: &str, v: &Option<String>, default: u8| match v.as_deref() {
        None => Ok(default),
        Some("TLS12") => Ok(12),
        Some("TLS13") => Ok(13),
        Some(other) => Err(at(
            &format!("tls_server_config.{leaf}"),
            leaf,
            format!("{other:?}: TLS12 or TLS13 (TLS10 and TLS11 are not offered)"),
        )),
    };
    let (min, max) = (version("min_version", &t.min_version, 12)?, version("max_version", &t.max_version, 13)?);
    if min > max {
        return Err(at("tls_server_config.min_version", "min_version", "min_version is above max_version".into()));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| at("tls_server_config.min_version", "min_version", e.to_string()))?;
    let auth = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match auth {
        "NoClientCert" => builder.with_no_client_auth(),
        "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
            let Some(ca) = &t.client_ca_file else {
                return Err(at(
                    "tls_server_config.client_ca_file",
                    "client_auth_type",
                    format!("{auth} needs client_ca_file"),
                ));
            };
            let ca = base.join(ca);
            let pem = std::fs::read(&ca).map_err(|e| {
                at("tls_server_config.client_ca_file", "client_ca_file", format!("{}: {e}", ca.display()))
            })?;
            files.push(ca);
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| at("tls_server_config.client_ca_file", "client_ca_file", e.to_string()))?;
                roots.add(c).map_err(|e| at("tls_server_config.client_ca_file", "client_ca_file", e.to_string()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == "VerifyClientCertIfGiven" { verifier.allow_unauthenticated() } else { verifier };
            let verifier = verifier
                .build()
                .map_err(|e| at("tls_server_config.client_ca_file", "client_ca_file", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        other => {
            return Err(at(
                "tls_server_config.client_auth_type",
                "client_auth_type",
                format!(
                    "{other:?}: NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert (certificates are always verified)"
                ),
            ));
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| at("tls_server_config.key_file", "key_file", format!("certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, files))
}

/// What identifies a file's content cheaply: changes on write, replace and rename-over.
type Stamp = Vec<Option<(u64, u64, i64, i64, u64)>>;

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|f| std::fs::metadata(f).ok().map(|m| (m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.len())))
        .collect()
}

/// The web configuration in force, re-read when its files change.
pub struct WebWatch {
    path: Option<PathBuf>,
    state: Mutex<(Stamp, Arc<WebConfig>)>,
}

impl WebWatch {
    /// No file: plain HTTP, no authentication.
    pub fn none() -> WebWatch {
        WebWatch { path: None, state: Mutex::new((Vec::new(), Arc::new(WebConfig::default()))) }
    }

    pub fn load(path: &Path) -> Result<WebWatch, ConfigError> {
        let config = WebConfig::load(path)?;
        let s = stamp(&config.files);
        Ok(WebWatch { path: Some(path.to_path_buf()), state: Mutex::new((s, Arc::new(config))) })
    }

    pub fn tls(&self) -> bool {
        self.state.lock().is_ok_and(|s| s.1.tls.is_some())
    }

    /// The configuration for a new connection; first re-reads the files if any changed.
    pub fn current(&self, metrics: &Metrics) -> Arc<WebConfig> {
        let Ok(mut state) = self.state.lock() else { return Arc::new(WebConfig::default()) };
        let Some(path) = &self.path else { return state.1.clone() };
        let now = stamp(&state.1.files);
        if now == state.0 {
            return state.1.clone();
        }
        // Turning TLS or authentication off is a restart's job: a half-written file must never open the
        // endpoint, even for a moment, and clients of an https listener cannot follow it to http.
        let loaded = WebConfig::load(path).and_then(|c| {
            let old = &state.1;
            let refused = if c.tls.is_some() != old.tls.is_some() {
                Some(("tls_server_config", "switching TLS on or off takes effect at the next restart"))
            } else if old.auth_required() && !c.auth_required() {
                Some(("basic_auth_users", "removing every basic_auth_users entry takes effect at the next restart"))
            } else {
                None
            };
            match refused {
                Some((key, message)) => Err(ConfigError::Invalid {
                    file: path.display().to_string(),
                    line: 1,
                    column: 1,
                    key: key.into(),
                    message: message.into(),
                }),
                None => Ok(c),
            }
        });
        match loaded {
            Ok(config) => {
                tracing::info!(file = %path.display(), tls = config.tls.is_some(), users = config.users.len(), "web config reloaded");
                metrics.web_config_reloads_total.with_label_values(&["success"]).inc();
                metrics.web_config_last_reload_successful.set(1);
                state.0 = stamp(&config.files);
                state.1 = Arc::new(config);
            }
            Err(e) => {
                // Remember the broken stamp so it is not re-parsed on every connection.
                tracing::error!(error = %e, "web config change refused; the last good one stays in force");
                metrics.web_config_reloads_total.with_label_values(&["failure"]).inc();
                metrics.web_config_last_reload_successful.set(0);
                state.0 = now;
            }
        }
        state.1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        WebConfig::parse("web.yml", text, Path::new("/nonexistent")).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = err("basic_auth_users:\n  alice: plaintext\n");
        assert!(e.starts_with("web.yml:2:1: basic_auth_users.alice: not a bcrypt hash"), "{e}");
        let e = err("tls_server_config:\n  cert_file: a.pem\n  key_file: b.pem\n  bogus: 1\n");
        assert!(e.starts_with("web.yml:4:") && e.contains("tls_server_config") && e.contains("unknown field"), "{e}");
        let e = err("tls_server_config:\n  cert_file: a.pem\n  key_file: b.pem\n");
        assert!(e.starts_with("web.yml:2:1: tls_server_config.cert_file: /nonexistent/a.pem"), "{e}");
        let e = err("tls_server_config:\n  cert_file: a.pem\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n");
        assert!(e.starts_with("web.yml:3:1: tls_server_config.cipher_suites: not supported"), "{e}");
        let e = err("http_server_config:\n  headers:\n    Server: x\n");
        assert!(e.starts_with("web.yml:3:1: http_server_config.headers.Server: only "), "{e}");
        let e = err("a: 1\r\rb: 2\rbogus: [\n");
        assert!(e.starts_with("web.yml:1:") || e.starts_with("web.yml:2:"), "{e}");
        let e = err("basic_auth_users: hunter2-plain\n");
        assert!(e.contains("basic_auth_users") && !e.contains("hunter2"), "{e}");
        let e = err("tls_server_config:\n  cert_file: a\n  key: {x: \"-----BEGIN PRIVATE KEY----- MIIE\"}\n");
        assert!(!e.contains("MIIE"), "{e}");
        let e = err("basic_auth_users: [1, 2]\n");
        assert!(e.starts_with("web.yml:1:") && e.contains("basic_auth_users"), "{e}");
    }

    #[test]
    fn basic_auth_verifies_and_caches() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let c = WebConfig::parse("w", &format!("basic_auth_users:\n  alice: {hash}\n"), Path::new(".")).unwrap();
        assert!(c.auth_required());
        assert!(c.verify("alice", "s3cret"));
        assert!(c.verify("alice", "s3cret"), "cached");
        assert!(!c.verify("alice", "wrong"));
        assert!(!c.verify("bob", "s3cret"));
        let header = HeaderValue::from_static("Basic YWxpY2U6czNjcmV0");
        assert!(matches!(WebConfig::credentials(Some(&header)),
            Credentials::Basic { user, password } if user == "alice" && password == "s3cret"));
        assert!(matches!(WebConfig::credentials(Some(&HeaderValue::from_static("Basic !!"))), Credentials::Missing));
        assert!(matches!(WebConfig::credentials(None), Credentials::Missing));
    }

    #[test]
    fn empty_file_means_no_tls_and_no_auth() {
        let c = WebConfig::parse("w", "", Path::new(".")).unwrap();
        assert!(c.tls.is_none() && !c.auth_required());
    }
}
