//! The per-version counters of `/metrics`, advanced from the view's version rows
//! (`crate::versions::rows`): `authwatch_version_calls_total{function,version}`,
//! `authwatch_version_failed_calls_total{function,version,pattern}` and
//! `authwatch_version_calls_failed_total{function,version}` (calls that failed with any id, each once:
//! the numerator of the failed-call ratio, which a sum over `pattern` is not when a call shows two ids).
//!
//! What a series means: the calls (failed calls) of what its row stands for WHILE it stands for it.
//! The rows are chosen again at every view (the busiest and the newest, `crate::versions`), so a
//! version can gain or lose its row; a counter must never go backwards (Prometheus reads a decrease
//! as a reset and `rate()` spikes), so at each show:
//! - a shown version's series advances by that version's increase since the last show (the whole
//!   increase: calls it took while folded and until it was shown again stay in `other`'s series);
//! - `other`'s series advances by the function's increase less the shown versions' (the increase of
//!   the versions folded now and of the untracked remainder);
//! - a series whose row left the view is removed from the exposition and its value kept: shown
//!   again, it resumes from that value (never lower). Values of up to `REMEMBERED` hidden versions
//!   are kept (the least recently shown forgotten first); a forgotten one shown again starts at 0,
//!   which Prometheus reads as a reset.
//!
//! So every call is added to exactly one series, once: `sum by (function) (rate(...))` is the
//! function's call rate, whichever versions have rows. A series' value equals its row's figure until
//! the row's version is first folded (in a rollout of a few versions, always); after that the row
//! (`/api/v1/versions`, `check`) has the exact lifetime figure and the series the calls since it
//! began. Label values were cleaned where they were read (short, of a fixed alphabet): no line text
//! reaches a label.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use prometheus::{IntCounterVec, Opts, Registry};

use crate::versions::OTHER;
use crate::versions::rows::{VersionRow, VersionsView};

/// Hidden versions whose series values are kept (all functions together).
pub const REMEMBERED: usize = 1024;

/// Which figure of a row: calls, failed calls (any id), failed calls of one id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Figure {
    Calls,
    Failed,
    Id(String),
}

type Figures = HashMap<Figure, u64>;

fn figures(r: &VersionRow) -> Figures {
    let mut f: Figures = r.failed_calls.iter().map(|(id, n)| (Figure::Id(id.clone()), *n)).collect();
    f.insert(Figure::Calls, r.calls);
    f.insert(Figure::Failed, r.failed);
    f
}

/// `now − before`, figure by figure (a figure that went down, after a reload of the patterns,
/// adds nothing).
fn increase(now: &Figures, before: Option<&Figures>) -> Figures {
    now.iter()
        .map(|(k, n)| (k.clone(), n.saturating_sub(before.and_then(|b| b.get(k)).copied().unwrap_or(0))))
        .collect()
}

/// One function at the last show.
#[derive(Default)]
struct Last {
    /// The function's totals (the sum of its rows).
    total: Figures,
    /// Every tracked version, shown or folded: (`order`, figures).
    versions: HashMap<String, (u64, Figures)>,
}

#[derive(Default)]
struct State {
    last: HashMap<String, Last>,
    /// Every series' value, shown or hidden: (function, version) → figure → value.
    values: HashMap<(String, String), Figures>,
    /// The (function, version) pairs exposed now.
    shown: HashSet<(String, String)>,
    /// When each pair was last shown (the show's number), to forget the oldest hidden ones.
    seen_at: HashMap<(String, String), u64>,
    shows: u64,
}

pub struct VersionCounters {
    pub calls: IntCounterVec,
    pub failed: IntCounterVec,
    pub calls_failed: IntCounterVec,
    state: Mutex<State>,
}

impl VersionCounters {
    pub fn register(registry: &Registry, namespace: &str) -> Result<VersionCounters, prometheus::Error> {
        let calls = IntCounterVec::new(
            Opts::new(
                "version_calls_total",
                "Calls of a Cloud Function under a version while it has a row (folded versions count under other).",
            )
            .namespace(namespace),
            &["function", "version"],
        )?;
        let failed = IntCounterVec::new(
            Opts::new(
                "version_failed_calls_total",
                "Failed calls of a Cloud Function under a version while it has a row, by pattern id (each call once per id).",
            )
            .namespace(namespace),
            &["function", "version", "pattern"],
        )?;
        let calls_failed = IntCounterVec::new(
            Opts::new(
                "version_calls_failed_total",
                "Calls of a Cloud Function under a version while it has a row that failed with any pattern id (each call once).",
            )
            .namespace(namespace),
            &["function", "version"],
        )?;
        registry.register(Box::new(calls.clone()))?;
        registry.register(Box::new(failed.clone()))?;
        registry.register(Box::new(calls_failed.clone()))?;
        Ok(VersionCounters { calls, failed, calls_failed, state: Mutex::new(State::default()) })
    }

    /// Advances every series by what its row took since the last show (see the module doc).
    pub fn show(&self, v: &VersionsView) {
        let mut st = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        st.shows += 1;
        let shows = st.shows;
        let mut functions: Vec<&str> = Vec::new();
        for r in &v.rows {
            if !functions.contains(&r.function.as_str()) {
                functions.push(&r.function);
            }
        }
        let mut want: HashSet<(String, String)> = HashSet::new();
        for f in functions {
            let rows: Vec<&VersionRow> = v.rows.iter().filter(|r| r.function == f).collect();
            let mut total = Figures::new();
            for r in &rows {
                for (k, n) in figures(r) {
                    *total.entry(k).or_default() += n;
                }
            }
            let last = st.last.remove(f).unwrap_or_default();
            let mut rest = increase(&total, Some(&last.total));
            let mut adds: Vec<(String, Figures)> = Vec::new();
            for r in rows.iter().filter(|r| r.version != OTHER) {
                let before = last.versions.get(&r.version).filter(|(o, _)| *o == r.order).map(|(_, f)| f);
                let up = increase(&figures(r), before);
                for (k, n) in &up {
                    if let Some(x) = rest.get_mut(k) {
                        *x = x.saturating_sub(*n);
                    }
                }
                adds.push((r.version.clone(), up));
            }
            if rows.iter().any(|r| r.version == OTHER) {
                adds.push((OTHER.to_string(), rest));
            }
            for (version, up) in adds {
                let key = (f.to_string(), version);
                let value = st.values.entry(key.clone()).or_default();
                for (k, n) in up {
                    *value.entry(k).or_default() += n;
                }
                st.seen_at.insert(key.clone(), shows);
                want.insert(key);
            }
            let versions = rows
                .iter()
                .copied()
                .chain(v.folded.iter().filter(|r| r.function == f))
                .filter(|r| r.version != OTHER)
                .map(|r| (r.version.clone(), (r.order, figures(r))))
                .collect();
            st.last.insert(f.to_string(), Last { total, versions });
        }
        // A function no longer in the view (none is ever removed today) starts over if it comes back.
        st.last.retain(|f, _| v.rows.iter().any(|r| &r.function == f));
        for gone in st.shown.difference(&want) {
            let values = st.values.get(gone).cloned().unwrap_or_default();
            for k in values.keys().chain([&Figure::Calls, &Figure::Failed]) {
                let _ = self.remove(gone, k);
            }
        }
        for key in &want {
            let Some(values) = st.values.get(key) else { continue };
            for k in [Figure::Calls, Figure::Failed].iter().chain(values.keys()) {
                let n = values.get(k).copied().unwrap_or(0);
                // The pattern series of an id with no failed call in this row's time is not shown.
                if matches!(k, Figure::Id(_)) && n == 0 {
                    continue;
                }
                self.set(key, k, n);
            }
        }
        st.shown = want;
        // Forget the least recently shown hidden versions past the bound.
        let hidden = st.values.len().saturating_sub(st.shown.len());
        if hidden > REMEMBERED {
            let mut old: Vec<((String, String), u64)> =
                st.seen_at.iter().filter(|(k, _)| !st.shown.contains(*k)).map(|(k, t)| (k.clone(), *t)).collect();
            old.sort_by_key(|(_, t)| *t);
            for (k, _) in old.into_iter().take(hidden - REMEMBERED) {
                st.values.remove(&k);
                st.seen_at.remove(&k);
            }
        }
    }

    fn labels<'a>(key: &'a (String, String), k: &'a Figure) -> Vec<&'a str> {
        match k {
            Figure::Id(id) => vec![key.0.as_str(), key.1.as_str(), id.as_str()],
            _ => vec![key.0.as_str(), key.1.as_str()],
        }
    }

    fn vec_of(&self, k: &Figure) -> &IntCounterVec {
        match k {
            Figure::Calls => &self.calls,
            Figure::Failed => &self.calls_failed,
            Figure::Id(_) => &self.failed,
        }
    }

    fn remove(&self, key: &(String, String), k: &Figure) -> Result<(), prometheus::Error> {
        self.vec_of(k).remove_label_values(&Self::labels(key, k))
    }

    /// Brings the series to `n` (never lower: `n` only grows, see `show`).
    fn set(&self, key: &(String, String), k: &Figure, n: u64) {
        let c = self.vec_of(k).with_label_values(&Self::labels(key, k));
        c.inc_by(n.saturating_sub(c.get()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::Versions;
    use crate::versions::compare::Test;

    /// Versions come and go for ever (each newest in turn): the values kept for hidden series stay
    /// bounded, and the exposition has at most 8 series per function.
    #[test]
    fn hidden_values_are_bounded() {
        let registry = Registry::new();
        let c = VersionCounters::register(&registry, "authwatch").unwrap();
        let mut v = Versions::new(1);
        for n in 1..=3000u64 {
            v.add_call(Some("f"), &n.to_string(), 1_741_914_000_000);
            c.show(&VersionsView::build(&v, &["a".to_string()], 1_741_914_000_000, Test::default()));
        }
        let st = c.state.lock().unwrap();
        assert!(st.values.len() <= REMEMBERED + st.shown.len(), "{}", st.values.len());
        assert!(st.shown.len() <= crate::versions::MAX_VERSIONS);
        assert_eq!(c.calls.with_label_values(&["f", "3000"]).get(), 1);
    }
}
