//! What a file that appears is, and where it starts: the same file resumed (checkpoint, or let go
//! earlier), a copy of one already read (decided by `copy_rule`'s evidence order), or new.

use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::source::StartAt;

use super::discovery::{Asker, Index, end_of_last_line};
use super::files::{CopyState, Identity, Origin, Retired, Start, add_former};
use super::identity::{
    COPY_MIN_BYTES, Fingerprint, LOOKALIKE_BYTES, VERIFY_BYTES, first_difference, hash_prefix, key_may_match,
    leading_bytes, still_starts_with,
};
use super::{Tailer, identity::path_key};

impl Tailer {
    /// Where to start a file seen for the first time, and what it is.
    pub(super) fn start_offset(
        &mut self,
        source: usize,
        path: &Path,
        file: &File,
        meta: &Metadata,
        fp: Fingerprint,
        index: &Index,
    ) -> Start {
        let size = meta.len();
        let new =
            |offset: u64| Start { offset, skipping: false, undecided: false, former: Vec::new(), copy: None, id: None };
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
    pub(super) fn resumed_at(&self, path: &Path) -> Vec<&Retired> {
        let Some(inodes) = self.resume_paths.get(&path_key(path)) else { return Vec::new() };
        inodes.iter().filter_map(|k| self.resume.get(k)).flatten().filter(|r| r.path == path).collect()
    }

    pub(super) fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// How long a record of truncated content may still be the original of a copy that appears: logrotate
    /// creates the copy before it truncates, so the copy is seen within a poll or two of the truncation.
    pub(super) fn copy_window_secs(&self) -> u64 {
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
    pub(super) fn identify(
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
            let copy = |verified| Identity::Copy {
                origin: Some(o.id),
                offset: o.offset,
                skipping: o.skipping,
                verified,
                content: o.content(),
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
                        let copy = Identity::Copy {
                            origin: None,
                            offset: o.offset,
                            skipping: o.skipping,
                            verified: n,
                            content: o.content(),
                        };
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
        // Copies of one content agree (it is one count, see `copy_rule`): the one read furthest
        // stands for them.
        let agree = found.windows(2).all(|w| match (w[0].0, w[1].0) {
            (
                Identity::Copy { offset: a, origin: oa, content: ca, .. },
                Identity::Copy { offset: b, origin: ob, content: cb, .. },
            ) => (a == b && oa == ob) || (ca != 0 && ca == cb),
            _ => false,
        });
        found.sort_by_key(|(c, _)| std::cmp::Reverse(if let Identity::Copy { offset, .. } = c { *offset } else { 0 }));
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
    pub(super) fn copies(&self, j: usize, i: usize) -> bool {
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
}
