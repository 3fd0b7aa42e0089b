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

use crate::alerts::RuleConfig;
use crate::lines::DEFAULT_MAX_LINE_BYTES;
use crate::record::FormatChoice;
use crate::tomlerr;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9471";
/// The source name for paths given on the command line.
pub const DEFAULT_SOURCE: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{file}:{line}:{column}: {key}: {message}")]
    Invalid { file: String, line: usize, column: usize, key: String, message: String },
}

/// Where a source starts reading a file it has no checkpoint for, at start-up. Files that appear
/// later are always read from their beginning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StartAt {
    #[default]
    Beginning,
    End,
}

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
    limits: Limits,
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

/// The endpoint's own bounds, and where TLS and basic auth come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
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

impl Default for Http {
    fn default() -> Self {
        Http {
            max_connections: 64,
            header_read_timeout_ms: 10_000,
            max_connection_age_ms: 120_000,
            max_header_bytes: 16_384,
            web_config_file: None,
        }
    }
}

/// Which clock alerts are evaluated on, and so which minutes are complete: the state's setting.
pub use crate::observe::{Clock, DEFAULT_REPLAY_IDLE_SECS};

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    #[serde(default)]
    pub clock: Clock,
    /// Event clock: with no new line for this long (wall time), the newest minute is closed and judged
    /// (a replay has ended).
    #[serde(default = "default_replay_idle_secs")]
    pub replay_idle_secs: u64,
    /// The quota line drawn on the 45011 chart (status page, `check --report`), calls per minute:
    /// WeChat documents 100 jscode2session calls per user per minute. 0 draws none.
    #[serde(default = "default_quota_per_minute")]
    pub quota_per_minute: u64,
}

fn default_replay_idle_secs() -> u64 {
    DEFAULT_REPLAY_IDLE_SECS
}

impl Default for Alerting {
    fn default() -> Alerting {
        Alerting {
            clock: Clock::default(),
            replay_idle_secs: DEFAULT_REPLAY_IDLE_SECS,
            quota_per_minute: default_quota_per_minute(),
        }
    }
}

fn default_quota_per_minute() -> u64 {
    crate::chart::DEFAULT_QUOTA_PER_MINUTE
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

/// Where alerts are pushed, Alertmanager's `/api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alertmanager {
    /// host:port of the Alertmanager (http only).
    pub authority: String,
    /// The path prefix before `/api/v2/alerts` (for Alertmanagers behind a route prefix).
    pub prefix: String,
    pub resend_interval_secs: u64,
    pub timeout_ms: u64,
    /// A resolution is sent no sooner than this after Alertmanager accepted the alert firing, so a
    /// replayed episode reaches receivers as firing, then resolved (Alertmanager's group_wait).
    pub resolve_hold_secs: u64,
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

/// Bounds and intervals. Every field has a named default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Lines longer than this are cut to it and counted.
    pub max_line_bytes: u64,
    /// The safety-net poll: how often every file is looked at even if inotify said nothing.
    pub poll_interval_ms: u64,
    /// How often read offsets are written to the state directory (and at shutdown).
    pub checkpoint_interval_ms: u64,
    /// Deprecated (it capped the files followed): read as `max_open_files` when that is not set.
    pub max_files: Option<u64>,
    /// Per-minute history kept for the 45011 curve and alerts; lines older than this behind the newest
    /// are counted as late.
    pub retention_minutes: u64,
    /// Distinct `source` label values; sources past it share the `_other` series.
    pub max_sources: u64,
    /// Distinct `function` label values (names read from log lines); later names share `_other`.
    pub max_functions: u64,
    /// A line stamped more than this ahead of the wall clock is not trusted for its time.
    pub future_tolerance_secs: u64,
    /// How long (event time) a call is remembered for joining its lines and counting it once, and a
    /// record for recognising it when read again: SCF's 900 s maximum run time plus export skew.
    pub invocation_window_secs: u64,
    /// Calls remembered at most; past it the oldest are forgotten (counted).
    pub max_invocations: u64,
    /// Records remembered at most for overlapping exports; past it the oldest are forgotten (counted).
    pub max_seen_records: u64,
    /// Followed files holding an open descriptor at most (default 1,024); quiet files are closed and
    /// reopened when they grow, so every matching file is read however many there are.
    pub max_open_files: Option<u64>,
    /// A followed file that has not grown for this long gives its descriptor back (it stays followed).
    pub close_idle_secs: u64,
    /// Bytes read from one file before the next file's turn (one round); a poll reads in rounds, so a
    /// file growing at full speed does not hold up a line appended to another.
    pub read_budget_bytes: u64,
}

/// Open descriptors for followed files when neither `max_open_files` nor `max_files` is set.
pub const DEFAULT_MAX_OPEN_FILES: u64 = 1024;
/// Like Filebeat's `close_inactive` (5 minutes).
pub const DEFAULT_CLOSE_IDLE_SECS: u64 = 300;
pub const DEFAULT_READ_BUDGET_BYTES: u64 = 1 << 20;

impl Limits {
    /// The bound on open descriptors for followed files: `max_open_files`, else the deprecated
    /// `max_files`, else 1,024.
    pub fn open_files_bound(&self) -> u64 {
        // An old config's small max_files still loads; the follower needs a few descriptors to work.
        self.max_open_files.or(self.max_files).unwrap_or(DEFAULT_MAX_OPEN_FILES).max(4)
    }

    pub fn label_caps(&self) -> crate::metrics::LabelCaps {
        crate::metrics::LabelCaps { max_sources: self.max_sources as usize, max_functions: self.max_functions as usize }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES as u64,
            poll_interval_ms: 1000,
            checkpoint_interval_ms: 5000,
            max_files: None,
            retention_minutes: crate::window::DEFAULT_RETENTION_MINUTES as u64,
            max_sources: crate::metrics::LabelCaps::default().max_sources as u64,
            max_functions: crate::metrics::LabelCaps::default().max_functions as u64,
            future_tolerance_secs: (crate::event::DEFAULT_FUTURE_TOLERANCE_MS / 1000) as u64,
            invocation_window_secs: (crate::event::DEFAULT_WINDOW_MS / 1000) as u64,
            max_invocations: crate::event::DEFAULT_MAX_CALLS as u64,
            max_seen_records: crate::event::DEFAULT_MAX_RECORDS as u64,
            max_open_files: None,
            close_idle_secs: DEFAULT_CLOSE_IDLE_SECS,
            read_budget_bytes: DEFAULT_READ_BUDGET_BYTES,
        }
    }
}

/// One named group of files read the same way; its name is the `source` label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    /// Files, directories (every regular file directly in them) or globs.
    pub paths: Vec<String>,
    /// Globs matched against a file's path or file name; rotated and compressed copies by default.
    pub exclude: Vec<String>,
    pub format: FormatChoice,
    pub start_at: StartAt,
    /// The Cloud Function these files belong to, for lines that do not name theirs (plain text).
    pub function: Option<String>,
    /// Some: a source of batches (`mode = "batches"`), each file read once when complete.
    pub batches: Option<crate::batch_options::BatchOptions>,
    /// How its CSV is written (`[sources.csv]`); None: detected (the console download).
    pub csv: Option<crate::formats::cls_csv::CsvDialect>,
}

/// The sources of batches among `sources` (their index kept), for `crate::batches`.
pub fn batch_sources(sources: &[Source]) -> Vec<crate::batch_options::SourceSpec> {
    let spec = |(index, s): (usize, &Source)| {
        Some(crate::batch_options::SourceSpec {
            index,
            name: s.name.clone(),
            paths: s.paths.clone(),
            exclude: s.exclude.clone(),
            options: s.batches?,
        })
    };
    sources.iter().enumerate().filter_map(spec).collect()
}

/// Per source index: the shipping interval of a source of batches, ms (None: followed files).
pub fn batch_intervals(sources: &[Source]) -> Vec<Option<i64>> {
    sources.iter().map(|s| s.batches.map(|b| b.interval_secs as i64 * 1000)).collect()
}

/// Compressed rotations are never tailed: their bytes are not log lines.
pub const DEFAULT_EXCLUDE: [&str; 5] = ["*.gz", "*.bz2", "*.xz", "*.zst", "*.zip"];

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
        config.limits = raw.limits;
        let l = &config.limits;
        let h = &raw.http;
        let limit_checks = [
            (
                l.max_line_bytes >= 64 && l.max_line_bytes <= 1 << 30,
                "limits.max_line_bytes",
                "must be 64 to 1073741824",
            ),
            (l.poll_interval_ms >= 10, "limits.poll_interval_ms", "must be at least 10"),
            (l.checkpoint_interval_ms >= 10, "limits.checkpoint_interval_ms", "must be at least 10"),
            (l.max_files.is_none_or(|n| n >= 1), "limits.max_files", "must be at least 1"),
            (l.max_open_files.is_none_or(|n| n >= 4), "limits.max_open_files", "must be at least 4"),
            (l.close_idle_secs >= 1, "limits.close_idle_secs", "must be at least 1"),
            (l.read_budget_bytes >= 4096, "limits.read_budget_bytes", "must be at least 4096"),
            (
                l.retention_minutes >= 2 && l.retention_minutes <= 7 * 24 * 60,
                "limits.retention_minutes",
                "must be 2 to 10080",
            ),
            (l.max_sources >= 1 && l.max_sources <= 10_000, "limits.max_sources", "must be 1 to 10000"),
            (l.max_functions >= 1 && l.max_functions <= 10_000, "limits.max_functions", "must be 1 to 10000"),
            (l.future_tolerance_secs <= 86_400, "limits.future_tolerance_secs", "must be 0 to 86400"),
            (
                l.invocation_window_secs >= 900 && l.invocation_window_secs <= 7 * 86_400,
                "limits.invocation_window_secs",
                "must be 900 (SCF's longest run) to 604800",
            ),
            (
                l.max_invocations >= 1000 && l.max_invocations <= 10_000_000,
                "limits.max_invocations",
                "must be 1000 to 10000000",
            ),
            (
                l.max_seen_records >= 1000 && l.max_seen_records <= 10_000_000,
                "limits.max_seen_records",
                "must be 1000 to 10000000",
            ),
            (h.max_connections >= 1 && h.max_connections <= 65_536, "http.max_connections", "must be 1 to 65536"),
            (h.header_read_timeout_ms >= 10, "http.header_read_timeout_ms", "must be at least 10"),
            (
                h.max_connection_age_ms >= h.header_read_timeout_ms,
                "http.max_connection_age_ms",
                "must be at least header_read_timeout_ms",
            ),
            (
                h.max_header_bytes >= 8192 && h.max_header_bytes <= 1 << 20,
                "http.max_header_bytes",
                "must be 8192 to 1048576",
            ),
        ];
        for (ok, key, why) in limit_checks {
            if !ok {
                let leaf = key.split_once('.').map_or(key, |(_, leaf)| leaf);
                let offset = text.find(leaf).unwrap_or(0);
                return Err(at(offset..offset, key, why.to_string()));
            }
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
            let batches = crate::batch_options::Mode::Batches == s.mode;
            // Batches are compressed on purpose: only a followed source skips compressed rotations.
            let mut exclude: Vec<String> =
                if batches { Vec::new() } else { DEFAULT_EXCLUDE.iter().map(|e| e.to_string()).collect() };
            let (settle, interval) =
                (s.settle_secs.unwrap_or(crate::batch_options::DEFAULT_SETTLE_SECS), s.interval_secs);
            let interval = interval.unwrap_or(crate::batch_options::DEFAULT_INTERVAL_SECS);
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
            "mode",
            "settle_secs",
            "interval_secs",
            "[sources.csv]",
            "delimiter",
            "columns",
            "escape",
            "fill",
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
    fn sources_of_batches_and_csv_dialects_load_or_name_their_key() {
        let c = Config::from_toml(
            "c.toml",
            "[[sources]]\nname = \"b\"\nmode = \"batches\"\npaths = [\"/d\"]\ninterval_secs = 600\n\
             [sources.csv]\ndelimiter = \"|\"\nheader = false\ncolumns = [\"SCF_Message\"]\nescape = \"\"\nfill = \"null\"\n",
            None,
        )
        .unwrap();
        let s = &c.sources[0];
        assert_eq!(s.batches, Some(crate::batch_options::BatchOptions { settle_secs: 5, interval_secs: 600 }));
        assert!(s.exclude.is_empty(), "batches are compressed on purpose: *.gz is not excluded");
        let d = s.csv.as_ref().unwrap();
        assert_eq!((d.delimiter, d.header, d.quote, d.fill.as_deref()), (b'|', false, None, Some("null")));
        let e = err("[[sources]]\nname = \"b\"\npaths = [\"/d\"]\nsettle_secs = 3\n");
        assert!(e.contains("sources[0].mode") && e.contains("need mode = \"batches\""), "{e}");
        let e = err("[[sources]]\nname = \"b\"\nmode = \"batches\"\npaths = [\"/d\"]\ninterval_secs = 10\n");
        assert!(e.contains("sources[0].interval_secs: must be 60 to 86400"), "{e}");
        let e = err("[[sources]]\nname = \"b\"\npaths = [\"/d\"]\n[sources.csv]\nheader = false\n");
        assert!(e.starts_with("c.toml:4:") && e.contains("sources[0].csv") && e.contains("columns"), "{e}");
        let e = err("[[sources]]\nname = \"b\"\npaths = [\"/d\"]\n[sources.csv]\ndelimiter = \"#\"\n");
        assert!(e.contains("sources[0].csv") && e.contains("delimiter \"#\""), "{e}");
        let e = err("[[sources]]\nname = \"b\"\nmode = \"tail\"\npaths = [\"/d\"]\n");
        assert!(e.contains("mode") && e.contains("tail"), "{e}");
    }

    #[test]
    fn max_files_still_loads_as_the_open_files_bound() {
        let limits = |text: &str| Config::from_toml("c.toml", text, None).unwrap().limits;
        assert_eq!(limits("").open_files_bound(), DEFAULT_MAX_OPEN_FILES);
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
