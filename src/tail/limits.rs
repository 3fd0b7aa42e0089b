//! The follower's bounds and intervals (`[limits]` keys it owns; `config` composes them). Every field
//! has a named default; `problems` says which values it cannot work with.

use crate::lines::DEFAULT_MAX_LINE_BYTES;

/// Open descriptors for followed files when neither `max_open_files` nor `max_files` is set.
pub const DEFAULT_MAX_OPEN_FILES: u64 = 1024;
/// Like Filebeat's `close_inactive` (5 minutes).
pub const DEFAULT_CLOSE_IDLE_SECS: u64 = 300;
pub const DEFAULT_READ_BUDGET_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Lines longer than this are cut to it and counted (the splitter's bound, `lines`).
    pub max_line_bytes: u64,
    /// The safety-net poll: how often every file is looked at even if inotify said nothing.
    pub poll_interval_ms: u64,
    /// How often read offsets are written to the state directory (and at shutdown).
    pub checkpoint_interval_ms: u64,
    /// Deprecated (it capped the files followed): read as `max_open_files` when that is not set.
    pub max_files: Option<u64>,
    /// Followed files holding an open descriptor at most (default 1,024); quiet files are closed and
    /// reopened when they grow, so every matching file is read however many there are.
    pub max_open_files: Option<u64>,
    /// A followed file that has not grown for this long gives its descriptor back (it stays followed).
    pub close_idle_secs: u64,
    /// Bytes read from one file before the next file's turn (one round); a poll reads in rounds, so a
    /// file growing at full speed does not hold up a line appended to another.
    pub read_budget_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES as u64,
            poll_interval_ms: 1000,
            checkpoint_interval_ms: 5000,
            max_files: None,
            max_open_files: None,
            close_idle_secs: DEFAULT_CLOSE_IDLE_SECS,
            read_budget_bytes: DEFAULT_READ_BUDGET_BYTES,
        }
    }
}

impl Limits {
    /// The bound on open descriptors for followed files: `max_open_files`, else the deprecated
    /// `max_files`, else 1,024.
    pub fn open_files_bound(&self) -> u64 {
        // An old config's small max_files still loads; the follower needs a few descriptors to work.
        self.max_open_files.or(self.max_files).unwrap_or(DEFAULT_MAX_OPEN_FILES).max(4)
    }

    /// The keys whose values the follower cannot work with, and why.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let checks = [
            (self.max_line_bytes >= 64 && self.max_line_bytes <= 1 << 30, "max_line_bytes", "must be 64 to 1073741824"),
            (self.poll_interval_ms >= 10, "poll_interval_ms", "must be at least 10"),
            (self.checkpoint_interval_ms >= 10, "checkpoint_interval_ms", "must be at least 10"),
            (self.max_files.is_none_or(|n| n >= 1), "max_files", "must be at least 1"),
            (self.max_open_files.is_none_or(|n| n >= 4), "max_open_files", "must be at least 4"),
            (self.close_idle_secs >= 1, "close_idle_secs", "must be at least 1"),
            (self.read_budget_bytes >= 4096, "read_budget_bytes", "must be at least 4096"),
        ];
        checks.into_iter().filter(|(ok, _, _)| !ok).map(|(_, k, why)| (k, why)).collect()
    }
}
