//! The Event stage's types: what it sends (`Event`, `Note`) to whom (`Sink`), and its settings. The
//! rules that make Events are in `crate::event` (re-exported there).

use std::sync::Arc;

use crate::patterns::Side;
use crate::record::FormatChoice;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A call (or a line outside any call) failed with this catalogue pattern.
    Error(usize),
    /// One invocation of the login function.
    Attempt,
    /// One invocation of any function, under a known version (see the module doc).
    Call,
    /// Nothing to count: a record read again (overlapping exports) by an input that may be cut at its
    /// start, at the record's own time. The windows learn that the input covers that time, so an
    /// export overlapping an earlier one does not look cut where its new records begin.
    Seen,
}

/// Where an Event's time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFrom {
    /// The record's own timestamp.
    Own,
    /// Another record of the same call.
    Call,
    /// The newest own time seen in the same stream (the call had none).
    Neighbour,
    /// When it was read (nothing in the stream carried a time).
    Arrival,
    /// No time to trust (its own was untrusted, and nothing else in its call or stream had one): the
    /// Event is counted, in no minute.
    Untimed,
}

/// One thing that happened, at its call's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub source: usize,
    pub kind: Kind,
    pub time_ms: i64,
    pub time_from: TimeFrom,
    /// The input it came from, when that input may be cut at its start (see the module doc).
    pub input: Option<u64>,
    pub function: Option<String>,
    pub request_id: Option<String>,
    pub side: Side,
    /// The line that showed it (raw: sinks redact before showing it anywhere).
    pub sample: Option<Vec<u8>>,
    /// The function version its call ran under, where known (then `function` is set too).
    pub version: Option<Arc<str>>,
    /// An error Event that is its call's first (a call failing with two ids is one failed call).
    pub first_failure: bool,
}

/// Things worth counting that are not Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// A line that claimed a structured form but did not parse as one.
    Malformed,
    /// A record already read (overlapping exports).
    Duplicate,
    /// An own time too far ahead of the wall clock.
    FutureTime,
    /// An Event placed at arrival time: nothing in its stream carried a time.
    ArrivalTime,
    /// A call forgotten to keep the table bounded (by window or cap).
    CallEvicted,
    /// A seen-record key forgotten to keep the table bounded.
    RecordEvicted,
}

/// Consumers of the stage: counters, windows, `check`'s tally.
pub trait Sink {
    fn event(&mut self, event: Event);
    /// A line recognised as `pattern`, whether or not its call had already counted it.
    fn error_line(&mut self, _source: usize, _pattern: usize) {}
    fn note(&mut self, _source: usize, _note: Note) {}
    /// Input `input` (one that may be cut) holds a line at `time_ms`, counted or not (`Stage::input_edges`).
    fn input_reaches(&mut self, _input: u64, _time_ms: i64) {}
    /// Whether Events should carry their function, request id and sample line (copies per Event).
    fn wants_details(&self) -> bool {
        true
    }
}

/// The stage's settings; swapped whole on reload.
#[derive(Debug, Clone)]
pub struct StageConfig {
    /// Invocations of this function are login attempts.
    pub login_function: String,
    /// Per source: whose logs these are when the records do not say (plain text).
    pub source_functions: Vec<Option<String>>,
    pub source_formats: Vec<FormatChoice>,
    /// Per source: its CSV dialect when `[sources.csv]` says how its CSV is written.
    pub source_csv: Vec<Option<Arc<crate::formats::cls_csv::CsvDialect>>>,
    /// Per source: the version its calls run under when the records do not say (plain text).
    pub source_versions: Vec<Option<String>>,
    pub future_tolerance_ms: i64,
    pub window_ms: i64,
    pub max_calls: usize,
    pub max_records: usize,
    /// How long an Event may wait for its call's time (wall clock) before it takes a fallback.
    pub hold_ms: i64,
}

pub const DEFAULT_FUTURE_TOLERANCE_MS: i64 = 5 * 60_000;
/// SCF's longest run time (900 s) plus export skew.
pub const DEFAULT_WINDOW_MS: i64 = 3_600_000;
pub const DEFAULT_MAX_CALLS: usize = 100_000;
pub const DEFAULT_MAX_RECORDS: usize = 200_000;
pub const DEFAULT_HOLD_MS: i64 = 5_000;

/// The Event stage's `[limits]` keys (`config` composes them; `pipeline` turns them into a
/// `StageConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// A line stamped more than this ahead of the wall clock is not trusted for its time.
    pub future_tolerance_secs: u64,
    /// How long (event time) a call is remembered for joining its lines and counting it once, and a
    /// record for recognising it when read again: SCF's 900 s maximum run time plus export skew.
    pub invocation_window_secs: u64,
    /// Calls remembered at most; past it the oldest are forgotten (counted).
    pub max_invocations: u64,
    /// Records remembered at most for overlapping exports; past it the oldest are forgotten (counted).
    pub max_seen_records: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            future_tolerance_secs: (DEFAULT_FUTURE_TOLERANCE_MS / 1000) as u64,
            invocation_window_secs: (DEFAULT_WINDOW_MS / 1000) as u64,
            max_invocations: DEFAULT_MAX_CALLS as u64,
            max_seen_records: DEFAULT_MAX_RECORDS as u64,
        }
    }
}

impl Limits {
    /// The keys whose values the stage cannot work with, and why.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let checks = [
            (self.future_tolerance_secs <= 86_400, "future_tolerance_secs", "must be 0 to 86400"),
            (
                (900..=7 * 86_400).contains(&self.invocation_window_secs),
                "invocation_window_secs",
                "must be 900 (SCF's longest run) to 604800",
            ),
            ((1000..=10_000_000).contains(&self.max_invocations), "max_invocations", "must be 1000 to 10000000"),
            ((1000..=10_000_000).contains(&self.max_seen_records), "max_seen_records", "must be 1000 to 10000000"),
        ];
        checks.into_iter().filter(|(ok, _, _)| !ok).map(|(_, k, why)| (k, why)).collect()
    }
}

impl Default for StageConfig {
    fn default() -> Self {
        StageConfig {
            login_function: "getLoginTicket".into(),
            source_functions: Vec::new(),
            source_formats: Vec::new(),
            source_csv: Vec::new(),
            source_versions: Vec::new(),
            future_tolerance_ms: DEFAULT_FUTURE_TOLERANCE_MS,
            window_ms: DEFAULT_WINDOW_MS,
            max_calls: DEFAULT_MAX_CALLS,
            max_records: DEFAULT_MAX_RECORDS,
            hold_ms: DEFAULT_HOLD_MS,
        }
    }
}
