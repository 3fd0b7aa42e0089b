//! Config files: validate, errors with file/line/key, SIGHUP reload that keeps counters and refuses a
//! bad config.

use crate::common::daemon::*;
use crate::common::*;

#[test]
fn validate_accepts_the_example_and_names_errors() {
    let o = run(&["validate", "--config", "deploy/authwatch.example.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Its paths (/var/log/cloudbase/…) do not exist here: valid, and each named.
    let t = stdout(&o);
    assert!(t.contains("valid (3 sources, 11 patterns") && t.contains("but 3 path(s) match no file now"), "{t}");
    assert!(t.contains("  source \"cls-export\": /var/log/cloudbase/cls/: no such file or directory"), "{t}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    write(&bad, b"listen = \"127.0.0.1:9471\"\n[limits]\nmax_line_byte = 5\n");
    let o = run(&["validate", "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.toml:3:1: max_line_byte: unknown field"), "{}", stderr(&o));
    let o = run(&["run", "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.toml:3:1"), "{}", stderr(&o));
    let o = run(&["run", "--state-dir", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to watch"), "{}", stderr(&o));
}

#[test]
fn sighup_reloads_and_keeps_the_last_good_config() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let cfg = dir.path().join("authwatch.toml");
    let one = format!("[[sources]]\nname = \"one\"\npaths = [\"{}\"]\n", a.display());
    write(&cfg, one.as_bytes());
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()], &dir.path().join("state"));
    append(&a, &lines("a", 10, 0));
    d.wait_metric("authwatch_lines_total{source=\"one\"}", 10.0);
    write(&cfg, format!("{one}[[sources]]\nname = \"two\"\npaths = [\"{}\"]\n", b.display()).as_bytes());
    d.hup();
    d.wait_metric("authwatch_config_reloads_total{result=\"success\"}", 1.0);
    append(&b, &lines("b", 4, 1));
    d.wait_metric("authwatch_lines_total{source=\"two\"}", 4.0);
    assert_eq!(d.metric("authwatch_errors_total{pattern=\"wx_45011_minute_quota\",source=\"two\"}"), Some(4.0));
    // Counters survive the reload.
    assert_eq!(d.metric("authwatch_lines_total{source=\"one\"}"), Some(10.0));
    write(&cfg, b"[[sources]]\nname = \"one\"\npaths = []\n");
    d.hup();
    d.wait_metric("authwatch_config_reloads_total{result=\"failure\"}", 1.0);
    assert_eq!(d.metric("authwatch_config_last_reload_successful"), Some(0.0));
    append(&b, &lines("b2", 3, 0));
    d.wait_metric("authwatch_lines_total{source=\"two\"}", 7.0);
    // The log line is written after the counters move, and read from the daemon's stderr by another
    // thread: wait for it rather than look once.
    wait_until("the refusal in the daemon's log", || d.log_text().contains("reload refused"));
    d.stop();
}

/// Issue 21: a config with several mistakes names every one in one run, in file order, each with
/// file:line:column and the key, a bad alert `pattern` included; `run` refuses it the same way.
#[test]
fn every_config_error_in_one_run_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("three.toml");
    let text = "\
listen = \"127.0.0.1:9471\"
[limits]
poll_interval_ms = \"fast\"
retention_minutes = 1
[labels]
pattern = \"x\"

[[alerts]]
alert = \"QuotaHit\"
pattern = \"wx_45011_minut_quota\"
measure = \"per_minute\"
threshold = 1
severity = \"warning\"
";
    write(&bad, text.as_bytes());
    let want = [
        "three.toml:3:20: limits.poll_interval_ms: invalid type: string \"fast\"",
        "three.toml:4:1: limits.retention_minutes: must be 2 to 10080",
        "three.toml:6:1: labels.pattern: a label name must match",
        "three.toml:10:1: alerts[0].pattern: QuotaHit: no pattern \"wx_45011_minut_quota\"",
    ];
    for args in [vec!["validate", "--config"], vec!["run", "--config"]] {
        let mut args = args.clone();
        args.push(bad.to_str().unwrap());
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        let mut at = 0;
        for w in want {
            let i = err[at..]
                .find(w)
                .map(|i| at + i)
                .unwrap_or_else(|| panic!("{args:?}: missing or out of order: {w}\n{err}"));
            at = i + w.len();
        }
    }
}
