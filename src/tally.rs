//! `check`'s sink: what the Event stage found in all inputs, as counts. Per id the failed calls and
//! recognised lines, first and last seen; the minute windows (`window`) filled by each call's time;
//! the read statistics and every input. It decides nothing users read: `crate::view` builds the read
//! model from it (as from the daemon's state), and the outputs format that.

use crate::event::{Event, Kind, Note, Sink, TimeFrom};
use crate::lines::ScanStats;
use crate::refusal::Refusals;
use crate::window::Windows;

/// Minutes `check` keeps (a week): an export of several days keeps every minute.
pub const RETENTION_MINUTES: usize = 7 * 24 * 60;

/// One input of a check: a file a PATH named (itself, or through a directory or glob), standard input,
/// or a PATH that yielded nothing to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputReport {
    /// The file as shown (its path, or `(standard input)`), or the PATH that yielded nothing.
    pub name: String,
    /// The PATH it was found through, when that was a directory or a glob.
    pub from: Option<String>,
    /// Whether any of it was read.
    pub read: bool,
    pub lines: u64,
    pub bytes: u64,
    pub gzip: bool,
    /// Its compression, told by its first bytes (`batches::decompress`): none, gzip, lzop, snappy…
    pub compression: &'static str,
    /// Its first block held a NUL.
    pub binary: bool,
    /// Why it was not read, or not to its end.
    pub error: Option<String>,
    /// The form detected (or forced); None when nothing was read from it.
    pub form: Option<crate::record::Format>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct PatternTally {
    /// Failed calls (a line outside any call counts once).
    pub count: u64,
    /// Every line recognised as this pattern.
    pub lines: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

/// `check`'s sink: what the Event stage found in all inputs.
#[derive(Debug)]
pub struct Tally {
    pub scan: ScanStats,
    pub malformed: u64,
    pub files: u64,
    pub unreadable: u64,
    pub per_pattern: Vec<PatternTally>,
    pub login_attempts: u64,
    /// Per-minute history of every pattern and of login attempts, by each call's time.
    pub windows: Windows,
    pub duplicates: u64,
    pub future: u64,
    pub arrival: u64,
    pub evicted: u64,
    /// The earliest and the newest time of an error or a login attempt.
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// For `--report`: the first line that showed each pattern (raw; the report redacts it).
    pub samples: Vec<Option<Vec<u8>>>,
    keep_samples: bool,
    /// Every input, read or not, in the order read.
    pub inputs: Vec<InputReport>,
    /// Inputs that looked binary.
    pub binary: u64,
    /// For `--output matches`: (input, line number) of the line being read, and the lines found.
    at: (usize, u64),
    matched: Vec<(usize, u64, usize)>,
    keep_matches: bool,
    /// The first 45011 call and the login attempts in the 60 s up to it (`crate::refusal`).
    pub refusals: Refusals,
    /// The index of 45011 (`watch_refusals`).
    q45011: Option<usize>,
}

impl Sink for Tally {
    fn input_reaches(&mut self, input: u64, time_ms: i64) {
        self.windows.note_input(input, time_ms);
    }

    fn event(&mut self, e: Event) {
        if e.time_from == TimeFrom::Untimed {
            // No time to trust: counted (the stage counted its untrusted time), in no minute.
            match e.kind {
                Kind::Error(p) => {
                    if let Some(t) = self.per_pattern.get_mut(p) {
                        t.count += 1;
                    }
                }
                Kind::Attempt => self.login_attempts += 1,
                // A call with no time to trust counts for its version in no minute: not at all here.
                Kind::Seen | Kind::Call => {}
            }
            return;
        }
        if let Some(input) = e.input {
            self.windows.note_input(input, e.time_ms);
        }
        match (e.kind, e.version.as_deref()) {
            (Kind::Seen, _) => return,
            (Kind::Call, Some(v)) => return self.windows.versions.add_call(e.function.as_deref(), v, e.time_ms),
            (Kind::Call, None) => return,
            (Kind::Error(p), Some(v)) => {
                self.windows.versions.add_failure(e.function.as_deref(), v, p, e.first_failure, e.time_ms)
            }
            _ => {}
        }
        self.first_ms = Some(self.first_ms.map_or(e.time_ms, |f| f.min(e.time_ms)));
        self.last_ms = Some(self.last_ms.map_or(e.time_ms, |l| l.max(e.time_ms)));
        match e.kind {
            Kind::Error(p) => {
                if let (Some(slot @ None), Some(line)) = (self.samples.get_mut(p), e.sample) {
                    *slot = Some(line);
                }
                self.windows.add(p, e.time_ms);
                if Some(p) == self.q45011 {
                    self.refusals.refusal(e.time_ms);
                }
                if let Some(t) = self.per_pattern.get_mut(p) {
                    t.count += 1;
                    t.first_ms = Some(t.first_ms.map_or(e.time_ms, |f| f.min(e.time_ms)));
                    t.last_ms = Some(t.last_ms.map_or(e.time_ms, |l| l.max(e.time_ms)));
                }
            }
            Kind::Attempt => {
                self.windows.add_attempt(e.time_ms);
                self.refusals.attempt(e.time_ms);
                self.login_attempts += 1;
            }
            Kind::Seen | Kind::Call => {}
        }
    }

    fn wants_details(&self) -> bool {
        self.keep_samples
    }

    fn error_line(&mut self, _source: usize, pattern: usize) {
        if let Some(t) = self.per_pattern.get_mut(pattern) {
            t.lines += 1;
        }
        if self.keep_matches {
            self.matched.push((self.at.0, self.at.1, pattern));
        }
    }

    fn note(&mut self, _source: usize, note: Note) {
        match note {
            Note::Malformed => self.malformed += 1,
            Note::Duplicate => self.duplicates += 1,
            Note::FutureTime => self.future += 1,
            Note::ArrivalTime => self.arrival += 1,
            Note::CallEvicted | Note::RecordEvicted => self.evicted += 1,
        }
    }
}

impl Tally {
    /// An empty tally of `patterns` ids; `keep_samples`: remember each id's first line (for the report);
    /// `keep_matches`: remember every recognised line's place (for `--output matches`).
    pub fn new(patterns: usize, keep_samples: bool, keep_matches: bool) -> Tally {
        Tally {
            per_pattern: vec![PatternTally::default(); patterns],
            windows: {
                // Every input of `check` is read to its end: an end mid-minute cuts that minute too.
                let mut w = Windows::new(patterns, RETENTION_MINUTES);
                w.inputs_end();
                // The report replays every minute read after reading them all: versions keep a day of
                // them too (a load test's export is far shorter; each version's ring is this long).
                w.versions.keep_minutes(24 * 60);
                w
            },
            scan: ScanStats::default(),
            malformed: 0,
            files: 0,
            unreadable: 0,
            login_attempts: 0,
            duplicates: 0,
            future: 0,
            arrival: 0,
            evicted: 0,
            first_ms: None,
            last_ms: None,
            samples: vec![None; patterns],
            keep_samples,
            inputs: Vec::new(),
            binary: 0,
            at: (0, 0),
            matched: Vec::new(),
            keep_matches,
            refusals: Refusals::new(None),
            q45011: None,
        }
    }

    /// The pattern whose first call is the first refusal (45011's index in the catalogue).
    pub fn watch_refusals(&mut self, pattern: Option<usize>) {
        self.q45011 = pattern;
    }

    /// The input being read now (its index among the planned inputs).
    pub fn at_input(&mut self, index: usize) {
        self.at = (index, 0);
    }

    /// The line being read now.
    pub fn at_line(&mut self, line_no: u64) {
        self.at.1 = line_no;
    }

    /// (input, line number, pattern) of every recognised line, in reading order (`keep_matches`).
    pub fn matched(&self) -> &[(usize, u64, usize)] {
        &self.matched
    }
}
