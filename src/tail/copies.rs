//! Copies kept in step: a copy follows its original while the original holds its bytes, reads on
//! when the original no longer does, and copies of one content are read as one (`copy_rule` states
//! the rule; this applies it to the followed files).

use std::path::Path;

use super::Tailer;
use super::copy_rule::{self, Follow};
use super::discovery::Asker;
use super::files::{CopyState, Identity, Origin, Tracked, remember};
use super::identity::{
    FINGERPRINT_BYTES, Fingerprint, VERIFY_BYTES, agreed_lines, fingerprint, first_difference, still_starts_with,
};

impl Tailer {
    /// The content file `i` holds, where other files hold it too: a copy's, or its own id when a copy
    /// of it is followed.
    pub(super) fn group_of(&self, i: usize) -> Option<u64> {
        let f = &self.files[i];
        match f.copy {
            Some(c) if c.content != 0 => Some(c.content),
            Some(_) => None,
            None => self.grouped.contains(&f.id).then_some(f.id),
        }
    }

    /// Before file `i` (of `size` bytes) is read: the lines another file of its content counted
    /// already, and that this one holds alike, are skipped (see `copy_rule`).
    pub(super) fn catch_up(&mut self, i: usize, size: u64) {
        let Some(content) = self.group_of(i) else { return };
        let mine = self.files[i].offset;
        let ahead = (self.files.iter().enumerate())
            .filter(|(k, g)| *k != i && g.offset > mine && g.content() == content)
            .max_by_key(|(_, g)| g.offset)
            .map(|(k, _)| k);
        let Some(k) = ahead else { return };
        let (f, g) = (&self.files[i], &self.files[k]);
        let (Some(ff), Some(gf)) = (f.file.as_ref(), g.handle()) else { return };
        let gsize = gf.metadata().map_or(0, |m| m.len());
        let to = g.offset.min(size).min(gsize);
        let agreed = agreed_lines(ff, &gf, mine, to, to == g.offset);
        if let Some((offset, skipping)) = copy_rule::catch_up(mine, g.offset, g.skipping, agreed) {
            let f = &mut self.files[i];
            (f.offset, f.skipping) = (offset, skipping);
        }
    }

    /// Counts and logs a decision between two files that look alike.
    pub(super) fn note_lookalike(&mut self, path: &Path, like: &Path, why: &str, decision: &str) {
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
    pub(super) fn freeze_copies(&mut self, id: u64, offset: u64, skipping: bool) {
        let linked = |f: &Tracked| f.copy.is_some_and(|c| c.origin == Some(Origin::Id(id)));
        // The longest as it is now: a closed copy's last stat may be from before it was written on.
        let now_size = |f: &Tracked| f.handle().and_then(|h| h.metadata().ok()).map_or(f.size(), |m| m.len());
        let heir = self.files.iter().filter(|f| linked(f)).max_by_key(|f| now_size(f)).map(|f| f.id);
        let Some(heir) = heir else { return };
        for f in &mut self.files {
            if !linked(f) {
                continue;
            }
            if let Some(c) = &mut f.copy {
                c.origin = if f.id == heir { None } else { Some(Origin::Id(heir)) };
            }
            // The heir reads on: a closed one too, though nothing about it changed since it was read.
            f.dirty |= f.id == heir;
            if offset > f.offset {
                (f.offset, f.skipping) = (offset, skipping);
            }
        }
    }

    /// Before file `i` is read: decides an undecided file, keeps a copy in step with its original and
    /// checks it against it. True when nothing is to be read from it now. With `finish` (the file is
    /// let go), an undecided file is decided now.
    pub(super) fn settle(&mut self, i: usize, size: u64, finish: bool) -> bool {
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
        // An original shorter than what was read from it, or with other first bytes, was truncated
        // since: its truncation, once read (this poll or the next), moves the copy on.
        if osize < o.offset || !still_starts_with(&ofile, o.fp) {
            return true;
        }
        // Compared again on every look: the bytes the original has not been read past and those it
        // read since the copy last followed it; new bytes of the copy up to `VERIFY_BYTES`.
        let (from, to) = (verified.min(f.offset), size.min(VERIFY_BYTES));
        let difference = if from >= to {
            None
        } else {
            match first_difference(ffile, &ofile, from, to.min(osize)) {
                Ok(Some(d)) => Some(d),
                Ok(None) if to > osize => Some(osize),
                Ok(None) => {
                    verified = verified.max(to);
                    None
                }
                Err(()) => return true,
            }
        };
        let agreed = match difference {
            Some(d) if d > f.offset => agreed_lines(ffile, &ofile, f.offset, d, false),
            _ => f.offset,
        };
        let compared = copy_rule::Compared { original_offset: o.offset, copy_offset: f.offset, difference, agreed };
        let (oid, oskipping) = (o.id, o.skipping);
        // A copy resumed from a checkpoint learns the content it copies from its original.
        let content = if copy.content == 0 { o.content() } else { copy.content };
        let (path, like) = (f.path.clone(), o.path.clone());
        match copy_rule::follow(compared) {
            Follow::Follow { offset } => {
                let f = &mut self.files[i];
                f.copy = Some(CopyState { origin: Some(Origin::Id(oid)), verified, content });
                self.grouped.insert(content);
                if offset > f.offset {
                    (f.offset, f.skipping) = (offset, oskipping);
                }
                true
            }
            Follow::NotACopy { at } => {
                let why = format!("taken for a copy, it differs at byte {at}");
                self.note_lookalike(&path, &like, &why, "read from its start");
                let f = &mut self.files[i];
                f.copy = None;
                (f.offset, f.skipping) = (0, false);
                false
            }
            Follow::ReadOn { from, at } => {
                let why = format!("the original no longer holds the copy's bytes from byte {at}");
                self.note_lookalike(&path, &like, &why, "the copy reads on from the last line it shares");
                let f = &mut self.files[i];
                f.copy = Some(CopyState { origin: None, verified, content });
                self.grouped.insert(content);
                let skipping = from == compared.original_offset && oskipping;
                if from > f.offset {
                    (f.offset, f.skipping) = (from, skipping);
                }
                false
            }
        }
    }

    pub(super) fn retire(&mut self, f: &Tracked, source: String) {
        let now_secs = self.clock.now_ms() / 1000;
        remember(&mut self.retired, f.as_retired(source, now_secs), now_secs);
    }
}
