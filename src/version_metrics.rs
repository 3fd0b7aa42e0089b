//! The per-version counters of `/metrics`, set from the view's version rows (`crate::versions::rows`),
//! so they say what every other output says: `authwatch_version_calls_total{function,version}` and
//! `authwatch_version_failed_calls_total{function,version,pattern}`, and
//! `authwatch_version_calls_failed_total{function,version}` (calls that failed with any id, each once:
//! the numerator of the failed-call ratio, which a sum over `pattern` is not when a call shows two ids).
//!
//! Counters in a view: each show raises a series by what the view added since the last show. A
//! version folded into `other` (the bound, `crate::versions`) leaves the view: its series are removed
//! and its counts go on in `other`'s, so a sum over versions never counts a call twice (a removed
//! series reads, to Prometheus, as one that ended). Label values were cleaned where they were read
//! (short, of a fixed alphabet): no line text reaches a label.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus::{IntCounterVec, Opts, Registry};

use crate::versions::rows::VersionsView;

pub struct VersionCounters {
    pub calls: IntCounterVec,
    pub failed: IntCounterVec,
    pub calls_failed: IntCounterVec,
    /// Every series shown, with the value it was last set to.
    shown: Mutex<HashMap<Vec<String>, u64>>,
}

impl VersionCounters {
    pub fn register(registry: &Registry, namespace: &str) -> Result<VersionCounters, prometheus::Error> {
        let calls = IntCounterVec::new(
            Opts::new("version_calls_total", "Calls of a Cloud Function under a version (each call once).")
                .namespace(namespace),
            &["function", "version"],
        )?;
        let failed = IntCounterVec::new(
            Opts::new(
                "version_failed_calls_total",
                "Failed calls of a Cloud Function under a version, by pattern id (each call once per id).",
            )
            .namespace(namespace),
            &["function", "version", "pattern"],
        )?;
        let calls_failed = IntCounterVec::new(
            Opts::new(
                "version_calls_failed_total",
                "Calls of a Cloud Function under a version that failed with any pattern id (each call once).",
            )
            .namespace(namespace),
            &["function", "version"],
        )?;
        registry.register(Box::new(calls.clone()))?;
        registry.register(Box::new(failed.clone()))?;
        registry.register(Box::new(calls_failed.clone()))?;
        Ok(VersionCounters { calls, failed, calls_failed, shown: Mutex::new(HashMap::new()) })
    }

    /// Brings every series to the view's figure; series of versions no longer in it are removed.
    pub fn show(&self, v: &VersionsView) {
        let mut want: HashMap<Vec<String>, u64> = HashMap::new();
        for r in &v.rows {
            want.insert(vec![r.function.clone(), r.version.clone()], r.calls);
            // The third label value tells the vectors apart; "" is no pattern id.
            want.insert(vec![r.function.clone(), r.version.clone(), String::new()], r.failed);
            for (id, n) in &r.failed_calls {
                want.insert(vec![r.function.clone(), r.version.clone(), id.clone()], *n);
            }
        }
        let mut shown = match self.shown.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let vec_of = |k: &Vec<String>| match (k.len(), k.get(2).is_some_and(String::is_empty)) {
            (2, _) => &self.calls,
            (_, true) => &self.calls_failed,
            _ => &self.failed,
        };
        let labels_of = |k: &Vec<String>| -> Vec<String> { k.iter().filter(|l| !l.is_empty()).cloned().collect() };
        for gone in shown.keys().filter(|k| !want.contains_key(*k)).cloned().collect::<Vec<_>>() {
            let owned = labels_of(&gone);
            let labels: Vec<&str> = owned.iter().map(String::as_str).collect();
            let _ = vec_of(&gone).remove_label_values(&labels);
            shown.remove(&gone);
        }
        for (k, n) in want {
            let owned = labels_of(&k);
            let labels: Vec<&str> = owned.iter().map(String::as_str).collect();
            let before = shown.get(&k).copied().unwrap_or(0);
            if n < before {
                // The state restarted lower (a reload of history): begin the series again.
                let _ = vec_of(&k).remove_label_values(&labels);
            }
            let c = vec_of(&k).with_label_values(&labels);
            c.inc_by(n.saturating_sub(c.get()));
            shown.insert(k, n);
        }
    }
}
