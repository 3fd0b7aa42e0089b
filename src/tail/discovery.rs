//! Discovery: a source's PATHs → candidate files (the one path grammar, `inputs::expand`), followed
//! files renamed within the set or rotated away, files let go; the index a rescan compares new files by.
//!
//! - A followed file whose path names another inode, or none, was rotated away or deleted: it is read
//!   through the handle we hold until quiet for `2 × poll interval`, then its partial last line is
//!   flushed and it is let go. A closed one is looked for by inode in its own directory.
//! - Renamed within the set (`app.log` → `app.log.1` the glob also matches): the same file, followed on.
//! - Files known by inode and first bytes come back first; the others in creation order (an original
//!   before its copy), the longer first where the file system cannot tell.
//! - A new file is the file of the handle opened on its path: where the path names another inode by
//!   then than the scan saw, that one is followed, and the one seen is found at its new name later.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use memchr::memrchr;

use crate::inputs;

use super::Tailer;
use super::consumer::Consumer;
use super::files::{RETIRED_SECS, Tracked, add_former};
use super::identity::{KEY_BYTES, Stamp, birth, fingerprint, fnv1a, is_same, leading_bytes, reopen, still_starts_with};

/// The followed files a file that appears may be a copy of, by their leading bytes' key: built once
/// per rescan, so finding 100,000 files is not 100,000² comparisons.
#[derive(Default)]
pub(super) struct Index {
    pub(super) groups: HashMap<(usize, u8, u64), Vec<usize>>,
    pub(super) lens: std::collections::BTreeSet<u8>,
    /// Files a rescan saw change since they were last read: compared whatever their key.
    pub(super) changed: Vec<usize>,
}

impl Index {
    pub(super) fn add(&mut self, i: usize, f: &Tracked) {
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

    pub(super) fn file(&mut self, i: usize, source: usize, (n, h): (u8, u64)) {
        self.groups.entry((source, n, h)).or_insert_with(|| Vec::with_capacity(1)).push(i);
        self.lens.insert(n);
    }

    /// The files of `source` that may start like `head`; None: every file must be looked at (a file
    /// with fewer than `KEY_BYTES` bytes).
    pub(super) fn candidates(&self, source: usize, head: &[u8]) -> Option<Vec<usize>> {
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
pub(super) enum Asker<'a> {
    Found(&'a Index),
    Followed(usize),
}

impl Tailer {
    /// The directories to watch with inotify (and whether recursively), for every source path.
    pub fn watch_dirs(&self) -> Vec<(PathBuf, bool)> {
        let mut dirs: Vec<(PathBuf, bool)> = Vec::new();
        for s in self.sources.iter().filter(|s| s.config.batches.is_none()) {
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

    /// The source's files by the one path grammar (`inputs::expand`); PATHs that yield none are kept,
    /// with why, for the source's health.
    pub(super) fn expand(&mut self, source: usize) -> Vec<(PathBuf, Metadata)> {
        let mut out = Vec::new();
        let mut unmatched = Vec::new();
        let src = &self.sources[source];
        // A source of batches is `crate::batches`' to read, whole files once each: not followed.
        let paths = if src.config.batches.is_some() { &[][..] } else { &src.config.paths[..] };
        for p in paths {
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

    pub(super) fn discover(&mut self, find: &impl Fn(&[u8], usize) -> Option<usize>, consumer: &mut impl Consumer) {
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
                        // Rewritten while closed, its key no longer says what it starts with: a file
                        // that appears in this rescan is compared with what it holds now.
                        f.changed |= f.rewritten_closed;
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
            // The path may name another file by now than the scan saw (replaced in between: logrotate's
            // `create` moves aside a file a logger made again after the rename, and creates its own).
            // What is read is the handle, so the handle's file is the one followed; the other is found
            // at its new name by the next scan. (Followed under the scan's identity, the handle's
            // file was found again as a new file, and read twice.)
            let meta = match file.metadata() {
                Ok(m) if (m.dev(), m.ino()) == (meta.dev(), meta.ino()) => meta,
                Ok(m) => {
                    followed.remove(&(meta.dev(), meta.ino()));
                    if !followed.insert((m.dev(), m.ino())) {
                        continue;
                    }
                    m
                }
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
            consumer.path(stream, &path);
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
    pub(super) fn orphan_grace(&self) -> u64 {
        2 * self.limits.poll_interval_ms
    }

    /// Reads a file to its end (its partial last line counted as a line) and stops following it.
    pub(super) fn let_go(
        &mut self,
        i: usize,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        consumer: &mut impl Consumer,
    ) {
        self.read_file(i, true, u64::MAX, find, consumer);
        let f = self.files.swap_remove(i);
        self.n_open -= usize::from(f.file.is_some());
        consumer.close(f.stream);
        tracing::info!(path = %f.path.display(), offset = f.offset, "rotated-away file read to its end and let go");
        self.freeze_copies(f.id, f.offset, f.skipping);
        let name = self.sources[f.source].config.name.clone();
        self.retire(&f, name);
    }

    pub(super) fn open_failed(&mut self, source: usize, path: &Path, e: &io::Error) {
        self.sources[source].health.read_errors += 1;
        let n = self.failing.entry(path.to_path_buf()).or_insert(0);
        *n += 1;
        if *n == 1 {
            tracing::warn!(path = %path.display(), error = %e, "cannot open file; retrying on every poll");
        }
    }
}

/// A closed file whose path no longer names it, looked for in that path's directory by inode and
/// opened, identity checked. `listings`: each directory listed once per rescan (names by inode, from
/// the directory entries: no stat per entry), however many of its files were rotated.
pub(super) fn find_in_dir(
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

/// Start-at-end lands after the last complete line, so a line being written is counted once done.
pub(super) fn end_of_last_line(file: &File, size: u64) -> u64 {
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
pub(super) fn watch_dir_of(p: &str) -> PathBuf {
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
}
