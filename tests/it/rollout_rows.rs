//! Which versions have rows is decided at every read, on the counts as they are then (issue 22's
//! bound: "the newest and the busiest"), and `/metrics` follows without a counter going backwards:
//!
//! - the user trial: 30 versions, many canaries tried first and the production version (an older
//!   number) seen late: it gets its own row with its exact counts; a version folded early that
//!   becomes the busiest is shown again with every call it had;
//! - at every read the rows add up to the function's totals and name exactly the 3 busiest, then
//!   the newest (a model of the rule, written again here);
//! - across a sequence of shows, while versions are promoted and folded, no counter decreases
//!   (a series hidden and shown again resumes where it stopped) and the series' increases add up to
//!   the function's increase (each call in one series, once: `sum by (function) (rate(...))` is
//!   the function's rate). Random sequences from the fixed committed seed (`common::seeds`).

use std::collections::{BTreeMap, HashMap};

use authwatch::version_metrics::VersionCounters;
use authwatch::versions::compare::Test;
use authwatch::versions::rows::VersionsView;
use authwatch::versions::{KEEP_BUSIEST, MAX_VERSIONS, OTHER, Versions};
use proptest::prelude::*;
use serde_json::Value;

use crate::common;
use crate::common::daemon::*;
use crate::common::forms::{Call, Outcome, cls_json_as};

const T0: i64 = 1_741_914_000_000;
const IDS: [&str; 3] = ["a", "b", "c"];

/// Per version: calls, failed (any id), per id.
#[derive(Debug, Clone, Default, PartialEq)]
struct Truth {
    calls: u64,
    failed: u64,
    ids: BTreeMap<String, u64>,
}

/// One batch: (version number, calls, failed calls, id of the failures).
type Batch = Vec<(u32, u64, u64, usize)>;

fn apply(v: &mut Versions, truth: &mut BTreeMap<u32, Truth>, batch: &Batch, t: i64) {
    for &(n, calls, failed, id) in batch {
        let name = n.to_string();
        for i in 0..calls {
            v.add_call(Some("f"), &name, t);
            if i < failed {
                v.add_failure(Some("f"), &name, id, true, t);
            }
        }
        let e = truth.entry(n).or_default();
        e.calls += calls;
        e.failed += failed.min(calls);
        if failed.min(calls) > 0 {
            *e.ids.entry(IDS[id].to_string()).or_default() += failed.min(calls);
        }
    }
}

/// The rule, again: the `KEEP_BUSIEST` busiest (of equal calls the newer), then the newest.
fn model_shown(truth: &BTreeMap<u32, Truth>) -> Vec<String> {
    let mut all: Vec<(u32, u64)> = truth.iter().map(|(n, t)| (*n, t.calls)).collect();
    if all.len() < MAX_VERSIONS {
        return all.iter().map(|(n, _)| n.to_string()).collect();
    }
    all.sort_by_key(|(n, c)| (std::cmp::Reverse(*c), std::cmp::Reverse(*n)));
    let mut shown: Vec<u32> = all.iter().take(KEEP_BUSIEST).map(|(n, _)| *n).collect();
    let mut rest: Vec<u32> = all.iter().skip(KEEP_BUSIEST).map(|(n, _)| *n).collect();
    rest.sort_by_key(|n| std::cmp::Reverse(*n));
    shown.extend(rest.into_iter().take(MAX_VERSIONS - 1 - KEEP_BUSIEST));
    shown.iter().map(u32::to_string).collect()
}

/// Every series of the three version counters: (metric, labels) → value.
fn scrape(r: &prometheus::Registry) -> BTreeMap<(String, Vec<(String, String)>), u64> {
    let mut out = BTreeMap::new();
    for fam in r.gather() {
        for m in fam.get_metric() {
            let labels = m.get_label().iter().map(|l| (l.name().to_string(), l.value().to_string())).collect();
            out.insert((fam.name().to_string(), labels), m.get_counter().get_value() as u64);
        }
    }
    out
}

/// Runs `batches` through the state, the view and the counters, checking every read.
fn run(batches: &[Batch], exact: bool) -> Result<(), TestCaseError> {
    let ids: Vec<String> = IDS.iter().map(|s| s.to_string()).collect();
    let mut v = Versions::new(IDS.len());
    let mut truth: BTreeMap<u32, Truth> = BTreeMap::new();
    let registry = prometheus::Registry::new();
    let counters = VersionCounters::register(&registry, "authwatch").unwrap();
    // Every series' last value seen, shown or hidden since.
    let mut last: BTreeMap<(String, Vec<(String, String)>), u64> = BTreeMap::new();
    let mut total_before = Truth::default();
    for (step, batch) in batches.iter().enumerate() {
        let t = T0 + step as i64 * 60_000;
        apply(&mut v, &mut truth, batch, t);
        let view = VersionsView::build(&v, &ids, t + 59_999, Test::default());
        let rows: Vec<_> = view.rows.iter().filter(|r| r.function == "f").collect();
        prop_assert!(rows.len() <= MAX_VERSIONS, "step {}: {} rows", step, rows.len());
        // The rows add up to the function's totals.
        let mut total = Truth::default();
        for t in truth.values() {
            total.calls += t.calls;
            total.failed += t.failed;
            for (id, n) in &t.ids {
                *total.ids.entry(id.clone()).or_default() += n;
            }
        }
        let mut sum = Truth::default();
        for r in &rows {
            sum.calls += r.calls;
            sum.failed += r.failed;
            for (id, n) in &r.failed_calls {
                *sum.ids.entry(id.clone()).or_default() += n;
            }
        }
        prop_assert_eq!(&sum, &total, "step {}: the rows do not add up", step);
        if exact {
            // Exactly the busiest, then the newest, each with its own exact figures.
            let mut named: Vec<String> =
                rows.iter().filter(|r| r.version != OTHER).map(|r| r.version.clone()).collect();
            let mut want = model_shown(&truth);
            named.sort();
            want.sort();
            prop_assert_eq!(&named, &want, "step {}", step);
            for r in rows.iter().filter(|r| r.version != OTHER) {
                let t = &truth[&r.version.parse::<u32>().unwrap()];
                let got = Truth { calls: r.calls, failed: r.failed, ids: r.failed_calls.iter().cloned().collect() };
                prop_assert_eq!(&got, t, "step {} version {}", step, r.version);
            }
        }
        // The counters: none goes back; the increases add up to the function's.
        counters.show(&view);
        let now = scrape(&registry);
        let mut up: HashMap<String, u64> = HashMap::new();
        for (k, n) in &now {
            let before = last.get(k).copied().unwrap_or(0);
            prop_assert!(*n >= before, "step {}: {:?} went from {} to {}", step, k, before, n);
            *up.entry(k.0.clone()).or_default() += n - before;
            last.insert(k.clone(), *n);
        }
        let failed_ids = |t: &Truth| t.ids.values().sum::<u64>();
        prop_assert_eq!(
            up.get("authwatch_version_calls_total").copied().unwrap_or(0),
            total.calls - total_before.calls
        );
        prop_assert_eq!(
            up.get("authwatch_version_calls_failed_total").copied().unwrap_or(0),
            total.failed - total_before.failed
        );
        prop_assert_eq!(
            up.get("authwatch_version_failed_calls_total").copied().unwrap_or(0),
            failed_ids(&total) - failed_ids(&total_before)
        );
        // Bounded: at most 8 series per function and counter.
        let calls_series = now.keys().filter(|k| k.0 == "authwatch_version_calls_total").count();
        prop_assert!(calls_series <= MAX_VERSIONS, "step {}: {} series", step, calls_series);
        total_before = total;
    }
    Ok(())
}

/// Batches over `versions` names where the traffic moves: each batch favours a few versions.
fn batches(versions: u32, steps: usize) -> impl Strategy<Value = Vec<Batch>> {
    let one = (1..=versions, 1u64..60, 0u64..8, 0usize..IDS.len());
    prop::collection::vec(prop::collection::vec(one, 1..12), steps)
}

proptest! {
    #![proptest_config(common::seeds::fixed(64, "tests/version_rows.proptest-regressions"))]

    /// 30 versions (all tracked): every read shows exactly the model's choice with exact figures.
    #[test]
    fn every_read_shows_the_busiest_and_the_newest_and_counters_never_go_back(b in batches(30, 40)) {
        run(&b, true)?;
    }

    /// 120 versions (past the tracking bound): the rows still add up and no counter goes back.
    #[test]
    fn past_the_tracking_bound_rows_add_up_and_counters_never_go_back(b in batches(120, 40)) {
        run(&b, false)?;
    }
}

/// The user trial, written out: versions 10..=38 tried as canaries (a few calls each), then the
/// production version 3 seen late and busy, then version 12 (folded early) taking a few calls while
/// folded (`other` grows by them), then most calls: shown again, `other`'s row goes down, its
/// series must not.
fn trial() -> Vec<Batch> {
    let canaries: Batch = (10..=38).map(|n| (n, 2 + u64::from(n % 3), u64::from(n % 2), 0)).collect();
    vec![canaries, vec![(3, 40, 1, 1)], vec![(3, 60, 2, 1), (38, 1, 0, 0)], vec![(12, 2, 1, 2)], vec![(12, 500, 7, 2)]]
}

#[test]
fn the_user_trial_shows_the_late_production_version_and_the_folded_one_that_became_busiest() {
    run(&trial(), true).unwrap();
    let ids: Vec<String> = IDS.iter().map(|s| s.to_string()).collect();
    let mut v = Versions::new(IDS.len());
    let mut truth = BTreeMap::new();
    let mut shown_at = Vec::new();
    for (step, b) in trial().iter().enumerate() {
        apply(&mut v, &mut truth, b, T0 + step as i64 * 60_000);
        let view = VersionsView::build(&v, &ids, T0 + step as i64 * 60_000 + 59_999, Test::default());
        shown_at.push(view.rows.iter().map(|r| (r.version.clone(), r.calls)).collect::<Vec<_>>());
    }
    let has = |step: usize, version: &str| shown_at[step].iter().find(|(v, _)| v == version).map(|(_, c)| *c);
    assert_eq!(has(1, "3"), Some(40), "{:?}", shown_at[1]);
    assert_eq!(has(2, "3"), Some(100));
    assert_eq!(has(2, "12"), None, "12 is folded before it is busy: {:?}", shown_at[2]);
    assert_eq!(has(3, "12"), None, "still folded: {:?}", shown_at[3]);
    assert_eq!(has(4, "12"), Some(504), "shown again with its early calls: {:?}", shown_at[4]);
    let other = |step: usize| has(step, OTHER).unwrap();
    assert!(other(4) < other(3), "the row of other goes down when 12 leaves it");
}

/// The same trial through the daemon (CLS JSON appended batch by batch, `/metrics` and the API read
/// after each) and through `check`: the late busy version has its row with its exact calls in every
/// form, the rows add up, and no counter of `/metrics` goes back.
#[test]
fn the_user_trial_through_the_daemon_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let file = logs.join("export.jsonl");
    std::fs::write(&file, b"").unwrap();
    let d = Daemon::in_process(&[file.to_str().unwrap()], None, &dir.path().join("state"), 1_765_000_000_000);
    let mut n = 0i64;
    let mut truth: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut last: HashMap<String, f64> = HashMap::new();
    let mut everything = Vec::new();
    for (step, batch) in trial().iter().enumerate() {
        let mut calls: Vec<(Call, String)> = Vec::new();
        for &(version, k, failed, _) in batch {
            for i in 0..k {
                n += 1;
                let fail = i < failed;
                calls.push((
                    Call {
                        request_id: format!("{n:08x}-0a1b-4c2d-9e3f-{n:012x}"),
                        function: "orderPay".into(),
                        start_ms: T0 + step as i64 * 60_000 + n * 20,
                        duration_ms: 10,
                        outcome: if fail { Outcome::Returned { errcode: 45011 } } else { Outcome::Ok },
                    },
                    version.to_string(),
                ));
                let e = truth.entry(version.to_string()).or_default();
                e.0 += 1;
                e.1 += u64::from(fail);
            }
        }
        let map: HashMap<String, String> = calls.iter().map(|(c, v)| (c.request_id.clone(), v.clone())).collect();
        let plain: Vec<Call> = calls.iter().map(|(c, _)| c.clone()).collect();
        let bytes = cls_json_as(&plain, &|c: &Call| map[&c.request_id].clone());
        append(&file, &bytes);
        everything.extend(bytes);
        let want: u64 = truth.values().map(|t| t.0).sum();
        let mut api = Value::Null;
        wait_until("every call in the rows", || {
            d.advance(500);
            api = serde_json::from_str(&d.get("/api/v1/versions").1).unwrap();
            let rows = api["data"]["versions"].as_array().unwrap();
            rows.iter().map(|r| r["calls"].as_u64().unwrap()).sum::<u64>() == want
        });
        let rows = api["data"]["versions"].as_array().unwrap();
        assert!(rows.len() <= MAX_VERSIONS, "{rows:#?}");
        let row = |v: &str| {
            rows.iter()
                .find(|r| r["version"] == v)
                .map(|r| (r["calls"].as_u64().unwrap(), r["failed"].as_u64().unwrap()))
        };
        if step >= 1 {
            assert_eq!(row("3"), Some(truth["3"]), "step {step}: {rows:#?}");
        }
        if step == 4 {
            assert_eq!(row("12"), Some(truth["12"]), "{rows:#?}");
        }
        let text = d.metrics();
        for l in text.lines().filter(|l| l.starts_with("authwatch_version_")) {
            let (k, val) = l.rsplit_once(' ').unwrap();
            let val: f64 = val.parse().unwrap();
            let before = last.insert(k.to_string(), val).unwrap_or(0.0);
            assert!(val >= before, "step {step}: {k} went from {before} to {val}");
        }
        if step == 4 {
            crate::common::promtool_check(&text, "the_user_trial_through_the_daemon_and_check");
        }
    }
    d.stop();
    // check: the same rows from the whole export.
    let whole = dir.path().join("whole.jsonl");
    std::fs::write(&whole, &everything).unwrap();
    let o = common::run(&["check", "--output", "json", whole.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = j["versions"].as_array().unwrap();
    assert!(rows.len() <= MAX_VERSIONS);
    for v in ["3", "12"] {
        let r = rows.iter().find(|r| r["version"] == v).unwrap_or_else(|| panic!("{v} in {rows:#?}"));
        assert_eq!((r["calls"].as_u64().unwrap(), r["failed"].as_u64().unwrap()), truth[v], "{v}");
    }
    let all: u64 = truth.values().map(|t| t.0).sum();
    assert_eq!(rows.iter().map(|r| r["calls"].as_u64().unwrap()).sum::<u64>(), all);
}
