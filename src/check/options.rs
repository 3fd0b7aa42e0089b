//! `check`'s options and what is decided from the command line before reading.

use std::io::Read;

use crate::patterns::Severity;

use super::targets::{Target, open, open_bytes, plan};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// For people: per pattern the count, first and last time seen, and the fix.
    #[default]
    Table,
    /// One object: lines, bytes and matches for every pattern, zeros included.
    Json,
    /// One line per classified line: PATH:LINE:ID, like grep -n.
    Matches,
    /// The Prometheus exposition text the daemon serves.
    Prometheus,
    /// The load test at its own time: per-minute counter samples with timestamps, for
    /// `promtool tsdb create-blocks-from openmetrics` (`crate::openmetrics`).
    Openmetrics,
}

pub struct CheckOptions {
    pub output: Output,
    pub fail_on: Option<Severity>,
    pub max_line_bytes: usize,
    /// The `source` label value in `--output prometheus`.
    pub source: String,
    /// Also report the per-minute history of this pattern against login attempts (`--timeline`).
    pub timeline: Option<String>,
    /// Invocations of this function are login attempts.
    pub login_function: String,
    /// How lines are read (detected per stream, or forced).
    pub format: crate::record::FormatChoice,
    /// Whether login attempts are counted (the classifier was built with signals): the load figures
    /// (`--timeline`, `--output prometheus`, `--report`) need them; counting errors alone does not read
    /// START lines.
    pub count_attempts: bool,
    /// `--report FILE.html`: also write the load-test report there (`crate::report`).
    pub report: Option<std::path::PathBuf>,
    /// The rules the report evaluates (the guide's defaults unless a config gives `[[alerts]]`).
    pub alert_rules: Vec<crate::alerts::RuleConfig>,
    /// The quota line of the report's chart, calls per minute.
    pub quota_per_minute: u64,
    /// `--fn-version`: the version of calls whose records name none.
    pub fn_version: Option<String>,
    /// `--version-from-path`: each input's version from its path.
    pub version_from_path: Option<crate::versions::PathVersion>,
    /// `--function`: the function of calls whose records name none, as a source's `function`.
    pub function: Option<String>,
    /// Directories are walked at every depth (`--recursive`: a tree of batches).
    pub recursive: bool,
    /// Bytes already taken from standard input (`sniff`), read first when it is read.
    pub stdin_head: Vec<u8>,
    /// How CSV inputs are written, from a config source's `[sources.csv]`.
    pub csv: Option<crate::formats::cls_csv::CsvDialect>,
}

/// Bytes of each input looked at for `SCF_Qualifier` (`sniff`), and inputs at most.
pub(super) const SNIFF_BYTES: u64 = 64 * 1024;
pub(super) const SNIFF_INPUTS: usize = 32;

/// What the inputs' first blocks say before any is read.
pub struct Sniffed {
    /// `SCF_Qualifier` stands in the first block (decompressed) of one of the first inputs.
    pub names_versions: bool,
    /// The bytes taken from standard input to look at it: read first when it is read
    /// (`CheckOptions::stdin_head`), so standard input counts as the same bytes in a file do.
    pub stdin_head: Vec<u8>,
}

/// Looks at the first block of each of the first inputs, standard input too (its first bytes are
/// kept to be read again); not at other pipes, which cannot be read twice (`--by-version` asks).
pub fn sniff(paths: &[String], recursive: bool) -> Sniffed {
    let mut sniffed = Sniffed { names_versions: false, stdin_head: Vec::new() };
    let mut stdin_seen = false;
    let planned = plan(paths, recursive);
    for (_, _, target) in planned.iter().filter(|(_, _, t)| !matches!(t, Target::Nothing(_))).take(SNIFF_INPUTS) {
        let opened = match target {
            // Only a regular file can be read twice: a named pipe or `<(zcat …)` (a /dev/fd pipe) would
            // lose what was looked at (a user trial: 2,097 of 2,930 lines counted).
            Target::File(path) if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) => continue,
            Target::File(_) => open(target, &mut Vec::new()),
            Target::Stdin if !stdin_seen => {
                stdin_seen = true;
                // What was read before an error is kept all the same: it is given back to the read.
                let _ = std::io::stdin().lock().take(SNIFF_BYTES).read_to_end(&mut sniffed.stdin_head);
                open_bytes(Box::new(std::io::Cursor::new(sniffed.stdin_head.clone())))
            }
            _ => continue,
        };
        if opened.is_ok_and(|(r, _)| names_versions(r)) {
            sniffed.names_versions = true;
        }
    }
    sniffed
}

/// Whether the first `SNIFF_BYTES` of `input` (what could be read of them) name `SCF_Qualifier`.
fn names_versions(input: impl Read) -> bool {
    let mut head = Vec::new();
    let _ = input.take(SNIFF_BYTES).read_to_end(&mut head);
    memchr::memmem::find(&head, b"SCF_Qualifier").is_some()
}

/// The pattern a `--timeline` key names: any key `explain` takes (id, errcode, SDK code); a code that
/// only `unlisted` counts names `unlisted`. Err: why not.
pub fn timeline_index(catalogue: &crate::patterns::Catalogue, key: &str) -> Result<(usize, Option<String>), String> {
    if let Some(p) = catalogue.find(key) {
        return match catalogue.index_of(&p.id) {
            Some(i) => Ok((i, None)),
            None => {
                Err(format!("{} counts login attempts, not errors: every timeline shows them beside its pattern", p.id))
            }
        };
    }
    if crate::patterns::unlisted_code(key).is_some() {
        if let Some(i) = catalogue.patterns().iter().position(|p| p.fallback) {
            let id = &catalogue.get(i).id;
            return Ok((
                i,
                Some(format!(
                    "{key} is not one of the ten: the timeline shows `{id}`, which counts it with every other error none of the ten matches"
                )),
            ));
        }
    }
    Err("no pattern answers to it; give an id, an errcode or an SDK code (authwatch patterns list, authwatch explain KEY)".into())
}
