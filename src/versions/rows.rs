//! The per-version part of the read model (`crate::view::View::versions`): every figure an output
//! shows about versions, decided here once. Outputs (check's table and json, the report, the API,
//! `/metrics`, the status page) format these rows and decide nothing.
//!
//! - a row per function and version shown (`other` last): calls, failed calls (any id, each call
//!   once), failed calls per id (ids with none left out), failed-call ratio, share of the function's
//!   calls, first and last seen; functions in the order first seen, versions newest first. Which
//!   versions are shown is `Function::choose`, read here only; `other` is the exact sum of the
//!   versions folded and the untracked remainder, so a function's rows add up to its totals.
//! - `folded`: the same figures for each tracked version folded into `other` (not shown; `/metrics`
//!   advances `other`'s series by their increase, `crate::version_metrics`).
//! - the comparisons at the view's time (`compare`): every tracked version (shown or folded) against
//!   its function's baseline.

use super::compare::{self, Comparison, Test};
use super::{Counts, OTHER, Slot, Versions};

#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub function: String,
    pub version: String,
    pub calls: u64,
    pub failed: u64,
    /// (pattern id, failed calls), ids with none left out, in catalogue order.
    pub failed_calls: Vec<(String, u64)>,
    pub failed_ratio: f64,
    /// This version's calls over its function's calls (0 with none).
    pub share: f64,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    /// Which count the row reads (`Slot::order`): a version dropped from tracking and seen again
    /// counts afresh under another; 0 for `other`.
    pub order: u64,
}

/// A comparison with the pattern named.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    pub c: Comparison,
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionsView {
    pub rows: Vec<VersionRow>,
    /// The tracked versions folded into `other` (their figures are in `other`'s row).
    pub folded: Vec<VersionRow>,
    pub comparisons: Vec<ComparisonRow>,
    /// The test the comparisons used.
    pub test: Option<Test>,
}

impl VersionsView {
    /// The rows of `v` and its comparisons at `at_ms`; `ids` names the pattern indexes.
    pub fn build(v: &Versions, ids: &[String], at_ms: i64, test: Test) -> VersionsView {
        let mut rows = Vec::new();
        let mut folded_rows = Vec::new();
        for f in &v.functions {
            let all = f.total_calls();
            let row = |name: &str, order: u64, t: &Counts, first: Option<i64>, last: Option<i64>| {
                let failed_calls = t
                    .per_pattern
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .filter_map(|(p, n)| Some((ids.get(p)?.clone(), *n)))
                    .collect();
                VersionRow {
                    function: f.name.clone(),
                    version: name.to_string(),
                    calls: t.calls,
                    failed: t.failed,
                    failed_calls,
                    failed_ratio: compare::ratio(t.failed, t.calls),
                    share: compare::ratio(t.calls, all),
                    first_seen_ms: first,
                    last_seen_ms: last,
                    order,
                }
            };
            let of = |s: &Slot| row(&s.name, s.order, &s.total, s.first_ms, s.last_ms);
            let (mut shown, folded) = f.choose();
            shown.sort_by_key(|s| std::cmp::Reverse(s.newness()));
            rows.extend(shown.into_iter().map(of));
            let gone: Vec<&Slot> = folded.iter().copied().chain(&f.rest).collect();
            if !gone.is_empty() {
                let mut t = Counts::default();
                for s in &gone {
                    t.add(&s.total);
                }
                let first = gone.iter().filter_map(|s| s.first_ms).min();
                let last = gone.iter().filter_map(|s| s.last_ms).max();
                rows.push(row(OTHER, 0, &t, first, last));
            }
            folded_rows.extend(folded.into_iter().map(of));
        }
        let comparisons = compare::compare_all(v, at_ms, &test)
            .into_iter()
            .map(|c| ComparisonRow { pattern: c.pattern.and_then(|p| ids.get(p).cloned()), c })
            .collect();
        VersionsView { rows, folded: folded_rows, comparisons, test: Some(test) }
    }

    /// The comparisons that find a version worse.
    pub fn worse(&self) -> impl Iterator<Item = &ComparisonRow> {
        self.comparisons.iter().filter(|c| c.c.verdict == compare::Verdict::Worse)
    }
}
