//! The walls of `src/`: no import circle anywhere. Every file is a node (`src/x.rs` is `x`,
//! `src/d/mod.rs` is `d`, `src/d/y.rs` is `d::y`; `lib.rs` and `main.rs` only declare and are left out).
//! A file imports another when its code (comments and `#[cfg(test)]` modules left out) names it:
//! `crate::a::b::…` resolves to the longest path that is a file, `super::x` to the sibling file `x` or
//! else the parent, a module imported by name (`use crate::formats;`) and then named (`formats::cls_csv::X`)
//! resolves the same way, and a `mod.rs` naming `child::…` imports that child. Two files that import each
//! other, directly or around a loop, are a circle, and the test names it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path of every file under `dir` (`prefix` being its own module path) → its source.
fn files(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let join = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}::{name}") };
        if path.is_dir() {
            files(&path, &join(&stem), out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            if prefix.is_empty() && (stem == "lib" || stem == "main") {
                continue;
            }
            let name = if stem == "mod" { prefix.to_string() } else { join(&stem) };
            out.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The code of a file as the graph sees it: before its first `#[cfg(test)]`, comments dropped.
fn code(text: &str) -> String {
    let before_tests = text.split("#[cfg(test)]").next().unwrap_or("");
    before_tests
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Path segments following `at` in `s` (`a::b::{c, d}` gives `[a, b]`, the list ends it).
fn segments(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if word.is_empty() {
            break;
        }
        rest = &rest[word.len()..];
        out.push(word);
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    out
}

/// Items listed in a `{…}` right after `prefix::` (each item's first segment).
fn listed(s: &str) -> Vec<Vec<String>> {
    let Some(inner) = s.strip_prefix('{') else { return vec![segments(s)] };
    let inner = inner.split('}').next().unwrap_or("");
    inner.split(',').map(|i| segments(i.trim())).filter(|v| !v.is_empty()).collect()
}

/// File → the files it imports.
pub fn graph(sources: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let nodes: BTreeSet<&str> = sources.keys().map(String::as_str).collect();
    // The longest prefix of `path` that is a file.
    let resolve = |path: &[String]| -> Option<String> {
        (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|p| nodes.contains(p.as_str()))
    };
    let mut g = BTreeMap::new();
    for (name, text) in sources {
        let code = code(text);
        let parent: Vec<String> = name.split("::").map(str::to_string).collect();
        let mut deps = BTreeSet::new();
        // Modules imported by name (`use crate::formats;`, `use crate::record::{self, …}`): their short
        // name → their path, so `formats::cls_csv::X` later in the file is an import of that file too.
        let mut aliases: Vec<(String, Vec<String>)> = Vec::new();
        for part in code.split("crate::").skip(1) {
            let head = segments(part);
            let base_len = head.len();
            // `crate::a::{b, c}`: each listed item under `a`.
            let after = part.splitn(base_len + 1, "::").last().unwrap_or("");
            let items = if after.starts_with('{') { listed(after) } else { vec![Vec::new()] };
            for item in items {
                let is_self = item == ["self"];
                let full: Vec<String> = if is_self { head.clone() } else { head.iter().cloned().chain(item).collect() };
                if let Some(d) = resolve(&full) {
                    if d == full.join("::") {
                        if let Some(short) = full.last() {
                            aliases.push((short.clone(), full.clone()));
                        }
                    }
                    deps.insert(d);
                }
            }
        }
        for (short, path) in &aliases {
            for (i, _) in code.match_indices(&format!("{short}::")) {
                let before = code[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let rest = segments(&code[i + short.len() + 2..]);
                let full: Vec<String> = path.iter().cloned().chain(rest).collect();
                if let Some(d) = resolve(&full) {
                    deps.insert(d);
                }
            }
        }
        // `super::…` from `a::b` means under `a` (a top-level file has no super).
        if parent.len() > 1 {
            let up = &parent[..parent.len() - 1];
            for part in code.split("super::").skip(1) {
                for item in listed(part) {
                    let full: Vec<String> = up.iter().cloned().chain(item).collect();
                    if let Some(d) = resolve(&full) {
                        deps.insert(d);
                    }
                }
            }
        }
        // A `mod.rs` naming a child of its own (`child::…`, `self::child::…`).
        for child in nodes.iter().filter(|n| n.strip_prefix(&format!("{name}::")).is_some_and(|c| !c.contains("::"))) {
            let short = &child[name.len() + 2..];
            let named = code.match_indices(&format!("{short}::")).any(|(i, _)| {
                let before = code[..i].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') || code[..i].ends_with("self::")
            });
            if named && !name.is_empty() {
                deps.insert(child.to_string());
            }
        }
        deps.remove(name);
        g.insert(name.clone(), deps);
    }
    g
}

/// The first circle a depth-first walk meets, as `a -> b -> … -> a`.
pub fn circle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    fn walk<'a>(
        g: &'a BTreeMap<String, BTreeSet<String>>,
        at: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(i) = path.iter().position(|p| *p == at) {
            return Some(path[i..].iter().chain([&at]).copied().collect::<Vec<_>>().join(" -> "));
        }
        if !done.insert(at) {
            return None;
        }
        path.push(at);
        for next in g.get(at).into_iter().flatten() {
            if let Some(c) = walk(g, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    g.keys().find_map(|n| walk(g, n, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_circle_anywhere_in_src() {
    // AUTHWATCH_LAYOUT_SRC points it at another tree (an older checkout's src/, to see it fail).
    let src = std::env::var_os("AUTHWATCH_LAYOUT_SRC")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), std::path::PathBuf::from);
    let mut sources = BTreeMap::new();
    files(&src, "", &mut sources);
    let g = graph(&sources);
    assert_eq!(circle(&g), None);
    assert!(g.len() >= 40, "every file of src/ is a node: {:?}", g.keys());
    // Edges the walls rely on are seen (the parser works), and the read model sits where it should.
    // `check` is a folder of rooms: one of them reads the view.
    let check_reads_view = g.iter().any(|(n, d)| (n == "check" || n.starts_with("check::")) && d.contains("view"));
    assert!(check_reads_view && g["status"].contains("view"), "{:?} {:?}", g["check"], g["status"]);
    assert!(!g["observe"].contains("metrics"), "state writes no gauge: {:?}", g["observe"]);
    assert!(!g["view"].iter().any(|d| ["metrics", "http", "status", "report", "check", "api"].contains(&d.as_str())));
}

#[test]
fn the_circle_check_finds_circles_it_is_shown() {
    let src = |files: &[(&str, &str)]| -> BTreeMap<String, String> {
        files.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
    };
    // Two files importing each other, one through a `use` list, the other through an inline path.
    let two = src(&[("a", "use crate::{b::X, c};\n"), ("b", "fn f() { crate::a::g(); }\n"), ("c", "")]);
    assert_eq!(circle(&graph(&two)).as_deref(), Some("a -> b -> a"));
    // Around a loop of three, through `super::` and a mod.rs naming its child.
    let three = src(&[
        ("d", "pub mod e;\nfn f() { e::run(); }\n"),
        ("d::e", "use crate::x::Y;\n"),
        ("x", "// crate::d is only named in a comment\nuse crate::d::Z;\n"),
    ]);
    assert_eq!(circle(&graph(&three)).as_deref(), Some("d -> d::e -> x -> d"));
    // Names in comments and in test modules are not imports.
    let quiet = src(&[("p", "//! see crate::q\nuse crate::q::A;\n"), ("q", "#[cfg(test)]\nmod t { use crate::p; }\n")]);
    assert_eq!(circle(&graph(&quiet)), None);
    let sup = src(&[("m", "use crate::m::n::K;\n"), ("m::n", "use super::J;\n")]);
    assert_eq!(circle(&graph(&sup)).as_deref(), Some("m -> m::n -> m"));
    // Through a module imported by name, as `record` once named `formats::cls_csv` (and it `record`).
    let alias = src(&[
        ("r", "use crate::{f, t};\nfn g() { f::c::Reader::new(); }\n"),
        ("f", ""),
        ("f::c", "use crate::r::{self, Record};\n"),
        ("t", ""),
    ]);
    assert_eq!(circle(&graph(&alias)).as_deref(), Some("f::c -> r -> f::c"));
}

/// Stages own their configuration types and defaults; `config.rs` composes them. So its code (tests
/// left out) names no other module's default, bound or setting except to re-export it.
#[test]
fn config_composes_and_defines_no_stage_default() {
    let mut all = BTreeMap::new();
    files(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")), "", &mut all);
    let config = code(&all["config"]);
    let borrowed: Vec<&str> = config
        .lines()
        .filter(|l| !l.trim_start().starts_with("pub use "))
        .filter(|l| l.contains("::DEFAULT_") || l.contains("_default()") && l.contains("crate::"))
        .collect();
    assert!(borrowed.is_empty(), "config.rs uses stage defaults instead of composing stage types: {borrowed:#?}");
    // And the stages that bound `[limits]` own a type for it.
    for stage in ["tail", "event", "window"] {
        let owns = all.iter().any(|(m, text)| {
            (m == stage || m.starts_with(&format!("{stage}::"))) && text.contains("pub struct Limits")
        });
        assert!(owns, "{stage} owns no `pub struct Limits`");
    }
}
