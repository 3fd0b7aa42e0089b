//! Identity and fingerprints: what makes a followed file *that* file, and what two files share.
//!
//! - A file is its device + inode, and its birth time where the file system gives one (a closed file's
//!   inode can be freed and reused); confirmed by a fingerprint: FNV-1a of its first ≤ 4 KiB (version 1
//!   checkpoints hold 256-byte ones, still honoured). Other first bytes at the same inode: not that file
//!   any more (truncated and rewritten).
//! - FNV-1a is kept because checkpoints outlive builds: the hash must never change.
//! - Comparing two files is byte for byte over a range; a range either cannot be read that far is "not
//!   known yet", never "equal".

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::UNIX_EPOCH;

use memchr::memrchr;

/// The fingerprint covers at most this many leading bytes (checkpoints of version 1 hold 256).
pub const FINGERPRINT_BYTES: u64 = 4096;
/// A file is taken for a copy of another only on at least this many identical leading bytes.
pub const COPY_MIN_BYTES: u32 = 64;
/// A copy is compared byte for byte with its original, while the original still holds those bytes, up
/// to this many bytes; past them it is trusted.
pub const VERIFY_BYTES: u64 = 8 << 20;
/// Two files whose first this many bytes are equal look alike: a decision between them is counted.
pub(super) const LOOKALIKE_BYTES: u64 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    pub(super) len: u32,
    pub(super) hash: u64,
    /// FNV-1a of the first `min(len, HEAD_BYTES)` bytes, checked on every read (cheaper than `hash`);
    /// None when not known (a fingerprint from the checkpoint).
    pub(super) head: Option<u64>,
    /// (n, FNV-1a of the first n = `min(len, KEY_BYTES)` bytes): what a file that appears is looked up
    /// by to find the followed files it may be a copy of, without opening them. None when not known.
    pub(super) key: Option<(u8, u64)>,
}

/// The leading bytes files are indexed by for copy detection (`COPY_MIN_BYTES`: fewer never decide).
pub(super) const KEY_BYTES: usize = COPY_MIN_BYTES as usize;

/// Whether a file whose first bytes are `head` (at most `KEY_BYTES`) may start like one with this key:
/// false only when they are known to differ.
pub(super) fn key_may_match(key: Option<(u8, u64)>, head: &[u8]) -> bool {
    match key {
        Some((n, h)) if head.len() >= usize::from(n) => fnv1a(&head[..usize::from(n)]) == h,
        _ => true,
    }
}

/// The bytes checked on every read for a truncation that regrew past our offset.
pub(super) const HEAD_BYTES: u32 = 256;

impl Fingerprint {
    pub(super) const NONE: Fingerprint =
        Fingerprint { len: 0, hash: 0, head: Some(0xcbf2_9ce4_8422_2325), key: Some((0, 0xcbf2_9ce4_8422_2325)) };

    pub(super) fn bare(len: u32, hash: u64) -> Fingerprint {
        Fingerprint { len, hash, head: None, key: None }
    }
}

pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Hash of the first `len` bytes of the file, or None if it has fewer.
pub(super) fn hash_prefix(file: &File, len: u32) -> io::Result<Option<u64>> {
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

pub(super) fn fingerprint(file: &File, size: u64) -> io::Result<Fingerprint> {
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
pub(super) fn head_unchanged(file: &File, fp: Fingerprint) -> bool {
    match fp.head {
        Some(head) => hash_prefix(file, fp.len.min(HEAD_BYTES)).ok().flatten() == Some(head),
        None => still_starts_with(file, fp),
    }
}

/// Whether the file still starts with the bytes `fp` was taken of.
pub(super) fn still_starts_with(file: &File, fp: Fingerprint) -> bool {
    fp.len == 0 || hash_prefix(file, fp.len).ok().flatten() == Some(fp.hash)
}

/// The first offset in `[from, to)` at which the two files differ; None when equal. Err when either
/// could not be read that far (it changed under us): nothing can be said yet.
pub(super) fn first_difference(a: &File, b: &File, from: u64, to: u64) -> Result<Option<u64>, ()> {
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

/// The end of the last whole line in `[from, to)` on which the two files agree; `from` when they agree
/// on none, or either cannot be read. `to_is_line_end`: `to` ends a line (of `b`), so agreeing up to
/// it agrees on that line too.
pub(super) fn agreed_lines(a: &File, b: &File, from: u64, to: u64, to_is_line_end: bool) -> u64 {
    if to <= from {
        return from;
    }
    let end = match first_difference(a, b, from, to) {
        Ok(None) if to_is_line_end => return to,
        Ok(None) => to,
        Ok(Some(d)) => d,
        Err(()) => return from,
    };
    // The line the difference (or the end) is in is not agreed on: back to the newline before it.
    last_line_end(a, from, end)
}

/// The end of the last line that ends in `[from, end)`: `from` if none does (or on a read error).
fn last_line_end(file: &File, from: u64, end: u64) -> u64 {
    let mut buf = vec![0u8; 64 * 1024];
    let mut hi = end;
    while hi > from {
        let lo = hi.saturating_sub(buf.len() as u64).max(from);
        let chunk = &mut buf[..(hi - lo) as usize];
        if file.read_exact_at(chunk, lo).is_err() {
            return from;
        }
        if let Some(p) = memrchr(b'\n', chunk) {
            return lo + p as u64 + 1;
        }
        hi = lo;
    }
    from
}

/// Up to `KEY_BYTES` leading bytes of a file (fewer if it is shorter).
pub(super) fn leading_bytes(file: &File, size: u64) -> Vec<u8> {
    let mut buf = vec![0u8; size.min(KEY_BYTES as u64) as usize];
    match file.read_exact_at(&mut buf, 0) {
        Ok(()) => buf,
        Err(_) => Vec::new(),
    }
}

/// Size and modification time as a stat saw them: what tells, without opening a file, that it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Stamp {
    pub(super) size: u64,
    pub(super) mtime_ns: i128,
}

impl Stamp {
    pub(super) fn of(m: &Metadata) -> Stamp {
        Stamp { size: m.len(), mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()) }
    }
}

/// When the file was created (statx birth time, ns), where the file system says. A closed file's inode
/// can be freed and reused by another file: same device and inode with another birth time is not it.
pub(super) fn birth(m: &Metadata) -> Option<i128> {
    let t = m.created().ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_nanos() as i128)
}

/// Whether `m` is the file with this device, inode and birth time (where both births are known).
pub(super) fn is_same(m: &Metadata, (dev, ino, born): (u64, u64, Option<i128>)) -> bool {
    m.dev() == dev && m.ino() == ino && (born.is_none() || birth(m).is_none() || birth(m) == born)
}

/// Opens a followed file again by its path, if the path still names it (same device, inode and birth).
/// Ok(None): the path names another file now (or none: Err NotFound).
pub(super) fn reopen(path: &Path, identity: (u64, u64, Option<i128>)) -> io::Result<Option<File>> {
    let file = File::open(path)?;
    let m = file.metadata()?;
    Ok(is_same(&m, identity).then_some(file))
}

/// A followed file's descriptor: its own, or one opened for a moment while it is closed.
pub(super) enum Handle<'a> {
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

pub(super) fn path_key(path: &Path) -> u64 {
    fnv1a(path.as_os_str().as_encoded_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable() {
        // Checkpoints outlive builds: the hash must never change.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
