//! Judging one piece of a block ahead (the helper thread's side of `classify::ahead`): its candidate
//! lines found with the classifier's prefilter, each one's record made (`record::parse`) and asked
//! what it is (`Classifier::classify_record`), and the line after a signal's line read too (a START
//! line's call takes its time from it). What is found is kept apart from the bytes (`Judgement`), so
//! the calling thread can hand the line over with it later, reading the same bytes.

use std::borrow::Cow;
use std::ops::Range;

use memchr::memchr;

use crate::classify::Classifier;
use crate::lines::{self, LineSink};
use crate::record::{self, FormatChoice, Record};

/// A judged candidate line: its record, and what it is. The record outlives the bytes it was read
/// from (the helper's copy): a message that is a part of the line is kept as where it stands in it.
pub(super) struct Judgement {
    record: Record<'static>,
    message_at: Option<Range<usize>>,
    /// The request id, where it is a part of the line (as `message_at`).
    id_at: Option<Range<usize>>,
    pub(super) choice: FormatChoice,
    pub(super) pattern: Option<usize>,
    pub(super) signal: Option<usize>,
    /// A line without a literal, read because it follows a signal's line (a START line's call takes
    /// its time from the next timed line: the stage reads it then). Handed over only where the sink
    /// wants every line, as a plain walk would.
    pub(super) extra: bool,
}

impl Judgement {
    fn new(
        line: &[u8],
        mut record: Record<'_>,
        choice: FormatChoice,
        pattern: Option<usize>,
        signal: Option<usize>,
    ) -> Judgement {
        let (message, message_at) = detach(line, std::mem::take(&mut record.message));
        let (id, id_at) = record.request_id.take().map_or((None, None), |id| detach(line, id));
        let record = record.with_message(message.unwrap_or_default(), id);
        Judgement { record, message_at, id_at, choice, pattern, signal, extra: false }
    }

    fn extra(self) -> Judgement {
        Judgement { extra: true, ..self }
    }

    /// Its record, reading `line` (the same bytes it was read from). Built field by field where the
    /// other thread left it: moving the judgement out first was one more copy a line.
    pub(super) fn record<'a>(&mut self, line: &'a [u8]) -> Record<'a> {
        let r = &mut self.record;
        let message = match &self.message_at {
            Some(at) => Cow::Borrowed(&line[at.clone()]),
            None => Cow::Owned(std::mem::take(&mut r.message).into_owned()),
        };
        // The bytes were UTF-8 when the id was read from them, and are the same bytes.
        let request_id = match &self.id_at {
            Some(at) => std::str::from_utf8(&line[at.clone()]).ok().map(Cow::Borrowed),
            None => r.request_id.take().map(|id| Cow::Owned(id.into_owned())),
        };
        Record {
            format: r.format,
            message,
            time_ms: r.time_ms,
            function: r.function.take(),
            request_id,
            level: r.level,
            status_code: r.status_code,
            version: r.version.take(),
            malformed: r.malformed,
            call_start_ms: r.call_start_ms,
        }
    }
}

/// A part of `line` (a record's message or request id) kept as where it stands in the line, with no
/// copy (`None` and its place), else as its own copy.
fn detach<T>(line: &[u8], part: Cow<'_, T>) -> (Option<Cow<'static, T>>, Option<Range<usize>>)
where
    T: ToOwned + AsRef<[u8]> + ?Sized + 'static,
{
    match part {
        Cow::Borrowed(p) => {
            let bytes = p.as_ref();
            match within(line, bytes).filter(|_| !bytes.is_empty()) {
                Some(at) => (None, Some(at..at + bytes.len())),
                None => (Some(Cow::Owned(p.to_owned())), None),
            }
        }
        Cow::Owned(p) => (Some(Cow::Owned(p)), None),
    }
}

/// Where `part` starts in `whole`, if it lies within it.
fn within(whole: &[u8], part: &[u8]) -> Option<usize> {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    (p >= w && p + part.len() <= w + whole.len()).then(|| p - w)
}

/// One piece's candidate lines (offsets of their starts in the piece, ascending) and what each is
/// (`None` for a cut line).
pub(super) struct Found {
    pub(super) offsets: Vec<usize>,
    pub(super) judged: Vec<Option<Judgement>>,
}

/// Where `part` (a subslice of `whole`) starts in it.
pub(super) fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

pub(super) fn judge(classifier: &Classifier, choice: FormatChoice, piece: &[u8], max: usize) -> Found {
    struct Judge<'c, 'p> {
        classifier: &'c Classifier,
        choice: FormatChoice,
        piece: &'p [u8],
        max: usize,
        found: Found,
        /// Where the line after a signal's line starts: read ahead too, unless it is a candidate.
        after_signal: Option<usize>,
    }
    impl Judge<'_, '_> {
        /// The line after a signal's line, read as a line without a literal (`Judgement::extra`),
        /// unless the next candidate (`next`) is that very line.
        fn read_after_signal(&mut self, next: Option<usize>) {
            let Some(at) = self.after_signal.take().filter(|&at| next != Some(at) && at < self.piece.len()) else {
                return;
            };
            let end = memchr(b'\n', &self.piece[at..]).map_or(self.piece.len(), |i| at + i);
            let raw = &self.piece[at..end];
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.len() > self.max {
                return;
            }
            let record = record::parse(line, self.choice);
            self.found.offsets.push(at);
            self.found.judged.push(Some(Judgement::new(line, record, self.choice, None, None).extra()));
        }
    }
    impl LineSink for Judge<'_, '_> {
        fn line(&mut self, _line_no: u64, line: &[u8], cut: bool) {
            let at = offset_in(self.piece, line);
            self.read_after_signal(Some(at));
            self.found.offsets.push(at);
            let judged = (!cut).then(|| {
                let record = record::parse(line, self.choice);
                let (pattern, signal) = self.classifier.classify_record(Some(line), &record);
                Judgement::new(line, record, self.choice, pattern, signal)
            });
            if judged.as_ref().is_some_and(|j| j.signal.is_some()) {
                self.after_signal = memchr(b'\n', &self.piece[at..]).map(|i| at + i + 1);
            }
            self.found.judged.push(judged);
        }
    }
    // Sized for a judged line in 256 bytes (a load test's has one in ~300): growing was 3 % of the time.
    let n = piece.len() / 256 + 4;
    let found = Found { offsets: Vec::with_capacity(n), judged: Vec::with_capacity(n) };
    let mut j = Judge { classifier, choice, piece, max, found, after_signal: None };
    lines::walk(piece, 0, max, &|h: &[u8], from: usize| classifier.next_candidate(h, from), &mut j);
    j.read_after_signal(None);
    j.found
}
