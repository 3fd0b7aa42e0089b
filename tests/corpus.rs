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
use authwatch::patterns::Catalogue;
use authwatch::record::FormatChoice;

struct Case {
    label: String,
    source: String,
    line: String,
}

fn corpus() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/corpus.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("corpus.jsonl:{}: {e}", i + 1));
            let field = |k: &str| {
                v[k].as_str().unwrap_or_else(|| panic!("corpus.jsonl:{}: no string {k:?}", i + 1)).to_string()
            };
            Case { label: field("label"), source: field("source"), line: field("line") }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    tp: usize,
    fp: usize,
    miss: usize,
}

/// Runs the corpus; returns the summary table and the number of wrong lines.
fn run(classifier: &Classifier, cases: &[Case]) -> (String, usize) {
    let cat = classifier.catalogue();
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    for p in cat.patterns() {
        tally.entry(p.id.clone()).or_default();
    }
    tally.entry("none".into()).or_default();
    let mut confused = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let got = classifier
            .classify(c.line.as_bytes())
            .and_then(|x| x.pattern)
            .map(|i| cat.get(i).id.clone())
            .unwrap_or_else(|| "none".to_string());
        assert!(tally.contains_key(&c.label), "corpus line {}: unknown label {:?}", i + 1, c.label);
        if got == c.label {
            tally.get_mut(&got).unwrap().tp += 1;
        } else {
            tally.get_mut(&got).unwrap().fp += 1;
            tally.get_mut(&c.label).unwrap().miss += 1;
            confused.push(format!(
                "  line {:>3}: want {:<24} got {:<24} [{}]\n      {}",
                i + 1,
                c.label,
                got,
                c.source,
                c.line
            ));
        }
    }
    let mut out = String::new();
    out.push_str(&format!(
        "{:<26} {:>5} {:>4} {:>4} {:>4} {:>9} {:>7}\n",
        "id", "lines", "tp", "fp", "miss", "precision", "recall"
    ));
    for (id, t) in &tally {
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        out.push_str(&format!(
            "{:<26} {:>5} {:>4} {:>4} {:>4} {:>9.3} {:>7.3}\n",
            id,
            t.tp + t.miss,
            t.tp,
            t.fp,
            t.miss,
            ratio(t.tp, t.tp + t.fp),
            ratio(t.tp, t.tp + t.miss)
        ));
    }
    let right = cases.len() - confused.len();
    out.push_str(&format!("accuracy: {right}/{} = {:.3}\n", cases.len(), right as f64 / cases.len() as f64));
    if !confused.is_empty() {
        out.push_str("confused lines:\n");
        out.push_str(&confused.join("\n"));
        out.push('\n');
    }
    (out, confused.len())
}

#[test]
fn corpus_is_big_enough_and_covers_every_id() {
    let cases = corpus();
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
    let cases = corpus();
    let dirs: Vec<PathBuf> = std::env::var_os("AUTHWATCH_CORPUS_PATTERNS").map(PathBuf::from).into_iter().collect();
    let measuring = !dirs.is_empty();
    let classifier = Classifier::new(Catalogue::load(&dirs, true).unwrap(), FormatChoice::Auto).unwrap();
    let (table, wrong) = run(&classifier, &cases);
    if measuring {
        println!("{table}");
        return;
    }
    assert_eq!(wrong, 0, "\n{table}");
}

/// The prefilter contract on real shapes: wherever a pattern's regex matches a corpus line's message,
/// one of its literals stands in the raw line (as is, or JSON `\uXXXX`-escaped when non-ASCII).
#[test]
fn every_regex_hit_holds_a_literal_of_its_pattern() {
    let cat = Catalogue::builtin().unwrap();
    let escaped = |lit: &str| -> Vec<String> {
        let mut out = vec![lit.to_string()];
        if !lit.is_ascii() {
            for upper in [false, true] {
                let mut s = String::new();
                for c in lit.chars() {
                    if c.is_ascii() {
                        s.push(c);
                    } else {
                        for unit in c.encode_utf16(&mut [0; 2]) {
                            s.push_str(&if upper { format!("\\u{unit:04X}") } else { format!("\\u{unit:04x}") });
                        }
                    }
                }
                out.push(s);
            }
        }
        out
    };
    let mut bad = Vec::new();
    for c in corpus() {
        let rec = authwatch::record::parse(c.line.as_bytes(), FormatChoice::Auto);
        for p in cat.patterns().iter().chain(cat.signals()) {
            let Some(r) = p.regex.iter().find(|r| r.is_match(&rec.message)) else { continue };
            let has = p.literals.iter().flat_map(|l| escaped(l)).any(|l| c.line.contains(&l));
            if !has {
                bad.push(format!("{}: /{}/ matched without a literal: {}", p.id, r.as_str(), c.line));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
