//! The tailer: follows every source's files and counts each line exactly once.
//!
//! File semantics, written down like mtail's `filestream.go`:
//! - **Identity** is device + inode, confirmed by a fingerprint (FNV-1a of the first ≤ 256 bytes), so
//!   an inode reused by another file after a restart is not resumed at a stale offset.
//! - **Rotation**: the path now names another inode, or none. The file we follow is still read through
//!   the handle we hold (a logger may write to it until it reopens) until it has been quiet for two
//!   poll intervals; then its partial last line is flushed as a line and it is let go (at shutdown, at
//!   once).
//! - **Rename within the watched set** (`app.log` → `app.log.1` that the glob also matches) is the same
//!   file: followed on under its new name, never read twice.
//! - **Truncation**: size below our offset, or first bytes no longer matching the fingerprint
//!   (truncated and regrown between two looks) ⇒ read again from 0.
//! - **A copy of a file already read** (same fingerprint over ≥ 64 bytes: copytruncate's
//!   `app.log-20261125`) starts at the offset reached in the original; only what we had not read yet
//!   is counted.
//! - **Partial last lines** wait for their newline. A line longer than `max_line_bytes` is cut: its
//!   head is classified and counted (`lines_truncated`), the rest is skipped up to the newline.
//! - **Offsets** advance only past counted lines, so a checkpoint never covers an uncounted line and
//!   never leaves a counted one behind it.
//! - **Unreadable files** are logged (once until they recover), counted as read errors, retried on
//!   every poll.
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
use crate::lines::{LineSink, Splitter};
use checkpoint::{Checkpoint, Entry};

/// The fingerprint covers at most this many leading bytes.
pub const FINGERPRINT_BYTES: u64 = 256;
/// A file is taken for a copy of another only on at least this many identical leading bytes.
pub const COPY_MIN_BYTES: u32 = 64;
/// Files let go are remembered this long (and at most `RETIRED_MAX`) for copies and returns.
const RETIRED_SECS: u64 = 24 * 3600;
const RETIRED_MAX: usize = 1024;
const READ_CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u32,
    hash: u64,
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
    Ok(Fingerprint { len, hash: hash_prefix(file, len)?.unwrap_or(0) })
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
    /// truncation).
    fn open(&mut self, stream: u64, source: usize);
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
    pub lag_bytes: i64,
    /// When the newest line was read, Unix ms.
    pub last_line_ms: Option<u64>,
}

struct SourceRt {
    config: Source,
    excludes: Vec<glob::Pattern>,
    health: SourceHealth,
}

impl SourceRt {
    fn new(config: Source) -> SourceRt {
        SourceRt {
            excludes: config.exclude.iter().filter_map(|e| glob::Pattern::new(e).ok()).collect(),
            health: SourceHealth::default(),
            config,
        }
    }

    fn excluded(&self, path: &Path) -> bool {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.excludes.iter().any(|p| p.matches_path(path) || p.matches(&name))
    }
}

/// A file being followed.
struct Tracked {
    source: usize,
    path: PathBuf,
    file: File,
    dev: u64,
    ino: u64,
    fp: Fingerprint,
    offset: u64,
    skipping: bool,
    /// Found empty: whether it is a new log or a copy being written (copytruncate) is decided when its
    /// first bytes arrive.
    undecided: bool,
    /// When its path stopped naming it (rotated away or deleted), clock ms: it is still read until quiet.
    orphaned: Option<u64>,
    /// When a read last found new bytes, clock ms.
    last_data: u64,
    /// The consumer's stream for this file's bytes.
    stream: u64,
}

impl Tracked {
    fn as_retired(&self, source: String, now_secs: u64) -> Retired {
        Retired {
            source,
            path: self.path.clone(),
            dev: self.dev,
            ino: self.ino,
            fp: self.fp,
            offset: self.offset,
            skipping: self.skipping,
            at: now_secs,
        }
    }
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
    state_path: PathBuf,
    last_saved: Option<Vec<u8>>,
    /// Until the first discovery, `start_at = end` applies to files without a checkpoint.
    started: bool,
    /// Paths that failed to open, and whether that was already logged.
    failing: HashMap<PathBuf, u64>,
    buf: Vec<u8>,
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollStats {
    pub lines: u64,
    pub bytes: u64,
}

impl Tailer {
    /// Loads the checkpoint from `state_dir`. A checkpoint that cannot be trusted is moved aside and
    /// reported (the returned warning); the tailer then starts as if there were none.
    pub fn new(setup: Setup, state_dir: &Path, clock: Arc<dyn Clock>) -> (Tailer, Option<LoadWarning>) {
        let now_secs = clock.now_ms() / 1000;
        let state_path = checkpoint::path_in(state_dir);
        let mut warning = None;
        let mut retired = VecDeque::new();
        match checkpoint::load(&state_path) {
            Ok(Some(c)) => {
                for e in c.files {
                    let Ok(hash) = u64::from_str_radix(&e.fingerprint, 16) else { continue };
                    retired.push_back(Retired {
                        source: e.source,
                        path: PathBuf::from(e.path),
                        dev: e.dev,
                        ino: e.ino,
                        fp: Fingerprint { len: e.fingerprint_bytes.min(FINGERPRINT_BYTES as u32), hash },
                        offset: e.offset,
                        skipping: e.skipping,
                        at: e.retired_at.unwrap_or(now_secs),
                    });
                }
            }
            Ok(None) => {}
            Err(e) => {
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
            state_path,
            last_saved: None,
            started: false,
            failing: HashMap::new(),
            buf: vec![0; buf_len],
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
                    self.retire(&f, name.clone());
                }
            }
        }
        self.files = kept;
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
    /// everything new in every file.
    ///
    /// `find` is the literal prefilter: where the next line worth a look starts.
    pub fn poll(
        &mut self,
        rescan: bool,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> PollStats {
        if rescan || !self.started {
            self.discover(find, consumer);
            self.started = true;
        }
        self.tell(consumer);
        let mut stats = PollStats::default();
        for i in 0..self.files.len() {
            let s = self.read_file(i, false, find, consumer);
            stats.lines += s.lines;
            stats.bytes += s.bytes;
        }
        stats
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
        for f in &self.files {
            let size = f.file.metadata().map_or(f.offset, |m| m.len());
            lag[f.source] += size.saturating_sub(f.offset) as i64;
            count[f.source] += 1;
        }
        self.sources
            .iter_mut()
            .enumerate()
            .map(|(i, s)| {
                let last_line_ms = s.health.last_line_ms;
                let h = std::mem::replace(&mut s.health, SourceHealth { last_line_ms, ..SourceHealth::default() });
                (s.config.name.clone(), SourceHealth { files: count[i], lag_bytes: lag[i], ..h })
            })
            .collect()
    }

    fn new_stream(&mut self) -> u64 {
        self.next_stream += 1;
        self.next_stream
    }

    fn expand(&self, source: usize) -> Vec<(PathBuf, Metadata)> {
        let mut out = Vec::new();
        for p in &self.sources[source].config.paths {
            let candidates: Vec<PathBuf> = if p.contains(['*', '?', '[']) {
                glob::glob(p).map(|g| g.filter_map(Result::ok).collect()).unwrap_or_default()
            } else if Path::new(p).is_dir() {
                std::fs::read_dir(p).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default()
            } else {
                vec![PathBuf::from(p)]
            };
            for path in candidates {
                let Ok(meta) = std::fs::metadata(&path) else { continue };
                if meta.is_file() && !self.sources[source].excluded(&path) {
                    out.push((path, meta));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn discover(&mut self, find: &impl Fn(&[u8], usize) -> Option<usize>, consumer: &mut impl Consumer) {
        // Every candidate once, first source wins; one inode under two names is one file.
        let mut candidates: Vec<(usize, PathBuf, Metadata)> = Vec::new();
        for s in 0..self.sources.len() {
            for (path, meta) in self.expand(s) {
                if !candidates.iter().any(|(_, p, m)| *p == path || (m.dev() == meta.dev() && m.ino() == meta.ino())) {
                    candidates.push((s, path, meta));
                }
            }
        }
        // Followed files whose path no longer names them: renamed within the set, or let go.
        let mut i = 0;
        while i < self.files.len() {
            let f = &self.files[i];
            let same = |m: &Metadata| m.dev() == f.dev && m.ino() == f.ino;
            if std::fs::metadata(&f.path).is_ok_and(|m| same(&m)) {
                i += 1;
                continue;
            }
            if let Some((_, new_path, _)) = candidates.iter().find(|(_, _, m)| same(m)) {
                tracing::info!(from = %f.path.display(), to = %new_path.display(), "followed file renamed within the watched set");
                self.files[i].path = new_path.clone();
                self.files[i].orphaned = None;
                i += 1;
                continue;
            }
            // Rotated away or deleted. A logger may still write through its open handle until it
            // reopens: keep reading until the file has been quiet for the grace period, then flush its
            // last partial line and let go.
            let grace = self.orphan_grace();
            let now = self.clock.now_ms();
            let f = &mut self.files[i];
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
        for (source, path, meta) in candidates {
            if self.files.iter().any(|f| f.dev == meta.dev() && f.ino == meta.ino()) {
                continue;
            }
            if self.files.len() as u64 >= self.limits.max_files {
                self.open_failed(
                    source,
                    &path,
                    &io::Error::other(format!("max_files ({}) reached", self.limits.max_files)),
                );
                continue;
            }
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    self.open_failed(source, &path, &e);
                    continue;
                }
            };
            if self.failing.remove(&path).is_some() {
                tracing::info!(path = %path.display(), "file readable again");
            }
            let size = meta.len();
            let Ok(fp) = fingerprint(&file, size) else {
                self.open_failed(source, &path, &io::Error::other("cannot read its first bytes"));
                continue;
            };
            let (offset, skipping) = self.start_offset(source, &path, &file, &meta, fp);
            tracing::debug!(path = %path.display(), offset, "following file");
            let undecided = size == 0;
            let stream = self.new_stream();
            consumer.open(stream, source);
            let last_data = self.clock.now_ms();
            self.files.push(Tracked {
                source,
                path,
                file,
                dev: meta.dev(),
                ino: meta.ino(),
                fp,
                offset,
                skipping,
                undecided,
                orphaned: None,
                last_data,
                stream,
            });
        }
    }

    /// How long (ms) a rotated-away or deleted file is still read after its last new bytes.
    fn orphan_grace(&self) -> u64 {
        2 * self.limits.poll_interval_ms
    }

    /// Reads a file to its end (its partial last line counted as a line) and stops following it.
    fn let_go(&mut self, i: usize, find: &impl Fn(&[u8], usize) -> Option<usize>, consumer: &mut impl Consumer) {
        self.read_file(i, true, find, consumer);
        let f = self.files.swap_remove(i);
        consumer.close(f.stream);
        tracing::info!(path = %f.path.display(), offset = f.offset, "rotated-away file read to its end and let go");
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

    /// Where to start a file seen for the first time.
    fn start_offset(
        &mut self,
        source: usize,
        path: &Path,
        file: &File,
        meta: &Metadata,
        fp: Fingerprint,
    ) -> (u64, bool) {
        let size = meta.len();
        let matches = |r: &Retired| -> bool {
            r.fp.len <= fp.len && hash_prefix(file, r.fp.len).ok().flatten() == Some(r.fp.hash)
        };
        // The same file, known from the checkpoint or let go earlier (a directory that came back). An
        // empty fingerprint proves nothing: a reused inode must not pass for the file that had it.
        if let Some(k) =
            self.retired.iter().position(|r| r.fp.len > 0 && r.dev == meta.dev() && r.ino == meta.ino() && matches(r))
        {
            let r = self.retired.remove(k).unwrap_or_else(|| unreachable!());
            if r.offset <= size {
                return (r.offset, r.skipping);
            }
            tracing::info!(path = %path.display(), "checkpoint offset beyond the file's size; reading it from the start");
            return (0, false);
        }
        // A copy of a file already read: continue where the original was.
        if let Some((offset, skipping)) = self.copy_origin(file, fp, None) {
            tracing::info!(path = %path.display(), offset, "file is a copy of one already read; continuing where that one was");
            return if offset <= size { (offset, skipping) } else { (size, false) };
        }
        // A file replaced while we were stopped is new; only never-seen files honour start_at = end.
        let known_path = self.retired.iter().any(|r| r.path == path);
        if !self.started && !known_path && self.sources[source].config.start_at == StartAt::End {
            return (end_of_last_line(file, size), false);
        }
        (0, false)
    }

    /// The offset reached in a followed or retired file whose first bytes this file repeats.
    fn copy_origin(&self, file: &File, fp: Fingerprint, except: Option<usize>) -> Option<(u64, bool)> {
        if fp.len < COPY_MIN_BYTES {
            return None;
        }
        let same = |len: u32, hash: u64| {
            len >= COPY_MIN_BYTES && len <= fp.len && hash_prefix(file, len).ok().flatten() == Some(hash)
        };
        self.files
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != except)
            .find(|(_, f)| same(f.fp.len, f.fp.hash))
            .map(|(_, f)| (f.offset, f.skipping))
            .or_else(|| self.retired.iter().rev().find(|r| same(r.fp.len, r.fp.hash)).map(|r| (r.offset, r.skipping)))
    }

    fn retire(&mut self, f: &Tracked, source: String) {
        let now_secs = self.clock.now_ms() / 1000;
        remember(&mut self.retired, f.as_retired(source, now_secs), now_secs);
    }

    /// Reads file `i` from its offset to its current end. With `finish`, a partial last line is
    /// counted as a line (the file is being let go).
    fn read_file(
        &mut self,
        i: usize,
        finish: bool,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> PollStats {
        let max_line = self.limits.max_line_bytes as usize;
        let now_secs = self.clock.now_ms() / 1000;
        let f = &mut self.files[i];
        let src = &mut self.sources[f.source];
        let mut stats = PollStats::default();
        let size = match f.file.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                src.health.read_errors += 1;
                tracing::warn!(path = %f.path.display(), error = %e, "cannot stat followed file");
                return stats;
            }
        };
        // Shorter than our offset, or other first bytes: truncated (and maybe regrown past our offset
        // before we looked, which the size alone would miss).
        let rewritten =
            size < f.offset || (f.fp.len > 0 && hash_prefix(&f.file, f.fp.len).ok().flatten() != Some(f.fp.hash));
        if rewritten {
            src.health.truncations += 1;
            tracing::info!(path = %f.path.display(), size, offset = f.offset, "file truncated; reading it again from the start");
            let before = f.as_retired(src.config.name.clone(), now_secs);
            // The old content may live on in a copy (copytruncate): remember it, but never resume it by inode.
            remember(&mut self.retired, Retired { dev: u64::MAX, ino: u64::MAX, ..before }, now_secs);
            // New content is a new stream: what the old one held back is flushed.
            let source = f.source;
            consumer.close(f.stream);
            let stream = self.new_stream();
            consumer.open(stream, source);
            let f = &mut self.files[i];
            f.stream = stream;
            f.offset = 0;
            f.skipping = false;
            f.fp = fingerprint(&f.file, size).unwrap_or(Fingerprint { len: 0, hash: 0 });
        }
        if self.files[i].undecided && size > 0 {
            self.files[i].undecided = false;
            let fp = fingerprint(&self.files[i].file, size).unwrap_or(Fingerprint { len: 0, hash: 0 });
            if let Some((offset, skipping)) = self.copy_origin(&self.files[i].file, fp, Some(i)) {
                let f = &mut self.files[i];
                tracing::info!(path = %f.path.display(), offset, "file is a copy of one already read; continuing where that one was");
                (f.offset, f.skipping) = if offset <= size { (offset, skipping) } else { (size, false) };
            }
        }
        let f = &mut self.files[i];
        if u64::from(f.fp.len) < FINGERPRINT_BYTES && size > u64::from(f.fp.len) {
            if let Ok(fp) = fingerprint(&f.file, size) {
                f.fp = fp;
            }
        }
        let stream = f.stream;
        let src = &mut self.sources[f.source];
        let mut splitter = Splitter::resume(max_line, f.skipping);
        let mut sink = Lines { consumer, stream };
        while f.offset < size {
            let want = ((size - f.offset) as usize).min(self.buf.len());
            let n = match f.file.read_at(&mut self.buf[..want], f.offset) {
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
            stats.lines += split.lines;
            src.health.lines_truncated += split.cut;
            f.offset += split.consumed as u64;
            stats.bytes += split.consumed as u64;
            if split.consumed == 0 {
                break; // A partial last line: it waits for its newline.
            }
        }
        f.skipping = splitter.skipping && !finish;
        if stats.bytes > 0 {
            f.last_data = self.clock.now_ms();
        }
        if stats.lines > 0 {
            src.health.last_line_ms = Some(self.clock.now_ms());
        }
        src.health.lines += stats.lines;
        src.health.bytes += stats.bytes;
        stats
    }

    /// Graceful stop: one last look (a file rotated out of the watched set since the last poll would
    /// otherwise never be finished), then the final checkpoint.
    pub fn shutdown(
        &mut self,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> io::Result<bool> {
        self.poll(true, find, consumer);
        // Rotated-away files will not be found again after a restart: finish them now.
        while let Some(i) = self.files.iter().position(|f| f.orphaned.is_some()) {
            self.let_go(i, find, consumer);
        }
        self.checkpoint()
    }

    /// Writes the checkpoint if anything changed since the last write. Ok(true) when written.
    pub fn checkpoint(&mut self) -> io::Result<bool> {
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
        };
        let now_secs = self.clock.now_ms() / 1000;
        let mut files: Vec<Entry> = self
            .files
            .iter()
            .map(|f| entry(&f.as_retired(self.sources[f.source].config.name.clone(), now_secs), None))
            .collect();
        files.extend(self.retired.iter().map(|r| entry(r, Some(r.at))));
        let bytes = checkpoint::encode(&Checkpoint { version: checkpoint::VERSION, files });
        if self.last_saved.as_deref() == Some(&bytes[..]) {
            return Ok(false);
        }
        checkpoint::save_bytes(&self.state_path, &bytes)?;
        self.last_saved = Some(bytes);
        Ok(true)
    }

    /// Followed files: (source, path, offset), for tests and the status page.
    pub fn files(&self) -> Vec<(String, PathBuf, u64)> {
        self.files.iter().map(|f| (self.sources[f.source].config.name.clone(), f.path.clone(), f.offset)).collect()
    }
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
struct Lines<'a, C> {
    consumer: &'a mut C,
    stream: u64,
}

impl<C: Consumer> LineSink for Lines<'_, C> {
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
