//! Per function version: calls, failed calls per id, first and last seen, and per-minute counts for
//! comparing a new version with the old one during a rollout. State only: the read model
//! (`rows`) and the comparison (`compare`) are built from it, once, for every output.
//!
//! Semantics:
//! - **calls**: distinct invocations of a function under a version (the Event stage's `Call` Events:
//!   one per call of any function, where the version is known). **failed calls** per id: calls that
//!   showed the id (`unlisted` included), each once; **failed** (all ids): calls that showed any id,
//!   once however many ids they showed. `failed_ratio` = failed / calls (0 with no calls). A call's
//!   errors are placed at the call's time, like its `Call` Event; an error Event counted before its
//!   call (a START cut off by the export) counts the call too (the stage sends one `Call` for it).
//! - **bounded**: at most `MAX_VERSIONS` rows per function, `other` included, and `MAX_FUNCTIONS`
//!   functions (past it a function is counted as `other`). Which versions have rows is chosen at
//!   every read (`Function::choose`, read by the view, `rows`), on the calls counted then: the
//!   `KEEP_BUSIEST` busiest (most calls), then the newest (`$LATEST` first, then the highest version
//!   number, then names that are not numbers by when first seen) until `MAX_VERSIONS - 1`; `other`
//!   is the sum of the rest. A folded version keeps its own exact counts, so a version seen late
//!   that becomes busy, or one folded early that becomes the busiest, gets its row back with every
//!   call it had; the rows always add up to the function's totals.
//! - **tracked**: exact counts are kept for at most `TRACKED` versions per function (far more than
//!   are shown). A new name past that takes the place of the least busy tracked version that is not
//!   shown (of equals the oldest), whose counts go to the function's untracked remainder (`rest`,
//!   always in `other`); if that version comes back it counts afresh from then (a new `order`), its
//!   earlier calls staying in `other`. A name literally `other` counts in the remainder. The
//!   comparison (`compare`) reads every tracked version, shown or folded: what is shown never
//!   changes a verdict.
//! - **names**: version and function names were cleaned where they were read (`record::clean_version`,
//!   `clean_function`), so every label value is short and of a fixed alphabet.
//! - **minutes**: the last `RING_MINUTES` minutes of each version are kept per minute (event time),
//!   the comparison window is at most that long; older calls count in the totals only.

pub mod compare;
pub mod flags;
pub mod rows;

/// Rows per function at most, `other` included.
pub const MAX_VERSIONS: usize = 8;
/// Functions at most; past it calls count under the function `other`.
pub const MAX_FUNCTIONS: usize = 16;
/// Rows given to the busiest versions (most calls); the rest of the room goes to the newest.
pub const KEEP_BUSIEST: usize = 3;
/// Versions per function counted exactly, shown or folded; past it the least busy one not shown
/// is dropped into the function's untracked remainder (part of `other`).
pub const TRACKED: usize = 32;
/// Where folded versions (and functions past the cap) are counted.
pub const OTHER: &str = "other";
/// Calls whose records name no function (plain text of a source without `function`).
pub const UNKNOWN_FUNCTION: &str = "unknown";
/// Minutes kept per version for comparisons (the longest comparison window).
pub const RING_MINUTES: usize = 60;
const MINUTE_MS: i64 = 60_000;
/// Longest function name kept (SCF allows 60); a longer or odd one is `invalid`.
pub const MAX_FUNCTION_CHARS: usize = 64;

/// A function name as a label value: SCF names are letters, digits, `-` and `_`.
pub fn clean_function(raw: Option<&str>) -> String {
    let Some(f) = raw.map(str::trim).filter(|f| !f.is_empty()) else { return UNKNOWN_FUNCTION.into() };
    let ok = f.len() <= MAX_FUNCTION_CHARS && f.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok { f.to_string() } else { "invalid".to_string() }
}

/// A source's `version_from_path`: a regex with a named group `version`, matched against a file's
/// path; the group's text (cleaned like any version) is the version of that file's calls. A path it
/// does not match keeps the source's `version`, if any.
#[derive(Debug, Clone)]
pub struct PathVersion(regex::Regex);

impl PathVersion {
    pub fn new(re: &str) -> Result<PathVersion, String> {
        let r = regex::Regex::new(re).map_err(|e| format!("bad regex: {e}"))?;
        if !r.capture_names().any(|n| n == Some("version")) {
            return Err(format!("{re:?} has no named group `version`, e.g. /v(?P<version>[0-9]+)/"));
        }
        Ok(PathVersion(r))
    }

    /// The version `path` names, if it matches.
    pub fn of(&self, path: &str) -> Option<String> {
        let m = self.0.captures(path)?.name("version")?;
        crate::record::clean_version(m.as_str())
    }
}

/// Calls, failed calls and failed calls per id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: u64,
    /// Calls that failed with any id (each once).
    pub failed: u64,
    /// Per pattern index.
    pub per_pattern: Vec<u64>,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.calls += o.calls;
        self.failed += o.failed;
        if self.per_pattern.len() < o.per_pattern.len() {
            self.per_pattern.resize(o.per_pattern.len(), 0);
        }
        for (a, b) in self.per_pattern.iter_mut().zip(&o.per_pattern) {
            *a += b;
        }
    }

    fn bump(&mut self, patterns: usize, what: What) {
        match what {
            What::Call => self.calls += 1,
            What::Failure { pattern, first } => {
                self.failed += u64::from(first);
                if self.per_pattern.len() < patterns {
                    self.per_pattern.resize(patterns, 0);
                }
                if let Some(c) = self.per_pattern.get_mut(pattern) {
                    *c += 1;
                }
            }
        }
    }

    fn remap(&mut self, map: &[Option<usize>]) {
        self.per_pattern =
            map.iter().map(|old| old.and_then(|o| self.per_pattern.get(o).copied()).unwrap_or(0)).collect();
    }
}

#[derive(Debug, Clone, Copy)]
enum What {
    Call,
    Failure { pattern: usize, first: bool },
}

/// One version of one function (or its `other`).
#[derive(Debug, Clone)]
pub struct Slot {
    pub name: String,
    pub total: Counts,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Per minute (index: minute mod `RING_MINUTES`): (minute, counts).
    ring: Vec<Option<(i64, Counts)>>,
    /// Order of first sight (for names that are not numbers); also tells this count from an earlier
    /// one of the same name (a version dropped from tracking and seen again counts afresh).
    pub order: u64,
}

impl Slot {
    fn new(name: &str, order: u64, ring_minutes: usize) -> Slot {
        Slot {
            name: name.to_string(),
            total: Counts::default(),
            first_ms: None,
            last_ms: None,
            ring: vec![None; ring_minutes.max(1)],
            order,
        }
    }

    fn add(&mut self, patterns: usize, time_ms: i64, newest_minute: i64, what: What) {
        self.total.bump(patterns, what);
        self.first_ms = Some(self.first_ms.map_or(time_ms, |f| f.min(time_ms)));
        self.last_ms = Some(self.last_ms.map_or(time_ms, |l| l.max(time_ms)));
        let minute = time_ms.div_euclid(MINUTE_MS);
        let ring = self.ring.len() as i64;
        if minute <= newest_minute - ring {
            return;
        }
        let cell = &mut self.ring[minute.rem_euclid(ring) as usize];
        if cell.as_ref().is_none_or(|(m, _)| *m != minute) {
            *cell = Some((minute, Counts::default()));
        }
        if let Some((_, c)) = cell {
            c.bump(patterns, what);
        }
    }

    /// Counts over the minutes that overlap (now − window, now] (as `Windows::count_over`).
    pub fn over(&self, now_ms: i64, window_ms: i64) -> Counts {
        let last = now_ms.div_euclid(MINUTE_MS);
        let first = (now_ms - window_ms + 1).div_euclid(MINUTE_MS).max(last - self.ring.len() as i64 + 1);
        let mut sum = Counts::default();
        for (m, c) in self.ring.iter().flatten() {
            if (first..=last).contains(m) {
                sum.add(c);
            }
        }
        sum
    }

    fn absorb(&mut self, o: Slot) {
        self.total.add(&o.total);
        self.first_ms = match (self.first_ms, o.first_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ms = self.last_ms.max(o.last_ms);
        for (mine, theirs) in self.ring.iter_mut().zip(o.ring) {
            match (mine.as_mut(), theirs) {
                (Some((m, c)), Some((tm, tc))) if *m == tm => c.add(&tc),
                (Some((m, _)), Some((tm, tc))) if tm > *m => *mine = Some((tm, tc)),
                (None, Some(t)) => *mine = Some(t),
                _ => {}
            }
        }
    }

    /// Newer sorts higher: `$LATEST`, then version numbers by value, then other names by first sight.
    pub fn newness(&self) -> (u8, u64, u64) {
        if self.name == "$LATEST" {
            return (3, 0, self.order);
        }
        match self.name.parse::<u64>() {
            Ok(n) => (2, n, self.order),
            Err(_) => (1, 0, self.order),
        }
    }
}

/// The versions of one function.
#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    /// The tracked versions, at most `TRACKED`, each counted exactly (never one named `other`).
    pub slots: Vec<Slot>,
    /// The untracked remainder: versions dropped from tracking (and a version literally named
    /// `other`), counted only as a sum; always part of the `other` row.
    pub rest: Option<Slot>,
}

impl Function {
    /// The one choice of rows (see the module doc): the tracked versions shown on their own, and those
    /// folded into `other`, judged on the calls counted now. Every output reads it through the view
    /// (`rows`); dropping a version from tracking reads it too, so a shown version is never dropped.
    pub fn choose(&self) -> (Vec<&Slot>, Vec<&Slot>) {
        let room = MAX_VERSIONS - 1;
        if self.slots.len() <= room {
            return (self.slots.iter().collect(), Vec::new());
        }
        let mut by_calls: Vec<&Slot> = self.slots.iter().collect();
        // Of equal calls, the newer first: the busiest rows do not depend on the order seen.
        by_calls.sort_by_key(|s| (std::cmp::Reverse(s.total.calls), std::cmp::Reverse(s.newness())));
        let mut rest = by_calls.split_off(KEEP_BUSIEST.min(by_calls.len()));
        rest.sort_by_key(|s| std::cmp::Reverse(s.newness()));
        let folded = rest.split_off((room - by_calls.len()).min(rest.len()));
        by_calls.extend(rest);
        (by_calls, folded)
    }

    /// The function's calls, every version and the remainder.
    pub fn total_calls(&self) -> u64 {
        self.slots.iter().chain(&self.rest).map(|s| s.total.calls).sum()
    }
}

/// Every function's versions.
#[derive(Debug, Clone, Default)]
pub struct Versions {
    patterns: usize,
    pub functions: Vec<Function>,
    /// The newest minute any version counted in.
    newest_minute: Option<i64>,
    first_ms: Option<i64>,
    seen: u64,
    /// Minutes each version keeps per minute (`RING_MINUTES` in the daemon).
    ring_minutes: usize,
}

impl Versions {
    pub fn new(patterns: usize) -> Versions {
        Versions { patterns, ring_minutes: RING_MINUTES, ..Versions::default() }
    }

    /// Keep `minutes` per version (at least `RING_MINUTES`): `check` replays a whole export's alerts
    /// after reading it, so its early minutes must still be there (rows made before keep theirs).
    pub fn keep_minutes(&mut self, minutes: usize) {
        self.ring_minutes = minutes.max(RING_MINUTES);
    }

    /// One call of `function` under `version` at `time_ms`.
    pub fn add_call(&mut self, function: Option<&str>, version: &str, time_ms: i64) {
        self.add(function, version, time_ms, What::Call);
    }

    /// A failed call's id; `first`: the call's first id (the call counts once in `failed`).
    pub fn add_failure(&mut self, function: Option<&str>, version: &str, pattern: usize, first: bool, time_ms: i64) {
        self.add(function, version, time_ms, What::Failure { pattern, first });
    }

    /// The earliest and the newest minute start with a call or failure (for replays).
    pub fn span_ms(&self) -> Option<(i64, i64)> {
        Some((self.first_ms?, self.newest_minute? * MINUTE_MS))
    }

    /// The patterns changed (reload): `map[new] = Some(old)`.
    pub fn remap(&mut self, map: &[Option<usize>]) {
        self.patterns = map.len();
        for s in self.functions.iter_mut().flat_map(|f| f.slots.iter_mut().chain(f.rest.as_mut())) {
            s.total.remap(map);
            for (_, c) in s.ring.iter_mut().flatten() {
                c.remap(map);
            }
        }
    }

    fn add(&mut self, function: Option<&str>, version: &str, time_ms: i64, what: What) {
        let minute = time_ms.div_euclid(MINUTE_MS);
        let newest = self.newest_minute.map_or(minute, |n| n.max(minute));
        self.newest_minute = Some(newest);
        self.first_ms = Some(self.first_ms.map_or(time_ms, |f| f.min(time_ms)));
        let f = self.function(&clean_function(function));
        let patterns = self.patterns;
        self.slot(f, version).add(patterns, time_ms, newest, what);
    }

    fn function(&mut self, name: &str) -> usize {
        let name = match self.functions.iter().position(|f| f.name == name) {
            Some(i) => return i,
            None if self.functions.len() < MAX_FUNCTIONS - 1 || name == OTHER => name,
            None => OTHER,
        };
        if let Some(i) = self.functions.iter().position(|f| f.name == name) {
            return i;
        }
        self.functions.push(Function { name: name.to_string(), slots: Vec::new(), rest: None });
        self.functions.len() - 1
    }

    /// Where `version`'s call counts: its own slot, a new one, or the remainder (see the module doc).
    fn slot(&mut self, f: usize, version: &str) -> &mut Slot {
        self.seen += 1;
        let ring = self.ring_minutes;
        let order = self.seen;
        let func = &mut self.functions[f];
        if let Some(i) = func.slots.iter().position(|s| s.name == version) {
            return &mut func.slots[i];
        }
        if version == OTHER {
            return func.rest.get_or_insert_with(|| Slot::new(OTHER, 0, ring));
        }
        if func.slots.len() < TRACKED {
            func.slots.push(Slot::new(version, order, ring));
            let last = func.slots.len() - 1;
            return &mut func.slots[last];
        }
        // Full: the newcomer takes the place of the least busy version not shown (of equals, the
        // oldest), whose counts go to the remainder.
        let (_, folded) = func.choose();
        let out = folded.iter().min_by_key(|s| (s.total.calls, s.newness())).map(|s| s.order);
        let i = func.slots.iter().position(|s| Some(s.order) == out).unwrap_or(0);
        let old = std::mem::replace(&mut func.slots[i], Slot::new(version, order, ring));
        func.rest.get_or_insert_with(|| Slot::new(OTHER, 0, ring)).absorb(old);
        &mut func.slots[i]
    }

    /// The function row named `name`.
    pub fn get(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_741_914_000_000;

    #[test]
    fn calls_and_failures_per_version() {
        let mut v = Versions::new(3);
        for i in 0..10 {
            v.add_call(Some("login"), "1", T0 + i * 1000);
        }
        v.add_failure(Some("login"), "1", 2, true, T0 + 5000);
        v.add_failure(Some("login"), "1", 0, false, T0 + 5000);
        let s = &v.get("login").unwrap().slots[0];
        assert_eq!((s.total.calls, s.total.failed, s.total.per_pattern.clone()), (10, 1, vec![1, 0, 1]));
        assert_eq!((s.first_ms, s.last_ms), (Some(T0), Some(T0 + 9000)));
        assert_eq!(s.over(T0 + 59_999, 60_000).calls, 10);
        assert_eq!(s.over(T0 + 200_000, 60_000).calls, 0, "out of the window");
    }

    /// `check` replays a whole export after reading it: an export longer than the daemon's ring still
    /// has its first minutes when they are judged (a 65-minute canary's report judged its first
    /// minutes on a window missing them).
    #[test]
    fn a_long_export_keeps_its_first_minutes_for_the_replay() {
        for (keep, want) in [(None, 0), (Some(24 * 60), 5)] {
            let mut v = Versions::new(1);
            if let Some(m) = keep {
                v.keep_minutes(m);
            }
            for m in 0..5 {
                v.add_call(Some("login"), "3", T0 + m * MINUTE_MS);
            }
            for m in 60..65 {
                v.add_call(Some("login"), "3", T0 + m * MINUTE_MS);
            }
            let s = &v.get("login").unwrap().slots[0];
            assert_eq!(s.over(T0 + 5 * MINUTE_MS - 1, 15 * MINUTE_MS).calls, want, "keep {keep:?}");
        }
    }

    fn names(v: &Versions, f: &str) -> (Vec<String>, Vec<String>) {
        let (shown, folded) = v.get(f).unwrap().choose();
        let n = |s: Vec<&Slot>| s.iter().map(|s| s.name.clone()).collect();
        (n(shown), n(folded))
    }

    #[test]
    fn at_most_seven_shown_the_busiest_then_the_newest() {
        let mut v = Versions::new(1);
        // Version 1 is the busiest; then 2..=20 arrive one after another, n with n calls.
        for _ in 0..100 {
            v.add_call(Some("f"), "1", T0);
        }
        for n in 2..=20 {
            for _ in 0..n {
                v.add_call(Some("f"), &n.to_string(), T0 + n * 1000);
            }
        }
        v.add_call(Some("f"), "$LATEST", T0);
        let (shown, folded) = names(&v, "f");
        assert_eq!(shown, ["1", "20", "19", "$LATEST", "18", "17", "16"], "busiest by calls, then newest");
        assert_eq!(folded.len(), 21 - 7);
        let f = v.get("f").unwrap();
        assert_eq!(f.total_calls(), 100 + (2..=20).sum::<i64>() as u64 + 1, "nothing lost");
        assert!(f.rest.is_none(), "21 versions are all tracked");
    }

    /// The user trial: many canaries first, the production version (an older number) seen late. It
    /// gets its row as soon as it is among the busiest, with every call it had; a version folded
    /// early that becomes the busiest is shown again, with its early calls.
    #[test]
    fn a_version_seen_late_or_folded_early_is_shown_once_busy() {
        let mut v = Versions::new(1);
        for n in 10..40 {
            v.add_call(Some("f"), &n.to_string(), T0 + n);
            v.add_call(Some("f"), &n.to_string(), T0 + n);
        }
        v.add_call(Some("f"), "11", T0);
        for _ in 0..5 {
            v.add_call(Some("f"), "3", T0 + 100);
        }
        let (shown, folded) = names(&v, "f");
        assert!(shown.contains(&"3".to_string()), "{shown:?}");
        assert!(folded.contains(&"12".to_string()), "{folded:?}");
        let three = v.get("f").unwrap().slots.iter().find(|s| s.name == "3").unwrap();
        assert_eq!(three.total.calls, 5);
        // 12 was folded from the start; it becomes the busiest and is shown with its first 2 calls.
        for _ in 0..50 {
            v.add_call(Some("f"), "12", T0 + 200);
        }
        let (shown, _) = names(&v, "f");
        assert_eq!(shown[0], "12", "{shown:?}");
        assert_eq!(v.get("f").unwrap().slots.iter().find(|s| s.name == "12").unwrap().total.calls, 52);
    }

    /// Past `TRACKED` names, the least busy one not shown goes to the remainder; a shown one never
    /// does, and nothing is lost.
    #[test]
    fn tracking_is_bounded_and_drops_the_least_busy_not_shown() {
        let mut v = Versions::new(1);
        for _ in 0..1000 {
            v.add_call(Some("f"), "1", T0);
        }
        for n in 2..200u64 {
            for _ in 0..(n % 7 + 1) {
                v.add_call(Some("f"), &n.to_string(), T0);
            }
            let f = v.get("f").unwrap();
            assert!(f.slots.len() <= TRACKED);
            assert!(f.slots.iter().any(|s| s.name == "1"), "the busiest is never dropped");
            assert!(f.slots.iter().any(|s| s.name == n.to_string()), "the newest is tracked");
        }
        let f = v.get("f").unwrap();
        let want = 1000 + (2..200u64).map(|n| n % 7 + 1).sum::<u64>();
        assert_eq!(f.total_calls(), want);
        assert!(f.rest.as_ref().is_some_and(|r| r.total.calls > 0));
        assert_eq!(names(&v, "f").0.len(), MAX_VERSIONS - 1);
    }

    #[test]
    fn functions_are_bounded_and_names_cleaned() {
        let mut v = Versions::new(1);
        for i in 0..100 {
            v.add_call(Some(&format!("fn{i}")), "1", T0);
        }
        assert_eq!(v.functions.len(), MAX_FUNCTIONS);
        assert_eq!(v.get(OTHER).unwrap().slots[0].total.calls, 100 - (MAX_FUNCTIONS as u64 - 1));
        assert_eq!(clean_function(Some("a b")), "invalid");
        assert_eq!(clean_function(None), UNKNOWN_FUNCTION);
    }
}
