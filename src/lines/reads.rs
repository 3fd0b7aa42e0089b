//! One-shot reading of a stream to its end through the splitter (`check`, batches, read-once gzip).
//!
//! Semantics:
//! - **Reads fill a buffer.** Each read asks for `READ_BYTES` and is repeated until they came or the
//!   stream ended, so how a pipe or a decoder hands its bytes over changes nothing but when they are
//!   split. A read that fails ends the stream: the lines that came whole before the failure are
//!   split, and the error is returned (as a read error is reported: after so many lines).
//! - **The rest of a line waits in front.** Each buffer keeps its first `ROOM` bytes free: the
//!   partial line the last buffer ended with is put there, just before the new bytes, so nothing but
//!   that line is copied twice. A partial line longer than that (a line cap raised past it) is
//!   gathered apart instead: each read's bytes are added to it, and it is split only once a newline
//!   comes or it passes the cap. So a long line costs its length once, not once a read (a user trial:
//!   a 200 MiB line under a 1 GiB cap took 3.6 s and 626 MB copied again at every read).
//! - **Reading ahead**: the next buffer is read on a second thread while this one's
//!   lines are split and judged, so the copy out of the page cache, or the decompression, is off the
//!   thread that feeds the Event stage (a read was 12 % of that thread's time on a load test's
//!   export). Two buffers go round: the reader fills one while the splitter walks the other. A stream
//!   that ends within its first buffer is read on the calling thread alone (no thread for a small
//!   file). The lines, their numbers and the statistics are those of reading on one thread.
//! - The stream's first `BINARY_PROBE_BYTES` decide whether it looks binary, and its first and last
//!   `EDGE_BYTES` go to `LineSink::ended`, however the reads fell.

use std::io::{self, Read};
use std::sync::mpsc;

use super::{BINARY_PROBE_BYTES, EDGE_BYTES, LineSink, ScanStats, Splitter, looks_binary};

/// Bytes asked of the stream at once (after the room kept for a partial line).
pub const READ_BYTES: usize = 1 << 20;
/// Bytes kept in front of each buffer for the partial line the last one ended with.
const ROOM: usize = READ_BYTES;

/// Reads `reader` to its end through a `Splitter`, the next buffer read on a second thread while
/// this one is split (see the module doc).
pub fn scan<R: Read + Send + ?Sized>(
    reader: &mut R,
    max_line_bytes: usize,
    stats: &mut ScanStats,
    find: &impl Fn(&[u8], usize) -> Option<usize>,
    sink: &mut impl LineSink,
) -> io::Result<()> {
    let first = fill(reader, buffer());
    if first.end.is_some() {
        return split_reads(first, |buf| fill(reader, buf), max_line_bytes, stats, find, sink);
    }
    std::thread::scope(|s| {
        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        let (filled_tx, filled_rx) = mpsc::channel::<Filled>();
        let spawned = std::thread::Builder::new().name("read".into()).spawn_scoped(s, move || {
            // Ends when the splitter lets go of its sender (it returned), or at the stream's end.
            for buf in free_rx {
                let filled = fill(reader, buf);
                let end = filled.end.is_some();
                if filled_tx.send(filled).is_err() || end {
                    break;
                }
            }
        });
        if let Err(e) = spawned {
            let why = format!("cannot start a thread to read with: {e}");
            return split_reads(
                first,
                |_| ended(Err(io::Error::other(why.clone()))),
                max_line_bytes,
                stats,
                find,
                sink,
            );
        }
        // The second buffer: the reader fills it while the splitter walks the first.
        let _ = free_tx.send(buffer());
        let next = |buf: Vec<u8>| {
            let _ = free_tx.send(buf);
            filled_rx.recv().unwrap_or_else(|_| ended(Err(io::Error::other("the reading thread stopped"))))
        };
        split_reads(first, next, max_line_bytes, stats, find, sink)
    })
}

/// A buffer: `ROOM` bytes kept for a partial line, then `READ_BYTES` to read into. Zeroed by the
/// allocator, so the room's pages are not touched (nor resident) until a partial line is put there.
fn buffer() -> Vec<u8> {
    vec![0; ROOM + READ_BYTES]
}

/// One buffer as read: `n` bytes after its first `ROOM`, and, where the stream ended (at its end or
/// at a failure), how.
struct Filled {
    buf: Vec<u8>,
    n: usize,
    end: Option<io::Result<()>>,
}

fn ended(end: io::Result<()>) -> Filled {
    Filled { buf: vec![0; ROOM], n: 0, end: Some(end) }
}

/// Reads into `buf` after its first `ROOM` bytes until it is full or the stream ends.
fn fill<R: Read + ?Sized>(reader: &mut R, mut buf: Vec<u8>) -> Filled {
    let mut n = 0;
    let space = buf.len() - ROOM;
    while n < space {
        match reader.read(&mut buf[ROOM + n..]) {
            Ok(0) => return Filled { buf, n, end: Some(Ok(())) },
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Filled { buf, n, end: Some(Err(e)) },
        }
    }
    Filled { buf, n, end: None }
}

/// The first and last bytes of a stream, and whether its first ones look binary.
#[derive(Default)]
struct Edges {
    head: Vec<u8>,
    tail: Vec<u8>,
    probed: usize,
}

impl Edges {
    fn took(&mut self, new: &[u8], stats: &mut ScanStats) {
        let n = new.len();
        if self.head.len() < EDGE_BYTES {
            self.head.extend_from_slice(&new[..n.min(EDGE_BYTES - self.head.len())]);
        }
        if n >= EDGE_BYTES {
            self.tail.clear();
            self.tail.extend_from_slice(&new[n - EDGE_BYTES..]);
        } else {
            self.tail.extend_from_slice(new);
            let over = self.tail.len().saturating_sub(EDGE_BYTES);
            self.tail.drain(..over);
        }
        if self.probed < BINARY_PROBE_BYTES {
            let probe = n.min(BINARY_PROBE_BYTES - self.probed);
            stats.binary |= looks_binary(&new[..probe]);
            self.probed += probe;
        }
        stats.bytes += n as u64;
    }
}

/// Splits `first` and every buffer `next` gives for the one handed back, until one ends the stream.
fn split_reads(
    first: Filled,
    mut next: impl FnMut(Vec<u8>) -> Filled,
    max_line_bytes: usize,
    stats: &mut ScanStats,
    find: &impl Fn(&[u8], usize) -> Option<usize>,
    sink: &mut impl LineSink,
) -> io::Result<()> {
    let mut splitter = Splitter::new(max_line_bytes);
    let max = splitter.max_line_bytes;
    let mut edges = Edges::default();
    // The partial line the last buffer ended with (never a newline in it).
    let mut rest: Vec<u8> = Vec::new();
    let mut filled = first;
    loop {
        let Filled { mut buf, n, end } = filled;
        let new = &buf[ROOM..ROOM + n];
        edges.took(new, stats);
        let mut split = |data: &[u8], eof: bool, stats: &mut ScanStats| {
            let s = splitter.split(data, eof, find, sink);
            stats.lines += s.lines;
            stats.lines_truncated += s.cut;
            s.consumed
        };
        if rest.len() <= ROOM {
            let from = ROOM - rest.len();
            buf[from..ROOM].copy_from_slice(&rest);
            let data = &buf[from..ROOM + n];
            let used = split(data, false, stats);
            rest.clear();
            rest.extend_from_slice(&data[used..]);
        } else {
            // A long partial line: gathered apart, split once it can end (a newline, or the cap).
            rest.extend_from_slice(&buf[ROOM..ROOM + n]);
            if memchr::memchr(b'\n', &buf[ROOM..ROOM + n]).is_some() || rest.len() > max {
                let used = split(&rest, false, stats);
                rest.drain(..used);
            }
        }
        if let Some(end) = end {
            end?;
            split(&rest, true, stats);
            sink.ended(&edges.head, &edges.tail);
            return Ok(());
        }
        filled = next(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::BINARY_PROBE_BYTES;

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
        scan(&mut Trickle(input, step), max, &mut stats, &find, &mut |n: u64, l: &[u8], t: bool| {
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
            assert_eq!(
                stats,
                ScanStats { lines: 6, bytes: input.len() as u64, lines_truncated: 0, binary: false },
                "step {step}"
            );
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
    fn scan_flags_a_nul_in_the_first_block_however_it_arrives() {
        let mut input = b"a\nb\0c\n".to_vec();
        for step in [1, 2, 1000] {
            assert!(run(&input, 64, step).0.binary, "step {step}");
        }
        input = vec![b'x'; BINARY_PROBE_BYTES + 10];
        input.extend(b"\0\n");
        assert!(!run(&input, 1 << 20, 3).0.binary, "past the probe");
    }

    /// Under a cap raised past a buffer, a long line is gathered whole across many reads (and cut at
    /// the cap), whatever the reads' sizes.
    #[test]
    fn long_lines_under_a_raised_cap_are_gathered_whole() {
        let cap = 8 * READ_BYTES;
        let mut input = b"ERR first\n".to_vec();
        let whole = format!("ERR whole {}", "w".repeat(5 * READ_BYTES));
        input.extend(whole.bytes());
        input.push(b'\n');
        let long = format!("ERR long {}", "c".repeat(9 * READ_BYTES));
        input.extend(long.bytes());
        input.extend(b"\nERR last\n");
        for step in [65_537, 3 * READ_BYTES + 1, usize::MAX] {
            let (stats, seen) = run(&input, cap, step);
            assert_eq!((stats.lines, stats.lines_truncated), (4, 1), "step {step}");
            let got: Vec<(u64, usize, bool)> = seen.iter().map(|(n, l, c)| (*n, l.len(), *c)).collect();
            assert_eq!(got, vec![(1, 9, false), (2, whole.len(), false), (3, cap, true), (4, 8, false)], "step {step}");
            assert!(seen[1].1 == whole && long.starts_with(&seen[2].1), "step {step}: the lines' bytes");
        }
    }

    /// Streams longer than a buffer are read ahead on a second thread: the same lines, numbers, cuts
    /// and statistics however the reads fall, a cut line crossing a buffer's end included.
    #[test]
    fn streams_of_many_buffers_read_ahead_give_the_same_lines() {
        let mut input = Vec::new();
        let mut want = Vec::new();
        let mut n = 0u64;
        while input.len() < 3 * READ_BYTES + 12345 {
            n += 1;
            if n % 7 == 0 {
                input.extend(format!("ERR {n}\n").bytes());
                want.push((n, format!("ERR {n}"), false));
            } else if n == 40_000 {
                // Longer than the cap, and across the first buffer's end (~37 bytes a line).
                input.extend(b"ERR long ");
                input.extend(std::iter::repeat_n(b'z', 70_000));
                input.push(b'\n');
                want.push((n, format!("ERR long {}", "z".repeat(1000 - 9)), true));
            } else {
                input.extend(format!("line {n} of plain text, nothing here\n").bytes());
            }
        }
        input.extend(b"ERR last, no newline");
        n += 1;
        want.push((n, "ERR last, no newline".into(), false));
        for step in [4093, READ_BYTES + 7, usize::MAX] {
            let (stats, seen) = run(&input, 1000, step);
            assert_eq!(
                stats,
                ScanStats { lines: n, bytes: input.len() as u64, lines_truncated: 1, binary: false },
                "step {step}"
            );
            assert!(seen == want, "step {step}: {} lines seen, {} wanted", seen.len(), want.len());
        }
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
