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
