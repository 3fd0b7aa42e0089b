//! The README stays true: its test command is what CI runs, its table names every pattern, and its
//! "Adding a pattern" example works as written.

mod common;
use common::*;

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
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
    let text = readme();
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
    let text = readme();
    let named = regex::Regex::new(r"`([a-z0-9_]+(?:_\*)?)\.rs`").unwrap();
    let mut seen = 0;
    for c in named.captures_iter(&text) {
        let name = &c[1];
        let exists = if let Some(prefix) = name.strip_suffix('*') {
            std::fs::read_dir(root().join("tests"))
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(prefix))
        } else {
            root().join("tests").join(format!("{name}.rs")).exists()
                || ["src", "bench", "fuzz/fuzz_targets"]
                    .iter()
                    .any(|d| root().join(d).join(format!("{name}.rs")).exists())
        };
        assert!(exists, "README names {name}.rs, which does not exist");
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} file names found");
}

#[test]
fn the_readme_shows_the_last_fuzz_run() {
    let last = std::fs::read_to_string(root().join("fuzz/last-run.txt")).unwrap();
    assert!(last.lines().count() >= 4 && !last.contains("CRASH"), "fuzz/last-run.txt: {last}");
    assert!(readme().contains(last.trim_end()), "README's fuzz block is not fuzz/last-run.txt");
}
