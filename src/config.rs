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
use crate::record::FormatChoice;
pub use crate::source::{DEFAULT_EXCLUDE, DEFAULT_SOURCE, Source, StartAt, batch_intervals, batch_sources};
use crate::tomlerr;
pub use crate::tomlerr::ConfigError;

mod recover;

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
    version: Option<Spanned<String>>,
    version_from_path: Option<Spanned<String>>,
    /// `batches`: whole files landing in a tree, each read once (`crate::batches`).
    #[serde(default)]
    mode: crate::batch_options::Mode,
    settle_secs: Option<u64>,
    interval_secs: Option<u64>,
    csv: Option<Spanned<crate::formats::cls_csv::CsvOptions>>,
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
    /// CLS's raw shipping (`__CONTENT__` only): the original lines, read as text.
    Raw,
}

impl From<FormatName> for FormatChoice {
    fn from(f: FormatName) -> Self {
        match f {
            FormatName::Auto => FormatChoice::Auto,
            FormatName::Text | FormatName::Raw => FormatChoice::Text,
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
        // Every error in one run: those of lines that do not parse, then those of values that do.
        let (raw, parse_errors) = recover::parse_all::<ConfigFile>(text);
        let mut errors: Vec<ConfigError> = (parse_errors.into_iter())
            .map(|l| ConfigError::Invalid {
                file: file.to_string(),
                line: l.line,
                column: l.column,
                key: l.field,
                message: l.message,
            })
            .collect();
        let Some(raw) = raw else { return Err(ConfigError::all(errors)) };
        let resolve = |p: &Path| match base {
            Some(b) if p.is_relative() && !b.as_os_str().is_empty() => b.join(p),
            _ => p.to_path_buf(),
        };
        let mut config = Config::default();
        if let Some(listen) = &raw.listen {
            match listen.get_ref().parse() {
                Ok(a) => config.listen = a,
                Err(e) => {
                    errors.push(at(listen.span(), "listen", format!("{:?} is not HOST:PORT: {e}", listen.get_ref())))
                }
            }
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
            errors.push(at(offset..offset, &format!("{table}.{key}"), why.to_string()));
        }
        for (name, value) in &raw.labels {
            let reserved = ["pattern", "source", "version", "patterns", "alertname", "severity", "result"];
            if !valid_label_name(name.get_ref()) || reserved.contains(&name.get_ref().as_str()) {
                errors.push(at(
                    name.span(),
                    &format!("labels.{}", name.get_ref()),
                    "a label name must match [a-zA-Z_][a-zA-Z0-9_]* and not be one authwatch sets".into(),
                ));
                continue;
            }
            config.labels.push((name.get_ref().clone(), value.clone()));
        }
        for (i, s) in raw.sources.iter().enumerate() {
            let key = |k: &str| format!("sources[{i}].{k}");
            let name = s.name.get_ref();
            let before = errors.len();
            if !valid_label_name(name) && !name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
                errors.push(at(s.name.span(), &key("name"), format!("{name:?}: use letters, digits, _ - .")));
            } else if name.starts_with('_') {
                errors.push(at(s.name.span(), &key("name"), format!("{name:?}: names starting with _ are reserved")));
            } else if name.is_empty() || name.len() > 64 {
                errors.push(at(s.name.span(), &key("name"), "1 to 64 characters".into()));
            } else if config.sources.iter().any(|o| &o.name == name) {
                errors.push(at(s.name.span(), &key("name"), format!("source {name:?} is defined twice")));
            }
            if s.paths.get_ref().is_empty() {
                errors.push(at(s.paths.span(), &key("paths"), "at least one path, directory or glob".into()));
            }
            let batches = crate::batch_options::Mode::Batches == s.mode;
            // Batches are compressed on purpose: only a followed source skips compressed rotations.
            let mut exclude: Vec<String> =
                if batches { Vec::new() } else { DEFAULT_EXCLUDE.iter().map(|e| e.to_string()).collect() };
            let defaults = crate::batch_options::BatchOptions::default();
            let settle = s.settle_secs.unwrap_or(defaults.settle_secs);
            let interval = s.interval_secs.unwrap_or(defaults.interval_secs);
            for (ok, k, why) in [
                (
                    batches || (s.settle_secs.is_none() && s.interval_secs.is_none()),
                    "mode",
                    "settle_secs and interval_secs need mode = \"batches\"",
                ),
                (settle <= 3600, "settle_secs", "must be 0 to 3600"),
                (
                    (60..=86_400).contains(&interval),
                    "interval_secs",
                    "must be 60 to 86400 (CLS ships every 300 to 900)",
                ),
            ] {
                if !ok {
                    return Err(at(s.name.span(), &key(k), why.to_string()));
                }
            }
            let csv = match &s.csv {
                Some(o) => Some(o.get_ref().dialect().map_err(|why| at(o.span(), &key("csv"), why))?),
                None => None,
            };
            for (j, e) in s.exclude.iter().enumerate() {
                match glob::Pattern::new(e.get_ref()) {
                    Ok(_) => exclude.push(e.get_ref().clone()),
                    Err(err) => {
                        errors.push(at(e.span(), &format!("sources[{i}].exclude[{j}]"), format!("bad glob: {err}")))
                    }
                }
            }
            let mut paths = Vec::new();
            for p in s.paths.get_ref() {
                let full = resolve(Path::new(p)).display().to_string();
                match glob::Pattern::new(&full) {
                    Ok(_) => paths.push(full),
                    Err(err) => errors.push(at(s.paths.span(), &key("paths"), format!("{p:?}: bad glob: {err}"))),
                }
            }
            if errors.len() > before {
                continue;
            }
            let version = match &s.version {
                Some(v) => Some(
                    crate::record::clean_version(v.get_ref()).filter(|c| c == v.get_ref().trim()).ok_or_else(|| {
                        at(
                            v.span(),
                            &key("version"),
                            format!(
                                "{:?}: a version is letters, digits, $ - _ . (at most {} characters)",
                                v.get_ref(),
                                crate::record::MAX_VERSION_CHARS
                            ),
                        )
                    })?,
                ),
                None => None,
            };
            if let Some(re) = &s.version_from_path {
                crate::versions::PathVersion::new(re.get_ref())
                    .map_err(|why| at(re.span(), &key("version_from_path"), why))?;
            }
            config.sources.push(Source {
                name: name.clone(),
                paths,
                exclude,
                format: s.format.into(),
                start_at: s.start_at,
                function: s.function.clone(),
                version,
                version_from_path: s.version_from_path.as_ref().map(|r| r.get_ref().clone()),
                batches: batches
                    .then_some(crate::batch_options::BatchOptions { settle_secs: settle, interval_secs: interval }),
                csv,
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
            let Some(rest) = url.strip_prefix("http://") else {
                errors.push(at(
                    am.url.span(),
                    "alertmanager.url",
                    format!("{url:?}: only http:// URLs (e.g. http://127.0.0.1:9093)"),
                ));
                return Err(ConfigError::all(errors));
            };
            let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            if authority.is_empty() {
                errors.push(at(am.url.span(), "alertmanager.url", format!("{url:?} has no host")));
                return Err(ConfigError::all(errors));
            }
            config.alertmanager = Some(Alertmanager {
                authority: authority.to_string(),
                prefix: if prefix.is_empty() { String::new() } else { format!("/{}", prefix.trim_end_matches('/')) },
                resend_interval_secs: am.resend_interval_secs.max(1),
                timeout_ms: am.timeout_ms.max(100),
                resolve_hold_secs: am.resolve_hold_secs,
            });
        }
        // The alert rules against the catalogue the config names (a bad `pattern`, at its line); when the
        // catalogue does not load, that error is the pattern loader's, reported where it loads.
        if let Ok(catalogue) = crate::patterns::Catalogue::load(&config.pattern_dirs, !config.no_default_patterns) {
            for (line, column, key, message) in recover::rule_errors(&config.alerts, &catalogue, text) {
                errors.push(ConfigError::Invalid { file: file.to_string(), line, column, key, message });
            }
        }
        if !errors.is_empty() {
            return Err(ConfigError::all(errors));
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
                version: None,
                version_from_path: None,
                batches: None,
                csv: None,
            }),
        }
    }

    pub fn source_names(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests;
