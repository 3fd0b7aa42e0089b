//! Reading: from a file's offset to its end, in rounds of at most `read_budget_bytes`, through the one
//! splitter; truncation noticed (size below the offset, or other first bytes) starts a new stream from
//! 0. Offsets advance only past counted lines, so a checkpoint never covers an uncounted line.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::lines::Splitter;

use super::consumer::{Consumer, StreamLines};
use super::files::remember;
use super::identity::{FINGERPRINT_BYTES, Fingerprint, Stamp, fingerprint, head_unchanged, reopen, still_starts_with};
use super::{PollStats, Tailer};

impl Tailer {
    /// Reads file `i` from its offset: to its current end, or until `budget` bytes are read (then
    /// true: more to read). With `finish`, a partial last line is counted as a line (the file is being
    /// let go). A closed file is opened again first, identity checked: if its path names another file
    /// now, nothing is read (the next rescan sees the rotation); afterwards it stays open if the bound
    /// allows.
    pub(super) fn read_file(
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

    pub(super) fn read_open(
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
            consumer.path(stream, &self.files[i].path);
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
}
