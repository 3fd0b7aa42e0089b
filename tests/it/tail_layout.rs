//! The follower's rooms (`src/tail/`): no file over 600 lines, and no two rooms that import each
//! other, directly or around a circle. `mod.rs` may name only the leaves; the rooms that extend
//! `Tailer` import `mod.rs` and the leaves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const MAX_LINES: usize = 600;

/// Room → rooms it names (`super::x`, `use super::{x, …}`, `x::` from `mod.rs`), tests left out.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tail");
    let mut rooms = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = text.lines().count();
            assert!(lines <= MAX_LINES, "{} has {lines} lines (at most {MAX_LINES})", path.display());
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            rooms.insert(name, code);
        }
    }
    let names: BTreeSet<String> = rooms.keys().cloned().collect();
    let word = |s: &str| s.trim_matches(|c: char| !c.is_alphanumeric() && c != '_').to_string();
    let mut graph = BTreeMap::new();
    for (name, code) in &rooms {
        let mut deps = BTreeSet::new();
        if name == "mod" {
            for other in names.iter().filter(|n| *n != "mod") {
                if code.contains(&format!("{other}::")) {
                    deps.insert(other.clone());
                }
            }
        } else {
            for part in code.split("super::").skip(1) {
                // `super::x::…`, `super::X` (an item of mod.rs) or `super::{x, X, …}`.
                let list = if let Some(rest) = part.strip_prefix('{') {
                    rest.split('}').next().unwrap_or("")
                } else {
                    part.split([';', ':', ',', ' ', '\n', '(']).next().unwrap_or("")
                };
                for item in list.split(',') {
                    let first = word(item.split("::").next().unwrap_or(""));
                    if first.is_empty() || first == "self" {
                        continue;
                    }
                    deps.insert(if names.contains(&first) { first } else { "mod".to_string() });
                }
            }
            deps.remove(name);
        }
        graph.insert(name.clone(), deps);
    }
    graph
}

#[test]
fn no_room_over_600_lines_and_no_import_circle() {
    let graph = imports();
    assert!(graph.len() >= 8, "the follower is split into rooms: {:?}", graph.keys());
    // A circle exists iff a depth-first walk meets a room still on its path.
    fn walk<'a>(
        g: &'a BTreeMap<String, BTreeSet<String>>,
        at: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(i) = path.iter().position(|p| *p == at) {
            panic!("import circle: {}", path[i..].iter().chain([&at]).copied().collect::<Vec<_>>().join(" -> "));
        }
        if !done.insert(at) {
            return;
        }
        path.push(at);
        for next in g.get(at).into_iter().flatten() {
            walk(g, next, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for room in graph.keys() {
        walk(&graph, room, &mut Vec::new(), &mut done);
    }
    // mod.rs names no room that extends Tailer.
    for extends in ["discovery", "identify", "copies", "reading", "checkpointer"] {
        assert!(!graph["mod"].contains(extends), "mod.rs imports {extends}, which imports mod.rs");
        assert!(graph[extends].contains("mod"), "{extends} is expected to extend Tailer");
    }
}
