//! Judging lines ahead: the literal scan, the parse and the patterns of a block's candidate lines run
//! on a second thread while the calling thread hands the block's earlier lines to the Event stage.
//!
//! Semantics (none of them changes what is counted):
//! - **Same lines, same numbers.** A block of complete lines is cut at newlines into parts of about
//!   `PART` bytes, and each part into `PIECES` pieces. Each piece is judged once, by whichever thread
//!   claims it first: the helper claims a part's pieces from its front, the calling thread from its
//!   back, only while the piece it hands over next is not ready (so the thread that also feeds the
//!   stage judges less). Judging a piece is walking it with the splitter's walk (`lines::walk`), the
//!   classifier's prefilter and the same cap, and for each candidate line making its record
//!   (`record::parse(line, choice)`) and asking the classifier what it is (`classify_record`, a
//!   function of the line and its record only). The calling thread then walks the pieces in order
//!   with their candidates as its prefilter: the lines handed over, their numbers, cut flags and
//!   order are those of a plain walk, whatever the sink asks in between (`wants_every_line`).
//! - **The bytes are lent, not copied.** The helper reads the caller's block where it is; the
//!   calling thread does not return, or unwind, before the helper has said it let go of every part
//!   offered (`Offer`'s drop waits). The next part is offered while this one is handed over, so the
//!   helper goes on judging while the stage works. What is found about a part is held until it is
//!   handed over: two parts at most, whatever the reader's block size.
//! - **The stage decides whether a judgement applies.** Each line handed over carries what was found
//!   ahead (`Ahead`): its record and patterns, or that it holds no literal. The stage uses them only
//!   where its reader reads that line on its own with the same choice (`RecordReader::push_parsed`),
//!   and otherwise reads the line itself, as without this room. Cut lines carry nothing.
//! - **Only large blocks** (`MIN_BLOCK`): a followed file that grows by a few lines is walked on the
//!   calling thread alone; the helper is offered only blocks worth the hand-over.
//! - A helper that fails (it panicked) leaves its pieces to the calling thread's own walk.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};

use memchr::memchr;

use crate::classify::Classifier;
use crate::lines::{self, LineSink};
use crate::record::{FormatChoice, Record};

mod judged;

use judged::{Found, Judgement, judge, offset_in};

/// Blocks smaller than this are walked on the calling thread alone.
pub const MIN_BLOCK: usize = 64 * 1024;
/// Bytes of a block walked on the calling thread alone while its stream's form is undecided.
const FIRST_BYTES: usize = 16 * 1024;
/// Pieces a part is cut into (16 KiB each): the unit either thread judges. Fewer, larger ones mean
/// fewer hand-overs between the threads (each may wake the other).
const PIECES: usize = 8;

/// What was found ahead about one line handed over (the record lent: each move of it was a copy).
pub enum Ahead<'r, 'a> {
    /// The line holds no literal (it is handed over because the sink wants every line).
    NoLiteral,
    /// A candidate line's record, read with `choice`, and the error pattern and signal it is.
    Judged { record: &'r Record<'a>, pattern: Option<usize>, signal: Option<usize>, choice: FormatChoice },
}

/// A sink that takes lines with what was found ahead about them.
pub trait AheadSink: LineSink {
    fn line_ahead<'a>(&mut self, line_no: u64, line: &'a [u8], ahead: Ahead<'_, 'a>);
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

/// As `walk`, the stream read line by line with `choice`: a large block in parts of about `PART`
/// bytes (what is found ahead about a part is held until it is handed over, so a part bounds that
/// memory, whatever the reader's block size). The helper judges a part's pieces from its front, this
/// thread from its back while the piece it hands over next is not ready; the next part is offered
/// too, for the helper to go on with while this thread hands over the rest of this one.
pub fn walk_block<S: AheadSink>(
    classifier: &Arc<Classifier>,
    choice: FormatChoice,
    block: &[u8],
    lines_before: u64,
    max: usize,
    sink: &mut S,
) -> (u64, u64) {
    let find = |h: &[u8], from: usize| classifier.next_candidate(h, from);
    let parts = parts(block);
    // Every part offered so far; each waits, when dropped (returning or unwinding), for the helper
    // to let go of the bytes it was lent.
    let mut offered: Vec<Offer> = Vec::with_capacity(parts.len());
    let (mut lines, mut cut) = (0, 0);
    for (p, part_range) in parts.iter().enumerate() {
        // This part and the next are offered: the helper goes on to the next once it meets this
        // thread in this one, while this thread hands the rest over.
        while offered.len() < parts.len().min(p + 2) {
            offered.push(Offer::new(classifier, choice, max, block, &parts[offered.len()]));
        }
        let part = &block[part_range.clone()];
        let n = offered[p].pieces.len();
        let mut ready: Vec<Option<Found>> = (0..n).map(|_| None).collect();
        let mut back = n;
        for k in 0..n {
            while ready[k].is_none() {
                // The back piece, if the helper has not taken it: this thread's share of the judging.
                let o = &offered[p];
                if back > k && !o.claims[back - 1].swap(true, Ordering::AcqRel) {
                    back -= 1;
                    ready[back] = Some(judge(classifier, choice, &part[o.pieces[back].clone()], max));
                    continue;
                }
                back = k;
                match offered[p].next_found() {
                    Some((j, found)) if j < n => ready[j] = Some(found),
                    Some(_) => {}
                    // Done, or gone (it panicked) with this piece: walked unjudged below.
                    None => break,
                }
            }
            let piece = &part[offered[p].pieces[k].clone()];
            let (l, c) = match ready[k].take() {
                Some(Found { offsets, judged }) => {
                    let lookup = |h: &[u8], from: usize| next_of(&offsets, piece, h, from);
                    let mut on = OnPiece { sink: &mut *sink, piece, offsets: &offsets, judged, next: 0 };
                    lines::walk(piece, lines_before + lines, max, &lookup, &mut on)
                }
                None => lines::walk(piece, lines_before + lines, max, &find, sink),
            };
            (lines, cut) = (lines + l, cut + c);
        }
    }
    drop(offered);
    (lines, cut)
}

/// Bytes of a block judged at once (`walk_block`).
const PART: usize = 1 << 17;

/// `block` cut at newlines into parts of about `PART` bytes.
fn parts(block: &[u8]) -> Vec<Range<usize>> {
    cut_at_newlines(block, |last| Some(last + PART))
}

/// A part offered to the helper (if there is one): its pieces, who took which, and the helper's
/// findings. The helper reads the caller's bytes where they are (a copy per block cost a block's
/// size of memory); dropped, an `Offer` waits until the helper has let go of them.
struct Offer {
    pieces: Arc<[Range<usize>]>,
    claims: Arc<[AtomicBool]>,
    rx: Option<mpsc::Receiver<(usize, Option<Found>)>>,
}

impl Offer {
    fn new(classifier: &Arc<Classifier>, choice: FormatChoice, max: usize, block: &[u8], part: &Range<usize>) -> Offer {
        let data = &block[part.clone()];
        let pieces: Arc<[Range<usize>]> = Arc::from(pieces(data).as_slice());
        let claims: Arc<[AtomicBool]> = pieces.iter().map(|_| AtomicBool::new(false)).collect();
        let (tx, rx) = mpsc::channel();
        let job = Job {
            classifier: Arc::clone(classifier),
            choice,
            max,
            data: Bytes { ptr: data.as_ptr(), len: data.len() },
            pieces: Arc::clone(&pieces),
            claims: Arc::clone(&claims),
            results: tx,
        };
        // A helper that is gone leaves every piece to this thread (the job, and its sender, dropped).
        let rx = helper().and_then(|h| h.send(job).ok()).map(|()| rx);
        Offer { pieces, claims, rx }
    }

    /// The next piece the helper judged (its index and findings), or `None` once it is done with
    /// the part (or gone).
    fn next_found(&mut self) -> Option<(usize, Found)> {
        match self.rx.as_ref()?.recv() {
            Ok((j, Some(found))) => Some((j, found)),
            _ => {
                self.rx = None;
                None
            }
        }
    }
}

impl Drop for Offer {
    fn drop(&mut self) {
        // The helper sends `None` once it no longer reads the bytes; a helper that panicked dropped
        // the job, and its sender, while unwinding: `recv` fails then.
        while self.next_found().is_some() {}
    }
}

/// A caller's bytes, lent to the helper for one job.
struct Bytes {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the bytes are only read, and they outlive every use the helper makes of them: the lender
// (`walk_block`) does not return or unwind before each `Offer` has seen the helper let go of its job.
unsafe impl Send for Bytes {}

impl Bytes {
    /// SAFETY: only while the job that carries it is held (see `Offer`).
    unsafe fn get(&self) -> &[u8] {
        // SAFETY: `ptr..ptr + len` is a live, immutable slice for as long as the job is held.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// One part lent to the helper: the bytes, the pieces, which are taken (the helper takes them from
/// the front, the lender from the back), and where to send them (`None`: done with the bytes).
struct Job {
    classifier: Arc<Classifier>,
    choice: FormatChoice,
    max: usize,
    data: Bytes,
    pieces: Arc<[Range<usize>]>,
    claims: Arc<[AtomicBool]>,
    results: mpsc::Sender<(usize, Option<Found>)>,
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
                    {
                        // SAFETY: `job` is held to the end of this scope, and the lender waits for
                        // the message sent after it.
                        let data = unsafe { job.data.get() };
                        for (k, r) in job.pieces.iter().enumerate() {
                            // Taken from the back by the lender: so is every piece after it.
                            if job.claims[k].swap(true, Ordering::AcqRel) {
                                break;
                            }
                            let found = judge(&job.classifier, job.choice, &data[r.clone()], job.max);
                            if job.results.send((k, Some(found))).is_err() {
                                break;
                            }
                        }
                    }
                    let _ = job.results.send((usize::MAX, None));
                }
            });
            spawned.ok().map(|_| tx)
        })
        .as_ref()
}

/// `block` cut at newlines into at most `PIECES` pieces of about equal size, none empty.
fn pieces(block: &[u8]) -> Vec<Range<usize>> {
    let mut k = 0;
    cut_at_newlines(block, |_| {
        k += 1;
        (k < PIECES).then(|| block.len() * k / PIECES)
    })
}

/// `block` (complete lines) cut after the first newline at or past each target that `next` gives
/// (from the last cut), until it gives none or the rest is one line: ranges in order, none empty.
fn cut_at_newlines(block: &[u8], mut next: impl FnMut(usize) -> Option<usize>) -> Vec<Range<usize>> {
    let mut bounds = vec![0];
    while let Some(target) = next(bounds[bounds.len() - 1]) {
        let target = target.max(bounds[bounds.len() - 1]);
        match block.get(target..).and_then(|rest| memchr(b'\n', rest)) {
            Some(i) if target + i + 1 < block.len() => bounds.push(target + i + 1),
            _ => break,
        }
    }
    bounds.push(block.len());
    bounds.windows(2).map(|w| w[0]..w[1]).filter(|r| !r.is_empty()).collect()
}

/// The prefilter of the calling thread's walk over a judged piece: the start of the next candidate
/// line (of `offsets`) at or after `from` in `h`, a part of `piece` (the piece, or a cut line's head).
fn next_of(offsets: &[usize], piece: &[u8], h: &[u8], from: usize) -> Option<usize> {
    let base = offset_in(piece, h);
    let i = offsets.partition_point(|&o| o < base + from);
    offsets.get(i).filter(|&&o| o < base + h.len()).map(|&o| o - base)
}

/// The calling thread's sink for a judged piece: each line with what was found about it.
struct OnPiece<'s, 'a, S> {
    sink: &'s mut S,
    piece: &'a [u8],
    offsets: &'s [usize],
    judged: Vec<Option<Judgement>>,
    /// Where the next line is looked for in `offsets` (lines come in order, most the next one there).
    next: usize,
}

impl<S: AheadSink> LineSink for OnPiece<'_, '_, S> {
    fn wants_every_line(&self) -> bool {
        self.sink.wants_every_line()
    }
    fn line(&mut self, line_no: u64, line: &[u8], cut: bool) {
        let at = offset_in(self.piece, line);
        let line = &self.piece[at..at + line.len()];
        self.next += self.offsets[self.next..].iter().take_while(|&&o| o < at).count();
        if cut {
            return self.sink.line(line_no, line, cut);
        }
        if self.offsets.get(self.next) != Some(&at) {
            return self.sink.line_ahead(line_no, line, Ahead::NoLiteral);
        }
        match &mut self.judged[self.next] {
            // Read ahead, but no candidate: a plain walk hands it only to a sink wanting every line.
            Some(j) if j.extra && !self.sink.wants_every_line() => {}
            Some(j) => {
                let (pattern, signal, choice) = (j.pattern, j.signal, j.choice);
                let record = j.record(line);
                self.sink.line_ahead(line_no, line, Ahead::Judged { record: &record, pattern, signal, choice });
            }
            None => self.sink.line(line_no, line, cut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::Catalogue;
    use crate::record;

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
        fn line_ahead<'a>(&mut self, line_no: u64, line: &'a [u8], ahead: Ahead<'_, 'a>) {
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
        assert!(b.len() > PART, "more than one part");
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

    /// A sink that panics mid-block unwinds through the walk (which waits for the helper to let go
    /// of the lent bytes first), and the next walk is whole again.
    #[test]
    fn a_sink_that_panics_leaves_the_next_walk_whole() {
        struct Panics(u64);
        impl LineSink for Panics {
            fn line(&mut self, line_no: u64, _: &[u8], _: bool) {
                assert!(line_no < self.0, "the sink gives up at line {line_no}");
            }
        }
        impl AheadSink for Panics {
            fn line_ahead<'a>(&mut self, line_no: u64, line: &'a [u8], _: Ahead<'_, 'a>) {
                self.line(line_no, line, false);
            }
        }
        let c = Arc::new(Classifier::new(Catalogue::builtin().unwrap(), FormatChoice::Auto).unwrap());
        let b = block();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let copy = b.clone();
            walk_block(&c, FormatChoice::Auto, &copy, 0, 200, &mut Panics(100));
        }));
        assert!(unwound.is_err());
        let find = |h: &[u8], f: usize| c.next_candidate(h, f);
        let mut plain = Seen::default();
        let want = lines::walk(&b, 0, 200, &find, &mut plain);
        let mut ahead = Seen::default();
        assert_eq!(walk_block(&c, FormatChoice::Auto, &b, 0, 200, &mut ahead), want);
        assert_eq!(ahead.lines.len(), plain.lines.len());
    }

    #[test]
    fn pieces_cover_the_block_at_newlines() {
        let b = block();
        let p: Vec<&[u8]> = pieces(&b).into_iter().map(|r| &b[r]).collect();
        assert_eq!(p.len(), PIECES);
        assert_eq!(p.concat(), b);
        assert!(p.iter().all(|x| x.ends_with(b"\n")));
        assert_eq!(pieces(b"one line\n"), vec![0..9]);
        let cut: Vec<&[u8]> = parts(&b).into_iter().map(|r| &b[r]).collect();
        assert!(cut.len() > 1, "{} bytes in one part", b.len());
        assert_eq!(cut.concat(), b);
        assert!(cut.iter().all(|x| x.ends_with(b"\n")));
        // Every part but the last ends at the first newline past PART bytes.
        assert!(cut[..cut.len() - 1].iter().all(|x| x.len() > PART && !x[PART..x.len() - 1].contains(&b'\n')));
        assert_eq!(parts(b"one line\n"), vec![0..9]);
    }
}
