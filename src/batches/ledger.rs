//! The batches read: bounded, forgetting deleted ones, on disk beside the follower's checkpoint.
//!
//! Promises:
//! - **Read once.** A batch is in the ledger from the moment it was read; the ledger is written
//!   (atomically, `statefile`) with the follower's checkpoint, so a restart reads no batch written
//!   down twice and, as nothing is written down before it was read, loses none.
//! - **Bounded**: at most `max` entries (100,000 by default: a prefix synced for months). Past it the
//!   entry read longest ago is dropped and its modification time kept as `horizon`: a batch not in
//!   the ledger whose mtime is at or before the horizon is taken as read (the only way a batch can be
//!   missed: it lands with an mtime older than the 100,000th-newest batch read).
//! - **Forgets deleted ones**: a rescan that walked a source's paths without an error drops the entries
//!   of that source whose file is gone (a sync that prunes old hours), so the bound is spent on files
//!   that exist.
//! - Its own file, `batches.json`, not an entry kind of `checkpoints.json`: an older authwatch reads
//!   its checkpoint as before (it refuses unknown keys there and would start without its offsets).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "batches.json";
pub const VERSION: u32 = 1;
pub const DEFAULT_MAX: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub source: String,
    pub path: String,
    pub size: u64,
    pub mtime_ns: i128,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    version: u32,
    #[serde(default)]
    horizon_ns: Option<i128>,
    batches: Vec<Entry>,
}

pub struct Ledger {
    path: PathBuf,
    max: usize,
    /// Read order, oldest first; `index` finds an entry by path.
    order: VecDeque<Entry>,
    index: HashMap<PathBuf, (u64, i128)>,
    /// The newest mtime among entries dropped for the bound.
    horizon_ns: Option<i128>,
    dirty: bool,
}

impl Ledger {
    /// Loads the ledger in `state_dir`. One that cannot be read is reported and set aside: then every
    /// batch present is read again (counted twice rather than lost).
    pub fn load(state_dir: &Path, max: usize) -> (Ledger, Option<String>) {
        let path = state_dir.join(FILE_NAME);
        let mut l = Ledger {
            path,
            max: max.max(1),
            order: VecDeque::new(),
            index: HashMap::new(),
            horizon_ns: None,
            dirty: false,
        };
        let warning = match std::fs::read(&l.path) {
            Ok(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                Ok(d) if d.version == VERSION => {
                    l.horizon_ns = d.horizon_ns;
                    for e in d.batches {
                        l.insert(e);
                    }
                    l.dirty = false;
                    None
                }
                Ok(d) => {
                    Some(format!("{}: unknown version {}; reading every batch again", l.path.display(), d.version))
                }
                Err(e) => Some(format!("{}: {e}; reading every batch again", l.path.display())),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => Some(format!("{}: {e}; reading every batch again", l.path.display())),
        };
        (l, warning)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// (size, mtime) the batch at `path` had when it was read.
    pub fn get(&self, path: &Path) -> Option<(u64, i128)> {
        self.index.get(path).copied()
    }

    /// Whether a batch not in the ledger is older than what the bound dropped (taken as read).
    pub fn behind_horizon(&self, mtime_ns: i128) -> bool {
        self.horizon_ns.is_some_and(|h| mtime_ns <= h)
    }

    /// Whether any batch of `source` was read (a source's first batch may begin mid-minute).
    pub fn has_source(&self, source: &str) -> bool {
        self.order.iter().any(|e| e.source == source)
    }

    pub fn insert(&mut self, e: Entry) {
        let key = PathBuf::from(&e.path);
        if self.index.insert(key, (e.size, e.mtime_ns)).is_some() {
            self.order.retain(|o| o.path != e.path);
        }
        self.order.push_back(e);
        while self.order.len() > self.max {
            let Some(old) = self.order.pop_front() else { break };
            self.index.remove(Path::new(&old.path));
            self.horizon_ns = Some(self.horizon_ns.map_or(old.mtime_ns, |h| h.max(old.mtime_ns)));
        }
        self.dirty = true;
    }

    /// Drops the entries of `source` whose path is not in `present` (deleted since).
    pub fn forget_missing(&mut self, source: &str, present: &dyn Fn(&Path) -> bool) {
        let before = self.order.len();
        let index = &mut self.index;
        self.order.retain(|e| {
            let keep = e.source != source || present(Path::new(&e.path));
            if !keep {
                index.remove(Path::new(&e.path));
            }
            keep
        });
        if self.order.len() != before {
            self.dirty = true;
        }
    }

    /// Writes the ledger if it changed since the last write. Ok(true) when written.
    pub fn save(&mut self) -> io::Result<bool> {
        if !self.dirty {
            return Ok(false);
        }
        crate::statefile::write_atomic(&self.path, |w| {
            write!(w, "{{\"version\":{VERSION},")?;
            if let Some(h) = self.horizon_ns {
                write!(w, "\"horizon_ns\":{h},")?;
            }
            w.write_all(b"\"batches\":[")?;
            for (i, e) in self.order.iter().enumerate() {
                w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *w, e).map_err(io::Error::other)?;
            }
            w.write_all(b"\n]}\n")
        })?;
        self.dirty = false;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, mtime_ns: i128) -> Entry {
        Entry { source: "s".into(), path: path.into(), size: 10, mtime_ns }
    }

    #[test]
    fn bounded_forgetful_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, w) = Ledger::load(dir.path(), 3);
        assert!(w.is_none() && l.is_empty());
        for (i, p) in ["/a/1", "/a/2", "/a/3", "/a/4"].iter().enumerate() {
            l.insert(e(p, i as i128 * 10));
        }
        assert_eq!(l.len(), 3, "bounded");
        assert!(l.get(Path::new("/a/1")).is_none() && l.behind_horizon(0) && !l.behind_horizon(1));
        assert!(l.save().unwrap() && !l.save().unwrap(), "written once, then unchanged");
        let (back, w) = Ledger::load(dir.path(), 3);
        assert!(w.is_none());
        assert_eq!((back.len(), back.get(Path::new("/a/4"))), (3, Some((10, 30))));
        assert!(back.behind_horizon(0));
        l.forget_missing("s", &|p| p != Path::new("/a/3"));
        assert_eq!((l.len(), l.get(Path::new("/a/3"))), (2, None));
        l.forget_missing("other", &|_| false);
        assert_eq!(l.len(), 2, "another source's entries stay");
        std::fs::write(dir.path().join(FILE_NAME), b"{").unwrap();
        let (l, w) = Ledger::load(dir.path(), 3);
        assert!(w.is_some() && l.is_empty());
    }
}
