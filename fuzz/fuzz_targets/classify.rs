//! The classifier and the line scanner on arbitrary input: no panics, the literal prefilter never
//! hides a line the full classification would match, and every line of a block is counted once.
#![no_main]

use std::sync::OnceLock;

use authwatch::classify::Classifier;
use authwatch::patterns::Catalogue;
use authwatch::record::FormatChoice;
use libfuzzer_sys::fuzz_target;

fn classifier() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(|| {
        let catalogue = Catalogue::builtin().expect("built-in patterns load");
        Classifier::new(catalogue, FormatChoice::Auto).expect("built-in patterns compile")
    })
}

fuzz_target!(|data: &[u8]| {
    let c = classifier();
    let find = |h: &[u8], from: usize| c.next_candidate(h, from);
    let mut block = data.to_vec();
    block.push(b'\n');
    let mut seen = 0u64;
    let mut splitter = authwatch::lines::Splitter::new(64);
    let split = splitter.split(&block, true, &find, &mut |_: u64, line: &[u8], _: bool| {
        seen += 1;
        assert!(line.len() <= 64, "a line longer than the cap reached the classifier");
        let _ = c.classify_as(line, FormatChoice::Auto);
    });
    let lines = split.lines;
    assert_eq!(split.consumed, block.len(), "the whole block is used");
    assert_eq!(lines, memchr_count(&block), "lines counted != newlines");
    assert!(seen <= lines);
    for line in data.split(|b| *b == b'\n') {
        for format in [FormatChoice::Auto, FormatChoice::Cls, FormatChoice::Realtime] {
            if let Some(hit) = c.classify_as(line, format) {
                if hit.pattern.is_some() || hit.signal.is_some() {
                    assert!(c.next_candidate(line, 0).is_some(), "prefilter missed a matching line");
                }
            }
        }
    }
});

fn memchr_count(b: &[u8]) -> u64 {
    b.iter().filter(|c| **c == b'\n').count() as u64
}
