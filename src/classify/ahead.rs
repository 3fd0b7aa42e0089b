//! Judging lines ahead: the literal scan, the parse and the patterns of a block's candidate lines run
//! on a second thread while the calling thread hands the block's earlier lines to the Event stage.
//!
//! Semantics (none of them changes what is counted):
//! - **Same lines, same numbers.** A block of complete lines is cut at newlines into `PIECES` pieces.
//!   Each piece is judged once, by whichever thread takes it first (a shared counter): walked with the
//!   splitter's walk (`lines::walk`), the classifier's prefilter and the same cap, and for each
//!   candidate line its record is made (`record::parse(line, choice)`) and the classifier asked what
//!   it is (`classify_record`, a function of the line and its record only). The calling thread then
//!   walks the pieces in order with their candidates as its prefilter, judging the next untaken piece
//!   while the one it needs is not ready: the lines handed over, their numbers, cut flags and order
//!   are those of a plain walk, whatever the sink asks in between (`wants_every_line`).
//! - **The stage decides whether a judgement applies.** Each line handed over carries what was found
//!   ahead (`Ahead`): its record and patterns, or that it holds no literal. The stage uses them only
//!   where its reader reads that line on its own with the same choice (`RecordReader::push_parsed`),
//!   and otherwise reads the line itself, as without this room. Cut lines carry nothing.
//! - **Only large blocks** (`MIN_BLOCK`): a followed file that grows by a few lines is walked on the
//!   calling thread alone; a thread is started per block only where the block is worth it.
//! - A helper that fails (it panicked) leaves its pieces to the calling thread's own walk.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};

use memchr::memchr;

use crate::classify::Classifier;
use crate::lines::{self, LineSink};
use crate::record::{self, FormatChoice, Record};

/// Blocks smaller than this are walked on the calling thread alone.
pub const MIN_BLOCK: usize = 64 * 1024;
/// Bytes of a block walked on the calling thread alone while its stream's form is undecided.
const FIRST_BYTES: usize = 16 * 1024;
/// Pieces a block is cut into: the calling thread's own first piece is its share of the judging.
const PIECES: usize = 16;

/// What was found ahead about one line handed over.
pub enum Ahead<'a> {
    /// The line holds no literal (it is handed over because the sink wants every line).
    NoLiteral,
    /// A candidate line's record, read with `choice`, and the error pattern and signal it is.
    Judged { record: Record<'a>, pattern: Option<usize>, signal: Option<usize>, choice: FormatChoice },
}

/// A sink that takes lines with what was found ahead about them.
pub trait AheadSink: LineSink {
    fn line_ahead<'a>(&mut self, line_no: u64, line: &'a [u8], ahead: Ahead<'a>);
}

/// Walks `block` (complete lines, the lines before it numbered `lines_before`) as `lines::walk` with
/// the classifier's prefilter would, judging candidate lines ahead on a second thread where the sink
/// reads lines one by one (`choice_of` says with which choice). A stream whose form is not decided
/// yet (its first lines) has its first `FIRST_BYTES` walked on this thread alone, then is asked
/// again. Returns (lines, lines cut).
pub fn walk<S: AheadSink>(
    classifier: &Arc<Classifier>,
    block: &[u8],
    lines_before: u64,
    max: usize,
    sink: &mut S,
    choice_of: impl Fn(&S) -> Option<FormatChoice>,
) -> (u64, u64) {
    let find = |h: &[u8], from: usize| classifier.next_candidate(h, from);
    if let Some(choice) = choice_of(sink) {
        return walk_block(classifier, choice, block, lines_before, max, sink);
    }
    let first = match memchr(b'\n', &block[FIRST_BYTES.min(block.len() - 1)..]) {
        Some(i) => FIRST_BYTES.min(block.len() - 1) + i + 1,
        None => block.len(),
    };
    let (lines, cut) = lines::walk(&block[..first], lines_before, max, &find, sink);
    let rest = &block[first..];
    let (l, c) = match choice_of(sink) {
        Some(choice) if !rest.is_empty() => walk_block(classifier, choice, rest, lines_before + lines, max, sink),
        _ => lines::walk(rest, lines_before + lines, max, &find, sink),
    };
    (lines + l, cut + c)
}

/// As `walk`, the stream read line by line with `choice`.
pub fn walk_block<S: AheadSink>(
    classifier: &Arc<Classifier>,
    choice: FormatChoice,
    block: &[u8],
    lines_before: u64,
    max: usize,
    sink: &mut S,
) -> (u64, u64) {
    let find = |h: &[u8], from: usize| classifier.next_candidate(h, from);
    let ranges = pieces(block);
    // Pieces are judged by whichever thread is free, in the order of a shared counter; this thread
    // hands them over in order, judging the next untaken one while the one it needs is not ready.
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    // The helper's copy of the block goes into the buffer the last block's copy used (a new 1 MiB
    // allocation per block left the heap a block bigger now and then: the soak test saw it).
    let mut data = None;
    if let Some(helper) = helper() {
        let mut copy = SPARE.with(|s| s.take()).unwrap_or_default();
        copy.clear();
        copy.extend_from_slice(block);
        let copy = Arc::new(copy);
        let job = Job {
            classifier: Arc::clone(classifier),
            choice,
            max,
            data: Arc::clone(&copy),
            pieces: Arc::from(ranges.as_slice()),
            next: Arc::clone(&next),
            results: tx,
        };
        // A helper that is gone leaves every piece to this thread.
        if helper.send(job).is_ok() {
            data = Some(copy);
        }
    }
    let mut ready: Vec<Option<Found>> = ranges.iter().map(|_| None).collect();
    let mut helper_done = data.is_none();
    let (mut lines, mut cut) = (0, 0);
    for (k, range) in ranges.iter().enumerate() {
        while ready[k].is_none() {
            let j = next.fetch_add(1, Ordering::Relaxed);
            if let Some(r) = ranges.get(j) {
                ready[j] = Some(judge(classifier, choice, &block[r.clone()], max));
                continue;
            }
            match rx.recv() {
                Ok((j, found)) if j < ready.len() => ready[j] = Some(found),
                // Done, or gone (it panicked) with this piece: walked unjudged below.
                _ => {
                    helper_done = true;
                    break;
                }
            }
        }
        let piece = &block[range.clone()];
        let (l, c) = match ready[k].take() {
            Some(Found { offsets, judged }) => {
                let lookup = |h: &[u8], from: usize| next_of(&offsets, piece, h, from);
                let mut on = OnPiece { sink: &mut *sink, piece, offsets: &offsets, judged };
                lines::walk(piece, lines_before + lines, max, &lookup, &mut on)
            }
            None => lines::walk(piece, lines_before + lines, max, &find, sink),
        };
        (lines, cut) = (lines + l, cut + c);
    }
    // The helper lets go of its copy, then says it is done with the block (at once: every piece is
    // judged), and the buffer is kept for the next block.
    while !helper_done {
        helper_done = !matches!(rx.recv(), Ok((j, _)) if j < ready.len());
    }
    if let Some(v) = data.and_then(|d| Arc::try_unwrap(d).ok()) {
        SPARE.with(|s| s.set(Some(v)));
    }
    (lines, cut)
}

thread_local! {
    /// The buffer of the last block's copy for the helper, for the next block of this thread.
    static SPARE: std::cell::Cell<Option<Vec<u8>>> = const { std::cell::Cell::new(None) };
}

/// One block offered to the helper: its own copy of the bytes (the caller's buffer is reused once
/// the block is walked), the pieces, the counter both threads take pieces by, and where to send them.
struct Job {
    classifier: Arc<Classifier>,
    choice: FormatChoice,
    max: usize,
    data: Arc<Vec<u8>>,
    pieces: Arc<[Range<usize>]>,
    next: Arc<AtomicUsize>,
    results: mpsc::Sender<(usize, Found)>,
}

/// The helper thread, started at first use and kept for the life of the process: one thread, so the
/// regexes keep one set of caches for it (a thread per block made up to eight, ~13 MB more).
fn helper() -> Option<&'static mpsc::Sender<Job>> {
    static HELPER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let spawned = std::thread::Builder::new().name("judge".into()).spawn(move || {
                while let Ok(job) = rx.recv() {
                    loop {
                        let k = job.next.fetch_add(1, Ordering::Relaxed);
                        let Some(r) = job.pieces.get(k) else { break };
                        let found = judge(&job.classifier, job.choice, &job.data[r.clone()], job.max);
                        if job.results.send((k, found)).is_err() {
                            break;
                        }
                    }
                    let Job { data, results, .. } = job;
                    drop(data);
                    let _ = results.send((usize::MAX, Found { offsets: Vec::new(), judged: Vec::new() }));
                }
            });
            spawned.ok().map(|_| tx)
        })
        .as_ref()
}

/// `block` cut at newlines into at most `PIECES` pieces of about equal size, none empty.
fn pieces(block: &[u8]) -> Vec<Range<usize>> {
    let mut bounds = vec![0];
    for k in 1..PIECES {
        let target = (block.len() * k / PIECES).max(bounds[bounds.len() - 1]);
        match memchr(b'\n', &block[target..]) {
            Some(i) if target + i + 1 < block.len() => bounds.push(target + i + 1),
            _ => break,
        }
    }
    bounds.dedup();
    bounds.push(block.len());
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// A judged candidate line: its record, and what it is. The record outlives the bytes it was read
/// from (the helper's copy): a message that is a part of the line is kept as where it stands in it.
struct Judgement {
    record: Record<'static>,
    message_at: Option<Range<usize>>,
    choice: FormatChoice,
    pattern: Option<usize>,
    signal: Option<usize>,
}

impl Judgement {
    fn new(
        line: &[u8],
        mut record: Record<'_>,
        choice: FormatChoice,
        pattern: Option<usize>,
        signal: Option<usize>,
    ) -> Judgement {
        let (message, message_at) = match std::mem::take(&mut record.message) {
            Cow::Borrowed(m) => match within(line, m) {
                Some(at) if !m.is_empty() => (Cow::Borrowed(&b""[..]), Some(at..at + m.len())),
                _ => (Cow::Owned(m.to_vec()), None),
            },
            Cow::Owned(m) => (Cow::Owned(m), None),
        };
        Judgement { record: record.with_message(message), message_at, choice, pattern, signal }
    }

    /// What was found, its record reading `line` (the same bytes it was read from).
    fn ahead(self, line: &[u8]) -> Ahead<'_> {
        let mut record: Record<'_> = self.record;
        if let Some(at) = self.message_at {
            record.message = Cow::Borrowed(&line[at]);
        }
        Ahead::Judged { record, pattern: self.pattern, signal: self.signal, choice: self.choice }
    }
}

/// Where `part` starts in `whole`, if it lies within it.
fn within(whole: &[u8], part: &[u8]) -> Option<usize> {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    (p >= w && p + part.len() <= w + whole.len()).then(|| p - w)
}

/// One piece's candidate lines (offsets of their starts in the piece, ascending) and what each is
/// (`None` for a cut line).
struct Found {
    offsets: Vec<usize>,
    judged: Vec<Option<Judgement>>,
}

/// The prefilter of the calling thread's walk over a judged piece: the start of the next candidate
/// line (of `offsets`) at or after `from` in `h`, a part of `piece` (the piece, or a cut line's head).
fn next_of(offsets: &[usize], piece: &[u8], h: &[u8], from: usize) -> Option<usize> {
    let base = offset_in(piece, h);
    let i = offsets.partition_point(|&o| o < base + from);
    offsets.get(i).filter(|&&o| o < base + h.len()).map(|&o| o - base)
}

/// Where `part` (a subslice of `whole`) starts in it.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

fn judge(classifier: &Classifier, choice: FormatChoice, piece: &[u8], max: usize) -> Found {
    struct Judge<'c, 'p> {
        classifier: &'c Classifier,
        choice: FormatChoice,
        piece: &'p [u8],
        found: Found,
    }
    impl LineSink for Judge<'_, '_> {
        fn line(&mut self, _line_no: u64, line: &[u8], cut: bool) {
            self.found.offsets.push(offset_in(self.piece, line));
            self.found.judged.push((!cut).then(|| {
                let record = record::parse(line, self.choice);
                let (pattern, signal) = self.classifier.classify_record(Some(line), &record);
                Judgement::new(line, record, self.choice, pattern, signal)
            }));
        }
    }
    let mut j = Judge { classifier, choice, piece, found: Found { offsets: Vec::new(), judged: Vec::new() } };
    lines::walk(piece, 0, max, &|h: &[u8], from: usize| classifier.next_candidate(h, from), &mut j);
    j.found
}

/// The calling thread's sink for a judged piece: each line with what was found about it.
struct OnPiece<'s, 'a, S> {
    sink: &'s mut S,
    piece: &'a [u8],
    offsets: &'s [usize],
    judged: Vec<Option<Judgement>>,
}

impl<S: AheadSink> LineSink for OnPiece<'_, '_, S> {
    fn wants_every_line(&self) -> bool {
        self.sink.wants_every_line()
    }
    fn line(&mut self, line_no: u64, line: &[u8], cut: bool) {
        let at = offset_in(self.piece, line);
        let line = &self.piece[at..at + line.len()];
        let ahead = match self.offsets.binary_search(&at) {
            _ if cut => None,
            Ok(i) => self.judged[i].take().map(|j| j.ahead(line)),
            Err(_) => Some(Ahead::NoLiteral),
        };
        match ahead {
            Some(ahead) => self.sink.line_ahead(line_no, line, ahead),
            None => self.sink.line(line_no, line, cut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::Catalogue;

    /// Every line handed over, with its number, cut flag and what was found (pattern, signal), or
    /// `None` where it came without a judgement.
    #[derive(Default)]
    struct Seen {
        every_line_from: Option<u64>,
        lines: Vec<(u64, Vec<u8>, bool, Option<(Option<usize>, Option<usize>)>)>,
    }
    impl LineSink for Seen {
        fn wants_every_line(&self) -> bool {
            self.every_line_from.is_some_and(|n| self.lines.last().is_some_and(|l| l.0 >= n))
        }
        fn line(&mut self, line_no: u64, line: &[u8], cut: bool) {
            self.lines.push((line_no, line.to_vec(), cut, None));
        }
    }
    impl AheadSink for Seen {
        fn line_ahead<'a>(&mut self, line_no: u64, line: &'a [u8], ahead: Ahead<'a>) {
            let v = match ahead {
                Ahead::NoLiteral => (None, None),
                Ahead::Judged { pattern, signal, .. } => (pattern, signal),
            };
            self.lines.push((line_no, line.to_vec(), false, Some(v)));
        }
    }

    fn block() -> Vec<u8> {
        let mut b = Vec::new();
        for i in 0..6000 {
            let id = format!("{i:08x}-0000-4000-8000-000000000000");
            b.extend_from_slice(format!("START RequestId: {id}\n").as_bytes());
            b.extend_from_slice(format!("2025-11-25T08:00:{:02}.016Z\t{id}\tcode received\r\n", i % 60).as_bytes());
            if i % 7 == 0 {
                b.extend_from_slice(format!("2025-11-25T08:00:{:02}.1Z\t{id}\t{{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}}\n", i % 60).as_bytes());
            } else {
                b.extend_from_slice(
                    format!("2025-11-25T08:00:{:02}.1Z\t{id}\t{{\"errcode\":0,\"errmsg\":\"ok\"}}\n", i % 60)
                        .as_bytes(),
                );
            }
            if i % 500 == 0 {
                b.extend_from_slice(&vec![b'x'; 300]);
                b.extend_from_slice(b" Error: long\n");
            }
            b.extend_from_slice(format!("END RequestId: {id}\n").as_bytes());
        }
        b
    }

    /// The walk ahead hands over the lines a plain walk does, with the same numbers and cut flags,
    /// and each judgement is what the classifier says of the line read alone.
    #[test]
    fn same_lines_as_a_plain_walk() {
        let c = Arc::new(Classifier::new(Catalogue::builtin().unwrap(), FormatChoice::Auto).unwrap());
        let b = block();
        assert!(b.len() > MIN_BLOCK);
        for every_line_from in [None, Some(5), Some(40_000)] {
            let find = |h: &[u8], f: usize| c.next_candidate(h, f);
            let mut plain = Seen { every_line_from, ..Seen::default() };
            let want = lines::walk(&b, 10, 200, &find, &mut plain);
            let mut ahead = Seen { every_line_from, ..Seen::default() };
            let got = walk_block(&c, FormatChoice::Auto, &b, 10, 200, &mut ahead);
            assert_eq!(got, want);
            assert_eq!(ahead.lines.len(), plain.lines.len(), "{every_line_from:?}");
            let mut judged = 0;
            for (a, p) in ahead.lines.iter().zip(&plain.lines) {
                assert_eq!((a.0, &a.1, a.2), (p.0, &p.1, p.2));
                if let Some(v) = a.3 {
                    judged += 1;
                    let alone = c.classify_record(Some(&a.1), &record::parse(&a.1, FormatChoice::Auto));
                    assert_eq!(v, alone, "line {}", a.0);
                }
            }
            assert!(judged > ahead.lines.len() / 2, "most lines come judged: {judged} of {}", ahead.lines.len());
        }
    }

    #[test]
    fn pieces_cover_the_block_at_newlines() {
        let b = block();
        let p: Vec<&[u8]> = pieces(&b).into_iter().map(|r| &b[r]).collect();
        assert_eq!(p.len(), PIECES);
        assert_eq!(p.concat(), b);
        assert!(p.iter().all(|x| x.ends_with(b"\n")));
        assert_eq!(pieces(b"one line\n"), vec![0..9]);
    }
}
