//! The copy rule: when a file holds bytes another file held, which of them counts which lines.
//! Stated here once, as pure functions of what is known about the files (offsets read, where they
//! first differ, what they agree on); `identify.rs` and `copies.rs` gather those facts and apply it.
//!
//! Promises (the model test `tests/it/tail_model.rs` checks every one over random sequences of appends,
//! rename and copy rotations, progressive copies, truncations, deletions and restarts: 0 lines lost,
//! 0 counted twice):
//!
//! - **New file or copy?** Evidence in this order: (1) device + inode (a followed file, or one from the
//!   checkpoint or let go earlier with the same first bytes, is that file); (2) renames: a file that
//!   appears at a path after the file there was renamed away or deleted is new, whatever its first
//!   bytes; (3) only then content: a file is a copy of a followed file of its source found before it (or
//!   of another copy of it), or of content of its source truncated away in the last
//!   `2 × poll interval + 1 s` (copytruncate). Where the original still holds its bytes they are
//!   compared byte for byte as far as both go (at least `COPY_MIN_BYTES`); where it does not, the
//!   candidate must hold all of the original's fingerprint (logrotate and cp finish a copy before they
//!   truncate). A file that holds *all* of an earlier file and more is a later copy of the same content
//!   (that file was a shorter copy, or was truncated and regrown unseen): it continues from where that
//!   file was read. (4) In doubt (too few matching bytes, two originals, an original truncated but not
//!   noticed yet) the file is *undecided*: nothing is read from it until it is decided, at the latest
//!   after two poll intervals without growth or when it is let go, and then as a new file.
//! - **One content, one count.** A copy of an original read to offset O has `[0, O)` counted already,
//!   whether or not those bytes have arrived. Every file holding one content (the original, its
//!   copies, a record of it truncated away) shares one count: before a file of the content is read,
//!   the lines another file of it has counted, and that this one holds alike, are skipped
//!   (`catch_up`). So the original, or any copy, counts each line once, whichever reads it first.
//! - **Following** (`follow`): while the original is followed and holds the copy's bytes, the copy reads
//!   nothing and its offset is the original's. On every look the bytes the original has not been read
//!   past (and those it read since the copy last looked) are compared again, so an original truncated
//!   and regrown unseen (its first bytes too few to tell) is caught by what it no longer holds.
//!   Where the two first differ, at byte `d`:
//!   - `d` before the copy's offset: its bytes differ from ones counted as the original's. Two
//!     readings are possible (not a copy; or an original rewritten under the same first bytes) and
//!     the one that loses nothing wins: **not a copy**, read from its start (its lines that matched
//!     are counted twice rather than lost).
//!   - `d` between the copy's offset and O: the original read other lines than the copy holds there:
//!     the copy reads on from the last whole line they share.
//!   - `d` at or past O: the original no longer holds what it was still to read: the copy reads on
//!     from O.
//!   Each of these is logged ("file starts like another") and counted (`lookalike_decisions`).
//! - **Let go or truncated.** When the original is truncated (noticed) or let go at O, its copies
//!   read on from O; several copies: the longest reads on, the others follow it.
//! - **Limits.** Bytes past `VERIFY_BYTES` are trusted, not compared. A copy shorter than the original's
//!   fingerprint whose original is truncated before any rescan saw the copy cannot be told from a new
//!   file: it is read as one (counted twice, never lost). Lines written between logrotate's copy and
//!   its truncation are in neither file; no reader can count them.

/// What a copy that follows its original does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Follow {
    /// Read nothing: the original counts these bytes. The copy's offset becomes `offset`.
    Follow { offset: u64 },
    /// Not a copy after all: read from its start.
    NotACopy { at: u64 },
    /// The original no longer holds (or read other bytes than) what the copy holds from `from`.
    ReadOn { from: u64, at: u64 },
}

/// What was compared between a copy and its original, over the bytes the original has not been read
/// past and those the copy has not been compared on yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Compared {
    /// How far the original was read (O).
    pub original_offset: u64,
    /// The copy's offset before this look.
    pub copy_offset: u64,
    /// The first byte where the copy differs from the original (the original ending first is a
    /// difference at its end); None: equal as far as compared.
    pub difference: Option<u64>,
    /// The end of the last whole line before `difference` the two hold alike.
    pub agreed: u64,
}

/// The copy rule for a copy following an original that still looks intact (see the module doc).
pub(super) fn follow(c: Compared) -> Follow {
    match c.difference {
        None => Follow::Follow { offset: c.original_offset.max(c.copy_offset) },
        Some(d) if d < c.copy_offset => Follow::NotACopy { at: d },
        Some(d) if d < c.original_offset => Follow::ReadOn { from: c.agreed.max(c.copy_offset), at: d },
        Some(d) => Follow::ReadOn { from: c.original_offset.max(c.copy_offset), at: d },
    }
}

/// Where a file of a content starts reading when another file of the same content was read to
/// `other` (with `other_skipping`) and the two agree up to `agreed` (a line end): None to stay.
pub(super) fn catch_up(mine: u64, other: u64, other_skipping: bool, agreed: u64) -> Option<(u64, bool)> {
    let (offset, skipping) = if agreed >= other { (other, other_skipping) } else { (agreed, false) };
    (offset > mine).then_some((offset, skipping))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(original_offset: u64, copy_offset: u64, difference: Option<u64>, agreed: u64) -> Compared {
        Compared { original_offset, copy_offset, difference, agreed }
    }

    #[test]
    fn equal_bytes_follow_the_original() {
        assert_eq!(follow(c(840, 420, None, 0)), Follow::Follow { offset: 840 });
    }

    #[test]
    fn a_difference_in_counted_bytes_is_not_a_copy() {
        assert_eq!(follow(c(840, 420, Some(100), 84)), Follow::NotACopy { at: 100 });
    }

    #[test]
    fn other_lines_read_by_the_original_are_the_copys_own() {
        // The original read [420, 840) since the copy last looked; they differ inside it.
        assert_eq!(follow(c(840, 420, Some(500), 420)), Follow::ReadOn { from: 420, at: 500 });
        assert_eq!(follow(c(840, 420, Some(600), 588)), Follow::ReadOn { from: 588, at: 600 });
    }

    #[test]
    fn bytes_the_original_no_longer_holds_are_read_from_the_copy() {
        assert_eq!(follow(c(840, 840, Some(900), 840)), Follow::ReadOn { from: 840, at: 900 });
        assert_eq!(follow(c(0, 0, Some(0), 0)), Follow::ReadOn { from: 0, at: 0 });
    }

    #[test]
    fn catching_up_skips_only_lines_held_alike() {
        assert_eq!(catch_up(84, 252, false, 252), Some((252, false)));
        assert_eq!(catch_up(84, 252, true, 252), Some((252, true)));
        assert_eq!(catch_up(84, 252, true, 168), Some((168, false)));
        assert_eq!(catch_up(84, 252, false, 84), None);
    }
}
