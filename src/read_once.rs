//! `run`'s one-shot reading of gzip files named explicitly: read once, like `check` reads them.
//!
//! Contract: a source PATH that names a `.gz` file (not a glob or directory, where compressed
//! rotations are excluded as copies of lines already read) is decompressed once, at start or at the
//! first rescan that finds it, as one stream of the source through the same splitter and Event stage as
//! every followed file, and then remembered as done by identity (device, inode, size, modification
//! time) in `read-once.json` in the state directory, so a restart or a reload does not count it again.
//! A file replaced by another (new inode, size or time) is read again: it is new content. A file
//! modified in the last `QUIET_MS` is left for a later rescan (gzip may still be writing it). A file that
//! is not gzip or is corrupt is read as far as it decodes, logged once, counted as a read error, and
//! done. What it read is handed out as follower health (`take_health`), so the metrics are the same as
//! for followed files; it knows no metric.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use crate::inputs::{NoFile, is_read_once};
use crate::lines::{self, ScanStats};
use crate::source::Source;
use crate::tail::{Consumer, SourceHealth};

/// The state file in the state directory.
pub const FILE_NAME: &str = "read-once.json";
/// A file modified more recently than this is not read yet.
pub const QUIET_MS: u64 = 2000;
/// Streams of one-shot reads are numbered from here down, far from the follower's (which count up).
const FIRST_STREAM: u64 = u64::MAX - 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Done {
    path: String,
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    files: Vec<Done>,
}

pub struct ReadOnce {
    state_path: PathBuf,
    done: Vec<Done>,
    /// (source index, source name, PATH) of every read-once PATH.
    specs: Vec<(usize, String, String)>,
    max_line_bytes: usize,
    next_stream: u64,
    /// Per source: what was read since the last `take_health`.
    health: Vec<(String, SourceHealth)>,
    /// (source name, PATH, why) of read-once PATHs that named no file at the last rescan.
    unmatched: Vec<(String, String, NoFile)>,
    /// Files whose failure was logged (a file is logged once).
    logged: HashSet<PathBuf>,
}

fn identity(path: &str, m: &std::fs::Metadata) -> Done {
    Done {
        path: path.to_string(),
        dev: m.dev(),
        ino: m.ino(),
        size: m.len(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    }
}

impl ReadOnce {
    /// Loads what was read before. A state file that cannot be read is reported (Err) and ignored: the
    /// files are then read again, counted twice rather than lost.
    pub fn new(state_dir: &Path, sources: &[Source], max_line_bytes: usize) -> (ReadOnce, Option<String>) {
        let state_path = state_dir.join(FILE_NAME);
        let (done, warning) = match std::fs::read(&state_path) {
            Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
                Ok(s) if s.version == 1 => (s.files, None),
                Ok(s) => {
                    (Vec::new(), Some(format!("{}: unknown version {}; ignored", state_path.display(), s.version)))
                }
                Err(e) => (Vec::new(), Some(format!("{}: {e}; ignored", state_path.display()))),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => (Vec::new(), None),
            Err(e) => (Vec::new(), Some(format!("{}: {e}; ignored", state_path.display()))),
        };
        let mut r = ReadOnce {
            state_path,
            done,
            specs: Vec::new(),
            max_line_bytes,
            next_stream: FIRST_STREAM,
            health: Vec::new(),
            unmatched: Vec::new(),
            logged: HashSet::new(),
        };
        r.reload(sources, max_line_bytes);
        (r, warning)
    }

    /// New sources (a reload): their read-once PATHs.
    pub fn reload(&mut self, sources: &[Source], max_line_bytes: usize) {
        self.max_line_bytes = max_line_bytes;
        self.specs = sources
            .iter()
            .enumerate()
            .filter(|(_, s)| s.batches.is_none())
            .flat_map(|(i, s)| s.paths.iter().filter(|p| is_read_once(p)).map(move |p| (i, s.name.clone(), p.clone())))
            .collect();
    }

    fn health_of(&mut self, source: &str) -> &mut SourceHealth {
        let i = match self.health.iter().position(|(n, _)| n == source) {
            Some(i) => i,
            None => {
                self.health.push((source.to_string(), SourceHealth::default()));
                self.health.len() - 1
            }
        };
        &mut self.health[i].1
    }

    /// Reads every read-once file not read yet (a rescan). `now_ms`: the wall clock, for `QUIET_MS`.
    pub fn poll(&mut self, now_ms: u64, find: &impl Fn(&[u8], usize) -> Option<usize>, consumer: &mut impl Consumer) {
        self.unmatched.clear();
        for (source, name, spec) in self.specs.clone() {
            let meta = match std::fs::metadata(&spec) {
                Ok(m) if m.is_file() => m,
                Ok(_) => {
                    self.unmatched.push((name, spec, NoFile::NotRegular));
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.unmatched.push((name, spec, NoFile::Missing));
                    continue;
                }
                Err(e) => {
                    self.unmatched.push((name, spec, NoFile::Unreadable(e.to_string())));
                    continue;
                }
            };
            let id = identity(&spec, &meta);
            if self
                .done
                .iter()
                .any(|d| d.dev == id.dev && d.ino == id.ino && d.size == id.size && d.mtime_ns == id.mtime_ns)
            {
                continue;
            }
            let modified_ms = u64::try_from(id.mtime_ns / 1_000_000).unwrap_or(0);
            if now_ms.saturating_sub(modified_ms) < QUIET_MS {
                continue;
            }
            let (stats, error) = self.read(&spec, source, find, consumer);
            let h = self.health_of(&name);
            if stats.lines > 0 {
                h.last_line_ms = Some(now_ms);
            }
            (h.lines, h.bytes, h.lines_truncated) =
                (h.lines + stats.lines, h.bytes + stats.bytes, h.lines_truncated + stats.lines_truncated);
            h.binary_files += u64::from(stats.binary);
            if stats.binary {
                tracing::warn!(path = %spec, "file looks binary (a NUL in its first block); reading it as text");
            }
            match error {
                Some(e) => {
                    h.read_errors += 1;
                    if self.logged.insert(PathBuf::from(&spec)) {
                        tracing::warn!(path = %spec, lines = stats.lines, error = %e, "compressed file read once, not to its end");
                    }
                }
                None => tracing::info!(path = %spec, lines = stats.lines, "compressed file read once"),
            }
            // Done however it ended: reading a broken file again would count its readable part again.
            self.done.retain(|d| d.path != id.path);
            self.done.push(id);
            if let Err(e) = self.save() {
                tracing::error!(path = %self.state_path.display(), error = %e, "cannot record a file read once; a restart reads it again");
            }
        }
    }

    fn read(
        &mut self,
        spec: &str,
        source: usize,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) -> (ScanStats, Option<String>) {
        let mut stats = ScanStats::default();
        let mut reader = match File::open(spec) {
            Ok(f) => BufReader::new(f),
            Err(e) => return (stats, Some(e.to_string())),
        };
        match reader.fill_buf() {
            Ok([0x1f, 0x8b, ..]) => {}
            Ok(_) => return (stats, Some("not a gzip file (no gzip magic bytes)".into())),
            Err(e) => return (stats, Some(e.to_string())),
        }
        let stream = self.next_stream;
        self.next_stream -= 1;
        consumer.open(stream, source, true);
        consumer.path(stream, std::path::Path::new(spec));
        let mut feed = crate::tail::StreamLines { consumer, stream };
        let result =
            lines::reads::scan(&mut MultiGzDecoder::new(reader), self.max_line_bytes, &mut stats, find, &mut feed);
        consumer.close(stream);
        (stats, result.err().map(|e| e.to_string()))
    }

    fn save(&self) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&State { version: 1, files: self.done.clone() })?;
        crate::statefile::write_atomic_bytes(&self.state_path, &bytes)
    }

    /// Adds what was read since the last call (counters) and the PATHs that named no file at the last
    /// rescan (a gauge) to the follower's health of the same sources.
    pub fn add_health(&mut self, into: &mut Vec<(String, SourceHealth)>) {
        let entry = |name: &str, into: &mut Vec<(String, SourceHealth)>| match into.iter().position(|(n, _)| n == name)
        {
            Some(i) => i,
            None => {
                into.push((name.to_string(), SourceHealth::default()));
                into.len() - 1
            }
        };
        for (name, h) in std::mem::take(&mut self.health) {
            let i = entry(&name, into);
            let t = &mut into[i].1;
            t.lines += h.lines;
            t.bytes += h.bytes;
            t.lines_truncated += h.lines_truncated;
            t.binary_files += h.binary_files;
            t.read_errors += h.read_errors;
            if h.lines > 0 {
                t.last_line_ms = t.last_line_ms.max(h.last_line_ms);
            }
        }
        for (name, spec, why) in &self.unmatched {
            let i = entry(name, into);
            into[i].1.unmatched.push((spec.clone(), why.clone()));
        }
    }
}

#[cfg(test)]
mod tests {

    use crate::inputs::is_read_once;

    #[test]
    fn only_gzip_file_paths_are_read_once() {
        assert!(is_read_once("/x/export.log.gz"));
        assert!(is_read_once("/x/EXPORT.GZ"));
        assert!(!is_read_once("/x/*.gz"), "a glob: compressed rotations are excluded");
        assert!(!is_read_once("/x/app.log"));
        assert!(!is_read_once("/x/app.log.xz"), "refused, not read");
    }
}
