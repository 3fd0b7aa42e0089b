//! Event-time windows: per-minute counts of every pattern and of login attempts, keyed by each line's
//! own time (falling back to arrival time), so replaying an hour of exported logs in seconds gives the
//! same per-minute curve as watching it live.
//!
//! Contract: memory is a fixed ring of `retention_minutes` slots, whatever the traffic. The newest
//! minute seen (the watermark) bounds the ring: a line older than watermark − retention is counted in
//! `late`, not in any minute. Time is passed in by the caller (`now_ms`), never read here.
//! A minute is **partial** when an input may have cut it: nothing was counted in it before an input
//! that may be cut at its start began there (`note_input`), or, for inputs known to have ended (every
//! input of `check`: `inputs_end`), nothing was counted in it after such an input ended there; an
//! input that ran on from an earlier minute into it (or from it into a later one) vouches for it.
//! So does one that met it: an input that ended at most `MEET_MS` before another began (one export
//! cut into files at a minute's edge: its last record at 09:25:59.8, the next file's first at
//! 09:26:00.3) leaves neither the minute it ended in nor the one the other began in cut. Where one
//! input ended and another began inside one minute, further apart than that and than `HOLE_SPACINGS`
//! times the minute's mean spacing of records, records may be missing between them: the minute is
//! partial, whatever was counted in it before and after.
//! Both rules hold whatever order the records are read in (a newest-first export included).
//! The onset is taken only from complete minutes: the caller says where the open (still filling)
//! minutes begin (`onset_before`); a finished input (`check`) has none. Which minutes are still open is
//! the read model's rule (`crate::view`), not this ring's.
//! `state`/`from_state` give the whole ring as plain data for `history` to save and restore.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

pub const MINUTE_MS: i64 = 60_000;
pub const DEFAULT_RETENTION_MINUTES: usize = 24 * 60;

/// The windows' `[limits]` key (`config` composes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Per-minute history kept for the 45011 curve and alerts; lines older than this behind the newest
    /// are counted as late.
    pub retention_minutes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { retention_minutes: DEFAULT_RETENTION_MINUTES as u64 }
    }
}

impl Limits {
    /// The keys whose values the windows cannot work with, and why.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let ok = (2..=7 * 24 * 60).contains(&self.retention_minutes);
        if ok { Vec::new() } else { vec![("retention_minutes", "must be 2 to 10080")] }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    minute: i64,
    counts: Vec<u32>,
    attempts: u32,
    /// The earliest time counted in this minute: with the inputs' start times it tells whether the
    /// minute may be cut (nothing is known of it before an input began).
    earliest_ms: i64,
    /// The latest time counted in this minute: with the ends of inputs that ended, whether the minute
    /// may be cut by an end (not saved: only `check`'s finished inputs have ends).
    latest_ms: i64,
}

/// One minute of history for one pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteCount {
    /// Start of the minute, Unix ms.
    pub start_ms: i64,
    pub count: u64,
    pub login_attempts: u64,
    /// The minute may be cut by the start or the end of its input, so it is not used for the onset.
    pub partial: bool,
}

#[derive(Debug, Clone)]
pub struct Windows {
    patterns: usize,
    retention: usize,
    slots: Vec<Option<Slot>>,
    watermark: Option<i64>,
    late: u64,
    /// (pattern, minute, attempts) of onsets that aged out of the ring, so they are not forgotten.
    frozen_onsets: VecDeque<(usize, i64, u64)>,
    /// Inputs that may be cut at their start (an export, a file found when the daemon started): the
    /// earliest time counted from each. A minute is partial when its earliest count is an input's
    /// start: whatever came before in that minute was not in any input. Order of reading does not
    /// matter.
    starts: HashMap<u64, i64>,
    /// Minutes into which an input ran on from an earlier minute (it counted something in both): an
    /// input that begins in such a minute does not cut it, whatever was counted before it there.
    spanned: HashSet<i64>,
    /// Whether inputs end (`check`: every input is read to its end) and so may cut their last minute.
    track_ends: bool,
    /// The latest time counted from each input that may be cut (where one met the next; with
    /// `track_ends` also where it may cut its last minute).
    ends: HashMap<u64, i64>,
    /// With `track_ends`: minutes from which an input ran on into a later minute: an input that ends
    /// in such a minute does not cut it.
    spanned_out: HashSet<i64>,
    /// Calls and failed calls per function version, with their own minutes (`crate::versions`);
    /// not saved by `history`.
    pub versions: crate::versions::Versions,
}

/// Per minute, the starts and ends of inputs in it, each with whether another input covered the
/// moment just before that start (after that end), within `MEET_MS`, and otherwise how long before
/// that start another input ended in the same minute (after that end another began): a gap inside
/// the minute, which is a hole where it is long for the minute's rate (`HOLE_SPACINGS`).
struct Cuts {
    starts: HashMap<i64, Vec<Edge>>,
    ends: HashMap<i64, Vec<Edge>>,
}

#[derive(Clone, Copy)]
struct Edge {
    at: i64,
    covered: bool,
    gap: Option<i64>,
}

/// A gap between two inputs inside a minute is a hole (records may be missing: the minute is
/// partial) where it is longer than this many times the minute's mean spacing of records (and than
/// `MEET_MS`). For arrivals at random, the spacing that holds a given moment exceeds 6 means in ~2 %
/// of minutes; a load test's export cut by hand 20 s apart at 100 logins a minute is 30 means.
pub const HOLE_SPACINGS: i64 = 6;

/// Two inputs meet where one begins at most this long after another ended: a continuous export cut
/// into files (hourly CLS exports, a load test's export split by size) has records that close
/// together at any load worth an onset (≥ 60 logins a minute); a gap longer than this may be missing
/// records, and the minutes either side stay partial.
pub const MEET_MS: i64 = 1_000;

/// One minute of every pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowMinute {
    pub start_ms: i64,
    /// Per pattern index.
    pub counts: Vec<u64>,
    pub attempts: u64,
    /// The minute may be cut by the start or the end of its input, so it is not used for the onset.
    pub partial: bool,
}

/// One minute of the ring as saved by `history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotState {
    pub minute: i64,
    /// Per pattern index, as the saving catalogue numbered them.
    pub counts: Vec<u32>,
    pub attempts: u32,
    pub earliest_ms: i64,
    /// Absent in older history files.
    #[serde(default = "no_latest")]
    pub latest_ms: i64,
}

fn no_latest() -> i64 {
    i64::MIN
}

/// The whole ring as plain data (pattern indexes as numbered by the catalogue in effect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsState {
    pub slots: Vec<SlotState>,
    pub watermark: Option<i64>,
    pub late: u64,
    /// (pattern, minute, login attempts) of onsets that aged out of the ring.
    pub frozen_onsets: Vec<(usize, i64, u64)>,
    /// Earliest times of the inputs that may be cut at their start (their ids do not survive a restart).
    pub starts: Vec<i64>,
    /// Minutes an input ran on into from an earlier one (absent in older history files).
    #[serde(default)]
    pub spanned: Vec<i64>,
    /// Whether inputs end (`inputs_end`), the latest times of those that may be cut, and the minutes
    /// an input ran on from (absent in older history files).
    #[serde(default)]
    pub track_ends: bool,
    #[serde(default)]
    pub ends: Vec<i64>,
    #[serde(default)]
    pub spanned_out: Vec<i64>,
}

/// Inputs remembered at most for partial minutes; past it the oldest starts are forgotten.
const MAX_STARTS: usize = 65_536;

impl Windows {
    pub fn new(patterns: usize, retention_minutes: usize) -> Windows {
        let retention = retention_minutes.max(2);
        Windows {
            patterns,
            retention,
            slots: vec![None; retention],
            watermark: None,
            late: 0,
            frozen_onsets: VecDeque::new(),
            starts: HashMap::new(),
            spanned: HashSet::new(),
            track_ends: false,
            ends: HashMap::new(),
            spanned_out: HashSet::new(),
            versions: crate::versions::Versions::new(patterns),
        }
    }

    /// Inputs end (`check` reads each to its end): the minute an input ended in is partial unless
    /// something was counted in it after that end, or the input ran on from it.
    pub fn inputs_end(&mut self) {
        self.track_ends = true;
    }

    /// The ring as plain data, oldest minute first.
    pub fn state(&self) -> WindowsState {
        let mut slots: Vec<SlotState> = self
            .slots
            .iter()
            .flatten()
            .map(|s| SlotState {
                minute: s.minute,
                counts: s.counts.clone(),
                attempts: s.attempts,
                earliest_ms: s.earliest_ms,
                latest_ms: s.latest_ms,
            })
            .collect();
        slots.sort_by_key(|s| s.minute);
        let mut starts: Vec<i64> = self.starts.values().copied().collect();
        starts.sort_unstable();
        let mut spanned: Vec<i64> = self.spanned.iter().copied().collect();
        spanned.sort_unstable();
        let mut ends: Vec<i64> = self.ends.values().copied().collect();
        ends.sort_unstable();
        let mut spanned_out: Vec<i64> = self.spanned_out.iter().copied().collect();
        spanned_out.sort_unstable();
        WindowsState {
            track_ends: self.track_ends,
            ends,
            spanned_out,
            spanned,
            slots,
            watermark: self.watermark,
            late: self.late,
            frozen_onsets: self.frozen_onsets.iter().copied().collect(),
            starts,
        }
    }

    /// A ring of `retention_minutes` holding `st` (saved with `patterns` patterns): minutes older than
    /// the retention allows and counts of unknown pattern indexes are dropped. Restored inputs get ids
    /// from the top of the range, so they never meet the ids of this run's inputs (counted from 1).
    pub fn from_state(st: &WindowsState, patterns: usize, retention_minutes: usize) -> Windows {
        let mut w = Windows::new(patterns, retention_minutes);
        w.late = st.late;
        w.frozen_onsets = st.frozen_onsets.iter().copied().filter(|(p, _, _)| *p < patterns).collect();
        if let Some(newest) = st.watermark {
            w.watermark = Some(newest);
            for s in st.slots.iter().filter(|s| s.minute > newest - w.retention as i64 && s.minute <= newest) {
                let mut counts = s.counts.clone();
                counts.resize(patterns, 0);
                let i = s.minute.rem_euclid(w.retention as i64) as usize;
                w.slots[i] = Some(Slot {
                    minute: s.minute,
                    counts,
                    attempts: s.attempts,
                    earliest_ms: s.earliest_ms,
                    latest_ms: s.latest_ms,
                });
            }
        }
        for (i, &t) in st.starts.iter().take(MAX_STARTS).enumerate() {
            w.starts.insert(u64::MAX - i as u64, t);
        }
        w.spanned = st.spanned.iter().copied().take(w.retention).collect();
        w.track_ends = st.track_ends;
        // Ids of their own: a restored start and end are not known to be one input's.
        for (i, &t) in st.ends.iter().take(MAX_STARTS).enumerate() {
            w.ends.insert(u64::MAX / 2 - i as u64, t);
        }
        w.spanned_out = st.spanned_out.iter().copied().take(w.retention).collect();
        w
    }

    /// Start of the oldest minute in the ring, if any.
    pub fn first_minute_ms(&self) -> Option<i64> {
        self.slots.iter().flatten().map(|s| s.minute).min().map(|m| m * MINUTE_MS)
    }

    /// The patterns changed (reload): `map[new] = Some(old)` carries each pattern's history over.
    pub fn remap(&mut self, map: &[Option<usize>]) {
        self.patterns = map.len();
        self.versions.remap(map);
        for s in self.slots.iter_mut().flatten() {
            s.counts = map.iter().map(|old| old.and_then(|o| s.counts.get(o).copied()).unwrap_or(0)).collect();
        }
        self.frozen_onsets = self
            .frozen_onsets
            .iter()
            .filter_map(|&(p, m, a)| map.iter().position(|old| *old == Some(p)).map(|new| (new, m, a)))
            .collect();
    }

    pub fn retention_minutes(&self) -> usize {
        self.retention
    }

    pub fn late(&self) -> u64 {
        self.late
    }

    pub fn watermark_ms(&self) -> Option<i64> {
        self.watermark.map(|m| m * MINUTE_MS)
    }

    fn slot(&mut self, time_ms: i64) -> Option<&mut Slot> {
        let minute = time_ms.div_euclid(MINUTE_MS);
        let newest = self.watermark.map_or(minute, |w| w.max(minute));
        if minute <= newest - self.retention as i64 {
            self.late += 1;
            return None;
        }
        if self.watermark != Some(newest) {
            self.advance(newest);
        }
        let i = minute.rem_euclid(self.retention as i64) as usize;
        let patterns = self.patterns;
        let slot = self.slots[i].get_or_insert_with(|| Slot {
            minute,
            counts: vec![0; patterns],
            attempts: 0,
            earliest_ms: i64::MAX,
            latest_ms: i64::MIN,
        });
        if slot.minute != minute {
            *slot = Slot { minute, counts: vec![0; patterns], attempts: 0, earliest_ms: i64::MAX, latest_ms: i64::MIN };
        }
        Some(slot)
    }

    /// Moving the watermark forward: onsets about to be overwritten are remembered first.
    fn advance(&mut self, newest: i64) {
        let oldest_kept = newest - self.retention as i64 + 1;
        let cuts = self.cuts();
        let mut aging: Vec<&Slot> = self.slots.iter().flatten().filter(|s| s.minute < oldest_kept).collect();
        aging.sort_by_key(|s| s.minute);
        for p in 0..self.patterns {
            if self.frozen_onsets.iter().any(|(q, _, _)| *q == p) {
                continue;
            }
            if let Some(s) = aging.iter().find(|s| s.counts[p] > 0 && !self.is_partial(s, &cuts)) {
                self.frozen_onsets.push_back((p, s.minute, u64::from(s.attempts)));
            }
        }
        self.watermark = Some(newest);
        // Starts older than the ring can no longer cut a minute in it.
        let oldest_ms = oldest_kept * MINUTE_MS;
        self.starts.retain(|_, t| *t >= oldest_ms);
        self.spanned.retain(|&m| m >= oldest_kept);
        self.ends.retain(|_, t| *t >= oldest_ms);
        self.spanned_out.retain(|&m| m >= oldest_kept);
    }

    /// Something of `input` (an input that may be cut at its start) was counted at `time_ms`.
    pub fn note_input(&mut self, input: u64, time_ms: i64) {
        let minute = time_ms.div_euclid(MINUTE_MS);
        match self.ends.get_mut(&input) {
            Some(end) => {
                // Counted in two minutes: the earlier one was not cut by this input's end.
                let last = end.div_euclid(MINUTE_MS);
                if minute != last && self.track_ends {
                    self.spanned_out.insert(minute.min(last));
                }
                *end = (*end).max(time_ms);
            }
            None => {
                if self.ends.len() >= MAX_STARTS {
                    if let Some((&k, _)) = self.ends.iter().min_by_key(|(_, t)| **t) {
                        self.ends.remove(&k);
                    }
                }
                self.ends.insert(input, time_ms);
            }
        }
        if let Some(t) = self.starts.get_mut(&input) {
            // Counted in two minutes: the later one was not cut by this input's start (read in any
            // order: a newest-first export lowers its start later).
            let (minute, first) = (time_ms.div_euclid(MINUTE_MS), t.div_euclid(MINUTE_MS));
            if minute != first {
                self.spanned.insert(minute.max(first));
            }
            *t = (*t).min(time_ms);
            return;
        }
        if self.starts.len() >= MAX_STARTS {
            if let Some((&k, _)) = self.starts.iter().min_by_key(|(_, t)| **t) {
                self.starts.remove(&k);
            }
        }
        self.starts.insert(input, time_ms);
    }

    /// Per minute, each input's start and end in it, with what stood beside them (`Edge`).
    fn cuts(&self) -> Cuts {
        // Each input's span; an input known by one end only (forgotten past `MAX_STARTS`, or restored
        // from history, whose ids do not pair) is a point.
        let mut spans: Vec<(i64, i64)> = (self.starts.iter())
            .map(|(i, &s)| (s, self.ends.get(i).copied().unwrap_or(s).max(s)))
            .chain(self.ends.iter().filter(|(i, _)| !self.starts.contains_key(i)).map(|(_, &e)| (e, e)))
            .collect();
        spans.sort_unstable();
        // reach[i]: the latest end of the first `i` spans (in start order).
        let mut reach = vec![i64::MIN; spans.len() + 1];
        for (i, &(_, e)) in spans.iter().enumerate() {
            reach[i + 1] = reach[i].max(e);
        }
        let starts: Vec<i64> = spans.iter().map(|&(s, _)| s).collect();
        let mut ends: Vec<i64> = spans.iter().map(|&(_, e)| e).collect();
        ends.sort_unstable();
        let mut cuts = Cuts { starts: HashMap::new(), ends: HashMap::new() };
        for &(s, e) in &spans {
            // Before its start: a span that began earlier and reached to within MEET_MS of it; else
            // the latest other end earlier in the minute.
            let m = s.div_euclid(MINUTE_MS);
            let covered = reach[starts.partition_point(|&t| t < s)] >= s - MEET_MS;
            let before = ends.partition_point(|&t| t < s).checked_sub(1).map(|i| ends[i]);
            let gap = before.filter(|&t| !covered && t >= m * MINUTE_MS).map(|t| s - t);
            cuts.starts.entry(m).or_default().push(Edge { at: s, covered, gap });
            // After its end: a span that began by MEET_MS after it and runs on past it (its own end
            // is not past it); else the earliest other start later in the minute.
            let m = e.div_euclid(MINUTE_MS);
            let covered = reach[starts.partition_point(|&t| t <= e + MEET_MS)] > e;
            let after = starts.get(starts.partition_point(|&t| t <= e)).copied();
            let gap = after.filter(|&t| !covered && t < (m + 1) * MINUTE_MS).map(|t| t - e);
            cuts.ends.entry(m).or_default().push(Edge { at: e, covered, gap });
        }
        cuts
    }

    /// An input that may be cut began in the slot's minute with nothing of another input just before
    /// it (`MEET_MS`), and either nothing was counted before it in the minute (and no input ran on
    /// into the minute from an earlier one) or another input ended earlier in the minute, long before
    /// it for the minute's rate (a hole: `HOLE_SPACINGS`). Likewise for an input that ended in it
    /// (inputs that end: `check`).
    fn is_partial(&self, s: &Slot, cuts: &Cuts) -> bool {
        let records = i64::from(s.attempts) + s.counts.iter().map(|&c| i64::from(c)).sum::<i64>();
        let hole =
            |gap: Option<i64>| gap.is_some_and(|g| g > MEET_MS && g * records.max(1) > HOLE_SPACINGS * MINUTE_MS);
        let (starts, ends) = (cuts.starts.get(&s.minute), cuts.ends.get(&s.minute));
        let cut_by_start = starts
            .into_iter()
            .flatten()
            .any(|x| !x.covered && (hole(x.gap) || (s.earliest_ms >= x.at && !self.spanned.contains(&s.minute))));
        let cut_by_end = self.track_ends
            && ends
                .into_iter()
                .flatten()
                .any(|x| !x.covered && (hole(x.gap) || (s.latest_ms <= x.at && !self.spanned_out.contains(&s.minute))));
        cut_by_start || cut_by_end
    }

    pub fn add(&mut self, pattern: usize, time_ms: i64) {
        if pattern >= self.patterns {
            return;
        }
        if let Some(s) = self.slot(time_ms) {
            s.counts[pattern] += 1;
            s.earliest_ms = s.earliest_ms.min(time_ms);
            s.latest_ms = s.latest_ms.max(time_ms);
        }
    }

    pub fn add_attempt(&mut self, time_ms: i64) {
        if let Some(s) = self.slot(time_ms) {
            s.attempts += 1;
            s.earliest_ms = s.earliest_ms.min(time_ms);
            s.latest_ms = s.latest_ms.max(time_ms);
        }
    }

    fn minute(&self, minute: i64) -> Option<&Slot> {
        self.slots[minute.rem_euclid(self.retention as i64) as usize].as_ref().filter(|s| s.minute == minute)
    }

    /// Count of `pattern` in the minute that starts at `start_ms`' minute.
    pub fn count_in_minute(&self, pattern: usize, time_ms: i64) -> u64 {
        self.minute(time_ms.div_euclid(MINUTE_MS)).map_or(0, |s| u64::from(s.counts.get(pattern).copied().unwrap_or(0)))
    }

    pub fn attempts_in_minute(&self, time_ms: i64) -> u64 {
        self.minute(time_ms.div_euclid(MINUTE_MS)).map_or(0, |s| u64::from(s.attempts))
    }

    /// Sum of `pattern` over the minutes that overlap (now − window, now].
    pub fn count_over(&self, pattern: usize, now_ms: i64, window_ms: i64) -> u64 {
        let last = now_ms.div_euclid(MINUTE_MS);
        let first = (now_ms - window_ms + 1).div_euclid(MINUTE_MS);
        (first..=last)
            .map(|m| self.minute(m).map_or(0, |s| u64::from(s.counts.get(pattern).copied().unwrap_or(0))))
            .sum()
    }

    pub fn attempts_over(&self, now_ms: i64, window_ms: i64) -> u64 {
        let last = now_ms.div_euclid(MINUTE_MS);
        let first = (now_ms - window_ms + 1).div_euclid(MINUTE_MS);
        (first..=last).map(|m| self.minute(m).map_or(0, |s| u64::from(s.attempts))).sum()
    }

    /// (minute start ms, login attempts in it) of the first whole minute in which `pattern` appeared,
    /// every minute taken as complete (a finished input).
    pub fn onset(&self, pattern: usize) -> Option<(i64, u64)> {
        self.onset_before(pattern, None)
    }

    /// (minute start ms, login attempts in it) of the first whole minute in which `pattern` appeared,
    /// the minutes from the one holding `open_from_ms` on being still filling (None: none is): minutes
    /// cut by the start or the end of an input are skipped (`skipped_partial_before` names them), and so are
    /// minutes still filling: their attempts are not known yet.
    pub fn onset_before(&self, pattern: usize, open_from_ms: Option<i64>) -> Option<(i64, u64)> {
        if let Some((_, m, a)) = self.frozen_onsets.iter().find(|(p, _, _)| *p == pattern) {
            return Some((m * MINUTE_MS, *a));
        }
        let cuts = self.cuts();
        let open_from = open_from_ms.map_or(i64::MAX, |t| t.div_euclid(MINUTE_MS));
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.minute < open_from)
            .filter(|s| !self.is_partial(s, &cuts) && s.counts.get(pattern).is_some_and(|&c| c > 0))
            .min_by_key(|s| s.minute)
            .map(|s| (s.minute * MINUTE_MS, u64::from(s.attempts)))
    }

    /// Starts of the partial minutes with `pattern` before its onset (or all, with no onset yet), every
    /// minute taken as complete.
    pub fn skipped_partial(&self, pattern: usize) -> Vec<i64> {
        self.skipped_partial_before(pattern, None)
    }

    /// `skipped_partial` against the onset of `onset_before(pattern, open_from_ms)`.
    pub fn skipped_partial_before(&self, pattern: usize, open_from_ms: Option<i64>) -> Vec<i64> {
        let onset = self.onset_before(pattern, open_from_ms).map(|(ms, _)| ms);
        let cuts = self.cuts();
        let mut v: Vec<i64> = self
            .slots
            .iter()
            .flatten()
            .filter(|s| self.is_partial(s, &cuts) && s.counts.get(pattern).is_some_and(|&c| c > 0))
            .map(|s| s.minute * MINUTE_MS)
            .filter(|ms| onset.is_none_or(|o| *ms < o))
            .collect();
        v.sort_unstable();
        v
    }

    /// Every minute from the first with any data to the watermark, in order (empty minutes included),
    /// with the count of every pattern: what the read model (`crate::view`) is built from.
    pub fn minutes(&self) -> Vec<WindowMinute> {
        let Some(newest) = self.watermark else { return Vec::new() };
        let Some(first) =
            self.slots.iter().flatten().filter(|s| s.minute > newest - self.retention as i64).map(|s| s.minute).min()
        else {
            return Vec::new();
        };
        let cuts = self.cuts();
        (first..=newest)
            .map(|m| {
                let s = self.minute(m);
                WindowMinute {
                    start_ms: m * MINUTE_MS,
                    counts: (0..self.patterns)
                        .map(|p| s.map_or(0, |s| u64::from(s.counts.get(p).copied().unwrap_or(0))))
                        .collect(),
                    attempts: s.map_or(0, |s| u64::from(s.attempts)),
                    partial: s.is_some_and(|s| self.is_partial(s, &cuts)),
                }
            })
            .collect()
    }

    /// One pattern's column of `minutes` (the window's own tests read it).
    pub fn history(&self, pattern: usize) -> Vec<MinuteCount> {
        (self.minutes().into_iter())
            .map(|m| MinuteCount {
                start_ms: m.start_ms,
                count: m.counts.get(pattern).copied().unwrap_or(0),
                login_attempts: m.attempts,
                partial: m.partial,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
