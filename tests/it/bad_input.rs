//! Bad input never crashes authwatch or loses a line: each case gets a clear error or a counted skip.

use crate::common::*;

fn check_json(path: &std::path::Path) -> serde_json::Value {
    let o = run(&["check", "--output", "json", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    json(&o)
}

#[test]
fn a_50_mb_line_is_cut_counted_and_the_next_line_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.log");
    let mut data = Vec::with_capacity(51 << 20);
    data.extend_from_slice(br#"{"errcode":45011,"errmsg":"api minute-quota reach limit"} "#);
    data.resize(50 << 20, b'x');
    // Past the 1 MiB cap: never looked at, so it must not count.
    data.extend_from_slice(br#" {"errcode":40029}"#);
    data.extend_from_slice(b"\n{\"errcode\":40029,\"errmsg\":\"invalid code\"}\nlast line\n");
    write(&path, &data);
    let v = check_json(&path);
    assert_eq!(v["lines"], 3);
    assert_eq!(v["bytes"], data.len() as u64);
    assert_eq!(v["lines_truncated"], 1);
    assert_eq!(v["matches"]["wx_45011_minute_quota"], 1);
    assert_eq!(v["matches"]["wx_40029_invalid_code"], 1);
    // The cap is a flag too.
    let o = run(&["check", "-o", "json", "--max-line-bytes", "64", path.to_str().unwrap()]);
    assert_eq!(json(&o)["matches"]["wx_45011_minute_quota"], 1, "the error sits in the first 64 bytes");
}

#[test]
fn invalid_utf8_is_read_lossily_and_still_classified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-utf8.log");
    let mut data = b"\xff\xfe\xfd garbage \xc3\x28\n".to_vec();
    data.extend_from_slice(b"2025-03-14T01:22:05.190Z\t8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\t\xe4\xb8 {\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit \xff\"}\n");
    data.extend_from_slice(
        b"{\"SCF_Message\":\"\xff {\\\"errcode\\\":40029}\",\"SCF_FunctionName\":\"getLoginTicket\"}\n",
    );
    write(&path, &data);
    let v = check_json(&path);
    assert_eq!(v["lines"], 3);
    assert_eq!(v["matches"]["wx_45011_minute_quota"], 1);
    // JSON with invalid UTF-8 does not parse: it is read as text, counted as malformed, still classified.
    assert_eq!(v["malformed_records"], 1);
    assert_eq!(v["matches"]["wx_40029_invalid_code"], 1);
}

#[test]
fn truncated_json_is_text_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.jsonl");
    write(
        &path,
        b"{\"SCF_FunctionName\":\"getLoginTicket\",\"SCF_Message\":\"jscode2session {\\\"errcode\\\":45011,\\\"errmsg\\\":\\\"api minute-quota\n{\"SCF_Level\":\"ERROR\",\"SCF_Message\":\"x\"\n{\"level\":8,\"msg\":[{\"msg\":[\"App.onError\",\"ReferenceError: require is not defined\"\n",
    );
    let v = check_json(&path);
    assert_eq!(v["lines"], 3);
    assert_eq!(v["malformed_records"], 3);
    assert_eq!(v["matches"]["wx_45011_minute_quota"], 1);
    assert_eq!(v["matches"]["mp_require_undefined"], 1);
    // Level and status come only from parsed records: a broken one cannot claim ERROR.
    assert_eq!(v["matches"]["unlisted"], 0);
}

#[test]
fn a_binary_file_is_read_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.bin");
    let mut x: u64 = 0x243F_6A88_85A3_08D3;
    let mut data = Vec::new();
    for _ in 0..(2 << 20) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.push((x >> 24) as u8);
    }
    data.extend_from_slice(b"\0\0{\"errcode\":45011}\0\n");
    write(&path, &data);
    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let v = check_json(&path);
    assert_eq!(v["lines"], newlines);
    assert_eq!(v["bytes"], data.len() as u64);
    assert!(v["matches"]["wx_45011_minute_quota"].as_u64().unwrap() >= 1);
}

#[test]
fn an_empty_file_is_zero_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.log");
    write(&path, b"");
    let v = check_json(&path);
    assert_eq!((v["lines"].as_u64(), v["bytes"].as_u64(), v["files"].as_u64()), (Some(0), Some(0), Some(1)));
}

#[test]
fn a_missing_file_is_exit_2_and_the_others_are_still_read() {
    let o = run(&["check", "-o", "json", "tests/golden/no-such-file.log", "tests/golden/cls-export.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("tests/golden/no-such-file.log: no such file or directory"), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(
        (v["files"].as_u64(), v["unreadable_files"].as_u64(), v["lines"].as_u64()),
        (Some(1), Some(1), Some(11))
    );
    assert_eq!(v["inputs"][0]["error"], "no such file or directory");
    assert_eq!(v["inputs"][1]["read"], true);
}

#[test]
fn an_unreadable_file_is_named_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let chmod = |p: &std::path::Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    let (locked, open) = (dir.path().join("locked.log"), dir.path().join("open.log"));
    write(&locked, b"x\n");
    chmod(&locked, 0o000);
    write(&open, b"y\n");
    chmod(&open, 0o644);
    // As root (CI) permissions do not apply: check runs as nobody, from a copy nobody may run.
    let program = dir.path().join("authwatch");
    std::fs::copy(bin(), &program).unwrap();
    chmod(&program, 0o755);
    let mut cmd = std::process::Command::new(&program);
    cmd.args(["check", "-o", "json", dir.path().join("*.log").to_str().unwrap()]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(&format!("{}: Permission denied", locked.display())), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!((v["inputs"][0]["read"].as_bool(), v["inputs"][1]["read"].as_bool()), (Some(false), Some(true)));
    assert_eq!(v["lines"], 1);
}

#[test]
fn a_broken_pattern_file_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = std::fs::read_to_string(root().join("patterns/wx_45011_minute_quota.toml")).unwrap();
    let broken = bundled.replace("severity = \"warning\"", "severity = \"loud\"");
    write(&dir.path().join("wx_45011_minute_quota.toml"), broken.as_bytes());
    let o = run(&["check", "--patterns", dir.path().to_str().unwrap(), "tests/golden/cls-export.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    let line = broken.lines().position(|l| l.starts_with("severity")).unwrap() + 1;
    assert!(e.contains(&format!("wx_45011_minute_quota.toml:{line}:")), "{e}");
    assert!(e.contains(": severity: ") && e.contains("loud"), "{e}");
    assert!(o.stdout.is_empty());

    // Not TOML at all.
    write(&dir.path().join("wx_45011_minute_quota.toml"), b"id = \"x\"\ntitle = [unclosed\n");
    let o = run(&["check", "--patterns", dir.path().to_str().unwrap(), "tests/golden/cls-export.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("wx_45011_minute_quota.toml:2:"), "{}", stderr(&o));
}

#[test]
fn a_regex_that_does_not_compile_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = std::fs::read_to_string(root().join("patterns/sign_param_invalid.toml")).unwrap();
    let broken = bundled.replace("'credential signature verification failed',", "'credential (signature',");
    assert_ne!(broken, bundled);
    write(&dir.path().join("sign.toml"), broken.as_bytes());
    let o = run(&["patterns", "test", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    let line = broken.lines().position(|l| l.contains("'credential (signature'")).unwrap() + 1;
    assert!(e.contains(&format!("sign.toml:{line}:")), "{e}");
    assert!(e.contains("match.regex[2]: regex does not compile"), "{e}");
}
