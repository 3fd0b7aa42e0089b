//! Bytes to lines with a bounded buffer and a literal prefilter over whole blocks.
//!
//! Contract: `scan` reads a stream to its end and reports every line that holds a candidate literal,
//! with its 1-based line number; every other line is only counted (one newline count per block, like
//! ripgrep). The buffer never grows past `max_line_bytes` plus one read chunk: a longer line is cut,
//! its first `max_line_bytes` bytes are still looked at (flagged truncated), the rest is skipped up to
//! its newline. A trailing `\r` is dropped. The last line of a stream needs no newline.

use std::io::{self, Read};

use memchr::{memchr, memchr_iter, memrchr};

/// How much is read at once.
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Default cap for one line.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    pub lines: u64,
    pub bytes: u64,
    pub lines_truncated: u64,
}

/// Lines in `b` (which starts at a line start) and how many of them are longer than `max`.
fn count_lines(b: &[u8], max: usize) -> (u64, u64) {
    let (mut lines, mut long, mut line_start) = (0, 0, 0);
    for nl in memchr_iter(b'\n', b) {
        lines += 1;
        long += u64::from(nl - line_start > max);
        line_start = nl + 1;
    }
    (lines, long)
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Walks a block of complete lines (it ends with `\n`). `find(block, from)` returns the position of the
/// next literal; `first_line` is the number of the block's first line. A line longer than
/// `max_line_bytes` is cut to that (and flagged) before the candidate callback sees it. Returns
/// (lines in the block, lines cut).
pub fn scan_block(
    block: &[u8],
    first_line: u64,
    max_line_bytes: usize,
    find: &impl Fn(&[u8], usize) -> Option<usize>,
    on_candidate: &mut impl FnMut(u64, &[u8], bool),
) -> (u64, u64) {
    let (mut lines, mut cut) = (0, 0);
    let mut counted_to = 0;
    let mut pos = 0;
    while pos < block.len() {
        let Some(hit) = find(block, pos) else { break };
        let start = memrchr(b'\n', &block[pos..hit]).map_or(pos, |i| pos + i + 1);
        let end = memchr(b'\n', &block[hit..]).map_or(block.len(), |i| hit + i);
        let (l, c) = count_lines(&block[counted_to..start], max_line_bytes);
        (lines, cut) = (lines + l, cut + c);
        counted_to = start;
        let line = strip_cr(&block[start..end]);
        if line.len() > max_line_bytes {
            // A literal beyond the cap is not seen, exactly as if the line had arrived in pieces.
            let head = &line[..max_line_bytes];
            if find(head, 0).is_some() {
                on_candidate(first_line + lines, head, true);
            }
        } else {
            on_candidate(first_line + lines, line, false);
        }
        pos = end + 1;
    }
    let (l, c) = count_lines(&block[counted_to..], max_line_bytes);
    (lines + l, cut + c)
}

/// Reads `reader` to its end. `on_candidate(line_no, line, truncated)`.
pub fn scan<R: Read + ?Sized>(
    reader: &mut R,
    max_line_bytes: usize,
    stats: &mut ScanStats,
    find: &impl Fn(&[u8], usize) -> Option<usize>,
    on_candidate: &mut impl FnMut(u64, &[u8], bool),
) -> io::Result<()> {
    let max_line_bytes = max_line_bytes.max(1);
    let mut buf = vec![0u8; max_line_bytes + CHUNK_BYTES];
    let mut filled = 0;
    // Discarding the rest of a line that was cut; it was already counted.
    let mut skipping = false;
    loop {
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            if filled > 0 && !skipping {
                // The last line has no newline: give it one so it is treated like any other.
                buf[filled] = b'\n';
                let (lines, cut) = scan_block(&buf[..=filled], stats.lines + 1, max_line_bytes, find, on_candidate);
                stats.lines += lines;
                stats.lines_truncated += cut;
            }
            return Ok(());
        }
        stats.bytes += n as u64;
        let read_from = filled;
        filled += n;
        let mut start = 0;
        if skipping {
            match memchr(b'\n', &buf[read_from..filled]) {
                Some(i) => {
                    skipping = false;
                    start = read_from + i + 1;
                }
                None => {
                    filled = 0;
                    continue;
                }
            }
        }
        if let Some(last) = memrchr(b'\n', &buf[start..filled]) {
            let end = start + last + 1;
            let (lines, cut) = scan_block(&buf[start..end], stats.lines + 1, max_line_bytes, find, on_candidate);
            stats.lines += lines;
            stats.lines_truncated += cut;
            start = end;
        }
        let rest = filled - start;
        // Strictly more: a line of exactly the cap is whole, whichever way the reads fell.
        if rest > max_line_bytes {
            stats.lines += 1;
            stats.lines_truncated += 1;
            let head = &buf[start..start + max_line_bytes];
            if find(head, 0).is_some() {
                on_candidate(stats.lines, head, true);
            }
            skipping = true;
            filled = 0;
        } else {
            buf.copy_within(start..filled, 0);
            filled = rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads at most `step` bytes per call, to cross every buffer boundary.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn run(input: &[u8], max: usize, step: usize) -> (ScanStats, Vec<(u64, String, bool)>) {
        let find = |h: &[u8], from: usize| memchr::memmem::find(&h[from..], b"ERR").map(|i| i + from);
        let mut seen = Vec::new();
        let mut stats = ScanStats::default();
        scan(&mut Trickle(input, step), max, &mut stats, &find, &mut |n, l, t| {
            seen.push((n, String::from_utf8_lossy(l).into_owned(), t))
        })
        .unwrap();
        (stats, seen)
    }

    #[test]
    fn numbers_candidates_and_counts_all_lines() {
        let input = b"a\nERR 1\nb\r\nc\nERR 2\r\nERR 3";
        for step in [1, 2, 3, 7, 1000] {
            let (stats, seen) = run(input, 64, step);
            assert_eq!(stats, ScanStats { lines: 6, bytes: input.len() as u64, lines_truncated: 0 }, "step {step}");
            assert_eq!(
                seen,
                vec![(2, "ERR 1".into(), false), (5, "ERR 2".into(), false), (6, "ERR 3".into(), false)],
                "step {step}"
            );
        }
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped() {
        let mut input = b"x\n".to_vec();
        input.extend(b"ERR ");
        input.extend(std::iter::repeat_n(b'y', 300_000));
        input.extend(b" ERR tail\nERR after\n");
        let (stats, seen) = run(&input, 1000, 4096);
        assert_eq!(stats.lines, 3);
        assert_eq!(stats.lines_truncated, 1);
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[0].0, seen[0].1.len(), seen[0].2), (2, 1000, true));
        assert_eq!(seen[1], (3, "ERR after".into(), false));
    }

    #[test]
    fn empty_and_newline_only_inputs() {
        assert_eq!(run(b"", 10, 10).0.lines, 0);
        assert_eq!(run(b"\n\n\n", 10, 10).0.lines, 3);
        for step in [1, 3, 10, 11, 100] {
            assert_eq!(run(b"0123456789\n", 10, step).0.lines_truncated, 0, "exactly the cap, step {step}");
            assert_eq!(run(b"0123456789A\n", 10, step).0.lines_truncated, 1, "one over, step {step}");
        }
    }
}
