//! `authwatch patterns test`: every pattern file's examples must classify as that pattern and its
//! near-misses must not, through the whole pipeline (format detection, prefilter, precedence), the way
//! `promtool test rules` runs rule files' own tests.

use crate::classify::Classifier;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    pub pattern: String,
    /// `example` or `near_miss`, with its index in the file.
    pub case: String,
    pub line: String,
    /// What the line classified as instead.
    pub got: String,
}

#[derive(Debug, Default)]
pub struct Report {
    /// (pattern id, origin, examples, near-misses) for each pattern.
    pub patterns: Vec<(String, String, usize, usize)>,
    pub passed: usize,
    pub failures: Vec<CaseFailure>,
}

pub fn run(classifier: &Classifier) -> Report {
    let catalogue = classifier.catalogue();
    let mut report = Report::default();
    let id_of = |line: &str, signal: bool| -> String {
        let c = classifier.classify(line.as_bytes());
        let found = if signal {
            c.and_then(|c| c.signal).map(|j| catalogue.signals()[j].id.clone())
        } else {
            c.and_then(|c| c.pattern).map(|i| catalogue.get(i).id.clone())
        };
        found.unwrap_or_else(|| "nothing".to_string())
    };
    for p in catalogue.patterns().iter().chain(catalogue.signals()) {
        let signal = p.kind == crate::patterns::Kind::Signal;
        report.patterns.push((p.id.clone(), p.origin.clone(), p.examples.len(), p.near_misses.len()));
        let mut fail = |case: String, line: &str, got: String| {
            report.failures.push(CaseFailure { pattern: p.id.clone(), case, line: line.to_string(), got });
        };
        if p.examples.is_empty() {
            fail("examples".into(), "", "a pattern needs at least one example".into());
        }
        if p.near_misses.is_empty() {
            fail("near_misses".into(), "", "a pattern needs at least one near-miss".into());
        }
        for (i, line) in p.examples.iter().enumerate() {
            let got = id_of(line, signal);
            if line.contains('\n') {
                fail(format!("examples[{i}]"), line, "an example must be one line".into());
            } else if got == p.id {
                report.passed += 1;
            } else {
                fail(format!("examples[{i}]"), line, got);
            }
        }
        for (i, line) in p.near_misses.iter().enumerate() {
            let got = id_of(line, signal);
            if got == p.id {
                fail(format!("near_misses[{i}]"), line, got);
            } else {
                report.passed += 1;
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::{Catalogue, Pattern};
    use crate::record::FormatChoice;

    #[test]
    fn builtin_patterns_pass_their_own_tests() {
        let c = Classifier::new(Catalogue::builtin().unwrap(), FormatChoice::Auto).unwrap();
        let r = run(&c);
        assert!(r.failures.is_empty(), "{:#?}", r.failures);
        assert!(r.passed >= 11 * 6);
    }

    #[test]
    fn a_wrong_example_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let text = crate::patterns::BUILTIN[2].1.replace(
            "'{ \"errcode\": 45011, \"errmsg\": \"api minute-quota reach limit\" }',",
            "'{ \"errcode\": 45012 }',",
        );
        assert!(Pattern::from_toml("x", &text).is_ok());
        std::fs::write(dir.path().join("q.toml"), text).unwrap();
        let c = Classifier::new(Catalogue::load(&[dir.path().into()], true).unwrap(), FormatChoice::Auto).unwrap();
        let r = run(&c);
        assert_eq!(r.failures.len(), 1, "{:#?}", r.failures);
        assert_eq!(r.failures[0].case, "examples[1]");
        assert_eq!(r.failures[0].got, "unlisted");
    }
}

/// `authwatch patterns test --corpus DIR`: labelled lines (`*.jsonl`, one `{"label","source","line"}`
/// object a line; label = a pattern id, `unlisted`, or `none`) scored through the whole classifier.
pub mod corpus {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    use std::path::Path;

    use crate::classify::Classifier;

    /// Every id must reach these on the corpus, or the run fails.
    pub const MIN_PRECISION: f64 = 0.98;
    pub const MIN_RECALL: f64 = 0.95;

    #[derive(Debug, thiserror::Error)]
    pub enum CorpusError {
        #[error("{path}: {source}")]
        Read { path: String, source: std::io::Error },
        #[error("{path}:{line}: {why}")]
        Line { path: String, line: usize, why: String },
        #[error("{0}: no *.jsonl corpus files")]
        Empty(String),
    }

    pub struct Case {
        pub label: String,
        pub source: String,
        pub line: String,
        /// Where it is: file:line.
        pub at: String,
    }

    #[derive(Debug, Default, Clone, Copy)]
    pub struct Score {
        pub tp: usize,
        pub fp: usize,
        pub miss: usize,
    }

    impl Score {
        pub fn precision(&self) -> f64 {
            if self.tp + self.fp == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fp) as f64 }
        }
        pub fn recall(&self) -> f64 {
            if self.tp + self.miss == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.miss) as f64 }
        }
    }

    pub struct Report {
        pub scores: BTreeMap<String, Score>,
        /// (case, what it classified as).
        pub confused: Vec<(Case, String)>,
        pub lines: usize,
    }

    impl Report {
        /// Ids below the thresholds (`none` is judged too: a near-miss taken for an error lowers the
        /// precision of that error's id, a missed error lowers its recall).
        pub fn failing(&self) -> Vec<&str> {
            self.scores
                .iter()
                .filter(|(_, s)| s.precision() < MIN_PRECISION || s.recall() < MIN_RECALL)
                .map(|(id, _)| id.as_str())
                .collect()
        }

        pub fn table(&self) -> String {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{:<26} {:>5} {:>4} {:>4} {:>4} {:>9} {:>7}",
                "ID", "LINES", "TP", "FP", "MISS", "PRECISION", "RECALL"
            );
            for (id, s) in &self.scores {
                let _ = writeln!(
                    out,
                    "{:<26} {:>5} {:>4} {:>4} {:>4} {:>9.3} {:>7.3}",
                    id,
                    s.tp + s.miss,
                    s.tp,
                    s.fp,
                    s.miss,
                    s.precision(),
                    s.recall()
                );
            }
            let right = self.lines - self.confused.len();
            let _ = writeln!(out, "{right} of {} lines classified as labelled", self.lines);
            for (c, got) in &self.confused {
                let _ = writeln!(out, "  {}: want {} got {} [{}]\n      {}", c.at, c.label, got, c.source, c.line);
            }
            out
        }
    }

    /// Reads every `*.jsonl` file of `dir` (sorted).
    pub fn load(dir: &Path) -> Result<Vec<Case>, CorpusError> {
        let shown = dir.display().to_string();
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| CorpusError::Read { path: p.display().to_string(), source: e })
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| CorpusError::Read { path: shown.clone(), source: e })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(CorpusError::Empty(shown));
        }
        let mut cases = Vec::new();
        for f in files {
            let name = f.display().to_string();
            for (i, l) in read(&f)?.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let bad = |why: String| CorpusError::Line { path: name.clone(), line: i + 1, why };
                let v: serde_json::Value = serde_json::from_str(l).map_err(|e| bad(e.to_string()))?;
                let field =
                    |k: &str| v[k].as_str().map(str::to_string).ok_or_else(|| bad(format!("{k}: a string is needed")));
                cases.push(Case {
                    label: field("label")?,
                    source: field("source")?,
                    line: field("line")?,
                    at: format!("{name}:{}", i + 1),
                });
            }
        }
        Ok(cases)
    }

    pub fn score(classifier: &Classifier, cases: Vec<Case>) -> Result<Report, CorpusError> {
        let cat = classifier.catalogue();
        let mut scores: BTreeMap<String, Score> =
            cat.patterns().iter().map(|p| (p.id.clone(), Score::default())).collect();
        scores.insert("none".into(), Score::default());
        let lines = cases.len();
        let mut confused = Vec::new();
        for c in cases {
            if !scores.contains_key(&c.label) {
                let (path, line) = c.at.rsplit_once(':').unwrap_or((&c.at, "0"));
                return Err(CorpusError::Line {
                    path: path.to_string(),
                    line: line.parse().unwrap_or(0),
                    why: format!("label: {:?} is no pattern id, `unlisted` or `none`", c.label),
                });
            }
            let got = classifier
                .classify(c.line.as_bytes())
                .and_then(|x| x.pattern)
                .map_or_else(|| "none".to_string(), |i| cat.get(i).id.clone());
            if got == c.label {
                scores.entry(got).or_default().tp += 1;
            } else {
                scores.entry(got.clone()).or_default().fp += 1;
                scores.entry(c.label.clone()).or_default().miss += 1;
                confused.push((c, got));
            }
        }
        Ok(Report { scores, confused, lines })
    }
}
