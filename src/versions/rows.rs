//! The per-version part of the read model (`crate::view::View::versions`): every figure an output
//! shows about versions, decided here once. Outputs (check's table and json, the report, the API,
//! `/metrics`, the status page) format these rows and decide nothing.
//!
//! - a row per function and version (`other` last): calls, failed calls (any id, each call once),
//!   failed calls per id (ids with none left out), failed-call ratio, share of the function's calls,
//!   first and last seen; functions in the order first seen, versions newest first.
//! - the comparisons at the view's time (`compare`): every version against its function's baseline.

use super::compare::{self, Comparison, Test};
use super::{OTHER, Versions};

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
    pub comparisons: Vec<ComparisonRow>,
    /// The test the comparisons used.
    pub test: Option<Test>,
}

impl VersionsView {
    /// The rows of `v` and its comparisons at `at_ms`; `ids` names the pattern indexes.
    pub fn build(v: &Versions, ids: &[String], at_ms: i64, test: Test) -> VersionsView {
        let mut rows = Vec::new();
        for f in &v.functions {
            let all: u64 = f.slots.iter().map(|s| s.total.calls).sum();
            let mut slots: Vec<_> = f.slots.iter().collect();
            slots.sort_by_key(|s| (s.name == OTHER, std::cmp::Reverse(s.newness())));
            for s in slots {
                let t = &s.total;
                let failed_calls = t
                    .per_pattern
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .filter_map(|(p, n)| Some((ids.get(p)?.clone(), *n)))
                    .collect();
                rows.push(VersionRow {
                    function: f.name.clone(),
                    version: s.name.clone(),
                    calls: t.calls,
                    failed: t.failed,
                    failed_calls,
                    failed_ratio: compare::ratio(t.failed, t.calls),
                    share: compare::ratio(t.calls, all),
                    first_seen_ms: s.first_ms,
                    last_seen_ms: s.last_ms,
                });
            }
        }
        let comparisons = compare::compare_all(v, at_ms, &test)
            .into_iter()
            .map(|c| ComparisonRow { pattern: c.pattern.and_then(|p| ids.get(p).cloned()), c })
            .collect();
        VersionsView { rows, comparisons, test: Some(test) }
    }

    /// The comparisons that find a version worse.
    pub fn worse(&self) -> impl Iterator<Item = &ComparisonRow> {
        self.comparisons.iter().filter(|c| c.c.verdict == compare::Verdict::Worse)
    }
}
