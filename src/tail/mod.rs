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
//! - **New file or copy?** and **the copy rule**: stated, with every promise, in `copy_rule.rs`.
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
//! Rooms (each file's own doc says what it promises; none imports a room that imports it):
//! - `identity.rs`: fingerprints, stat stamps, birth times, byte comparison: what makes a file *that* file;
//! - `copy_rule.rs`: the copy rule as pure functions of what is known about two files;
//! - `files.rs`: what is kept per followed file, per file let go, per source;
//! - `discovery.rs`: paths → candidates, renames and rotations seen by a rescan, files let go;
//! - `identify.rs`: what a file that appears is (resumed, new, a copy) and where it starts;
//! - `copies.rs`: keeping copies in step with their originals and with each other;
//! - `reading.rs`: offsets, rounds, budgets, truncation, the splitter;
//! - `checkpoint.rs` (the format) and `checkpointer.rs` (what of the follower goes in it);
//! - `clock.rs`, `consumer.rs`: what the follower is given (time) and hands out (lines).
//! The rooms below `mod.rs` that extend `Tailer` (`discovery`, `identify`, `copies`, `reading`,
//! `checkpointer`) import `mod.rs`; `mod.rs` imports only the leaves (`identity`, `files`, `clock`,
//! `consumer`, `checkpoint`, `copy_rule`).
//!
//! What it owns and what it does not: which bytes of which file are new, identity, rotation, offsets and
//! checkpoints. Lines go through the one splitter (`lines::Splitter`) to a `Consumer`, one stream per
//! followed file (a new stream when a file is truncated); what a line means is the consumer's business.
//! Time comes from an injected `Clock`, so tests drive the grace periods instead of sleeping. Its own
//! health (lines, bytes, rotations, read errors, lag…) is handed out by `take_health`, not counted here.

pub mod checkpoint;
mod checkpointer;
mod clock;
mod consumer;
mod copies;
mod copy_rule;
mod discovery;
mod files;
mod identify;
mod identity;
mod limits;
mod reading;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::source::Source;
use files::{Retired, SourceRt, Tracked};
use identity::{FINGERPRINT_BYTES, Fingerprint, Stamp, path_key};
pub use limits::{DEFAULT_CLOSE_IDLE_SECS, DEFAULT_MAX_OPEN_FILES, DEFAULT_READ_BUDGET_BYTES, Limits};

/// How much a read asks for at once (the buffer is this plus the longest line).
const READ_CHUNK: usize = 256 * 1024;

pub use clock::{Clock, ManualClock, SystemClock};
pub use consumer::{Consumer, StreamLines};
pub use files::SourceHealth;
pub use identity::{COPY_MIN_BYTES, VERIFY_BYTES};

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
            // Rebuilt where files came and went; a copy decided between rescans adds its own.
            self.grouped = self.files.iter().filter_map(|f| f.copy.map(|c| c.content)).filter(|&c| c != 0).collect();
        }
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
            f.dirty |= f.seen.size != f.read_to;
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

    /// Followed files: (source, path, offset), for tests and the status page.
    pub fn files(&self) -> Vec<(String, PathBuf, u64)> {
        self.files.iter().map(|f| (self.sources[f.source].config.name.clone(), f.path.clone(), f.offset)).collect()
    }
}
