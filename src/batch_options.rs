//! What configuration says of a source of batches (`crate::batches`), apart from the follower of
//! batches so `config` can compose it without importing the follower (which imports `tail`, which
//! imports `config`).

use serde::Deserialize;

pub const DEFAULT_SETTLE_SECS: u64 = 5;
pub const DEFAULT_INTERVAL_SECS: u64 = 900;

/// How a source is read: its files followed as they grow, or read once each as whole batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Follow,
    Batches,
}

/// A source of batches' own settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchOptions {
    /// A batch is complete once its size and mtime have not changed for this long.
    pub settle_secs: u64,
    /// The shipping interval: a batch holds events up to this long before it lands.
    pub interval_secs: u64,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions { settle_secs: DEFAULT_SETTLE_SECS, interval_secs: DEFAULT_INTERVAL_SECS }
    }
}

/// What the follower of batches needs of one source (`config::batch_sources` gives them): its
/// index among all sources, name, PATHs, exclude globs and options.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub index: usize,
    pub name: String,
    pub paths: Vec<String>,
    pub exclude: Vec<String>,
    pub options: BatchOptions,
}
