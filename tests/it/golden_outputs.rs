//! Golden tests: the bundled sample logs and the exact `--output json` and `--output matches` they
//! must give. Run with UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change, then
//! read the diff line by line before committing it.

use crate::common::*;

const SAMPLES: [&str; 4] = ["cloud-function.log", "cls-export.jsonl", "miniprogram-devtools.log", "realtime-log.jsonl"];

fn compare(expected_name: &str, actual: &str) {
    let path = golden("expected").join(expected_name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

#[test]
fn each_sample_gives_its_golden_json_and_matches() {
    for sample in SAMPLES {
        let rel = format!("tests/golden/{sample}");
        let o = run(&["check", "--output", "json", &rel]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        compare(&format!("{sample}.json"), &stdout(&o));
        let o = run(&["check", "--output", "matches", &rel]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        compare(&format!("{sample}.matches"), &stdout(&o));
    }
}

#[test]
fn all_samples_together_add_up() {
    let rels: Vec<String> = SAMPLES.iter().map(|s| format!("tests/golden/{s}")).collect();
    let mut args = vec!["check", "--output", "json"];
    args.extend(rels.iter().map(String::as_str));
    let all = json(&run(&args));
    compare("all.json", &serde_json::to_string_pretty(&all).unwrap());
    // The sum of the per-file results, computed here rather than trusted from the file. Lines and
    // recognised lines add up; failed calls need not: a call whose request id shows up in two inputs
    // (the CLS export repeats call 8f4c0b5e… of the text log) is one call.
    let mut lines = 0;
    let mut line_matches = std::collections::BTreeMap::<String, u64>::new();
    let mut calls = std::collections::BTreeMap::<String, u64>::new();
    for rel in &rels {
        let one = json(&run(&["check", "--output", "json", rel]));
        lines += one["lines"].as_u64().unwrap();
        for (id, n) in one["line_matches"].as_object().unwrap() {
            *line_matches.entry(id.clone()).or_default() += n.as_u64().unwrap();
        }
        for (id, n) in one["matches"].as_object().unwrap() {
            *calls.entry(id.clone()).or_default() += n.as_u64().unwrap();
        }
    }
    assert_eq!(all["lines"].as_u64().unwrap(), lines);
    for (id, n) in line_matches {
        assert_eq!(all["line_matches"][&id].as_u64().unwrap(), n, "{id}");
    }
    for (id, n) in &calls {
        let together = all["matches"][id].as_u64().unwrap();
        let shared = u64::from(id == "wx_45011_minute_quota");
        assert_eq!(together + shared, *n, "{id}: calls seen in two inputs count once");
    }
    assert_eq!(all["files"], 4);
}

#[test]
fn every_id_and_unlisted_is_reported_even_at_zero() {
    let o = run(&["check", "--output", "json", "tests/golden/realtime-log.jsonl"]);
    let m = json(&o)["matches"].as_object().unwrap().clone();
    let ids: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "mp_require_undefined",
            "wx_40029_invalid_code",
            "wx_45011_minute_quota",
            "ticket_invalid",
            "custom_login_disabled",
            "custom_user_id_invalid",
            "domain_not_allowlisted",
            "sign_param_invalid",
            "sdk_version_mismatch",
            "unauthorized_after_login",
            "unlisted"
        ]
    );
    assert_eq!(m["wx_45011_minute_quota"], 0);
}
