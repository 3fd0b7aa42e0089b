//! The `authwatch` command line.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use std::net::SocketAddr;

use authwatch::check::{self, CheckOptions, Output};
use authwatch::classify::Classifier;
use authwatch::config::{Config, StartAt};
use authwatch::daemon::{self, RunOptions};
use authwatch::lines::DEFAULT_MAX_LINE_BYTES;
use authwatch::pattern_tests;
use authwatch::patterns::{Catalogue, Severity};
use authwatch::record::FormatChoice;

#[derive(Parser)]
#[command(
    name = "authwatch",
    version,
    about = "Recognise and count the ten CloudBase Custom Login errors in WeChat Mini Program logs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct PatternArgs {
    /// A directory of pattern files (*.toml) that replace bundled patterns by id or add new ones; repeatable.
    #[arg(long = "patterns", value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Use only the patterns of --patterns directories, not the bundled ten.
    #[arg(long)]
    no_default_patterns: bool,
}

impl PatternArgs {
    fn catalogue(&self) -> Result<Catalogue, String> {
        Catalogue::load(&self.dirs, !self.no_default_patterns).map_err(|e| e.to_string())
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Info,
    Warning,
    Critical,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Follow log files and serve Prometheus metrics until SIGTERM or SIGINT (SIGHUP reloads).
    Run {
        /// A TOML config file (see deploy/authwatch.example.toml); flags and PATHs override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address for /metrics, /healthz, /readyz [default: 127.0.0.1:9471].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Where read offsets are checkpointed.
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// For files without a checkpoint at start-up: read from their beginning or only new lines.
        #[arg(long, value_enum)]
        from: Option<StartAt>,
        /// Line format of PATHs given here.
        #[arg(long, value_enum, default_value_t = FormatChoice::Auto)]
        format: FormatChoice,
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        /// Prometheus exporter-toolkit web config (YAML: tls_server_config, basic_auth_users); re-read on change.
        #[arg(long = "web.config.file", value_name = "FILE")]
        web_config: Option<PathBuf>,
        #[command(flatten)]
        patterns: PatternArgs,
        /// Files, directories or globs (quote globs), as the source named "default".
        #[arg(value_name = "PATH")]
        paths: Vec<String>,
    },
    /// Check a config file (and the pattern directories it names) without starting anything.
    Validate {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Write realistic logs (with a 45011 burst) into a temporary directory while tailing it.
    Demo {
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Read log files (or - for stdin, .gz allowed) once and report what they hold, like mtail --one_shot.
    Check {
        /// Line format: detected per line, or forced.
        #[arg(long, value_enum, default_value_t = FormatChoice::Auto)]
        format: FormatChoice,
        #[arg(long, short, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Exit 1 when a match of this severity or above is found.
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// Lines longer than this are cut to it (and counted).
        #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES as u64, value_parser = clap::value_parser!(u64).range(64..=1 << 30))]
        max_line_bytes: u64,
        /// The source label in --output prometheus.
        #[arg(long, default_value = "default")]
        source: String,
        /// Also print the per-minute history of a pattern against login attempts, the onset marked.
        #[arg(long, value_name = "PATTERN", num_args = 0..=1, require_equals = true, default_missing_value = "wx_45011_minute_quota")]
        timeline: Option<String>,
        /// The login Cloud Function, whose START lines are login attempts (for --timeline).
        #[arg(long, default_value = authwatch::config::DEFAULT_LOGIN_FUNCTION)]
        login_function: String,
        /// Also write a self-contained HTML load-test report (chart, onset, peak, ids with fixes, alerts).
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// A config file whose [[alerts]] rules and [alerting] quota_per_minute the report uses.
        #[arg(long = "config", value_name = "FILE")]
        report_config: Option<PathBuf>,
        #[command(flatten)]
        patterns: PatternArgs,
        /// Files to read; - is standard input.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
    },
    /// Symptom, root cause, fix and prevention for a pattern id, a WeChat errcode or an SDK code.
    Explain {
        /// e.g. wx_45011_minute_quota, 45011, SIGN_PARAM_INVALID
        key: String,
        #[command(flatten)]
        patterns: PatternArgs,
    },
    /// Read a password on standard input and print its bcrypt hash, for basic_auth_users in a web config.
    HashPassword {
        /// bcrypt cost (4 to 31); every step doubles the work of each check.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(4..=31))]
        cost: u32,
    },
    /// Work with the pattern catalogue.
    Patterns {
        #[command(subcommand)]
        command: PatternsCommand,
    },
}

#[derive(Subcommand)]
enum PatternsCommand {
    /// Run every pattern file's examples and near-misses; exit 1 on a failure.
    Test {
        /// A directory of pattern files to test together with the bundled ones (as --patterns DIR would).
        dir: Option<PathBuf>,
        #[arg(long)]
        no_default_patterns: bool,
        /// Also score a labelled corpus (DIR/*.jsonl: {"label","source","line"} a line): per id true
        /// positives, false positives, misses, precision and recall; exit 1 if an id is below 0.98
        /// precision or 0.95 recall.
        #[arg(long, value_name = "DIR")]
        corpus: Option<PathBuf>,
    },
    /// One line per pattern: id, guide error, side, severity, precedence, title.
    List {
        #[command(flatten)]
        patterns: PatternArgs,
    },
    /// Print the patterns' regexes for another tool (used by bench/run.sh to build fair baselines).
    Export {
        #[arg(long = "as", value_enum)]
        target: ExportTarget,
        #[command(flatten)]
        patterns: PatternArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportTarget {
    /// An mtail program: one counter per pattern, incremented when the union of its regexes matches.
    Mtail,
    /// One regex per line, for rg -f / grep -E -f.
    Rg,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("authwatch: {message}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn execute(command: Command) -> Result<u8, String> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match command {
        Command::Run { config, listen, state_dir, from, format, log_format, web_config, patterns, paths } => {
            init_logging(log_format);
            let opts = RunOptions {
                config,
                listen,
                state_dir,
                from,
                format,
                pattern_dirs: patterns.dirs,
                no_default_patterns: patterns.no_default_patterns,
                paths,
                web_config,
            };
            daemon::run(opts, |_| {})?;
            Ok(0)
        }
        Command::Validate { config } => {
            let c = Config::load(&config).map_err(|e| e.to_string())?;
            let setup = daemon::setup_for(&c)?;
            if let Some(web) = &c.http.web_config_file {
                authwatch::web::WebConfig::load(web).map_err(|e| e.to_string())?;
            }
            writeln!(
                out,
                "{}: ok ({} sources, {} patterns, listen {}, state_dir {})",
                config.display(),
                c.sources.len(),
                setup.classifier.catalogue().patterns().len(),
                c.listen,
                c.state_dir.display()
            )
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
            Ok(0)
        }
        Command::Demo { listen, log_format } => {
            init_logging(log_format);
            authwatch::demo::run(listen)?;
            Ok(0)
        }
        Command::Check {
            format,
            output,
            fail_on,
            max_line_bytes,
            source,
            timeline,
            login_function,
            report,
            report_config,
            patterns,
            paths,
        } => {
            // START lines are read only when the load is asked for: counting errors alone is 4x faster.
            let count_attempts = timeline.is_some() || output == Output::Prometheus || report.is_some();
            let (alert_rules, quota_per_minute) = match &report_config {
                Some(path) => {
                    let c = authwatch::config::Config::load(path).map_err(|e| e.to_string())?;
                    (c.alerts, c.alerting.quota_per_minute)
                }
                None => (authwatch::alerts::default_rules(), authwatch::chart::DEFAULT_QUOTA_PER_MINUTE),
            };
            let classifier = std::sync::Arc::new(
                Classifier::build(patterns.catalogue()?, format, count_attempts).map_err(|e| e.to_string())?,
            );
            let opts = CheckOptions {
                output,
                fail_on: fail_on.map(|f| match f {
                    FailOn::Info => Severity::Info,
                    FailOn::Warning => Severity::Warning,
                    FailOn::Critical => Severity::Critical,
                }),
                max_line_bytes: usize::try_from(max_line_bytes).map_err(|e| e.to_string())?,
                source,
                timeline,
                login_function,
                format,
                count_attempts,
                report,
                alert_rules,
                quota_per_minute,
            };
            let code = check::run(&classifier, &paths, &opts, &mut out, &mut io::stderr());
            Ok(u8::try_from(code).unwrap_or(2))
        }
        Command::Explain { key, patterns } => {
            let catalogue = patterns.catalogue()?;
            let Some(p) = catalogue.find(&key) else {
                let ids: Vec<&str> = catalogue.patterns().iter().map(|p| p.id.as_str()).collect();
                return Err(format!(
                    "no pattern answers to {key:?}; try an id ({}), an errcode or an SDK code",
                    ids.join(", ")
                ));
            };
            let guide = p.guide_error.map_or_else(|| "not in the guide".to_string(), |n| format!("guide error {n}"));
            let text = format!(
                "{id} — {title}\n({guide}; shows up in: {side}; severity: {sev})\n\n{summary}\n\nSymptom:     {symptom}\nRoot cause:  {cause}\nFix:         {fix}\nPrevention:  {prev}\n\nAlso answers to: {keys}\n",
                id = p.id,
                title = p.title,
                side = p.side.as_str(),
                sev = p.severity,
                summary = p.summary,
                symptom = p.symptom,
                cause = p.root_cause,
                fix = p.fix,
                prev = p.prevention,
                keys = p.keys.join(", "),
            );
            out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| e.to_string())?;
            Ok(0)
        }
        Command::HashPassword { cost } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).map_err(|e| format!("cannot read the password: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err("an empty password: give one on standard input".into());
            }
            let hash = bcrypt::hash(password, cost).map_err(|e| e.to_string())?;
            writeln!(out, "{hash}").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
            Ok(0)
        }
        Command::Patterns { command } => patterns_command(command, &mut out).map_err(|e| e.to_string()),
    }
}

fn patterns_command(command: PatternsCommand, out: &mut dyn Write) -> Result<u8, Box<dyn std::error::Error>> {
    match command {
        PatternsCommand::Test { dir, no_default_patterns, corpus } => {
            let dirs: Vec<PathBuf> = dir.into_iter().collect();
            let classifier = Classifier::new(Catalogue::load(&dirs, !no_default_patterns)?, FormatChoice::Auto)?;
            let report = pattern_tests::run(&classifier);
            for (id, origin, examples, near) in &report.patterns {
                let failed: Vec<_> = report.failures.iter().filter(|f| &f.pattern == id).collect();
                let verdict = if failed.is_empty() { "PASS" } else { "FAIL" };
                writeln!(out, "{verdict}  {id:<26} {examples} examples, {near} near-misses  ({origin})")?;
                for f in failed {
                    writeln!(out, "      {}: got {}: {}", f.case, f.got, f.line)?;
                }
            }
            writeln!(out, "{} passed, {} failed", report.passed, report.failures.len())?;
            let mut failed = !report.failures.is_empty();
            if let Some(dir) = corpus {
                let scored = pattern_tests::corpus::score(&classifier, pattern_tests::corpus::load(&dir)?)?;
                writeln!(out, "\ncorpus {}:", dir.display())?;
                write!(out, "{}", scored.table())?;
                let below = scored.failing();
                if !below.is_empty() {
                    writeln!(
                        out,
                        "below {} precision or {} recall: {}",
                        pattern_tests::corpus::MIN_PRECISION,
                        pattern_tests::corpus::MIN_RECALL,
                        below.join(", ")
                    )?;
                    failed = true;
                }
            }
            out.flush()?;
            Ok(u8::from(failed))
        }
        PatternsCommand::List { patterns } => {
            let catalogue = patterns.catalogue()?;
            for p in catalogue.patterns() {
                let guide = p.guide_error.map_or_else(|| "-".to_string(), |n| n.to_string());
                let precedence = if p.fallback { "fallback".to_string() } else { p.priority.to_string() };
                writeln!(
                    out,
                    "{:<26} {guide:>2}  {:<14} {:<8} {precedence:>8}  {}",
                    p.id,
                    p.side.as_str(),
                    p.severity,
                    p.title
                )?;
            }
            out.flush()?;
            Ok(0)
        }
        PatternsCommand::Export { target, patterns } => {
            let catalogue = patterns.catalogue()?;
            match target {
                ExportTarget::Rg => {
                    for r in catalogue.patterns().iter().flat_map(|p| &p.regex) {
                        writeln!(out, "{}", r.as_str())?;
                    }
                }
                ExportTarget::Mtail => {
                    writeln!(out, "# Generated by `authwatch patterns export --as mtail`: one counter per pattern.")?;
                    for p in catalogue.patterns() {
                        let union: Vec<String> = p.regex.iter().map(|r| format!("(?:{})", r.as_str())).collect();
                        writeln!(
                            out,
                            "counter {}\n/{}/ {{\n  {}++\n}}",
                            p.id,
                            union.join("|").replace('/', "\\/"),
                            p.id
                        )?;
                    }
                }
            }
            out.flush()?;
            Ok(0)
        }
    }
}
