//! Sources of batches (`mode = "batches"`): a directory tree into which whole files land, each read
//! once, when it is complete — what CLS's shipping to COS writes and a sync copies down.
//!
//! Semantics:
//! - **Which files**: every regular file under a source's PATHs at any depth (a directory is walked
//!   recursively; a glob is expanded, `**` included; a file is itself), except names starting with `.`
//!   (a sync's temporary files) and the source's `exclude` globs. Symlinked directories are not walked
//!   (no loops).
//! - **When**: a batch is read once it has *settled*: its size and mtime seen unchanged for
//!   `settle_secs` (default 5) of the injected clock, looked at on every rescan; or at once when it
//!   was renamed into place (inotify's moved-to: a sync that writes `.name.tmp` and renames it).
//!   Batches ready together are read oldest name first (CLS names batches after their shipping
//!   time), then by path.
//! - **How**: its compression is told by its magic bytes (`decompress`: gzip, lzop, snappy framing,
//!   hadoop-snappy, none), whatever its name; its lines go through the one splitter to the consumer as
//!   one stream of the source, which reads them in the source's format (CLS JSON, CSV per
//!   `[sources.csv]`, raw = text). A source's batches are contiguous slices of one log, so a batch's
//!   stream is not cut at its start, except the source's very first batch.
//! - **Once**: `ledger` remembers every batch read (bounded, forgetting deleted ones) and is written
//!   with the follower's checkpoint (`save`). A batch read before and changed since (same path,
//!   another size) is not read again: logged once, counted as a read error.
//! - **Bad batches** (corrupt or truncated compression, unreadable): the lines decoded before the fault
//!   are counted (they are the batch's), the fault is logged naming the file and counted as a read
//!   error of the source, and the batch is done: reading it again would count those lines twice.
//! - **Late data** is the state's and the view's business: each source's shipping interval
//!   (`interval_secs`, default 900) is handed to them (`config::batch_intervals`), and a minute is complete only
//!   when every batch source's watermark has passed it.

pub mod decompress;
mod framing;
pub mod ledger;
mod lzo1x;
mod lzop;
mod snappy;

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::inputs::{self, NoFile};
use crate::lines::{self, ScanStats};
use crate::tail::{Consumer, SourceHealth, StreamLines};
use ledger::{Entry, Ledger};

pub use crate::batch_options::{BatchOptions, DEFAULT_INTERVAL_SECS, DEFAULT_SETTLE_SECS, Mode, SourceSpec};

/// Streams of batches are numbered from here up, far from the follower's and `read_once`'s.
const FIRST_STREAM: u64 = 1 << 62;
/// Directories walked below a PATH at most.
const MAX_DEPTH: usize = 32;

/// A file seen and not read yet: what it looked like, and since when (clock ms).
struct Seen {
    spec: usize,
    size: u64,
    mtime_ns: i128,
    since_ms: u64,
}

struct Spec {
    index: usize,
    name: String,
    paths: Vec<String>,
    excludes: Vec<glob::Pattern>,
    settle_ms: u64,
}

pub struct Batches {
    ledger: Ledger,
    specs: Vec<Spec>,
    seen: HashMap<PathBuf, Seen>,
    renamed: HashSet<PathBuf>,
    /// Batches read before and changed since, already logged.
    changed: HashSet<PathBuf>,
    max_line_bytes: usize,
    next_stream: u64,
    health: HashMap<String, SourceHealth>,
    /// Per source: its PATHs that named no file at the last rescan, and why.
    unmatched: HashMap<String, Vec<(String, NoFile)>>,
}

fn mtime_ns(m: &std::fs::Metadata) -> i128 {
    i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
}

fn hidden(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
}

/// Every regular file under `dir`, at any depth (symlinked directories not followed).
fn walk(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, std::fs::Metadata)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if depth < MAX_DEPTH && !hidden(&path) {
                // A subdirectory that vanished or cannot be listed: its files wait for the next rescan.
                let _ = walk(&path, depth + 1, out);
            }
        } else if let Ok(m) = std::fs::metadata(&path) {
            if m.is_file() {
                out.push((path, m));
            }
        }
    }
    Ok(())
}

/// The files of one batch PATH, or why none (`recursive`: a directory is walked at every depth).
pub fn expand(spec: &str, recursive: bool) -> Result<Vec<(PathBuf, std::fs::Metadata)>, NoFile> {
    let path = Path::new(spec);
    if recursive && !inputs::is_glob(spec) && path.is_dir() {
        let mut out = Vec::new();
        walk(path, 0, &mut out).map_err(|e| NoFile::Unreadable(e.to_string()))?;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        return if out.is_empty() { Err(NoFile::EmptyDir) } else { Ok(out) };
    }
    let e = inputs::expand(spec, inputs::Mode::Follow, &|_| false);
    match e.problem {
        Some(why) => Err(why),
        None => Ok(e.files),
    }
}

/// `check`'s files for one PATH: the one path grammar (`inputs::expand`, anything readable named
/// explicitly), and with `recursive` a directory walked at every depth (names starting with `.` skipped,
/// as a sync's temporary files).
pub fn expand_for_check(spec: &str, recursive: bool) -> Result<Vec<PathBuf>, NoFile> {
    let path = Path::new(spec);
    if recursive && !inputs::is_glob(spec) && path.is_dir() {
        let files = expand(spec, true)?;
        return Ok(files.into_iter().map(|(p, _)| p).filter(|p| !hidden(p)).collect());
    }
    let e = inputs::expand(spec, inputs::Mode::ReadOnce, &|_| false);
    match e.problem {
        Some(why) => Err(why),
        None => Ok(e.files.into_iter().map(|(p, _)| p).collect()),
    }
}

impl Batches {
    pub fn new(state_dir: &Path, sources: &[SourceSpec], max_line_bytes: usize) -> (Batches, Option<String>) {
        let (ledger, warning) = Ledger::load(state_dir, ledger::DEFAULT_MAX);
        let mut b = Batches {
            ledger,
            specs: Vec::new(),
            seen: HashMap::new(),
            renamed: HashSet::new(),
            changed: HashSet::new(),
            max_line_bytes,
            next_stream: FIRST_STREAM,
            health: HashMap::new(),
            unmatched: HashMap::new(),
        };
        b.reload(sources, max_line_bytes);
        (b, warning)
    }

    /// New sources (a reload): the batch sources among them.
    pub fn reload(&mut self, sources: &[SourceSpec], max_line_bytes: usize) {
        self.max_line_bytes = max_line_bytes;
        self.specs = sources
            .iter()
            .map(|s| Spec {
                index: s.index,
                name: s.name.clone(),
                paths: s.paths.clone(),
                excludes: inputs::compile_excludes(&s.exclude),
                settle_ms: s.options.settle_secs.saturating_mul(1000),
            })
            .collect();
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Directories to watch, recursively.
    pub fn watch_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for p in self.specs.iter().flat_map(|s| &s.paths) {
            let dir = if inputs::is_glob(p) {
                Path::new(p).components().take_while(|c| !inputs::is_glob(&c.as_os_str().to_string_lossy())).collect()
            } else {
                PathBuf::from(p)
            };
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        dirs
    }

    /// Paths inotify saw renamed into place: read at the next rescan without waiting to settle.
    pub fn renamed(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        if !self.specs.is_empty() {
            self.renamed.extend(paths);
        }
    }

    /// A rescan: every batch settled (or renamed into place) and not read yet is read, oldest name
    /// first. `now_ms` is the injected clock.
    pub fn poll(&mut self, now_ms: u64, find: &impl Fn(&[u8], usize) -> Option<usize>, consumer: &mut impl Consumer) {
        let mut ready: Vec<(usize, PathBuf, u64, i128)> = Vec::new();
        let mut present: HashSet<PathBuf> = HashSet::new();
        for (k, spec) in self.specs.iter().enumerate() {
            let mut complete_walk = true;
            let mut unmatched = Vec::new();
            for p in &spec.paths {
                match expand(p, true) {
                    Ok(files) => {
                        for (path, meta) in files {
                            if hidden(&path) || inputs::excluded_by(&spec.excludes, &path) {
                                continue;
                            }
                            present.insert(path.clone());
                            let (size, mtime) = (meta.len(), mtime_ns(&meta));
                            if let Some((read_size, _)) = self.ledger.get(&path) {
                                if read_size != size && self.changed.insert(path.clone()) {
                                    self.health.entry(spec.name.clone()).or_default().read_errors += 1;
                                    tracing::warn!(path = %path.display(), size, read_size, "batch changed after it was read; not read again");
                                }
                                continue;
                            }
                            if self.ledger.behind_horizon(mtime) {
                                continue;
                            }
                            let renamed = self.renamed.remove(&path);
                            let fresh = Seen { spec: k, size, mtime_ns: mtime, since_ms: now_ms };
                            let s = self.seen.entry(path.clone()).or_insert(fresh);
                            if s.size != size || s.mtime_ns != mtime {
                                *s = Seen { spec: k, size, mtime_ns: mtime, since_ms: now_ms };
                            }
                            if renamed || now_ms.saturating_sub(s.since_ms) >= spec.settle_ms {
                                ready.push((k, path, size, mtime));
                            }
                        }
                    }
                    Err(why) => {
                        complete_walk &= matches!(why, NoFile::EmptyDir | NoFile::GlobNoMatch);
                        unmatched.push((p.clone(), why));
                    }
                }
            }
            if complete_walk {
                self.ledger.forget_missing(&spec.name, &|p| present.contains(p));
            }
            self.unmatched.insert(spec.name.clone(), unmatched);
        }
        self.seen.retain(|p, _| present.contains(p));
        self.renamed.retain(|p| present.contains(p));
        ready.sort_by(|a, b| (a.1.file_name(), &a.1).cmp(&(b.1.file_name(), &b.1)));
        for (k, path, size, mtime) in ready {
            self.seen.remove(&path);
            self.read(k, &path, now_ms, find, consumer);
            let source = self.specs[k].name.clone();
            self.ledger.insert(Entry { source, path: path.display().to_string(), size, mtime_ns: mtime });
        }
    }

    fn read(
        &mut self,
        k: usize,
        path: &Path,
        now_ms: u64,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) {
        let spec = &self.specs[k];
        let first = !self.ledger.has_source(&spec.name);
        let h = self.health.entry(spec.name.clone()).or_default();
        let mut stats = ScanStats::default();
        let opened = std::fs::File::open(path).and_then(|f| decompress::open(Box::new(f)));
        let (mut reader, detected) = match opened {
            Ok(r) => r,
            Err(e) => {
                h.read_errors += 1;
                tracing::warn!(path = %path.display(), error = %e, "batch cannot be read; skipped");
                return;
            }
        };
        let stream = self.next_stream;
        self.next_stream += 1;
        consumer.open(stream, spec.index, first);
        let mut feed = StreamLines { consumer: &mut *consumer, stream };
        let result = lines::reads::scan(&mut reader, self.max_line_bytes, &mut stats, find, &mut feed);
        consumer.close(stream);
        (h.lines, h.bytes, h.lines_truncated) =
            (h.lines + stats.lines, h.bytes + stats.bytes, h.lines_truncated + stats.lines_truncated);
        if stats.lines > 0 {
            h.last_line_ms = Some(now_ms);
        }
        h.binary_files += u64::from(stats.binary);
        let compression = detected.compression.name();
        match result {
            Ok(()) => tracing::info!(path = %path.display(), compression, lines = stats.lines, "batch read"),
            Err(e) => {
                h.read_errors += 1;
                tracing::warn!(path = %path.display(), compression, lines = stats.lines, error = %e, "bad batch: read up to the fault, then skipped");
            }
        }
    }

    /// Writes the ledger if it changed (with the follower's checkpoint).
    pub fn save(&mut self) -> std::io::Result<bool> {
        self.ledger.save()
    }

    /// Batches read and remembered.
    pub fn remembered(&self) -> usize {
        self.ledger.len()
    }

    /// Adds what was read since the last call to the follower's health of the same sources; files
    /// waiting to settle count as the source's files.
    pub fn add_health(&mut self, into: &mut Vec<(String, SourceHealth)>) {
        for (k, spec) in self.specs.iter().enumerate() {
            let mut h = self.health.remove(&spec.name).unwrap_or_default();
            h.files = self.seen.values().filter(|s| s.spec == k).count() as i64;
            h.unmatched = self.unmatched.get(&spec.name).cloned().unwrap_or_default();
            let i = match into.iter().position(|(n, _)| *n == spec.name) {
                Some(i) => i,
                None => {
                    into.push((spec.name.clone(), SourceHealth::default()));
                    into.len() - 1
                }
            };
            let t = &mut into[i].1;
            t.lines += h.lines;
            t.bytes += h.bytes;
            t.lines_truncated += h.lines_truncated;
            t.binary_files += h.binary_files;
            t.read_errors += h.read_errors;
            t.files += h.files;
            t.unmatched.extend(h.unmatched);
            if h.lines > 0 {
                t.last_line_ms = t.last_line_ms.max(h.last_line_ms);
            }
        }
    }
}
