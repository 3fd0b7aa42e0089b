//! A source: one named group of files read the same way (its name is the `source` label). Shared by
//! the stages that read files (the follower, the one-shot reader, the record parser, the Event stage):
//! a leaf module, so that none of them needs the whole configuration (`config.rs` composes it).

use serde::Deserialize;

use crate::record::FormatChoice;

/// The source name for paths given on the command line.
pub const DEFAULT_SOURCE: &str = "default";

/// Where a source starts reading a file it has no checkpoint for, at start-up. Files that appear
/// later are always read from their beginning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StartAt {
    #[default]
    Beginning,
    End,
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
    /// The function version these files' calls ran under, for records that do not name theirs.
    pub version: Option<String>,
    /// A regex with a named group `version`, matched against each file's path: that file's version.
    pub version_from_path: Option<String>,
    /// Some: a source of batches (`mode = "batches"`), each file read once when complete.
    pub batches: Option<crate::batch_options::BatchOptions>,
    /// How its CSV is written (`[sources.csv]`); None: detected (the console download).
    pub csv: Option<crate::formats::cls_csv::CsvDialect>,
}

/// Compressed rotations are never tailed: their bytes are not log lines.
pub const DEFAULT_EXCLUDE: [&str; 5] = ["*.gz", "*.bz2", "*.xz", "*.zst", "*.zip"];

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
