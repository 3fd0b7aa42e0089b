//! Bytes to lines: the one splitter, with a bounded buffer and a literal prefilter over whole blocks.
//!
//! Contract: a `Splitter` walks bytes that arrive in any pieces and reports lines to a `LineSink`. While
//! the sink does not want every line, only lines that hold a candidate literal are handed over (with
//! their 1-based line number); every other line is only counted (one newline count per block, like
//! ripgrep). A sink that needs every line for a while (a multi-line record, a call waiting for its time)
//! says so and gets every line until it says otherwise. A line longer than `max_line_bytes` is cut: its
//! first `max_line_bytes` bytes are still looked at (flagged cut), the rest is skipped up to its newline.
//! A trailing `\r` is dropped. A partial last line waits for its newline unless the stream ends (`eof`).
//! `reads::scan` (one-shot reading) and the tailer both use this splitter; nothing else splits lines. Whether a
//! stream looks binary (a NUL in its first block) is decided here too (`looks_binary`), for both.

use memchr::{memchr, memchr_iter, memrchr};

pub mod reads;

/// Default cap for one line.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;
/// A stream whose first this many bytes hold a NUL looks binary (the rule of git and grep).
pub const BINARY_PROBE_BYTES: usize = 8192;

/// Whether the first block of a stream looks binary: a NUL in its first `BINARY_PROBE_BYTES`. Such a
/// stream is still read as lines (a log with one NUL-padded record must not be lost); its readers warn
/// once and count it.
pub fn looks_binary(first_block: &[u8]) -> bool {
    memchr(0, &first_block[..first_block.len().min(BINARY_PROBE_BYTES)]).is_some()
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    pub lines: u64,
    pub bytes: u64,
    pub lines_truncated: u64,
    /// The stream's first block looked binary (`looks_binary`).
    pub binary: bool,
}

/// Where lines go.
pub trait LineSink {
    /// While true, every line is handed over, not only the prefilter's candidates.
    fn wants_every_line(&self) -> bool {
        false
    }
    /// One line (no newline), its number in the stream, and whether it was cut at the cap.
    fn line(&mut self, line_no: u64, line: &[u8], cut: bool);
    /// The stream has ended (`reads::scan` only): its first and last bytes (at most `EDGE_BYTES` each), for
    /// what lines the prefilter passed over can tell (where in time the input begins and ends).
    fn ended(&mut self, _head: &[u8], _tail: &[u8]) {}
    /// A block of complete lines, the lines before it numbered `lines_before`: a sink that walks it
    /// itself (with `walk`, as the splitter would, to the same lines) returns (lines, lines cut); `None`
    /// leaves the walk to the splitter.
    fn block(&mut self, _block: &[u8], _lines_before: u64, _max: usize) -> Option<(u64, u64)> {
        None
    }
}

/// Bytes of a stream's start and end handed to `LineSink::ended`.
pub const EDGE_BYTES: usize = 16 * 1024;

impl<F: FnMut(u64, &[u8], bool)> LineSink for F {
    fn line(&mut self, line_no: u64, line: &[u8], cut: bool) {
        self(line_no, line, cut)
    }
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

/// What one `Splitter::split` call did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Bytes used: lines ended, and skipped bytes of a cut line. The rest is a partial line that must be
    /// presented again, with what follows it, at the next call.
    pub consumed: usize,
    pub lines: u64,
    pub cut: u64,
}

/// The state of one stream's line splitting between reads: the line count and whether the rest of a
/// cut line is being skipped. The caller owns the bytes (a reusable buffer).
#[derive(Debug, Clone, Default)]
pub struct Splitter {
    max_line_bytes: usize,
    /// Discarding the rest of a line that was cut; it was already counted.
    pub skipping: bool,
    pub lines: u64,
}

impl Splitter {
    pub fn new(max_line_bytes: usize) -> Splitter {
        Splitter { max_line_bytes: max_line_bytes.max(1), skipping: false, lines: 0 }
    }

    /// Resumes a stream (a checkpoint said the rest of a cut line is still being skipped).
    pub fn resume(max_line_bytes: usize, skipping: bool) -> Splitter {
        Splitter { skipping, ..Splitter::new(max_line_bytes) }
    }

    /// Splits `data`, which starts where the last call's `consumed` ended. With `eof`, a partial last
    /// line is a line.
    pub fn split(
        &mut self,
        data: &[u8],
        eof: bool,
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        sink: &mut impl LineSink,
    ) -> Split {
        let max = self.max_line_bytes;
        let mut out = Split::default();
        let mut used = 0;
        if self.skipping {
            match memchr(b'\n', data) {
                Some(nl) => {
                    self.skipping = false;
                    used = nl + 1;
                }
                None => {
                    if eof {
                        self.skipping = false;
                    }
                    out.consumed = data.len();
                    return out;
                }
            }
        }
        if let Some(last) = memrchr(b'\n', &data[used..]) {
            let end = used + last + 1;
            let (lines, cut) = self.block(&data[used..end], find, sink);
            out.lines += lines;
            out.cut += cut;
            used = end;
        }
        let rest = data.len() - used;
        if rest > max {
            // Strictly more: a line of exactly the cap is whole, whichever way the reads fell.
            let head = &data[used..used + max];
            self.lines += 1;
            if sink.wants_every_line() || find(head, 0).is_some() {
                sink.line(self.lines, head, true);
            }
            out.lines += 1;
            out.cut += 1;
            self.skipping = !eof;
            used = data.len();
        } else if rest > 0 && eof {
            let tail = strip_cr(&data[used..]);
            self.lines += 1;
            if sink.wants_every_line() || find(tail, 0).is_some() {
                sink.line(self.lines, tail, false);
            }
            out.lines += 1;
            used = data.len();
        }
        out.consumed = used;
        out
    }

    /// Walks a block of complete lines (it ends with `\n`), or hands it whole to a sink that walks
    /// blocks itself (`LineSink::block`). Returns (lines, lines cut).
    fn block(
        &mut self,
        block: &[u8],
        find: &impl Fn(&[u8], usize) -> Option<usize>,
        sink: &mut impl LineSink,
    ) -> (u64, u64) {
        let (lines, cut) = match sink.block(block, self.lines, self.max_line_bytes) {
            Some(done) => done,
            None => walk(block, self.lines, self.max_line_bytes, find, sink),
        };
        self.lines += lines;
        (lines, cut)
    }
}

/// The splitter's walk over a block of complete lines (it ends with `\n`), the lines before it
/// numbered `lines_before`: candidates (or every line, while the sink wants every line) to the sink,
/// the rest counted. Returns (lines, lines cut). Public for sinks that walk blocks in pieces.
pub fn walk(
    block: &[u8],
    lines_before: u64,
    max: usize,
    find: &impl Fn(&[u8], usize) -> Option<usize>,
    sink: &mut impl LineSink,
) -> (u64, u64) {
    let (mut lines, mut cut) = (0, 0);
    let mut pos = 0;
    while pos < block.len() {
        let start = if sink.wants_every_line() {
            pos
        } else {
            let Some(hit) = find(block, pos) else { break };
            let start = memrchr(b'\n', &block[pos..hit]).map_or(pos, |i| pos + i + 1);
            let (l, c) = count_lines(&block[pos..start], max);
            (lines, cut) = (lines + l, cut + c);
            start
        };
        let end = memchr(b'\n', &block[start..]).map_or(block.len(), |i| start + i);
        let line = strip_cr(&block[start..end]);
        lines += 1;
        let line_no = lines_before + lines;
        if line.len() > max {
            cut += 1;
            // A literal beyond the cap is not seen, exactly as if the line had arrived in pieces.
            let head = &line[..max];
            if sink.wants_every_line() || find(head, 0).is_some() {
                sink.line(line_no, head, true);
            }
        } else {
            sink.line(line_no, line, false);
        }
        pos = end + 1;
    }
    if pos < block.len() {
        let (l, c) = count_lines(&block[pos..], max);
        (lines, cut) = (lines + l, cut + c);
    }
    (lines, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_in_the_first_block_looks_binary() {
        assert!(!looks_binary(b"2025-03-14T01:22:05Z plain text\n"));
        assert!(looks_binary(b"ELF\0\0\x01"));
        let mut late = vec![b'x'; BINARY_PROBE_BYTES];
        late.push(0);
        assert!(!looks_binary(&late), "a NUL past the probe is not looked at");
        assert!(!looks_binary(b""));
    }
}
