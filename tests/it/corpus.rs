//! The labelled corpus (`tests/corpus/corpus.jsonl`, written by `tests/corpus/gen.py`): every line
//! must classify as its label (a pattern id, `unlisted`, or `none`) through the whole classifier
//! (format detection, prefilter, quoted-source rule, precedence). On failure it prints, per id, true
//! positives, false positives, misses, precision and recall, and every confused line.
//!
//! `AUTHWATCH_CORPUS_PATTERNS=DIR` runs the corpus against the bundled patterns overridden by the
//! files of DIR (a copy of an older `patterns/` measures "before") and only prints the table.

use std::collections::BTreeMap;
use std::path::PathBuf;

use authwatch::classify::Classifier;
use authwatch::pattern_tests::corpus::{self, Case};
use authwatch::patterns::Catalogue;
use authwatch::record::FormatChoice;

use crate::common;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn cases() -> Vec<Case> {
    corpus::load(&corpus_dir()).unwrap()
}

#[test]
fn corpus_is_big_enough_and_covers_every_id() {
    let cases = cases();
    assert!(cases.len() >= 300, "{} lines", cases.len());
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &cases {
        *per.entry(&c.label).or_default() += 1;
        assert!(!c.source.is_empty() && !c.line.contains('\n'));
    }
    let cat = Catalogue::builtin().unwrap();
    for p in cat.patterns().iter().filter(|p| p.guide_error.is_some()) {
        assert!(per.get(p.id.as_str()).copied().unwrap_or(0) >= 15, "{}: {:?}", p.id, per.get(p.id.as_str()));
    }
    assert!(per["unlisted"] >= 30, "{per:?}");
    assert!(per["none"] >= 100, "{per:?}");
}

#[test]
fn every_corpus_line_classifies_as_labelled() {
    let dirs: Vec<PathBuf> = std::env::var_os("AUTHWATCH_CORPUS_PATTERNS").map(PathBuf::from).into_iter().collect();
    let measuring = !dirs.is_empty();
    let classifier = Classifier::new(Catalogue::load(&dirs, true).unwrap(), FormatChoice::Auto).unwrap();
    let report = corpus::score(&classifier, cases()).unwrap();
    if measuring {
        println!("{}", report.table());
        return;
    }
    assert!(report.confused.is_empty(), "\n{}", report.table());
}

/// The CI gate as a user runs it: `authwatch patterns test --corpus tests/corpus` passes, and a corpus
/// whose labels are wrong fails it, naming the ids below the thresholds.
#[test]
fn the_corpus_gate_passes_and_can_fail() {
    let o = common::run(&["patterns", "test", "--corpus", "tests/corpus"]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("PRECISION  RECALL") && out.contains("wx_45011_minute_quota"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let wrong: String = cases()
        .iter()
        .take(60)
        .map(|c| {
            let label = if c.label == "wx_45011_minute_quota" { "none" } else { c.label.as_str() };
            serde_json::json!({"label": label, "source": c.source, "line": c.line}).to_string() + "\n"
        })
        .collect::<String>()
        + &serde_json::json!({"label": "none", "source": "test", "line": r#"{"errcode":45011,"errmsg":"api minute-quota reach limit"}"#}).to_string();
    std::fs::write(dir.path().join("wrong.jsonl"), wrong).unwrap();
    let o = common::run(&["patterns", "test", "--corpus", dir.path().to_str().unwrap()]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("below 0.98 precision or 0.95 recall:") && out.contains("none"), "{out}");
    std::fs::write(dir.path().join("wrong.jsonl"), "{\"label\": \"nope\", \"source\": \"x\", \"line\": \"x\"}\n")
        .unwrap();
    let o = common::run(&["patterns", "test", "--corpus", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stdout(&o));
    assert!(common::stderr(&o).contains("wrong.jsonl:1: label"), "{}", common::stderr(&o));
}

/// The prefilter contract on real shapes: wherever a pattern's regex matches a corpus line's message,
/// one of its literals stands in the raw line (as is, or JSON `\uXXXX`-escaped when non-ASCII).
#[test]
fn every_regex_hit_holds_a_literal_of_its_pattern() {
    let cat = Catalogue::builtin().unwrap();
    let escaped = authwatch::classify::with_json_escapes;
    let mut bad = Vec::new();
    for c in cases() {
        let rec = authwatch::record::parse(c.line.as_bytes(), FormatChoice::Auto);
        for p in cat.patterns().iter().chain(cat.signals()) {
            let Some(r) = p.regex.parts().iter().find(|r| r.is_match(&rec.message)) else { continue };
            let has = p.literals.iter().flat_map(|l| escaped(l)).any(|l| c.line.contains(&l));
            if !has {
                bad.push(format!("{}: /{}/ matched without a literal: {}", p.id, r.as_str(), c.line));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
