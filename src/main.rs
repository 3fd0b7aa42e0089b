//! The `authwatch` command line.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

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
        /// How authwatch's own log lines (on standard error) are written.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        /// The login Cloud Function, whose START lines are login attempts [default: the config's
        /// login_function, else getLoginTicket].
        #[arg(long, value_name = "NAME")]
        login_function: Option<String>,
        /// Prometheus exporter-toolkit web config (YAML: tls_server_config, basic_auth_users); re-read on change.
        #[arg(long = "web.config.file", value_name = "FILE")]
        web_config: Option<PathBuf>,
        #[command(flatten)]
        patterns: PatternArgs,
        /// Files, directories (every file directly in them) or quoted globs, as the source named
        /// "default"; a .gz file named here is read once.
        #[arg(value_name = "PATH")]
        paths: Vec<String>,
    },
    /// Check a config file (and the pattern directories it names) without starting anything.
    Validate {
        /// The TOML config file to check.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Exit 1 when a configured path, directory or glob matches no file now (it is always listed).
        #[arg(long)]
        strict: bool,
    },
    /// Write realistic logs (with a 45011 burst) into a temporary directory while tailing it.
    Demo {
        /// Address for /metrics and the status page [default: 127.0.0.1:9471].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// How authwatch's own log lines (on standard error) are written.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Read log files once and report what they hold, like mtail --one_shot (exit 0 ok, 1 --fail-on
    /// matched, 2 an input not read or bad arguments).
    Check {
        /// Line format: detected per line, or forced.
        #[arg(long, value_enum, default_value_t = FormatChoice::Auto)]
        format: FormatChoice,
        /// What to print: a table per pattern, JSON, PATH:LINE:ID per match, or Prometheus exposition.
        #[arg(long, short, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Exit 1 when a match of this severity or above is found.
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// Lines longer than this are cut to it (and counted).
        #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES as u64, value_parser = clap::value_parser!(u64).range(64..=1 << 30))]
        max_line_bytes: u64,
        /// The source label in --output prometheus and --output openmetrics.
        #[arg(long, default_value = "default")]
        source: String,
        /// Also print the per-minute history of a pattern against login attempts, the onset marked; any
        /// key explain takes (id, errcode like 45011, SDK code) [default: wx_45011_minute_quota].
        #[arg(long, value_name = "KEY", num_args = 0..=1, require_equals = true, default_missing_value = "wx_45011_minute_quota")]
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
        versions: authwatch::versions::flags::VersionFlags,
        #[command(flatten)]
        patterns: PatternArgs,
        /// Directories are walked at every depth (a tree of CLS batches, `prefix/%Y/%m/%d/%H/`).
        #[arg(long, short = 'r')]
        recursive: bool,
        /// Files, directories (every file directly in them) or quoted globs; gzip, lzop and snappy are
        /// decompressed (told by their first bytes); - is standard input.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
    },
    /// Symptom, root cause, fix and prevention for a pattern id, a WeChat errcode or an SDK code; for a
    /// code none of the ten answers to, what it is and that it counts as unlisted.
    Explain {
        /// e.g. wx_45011_minute_quota, 45011, SIGN_PARAM_INVALID, 40226
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
        /// Test only the patterns of DIR, not the bundled ones.
        #[arg(long)]
        no_default_patterns: bool,
        /// Also score a labelled corpus (DIR/*.jsonl: {"label","source","line"} a line): per id true
        /// positives, false positives, misses, precision and recall; exit 1 if an id is below 0.98
        /// precision or 0.95 recall.
        #[arg(long, value_name = "DIR")]
        corpus: Option<PathBuf>,
    },
    /// A header row, then one line per pattern: id, guide error, side, severity, precedence, title.
    List {
        #[command(flatten)]
        patterns: PatternArgs,
    },
    /// Print the patterns' regexes for another tool (used by bench/run.sh to build fair baselines).
    Export {
        /// The tool to write for.
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

/// `--version`: the build and the pattern set it carries.
fn version() -> String {
    let set = authwatch::patterns::builtin_set_id();
    match Catalogue::builtin() {
        Ok(c) => {
            let guide = c.patterns().iter().filter(|p| p.guide_error.is_some()).count();
            let others: Vec<&str> =
                c.patterns().iter().filter(|p| p.guide_error.is_none()).map(|p| p.id.as_str()).collect();
            let ids = c.patterns().len();
            format!(
                "{} (patterns: {set}, {ids} ids: the guide's {guide} + {})",
                env!("CARGO_PKG_VERSION"),
                others.join(" + ")
            )
        }
        Err(e) => format!("{} (patterns: {set}, not loadable: {e})", env!("CARGO_PKG_VERSION")),
    }
}

fn main() -> ExitCode {
    // Loading the catalogue to name it costs start-up time: only when the version is asked for.
    let mut command = Cli::command();
    if std::env::args_os().skip(1).any(|a| a == "--version" || a == "-V") {
        command = command.version(&*Box::leak(version().into_boxed_str()));
    }
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
        Command::Run {
            config,
            listen,
            state_dir,
            from,
            format,
            log_format,
            login_function,
            web_config,
            patterns,
            paths,
        } => {
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
                login_function,
            };
            daemon::run(opts, |_| {})?;
            Ok(0)
        }
        Command::Validate { config, strict } => {
            let c = Config::load(&config).map_err(|e| e.to_string())?;
            let setup = daemon::setup_for(&c)?;
            if let Some(web) = &c.http.web_config_file {
                authwatch::web::WebConfig::load(web).map_err(|e| e.to_string())?;
            }
            // The paths as `run` would see them now: the same expansion and exclude globs.
            let mut unmatched = Vec::new();
            for s in &c.sources {
                let excludes = authwatch::inputs::compile_excludes(&s.exclude);
                let excluded = |p: &std::path::Path| authwatch::inputs::excluded_by(&excludes, p);
                for (path, why) in authwatch::inputs::unmatched(&s.paths, &excluded) {
                    unmatched.push(format!("  source {:?}: {path}: {why}", s.name));
                }
            }
            let summary = format!(
                "{} sources, {} patterns, listen {}, state_dir {}",
                c.sources.len(),
                setup.classifier.catalogue().patterns().len(),
                c.listen,
                c.state_dir.display()
            );
            let report = if unmatched.is_empty() {
                format!("{}: ok ({summary})\n", config.display())
            } else {
                format!(
                    "{}: valid ({summary}), but {} path(s) match no file now; run warns about them and looks again on every rescan:\n{}\n",
                    config.display(),
                    unmatched.len(),
                    unmatched.join("\n")
                )
            };
            out.write_all(report.as_bytes()).and_then(|()| out.flush()).map_err(|e| e.to_string())?;
            Ok(u8::from(strict && !unmatched.is_empty()))
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
            versions,
            patterns,
            recursive,
            paths,
        } => {
            let versions = versions.checked()?;
            // START lines are read only when the load or versions are asked for: counting errors alone is
            // 4x faster. Login attempts are shown only where the load is asked for.
            let count_attempts =
                timeline.is_some() || matches!(output, Output::Prometheus | Output::Openmetrics) || report.is_some();
            let (alert_rules, quota_per_minute, like) = match &report_config {
                Some(path) => {
                    let c = authwatch::config::Config::load(path).map_err(|e| e.to_string())?;
                    // The source named by --source reads these inputs as it reads its own files.
                    let like = c.sources.iter().find(|s| s.name == source).cloned();
                    (c.alerts, c.alerting.quota_per_minute, like)
                }
                None => (authwatch::alerts::default_rules(), authwatch::chart::DEFAULT_QUOTA_PER_MINUTE, None),
            };
            let format = match &like {
                Some(s) if format == FormatChoice::Auto => s.format,
                _ => format,
            };
            let recursive = recursive || like.as_ref().is_some_and(|s| s.batches.is_some());
            let csv = like.and_then(|s| s.csv);
            // Calls per version need every call's START line: read when versions are asked for or the
            // inputs name them (SCF_Qualifier in an input's first block, standard input's too).
            let sniffed = check::sniff(&paths, recursive);
            let by_version = versions.by_version || sniffed.names_versions;
            let classifier = std::sync::Arc::new(
                Classifier::build(patterns.catalogue()?, format, count_attempts || by_version)
                    .map_err(|e| e.to_string())?,
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
                fn_version: versions.fn_version,
                version_from_path: versions.version_from_path,
                function: versions.function,
                recursive,
                csv,
                stdin_head: sniffed.stdin_head,
            };
            let code = check::run(&classifier, &paths, &opts, &mut out, &mut io::stderr());
            Ok(u8::try_from(code).unwrap_or(2))
        }
        Command::Explain { key, patterns } => {
            let catalogue = patterns.catalogue()?;
            let Some(p) = catalogue.find(&key) else {
                if let (Some(code), Some(unlisted)) =
                    (authwatch::patterns::unlisted_code(&key), catalogue.patterns().iter().find(|p| p.fallback))
                {
                    out.write_all(explain_unlisted(&code, unlisted).as_bytes())
                        .and_then(|()| out.flush())
                        .map_err(|e| e.to_string())?;
                    return Ok(0);
                }
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
            writeln!(out, "{:<26} {:>5}  {:<14} {:<8} {:>10}  TITLE", "ID", "GUIDE", "SIDE", "SEVERITY", "PRECEDENCE")?;
            for p in catalogue.patterns() {
                let guide = p.guide_error.map_or_else(|| "-".to_string(), |n| n.to_string());
                let precedence = if p.fallback { "fallback".to_string() } else { p.priority.to_string() };
                writeln!(
                    out,
                    "{:<26} {guide:>5}  {:<14} {:<8} {precedence:>10}  {}",
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
                    for r in catalogue.patterns().iter().flat_map(|p| p.regex.sources()) {
                        writeln!(out, "{r}")?;
                    }
                }
                ExportTarget::Mtail => {
                    writeln!(out, "# Generated by `authwatch patterns export --as mtail`: one counter per pattern.")?;
                    for p in catalogue.patterns() {
                        // RE2 has no `u` flag; its `\b` is the ASCII boundary ours are.
                        let re2 = |r: &str| r.replace("(?-u:\\b)", "\\b").replace("(?-u:\\B)", "\\B");
                        let union: Vec<String> = p.regex.sources().iter().map(|r| format!("(?:{})", re2(r))).collect();
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

/// `explain CODE` for a code none of the ten answers to but `unlisted` counts.
fn explain_unlisted(code: &authwatch::patterns::UnlistedCode, unlisted: &authwatch::patterns::Pattern) -> String {
    let what = code.what.map_or_else(
        || format!("authwatch does not know this {}; the documentation of the API or SDK that returned it says what it means.", code.kind),
        str::to_string,
    );
    format!(
        "{code} — not one of the guide's ten errors: counted as `{id}`\n({kind}; severity of {id}: {sev})\n\n{what}\n\n\
         authwatch counts a failed call that carries it under `{id}` (authwatch_errors_total{{pattern=\"{id}\"}}, the `{id}` row of check), \
         not under one of the ten.\n\nWhere to look: {fix}\n\nSee also: authwatch explain {id}\n",
        code = code.code,
        id = unlisted.id,
        kind = code.kind,
        sev = unlisted.severity,
        fix = unlisted.fix,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every flag and argument of every subcommand says what it is for in --help.
    #[test]
    fn every_argument_of_every_subcommand_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>, seen: &mut usize) {
            for arg in cmd.get_arguments() {
                *seen += 1;
                let has = arg.get_help().is_some_and(|h| !h.to_string().trim().is_empty())
                    || arg.get_long_help().is_some_and(|h| !h.to_string().trim().is_empty());
                if !has {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing, seen);
            }
        }
        let mut cmd = Cli::command();
        // Built-in --help and --version get their help text when the command is built.
        cmd.build();
        let (mut missing, mut seen) = (Vec::new(), 0);
        walk(&cmd, "authwatch", &mut missing, &mut seen);
        assert!(seen > 40, "only {seen} arguments walked");
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }

    #[test]
    fn the_version_names_the_pattern_set() {
        let v = version();
        assert!(v.starts_with(env!("CARGO_PKG_VERSION")), "{v}");
        assert!(v.contains("(patterns: bundled-") && v.contains("11 ids: the guide's 10 + unlisted)"), "{v}");
    }
}
