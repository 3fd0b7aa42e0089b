//! What the daemon runs with: the command line, the configuration file under it, and the follower's
//! and the Event stage's setup made from them (at start and on every reload).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::classify::Classifier;
use crate::config::{Config, StartAt};
use crate::event::StageConfig;
use crate::patterns::Catalogue;
use crate::pipeline::{self};
use crate::record::FormatChoice;
use crate::tail::Setup;

/// What the command line says; it overrides the config file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub config: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub state_dir: Option<PathBuf>,
    pub from: Option<StartAt>,
    pub format: FormatChoice,
    pub pattern_dirs: Vec<PathBuf>,
    pub no_default_patterns: bool,
    pub paths: Vec<String>,
    /// exporter-toolkit web config (TLS, basic auth); overrides `[http] web_config_file`.
    pub web_config: Option<PathBuf>,
    /// The login Cloud Function; overrides `login_function`.
    pub login_function: Option<String>,
}

/// What a reload hands the tailer thread: the follower's setup and the Event stage's.
pub struct Reload {
    pub setup: Setup,
    pub classifier: Arc<Classifier>,
    pub stage: StageConfig,
}

/// The configuration in effect: the file (if any) with the command line on top.
pub fn effective_config(opts: &RunOptions) -> Result<Config, String> {
    let mut config = match &opts.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    if let Some(l) = opts.listen {
        config.listen = l;
    }
    if let Some(d) = &opts.state_dir {
        config.state_dir = d.clone();
    }
    if let Some(from) = opts.from {
        for s in &mut config.sources {
            s.start_at = from;
        }
    }
    if let Some(w) = &opts.web_config {
        config.http.web_config_file = Some(w.clone());
    }
    if let Some(f) = &opts.login_function {
        config.login_function = f.clone();
    }
    if opts.paths.iter().any(|p| p == crate::inputs::STDIN) {
        return Err("`-` (standard input) is for `authwatch check`; `run` follows files: give PATH… of files, directories or globs".into());
    }
    config.pattern_dirs.extend(opts.pattern_dirs.iter().cloned());
    config.no_default_patterns |= opts.no_default_patterns;
    config.add_cli_paths(&opts.paths, opts.format, opts.from.unwrap_or_default());
    if config.sources.is_empty() {
        return Err("nothing to watch: give PATH… (files, directories, globs) or a --config with [[sources]]".into());
    }
    Ok(config)
}

pub fn setup_for(config: &Config) -> Result<Reload, String> {
    for s in config.sources.iter().filter(|s| s.batches.is_none()) {
        for p in &s.paths {
            crate::inputs::refuse_compressed(&s.name, p)?;
        }
    }
    let catalogue = Catalogue::load(&config.pattern_dirs, !config.no_default_patterns).map_err(|e| e.to_string())?;
    // Rules name patterns: check them against this catalogue now, so a bad rule is a config error.
    crate::alerts::Engine::new(&config.alerts, &catalogue).map_err(|e| format!("alerts: {e}"))?;
    let classifier = Classifier::new(catalogue, FormatChoice::Auto).map_err(|e| e.to_string())?;
    Ok(Reload {
        setup: Setup { sources: config.sources.clone(), limits: config.limits.tail.clone() },
        classifier: Arc::new(classifier),
        stage: pipeline::stage_config(config),
    })
}
