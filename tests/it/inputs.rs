//! One path grammar for `check` and `run`, and nothing silent: directories and quoted globs read by
//! both, every PATH that yields no file named (check's stderr and summary, the daemon's log,
//! `validate`, `authwatch_paths_unmatched`), binary files warned and counted, a gzip file named to
//! `run` read once (and not again after a restart), other compressions refused by name.

use crate::common::daemon::*;
use crate::common::*;

/// Log lines of the daemon (JSON) with this message.
fn logged(log: &[String], message: &str) -> Vec<serde_json::Value> {
    log.iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == message)
        .collect()
}

fn paths_read(v: &serde_json::Value) -> Vec<String> {
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["read"] == true)
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn check_reads_a_directory_and_a_quoted_glob_like_the_files_themselves() {
    let files =
        json(&run(&["check", "-o", "json", "tests/golden/cls-export.jsonl", "tests/golden/realtime-log.jsonl"]));
    let o = run(&["check", "-o", "json", "tests/golden/*.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let glob = json(&o);
    assert_eq!(paths_read(&glob), ["tests/golden/cls-export.jsonl", "tests/golden/realtime-log.jsonl"]);
    assert_eq!(glob["inputs"][0]["from"], "tests/golden/*.jsonl");
    for key in ["lines", "bytes", "matches", "line_matches", "files"] {
        assert_eq!(glob[key], files[key], "{key}");
    }

    // A directory: every regular file directly in it (not its subdirectory `expected/`).
    let o = run(&["check", "-o", "json", "tests/golden"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = json(&o);
    let mut on_disk: Vec<String> = std::fs::read_dir(golden(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| format!("tests/golden/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    on_disk.sort();
    assert!(on_disk.len() >= 5);
    assert_eq!(paths_read(&dir), on_disk);
    assert_eq!(dir["files"], on_disk.len());
    let lines: u64 = dir["inputs"].as_array().unwrap().iter().map(|i| i["lines"].as_u64().unwrap()).sum();
    assert_eq!(dir["lines"], lines);

    // The table says which inputs were read, and as what.
    let t = stdout(&run(&["check", "tests/golden/*.jsonl"]));
    assert!(
        t.lines()
            .any(|l| l
                == "Read 2 input(s): tests/golden/cls-export.jsonl (cls), tests/golden/realtime-log.jsonl (realtime)"),
        "{t}"
    );
}

#[test]
fn check_names_every_input_it_could_not_read_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-dir");
    std::fs::create_dir(&empty).unwrap();
    let (e, missing) = (empty.to_str().unwrap(), dir.path().join("nope.log"));
    let glob = format!("{}/*.log", dir.path().display());
    let args = ["check", "-o", "json", "tests/golden/cls-export.jsonl", missing.to_str().unwrap(), &glob, e];
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(&format!("authwatch: {}: no such file or directory", missing.display())), "{err}");
    assert!(err.contains(&format!("authwatch: {glob}: the glob matches no file")), "{err}");
    assert!(err.contains(&format!("authwatch: {e}: the directory holds no regular file")), "{err}");
    let v = json(&o);
    assert_eq!(
        (v["files"].as_u64(), v["unreadable_files"].as_u64(), v["lines"].as_u64()),
        (Some(1), Some(3), Some(11))
    );
    let not_read: Vec<(&str, &str)> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["read"] == false)
        .map(|i| (i["path"].as_str().unwrap(), i["error"].as_str().unwrap()))
        .collect();
    assert_eq!(
        not_read,
        [
            (missing.to_str().unwrap(), "no such file or directory"),
            (glob.as_str(), "the glob matches no file"),
            (e, "the directory holds no regular file")
        ]
    );
    // Nothing readable at all: exit 2, and the table says nothing was read rather than only zeros.
    let o = run(&["check", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let t = stdout(&o);
    assert!(t.contains("Read 0 input(s): none\n"), "{t}");
    assert!(t.contains(&format!("Not read: {}: no such file or directory\n", missing.display())), "{t}");
}

#[test]
fn check_refuses_other_compressions_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let xz = dir.path().join("app.log.xz");
    write(&xz, b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46");
    let o = run(&["check", "-o", "json", xz.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("app.log.xz: compressed with xz, which authwatch does not decompress"),
        "{}",
        stderr(&o)
    );
    assert_eq!(json(&o)["lines"], 0, "its bytes are not read as lines");
}

#[test]
fn a_binary_file_is_warned_about_named_and_counted_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("core.bin");
    write(&bin, b"\x7fELF\x02\x01\x01\x00\x00\x00\n{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}\n");
    let text = dir.path().join("app.log");
    write(&text, b"plain line\n");
    let o = run(&["check", "-o", "json", bin.to_str().unwrap(), text.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "a binary file is read, not an error");
    let err = stderr(&o);
    assert_eq!(err.matches("looks binary").count(), 1, "{err}");
    assert!(err.contains(&format!("warning: {} looks binary (a NUL in its first 8192 bytes)", bin.display())), "{err}");
    let v = json(&o);
    assert_eq!(v["binary_files"], 1);
    assert_eq!((v["inputs"][0]["binary"].as_bool(), v["inputs"][1]["binary"].as_bool()), (Some(true), Some(false)));
    assert_eq!(v["matches"]["wx_45011_minute_quota"], 1, "still read as text");
    let t = stdout(&run(&["check", bin.to_str().unwrap()]));
    assert!(t.contains(&format!("Looks binary (a NUL in its first block), read as text: {}\n", bin.display())), "{t}");
}

#[test]
fn the_daemon_names_paths_that_match_nothing_in_its_log_and_metric_until_they_match() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let glob = format!("{}/*.log", logs.display());
    let missing_dir = dir.path().join("not-yet");
    let d = Daemon::start(&[&glob, missing_dir.to_str().unwrap()], &dir.path().join("state"));
    let series = "authwatch_paths_unmatched{source=\"default\"}";
    d.wait_eq(series, 2.0);
    wait_until("both paths named in a warning", || {
        logged(&d.log.lock().unwrap(), "path matches no file; looking again on every rescan").len() >= 2
    });
    let warned = logged(&d.log.lock().unwrap(), "path matches no file; looking again on every rescan");
    let named: Vec<(&str, &str)> =
        warned.iter().map(|v| (v["path"].as_str().unwrap(), v["reason"].as_str().unwrap())).collect();
    assert!(named.contains(&(glob.as_str(), "the glob matches no file")), "{named:?}");
    assert!(named.contains(&(missing_dir.to_str().unwrap(), "no such file or directory")), "{named:?}");
    assert!(warned.iter().all(|v| v["level"] == "WARN" && v["source"] == "default"), "{warned:?}");
    promtool_check(&d.metrics(), "the_daemon_names_paths_that_match_nothing_in_its_log_and_metric_until_they_match");

    // The glob matches once a file appears: the gauge drops, the log says so once, lines are read.
    std::fs::create_dir(&logs).unwrap();
    append(&logs.join("app.log"), &lines("a", 3, 1));
    d.wait_eq(series, 1.0);
    d.wait_lines(3);
    wait_until("the match logged", || !logged(&d.log.lock().unwrap(), "path matches files now").is_empty());
    // Rate-limited: rescans every poll (1 s) do not repeat the warning within 5 minutes.
    let again = logged(&d.log.lock().unwrap(), "path matches no file; looking again on every rescan");
    assert_eq!(again.len(), 2, "{again:?}");
    d.stop();
}

#[test]
fn the_daemon_warns_once_about_a_binary_file_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("weird.log");
    write(&bin, b"\x00\x00\x00\x01header\n{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}\n");
    let d = Daemon::start(&[dir.path().join("*.log").to_str().unwrap()], &dir.path().join("state"));
    d.wait_lines(2);
    d.wait_metric("authwatch_binary_files_total{source=\"default\"}", 1.0);
    assert_eq!(d.errors("wx_45011_minute_quota"), 1, "read as text");
    // More lines: read on, no second warning.
    append(&bin, b"more\n");
    d.wait_lines(3);
    let warned = logged(&d.log.lock().unwrap(), "file looks binary (a NUL in its first block); reading it as text");
    assert_eq!(warned.len(), 1, "{}", d.log_text());
    assert_eq!(warned[0]["path"], bin.to_str().unwrap());
    assert_eq!(d.metric("authwatch_binary_files_total{source=\"default\"}"), Some(1.0));
    d.stop();
}

#[test]
fn validate_lists_paths_that_match_nothing_and_strict_fails_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    write(&log, b"x\n");
    let config = dir.path().join("authwatch.toml");
    write(
        &config,
        format!(
            "[[sources]]\nname = \"a\"\npaths = [\"{}\", \"{}/exports/*.jsonl\"]\n[[sources]]\nname = \"b\"\npaths = [\"{}\"]\n",
            log.display(),
            dir.path().display(),
            dir.path().display()
        )
        .as_bytes(),
    );
    let c = config.to_str().unwrap();
    let o = run(&["validate", "--config", c]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(!t.contains(": ok ("), "{t}");
    assert!(t.contains("valid (2 sources, 11 patterns") && t.contains("but 1 path(s) match no file now"), "{t}");
    assert!(
        t.contains(&format!("  source \"a\": {}/exports/*.jsonl: the glob matches no file\n", dir.path().display())),
        "{t}"
    );
    assert_eq!(run(&["validate", "--strict", "--config", c]).status.code(), Some(1));
    // Once it matches: ok, also with --strict.
    std::fs::create_dir(dir.path().join("exports")).unwrap();
    write(&dir.path().join("exports/x.jsonl"), b"{}\n");
    let o = run(&["validate", "--strict", "--config", c]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains(": ok (2 sources"), "{}", stdout(&o));
}

#[test]
fn run_reads_a_named_gzip_file_once_like_check_and_not_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("export.log.gz");
    let plain = std::fs::read(golden("cloud-function.log")).unwrap();
    write(&gz, &gzip(&plain));
    // Older than the quiet period: a finished file.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(&gz).unwrap().set_modified(old).unwrap();
    let live = dir.path().join("live.log");
    write(&live, b"");
    let want = json(&run(&["check", "-o", "json", gz.to_str().unwrap()]));
    let state = dir.path().join("state");
    let args = [gz.to_str().unwrap(), live.to_str().unwrap()];
    let d = Daemon::start(&args, &state);
    // Read at start, before ready: the lines and the errors of check, through the same stage.
    assert_eq!(d.lines(), want["lines"].as_u64().unwrap(), "{}", d.log_text());
    for (id, n) in want["matches"].as_object().unwrap() {
        assert_eq!(d.errors(id) as i64, n.as_i64().unwrap(), "{id}");
    }
    wait_until("the log to say \"compressed file read once\"", || d.log_text().contains("compressed file read once"));
    assert_eq!(d.metric("authwatch_paths_unmatched{source=\"default\"}"), Some(0.0), "named, so not unmatched");
    d.stop();
    let record = std::fs::read_to_string(state.join("read-once.json")).unwrap();
    assert!(record.contains(&format!("\"path\": \"{}\"", gz.display())), "{record}");

    // Restarted: not counted again; the live file is still followed.
    let d = Daemon::start(&args, &state);
    append(&live, &lines("live", 2, 1));
    d.wait_lines(2);
    assert_eq!(d.errors("wx_45011_minute_quota"), 2, "only the live file's two");
    assert!(!d.log_text().contains("compressed file read once"), "{}", d.log_text());
    d.stop();
}

#[test]
fn run_refuses_other_compressions_and_stdin_by_name_and_names_a_missing_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let xz = dir.path().join("export.log.xz");
    write(&xz, b"\xfd7zXZ\x00");
    let state = dir.path().join("state");
    let s = state.to_str().unwrap();
    let o = run(&["run", "--state-dir", s, "--listen", "127.0.0.1:0", xz.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{} is compressed (xz), which authwatch does not decompress", xz.display())),
        "{err}"
    );
    // The same in a config file, so validate says it too.
    let config = config_with_source(dir.path(), "", xz.to_str().unwrap());
    let o = run(&["validate", "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is compressed (xz)"), "{}", stderr(&o));
    let o = run(&["run", "--state-dir", s, "--listen", "127.0.0.1:0", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`-` (standard input) is for `authwatch check`"), "{}", stderr(&o));
    // A gzip file named but missing is a path that matches nothing, like any other.
    let gz = dir.path().join("later.log.gz");
    let d = Daemon::start(&[gz.to_str().unwrap()], &state);
    d.wait_eq("authwatch_paths_unmatched{source=\"default\"}", 1.0);
    wait_until("the missing gzip named", || {
        logged(&d.log.lock().unwrap(), "path matches no file; looking again on every rescan")
            .iter()
            .any(|v| v["path"] == gz.to_str().unwrap() && v["reason"] == "no such file or directory")
    });
    d.stop();
}

#[test]
fn run_login_function_means_what_it_means_for_check() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("cls.jsonl");
    std::fs::copy(golden("cls-export.jsonl"), &export).unwrap();
    let e = export.to_str().unwrap();
    let attempts = |args: &[&str]| {
        json(&run(&[&["check", "-o", "json", "--timeline"][..], args, &[e]].concat()))["login_attempts"].as_u64()
    };
    assert_eq!((attempts(&[]), attempts(&["--login-function", "otherFunction"])), (Some(1), Some(0)));
    for (flag, want) in [(None, 1.0), (Some("otherFunction"), 0.0)] {
        let mut args = vec![e];
        if let Some(f) = flag {
            args.extend(["--login-function", f]);
        }
        let d = Daemon::start(&args, &dir.path().join(format!("state-{want}")));
        d.wait_lines(11);
        // The START record's call (8f4c0b5e…) also failed with 45011: once that counts, its START has
        // been decided too, either way.
        d.wait_metric("authwatch_errors_total{pattern=\"wx_45011_minute_quota\",source=\"default\"}", 1.0);
        assert_eq!(d.metric("authwatch_login_attempts_total{source=\"default\"}"), Some(want), "{flag:?}");
        d.stop();
    }
}

/// A named pipe (and so `check <(zcat export.gz)`, a /dev/fd pipe) is read once, whole: nothing is
/// taken from it to look at before it is read (a user trial: the first block was lost that way, or
/// check waited for ever on a pipe its writer had left).
#[test]
fn check_reads_a_named_pipe_whole() {
    use std::os::unix::fs::OpenOptionsExt;
    let golden = "tests/golden/loadtest-getLoginTicket.log";
    let want = json(&run(&["check", "-o", "json", golden]));
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("export.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo (coreutils)");
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        // Opening a pipe to write waits for its reader: check opens it.
        std::thread::spawn(move || {
            std::io::Write::write_all(&mut std::fs::File::create(fifo)?, &std::fs::read(golden)?)
        })
    };
    let child = std::process::Command::new(bin())
        .args(["check", "-o", "json", fifo.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let Ok(o) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
        let _ = std::process::Command::new("kill").args(["-9", &pid]).status();
        // Let a writer still waiting for a reader go.
        let _ = std::fs::OpenOptions::new().read(true).custom_flags(libc_o_nonblock()).open(&fifo);
        panic!("check still reading the pipe after 60 s");
    };
    let o = o.unwrap();
    writer.join().unwrap().expect("the writer wrote everything");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got = json(&o);
    for key in ["lines", "bytes", "matches", "line_matches"] {
        assert_eq!(got[key], want[key], "{key}");
    }
}

/// O_NONBLOCK on Linux.
fn libc_o_nonblock() -> i32 {
    0o4000
}
