//! The tailer: follows every source's files and counts each line exactly once.
//!
//! File semantics, written down like mtail's `filestream.go`:
//! - **Identity** is device + inode, confirmed by a fingerprint (FNV-1a of the first ≤ 4 KiB; version 1
//!   checkpoints hold 256-byte ones, still honoured), so an inode reused by another file after a
//!   restart is not resumed at a stale offset.
//! - **Rotation**: the path now names another inode, or none. The file we follow is still read through
//!   the handle we hold (a logger may write to it until it reopens) until it has been quiet for two
//!   poll intervals; then its partial last line is flushed as a line and it is let go (at shutdown, at
//!   once).
//! - **Rename within the watched set** (`app.log` → `app.log.1` that the glob also matches) is the same
//!   file: followed on under its new name, never read twice.
//! - **Truncation**: size below our offset, or first bytes (checked over 256 on every read) no longer
//!   matching the fingerprint (truncated and regrown between two looks) ⇒ read again from 0.
//! - **New file or copy?** Evidence in this order: (1) device + inode (a followed file, or one from
//!   the checkpoint or let go earlier with the same first bytes, is that file); (2) renames: a file
//!   that appears at a path after the file there was renamed away or deleted is new, whatever its first
//!   bytes: it is never a copy of a file that had its name; (3) only then content: a file is a copy
//!   of a followed file of its source found before it (or of another copy of it), or of content of its
//!   source truncated away in the last `2 × poll interval + 1 s` (copytruncate). Where the original still holds its bytes they
//!   are compared byte for byte as far as both go (at least `COPY_MIN_BYTES`); where it does not, the
//!   candidate must hold all of the original's fingerprint (logrotate and cp finish a copy before they
//!   truncate, so a shorter file is not that copy). (4) In doubt (fewer than 64 matching bytes, two
//!   originals, an original truncated but not noticed yet) the file is *undecided*: nothing is read
//!   from it until it is decided, at the latest after two poll intervals without growth or when it is
//!   let go, and then as a new file: where identity is in doubt we read rather than skip. A file still
//!   undecided at its turn in a poll is looked at again after every other file has been read.
//!   (5) Every decision between files that look alike (a new file whose first ≥ 256 bytes equal one it
//!   cannot be a copy of; a copy that turned out to differ; two originals) is logged ("file starts
//!   like another") and counted (`Tailer::lookalike_decisions`).
//! - **The copy rule.** A file recognised as a copy of an original read to offset O has its bytes
//!   `[0, O)` counted already, whether or not they have arrived yet (a copy being written is shorter
//!   than O: that is not a truncation). While the original is followed and still holds the copied
//!   bytes, the copy reads nothing and its offset follows the original's (what the original has not
//!   been read to yet, its own reader counts). Once the original is truncated (copytruncate) or let go
//!   at offset O, the copy reads on from O as its bytes arrive: lines the original held but we had not
//!   read are counted from the copy, once. Several copies of one original: the longest reads on, the
//!   others follow it.
//! - **A copy that differs.** A copy is compared with its original byte for byte as its bytes arrive,
//!   while the original still holds them (up to `VERIFY_BYTES`). If its bytes differ (or it grows past
//!   an original that was not truncated), it was not a copy: it is read again from its start, as a new
//!   file; its lines that did match the original's are then counted twice rather than lost. The
//!   decision is logged and counted. Bytes that arrive after the original's are gone (truncated) cannot
//!   be compared and are trusted.
//! - **copytruncate's window**: lines written between logrotate's copy and its truncation are in
//!   neither file; no reader can count them.
//! - **Partial last lines** wait for their newline. A line longer than `max_line_bytes` is cut: its
//!   head is classified and counted (`lines_truncated`), the rest is skipped up to the newline.
//! - **Offsets** advance only past counted lines, so a checkpoint never covers an uncounted line and
//!   never leaves a counted one behind it.
//! - **Unreadable files** are logged (once until they recover), counted as read errors, retried on
//!   every poll.
//! - **Which files**: a source's PATHs are expanded by `inputs::expand`, the path grammar `check` uses
//!   too; PATHs that yield no file are handed out with why in the source's health (`unmatched`). A file
//!   whose first block looks binary (`lines::looks_binary`) is logged once and counted in the health.
//! - **Many files: closed, not capped.** Every matching file is followed however many there are; at
//!   most `limits.open_files_bound()` (`max_open_files`, default 1,024) hold a descriptor, less 2 kept
//!   for files opened for a moment. A file that has not grown for `close_idle_secs`, or the least
//!   recently active one when a closed file needs the room, is *closed*: it stays followed (offset,
//!   identity, stream), is looked at by the stat of every rescan (size and mtime against what was last
//!   seen) and by the paths inotify reports written (`touched`), and is opened again when it changed.
//!   Reopening checks identity: same device, inode and birth time (a closed file's inode can be freed
//!   and reused), then its fingerprint: other first bytes mean it was rewritten while closed, read
//!   from 0 as a truncation. Without room to keep it open, it is read and closed again at once.
//!   A closed file whose path no longer names it is looked for by inode in its own directory (one
//!   listing per rescan): found (renamed out of the glob), it is read like any rotated-away file,
//!   until quiet if a descriptor is free, else to its end at once; not found (deleted, moved
//!   elsewhere), it is let go: lines written to it after its last read, or its partial last line,
//!   are then not read (Filebeat's `close_inactive` has the same limit).
//! - **Fair reading**: a poll reads in rounds, at most `read_budget_bytes` from each file per round,
//!   at most `ROUNDS_PER_POLL` rounds; a file with more left sets `PollStats::backlog` (the daemon
//!   polls again at once, rescanning and checkpointing on time in between), so a line appended to a
//!   quiet file waits for at most one round of the others, not for a file streaming.
//! - **Scale**: discovery, identity and restart never compare every file with every other: followed
//!   files are found by inode and path in maps, a file that appears is compared only with the followed
//!   files whose first `KEY_BYTES` bytes hash alike (`Index`) or that changed since last read (a file
//!   shorter than `KEY_BYTES` is compared with all), checkpoint entries are looked up by inode. The
//!   checkpoint is streamed to disk entry by entry and not written when its hash is unchanged.
//!
//! What it owns and what it does not: which bytes of which file are new, identity, rotation, offsets and
//! checkpoints. Lines go through the one splitter (`lines::Splitter`) to a `Consumer`, one stream per
//! followed file (a new stream when a file is truncated); what a line means is the consumer's business.
//! Time comes from an injected `Clock`, so tests drive the grace periods instead of sleeping. Its own
//! health (lines, bytes, rotations, read errors, lag…) is handed out by `take_health`, not counted here.

pub mod checkpoint;

use std::collections::{HashMap, VecDeque};
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use memchr::memrchr;

use crate::config::{Limits, Source, StartAt};
use crate::inputs::{self, NoFile};
use crate::lines::{LineSink, Splitter};
use checkpoint::Entry;

/// The fingerprint covers at most this many leading bytes (checkpoints of version 1 hold 256).
pub const FINGERPRINT_BYTES: u64 = 4096;
/// A file is taken for a copy of another only on at least this many identical leading bytes.
pub const COPY_MIN_BYTES: u32 = 64;
/// A copy is compared byte for byte with its original, while the original still holds those bytes, up
/// to this many bytes; past them it is trusted.
pub const VERIFY_BYTES: u64 = 8 << 20;
/// Two files whose first this many bytes are equal look alike: a decision between them is counted.
const LOOKALIKE_BYTES: u64 = 256;
/// Files let go are remembered this long (and at most `RETIRED_MAX`) for copies and returns.
const RETIRED_SECS: u64 = 24 * 3600;
const RETIRED_MAX: usize = 1024;
const READ_CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u32,
    hash: u64,
    /// FNV-1a of the first `min(len, HEAD_BYTES)` bytes, checked on every read (cheaper than `hash`);
    /// None when not known (a fingerprint from the checkpoint).
    head: Option<u64>,
    /// (n, FNV-1a of the first n = `min(len, KEY_BYTES)` bytes): what a file that appears is looked up
    /// by to find the followed files it may be a copy of, without opening them. None when not known.
    key: Option<(u8, u64)>,
}

/// The leading bytes files are indexed by for copy detection (`COPY_MIN_BYTES`: fewer never decide).
const KEY_BYTES: usize = COPY_MIN_BYTES as usize;

/// Whether a file whose first bytes are `head` (at most `KEY_BYTES`) may start like one with this key:
/// false only when they are known to differ.
fn key_may_match(key: Option<(u8, u64)>, head: &[u8]) -> bool {
    match key {
        Some((n, h)) if head.len() >= usize::from(n) => fnv1a(&head[..usize::from(n)]) == h,
        _ => true,
    }
}

/// The bytes checked on every read for a truncation that regrew past our offset.
const HEAD_BYTES: u32 = 256;

impl Fingerprint {
    const NONE: Fingerprint =
        Fingerprint { len: 0, hash: 0, head: Some(0xcbf2_9ce4_8422_2325), key: Some((0, 0xcbf2_9ce4_8422_2325)) };

    fn bare(len: u32, hash: u64) -> Fingerprint {
        Fingerprint { len, hash, head: None, key: None }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Hash of the first `len` bytes of the file, or None if it has fewer.
fn hash_prefix(file: &File, len: u32) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; len as usize];
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(fnv1a(&buf)))
}

fn fingerprint(file: &File, size: u64) -> io::Result<Fingerprint> {
    let len = size.min(FINGERPRINT_BYTES) as u32;
    let mut buf = vec![0u8; len as usize];
    if let Err(e) = file.read_exact_at(&mut buf, 0) {
        return if e.kind() == io::ErrorKind::UnexpectedEof { Ok(Fingerprint::bare(len, 0)) } else { Err(e) };
    }
    let head = fnv1a(&buf[..buf.len().min(HEAD_BYTES as usize)]);
    let n = buf.len().min(KEY_BYTES);
    Ok(Fingerprint { len, hash: fnv1a(&buf), head: Some(head), key: Some((n as u8, fnv1a(&buf[..n]))) })
}

/// Whether the file's first bytes are still those of its fingerprint, by its head alone (every read).
fn head_unchanged(file: &File, fp: Fingerprint) -> bool {
    match fp.head {
        Some(head) => hash_prefix(file, fp.len.min(HEAD_BYTES)).ok().flatten() == Some(head),
        None => still_starts_with(file, fp),
    }
}

/// Whether the file still starts with the bytes `fp` was taken of.
fn still_starts_with(file: &File, fp: Fingerprint) -> bool {
    fp.len == 0 || hash_prefix(file, fp.len).ok().flatten() == Some(fp.hash)
}

/// The first offset in `[from, to)` at which the two files differ; None when equal. Err when either
/// could not be read that far (it changed under us): nothing can be said yet.
fn first_difference(a: &File, b: &File, from: u64, to: u64) -> Result<Option<u64>, ()> {
    let (mut x, mut y) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let mut pos = from;
    while pos < to {
        let n = ((to - pos) as usize).min(x.len());
        if a.read_exact_at(&mut x[..n], pos).is_err() || b.read_exact_at(&mut y[..n], pos).is_err() {
            return Err(());
        }
        if let Some(k) = x[..n].iter().zip(&y[..n]).position(|(p, q)| p != q) {
            return Ok(Some(pos + k as u64));
        }
        pos += n as u64;
    }
    Ok(None)
}

/// The end of the last whole line in `[from, to)` on which the two files agree (`to` is a line end of
/// `b`); `from` when they agree on none, or either cannot be read.
fn agreed_lines(a: &File, b: &File, from: u64, to: u64) -> u64 {
    if to <= from {
        return from;
    }
    let d = match first_difference(a, b, from, to) {
        Ok(None) => return to,
        Ok(Some(d)) => d,
        Err(()) => return from,
    };
    // The line the difference is in is not agreed on: back to the newline before it.
    let mut buf = vec![0u8; (d - from) as usize];
    if a.read_exact_at(&mut buf, from).is_err() {
        return from;
    }
    memrchr(b'\n', &buf).map_or(from, |p| from + p as u64 + 1)
}

/// Up to `KEY_BYTES` leading bytes of a file (fewer if it is shorter).
fn leading_bytes(file: &File, size: u64) -> Vec<u8> {
    let mut buf = vec![0u8; size.min(KEY_BYTES as u64) as usize];
    match file.read_exact_at(&mut buf, 0) {
        Ok(()) => buf,
        Err(_) => Vec::new(),
    }
}

/// Size and modification time as a stat saw them: what tells, without opening a file, that it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Stamp {
    size: u64,
    mtime_ns: i128,
}

impl Stamp {
    fn of(m: &Metadata) -> Stamp {
        Stamp { size: m.len(), mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()) }
    }
}

/// When the file was created (statx birth time, ns), where the file system says. A closed file's inode
/// can be freed and reused by another file: same device and inode with another birth time is not it.
fn birth(m: &Metadata) -> Option<i128> {
    let t = m.created().ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_nanos() as i128)
}

/// Whether `m` is the file with this device, inode and birth time (where both births are known).
fn is_same(m: &Metadata, (dev, ino, born): (u64, u64, Option<i128>)) -> bool {
    m.dev() == dev && m.ino() == ino && (born.is_none() || birth(m).is_none() || birth(m) == born)
}

/// Opens a followed file again by its path, if the path still names it (same device, inode and birth).
/// Ok(None): the path names another file now (or none: Err NotFound).
fn reopen(path: &Path, identity: (u64, u64, Option<i128>)) -> io::Result<Option<File>> {
    let file = File::open(path)?;
    let m = file.metadata()?;
    Ok(is_same(&m, identity).then_some(file))
}

/// A followed file's descriptor: its own, or one opened for a moment while it is closed.
enum Handle<'a> {
    Held(&'a File),
    Lent(File),
}

impl std::ops::Deref for Handle<'_> {
    type Target = File;
    fn deref(&self) -> &File {
        match self {
            Handle::Held(f) => f,
            Handle::Lent(f) => f,
        }
    }
}

/// Remembers that a file was at `path` (at most the last 8 names).
fn add_former(former: &mut Vec<PathBuf>, path: &Path) {
    if !former.iter().any(|p| p == path) {
        former.push(path.to_path_buf());
        if former.len() > 8 {
            former.remove(0);
        }
    }
}

/// What a file that appeared is: new, a copy of one already read, or not known until more bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Identity {
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
struct CopyState {
    /// While the original is followed and still holds the copied bytes, the copy reads nothing: its
    /// offset follows the original's. Once the original is truncated or let go, the copy reads on from
    /// the offset the original had reached.
    origin: Option<Origin>,
    /// Bytes compared equal with the original so far.
    verified: u64,
    /// The content it is a copy of (the original's content id; 0: not known, from a checkpoint).
    /// Copies of one content are read as one: bytes one of them counted are not counted from another.
    content: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A followed file, by its content id.
    Id(u64),
    /// From the checkpoint: resolved to a followed file with this identity and first bytes.
    Inode { dev: u64, ino: u64, fp: Fingerprint },
}

/// Where time comes from: the wall clock in the daemon, a hand-driven one in tests.
pub trait Clock: Send + Sync {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> u64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicU64);

impl ManualClock {
    pub fn new(start_ms: u64) -> ManualClock {
        ManualClock(start_ms.into())
    }
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Where the follower's lines go: one stream per followed file.
pub trait Consumer {
    /// A new stream of `source` begins (a file followed from its offset, or read again after a
    /// truncation). `cut`: what it holds may begin in the middle of what happened (any file found;
    /// not the new content of a file truncated under us, which continues what was read).
    fn open(&mut self, stream: u64, source: usize, cut: bool);
    /// The stream's file now belongs to the source at this index (a reload reordered sources).
    fn moved(&mut self, stream: u64, source: usize);
    /// While true, the stream gets every line, not only prefilter candidates.
    fn wants_every_line(&self, stream: u64) -> bool;
    fn line(&mut self, stream: u64, line: &[u8]);
    /// The stream ends: the file was let go, or truncated.
    fn close(&mut self, stream: u64);
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

struct SourceRt {
    config: Source,
    excludes: Vec<glob::Pattern>,
    health: SourceHealth,
    unmatched: Vec<(String, NoFile)>,
}

impl SourceRt {
    fn new(config: Source) -> SourceRt {
        SourceRt {
            excludes: inputs::compile_excludes(&config.exclude),
            health: SourceHealth::default(),
            unmatched: Vec::new(),
            config,
        }
    }

    fn excluded(&self, path: &Path) -> bool {
        inputs::excluded_by(&self.excludes, path)
    }
}

/// A file being followed.
struct Tracked {
    source: usize,
    path: PathBuf,
    /// None while it is closed (quiet, or over the bound on open files): it is still followed, looked
    /// at by stat on every rescan, and opened again (identity checked) when it changes.
    file: Option<File>,
    /// What the last read (or, while closed, the last rescan) saw of it.
    seen: Stamp,
    /// Closed, and something to read: it changed since, or was closed with its budget used up.
    dirty: bool,
    /// A rescan saw it change since it was last read: its first bytes may differ from its key's.
    changed: bool,
    /// Opened again and its first bytes are not its fingerprint's: rewritten while it was closed.
    rewritten_closed: bool,
    /// The size it was last read to its end at.
    read_to: u64,
    /// Its birth time (see `birth`): part of its identity while it is closed.
    born: Option<i128>,
    dev: u64,
    ino: u64,
    fp: Fingerprint,
    offset: u64,
    skipping: bool,
    /// Not known yet whether it is a new log or a copy being written (copytruncate): found empty, or its
    /// first bytes are too few or match more than one original. Nothing is read from it meanwhile.
    undecided: bool,
    /// While undecided: its size when last looked at, and since when (clock ms) it has not grown.
    undecided_seen: (u64, u64),
    /// Names this content; a truncation gives the file a new one (copies follow contents, not inodes).
    id: u64,
    /// When it was found, in order: a file can only be a copy of one found before it.
    found: u64,
    /// The names it had before it was renamed: a file that appears at one of them is new, never a copy
    /// of it, whatever its first bytes (create-mode rotation).
    former: Vec<PathBuf>,
    /// Taken for a copy of another file.
    copy: Option<CopyState>,
    /// When its path stopped naming it (rotated away or deleted), clock ms: it is still read until quiet.
    orphaned: Option<u64>,
    /// When a read last found new bytes, clock ms.
    last_data: u64,
    /// The consumer's stream for this file's bytes.
    stream: u64,
}

impl Tracked {
    /// Its descriptor, or its path opened for a moment (identity checked); None when the path no
    /// longer names it.
    fn handle(&self) -> Option<Handle<'_>> {
        match &self.file {
            Some(f) => Some(Handle::Held(f)),
            None => reopen(&self.path, self.identity()).ok().flatten().map(Handle::Lent),
        }
    }

    fn identity(&self) -> (u64, u64, Option<i128>) {
        (self.dev, self.ino, self.born)
    }

    /// Its size: by fstat while open, as the last rescan saw it while closed.
    fn size(&self) -> u64 {
        match &self.file {
            Some(f) => f.metadata().map_or(self.seen.size, |m| m.len()),
            None => self.seen.size,
        }
    }

    /// Whether a poll reads it: open files always (a read starts with fstat), closed ones when they
    /// changed, or are undecided with bytes to decide on.
    fn wants_read(&self) -> bool {
        self.file.is_some() || self.dirty || (self.undecided && self.seen.size > 0)
    }

    fn as_retired(&self, source: String, now_secs: u64) -> Retired {
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
struct Start {
    offset: u64,
    skipping: bool,
    undecided: bool,
    former: Vec<PathBuf>,
    copy: Option<CopyState>,
    /// Its content id from the checkpoint, when resumed.
    id: Option<u64>,
}

/// A file let go (or known from the checkpoint and not found yet).
#[derive(Debug, Clone)]
struct Retired {
    source: String,
    path: PathBuf,
    dev: u64,
    ino: u64,
    fp: Fingerprint,
    offset: u64,
    skipping: bool,
    at: u64,
    /// A copy whose offset may be beyond its size.
    copy: bool,
    /// The original such a copy followed (dev, ino, first bytes).
    copy_of: Option<(u64, u64, Fingerprint)>,
    /// The content id it had while followed (0: not known); see `CopyState::content`.
    content: u64,
    /// For a copy, the content it copies (`CopyState::content`).
    copy_content: u64,
    former: Vec<PathBuf>,
}

impl Retired {
    /// A record of content that was truncated away (copytruncate): no inode to resume, only the
    /// fingerprint and offset a copy of that content continues from.
    fn is_content(&self) -> bool {
        self.dev == u64::MAX && self.ino == u64::MAX
    }
}

/// What the follower needs from configuration; swapped whole on reload.
#[derive(Debug, Clone)]
pub struct Setup {
    pub sources: Vec<Source>,
    pub limits: Limits,
}

/// What a checkpoint load found wrong: the checkpoint was moved aside (or could not be) and the tailer
/// starts without it.
#[derive(Debug)]
pub struct LoadWarning(pub String);

pub struct Tailer {
    sources: Vec<SourceRt>,
    limits: Limits,
    clock: Arc<dyn Clock>,
    next_stream: u64,
    /// Streams whose files were let go or renumbered, to be told to the consumer at the next poll.
    closed: Vec<u64>,
    moved: Vec<(u64, usize)>,
    files: Vec<Tracked>,
    retired: VecDeque<Retired>,
    /// Files the checkpoint names by inode, not found again yet, by (device, inode): looked up, never
    /// searched, so a restart over 100,000 files is linear.
    resume: HashMap<(u64, u64), Vec<Retired>>,
    /// The inodes `resume` holds by path (a hash of it): a file replaced while we were stopped.
    resume_paths: HashMap<u64, Vec<(u64, u64)>>,
    state_path: PathBuf,
    /// A hash of the checkpoint last written: an unchanged one is not written again.
    last_saved: Option<u64>,
    /// Followed files holding a descriptor now.
    n_open: usize,
    /// Paths inotify said were written to, since the last poll (see `touched`).
    touched: std::collections::HashSet<PathBuf>,
    /// Followed files by a hash of their path, for `touched`; None after files came, went or moved.
    by_path: Option<HashMap<u64, Vec<usize>>>,
    /// Until the first discovery, `start_at = end` applies to files without a checkpoint.
    started: bool,
    /// Paths that failed to open, and whether that was already logged.
    failing: HashMap<PathBuf, u64>,
    buf: Vec<u8>,
    /// The next content id for a followed file.
    next_id: u64,
    /// Decisions between two files that look alike (see `lookalike_decisions`).
    lookalikes: u64,
    /// Content ids some followed copy holds (see `group_of`); rebuilt after each discovery.
    grouped: std::collections::HashSet<u64>,
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollStats {
    pub lines: u64,
    pub bytes: u64,
    /// Some file had more to read when the poll's rounds ended (a file growing faster than one poll
    /// reads): poll again at once.
    pub backlog: bool,
    /// How long discovery (listing, stat'ing and matching every PATH) took, when the poll rescanned:
    /// the caller spaces rescans by it. Reading is not in it, so a poll that read much does not push
    /// the next look for new files back.
    pub scan_time: std::time::Duration,
}

/// Rounds of reading in one poll; then the poll returns (with `backlog`) so the caller rescans,
/// checkpoints and evaluates on time while a file streams.
const ROUNDS_PER_POLL: usize = 16;
/// Descriptors kept free under the bound for files opened for a moment (a closed file read once, an
/// original compared with a copy).
const TRANSIENT_FILES: u64 = 2;

/// The followed files a file that appears may be a copy of, by their leading bytes' key: built once
/// per rescan, so finding 100,000 files is not 100,000² comparisons.
#[derive(Default)]
struct Index {
    groups: HashMap<(usize, u8, u64), Vec<usize>>,
    lens: std::collections::BTreeSet<u8>,
    /// Files a rescan saw change since they were last read: compared whatever their key.
    changed: Vec<usize>,
}

impl Index {
    fn add(&mut self, i: usize, f: &Tracked) {
        if f.changed {
            // Its first bytes may differ from its key now (rewritten since): it is also filed under
            // what it starts with now, read once here. Only one it cannot read is compared with every
            // file that appears (a rescan that finds 200 new files beside 500 grown ones opens 500
            // files, not 100,000).
            match f.handle().map(|h| {
                let size = h.metadata().map_or(0, |m| m.len());
                leading_bytes(&h, size)
            }) {
                Some(head) if head.len() >= KEY_BYTES => self.file(i, f.source, (KEY_BYTES as u8, fnv1a(&head))),
                _ => self.changed.push(i),
            }
        }
        if let Some(key) = f.fp.key {
            self.file(i, f.source, key);
        } else {
            self.changed.push(i);
        }
    }

    fn file(&mut self, i: usize, source: usize, (n, h): (u8, u64)) {
        self.groups.entry((source, n, h)).or_insert_with(|| Vec::with_capacity(1)).push(i);
        self.lens.insert(n);
    }

    /// The files of `source` that may start like `head`; None: every file must be looked at (a file
    /// with fewer than `KEY_BYTES` bytes).
    fn candidates(&self, source: usize, head: &[u8]) -> Option<Vec<usize>> {
        if head.len() < KEY_BYTES {
            return None;
        }
        let mut out = self.changed.clone();
        for &n in &self.lens {
            if let Some(g) = self.groups.get(&(source, n, fnv1a(&head[..usize::from(n)]))) {
                out.extend_from_slice(g);
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

/// Who asks `identify` what a file is: the discovery of a file not followed yet (with the rescan's
/// index), or a followed file still undecided (its own index in `files`, looked at against all).
enum Asker<'a> {
    Found(&'a Index),
    Followed(usize),
}

fn path_key(path: &Path) -> u64 {
    fnv1a(path.as_os_str().as_encoded_bytes())
}

impl Tailer {
    /// Loads the checkpoint from `state_dir`. A checkpoint that cannot be trusted is moved aside and
    /// reported (the returned warning); the tailer then starts as if there were none.
    pub fn new(setup: Setup, state_dir: &Path, clock: Arc<dyn Clock>) -> (Tailer, Option<LoadWarning>) {
        let now_secs = clock.now_ms() / 1000;
        let state_path = checkpoint::path_in(state_dir);
        let mut warning = None;
        let mut retired = VecDeque::new();
        let mut resume: HashMap<(u64, u64), Vec<Retired>> = HashMap::new();
        let mut resume_paths: HashMap<u64, Vec<(u64, u64)>> = HashMap::new();
        // Entry by entry (see `checkpoint::load_each`): 100,000 entries are never parsed into one list.
        let mut max_id = 0;
        let loaded = checkpoint::load_each(&state_path, |e| {
            max_id = max_id.max(e.content).max(e.copy_content);
            let Ok(hash) = u64::from_str_radix(&e.fingerprint, 16) else { return };
            let copy_of = e.copy_of.and_then(|o| {
                let hash = u64::from_str_radix(&o.fingerprint, 16).ok()?;
                let len = o.fingerprint_bytes.min(FINGERPRINT_BYTES as u32);
                Some((o.dev, o.ino, Fingerprint::bare(len, hash)))
            });
            let fp = Fingerprint::bare(e.fingerprint_bytes.min(FINGERPRINT_BYTES as u32), hash);
            let r = Retired {
                source: e.source,
                path: PathBuf::from(e.path),
                dev: e.dev,
                ino: e.ino,
                fp,
                offset: e.offset,
                skipping: e.skipping,
                at: e.retired_at.unwrap_or(now_secs),
                copy: e.copy,
                copy_of,
                content: e.content,
                copy_content: e.copy_content,
                former: e.former_paths.into_iter().map(PathBuf::from).collect(),
            };
            if r.is_content() {
                retired.push_back(r);
            } else {
                // One entry per inode and path as a rule: a Vec's first push would reserve four.
                resume_paths.entry(path_key(&r.path)).or_insert_with(|| Vec::with_capacity(1)).push((r.dev, r.ino));
                resume.entry((r.dev, r.ino)).or_insert_with(|| Vec::with_capacity(1)).push(r);
            }
        });
        match loaded {
            Ok(_) => {}
            Err(e) => {
                // Nothing of a checkpoint that cannot be trusted is used.
                (retired, resume, resume_paths) = Default::default();
                let aside = state_path.with_extension(format!("corrupt-{now_secs}"));
                let moved = std::fs::rename(&state_path, &aside).is_ok();
                warning = Some(LoadWarning(if moved {
                    format!("{e}; moved to {} and starting without checkpoints", aside.display())
                } else {
                    format!("{e}; starting without checkpoints")
                }));
            }
        }
        let limits = setup.limits.clone();
        let buf_len = limits.max_line_bytes as usize + READ_CHUNK;
        let mut t = Tailer {
            sources: Vec::new(),
            limits,
            clock,
            next_stream: 0,
            closed: Vec::new(),
            moved: Vec::new(),
            files: Vec::new(),
            retired,
            resume,
            resume_paths,
            state_path,
            last_saved: None,
            n_open: 0,
            touched: std::collections::HashSet::new(),
            by_path: None,
            started: false,
            failing: HashMap::new(),
            buf: vec![0; buf_len],
            next_id: max_id,
            lookalikes: 0,
            grouped: std::collections::HashSet::new(),
        };
        t.reload(setup);
        (t, warning)
    }

    /// New sources, patterns and limits; files keep their offsets. Files of a source that is gone are
    /// let go (and remembered, so a source that comes back resumes them).
    pub fn reload(&mut self, setup: Setup) {
        let old: Vec<String> = self.sources.iter().map(|s| s.config.name.clone()).collect();
        self.sources = setup.sources.into_iter().map(SourceRt::new).collect();
        if setup.limits.max_line_bytes != self.limits.max_line_bytes {
            self.buf = vec![0; setup.limits.max_line_bytes as usize + READ_CHUNK];
        }
        self.limits = setup.limits;
        let mut kept = Vec::new();
        let mut gone = Vec::new();
        for mut f in std::mem::take(&mut self.files) {
            let name = &old[f.source];
            match self.sources.iter().position(|s| &s.config.name == name) {
                Some(i) => {
                    if f.source != i {
                        self.moved.push((f.stream, i));
                    }
                    f.source = i;
                    kept.push(f);
                }
                None => {
                    self.closed.push(f.stream);
                    gone.push((f.id, f.offset, f.skipping));
                    self.retire(&f, name.clone());
                }
            }
        }
        self.files = kept;
        self.by_path = None;
        for (id, offset, skipping) in gone {
            self.freeze_copies(id, offset, skipping);
        }
    }

    /// The directories to watch with inotify (and whether recursively), for every source path.
    pub fn watch_dirs(&self) -> Vec<(PathBuf, bool)> {
        let mut dirs: Vec<(PathBuf, bool)> = Vec::new();
        for s in &self.sources {
            for p in &s.config.paths {
                let dir = watch_dir_of(p);
                let recursive = p.contains("**");
                if !dirs.iter().any(|(d, r)| *d == dir && *r == recursive) {
                    dirs.push((dir, recursive));
                }
            }
        }
        dirs
    }

    pub fn checkpoint_path(&self) -> &Path {
        &self.state_path
    }

    /// Looks for new, renamed and vanished files (when `rescan`, and always the first time), then reads
    /// what is new: in rounds, at most `read_budget_bytes` from each file per round and
    /// `ROUNDS_PER_POLL` rounds (`backlog` says there is more). Open files are looked at every poll,
    /// closed ones when a rescan saw them change. Files quiet for `close_idle_secs` are closed.
    ///
    /// `find` is the literal prefilter: where the next line worth a look starts.
    pub fn poll(
        &mut self,
        rescan: bool,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> PollStats {
        self.poll_rounds(rescan, false, find, consumer)
    }

    /// Paths inotify reported written to: closed files among them are read at the next poll, without
    /// waiting for a rescan to see them change.
    pub fn touched(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        self.touched.extend(paths);
    }

    /// Marks the closed files named by `touched` to be read.
    fn apply_touched(&mut self) {
        if self.touched.is_empty() {
            return;
        }
        let files = &self.files;
        let index = self.by_path.get_or_insert_with(|| {
            let mut m: HashMap<u64, Vec<usize>> = HashMap::with_capacity(files.len());
            for (i, f) in files.iter().enumerate() {
                m.entry(path_key(&f.path)).or_insert_with(|| Vec::with_capacity(1)).push(i);
            }
            m
        });
        for path in self.touched.drain() {
            for &i in index.get(&path_key(&path)).into_iter().flatten() {
                let f = &mut self.files[i];
                if f.path == path && f.file.is_none() {
                    f.dirty = true;
                }
            }
        }
    }

    fn poll_rounds(
        &mut self,
        rescan: bool,
        drain: bool,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> PollStats {
        self.n_open = self.files.iter().filter(|f| f.file.is_some()).count();
        let mut scan_time = std::time::Duration::ZERO;
        if rescan || !self.started {
            self.by_path = None;
            let started = std::time::Instant::now();
            self.discover(find, consumer);
            scan_time = started.elapsed();
            if !self.started {
                // What the checkpoint named and the first look found is followed now: give the room
                // the lookup tables took back.
                self.resume.shrink_to_fit();
                self.resume_paths.retain(|_, v| {
                    v.retain(|k| self.resume.contains_key(k));
                    !v.is_empty()
                });
                self.resume_paths.shrink_to_fit();
            }
            self.started = true;
        }
        self.grouped = self.files.iter().filter_map(|f| f.copy.map(|c| c.content)).filter(|&c| c != 0).collect();
        self.apply_touched();
        self.tell(consumer);
        let budget = if drain { u64::MAX } else { self.limits.read_budget_bytes.max(1) };
        // Open files that may give their descriptor to a closed one that changed, least recently
        // active last (popped first). Rotated-away files are read until quiet through theirs.
        let mut victims: Vec<(u64, usize)> = (self.files.iter().enumerate())
            .filter(|(_, f)| f.file.is_some() && f.orphaned.is_none())
            .map(|(i, f)| (f.last_data, i))
            .collect();
        victims.sort_unstable_by(|a, b| b.cmp(a));
        let mut todo: Vec<usize> = (0..self.files.len()).filter(|&i| self.files[i].wants_read()).collect();
        let mut stats = PollStats { scan_time, ..PollStats::default() };
        let mut round = 0;
        while !todo.is_empty() {
            if round == ROUNDS_PER_POLL && !drain {
                stats.backlog = true;
                break;
            }
            round += 1;
            let mut more = Vec::new();
            for &i in &todo {
                self.make_room(i, &mut victims);
                let (s, left) = self.read_file(i, false, budget, find, consumer);
                stats.lines += s.lines;
                stats.bytes += s.bytes;
                if left {
                    more.push(i);
                }
            }
            todo = more;
        }
        // Files still undecided are looked at again once every other file has been read: a truncation
        // noticed meanwhile may decide them.
        for i in 0..self.files.len() {
            if self.files[i].undecided && self.files[i].wants_read() {
                self.make_room(i, &mut victims);
                let (s, left) = self.read_file(i, false, budget, find, consumer);
                stats.lines += s.lines;
                stats.bytes += s.bytes;
                stats.backlog |= left;
            }
        }
        self.close_idle();
        stats
    }

    /// The most files kept open between reads: the bound, less what is opened for a moment.
    fn open_cap(&self) -> usize {
        self.limits.open_files_bound().saturating_sub(TRANSIENT_FILES).max(1) as usize
    }

    /// Before closed file `i` is read: closes the least recently active open file if the bound is
    /// reached (none left to close: `i` is read and closed again).
    fn make_room(&mut self, i: usize, victims: &mut Vec<(u64, usize)>) {
        if self.files[i].file.is_some() {
            return;
        }
        while self.n_open >= self.open_cap() {
            let Some((_, j)) = victims.pop() else { return };
            if j != i && self.files[j].file.is_some() && self.files[j].orphaned.is_none() {
                self.close(j);
            }
        }
    }

    /// Gives file `i`'s descriptor back; it stays followed (see the module doc).
    fn close(&mut self, i: usize) {
        let f = &mut self.files[i];
        if let Some(file) = f.file.take() {
            self.n_open = self.n_open.saturating_sub(1);
            if let Ok(m) = file.metadata() {
                f.seen = Stamp::of(&m);
            }
            // Bytes arrived after its last read to the end (or it stopped on its budget): read them.
            f.dirty = f.seen.size != f.read_to;
        }
    }

    /// Closes files quiet for `close_idle_secs` (not rotated-away ones: they cannot be opened again).
    fn close_idle(&mut self) {
        let idle_ms = self.limits.close_idle_secs.saturating_mul(1000);
        let now = self.clock.now_ms();
        for i in 0..self.files.len() {
            let f = &self.files[i];
            if f.file.is_some() && f.orphaned.is_none() && now.saturating_sub(f.last_data) >= idle_ms {
                tracing::debug!(path = %f.path.display(), offset = f.offset, "file quiet; descriptor closed, still followed");
                self.close(i);
            }
        }
    }

    /// Streams opened, moved or closed outside a read (reload), told to the consumer.
    fn tell(&mut self, consumer: &mut impl Consumer) {
        for (stream, source) in self.moved.drain(..) {
            consumer.moved(stream, source);
        }
        for stream in self.closed.drain(..) {
            consumer.close(stream);
        }
    }

    /// Per source (name, health): counters since the last call, gauges as of now.
    pub fn take_health(&mut self) -> Vec<(String, SourceHealth)> {
        let mut lag = vec![0i64; self.sources.len()];
        let mut count = vec![0i64; self.sources.len()];
        let mut open = vec![0i64; self.sources.len()];
        for f in &self.files {
            lag[f.source] += f.size().saturating_sub(f.offset) as i64;
            count[f.source] += 1;
            open[f.source] += i64::from(f.file.is_some());
        }
        self.sources
            .iter_mut()
            .enumerate()
            .map(|(i, s)| {
                let last_line_ms = s.health.last_line_ms;
                let h = std::mem::replace(&mut s.health, SourceHealth { last_line_ms, ..SourceHealth::default() });
                let unmatched = s.unmatched.clone();
                let health = SourceHealth { files: count[i], files_open: open[i], lag_bytes: lag[i], unmatched, ..h };
                (s.config.name.clone(), health)
            })
            .collect()
    }

    fn new_stream(&mut self) -> u64 {
        self.next_stream += 1;
        self.next_stream
    }

    /// The source's files by the one path grammar (`inputs::expand`); PATHs that yield none are kept,
    /// with why, for the source's health.
    fn expand(&mut self, source: usize) -> Vec<(PathBuf, Metadata)> {
        let mut out = Vec::new();
        let mut unmatched = Vec::new();
        let src = &self.sources[source];
        for p in &src.config.paths {
            if inputs::is_read_once(p) {
                continue; // Not followed: `read_once` reads it, and reports it if missing.
            }
            let e = inputs::expand(p, inputs::Mode::Follow, &|path| src.excluded(path));
            out.extend(e.files);
            if let Some(why) = e.problem {
                unmatched.push((p.clone(), why));
            }
        }
        self.sources[source].unmatched = unmatched;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn discover(&mut self, find: &impl Fn(&[u8], usize) -> Option<usize>, consumer: &mut impl Consumer) {
        // Every candidate once, first source wins; one inode under two names is one file.
        // (A path names one inode: the same path twice is the same inode.)
        let mut candidates: Vec<(usize, PathBuf, Metadata)> = Vec::new();
        let mut by_inode: HashMap<(u64, u64), usize> = HashMap::new();
        for s in 0..self.sources.len() {
            for (path, meta) in self.expand(s) {
                let inode = (meta.dev(), meta.ino());
                if by_inode.contains_key(&inode) {
                    continue;
                }
                by_inode.insert(inode, candidates.len());
                candidates.push((s, path, meta));
            }
        }
        let by_path: HashMap<&std::ffi::OsStr, usize> =
            candidates.iter().enumerate().map(|(c, (_, p, _))| (p.as_os_str(), c)).collect();
        // Followed files whose path no longer names them: renamed within the set, or let go.
        let mut listings: HashMap<PathBuf, HashMap<u64, PathBuf>> = HashMap::new();
        let mut i = 0;
        while i < self.files.len() {
            let f = &self.files[i];
            let same = |m: &Metadata| is_same(m, f.identity());
            // The scan's own stat where it has one (a followed file is not stat'ed twice).
            let at_path = match by_path.get(f.path.as_os_str()) {
                Some(&c) => Some(candidates[c].2.clone()),
                None => std::fs::metadata(&f.path).ok(),
            };
            // Renamed within the set: the same inode (and birth) elsewhere; for a closed file, whose
            // inode may have been freed and reused, also its first bytes.
            let renamed = || {
                by_inode.get(&(f.dev, f.ino)).copied().filter(|&c| {
                    same(&candidates[c].2)
                        && (f.file.is_some()
                            || reopen(&candidates[c].1, f.identity())
                                .ok()
                                .flatten()
                                .is_some_and(|h| still_starts_with(&h, f.fp)))
                })
            };
            let found = match at_path.filter(|m| same(m)) {
                Some(m) => Some(m),
                None => renamed().map(|c| {
                    let new_path = candidates[c].1.clone();
                    let f = &mut self.files[i];
                    tracing::info!(from = %f.path.display(), to = %new_path.display(), "followed file renamed within the watched set");
                    if new_path != f.path {
                        add_former(&mut f.former, &f.path.clone());
                    }
                    f.path = new_path;
                    f.orphaned = None;
                    candidates[c].2.clone()
                }),
            };
            if let Some(m) = found {
                let f = &mut self.files[i];
                let stamp = Stamp::of(&m);
                if stamp != f.seen {
                    f.changed = true;
                    if f.file.is_none() {
                        // A closed file that changed: opened again (identity checked) and read.
                        (f.seen, f.dirty) = (stamp, true);
                    }
                }
                i += 1;
                continue;
            }
            // Rotated away or deleted. A logger may still write through its open handle until it
            // reopens: keep reading until the file has been quiet for the grace period, then flush its
            // last partial line and let go. A closed file cannot be opened again: it is let go at once.
            let grace = self.orphan_grace();
            let now = self.clock.now_ms();
            let f = &mut self.files[i];
            if f.file.is_none() {
                // Closed: find it renamed in its own directory (app.log -> app.log.1 outside the glob)
                // and read it like any rotated-away file; deleted or moved elsewhere, let it go.
                self.sources[f.source].health.rotations += 1;
                let found = find_in_dir(&mut listings, &f.path, f.identity());
                let room = self.n_open < self.open_cap();
                let f = &mut self.files[i];
                match found {
                    Some((path, file)) if room => {
                        tracing::info!(from = %f.path.display(), to = %path.display(), "closed (quiet) file rotated away; reading it until it is quiet");
                        add_former(&mut f.former, &f.path.clone());
                        (f.path, f.file, f.orphaned) = (path, Some(file), Some(now));
                        f.rewritten_closed = !f.file.as_ref().is_some_and(|h| still_starts_with(h, f.fp));
                        self.n_open += 1;
                        i += 1;
                    }
                    Some((path, file)) => {
                        // No descriptor to spare for the grace period: read it to its end now.
                        tracing::info!(from = %f.path.display(), to = %path.display(), "closed (quiet) file rotated away; read to its end and let go");
                        add_former(&mut f.former, &f.path.clone());
                        f.rewritten_closed = !still_starts_with(&file, f.fp);
                        (f.path, f.file) = (path, Some(file));
                        self.n_open += 1;
                        self.let_go(i, find, consumer);
                    }
                    None => {
                        tracing::info!(path = %f.path.display(), offset = f.offset, "closed (quiet) file deleted or moved away; let go");
                        self.let_go(i, find, consumer);
                    }
                }
                continue;
            }
            let Some(since) = f.orphaned else {
                f.orphaned = Some(now);
                self.sources[f.source].health.rotations += 1;
                tracing::info!(path = %f.path.display(), offset = f.offset, "file rotated away or deleted; reading it until it is quiet");
                i += 1;
                continue;
            };
            if now.saturating_sub(since.max(f.last_data)) < grace {
                i += 1;
                continue;
            }
            self.let_go(i, find, consumer);
        }
        if self.started && !self.resume.is_empty() {
            // Checkpointed files not found again are remembered as long as files let go are.
            let oldest = (self.clock.now_ms() / 1000).saturating_sub(RETIRED_SECS);
            self.resume.retain(|_, v| {
                v.retain(|r| r.at >= oldest);
                !v.is_empty()
            });
        }
        // Files known by inode and first bytes (from the checkpoint, or let go earlier) come back first,
        // so that no other file is compared with them before they are back where they belong. The others
        // in the order they were created where the file system says (an original before its copy), the
        // longer first where it cannot tell (a copy is a prefix of its original), else by path.
        let followed: std::collections::HashSet<(u64, u64)> = self.files.iter().map(|f| (f.dev, f.ino)).collect();
        let known = |path: &Path, m: &Metadata| {
            let inode = (m.dev(), m.ino());
            if followed.contains(&inode) {
                return false;
            }
            let records = self.resume.get(&inode).into_iter().flatten().chain(&self.retired);
            let mut records = records.filter(|r| r.fp.len > 0 && r.dev == inode.0 && r.ino == inode.1).peekable();
            records.peek().is_some() && File::open(path).is_ok_and(|f| records.any(|r| still_starts_with(&f, r.fp)))
        };
        // Only files not followed yet are ordered (and looked at below).
        let mut keyed: Vec<_> = candidates
            .into_iter()
            .filter(|(_, _, m)| !followed.contains(&(m.dev(), m.ino())))
            .map(|(s, p, m)| ((!known(&p, &m), m.created().ok(), std::cmp::Reverse(m.len())), (s, p, m)))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let candidates: Vec<(usize, PathBuf, Metadata)> = keyed.into_iter().map(|(_, c)| c).collect();
        let mut index = Index::default();
        if !candidates.is_empty() {
            for (j, f) in self.files.iter().enumerate() {
                index.add(j, f);
            }
        }
        let mut followed = followed;
        for (source, path, meta) in candidates {
            if !followed.insert((meta.dev(), meta.ino())) {
                continue;
            }
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    followed.remove(&(meta.dev(), meta.ino()));
                    self.open_failed(source, &path, &e);
                    continue;
                }
            };
            if self.failing.remove(&path).is_some() {
                tracing::info!(path = %path.display(), "file readable again");
            }
            let size = meta.len();
            let Ok(fp) = fingerprint(&file, size) else {
                followed.remove(&(meta.dev(), meta.ino()));
                self.open_failed(source, &path, &io::Error::other("cannot read its first bytes"));
                continue;
            };
            let start = self.start_offset(source, &path, &file, &meta, fp, &index);
            tracing::debug!(path = %path.display(), offset = start.offset, undecided = start.undecided, "following file");
            let id = start.id.unwrap_or_else(|| self.new_id());
            let stream = self.new_stream();
            // Any file may begin in the middle of what happened (an export dropped in, a log found at
            // start-up); the windows mark its first minute partial only if nothing earlier was seen.
            consumer.open(stream, source, true);
            let last_data = self.clock.now_ms();
            // Kept open while the bound allows; else opened again for its first read.
            let file = (self.n_open < self.open_cap()).then_some(file);
            self.n_open += usize::from(file.is_some());
            self.files.push(Tracked {
                source,
                path,
                file,
                seen: Stamp::of(&meta),
                dirty: true,
                changed: false,
                rewritten_closed: false,
                read_to: 0,
                born: birth(&meta),
                dev: meta.dev(),
                ino: meta.ino(),
                fp,
                offset: start.offset,
                skipping: start.skipping,
                undecided: start.undecided,
                undecided_seen: (size, last_data),
                id,
                found: id,
                former: start.former,
                copy: start.copy,
                orphaned: None,
                last_data,
                stream,
            });
            let j = self.files.len() - 1;
            index.add(j, &self.files[j]);
        }
    }

    /// How long (ms) a rotated-away or deleted file is still read after its last new bytes.
    fn orphan_grace(&self) -> u64 {
        2 * self.limits.poll_interval_ms
    }

    /// Reads a file to its end (its partial last line counted as a line) and stops following it.
    fn let_go(&mut self, i: usize, find: &impl Fn(&[u8], usize) -> Option<usize>, consumer: &mut impl Consumer) {
        self.read_file(i, true, u64::MAX, find, consumer);
        let f = self.files.swap_remove(i);
        self.n_open -= usize::from(f.file.is_some());
        consumer.close(f.stream);
        tracing::info!(path = %f.path.display(), offset = f.offset, "rotated-away file read to its end and let go");
        self.freeze_copies(f.id, f.offset, f.skipping);
        let name = self.sources[f.source].config.name.clone();
        self.retire(&f, name);
    }

    fn open_failed(&mut self, source: usize, path: &Path, e: &io::Error) {
        self.sources[source].health.read_errors += 1;
        let n = self.failing.entry(path.to_path_buf()).or_insert(0);
        *n += 1;
        if *n == 1 {
            tracing::warn!(path = %path.display(), error = %e, "cannot open file; retrying on every poll");
        }
    }

    /// Where to start a file seen for the first time, and what it is.
    fn start_offset(
        &mut self,
        source: usize,
        path: &Path,
        file: &File,
        meta: &Metadata,
        fp: Fingerprint,
        index: &Index,
    ) -> Start {
        let size = meta.len();
        let new = |offset: u64| Start { offset, skipping: false, undecided: false, former: Vec::new(), copy: None, id: None };
        let matches = |r: &Retired| -> bool {
            r.fp.len <= fp.len && hash_prefix(file, r.fp.len).ok().flatten() == Some(r.fp.hash)
        };
        // The same file, known from the checkpoint or let go earlier (a directory that came back). An
        // empty fingerprint proves nothing: a reused inode must not pass for the file that had it.
        let same_inode = |r: &Retired| r.fp.len > 0 && r.dev == meta.dev() && r.ino == meta.ino();
        let inode = (meta.dev(), meta.ino());
        let resumed = match self.resume.get_mut(&inode) {
            Some(v) => match v.iter().position(|r| same_inode(r) && matches(r)) {
                Some(k) => {
                    let r = v.swap_remove(k);
                    if v.is_empty() {
                        self.resume.remove(&inode);
                    }
                    Some(r)
                }
                None => None,
            },
            None => None,
        };
        let resumed = resumed.or_else(|| {
            let k = self.retired.iter().position(|r| same_inode(r) && matches(r))?;
            self.retired.remove(k)
        });
        if let Some(r) = resumed {
            let id = (r.content != 0).then_some(r.content);
            let mut former = r.former;
            if r.path != path {
                add_former(&mut former, &r.path);
            }
            if r.copy {
                // A copy's offset may be ahead of its size: those bytes were counted in its original.
                let origin = r.copy_of.map(|(dev, ino, fp)| Origin::Inode { dev, ino, fp });
                let copy = Some(CopyState { origin, verified: size.min(VERIFY_BYTES), content: r.copy_content });
                return Start { offset: r.offset, skipping: r.skipping, undecided: false, former, copy, id };
            }
            if r.offset <= size {
                return Start { offset: r.offset, skipping: r.skipping, undecided: false, former, copy: None, id };
            }
            tracing::info!(path = %path.display(), "checkpoint offset beyond the file's size; reading it from the start");
            return Start { former, ..new(0) };
        }
        // Known by inode but its first bytes changed while we were away: truncated. What it held lives on
        // only in a copy, if anywhere: remember it as a record of content.
        let now = self.clock.now_ms() / 1000;
        for r in self.retired.iter_mut().filter(|r| same_inode(r)) {
            (r.dev, r.ino, r.at) = (u64::MAX, u64::MAX, now);
        }
        if let Some(v) = self.resume.remove(&inode) {
            let (gone, kept): (Vec<Retired>, Vec<Retired>) = v.into_iter().partition(|r| same_inode(r));
            for mut r in gone {
                (r.dev, r.ino, r.at) = (u64::MAX, u64::MAX, now);
                self.retired.push_back(r);
            }
            if !kept.is_empty() {
                self.resume.insert(inode, kept);
            }
        }
        let (identity, note) = self.identify(source, path, file, size, (meta.dev(), meta.ino()), Asker::Found(index));
        match identity {
            Identity::Wait => return Start { undecided: true, ..new(0) },
            Identity::Copy { origin, offset, skipping, verified, content } => {
                tracing::info!(path = %path.display(), offset, size, "file is a copy of one already read; continuing where that one was");
                let copy = Some(CopyState { origin: origin.map(Origin::Id), verified, content });
                return Start { offset, skipping, undecided: false, former: Vec::new(), copy, id: None };
            }
            Identity::New => {
                if let Some((like, why)) = note {
                    self.note_lookalike(path, &like, &why, "read as a new file");
                }
            }
        }
        // A file replaced while we were stopped is new; only never-seen files honour start_at = end.
        let known_path = self.retired.iter().any(|r| r.path == path) || !self.resumed_at(path).is_empty();
        if !self.started && !known_path && self.sources[source].config.start_at == StartAt::End {
            return new(end_of_last_line(file, size));
        }
        new(0)
    }

    /// Files the checkpoint had at `path` that were not found again.
    fn resumed_at(&self, path: &Path) -> Vec<&Retired> {
        let Some(inodes) = self.resume_paths.get(&path_key(path)) else { return Vec::new() };
        inodes.iter().filter_map(|k| self.resume.get(k)).flatten().filter(|r| r.path == path).collect()
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// How long a record of truncated content may still be the original of a copy that appears: logrotate
    /// creates the copy before it truncates, so the copy is seen within a poll or two of the truncation.
    fn copy_window_secs(&self) -> u64 {
        (2 * self.limits.poll_interval_ms).div_ceil(1000) + 1
    }

    /// Decides what a file that appeared is (`asker`: see `Asker`).
    ///
    /// Identity is settled by inode before this is asked. A file can be a copy of a followed file of its
    /// own source, or of a record of content of its source truncated within the last seconds
    /// (copytruncate), but never of one that had its name (renamed away or deleted: it was created where
    /// that one was). Where the original still holds its bytes, the candidate is compared with it byte
    /// for byte (as far as both go, up to `VERIFY_BYTES`); otherwise by the original's fingerprint.
    /// Matching more than one original, or too few bytes to tell, is `Wait`. A file that looks like one
    /// it cannot be a copy of is new; what it looked like, and why it is new anyway, is returned to be
    /// counted and logged.
    fn identify(
        &self,
        source: usize,
        path: &Path,
        file: &File,
        size: u64,
        (dev, ino): (u64, u64),
        asker: Asker<'_>,
    ) -> (Identity, Option<(PathBuf, String)>) {
        let (except, index) = match asker {
            Asker::Found(ix) => (None, Some(ix)),
            Asker::Followed(i) => (Some(i), None),
        };
        let source_name = &self.sources[source].config.name;
        if size == 0 {
            return (Identity::Wait, None);
        }
        // Only files that may start like this one are looked at (see `Index`); a file is opened only
        // if its key matches, or it changed since its key was taken.
        let head = leading_bytes(file, size);
        let looked_at = index.and_then(|ix| ix.candidates(source, &head));
        let all = || 0..self.files.len();
        let js: Box<dyn Iterator<Item = usize>> = match looked_at {
            Some(v) => Box::new(v.into_iter()),
            None => Box::new(all()),
        };
        let mut hashes: Vec<(u32, Option<u64>)> = Vec::new();
        // By an original's fingerprint alone, when its bytes are gone (truncated). logrotate and cp finish
        // the copy before the original is truncated, so a copy of it holds at least its fingerprint's
        // bytes: a shorter file is not one (and if it were an early partial copy, it is read again).
        let mut by_fingerprint = |fp: Fingerprint| -> bool {
            if size < u64::from(fp.len) {
                return false;
            }
            if let Some((_, h)) = hashes.iter().find(|(l, _)| *l == fp.len) {
                return *h == Some(fp.hash);
            }
            let h = hash_prefix(file, fp.len).ok().flatten();
            hashes.push((fp.len, h));
            h == Some(fp.hash)
        };
        // A file is never a copy of one that had its name (it was created where that one was).
        let had_its_name = |current: &Path, former: &[PathBuf]| current == path || former.iter().any(|p| p == path);
        // Each with its rank: 0 a followed original, 1 a followed copy, 2 a record of truncated content.
        let mut found: Vec<(Identity, u8)> = Vec::new();
        let mut wait = false;
        let mut alike: Option<(PathBuf, String)> = None;
        for j in js {
            let o = &self.files[j];
            // Never a copy of itself, of its own copy, or of a file found after it (ids follow the order
            // files were found in, and that follows their creation). An undecided file can be an
            // original: what it is read from, its copies are not.
            let later = |i: usize| o.found > self.files[i].found || self.copies(j, i);
            if Some(j) == except || o.source != source || (o.dev == dev && o.ino == ino) || except.is_some_and(later) {
                continue;
            }
            if !o.changed && !key_may_match(o.fp.key, &head) {
                // Unchanged since its key was taken, and it starts otherwise: neither an original of
                // this file nor one that looks like it.
                continue;
            }
            // Copies of the same original agree; the original itself is preferred (rank 0).
            let rank = u8::from(o.copy.is_some());
            let eligible = !had_its_name(&o.path, &o.former);
            let copy =
                |verified| Identity::Copy {
                origin: Some(o.id),
                offset: o.offset,
                skipping: o.skipping,
                verified,
                content: o.copy.map_or(o.id, |c| if c.content == 0 { o.id } else { c.content }),
            };
            let Some(ofile) = o.handle() else {
                // Its path names another file now (a rotation the next rescan sees): in doubt.
                wait |= eligible;
                continue;
            };
            if still_starts_with(&ofile, o.fp) {
                // The original still holds its bytes: compare them.
                let Ok(osize) = ofile.metadata().map(|m| m.len()) else { continue };
                // Over its fingerprint's bytes the hashes tell at once when they differ; then only those
                // bytes are read, to say where.
                let differs_early = o.fp.len > 0 && size >= u64::from(o.fp.len) && !by_fingerprint(o.fp);
                let n = if differs_early { u64::from(o.fp.len) } else { size.min(osize).min(VERIFY_BYTES) };
                match first_difference(file, &ofile, 0, n) {
                    Ok(None) if size <= osize => {
                        if !eligible {
                            if n >= u64::from(COPY_MIN_BYTES) {
                                alike = Some((o.path.clone(), "it was created where that file was".into()));
                            }
                        } else if n < u64::from(COPY_MIN_BYTES) {
                            wait = true;
                        } else {
                            found.push((copy(n), rank));
                        }
                    }
                    Ok(Some(d)) if d >= LOOKALIKE_BYTES => {
                        alike = Some((o.path.clone(), format!("they differ at byte {d}")));
                    }
                    Ok(None) if eligible && !differs_early && osize >= u64::from(COPY_MIN_BYTES) && n == osize => {
                        // It holds all of that file and more: a later copy of the same content (that
                        // file a shorter copy, or truncated and regrown unseen). The bytes that file
                        // counted are not counted again; the rest is read once, from whichever has it.
                        let content = o.copy.map_or(o.id, |c| if c.content == 0 { o.id } else { c.content });
                        let copy = Identity::Copy { origin: None, offset: o.offset, skipping: o.skipping, verified: n, content };
                        found.push((copy, 3));
                    }
                    Ok(None) if n >= LOOKALIKE_BYTES => {
                        alike = Some((o.path.clone(), "it is longer than that file".into()));
                    }
                    Ok(None) => {}
                    Ok(Some(_)) => {}
                    Err(()) => wait |= eligible,
                }
                continue;
            }
            // Truncated, not noticed yet: only its fingerprint is left. Not that content: it may be a copy
            // of what the file holds now, to be compared once its truncation is noticed (this very poll).
            if by_fingerprint(o.fp) {
                if eligible {
                    found.push((copy(u64::from(o.fp.len)), rank));
                } else {
                    alike = Some((o.path.clone(), "it was created where that file was".into()));
                }
            } else {
                wait |= eligible;
            }
        }
        let now = self.clock.now_ms() / 1000;
        let window = self.copy_window_secs();
        let here = self.resumed_at(path);
        for r in self.retired.iter().chain(here) {
            // Records of truncated content may be originals; a file let go from this very path is only
            // compared to say that the two look alike.
            if r.fp.len < COPY_MIN_BYTES || r.source != *source_name || !(r.is_content() || r.path == path) {
                continue;
            }
            let eligible = r.is_content() && !had_its_name(&r.path, &r.former) && now <= r.at + window;
            if by_fingerprint(r.fp) {
                if eligible {
                    let verified = u64::from(r.fp.len);
                    let copy = Identity::Copy {
                        origin: None,
                        offset: r.offset,
                        skipping: r.skipping,
                        verified,
                        content: r.content,
                    };
                    found.push((copy, 2));
                } else {
                    alike = Some((r.path.clone(), "that file is no longer followed, or it was created there".into()));
                }
            }
        }
        let best = found.iter().map(|(_, rank)| *rank).min();
        found.retain(|(_, rank)| Some(*rank) == best);
        let agree = found.windows(2).all(|w| match (w[0].0, w[1].0) {
            (Identity::Copy { offset: a, origin: oa, .. }, Identity::Copy { offset: b, origin: ob, .. }) => {
                a == b && oa == ob
            }
            _ => false,
        });
        // Any doubt (too few bytes, an original whose truncation is not noticed yet) comes first: what
        // was found may not be all there is.
        match found.first() {
            _ if wait => (Identity::Wait, None),
            Some((c, _)) if agree => (*c, None),
            Some(_) => (Identity::Wait, Some((path.to_path_buf(), "it matches more than one file".into()))),
            None => (Identity::New, alike),
        }
    }

    /// Whether file `j` is a copy (directly or through other copies) of file `i`.
    fn copies(&self, j: usize, i: usize) -> bool {
        let (mut at, id) = (j, self.files[i].id);
        for _ in 0..self.files.len() {
            let Some(Origin::Id(o)) = self.files[at].copy.and_then(|c| c.origin) else { return false };
            if o == id {
                return true;
            }
            let Some(next) = self.files.iter().position(|f| f.id == o) else { return false };
            at = next;
        }
        false
    }

    /// The content file `i` holds, where other files hold it too: a copy's, or its own id when a copy
    /// of it is followed.
    fn group_of(&self, i: usize) -> Option<u64> {
        let f = &self.files[i];
        match f.copy {
            Some(c) if c.content != 0 => Some(c.content),
            Some(_) => None,
            None => self.grouped.contains(&f.id).then_some(f.id),
        }
    }

    /// Before file `i` (of `size` bytes) is read: the lines another file of its content counted
    /// already, and that this one holds alike, are skipped (see `copy_rule`).
    fn catch_up(&mut self, i: usize, size: u64) {
        let Some(content) = self.group_of(i) else { return };
        let mine = self.files[i].offset;
        let ahead = (self.files.iter().enumerate())
            .filter(|(k, g)| {
                *k != i && g.offset > mine && (g.id == content || g.copy.is_some_and(|c| c.content == content))
            })
            .max_by_key(|(_, g)| g.offset)
            .map(|(k, _)| k);
        let Some(k) = ahead else { return };
        let (f, g) = (&self.files[i], &self.files[k]);
        let (Some(ff), Some(gf)) = (f.file.as_ref(), g.handle()) else { return };
        let gsize = gf.metadata().map_or(0, |m| m.len());
        let to = g.offset.min(size).min(gsize);
        let agreed = agreed_lines(ff, &gf, mine, to);
        let (offset, skipping) = if agreed == g.offset { (g.offset, g.skipping) } else { (agreed, false) };
        if offset > mine {
            let f = &mut self.files[i];
            (f.offset, f.skipping) = (offset, skipping);
        }
    }

    /// Counts and logs a decision between two files that look alike.
    fn note_lookalike(&mut self, path: &Path, like: &Path, why: &str, decision: &str) {
        self.lookalikes += 1;
        tracing::warn!(path = %path.display(), like = %like.display(), why, decision, "file starts like another");
    }

    /// Decisions made between files that look alike (a new file starting like one it cannot be a copy
    /// of; a copy that turned out to differ; a file matching several originals): each also logged.
    pub fn lookalike_decisions(&self) -> u64 {
        self.lookalikes
    }

    /// The original followed by `id` was truncated or let go at `offset`: its copies read on from there.
    /// Several copies of one original hold the same bytes (each a prefix of the longest): the longest
    /// reads on, the others follow it.
    fn freeze_copies(&mut self, id: u64, offset: u64, skipping: bool) {
        let linked = |f: &Tracked| f.copy.is_some_and(|c| c.origin == Some(Origin::Id(id)));
        let heir = self.files.iter().filter(|f| linked(f)).max_by_key(|f| f.size()).map(|f| f.id);
        let Some(heir) = heir else { return };
        for f in &mut self.files {
            if !linked(f) {
                continue;
            }
            if let Some(c) = &mut f.copy {
                c.origin = if f.id == heir { None } else { Some(Origin::Id(heir)) };
            }
            if offset > f.offset {
                (f.offset, f.skipping) = (offset, skipping);
            }
        }
    }

    /// Before file `i` is read: decides an undecided file, keeps a copy in step with its original and
    /// checks it against it. True when nothing is to be read from it now. With `finish` (the file is
    /// let go), an undecided file is decided now.
    fn settle(&mut self, i: usize, size: u64, finish: bool) -> bool {
        if self.files[i].undecided {
            if size == 0 {
                return true;
            }
            let f = &self.files[i];
            let Some(file) = &f.file else { return true };
            let (identity, note) = self.identify(f.source, &f.path, file, size, (f.dev, f.ino), Asker::Followed(i));
            let grace = self.orphan_grace();
            let now = self.clock.now_ms();
            let f = &mut self.files[i];
            let identity = match identity {
                // Let go while still in doubt: read it.
                Identity::Wait if finish => Identity::New,
                Identity::Wait if f.undecided_seen.0 != size => {
                    f.undecided_seen = (size, now);
                    return true;
                }
                Identity::Wait if now.saturating_sub(f.undecided_seen.1) < grace => return true,
                // Still not telling after the grace period without growth: where in doubt, read.
                Identity::Wait => Identity::New,
                other => other,
            };
            let f = &mut self.files[i];
            f.undecided = false;
            let Some(file) = &f.file else { return true };
            f.fp = fingerprint(file, size).unwrap_or(Fingerprint::NONE);
            match identity {
                Identity::Copy { origin, offset, skipping, verified, content } => {
                    tracing::info!(path = %f.path.display(), offset, size, "file is a copy of one already read; continuing where that one was");
                    (f.offset, f.skipping) = (offset, skipping);
                    f.copy = Some(CopyState { origin: origin.map(Origin::Id), verified, content });
                    self.grouped.insert(content);
                }
                _ => {
                    if let Some((like, why)) = note {
                        let path = f.path.clone();
                        self.note_lookalike(&path, &like, &why, "read as a new file");
                    }
                    return false;
                }
            }
        }
        let Some(copy) = self.files[i].copy else { return false };
        {
            let f = &mut self.files[i];
            if let Some(file) = &f.file {
                if u64::from(f.fp.len) < FINGERPRINT_BYTES && size > u64::from(f.fp.len) {
                    if let Ok(fp) = fingerprint(file, size) {
                        f.fp = fp;
                    }
                }
            }
        }
        // Find the original among followed files (a checkpoint names it by inode and first bytes).
        let origin = match copy.origin {
            None => None,
            Some(Origin::Id(id)) => self.files.iter().position(|o| o.id == id),
            Some(Origin::Inode { dev, ino, fp }) => self.files.iter().position(|o| {
                o.dev == dev
                    && o.ino == ino
                    && o.fp.len >= fp.len
                    && o.handle().is_some_and(|h| still_starts_with(&h, fp))
            }),
        };
        let Some(j) = origin else {
            // No original to follow: read on from the offset reached, once the bytes are there.
            let f = &mut self.files[i];
            if copy.origin.is_some() {
                f.copy = Some(CopyState { origin: None, ..copy });
            }
            if !f.file.as_ref().is_some_and(|file| still_starts_with(file, f.fp)) {
                // The copy itself was truncated: its reader reads it again from the start.
                f.copy = None;
                return false;
            }
            return size < self.files[i].offset;
        };
        let (o, f) = (&self.files[j], &self.files[i]);
        let mut verified = copy.verified;
        let (Some(ofile), Some(ffile)) = (o.handle(), f.file.as_ref()) else {
            // The original's path names another file now: the next rescan lets it go or finds it.
            return true;
        };
        let osize = ofile.metadata().map_or(0, |m| m.len());
        // An original shorter than what was read from it was truncated (and maybe written anew) since:
        // its bytes are no longer the ones to compare with; its truncation, once read, moves the copy on.
        let intact = osize >= o.offset && still_starts_with(&ofile, o.fp);
        // The bytes the original has not been read past yet are compared again on every look: an
        // original truncated and regrown unseen no longer holds them.
        let from = verified.min(o.offset);
        let to = size.min(VERIFY_BYTES);
        if intact && from < to {
            let differs = match first_difference(ffile, &ofile, from, to.min(osize)) {
                Ok(Some(d)) => Some(d),
                Ok(None) if to > osize => Some(osize),
                Ok(None) => {
                    verified = verified.max(to);
                    None
                }
                Err(()) => None,
            };
            if let Some(d) = differs {
                let (path, like, ooffset, oskipping) = (f.path.clone(), o.path.clone(), o.offset, o.skipping);
                if d < ooffset {
                    // Not a copy after all. Where in doubt, read: from its start, so its lines that did
                    // match the original's are counted again rather than lost.
                    self.note_lookalike(&path, &like, &format!("taken for a copy, it differs at byte {d}"), "read from its start");
                    let f = &mut self.files[i];
                    f.copy = None;
                    (f.offset, f.skipping) = (0, false);
                } else {
                    // Equal as far as the original was read, then not: the original no longer holds
                    // what it was to read (truncated and regrown unseen). Only the copy does.
                    self.note_lookalike(&path, &like, &format!("the original no longer holds the copy's bytes from byte {d}"), "the copy reads on from where the original was read to");
                    let f = &mut self.files[i];
                    f.copy = None;
                    if ooffset > f.offset {
                        (f.offset, f.skipping) = (ooffset, oskipping);
                    }
                }
                return false;
            }
        }
        let (oid, ooffset, oskipping) = (o.id, o.offset, o.skipping);
        let ocontent = o.copy.map_or(o.id, |c| if c.content == 0 { o.id } else { c.content });
        // What the original read since the copy last followed it must be what the copy holds there:
        // an original truncated and regrown unseen (its first bytes too few to tell) read other lines.
        let to = ooffset.min(size).min(osize);
        if f.offset < to {
            if let Ok(Some(d)) = first_difference(ffile, &ofile, f.offset, to) {
                let agreed = agreed_lines(ffile, &ofile, f.offset, d.min(to));
                let (path, like) = (f.path.clone(), o.path.clone());
                self.note_lookalike(&path, &like, &format!("the original read other bytes than the copy holds, from byte {d}"), "the copy reads on from the last line they share");
                let f = &mut self.files[i];
                f.copy = Some(CopyState { origin: None, verified, content: copy.content });
                (f.offset, f.skipping) = (agreed.max(f.offset), false);
                return false;
            }
        }
        let f = &mut self.files[i];
        // A copy resumed from a checkpoint learns the content it copies from its original.
        let content = if copy.content == 0 { ocontent } else { copy.content };
        f.copy = Some(CopyState { origin: Some(Origin::Id(oid)), verified, content });
        self.grouped.insert(content);
        if ooffset > f.offset {
            (f.offset, f.skipping) = (ooffset, oskipping);
        }
        true
    }

    fn retire(&mut self, f: &Tracked, source: String) {
        let now_secs = self.clock.now_ms() / 1000;
        remember(&mut self.retired, f.as_retired(source, now_secs), now_secs);
    }

    /// Reads file `i` from its offset: to its current end, or until `budget` bytes are read (then
    /// true: more to read). With `finish`, a partial last line is counted as a line (the file is being
    /// let go). A closed file is opened again first, identity checked: if its path names another file
    /// now, nothing is read (the next rescan sees the rotation); afterwards it stays open if the bound
    /// allows.
    fn read_file(
        &mut self,
        i: usize,
        finish: bool,
        budget: u64,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> (PollStats, bool) {
        let f = &mut self.files[i];
        let reopened = f.file.is_none();
        if reopened {
            match reopen(&f.path, f.identity()) {
                Ok(Some(file)) => {
                    // Same inode; its first bytes must still be those read: else it was rewritten.
                    f.rewritten_closed = !still_starts_with(&file, f.fp);
                    f.file = Some(file);
                    f.changed = false;
                    self.n_open += 1;
                }
                Ok(None) => return (PollStats::default(), false),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return (PollStats::default(), false),
                Err(e) => {
                    let (source, path) = (f.source, f.path.clone());
                    self.open_failed(source, &path, &e);
                    return (PollStats::default(), false);
                }
            }
        }
        let (stats, more) = self.read_open(i, finish, budget, find, consumer);
        if reopened && !finish && self.n_open > self.open_cap() {
            self.close(i);
        }
        (stats, more)
    }

    fn read_open(
        &mut self,
        i: usize,
        finish: bool,
        budget: u64,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> (PollStats, bool) {
        let max_line = self.limits.max_line_bytes as usize;
        let now_secs = self.clock.now_ms() / 1000;
        let mut stats = PollStats::default();
        let meta = match self.files[i].file.as_ref().map(File::metadata) {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                self.sources[self.files[i].source].health.read_errors += 1;
                tracing::warn!(path = %self.files[i].path.display(), error = %e, "cannot stat followed file");
                return (stats, false);
            }
            None => return (stats, false),
        };
        let size = meta.len();
        {
            let f = &mut self.files[i];
            (f.seen, f.changed, f.dirty) = (Stamp::of(&meta), false, false);
        }
        // Undecided files and copies following their original read nothing here.
        if self.settle(i, size, finish) {
            self.files[i].read_to = size;
            return (stats, false);
        }
        let f = &mut self.files[i];
        let src = &mut self.sources[f.source];
        let Some(file) = f.file.as_ref() else { return (stats, false) };
        // Shorter than our offset, or other first bytes: truncated (and maybe regrown past our offset
        // before we looked, which the size alone would miss).
        let rewritten_closed = std::mem::take(&mut f.rewritten_closed);
        let rewritten = rewritten_closed || size < f.offset || !head_unchanged(file, f.fp);
        if rewritten {
            src.health.truncations += 1;
            tracing::info!(path = %f.path.display(), size, offset = f.offset, "file truncated; reading it again from the start");
            let mut before = f.as_retired(src.config.name.clone(), now_secs);
            let (old_id, offset, skipping) = (f.id, f.offset, f.skipping);
            // The old content may live on in a copy (copytruncate): remember it, but never resume it by
            // inode. Copies following it read on from where it was.
            (before.dev, before.ino, before.copy) = (u64::MAX, u64::MAX, false);
            remember(&mut self.retired, before, now_secs);
            self.freeze_copies(old_id, offset, skipping);
            let id = self.new_id();
            // New content is a new stream: what the old one held back is flushed.
            let source = self.files[i].source;
            consumer.close(self.files[i].stream);
            let stream = self.new_stream();
            consumer.open(stream, source, false);
            let f = &mut self.files[i];
            f.stream = stream;
            f.id = id;
            f.offset = 0;
            f.skipping = false;
            f.fp = f.file.as_ref().and_then(|file| fingerprint(file, size).ok()).unwrap_or(Fingerprint::NONE);
        }
        let f = &mut self.files[i];
        let Some(file) = f.file.as_ref() else { return (stats, false) };
        if u64::from(f.fp.len) < FINGERPRINT_BYTES && size > u64::from(f.fp.len) {
            if let Ok(fp) = fingerprint(file, size) {
                f.fp = fp;
            }
        }
        self.catch_up(i, size);
        let f = &mut self.files[i];
        let Some(file) = f.file.as_ref() else { return (stats, false) };
        let stream = f.stream;
        let src = &mut self.sources[f.source];
        let mut splitter = Splitter::resume(max_line, f.skipping);
        let mut sink = StreamLines { consumer, stream };
        // A file's first block is looked at once for NULs: once past offset 0 it is not again.
        let mut probe = f.offset == 0;
        let mut more = false;
        while f.offset < size {
            if stats.bytes >= budget {
                // Its turn is over; the other files' come first.
                more = true;
                break;
            }
            let want = ((size - f.offset) as usize).min(self.buf.len());
            let n = match file.read_at(&mut self.buf[..want], f.offset) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    src.health.read_errors += 1;
                    tracing::warn!(path = %f.path.display(), error = %e, "read error; retrying on the next poll");
                    break;
                }
            };
            let at_end = f.offset + n as u64 >= size;
            let split = splitter.split(&self.buf[..n], at_end && finish, find, &mut sink);
            if std::mem::take(&mut probe) && split.consumed > 0 && crate::lines::looks_binary(&self.buf[..n]) {
                src.health.binary_files += 1;
                tracing::warn!(path = %f.path.display(), "file looks binary (a NUL in its first block); reading it as text");
            }
            stats.lines += split.lines;
            src.health.lines_truncated += split.cut;
            f.offset += split.consumed as u64;
            stats.bytes += split.consumed as u64;
            if split.consumed == 0 {
                break; // A partial last line: it waits for its newline.
            }
        }
        f.skipping = splitter.skipping && !finish;
        if !more {
            f.read_to = size;
        }
        if stats.bytes > 0 {
            f.last_data = self.clock.now_ms();
        }
        if stats.lines > 0 {
            src.health.last_line_ms = Some(self.clock.now_ms());
        }
        src.health.lines += stats.lines;
        src.health.bytes += stats.bytes;
        (stats, more)
    }

    /// Graceful stop: one last look (a file rotated out of the watched set since the last poll would
    /// otherwise never be finished), then the final checkpoint.
    pub fn shutdown(
        &mut self,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> io::Result<bool> {
        self.poll_rounds(true, true, find, consumer);
        // Rotated-away files will not be found again after a restart: finish them now.
        while let Some(i) = self.files.iter().position(|f| f.orphaned.is_some()) {
            self.let_go(i, find, consumer);
        }
        self.checkpoint()
    }

    /// Writes the checkpoint if anything changed since the last write. Ok(true) when written.
    pub fn checkpoint(&mut self) -> io::Result<bool> {
        // Written as it is encoded, one entry at a time: 100,000 files never sit in memory twice.
        // Encoded once into a hash first: an unchanged checkpoint is not written (nor fsynced).
        let mut hash = checkpoint::Fnv::default();
        self.encode_checkpoint(&mut hash)?;
        if self.last_saved == Some(hash.0) {
            return Ok(false);
        }
        checkpoint::save_with(&self.state_path, |w| self.encode_checkpoint(w))?;
        self.last_saved = Some(hash.0);
        Ok(true)
    }

    fn encode_checkpoint(&self, w: &mut dyn io::Write) -> io::Result<()> {
        let entry = |r: &Retired, retired_at: Option<u64>| Entry {
            source: r.source.clone(),
            path: r.path.display().to_string(),
            dev: r.dev,
            ino: r.ino,
            fingerprint: format!("{:016x}", r.fp.hash),
            fingerprint_bytes: r.fp.len,
            offset: r.offset,
            skipping: r.skipping,
            retired_at,
            copy: r.copy,
            copy_of: r.copy_of.map(|(dev, ino, fp)| checkpoint::Origin {
                dev,
                ino,
                fingerprint: format!("{:016x}", fp.hash),
                fingerprint_bytes: fp.len,
            }),
            former_paths: r.former.iter().map(|p| p.display().to_string()).collect(),
            content: r.content,
            copy_content: r.copy_content,
        };
        let now_secs = self.clock.now_ms() / 1000;
        let mut out = checkpoint::Writer::begin(w)?;
        for f in &self.files {
            let mut r = f.as_retired(self.sources[f.source].config.name.clone(), now_secs);
            r.copy_of = self.origin_of(f);
            out.entry(&entry(&r, None))?;
        }
        for r in self.retired.iter().chain(self.resume.values().flatten()) {
            out.entry(&entry(r, Some(r.at)))?;
        }
        out.end()
    }

    /// The original a copy follows, as the checkpoint names it.
    fn origin_of(&self, f: &Tracked) -> Option<(u64, u64, Fingerprint)> {
        match f.copy?.origin? {
            Origin::Id(id) => self.files.iter().find(|o| o.id == id).map(|o| (o.dev, o.ino, o.fp)),
            Origin::Inode { dev, ino, fp } => Some((dev, ino, fp)),
        }
    }

    /// Followed files: (source, path, offset), for tests and the status page.
    pub fn files(&self) -> Vec<(String, PathBuf, u64)> {
        self.files.iter().map(|f| (self.sources[f.source].config.name.clone(), f.path.clone(), f.offset)).collect()
    }
}

/// A closed file whose path no longer names it, looked for in that path's directory by inode and
/// opened, identity checked. `listings`: each directory listed once per rescan (names by inode, from
/// the directory entries: no stat per entry), however many of its files were rotated.
fn find_in_dir(
    listings: &mut HashMap<PathBuf, HashMap<u64, PathBuf>>,
    path: &Path,
    identity: (u64, u64, Option<i128>),
) -> Option<(PathBuf, File)> {
    use std::os::unix::fs::DirEntryExt;
    let dir = path.parent()?;
    let listing = listings.entry(dir.to_path_buf()).or_insert_with(|| {
        let entries = std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok);
        entries.map(|e| (e.ino(), e.path())).collect()
    });
    let path = listing.get(&identity.1)?.clone();
    let file = reopen(&path, identity).ok().flatten()?;
    Some((path, file))
}

/// Keeps a file let go for copy detection and returns, bounded by age and count.
fn remember(retired: &mut VecDeque<Retired>, r: Retired, now_secs: u64) {
    retired.push_back(r);
    let oldest = now_secs.saturating_sub(RETIRED_SECS);
    retired.retain(|r| r.at >= oldest);
    while retired.len() > RETIRED_MAX {
        retired.pop_front();
    }
}

/// The splitter's view of a consumer: one stream.
/// The splitter's lines into one stream of a consumer (also `read_once`'s, for gzip files).
pub struct StreamLines<'a, C> {
    pub consumer: &'a mut C,
    pub stream: u64,
}

impl<C: Consumer> LineSink for StreamLines<'_, C> {
    fn wants_every_line(&self) -> bool {
        self.consumer.wants_every_line(self.stream)
    }
    fn line(&mut self, _line_no: u64, line: &[u8], _cut: bool) {
        self.consumer.line(self.stream, line);
    }
}

/// Start-at-end lands after the last complete line, so a line being written is counted once done.
fn end_of_last_line(file: &File, size: u64) -> u64 {
    let mut pos = size;
    let mut buf = [0u8; 4096];
    while pos > 0 {
        let start = pos.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(pos - start) as usize];
        if file.read_exact_at(chunk, start).is_err() {
            return size;
        }
        if let Some(nl) = memrchr(b'\n', chunk) {
            return start + nl as u64 + 1;
        }
        pos = start;
    }
    0
}

/// The deepest directory of a path or glob without wildcards: what inotify watches.
fn watch_dir_of(p: &str) -> PathBuf {
    let path = Path::new(p);
    if !p.contains(['*', '?', '[']) {
        return if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        };
    }
    let mut dir = PathBuf::new();
    for c in path.components() {
        if c.as_os_str().to_string_lossy().contains(['*', '?', '[']) {
            break;
        }
        dir.push(c);
    }
    if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_dirs_stop_at_the_first_wildcard() {
        assert_eq!(watch_dir_of("/var/log/a/*.log"), PathBuf::from("/var/log/a"));
        assert_eq!(watch_dir_of("/var/log/**/x.log"), PathBuf::from("/var/log"));
        assert_eq!(watch_dir_of("/var/log/a/app.log"), PathBuf::from("/var/log/a"));
        assert_eq!(watch_dir_of("*.log"), PathBuf::from("."));
    }

    #[test]
    fn fnv_is_stable() {
        // Checkpoints outlive builds: the hash must never change.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
