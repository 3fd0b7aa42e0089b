//! What is kept per followed file (`Tracked`), per file let go or truncated away (`Retired`), and per
//! source (`SourceRt`, its health handed out by `Tailer::take_health`); what a file that appears turns
//! out to be (`Identity`) and a copy's state (`CopyState`). Data and the small rules that go with it;
//! the decisions are in `identify.rs`, `copies.rs` and `copy_rule.rs`.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::inputs::{self, NoFile};
use crate::source::Source;

use super::identity::{Fingerprint, Handle, Stamp, reopen};

/// Files let go are remembered this long (and at most `RETIRED_MAX`) for copies and returns.
pub(super) const RETIRED_SECS: u64 = 24 * 3600;
pub(super) const RETIRED_MAX: usize = 1024;

/// Remembers that a file was at `path` (at most the last 8 names).
pub(super) fn add_former(former: &mut Vec<PathBuf>, path: &Path) {
    if !former.iter().any(|p| p == path) {
        former.push(path.to_path_buf());
        if former.len() > 8 {
            former.remove(0);
        }
    }
}

/// What a file that appeared is: new, a copy of one already read, or not known until more bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Identity {
    New,
    /// Empty, or its first bytes match more than one original, or too few of them to tell.
    Wait,
    Copy {
        /// The followed original, while it still holds the copied bytes; None: only a record of them.
        origin: Option<u64>,
        offset: u64,
        skipping: bool,
        /// Bytes already compared equal.
        verified: u64,
        /// The content it copies (see `CopyState::content`).
        content: u64,
    },
}

/// A file taken for a copy: its bytes `[0, offset)` were counted in the original, whether or not
/// they have arrived yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CopyState {
    /// While the original is followed and still holds the copied bytes, the copy reads nothing: its
    /// offset follows the original's. Once the original is truncated or let go, the copy reads on from
    /// the offset the original had reached.
    pub(super) origin: Option<Origin>,
    /// Bytes compared equal with the original so far.
    pub(super) verified: u64,
    /// The content it is a copy of (the original's content id; 0: not known, from a checkpoint).
    /// Copies of one content are read as one: bytes one of them counted are not counted from another.
    pub(super) content: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// A followed file, by its content id.
    Id(u64),
    /// From the checkpoint: resolved to a followed file with this identity and first bytes.
    Inode { dev: u64, ino: u64, fp: Fingerprint },
}

/// What the follower did for one source since the last `take_health` (counters), and now (gauges).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SourceHealth {
    pub lines: u64,
    pub bytes: u64,
    pub lines_truncated: u64,
    pub rotations: u64,
    pub truncations: u64,
    pub read_errors: u64,
    pub files: i64,
    /// Of `files`, those holding an open descriptor.
    pub files_open: i64,
    pub lag_bytes: i64,
    /// When the newest line was read, Unix ms.
    pub last_line_ms: Option<u64>,
    /// Files whose first block held a NUL (`lines::looks_binary`), read as text anyway.
    pub binary_files: u64,
    /// The source's PATHs that matched no file at the last discovery, and why.
    pub unmatched: Vec<(String, NoFile)>,
}

pub(super) struct SourceRt {
    pub(super) config: Source,
    pub(super) excludes: Vec<glob::Pattern>,
    pub(super) health: SourceHealth,
    pub(super) unmatched: Vec<(String, NoFile)>,
}

impl SourceRt {
    pub(super) fn new(config: Source) -> SourceRt {
        SourceRt {
            excludes: inputs::compile_excludes(&config.exclude),
            health: SourceHealth::default(),
            unmatched: Vec::new(),
            config,
        }
    }

    pub(super) fn excluded(&self, path: &Path) -> bool {
        inputs::excluded_by(&self.excludes, path)
    }
}

/// A file being followed.
pub(super) struct Tracked {
    pub(super) source: usize,
    pub(super) path: PathBuf,
    /// None while it is closed (quiet, or over the bound on open files): it is still followed, looked
    /// at by stat on every rescan, and opened again (identity checked) when it changes.
    pub(super) file: Option<File>,
    /// What the last read (or, while closed, the last rescan) saw of it.
    pub(super) seen: Stamp,
    /// Closed, and something to read: it changed since, or was closed with its budget used up.
    pub(super) dirty: bool,
    /// A rescan saw it change since it was last read: its first bytes may differ from its key's.
    pub(super) changed: bool,
    /// Opened again and its first bytes are not its fingerprint's: rewritten while it was closed.
    pub(super) rewritten_closed: bool,
    /// The size it was last read to its end at.
    pub(super) read_to: u64,
    /// Its birth time (see `birth`): part of its identity while it is closed.
    pub(super) born: Option<i128>,
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) fp: Fingerprint,
    pub(super) offset: u64,
    pub(super) skipping: bool,
    /// Not known yet whether it is a new log or a copy being written (copytruncate): found empty, or its
    /// first bytes are too few or match more than one original. Nothing is read from it meanwhile.
    pub(super) undecided: bool,
    /// While undecided: its size when last looked at, and since when (clock ms) it has not grown.
    pub(super) undecided_seen: (u64, u64),
    /// Names this content; a truncation gives the file a new one (copies follow contents, not inodes).
    pub(super) id: u64,
    /// When it was found, in order: a file can only be a copy of one found before it.
    pub(super) found: u64,
    /// The names it had before it was renamed: a file that appears at one of them is new, never a copy
    /// of it, whatever its first bytes (create-mode rotation).
    pub(super) former: Vec<PathBuf>,
    /// Taken for a copy of another file.
    pub(super) copy: Option<CopyState>,
    /// When its path stopped naming it (rotated away or deleted), clock ms: it is still read until quiet.
    pub(super) orphaned: Option<u64>,
    /// When a read last found new bytes, clock ms.
    pub(super) last_data: u64,
    /// The consumer's stream for this file's bytes.
    pub(super) stream: u64,
}

impl Tracked {
    /// Its descriptor, or its path opened for a moment (identity checked); None when the path no
    /// longer names it.
    pub(super) fn handle(&self) -> Option<Handle<'_>> {
        match &self.file {
            Some(f) => Some(Handle::Held(f)),
            None => reopen(&self.path, self.identity()).ok().flatten().map(Handle::Lent),
        }
    }

    /// The content it holds (see `CopyState::content`): a copy's, or its own id (also for a copy
    /// resumed from a checkpoint that has not learnt its content yet).
    pub(super) fn content(&self) -> u64 {
        match self.copy {
            Some(c) if c.content != 0 => c.content,
            _ => self.id,
        }
    }

    pub(super) fn identity(&self) -> (u64, u64, Option<i128>) {
        (self.dev, self.ino, self.born)
    }

    /// Its size: by fstat while open, as the last rescan saw it while closed.
    pub(super) fn size(&self) -> u64 {
        match &self.file {
            Some(f) => f.metadata().map_or(self.seen.size, |m| m.len()),
            None => self.seen.size,
        }
    }

    /// Whether a poll reads it: open files always (a read starts with fstat), closed ones when they
    /// changed, or are undecided with bytes to decide on.
    pub(super) fn wants_read(&self) -> bool {
        self.file.is_some() || self.dirty || (self.undecided && self.seen.size > 0)
    }

    pub(super) fn as_retired(&self, source: String, now_secs: u64) -> Retired {
        // An undecided file has counted nothing: remembered without a fingerprint, it is identified
        // again when found again.
        let undecided = self.undecided;
        Retired {
            source,
            path: self.path.clone(),
            dev: self.dev,
            ino: self.ino,
            fp: if undecided { Fingerprint::NONE } else { self.fp },
            offset: if undecided { 0 } else { self.offset },
            skipping: self.skipping && !undecided,
            at: now_secs,
            copy: self.copy.is_some(),
            copy_of: None,
            content: self.id,
            copy_content: self.copy.map_or(0, |c| c.content),
            former: self.former.clone(),
        }
    }
}

/// Where a file seen for the first time starts, and what it is.
pub(super) struct Start {
    pub(super) offset: u64,
    pub(super) skipping: bool,
    pub(super) undecided: bool,
    pub(super) former: Vec<PathBuf>,
    pub(super) copy: Option<CopyState>,
    /// Its content id from the checkpoint, when resumed.
    pub(super) id: Option<u64>,
}

/// A file let go (or known from the checkpoint and not found yet).
#[derive(Debug, Clone)]
pub(super) struct Retired {
    pub(super) source: String,
    pub(super) path: PathBuf,
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) fp: Fingerprint,
    pub(super) offset: u64,
    pub(super) skipping: bool,
    pub(super) at: u64,
    /// A copy whose offset may be beyond its size.
    pub(super) copy: bool,
    /// The original such a copy followed (dev, ino, first bytes).
    pub(super) copy_of: Option<(u64, u64, Fingerprint)>,
    /// The content id it had while followed (0: not known); see `CopyState::content`.
    pub(super) content: u64,
    /// For a copy, the content it copies (`CopyState::content`).
    pub(super) copy_content: u64,
    pub(super) former: Vec<PathBuf>,
}

impl Retired {
    /// A record of content that was truncated away (copytruncate): no inode to resume, only the
    /// fingerprint and offset a copy of that content continues from.
    pub(super) fn is_content(&self) -> bool {
        self.dev == u64::MAX && self.ino == u64::MAX
    }
}

/// Keeps a file let go for copy detection and returns, bounded by age and count.
pub(super) fn remember(retired: &mut VecDeque<Retired>, r: Retired, now_secs: u64) {
    retired.push_back(r);
    let oldest = now_secs.saturating_sub(RETIRED_SECS);
    retired.retain(|r| r.at >= oldest);
    while retired.len() > RETIRED_MAX {
        retired.pop_front();
    }
}
