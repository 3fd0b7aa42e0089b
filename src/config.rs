//! The daemon's configuration: a TOML file (every key optional but a source's `paths`), overridden by
//! command-line flags.
//!
//! Contract: `Config::from_toml` either returns a checked configuration or a `ConfigError` naming the
//! file, line, column and key. Unknown keys are errors. Units are in the key names. `Config::default()`
//! is what `authwatch run PATH…` uses with no file at all.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub use crate::alerts::Alertmanager;
use crate::alerts::RuleConfig;
pub use crate::http::Settings as Http;
pub use crate::observe::{Alerting, Clock, DEFAULT_REPLAY_IDLE_SECS};
pub use crate::source::{DEFAULT_EXCLUDE, DEFAULT_SOURCE, Source, StartAt};
use crate::record::FormatChoice;
use crate::tomlerr;
pub use crate::tomlerr::ConfigError;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9471";



#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<Spanned<String>>,
    state_dir: Option<PathBuf>,
    #[serde(default)]
    patterns: Vec<PathBuf>,
    #[serde(default)]
    no_default_patterns: bool,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    labels: BTreeMap<Spanned<String>, String>,
    #[serde(default)]
    sources: Vec<SourceFile>,
    login_function: Option<String>,
    #[serde(default)]
    alerting: Alerting,
    alerts: Option<Vec<RuleConfig>>,
    alertmanager: Option<AlertmanagerFile>,
    #[serde(default)]
    http: Http,
}



#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertmanagerFile {
    url: Spanned<String>,
    #[serde(default = "default_resend_interval_secs")]
    resend_interval_secs: u64,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default = "default_resolve_hold_secs")]
    resolve_hold_secs: u64,
}

fn default_resolve_hold_secs() -> u64 {
    30
}

fn default_resend_interval_secs() -> u64 {
    60
}

fn default_timeout_ms() -> u64 {
    5000
}


/// The guide's login function.
pub const DEFAULT_LOGIN_FUNCTION: &str = "getLoginTicket";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    name: Spanned<String>,
    paths: Spanned<Vec<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    format: FormatName,
    #[serde(default)]
    start_at: StartAt,
    function: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FormatName {
    #[default]
    Auto,
    Text,
    Cls,
    #[serde(rename = "cls-csv")]
    ClsCsv,
    #[serde(rename = "tcb-log")]
    TcbLog,
    Realtime,
}

impl From<FormatName> for FormatChoice {
    fn from(f: FormatName) -> Self {
        match f {
            FormatName::Auto => FormatChoice::Auto,
            FormatName::Text => FormatChoice::Text,
            FormatName::Cls => FormatChoice::Cls,
            FormatName::ClsCsv => FormatChoice::ClsCsv,
            FormatName::TcbLog => FormatChoice::TcbLog,
            FormatName::Realtime => FormatChoice::Realtime,
        }
    }
}

/// `[limits]`: one flat table in the file; each key belongs to the stage it bounds, which owns its
/// type, default and valid range. This only composes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Limits {
    pub tail: crate::tail::Limits,
    pub event: crate::event::Limits,
    pub window: crate::window::Limits,
    pub labels: crate::metrics::LabelCaps,
}

/// `[limits]` as written: every key optional (the owning stage's default otherwise).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    max_line_bytes: Option<u64>,
    poll_interval_ms: Option<u64>,
    checkpoint_interval_ms: Option<u64>,
    max_files: Option<u64>,
    max_open_files: Option<u64>,
    close_idle_secs: Option<u64>,
    read_budget_bytes: Option<u64>,
    retention_minutes: Option<u64>,
    max_sources: Option<u64>,
    max_functions: Option<u64>,
    future_tolerance_secs: Option<u64>,
    invocation_window_secs: Option<u64>,
    max_invocations: Option<u64>,
    max_seen_records: Option<u64>,
}

impl From<LimitsFile> for Limits {
    fn from(f: LimitsFile) -> Limits {
        let mut l = Limits::default();
        let t = &mut l.tail;
        t.max_line_bytes = f.max_line_bytes.unwrap_or(t.max_line_bytes);
        t.poll_interval_ms = f.poll_interval_ms.unwrap_or(t.poll_interval_ms);
        t.checkpoint_interval_ms = f.checkpoint_interval_ms.unwrap_or(t.checkpoint_interval_ms);
        t.max_files = f.max_files.or(t.max_files);
        t.max_open_files = f.max_open_files.or(t.max_open_files);
        t.close_idle_secs = f.close_idle_secs.unwrap_or(t.close_idle_secs);
        t.read_budget_bytes = f.read_budget_bytes.unwrap_or(t.read_budget_bytes);
        let e = &mut l.event;
        e.future_tolerance_secs = f.future_tolerance_secs.unwrap_or(e.future_tolerance_secs);
        e.invocation_window_secs = f.invocation_window_secs.unwrap_or(e.invocation_window_secs);
        e.max_invocations = f.max_invocations.unwrap_or(e.max_invocations);
        e.max_seen_records = f.max_seen_records.unwrap_or(e.max_seen_records);
        l.window.retention_minutes = f.retention_minutes.unwrap_or(l.window.retention_minutes);
        // Past usize (32-bit) is past the range check anyway.
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        l.labels.max_sources = f.max_sources.map_or(l.labels.max_sources, size);
        l.labels.max_functions = f.max_functions.map_or(l.labels.max_functions, size);
        l
    }
}

impl Limits {
    /// Every stage's objections, as `limits.KEY`.
    fn problems(&self) -> Vec<(&'static str, &'static str)> {
        [self.tail.problems(), self.event.problems(), self.window.problems(), self.labels.problems()].concat()
    }
}


#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub state_dir: PathBuf,
    pub pattern_dirs: Vec<PathBuf>,
    pub no_default_patterns: bool,
    pub limits: Limits,
    /// Constant labels on every metric (e.g. env = "staging").
    pub labels: Vec<(String, String)>,
    pub sources: Vec<Source>,
    /// Invocations of this function are login attempts.
    pub login_function: String,
    pub alerting: Alerting,
    /// The alert rules (the guide's defaults unless `[[alerts]]` is given; an empty list turns them off).
    pub alerts: Vec<RuleConfig>,
    pub alertmanager: Option<Alertmanager>,
    pub http: Http,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9471))),
            state_dir: default_state_dir(),
            pattern_dirs: Vec::new(),
            no_default_patterns: false,
            limits: Limits::default(),
            labels: Vec::new(),
            sources: Vec::new(),
            login_function: DEFAULT_LOGIN_FUNCTION.to_string(),
            alerting: Alerting::default(),
            alerts: crate::alerts::default_rules(),
            alertmanager: None,
            http: Http::default(),
        }
    }
}

/// systemd's StateDirectory, else the XDG state directory, else ./.authwatch-state.
pub fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STATE_DIRECTORY").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("authwatch");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/state/authwatch"),
        None => PathBuf::from(".authwatch-state"),
    }
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { file: file.clone(), source })?;
        Config::from_toml(&file, &text, path.parent())
    }

    /// `base` resolves relative paths in the file (those of patterns and sources stay as written when
    /// it is None).
    pub fn from_toml(file: &str, text: &str, base: Option<&Path>) -> Result<Config, ConfigError> {
        let at = |span: std::ops::Range<usize>, key: &str, message: String| {
            let (line, column) = tomlerr::line_col(text, span.start);
            ConfigError::Invalid { file: file.to_string(), line, column, key: key.to_string(), message }
        };
        let raw: ConfigFile = toml::from_str(text).map_err(|e| {
            let l = tomlerr::locate(text, &e);
            ConfigError::Invalid {
                file: file.to_string(),
                line: l.line,
                column: l.column,
                key: l.field,
                message: l.message,
            }
        })?;
        let resolve = |p: &Path| match base {
            Some(b) if p.is_relative() && !b.as_os_str().is_empty() => b.join(p),
            _ => p.to_path_buf(),
        };
        let mut config = Config::default();
        if let Some(listen) = &raw.listen {
            config.listen = listen
                .get_ref()
                .parse()
                .map_err(|e| at(listen.span(), "listen", format!("{:?} is not HOST:PORT: {e}", listen.get_ref())))?;
        }
        if let Some(d) = &raw.state_dir {
            config.state_dir = resolve(d);
        }
        config.pattern_dirs = raw.patterns.iter().map(|p| resolve(p)).collect();
        config.no_default_patterns = raw.no_default_patterns;
        config.limits = raw.limits.into();
        // Each stage says which of its values it cannot work with; the error points at the key.
        let problems = config.limits.problems().into_iter().map(|(k, why)| ("limits", k, why));
        for (table, key, why) in problems.chain(raw.http.problems().into_iter().map(|(k, why)| ("http", k, why))) {
            let offset = text.find(key).unwrap_or(0);
            return Err(at(offset..offset, &format!("{table}.{key}"), why.to_string()));
        }
        for (name, value) in &raw.labels {
            let reserved = ["pattern", "source", "version", "patterns", "alertname", "severity", "result"];
            if !valid_label_name(name.get_ref()) || reserved.contains(&name.get_ref().as_str()) {
                return Err(at(
                    name.span(),
                    &format!("labels.{}", name.get_ref()),
                    "a label name must match [a-zA-Z_][a-zA-Z0-9_]* and not be one authwatch sets".into(),
                ));
            }
            config.labels.push((name.get_ref().clone(), value.clone()));
        }
        for (i, s) in raw.sources.iter().enumerate() {
            let key = |k: &str| format!("sources[{i}].{k}");
            let name = s.name.get_ref();
            if !valid_label_name(name) && !name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
                return Err(at(s.name.span(), &key("name"), format!("{name:?}: use letters, digits, _ - .")));
            }
            if name.starts_with('_') {
                return Err(at(s.name.span(), &key("name"), format!("{name:?}: names starting with _ are reserved")));
            }
            if name.is_empty() || name.len() > 64 {
                return Err(at(s.name.span(), &key("name"), "1 to 64 characters".into()));
            }
            if config.sources.iter().any(|o| &o.name == name) {
                return Err(at(s.name.span(), &key("name"), format!("source {name:?} is defined twice")));
            }
            if s.paths.get_ref().is_empty() {
                return Err(at(s.paths.span(), &key("paths"), "at least one path, directory or glob".into()));
            }
            let mut exclude: Vec<String> = DEFAULT_EXCLUDE.iter().map(|e| e.to_string()).collect();
            for (j, e) in s.exclude.iter().enumerate() {
                glob::Pattern::new(e.get_ref())
                    .map_err(|err| at(e.span(), &format!("sources[{i}].exclude[{j}]"), format!("bad glob: {err}")))?;
                exclude.push(e.get_ref().clone());
            }
            let mut paths = Vec::new();
            for p in s.paths.get_ref() {
                let full = resolve(Path::new(p)).display().to_string();
                glob::Pattern::new(&full)
                    .map_err(|err| at(s.paths.span(), &key("paths"), format!("{p:?}: bad glob: {err}")))?;
                paths.push(full);
            }
            config.sources.push(Source {
                name: name.clone(),
                paths,
                exclude,
                format: s.format.into(),
                start_at: s.start_at,
                function: s.function.clone(),
            });
        }
        config.http = raw.http.clone();
        config.http.web_config_file = raw.http.web_config_file.as_deref().map(resolve);
        if let Some(f) = raw.login_function {
            config.login_function = f;
        }
        config.alerting = raw.alerting;
        if let Some(rules) = raw.alerts {
            config.alerts = rules;
        }
        if let Some(am) = raw.alertmanager {
            let url = am.url.get_ref();
            let rest = url.strip_prefix("http://").ok_or_else(|| {
                at(
                    am.url.span(),
                    "alertmanager.url",
                    format!("{url:?}: only http:// URLs (e.g. http://127.0.0.1:9093)"),
                )
            })?;
            let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            if authority.is_empty() {
                return Err(at(am.url.span(), "alertmanager.url", format!("{url:?} has no host")));
            }
            config.alertmanager = Some(Alertmanager {
                authority: authority.to_string(),
                prefix: if prefix.is_empty() { String::new() } else { format!("/{}", prefix.trim_end_matches('/')) },
                resend_interval_secs: am.resend_interval_secs.max(1),
                timeout_ms: am.timeout_ms.max(100),
                resolve_hold_secs: am.resolve_hold_secs,
            });
        }
        Ok(config)
    }

    /// Paths from the command line become (or extend) the `default` source.
    pub fn add_cli_paths(&mut self, paths: &[String], format: FormatChoice, start_at: StartAt) {
        if paths.is_empty() {
            return;
        }
        match self.sources.iter_mut().find(|s| s.name == DEFAULT_SOURCE) {
            Some(s) => s.paths.extend(paths.iter().cloned()),
            None => self.sources.push(Source {
                name: DEFAULT_SOURCE.to_string(),
                paths: paths.to_vec(),
                exclude: DEFAULT_EXCLUDE.iter().map(|e| e.to_string()).collect(),
                format,
                start_at,
                function: None,
            }),
        }
    }

    pub fn source_names(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_toml("c.toml", text, None).unwrap_err().to_string()
    }

    #[test]
    fn the_example_config_is_valid_and_documents_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/authwatch.example.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9471".parse().unwrap());
        assert!(!c.sources.is_empty());
        let text = std::fs::read_to_string(&path).unwrap();
        for key in [
            "listen",
            "state_dir",
            "patterns",
            "no_default_patterns",
            "max_line_bytes",
            "poll_interval_ms",
            "checkpoint_interval_ms",
            "max_files",
            "max_open_files",
            "close_idle_secs",
            "read_budget_bytes",
            "[labels]",
            "name",
            "paths",
            "exclude",
            "format",
            "start_at",
            "function",
            "retention_minutes",
            "max_sources",
            "max_functions",
            "future_tolerance_secs",
            "invocation_window_secs",
            "max_invocations",
            "max_seen_records",
            "login_function",
            "[alerting]",
            "clock",
            "replay_idle_secs",
            "[[alerts]]",
            "measure",
            "threshold",
            "window_secs",
            "for_secs",
            "keep_firing_for_secs",
            "severity",
            "[alertmanager]",
            "resend_interval_secs",
            "timeout_ms",
            "resolve_hold_secs",
            "[http]",
            "max_connections",
            "header_read_timeout_ms",
            "max_connection_age_ms",
            "max_header_bytes",
            "web_config_file",
        ] {
            assert!(text.contains(key), "example lacks {key}");
        }
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let c = Config::from_toml("c.toml", "", None).unwrap();
        assert_eq!(c.limits, Limits::default());
        assert!(c.sources.is_empty());
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = err("listen = \"127.0.0.1:9471\"\nlisten_addr = \"x\"\n");
        assert!(e.starts_with("c.toml:2:1: listen_addr: unknown field"), "{e}");
        let e = err("listen = \"localhost\"\n");
        assert!(e.starts_with("c.toml:1:10: listen: "), "{e}");
        let e = err("[limits]\nmax_line_bytes = \"big\"\n");
        assert!(e.starts_with("c.toml:2:") && e.contains("limits.max_line_bytes"), "{e}");
        let e = err("[limits]\npoll_interval_ms = 1\n");
        assert!(e.starts_with("c.toml:2:") && e.contains("limits.poll_interval_ms: must be at least 10"), "{e}");
        let e = err("[http]\nmax_connections = 0\n");
        assert!(e.starts_with("c.toml:2:") && e.contains("http.max_connections: must be 1 to 65536"), "{e}");
        let e = err("[[sources]]\nname = \"a\"\npaths = []\n");
        assert!(e.starts_with("c.toml:3:") && e.contains("sources[0].paths"), "{e}");
        let e = err("[[sources]]\nname = \"a\"\npaths = [\"x\"]\n[[sources]]\nname = \"a\"\npaths = [\"y\"]\n");
        assert!(e.starts_with("c.toml:5:") && e.contains("defined twice"), "{e}");
        let e = err("[[sources]]\nname = \"a\"\npaths = [\"x\"]\nformat = \"xml\"\n");
        assert!(e.starts_with("c.toml:4:") && e.contains("sources.format") && e.contains("xml"), "{e}");
        let e = err("[labels]\npattern = \"x\"\n");
        assert!(e.starts_with("c.toml:2:") && e.contains("labels.pattern"), "{e}");
        let e = err("[[sources]]\nname = \"a\"\npaths = [\"x\"]\nexclude = [\"[\"]\n");
        assert!(e.starts_with("c.toml:4:") && e.contains("bad glob"), "{e}");
    }

    #[test]
    fn cli_paths_become_the_default_source() {
        let mut c = Config::default();
        c.add_cli_paths(&["/var/log/a.log".into()], FormatChoice::Cls, StartAt::End);
        assert_eq!(c.sources[0].name, "default");
        assert_eq!(c.sources[0].format, FormatChoice::Cls);
        assert_eq!(c.sources[0].start_at, StartAt::End);
        assert!(c.sources[0].exclude.contains(&"*.gz".to_string()));
    }

    #[test]
    fn relative_paths_resolve_against_the_config_file() {
        let c = Config::from_toml(
            "c.toml",
            "state_dir = \"st\"\n[[sources]]\nname = \"a\"\npaths = [\"logs/*.log\"]\n",
            Some(Path::new("/etc/aw")),
        )
        .unwrap();
        assert_eq!(c.state_dir, PathBuf::from("/etc/aw/st"));
        assert_eq!(c.sources[0].paths, ["/etc/aw/logs/*.log"]);
    }

    #[test]
    fn max_files_still_loads_as_the_open_files_bound() {
        let limits = |text: &str| Config::from_toml("c.toml", text, None).unwrap().limits.tail;
        assert_eq!(limits("").open_files_bound(), crate::tail::DEFAULT_MAX_OPEN_FILES);
        assert_eq!(limits("[limits]\nmax_files = 50\n").open_files_bound(), 50);
        assert_eq!(limits("[limits]\nmax_files = 50\nmax_open_files = 200\n").open_files_bound(), 200);
        // An old config's tiny max_files loads; the follower keeps the few descriptors it needs.
        assert_eq!(limits("[limits]\nmax_files = 1\n").open_files_bound(), 4);
        let l = limits("[limits]\nclose_idle_secs = 60\nread_budget_bytes = 65536\n");
        assert_eq!((l.close_idle_secs, l.read_budget_bytes), (60, 65536));
        assert!(err("[limits]\nmax_open_files = 2\n").contains("limits.max_open_files: must be at least 4"));
        assert!(err("[limits]\nclose_idle_secs = 0\n").contains("limits.close_idle_secs: must be at least 1"));
    }
}
