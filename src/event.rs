//! The Event stage: records in, Events out. Every domain rule lives here, once, for `check` and `run`.
//!
//! Contract:
//! - **A call counts once.** A record that belongs to a Cloud Function call (an SCF / CLS request id,
//!   the exception JSON's `requestId`, a `tcb fn log` block) gives an error Event only the first time
//!   its pattern shows up for that call, and a login attempt only once per call, however many lines
//!   print it. Records with no call (DevTools, real-time items) give one Event each. Every recognised
//!   line is still reported to `Sink::error_line` (the raw line counts).
//! - **A call has one time**: its start where the record says it (`SCF_StartTime` in CLS: the same on
//!   every record of the call, so the order the records come in never moves a call), else the first
//!   trustworthy own time seen among its records (in plain text, the START line's call is read in file
//!   order: its first timed line). Every Event of the
//!   call is placed there. A record with no time of its own (START, END, Report, Response in plain
//!   text) waits, and the stream is then read line by line, until a timed record of its call arrives;
//!   if the call ends (END / Report) or its stream ends or `hold_ms` passes first, it takes the newest
//!   own time seen in its stream (neighbour time), and only where the stream has none, arrival time
//!   (counted as such).
//! - **Time that cannot be true is not trusted**: an own time more than `future_tolerance_ms` ahead of
//!   the wall clock is counted (`Note::FutureTime`) and replaced as if the record had none (the call's
//!   time, else the newest time of its stream, else arrival time); it never becomes a call's or
//!   stream's time, so one such line cannot drag a replayed export's minutes to the present. A call
//!   (or a record outside any call) whose only time was untrusted takes no minute at all
//!   (`TimeFrom::Untimed`): it is counted, in no minute; neither its stream's time nor arrival time is
//!   put in its place.
//! - **`unlisted` is the fallback of a call too**: a call already counted under one of the ten ids is
//!   not counted again as `unlisted` (a thrown 45011 also ends in a 430 status record).
//! - **The same record read twice** (same request id, own time, function and message: overlapping
//!   exports) is dropped and counted (`Note::Duplicate`).
//! - Calls and records are told apart per source: two sources never share a call.
//! - **Bounded**: calls and seen records are forgotten `window_ms` of event time after they were first
//!   seen (it covers SCF's 900 s maximum run time plus export skew) or, past `max_calls` /
//!   `max_records`, oldest first; each eviction is counted. A call evicted while it holds events
//!   releases them first.
//! - Events of a stream that may be cut at its start (an export; a file the daemon found at start-up
//!   or resumed mid-way) name it (`input`): the windows keep a minute that such an input began in,
//!   with nothing earlier counted in it, out of the onset, whatever the order the inputs are read in.
//!
//! - **Versions**: a record names the function version its call ran under (`SCF_Qualifier`), else
//!   its stream does (a `version` set on the source, or one taken from the file's path:
//!   `set_stream_version`). Where a version is known, each call of any function gives one `Call`
//!   Event, placed at the call's time like the others; every Event of a call carries the version, and
//!   the first error Event of a call says so (`first_failure`), so failed calls are counted once
//!   whatever ids they show. Without a version nothing of this runs (no extra work per line). Nor
//!   where the classifier reads no START lines (`Classifier::reads_signals`; `check` counting errors
//!   alone): calls would be seen only at their errors, every one of them failed.
//!
//! This stage knows no files, metrics or windows; the wall clock is given to it (`set_now`).

mod ahead;
mod bounded;
mod edges;
mod join;
mod types;

use std::collections::{HashMap, VecDeque};

use bounded::{Bounded, Fast};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use crate::classify::Classifier;
use crate::patterns::Side;
use crate::{
    formats::reader::RecordReader,
    record::{Format, Record},
};

pub use types::*;

/// An Event waiting for its call's time.
#[derive(Debug)]
struct Held {
    event: Event,
    since_ms: i64,
}

/// The Events a call holds: most calls hold one (a START line's attempt) for one line, so one is
/// kept in place (an allocation per call was ~3 % of `check --timeline`).
type HeldList = smallvec::SmallVec<[Held; 1]>;

/// One call, kept small: the table holds up to `max_calls` of them. Events waiting for the call's
/// time are kept apart (`Stage::held`), for the few calls that have any.
#[derive(Debug, Clone, Copy)]
struct Call {
    /// The call's time, or `NO_TIME` while none is known.
    time: i64,
    /// Catalogue patterns already counted for this call (bit per index; patterns from 31 on are not
    /// joined and count per line), and bit 31: its login attempt was counted.
    counted: u32,
    /// `CALLED`: its `Call` Event was sent; `FAILED`: its first error Event was.
    flags: u8,
    stream: u64,
    /// A record of the call carried an untrusted (future) time: with no time of its own, the call takes
    /// none rather than arrival time.
    untrusted: bool,
}

const NO_TIME: i64 = i64::MIN;
const ATTEMPT_BIT: u32 = 1 << 31;
const CALLED: u8 = 1;
const FAILED: u8 = 2;
/// Distinct version names kept interned (one shared `Arc` each); past it a name is allocated per
/// Event (the sinks bound what they keep).
const MAX_INTERNED_VERSIONS: usize = 256;

impl Call {
    fn time_ms(&self) -> Option<i64> {
        (self.time != NO_TIME).then_some(self.time)
    }
}

struct Stream {
    source: usize,
    reader: Option<RecordReader>,
    /// The newest trustworthy own time seen in this stream.
    neighbour_ms: Option<i64>,
    /// The oldest trustworthy own time seen in this stream (where an input reaches back to).
    oldest_ms: Option<i64>,
    /// Calls begun in this stream that hold Events.
    waiting: usize,
    /// The stream may be cut at its start (an export, or a file not read from its beginning).
    cut: bool,
    /// The version of the calls in this stream when its records do not name one.
    version: Option<Arc<str>>,
    /// When its last line came (the stage's clock): a record pending this long is given (`tick`).
    last_line_ms: i64,
}

pub struct Stage {
    classifier: Arc<Classifier>,
    config: StageConfig,
    streams: HashMap<u64, Stream, Fast>,
    calls: Bounded<Call>,
    held: HashMap<u64, HeldList, Fast>,
    /// Calls the last insert forgot (kept between calls of `place`, empty).
    gone: Vec<(u64, Call)>,
    seen: Bounded<()>,
    /// Calls holding Events, oldest first (may name calls already released).
    holding: VecDeque<u64>,
    newest_ms: Option<i64>,
    now_ms: i64,
    hasher: Fast,
    /// Bits of the fallback patterns (`unlisted`) among the joined ones.
    fallbacks: u32,
    /// A call's `unlisted` Event waits for the call to end: a record of one of the ten ids may still
    /// come (the 430 status is on every record of a call that threw, its START included).
    unlisted: HashMap<u64, Held, Fast>,
    /// The line being read came without the prefilter's say (the stream reads every line now).
    precheck: bool,
    /// Version names seen, interned.
    versions: HashMap<String, Arc<str>>,
    /// Streams whose reader holds a multi-line record (looked at by `tick`, not every stream).
    gathering: std::collections::HashSet<u64>,
    /// What the line being read was found to be ahead (`line_ahead`): (pattern, signal).
    verdict: Option<(Option<usize>, Option<usize>)>,
}

fn fallback_bits(classifier: &Classifier) -> u32 {
    let patterns = classifier.catalogue().patterns().iter().take(31).enumerate();
    patterns.filter(|(_, p)| p.fallback).fold(0, |m, (i, _)| m | 1 << i)
}

/// The platform's last words for a call (plain text or a CLS record's message).
fn end_of_call(rec: &Record<'_>) -> bool {
    let m = rec.message.trim_ascii_start();
    m.starts_with(b"END RequestId") || m.starts_with(b"Report RequestId")
}

impl Stage {
    pub fn new(classifier: Arc<Classifier>, config: StageConfig) -> Stage {
        let fallbacks = fallback_bits(&classifier);
        Stage {
            classifier,
            streams: HashMap::default(),
            calls: Bounded::new(config.max_calls),
            held: HashMap::default(),
            gone: Vec::new(),
            seen: Bounded::new(config.max_records),
            config,
            holding: VecDeque::new(),
            newest_ms: None,
            now_ms: 0,
            hasher: Fast::default(),
            fallbacks,
            unlisted: HashMap::default(),
            precheck: false,
            versions: HashMap::new(),
            gathering: Default::default(),
            verdict: None,
        }
    }

    pub fn classifier(&self) -> &Arc<Classifier> {
        &self.classifier
    }

    /// New patterns or settings; calls, seen records and streams carry over.
    pub fn reload(&mut self, classifier: Arc<Classifier>, config: StageConfig) {
        self.fallbacks = fallback_bits(&classifier);
        self.classifier = classifier;
        self.config = config;
    }

    /// The wall clock, Unix ms: arrival time, and the bound for trustworthy times.
    pub fn set_now(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
    }

    /// Calls and seen records in the tables now.
    pub fn table_sizes(&self) -> (usize, usize) {
        (self.calls.len(), self.seen.len())
    }

    /// A stream (a file being read from its offset, or a one-shot input) of `source`; `cut`: it may
    /// begin in the middle of what happened (an export, a file found at start-up or resumed).
    pub fn open(&mut self, stream: u64, source: usize, cut: bool) {
        let format = self.config.source_formats.get(source).copied().unwrap_or_default();
        let reader = match self.config.source_csv.get(source).cloned().flatten() {
            Some(dialect) => RecordReader::with_csv(dialect),
            None => RecordReader::new(format),
        };
        let version = self.config.source_versions.get(source).cloned().flatten().map(|v| self.intern(&v));
        self.streams.insert(
            stream,
            Stream {
                source,
                reader: Some(reader),
                neighbour_ms: None,
                oldest_ms: None,
                waiting: 0,
                cut,
                version,
                last_line_ms: self.now_ms,
            },
        );
    }

    /// The version of the calls in `stream` (taken from its file's path), for records that name none;
    /// None keeps the source's.
    pub fn set_stream_version(&mut self, stream: u64, version: Option<&str>) {
        let Some(v) = version.and_then(crate::record::clean_version) else { return };
        let v = self.intern(&v);
        if let Some(s) = self.streams.get_mut(&stream) {
            s.version = Some(v);
        }
    }

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(v) = self.versions.get(name) {
            return v.clone();
        }
        let v: Arc<str> = Arc::from(name);
        if self.versions.len() < MAX_INTERNED_VERSIONS {
            self.versions.insert(name.to_string(), v.clone());
        }
        v
    }

    /// The form `stream` was read in so far, and why it may be wrong (for `check`).
    pub fn detected_format(&self, stream: u64) -> Option<(Format, Option<&'static str>)> {
        self.streams.get(&stream)?.reader.as_ref().and_then(|r| Some((r.detected()?, r.unsure())))
    }

    /// The stream's file now belongs to another source index (a reload reordered sources).
    pub fn moved(&mut self, stream: u64, source: usize) {
        if let Some(s) = self.streams.get_mut(&stream) {
            s.source = source;
        }
    }

    /// Calls holding Events that wait for their time: while any do, lines already read are not all
    /// counted yet (a checkpoint now could cover them).
    pub fn holding(&self) -> usize {
        self.streams.values().map(|s| s.waiting).sum::<usize>() + self.unlisted.len()
    }

    /// Whether `stream` needs every line now (a multi-line record, or a call waiting for its time).
    pub fn wants_every_line(&self, stream: u64) -> bool {
        self.streams
            .get(&stream)
            .is_some_and(|s| s.waiting > 0 || s.reader.as_ref().is_some_and(RecordReader::wants_every_line))
    }

    /// One line of `stream` (opened first).
    pub fn line(&mut self, stream: u64, line: &[u8], sink: &mut impl Sink) {
        // Read line by line, most lines hold no literal: the fast scan says so before any pattern is
        // tried (their time and request id are still read). Other lines came through that scan.
        self.precheck = self.wants_every_line(stream);
        let Some(mut reader) = self.streams.get_mut(&stream).and_then(|s| s.reader.take()) else { return };
        let single_line = matches!(reader.detected(), None | Some(Format::Text | Format::Cls | Format::Realtime));
        let raw = single_line.then_some(line);
        reader.push(line, &mut |rec| self.record(stream, raw, &rec, sink));
        if reader.pending() {
            self.gathering.insert(stream);
        }
        if let Some(s) = self.streams.get_mut(&stream) {
            (s.reader, s.last_line_ms) = (Some(reader), self.now_ms);
        }
    }

    /// The end of a stream (end of input, a file let go or truncated): its pending record is flushed and
    /// its waiting calls take their fallback time.
    pub fn close(&mut self, stream: u64, sink: &mut impl Sink) {
        if let Some(mut reader) = self.streams.get_mut(&stream).and_then(|s| s.reader.take()) {
            reader.finish(&mut |rec| self.record(stream, None, &rec, sink));
        }
        if self.streams.get(&stream).is_some_and(|s| s.waiting > 0) {
            let keys: Vec<u64> = self.holding.iter().copied().collect();
            for key in keys {
                if self.calls.get(&key).is_some_and(|c| c.stream == stream) && self.held.contains_key(&key) {
                    self.release(key, None, sink);
                }
            }
        }
        if !self.unlisted.is_empty() {
            self.release_unlisted_where(sink, |st, k, _| st.calls.get(&k).is_none_or(|c| c.stream == stream));
        }
        self.streams.remove(&stream);
    }

    /// Releases Events that have waited longer than `hold_ms` for their call's time or end.
    /// A followed file's last multi-line record (its last `tcb fn log` block) is given once its stream
    /// has had no line for `hold_ms`: a file that stops growing is counted to its end.
    pub fn tick(&mut self, sink: &mut impl Sink) {
        let (now, hold) = (self.now_ms, self.config.hold_ms);
        let streams = &self.streams;
        self.gathering.retain(|k| streams.get(k).and_then(|s| s.reader.as_ref()).is_some_and(RecordReader::pending));
        let quiet: Vec<u64> = self
            .gathering
            .iter()
            .filter(|k| streams.get(k).is_some_and(|s| now - s.last_line_ms >= hold))
            .copied()
            .collect();
        for stream in quiet {
            self.gathering.remove(&stream);
            let Some(mut reader) = self.streams.get_mut(&stream).and_then(|s| s.reader.take()) else { continue };
            reader.finish(&mut |rec| self.record(stream, None, &rec, sink));
            if let Some(s) = self.streams.get_mut(&stream) {
                s.reader = Some(reader);
            }
        }
        if !self.unlisted.is_empty() {
            let (now, hold) = (self.now_ms, self.config.hold_ms);
            self.release_unlisted_where(sink, |_, _, h| now - h.since_ms >= hold);
        }
        while let Some(&key) = self.holding.front() {
            let since = self.held.get(&key).and_then(|h| h.first()).map(|h| h.since_ms);
            match since {
                None => {
                    self.holding.pop_front();
                }
                Some(t) if self.now_ms - t >= self.config.hold_ms => {
                    self.holding.pop_front();
                    self.release(key, None, sink);
                }
                Some(_) => break,
            }
        }
    }

    /// Releases everything held (end of a one-shot run, shutdown).
    pub fn flush(&mut self, sink: &mut impl Sink) {
        while let Some(key) = self.holding.pop_front() {
            self.release(key, None, sink);
        }
        self.release_unlisted_where(sink, |_, _, _| true);
    }

    fn key(&self, parts: &[&[u8]]) -> u64 {
        let mut h = self.hasher.build_hasher();
        for p in parts {
            p.hash(&mut h);
        }
        h.finish()
    }

    fn record(&mut self, stream: u64, raw: Option<&[u8]>, rec: &Record<'_>, sink: &mut impl Sink) {
        let Some(source) = self.streams.get(&stream).map(|s| s.source) else { return };
        if rec.malformed {
            sink.note(source, Note::Malformed);
        }
        let mut future = false;
        let own = match rec.time_ms {
            Some(t) if t > self.now_ms + self.config.future_tolerance_ms => {
                future = true;
                None
            }
            t => t,
        };
        let call_key = rec
            .request_id
            .as_deref()
            .filter(|_| rec.format != Format::Realtime)
            .map(|id| self.key(&[b"call", &source.to_le_bytes(), id.as_bytes()]));
        // The call's own start, when the record names it, is the call's time (never an untrusted one).
        let start = rec.call_start_ms.filter(|&t| t <= self.now_ms + self.config.future_tolerance_ms);
        let call_own = if call_key.is_some() { start.or(own) } else { own };
        if let (Some(t), Some(key)) = (start, call_key) {
            if self.calls.get(&key).is_some_and(|c| c.time_ms().is_none()) {
                self.release(key, Some(t), sink);
            }
        }
        if let Some(t) = own {
            self.newest_ms = Some(self.newest_ms.map_or(t, |n| n.max(t)));
            if let Some(s) = self.streams.get_mut(&stream) {
                s.neighbour_ms = Some(s.neighbour_ms.map_or(t, |n| n.max(t)));
                s.oldest_ms = Some(s.oldest_ms.map_or(t, |n| n.min(t)));
            }
            // The first own time of a call is the call's time: Events waiting for it go now.
            if let Some(key) = call_key.filter(|_| start.is_none()) {
                if self.calls.get(&key).is_some_and(|c| c.time_ms().is_none()) {
                    self.release(key, Some(t), sink);
                }
            }
        }
        let verdict = self.verdict.take();
        let (found, signal) = self.classify(raw, rec, sink.wants_details(), verdict);
        if !found.is_empty() || signal {
            if !self.first_sight(source, rec, own, sink) {
                if let (Some(t), Some(_)) = (own, self.streams.get(&stream).filter(|s| s.cut)) {
                    sink.event(Event {
                        source,
                        kind: Kind::Seen,
                        time_ms: t,
                        time_from: TimeFrom::Own,
                        input: Some(stream),
                        function: None,
                        request_id: None,
                        side: Side::Any,
                        sample: None,
                        version: None,
                        first_failure: false,
                    });
                }
                return;
            }
            if future {
                sink.note(source, Note::FutureTime);
            }
        }
        // A call's version: its record's, else its stream's. Lines outside any call have none, and
        // none has one where START lines are not read: a call would be seen only at its errors.
        let version = match (call_key, rec.version.as_deref()) {
            (None, _) => None,
            _ if !self.classifier.reads_signals() => None,
            (Some(_), Some(v)) => Some(self.intern(v)),
            (Some(_), None) => self.streams.get(&stream).and_then(|s| s.version.clone()),
        };
        let (login, function) = {
            let f = rec.function.as_deref().or_else(|| self.config.source_functions.get(source)?.as_deref());
            // Function, request id and sample are copied only for sinks that show them (the function
            // also where a version is known: per-version figures are per function).
            let keep = sink.wants_details() || version.is_some();
            (f.is_none_or(|f| f == self.config.login_function), f.filter(|_| keep).map(str::to_string))
        };
        // One `Call` per call of any function under a known version: seen at its START (the signal),
        // at a `tcb fn log` block, or at an error of a call whose START was not in the input.
        if version.is_some() && (signal || !found.is_empty() || rec.format == Format::TcbLog) {
            let event = Event {
                source,
                kind: Kind::Call,
                time_ms: 0,
                time_from: TimeFrom::Own,
                input: None,
                function: function.clone(),
                request_id: None,
                side: Side::CloudFunction,
                sample: None,
                version: version.clone(),
                first_failure: false,
            };
            self.place(stream, call_key, call_own, future, event, sink);
        }
        let details = sink.wants_details();
        let owned = |s: Option<&str>| s.filter(|_| details).map(str::to_string);
        for (p, line) in found {
            sink.error_line(source, p);
            let side = self.classifier.catalogue().get(p).side;
            let event = Event {
                source,
                kind: Kind::Error(p),
                time_ms: 0,
                time_from: TimeFrom::Own,
                input: None,
                function: function.clone(),
                request_id: owned(rec.request_id.as_deref()),
                side,
                sample: line,
                version: version.clone(),
                first_failure: call_key.is_none(),
            };
            self.place(stream, call_key, call_own, future, event, sink);
        }
        // A `tcb fn log` block is one call of its function: of the login function, a login attempt.
        if (signal || rec.format == Format::TcbLog) && login {
            let event = Event {
                source,
                kind: Kind::Attempt,
                time_ms: 0,
                time_from: TimeFrom::Own,
                input: None,
                function,
                request_id: owned(rec.request_id.as_deref()),
                side: Side::CloudFunction,
                sample: None,
                version,
                first_failure: false,
            };
            self.place(stream, call_key, call_own, future, event, sink);
        }
        if let Some(key) = call_key.filter(|_| end_of_call(rec)) {
            if self.held.contains_key(&key) {
                self.release(key, None, sink);
            }
            if self.unlisted.contains_key(&key) && rec.message.trim_ascii_start().starts_with(b"Report RequestId") {
                self.release_unlisted(key, sink);
            }
        }
    }

    /// The patterns a record shows (with the line that shows each) and whether it carries the login
    /// signal. A `tcb fn log` block is many lines of one call: each line is looked at on its own, as it
    /// would be in the plain-text or CLS export of the same call, so every form gives the same ids; a
    /// failed block where no line says why is the block's own (its level: `unlisted`).
    fn classify(
        &self,
        raw: Option<&[u8]>,
        rec: &Record<'_>,
        samples: bool,
        verdict: Option<(Option<usize>, Option<usize>)>,
    ) -> (Vec<(usize, Option<Vec<u8>>)>, bool) {
        if rec.format != Format::TcbLog {
            if verdict.is_none() && self.precheck && raw.is_some_and(|r| self.classifier.next_candidate(r, 0).is_none())
            {
                return (Vec::new(), false);
            }
            let (pattern, signal) = verdict.unwrap_or_else(|| self.classifier.classify_record(raw, rec));
            // A structured record shows its message (a CLS line's envelope would hide it).
            let sample = || match raw {
                Some(line) if rec.format == Format::Text => line.to_vec(),
                _ => rec.message.to_vec(),
            };
            let sample = || samples.then(sample);
            return (pattern.map(|p| (p, sample())).into_iter().collect(), signal.is_some());
        }
        let (mut found, mut signal) = (Vec::new(), false);
        let mut sub = rec.clone();
        for line in rec.message.split(|b| *b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            sub.message = std::borrow::Cow::Borrowed(line);
            let (p, s) = self.classifier.classify_record(Some(line), &sub);
            signal |= s.is_some();
            if let Some(p) = p {
                found.push((p, samples.then(|| line.to_vec())));
            }
        }
        if found.is_empty() {
            let (p, _) = self.classifier.classify_record(None, rec);
            found.extend(p.map(|p| (p, samples.then(|| rec.message.to_vec()))));
        }
        (found, signal)
    }

    /// Overlapping exports: false when this very record (request id, own time, function, message) was
    /// seen before. Only records that say something are remembered: the table holds what counts.
    fn first_sight(&mut self, source: usize, rec: &Record<'_>, own: Option<i64>, sink: &mut impl Sink) -> bool {
        let (Some(id), Some(t)) = (rec.request_id.as_deref(), rec.time_ms) else { return true };
        let function = rec.function.as_deref().unwrap_or("");
        let key =
            self.key(&[&source.to_le_bytes(), id.as_bytes(), &t.to_le_bytes(), function.as_bytes(), &rec.message]);
        if self.seen.contains_key(&key) {
            sink.note(source, Note::Duplicate);
            return false;
        }
        self.seen.insert_new(key, own.unwrap_or(self.now_ms), ());
        let horizon = self.horizon();
        let mut evicted = 0;
        self.seen.expire(horizon, self.config.max_records, |_| evicted += 1);
        for _ in 0..evicted {
            sink.note(source, Note::RecordEvicted);
        }
        true
    }

    fn horizon(&self) -> Option<i64> {
        self.newest_ms.map(|n| n - self.config.window_ms)
    }
}

#[cfg(test)]
mod tests;
