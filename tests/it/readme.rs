//! The README and the docs/ pages it links stay true: its test command is what CI runs, its table
//! names every pattern, it stays short (the load tester's path first, detail in docs/), every page it
//! links exists, and the "Adding a pattern" example works as written.

use crate::common::*;

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

fn doc(name: &str) -> String {
    std::fs::read_to_string(root().join("docs").join(name)).unwrap_or_else(|e| panic!("docs/{name}: {e}"))
}

/// README and every docs/ page, as one text: the facts below may live in either.
fn all_docs() -> String {
    let mut text = readme();
    let mut pages: Vec<_> = std::fs::read_dir(root().join("docs")).unwrap().map(|e| e.unwrap().path()).collect();
    pages.sort();
    for p in pages.into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        text.push_str(&std::fs::read_to_string(p).unwrap());
    }
    text
}

#[test]
fn readme_is_short_and_every_page_it_links_exists() {
    let text = readme();
    let n = text.lines().count();
    assert!(n < 250, "README has {n} lines; detail belongs in docs/");
    assert!(!text.contains("@@"), "README has an unfilled placeholder");
    let link = regex::Regex::new(r"\]\(([^)#:]+)(?:#[^)]*)?\)").unwrap();
    let mut checked = 0;
    for c in link.captures_iter(&text) {
        assert!(root().join(&c[1]).exists(), "README links {}, which does not exist", &c[1]);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} links found");
    for page in std::fs::read_dir(root().join("docs")).unwrap() {
        let page = page.unwrap().path();
        if page.extension().is_some_and(|e| e == "md") {
            let body = std::fs::read_to_string(&page).unwrap();
            for c in link.captures_iter(&body) {
                let target = root().join("docs").join(&c[1]);
                assert!(target.exists(), "{} links {}, which does not exist", page.display(), &c[1]);
            }
        }
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let last = ci.lines().rev().find(|l| !l.trim().is_empty()).unwrap().trim();
    assert_eq!(last, "cargo test --release --locked");
    assert!(readme().lines().any(|l| l.trim() == last), "README must give `{last}`");
}

#[test]
fn readme_table_names_every_pattern() {
    let text = readme();
    for (name, _) in authwatch::patterns::BUILTIN {
        let id = name.trim_end_matches(".toml");
        assert!(text.contains(&format!("| `{id}` |")), "README table lacks {id}");
    }
}

#[test]
fn the_add_a_pattern_example_works_as_written() {
    let text = doc("adding-a-pattern.md");
    let start = text.find("```toml\n").unwrap() + "```toml\n".len();
    let toml = &text[start..start + text[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("ticket_length_wrong.toml"), toml.as_bytes());
    let d = dir.path().to_str().unwrap();
    let o = run(&["patterns", "test", d]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let log = dir.path().join("x.log");
    write(&log, b"[getLoginTicket] ticket length: 12\n[getLoginTicket] ticket length: 480\n");
    let v = json(&run(&["check", "-o", "json", "--patterns", d, log.to_str().unwrap()]));
    assert_eq!(v["matches"]["ticket_length_wrong"], 1);
}

#[test]
fn every_test_file_the_readme_names_exists() {
    let text = all_docs();
    let named = regex::Regex::new(r"`([a-z0-9_]+(?:_\*)?)\.rs`").unwrap();
    let mut seen = 0;
    for c in named.captures_iter(&text) {
        let name = &c[1];
        // Scenarios are modules of the one test binary (`tests/it/`), helpers in `tests/it/common/`.
        let test_dirs = [root().join("tests/it"), root().join("tests/it/common")];
        let exists = if let Some(prefix) = name.strip_suffix('*') {
            std::fs::read_dir(&test_dirs[0])
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(prefix))
        } else {
            test_dirs.iter().any(|d| d.join(format!("{name}.rs")).exists())
                || ["src", "bench", "fuzz/fuzz_targets"]
                    .iter()
                    .any(|d| root().join(d).join(format!("{name}.rs")).exists())
        };
        assert!(exists, "README names {name}.rs, which does not exist");
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} file names found");
    // Paths to test files (`tests/it/report.rs`, `tests/it/common/forms.rs`) name files that exist.
    let path = regex::Regex::new(r"tests/[a-z0-9_/]+\.rs").unwrap();
    for p in path.find_iter(&text) {
        assert!(root().join(p.as_str()).exists(), "the docs name {}, which does not exist", p.as_str());
    }
    // Every module of the test binary is declared in its main.rs, so no scenario is silently left out.
    let main = std::fs::read_to_string(root().join("tests/it/main.rs")).unwrap();
    for e in std::fs::read_dir(root().join("tests/it")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(m) = name.strip_suffix(".rs").filter(|m| *m != "main") {
            assert!(main.contains(&format!("mod {m};")), "tests/it/main.rs does not declare {m}");
        }
    }
}

#[test]
fn the_readme_shows_the_last_fuzz_run() {
    let last = std::fs::read_to_string(root().join("fuzz/last-run.txt")).unwrap();
    assert!(last.lines().count() >= 4 && !last.contains("CRASH"), "fuzz/last-run.txt: {last}");
    assert!(doc("hardening.md").contains(last.trim_end()), "docs/hardening.md's fuzz block is not fuzz/last-run.txt");
}
