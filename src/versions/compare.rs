//! Is a new version worse than the old one? Per function, over the comparison window (event time),
//! each version other than the baseline is compared with the baseline: the version with the most
//! calls in the window (the one carrying the traffic; `other` is never compared nor a baseline).
//! Every tracked version is a candidate, shown or folded (`super::Function::choose` is what the
//! outputs show, not what is judged): a version gaining or losing its row changes no verdict, and
//! each side is one real version's exact counts, never a mix.
//!
//! The test: one-sided Fisher's exact test on failed calls (failed / not failed × version / baseline):
//! given the failed calls of both, how likely is it that the version holds at least as many of them
//! as it does if both fail at the same rate? `evidence` = −log10 of that probability; a version is
//! `worse` when both have at least `min_calls` calls in the window, its failed-call ratio is above
//! the baseline's, and `evidence` ≥ `threshold`.
//!
//! Why this test: failures during a canary are rare events in a small sample, where the normal
//! approximation of a z-test is worst (with 100 calls at 1 %, a z-test calls 5 failures a 0.01 %
//! event; it happens 0.3 % of the time). The exact test needs no approximation at any size, is the
//! classical test for two proportions, and costs at most one term per failed call. `min_calls` keeps
//! a version with a handful of calls from paging at all; the threshold is set for the repeated looks
//! of an alert evaluated every minute over a rollout (`tests/it/rollout_sim.rs` measures both).

use super::{Function, OTHER, Slot, Versions};

/// The default comparison window (event time).
pub const DEFAULT_WINDOW_SECS: u64 = 900;
/// Calls each side needs in the window before it is judged.
pub const DEFAULT_MIN_CALLS: u64 = 100;
/// −log10 of the one-sided p-value at which a version is worse.
pub const DEFAULT_THRESHOLD: f64 = 4.0;
/// An id explains the difference when its own excess is at least this share of the whole.
const EXPLAINS: f64 = 2.0 / 3.0;

/// The test's settings (from the `RolloutVersionWorse` rule when there is one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    pub window_ms: i64,
    pub min_calls: u64,
    pub threshold: f64,
}

impl Default for Test {
    fn default() -> Self {
        Test {
            window_ms: DEFAULT_WINDOW_SECS as i64 * 1000,
            min_calls: DEFAULT_MIN_CALLS,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// The outcome of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// One side has fewer than `min_calls` calls in the window: not judged.
    TooFewCalls,
    NotWorse,
    Worse,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::TooFewCalls => "too_few_calls",
            Verdict::NotWorse => "not_worse",
            Verdict::Worse => "worse",
        }
    }
}

/// One version against its function's baseline, over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub function: String,
    pub version: String,
    pub baseline: String,
    pub calls: u64,
    pub failed: u64,
    pub baseline_calls: u64,
    pub baseline_failed: u64,
    /// −log10 of the one-sided p-value (0: no evidence the version is worse).
    pub evidence: f64,
    pub verdict: Verdict,
    /// The pattern index that explains the difference, when one does.
    pub pattern: Option<usize>,
}

impl Comparison {
    pub fn ratio(&self) -> f64 {
        ratio(self.failed, self.calls)
    }
    pub fn baseline_ratio(&self) -> f64 {
        ratio(self.baseline_failed, self.baseline_calls)
    }
}

pub fn ratio(failed: u64, calls: u64) -> f64 {
    if calls == 0 { 0.0 } else { failed as f64 / calls as f64 }
}

/// Every comparison at `now_ms`, function by function, in the order the functions were first seen.
pub fn compare_all(v: &Versions, now_ms: i64, test: &Test) -> Vec<Comparison> {
    v.functions.iter().flat_map(|f| compare_function(f, now_ms, test)).collect()
}

fn compare_function(f: &Function, now_ms: i64, test: &Test) -> Vec<Comparison> {
    let live: Vec<(&Slot, super::Counts)> = f
        .slots
        .iter()
        .filter(|s| s.name != OTHER)
        .map(|s| (s, s.over(now_ms, test.window_ms)))
        .filter(|(_, c)| c.calls > 0)
        .collect();
    if live.len() < 2 {
        return Vec::new();
    }
    // The baseline: most calls; of equals, the older.
    let Some(base) = live.iter().max_by_key(|(s, c)| (c.calls, std::cmp::Reverse(s.newness()))) else {
        return Vec::new();
    };
    live.iter()
        .filter(|(s, _)| s.name != base.0.name)
        .map(|(s, c)| {
            let b = &base.1;
            let enough = c.calls >= test.min_calls && b.calls >= test.min_calls;
            let higher = ratio(c.failed, c.calls) > ratio(b.failed, b.calls);
            let evidence = if enough && higher { evidence(c.failed, c.calls, b.failed, b.calls) } else { 0.0 };
            let verdict = match (enough, higher && evidence >= test.threshold) {
                (false, _) => Verdict::TooFewCalls,
                (true, false) => Verdict::NotWorse,
                (true, true) => Verdict::Worse,
            };
            Comparison {
                function: f.name.clone(),
                version: s.name.clone(),
                baseline: base.0.name.clone(),
                calls: c.calls,
                failed: c.failed,
                baseline_calls: b.calls,
                baseline_failed: b.failed,
                evidence,
                verdict,
                pattern: explaining(c, b),
            }
        })
        .collect()
}

/// The id whose excess ratio is at least `EXPLAINS` of the whole excess, if one is.
fn explaining(c: &super::Counts, b: &super::Counts) -> Option<usize> {
    let whole = ratio(c.failed, c.calls) - ratio(b.failed, b.calls);
    if whole <= 0.0 {
        return None;
    }
    let n = c.per_pattern.len().max(b.per_pattern.len());
    let at = |v: &[u64], p: usize| v.get(p).copied().unwrap_or(0);
    (0..n)
        .map(|p| (p, ratio(at(&c.per_pattern, p), c.calls) - ratio(at(&b.per_pattern, p), b.calls)))
        .filter(|(_, e)| *e >= EXPLAINS * whole)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| p)
}

/// −log10 P(X ≥ x1), X hypergeometric: `x1 + x0` failed calls among `n1 + n0` calls, `n1` drawn.
pub fn evidence(x1: u64, n1: u64, x0: u64, n0: u64) -> f64 {
    let (x1, n1, x0, n0) = (x1 as f64, n1 as f64, x0 as f64, n0 as f64);
    let (n, k) = (n1 + n0, x1 + x0);
    if x1 == 0.0 || k == 0.0 {
        return 0.0;
    }
    let ln_pmf = |x: f64| ln_choose(k, x) + ln_choose(n - k, n1 - x) - ln_choose(n, n1);
    // The tail as pmf(x1) × (1 + r1 + r1·r2 + …), each ratio from the last: no underflow however
    // small the probability.
    let top = k.min(n1);
    let (mut sum, mut term, mut x) = (1.0f64, 1.0f64, x1);
    while x < top {
        term *= (k - x) * (n1 - x) / ((x + 1.0) * (n - k - n1 + x + 1.0));
        sum += term;
        x += 1.0;
        if term < sum * 1e-17 {
            break;
        }
    }
    let ln_p = (ln_pmf(x1) + sum.ln()).min(0.0);
    (-ln_p / std::f64::consts::LN_10).max(0.0)
}

fn ln_choose(n: f64, k: f64) -> f64 {
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
}

/// ln Γ(x) for x ≥ 1 (Lanczos, g = 7, 9 terms: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30 {
            f *= n as f64;
            assert!((ln_gamma(n as f64 + 1.0) - f.ln()).abs() < 1e-9, "{n}");
        }
    }

    #[test]
    fn fisher_one_sided_matches_known_values() {
        // 3 of 3 failed against 0 of 3: P = 1/C(6,3) = 0.05.
        assert!((evidence(3, 3, 0, 3) - (20f64).log10()).abs() < 1e-9);
        // The tea-tasting table (3 of 4 against 1 of 4): P(X ≥ 3) = 17/70.
        assert!((evidence(3, 4, 1, 4) - (70.0f64 / 17.0).log10()).abs() < 1e-9);
        // Equal ratios give no evidence worth paging on; a large excess gives a lot.
        assert!(evidence(10, 1000, 90, 9000) < 0.5);
        assert!(evidence(70, 1000, 180, 9000) > 15.0);
        // Far in the tail, no underflow.
        assert!(evidence(900, 1000, 10, 100_000).is_finite());
    }

    fn versions(n1: u64, x1: u64, n0: u64, x0: u64) -> Versions {
        let t = 1_741_914_000_000;
        let mut v = Versions::new(2);
        for (name, n, x) in [("1", n0, x0), ("2", n1, x1)] {
            for i in 0..n {
                v.add_call(Some("f"), name, t + i as i64);
                if i < x {
                    v.add_failure(Some("f"), name, 1, true, t + i as i64);
                }
            }
        }
        v
    }

    #[test]
    fn small_samples_are_not_judged_and_the_baseline_carries_the_traffic() {
        let t = 1_741_914_000_000 + 60_000;
        let c = compare_all(&versions(50, 40, 5000, 50), t, &Test::default());
        assert_eq!((c[0].version.as_str(), c[0].baseline.as_str(), c[0].verdict), ("2", "1", Verdict::TooFewCalls));
        let c = compare_all(&versions(500, 60, 5000, 50), t, &Test::default());
        assert_eq!((c[0].verdict, c[0].pattern), (Verdict::Worse, Some(1)));
        let c = compare_all(&versions(500, 5, 5000, 50), t, &Test::default());
        assert_eq!(c[0].verdict, Verdict::NotWorse);
    }

    /// Whether a version has a row changes nothing judged: the worse canary, folded into `other` by
    /// busier versions (their calls before the window) and newer ones (each too small to be judged),
    /// is still compared, alone, with the same figures, against the same baseline.
    #[test]
    fn folding_a_version_changes_no_verdict() {
        let t = 1_741_914_000_000 + 60_000;
        let mut v = versions(500, 60, 5000, 50);
        let before = compare_all(&v, t, &Test::default());
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].verdict, Verdict::Worse);
        for n in 10..30 {
            let (calls, at) = if n < 13 { (6000, t - 30 * 60_000) } else { (n - 8, t - 1000) };
            for _ in 0..calls {
                v.add_call(Some("f"), &n.to_string(), at);
            }
        }
        let (shown, _) = v.get("f").unwrap().choose();
        assert!(!shown.iter().any(|s| s.name == "2"), "the canary is folded");
        let after = compare_all(&v, t, &Test::default());
        let canary = after.iter().find(|c| c.version == "2").unwrap();
        assert_eq!(canary, &before[0]);
        assert!(after.iter().all(|c| c.baseline == "1" && c.version != OTHER));
        assert!(after.iter().filter(|c| c.version != "2").all(|c| c.verdict == Verdict::TooFewCalls));
    }
}
