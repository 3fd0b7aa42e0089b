//! `check`'s options and what is decided from the command line before reading.

use std::io::Read;

use crate::patterns::Severity;

use super::targets::{Target, open, plan};

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
    /// How CSV inputs are written, from a config source's `[sources.csv]`.
    pub csv: Option<crate::formats::cls_csv::CsvDialect>,
}

/// Bytes of each input looked at for `SCF_Qualifier` (`names_versions`), and inputs at most.
pub(super) const SNIFF_BYTES: u64 = 64 * 1024;
pub(super) const SNIFF_INPUTS: usize = 32;

/// Whether the inputs name function versions: `SCF_Qualifier` in the first block of one of the first
/// files (decompressed). Standard input is not looked at (it would be consumed): `--by-version`.
pub fn names_versions(paths: &[String], recursive: bool) -> bool {
    plan(paths, recursive).iter().filter(|(_, _, t)| matches!(t, Target::File(_))).take(SNIFF_INPUTS).any(
        |(_, _, t)| {
            let Ok((r, _)) = open(t) else { return false };
            let mut head = Vec::new();
            r.take(SNIFF_BYTES).read_to_end(&mut head).is_ok()
                && memchr::memmem::find(&head, b"SCF_Qualifier").is_some()
        },
    )
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
