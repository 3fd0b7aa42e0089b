//! Every export form reads back: a generated load test written by `tests/it/common/forms.rs` as SCF text,
//! CLS JSON, the CLS CSV download and `tcb fn log` yields the calls' times, functions and request ids;
//! CSV edge cases; the `tcb fn log` fixture in the real CLI's layout; detection and bounds.

use crate::common::forms;

use std::borrow::Cow;
use std::collections::BTreeMap;

use authwatch::formats::MAX_PENDING_BYTES;
use authwatch::formats::reader::RecordReader;
use authwatch::record::{Format, FormatChoice, Level, Record};
use forms::{Call, Outcome};

type Owned = Record<'static>;

fn owned(r: Record<'_>) -> Owned {
    let id = r.request_id.clone().map(|id| Cow::Owned(id.into_owned()));
    let message = Cow::Owned(r.message.clone().into_owned());
    r.with_message(message, id)
}

/// Splits like `lines.rs` (a trailing `\r` dropped, the last line needs no newline) and reads every line.
fn read_with(bytes: &[u8], reader: &mut RecordReader) -> Vec<Owned> {
    let mut out = Vec::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if !bytes.is_empty() {
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            reader.push(line, &mut |r| out.push(owned(r)));
        }
    }
    reader.finish(&mut |r| out.push(owned(r)));
    out
}

fn read(bytes: &[u8], choice: FormatChoice) -> (Vec<Owned>, Option<Format>) {
    let mut reader = RecordReader::new(choice);
    let records = read_with(bytes, &mut reader);
    (records, reader.detected())
}

fn text(r: &Owned) -> &str {
    std::str::from_utf8(&r.message).unwrap()
}

/// A small deterministic load test: three functions interleaved over two minutes, every outcome.
fn generated_run() -> Vec<Call> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let functions = ["getLoginTicket", "getOpenId", "sendCode"];
    let mut t = 1_741_915_320_000i64; // 2025-03-14T01:22:00Z
    (0..40)
        .map(|i| {
            t += 1 + next(4000) as i64;
            let outcome = match next(5) {
                0 => Outcome::Ok,
                1 | 2 => Outcome::Returned { errcode: if next(2) == 0 { 45011 } else { 40029 } },
                _ => Outcome::Thrown { errcode: if next(2) == 0 { 45011 } else { 40029 } },
            };
            Call {
                request_id: if i % 2 == 0 {
                    format!("{:08x}-0a1b-4c2d-9e3f-{:012x}", i, t)
                } else {
                    format!("{:016x}{:016x}", i, t)
                },
                function: functions[next(3) as usize].to_string(),
                start_ms: t,
                duration_ms: 20 + next(5000) as i64,
                outcome,
            }
        })
        .collect()
}

fn by_id(calls: &[Call]) -> BTreeMap<&str, &Call> {
    calls.iter().map(|c| (c.request_id.as_str(), c)).collect()
}

fn printed_lines(calls: &[Call]) -> usize {
    calls.iter().map(|c| if matches!(c.outcome, Outcome::Ok) { 5 } else { 6 }).sum()
}

#[test]
fn scf_text_reads_back() {
    let calls = generated_run();
    let bytes = forms::scf_text(&calls);
    let (records, detected) = read(&bytes, FormatChoice::Auto);
    assert_eq!(detected, Some(Format::Text));
    assert_eq!(records.len(), printed_lines(&calls));
    let ids = by_id(&calls);
    for r in &records {
        assert_eq!(r.format, Format::Text);
        let call = ids[r.request_id.as_deref().expect("every line names its call")];
        if let Some(t) = r.time_ms {
            assert!((call.start_ms..=call.start_ms + call.duration_ms).contains(&t), "{r:?}");
        }
    }
    for call in &calls {
        let mine: Vec<&Owned> = records.iter().filter(|r| r.request_id.as_deref() == Some(&call.request_id)).collect();
        assert!(text(mine[0]).starts_with("START RequestId:"));
        assert_eq!(mine[1].time_ms, Some(call.start_ms));
        let thrown = mine.iter().find(|r| r.status_code.is_some());
        assert_eq!(thrown.is_some(), matches!(call.outcome, Outcome::Thrown { .. }));
        if let Some(t) = thrown {
            // The exception JSON stays whole; its requestId and statusCode are the record's.
            assert!(text(t).starts_with(r#"{"errorCode":-1"#));
            assert_eq!(t.status_code, Some(430));
        }
    }
    // Calls of different functions interleave, and the text is ordered by time.
    let times: Vec<i64> = records.iter().filter_map(|r| r.time_ms).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn cls_json_reads_back() {
    let calls = generated_run();
    let (records, detected) = read(&forms::cls_json(&calls), FormatChoice::Auto);
    assert_eq!(detected, Some(Format::Cls));
    assert_eq!(records.len(), printed_lines(&calls));
    let ids = by_id(&calls);
    for r in &records {
        assert_eq!((r.format, r.malformed), (Format::Cls, false));
        let call = ids[r.request_id.as_deref().unwrap()];
        assert_eq!(r.function.as_deref(), Some(call.function.as_str()));
        let t = r.time_ms.unwrap();
        assert!((call.start_ms..=call.start_ms + call.duration_ms).contains(&t), "{r:?}");
        let thrown = matches!(call.outcome, Outcome::Thrown { .. });
        assert_eq!(r.status_code, Some(if thrown { 430 } else { 200 }));
    }
    let errors = records.iter().filter(|r| r.level == Some(Level::Error)).count();
    assert_eq!(errors, calls.iter().filter(|c| !matches!(c.outcome, Outcome::Ok)).count());
    // Forced, the same.
    assert_eq!(read(&forms::cls_json(&calls), FormatChoice::Cls).0, records);
}

#[test]
fn cls_csv_gives_the_json_records() {
    let calls = generated_run();
    let (json, _) = read(&forms::cls_json(&calls), FormatChoice::Auto);
    let csv = forms::cls_csv(&calls);
    let mut reader = RecordReader::new(FormatChoice::Auto);
    assert!(reader.wants_every_line());
    let records = read_with(&csv, &mut reader);
    assert_eq!(reader.detected(), Some(Format::ClsCsv));
    assert!(reader.wants_every_line(), "a CSV stream needs every line");
    let as_csv: Vec<Owned> = json.into_iter().map(|r| Record { format: Format::ClsCsv, ..r }).collect();
    assert_eq!(records, as_csv);
    assert_eq!(read(&csv, FormatChoice::ClsCsv).0, as_csv);
    // The messages' JSON had its quotes doubled and the exception's stack a newline escape: both back.
    assert!(records.iter().any(|r| text(r).contains(r#"{"errcode":45011,"errmsg":"api minute-quota"#)));
}

#[test]
fn tcb_log_gives_one_record_per_call() {
    let calls = generated_run();
    let bytes = forms::tcb_log(&calls);
    let mut reader = RecordReader::new(FormatChoice::Auto);
    let records = read_with(&bytes, &mut reader);
    assert_eq!(reader.detected(), Some(Format::TcbLog));
    assert!(reader.wants_every_line());
    let (banners, blocks): (Vec<&Owned>, Vec<&Owned>) = records.iter().partition(|r| r.format == Format::Text);
    assert_eq!(banners.len(), 3, "one banner per function: {banners:?}");
    assert!(banners.iter().all(|b| text(b).contains("调用日志：")));
    assert_eq!(blocks.len(), calls.len());
    let ids = by_id(&calls);
    for r in &blocks {
        assert_eq!((r.format, r.malformed), (Format::TcbLog, false));
        // The invocation's id from the log's START line, not the API answer's id printed as 请求 Id.
        let call = ids[r.request_id.as_deref().unwrap()];
        assert_eq!(r.function.as_deref(), Some(call.function.as_str()));
        // Beijing time to the second.
        assert_eq!(r.time_ms, Some(call.start_ms - call.start_ms.rem_euclid(1000)));
        let thrown = matches!(call.outcome, Outcome::Thrown { .. });
        assert_eq!(r.level, Some(if thrown { Level::Error } else { Level::Info }));
        assert_eq!(r.status_code, thrown.then_some(430));
        let m = text(r);
        assert!(m.contains(&format!("START RequestId: {}", call.request_id)), "{m}");
        assert!(m.contains(&format!("END RequestId: {}", call.request_id)));
        assert!(m.ends_with("MaxMemoryUsed:31.417969MB"), "{m:?}");
        if let Outcome::Returned { errcode } | Outcome::Thrown { errcode } = call.outcome {
            // 返回结果 first, then the log: the failure three times over.
            assert!(m.contains(&format!("\"errcode\":{errcode}")));
            assert!(m.starts_with(if thrown { "{\"errorCode\":-1" } else { "{\"error\":\"WX_API_ERROR\"" }), "{m}");
        }
    }
    assert_eq!(read(&bytes, FormatChoice::TcbLog).0, records);
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

/// The fixture without its leading `#` comment lines.
fn without_comment(bytes: &[u8]) -> Vec<u8> {
    let s = std::str::from_utf8(bytes).unwrap();
    s.lines().skip_while(|l| l.starts_with('#')).map(|l| format!("{l}\n")).collect::<String>().into_bytes()
}

#[test]
fn tcb_fixture_in_the_cli_layout() {
    let bytes = without_comment(&fixture("tcb-fn-log.txt"));
    let (records, detected) = read(&bytes, FormatChoice::Auto);
    assert_eq!(detected, Some(Format::TcbLog));
    assert_eq!(records.len(), 4, "{records:#?}");
    assert_eq!(text(&records[0]), "✔ 函数：getLoginTicket 调用日志：");
    let (ok, thrown, bare) = (&records[1], &records[2], &records[3]);
    // 2025-03-14 09:22:05 in Beijing.
    assert_eq!(ok.time_ms, Some(1_741_915_325_000));
    assert_eq!(ok.function.as_deref(), Some("getLoginTicket"));
    assert_eq!(ok.request_id.as_deref(), Some("8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"));
    assert_eq!(ok.level, Some(Level::Info));
    assert!(text(ok).starts_with("{\"error\":\"WX_API_ERROR\",\"errcode\":45011}\nSTART RequestId: 8f4c0b5e"));
    assert!(text(ok).ends_with("MaxMemoryUsed:31.417969MB"));
    assert_eq!(thrown.request_id.as_deref(), Some("40029b1c2d3e4f5a6b7c8d9e0f1a2b3c"));
    assert_eq!((thrown.level, thrown.status_code), (Some(Level::Error), Some(430)));
    assert_eq!(thrown.time_ms, Some(1_741_915_327_000));
    assert!(text(thrown).ends_with("MemUsage:28.0MB"), "{:?}", text(thrown));
    // No runtime line and 请求 Id printed `undefined`: a made-up id, one per block.
    assert_eq!(bare.request_id.as_deref(), Some("tcb:getLoginTicket:1741915380000"));
    assert_eq!(text(bare), "\"ok\"\n(no runtime lines in this log)");
    // Forced, with the comment lines: those are text before the first block.
    let (forced, _) = read(&fixture("tcb-fn-log.txt"), FormatChoice::TcbLog);
    assert_eq!(&forced[forced.len() - 4..], &records[..]);
    assert!(forced[..forced.len() - 4].iter().all(|r| r.format == Format::Text && text(r).starts_with('#')));
}

#[test]
fn tcb_in_english_and_its_request_id_line() {
    // `tcb config set lang en`: the same template with the English labels; `Log:` has an ASCII colon.
    let out = "✔ Function: app call log:\n\nRequest time：2025-03-14 09:22:05 \nFunction name：app \nRuntime(ms)：1 \nMemory usage：1.000 MB\nRequest Id：abc-123 \nInvocation status：Failed\nReturn result：boom \nLog:\n hello \n\n";
    let (records, detected) = read(out.as_bytes(), FormatChoice::Auto);
    assert_eq!(detected, Some(Format::TcbLog));
    let r = &records[1];
    assert_eq!((r.function.as_deref(), r.request_id.as_deref()), (Some("app"), Some("abc-123")));
    assert_eq!((r.level, r.time_ms), (Some(Level::Error), Some(1_741_915_325_000)));
    assert_eq!(text(r), "boom\nhello");
}

#[test]
fn csv_fixture_and_edge_cases() {
    let (records, detected) = read(&fixture("cls-download.csv"), FormatChoice::Auto);
    assert_eq!(detected, Some(Format::ClsCsv));
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.time_ms, Some(1_741_915_325_190));
    assert_eq!(r.request_id.as_deref(), Some("8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"));
    assert!(text(r).ends_with(r#"jscode2session {"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415"}"#));

    // BOM, reordered and extra columns, a quoted newline, doubled quotes, CRLF, a blank line, a row that
    // does not fit the header, and a quote left open at the end.
    let csv = "\u{feff}\"SCF_Message\",__TIMESTAMP__,SCF_RequestId,Extra,SCF_FunctionName,SCF_Level\r\n\
               \"first line\r\nsecond {\"\"errcode\"\":40029}\",1741915325190,r1,x,getLoginTicket,ERROR\r\n\
               \r\n\
               plain,1741915326000,r2,y,getOpenId,INFO\r\n\
               too,few\r\n\
               \"never closed,1,r3,z,f,INFO\r\nmore";
    let mut reader = RecordReader::new(FormatChoice::Auto);
    let records = read_with(csv.as_bytes(), &mut reader);
    assert_eq!(reader.detected(), Some(Format::ClsCsv));
    assert_eq!(records.len(), 4, "{records:#?}");
    assert_eq!(text(&records[0]), "first line\nsecond {\"errcode\":40029}");
    assert_eq!(records[0].time_ms, Some(1_741_915_325_190), "__TIMESTAMP__ stands in for the SCF times");
    assert_eq!(records[0].request_id.as_deref(), Some("r1"));
    assert_eq!(records[0].function.as_deref(), Some("getLoginTicket"));
    assert_eq!(
        (records[0].level, records[0].format, records[0].malformed),
        (Some(Level::Error), Format::ClsCsv, false)
    );
    assert_eq!((text(&records[1]), records[1].function.as_deref()), ("plain", Some("getOpenId")));
    assert_eq!((records[2].format, records[2].malformed, text(&records[2])), (Format::Text, true, "too,few"));
    assert_eq!((records[3].format, records[3].malformed), (Format::Text, true));
    assert_eq!(text(&records[3]), "\"never closed,1,r3,z,f,INFO\nmore");
}

#[test]
fn csv_row_beyond_the_cap_is_cut_and_flagged() {
    let mut csv = b"SCF_Message,SCF_RequestId\n\"".to_vec();
    for _ in 0..(2 * MAX_PENDING_BYTES / 1000) {
        csv.extend(std::iter::repeat_n(b'a', 999));
        csv.push(b'\n');
    }
    csv.extend(b"end\",r1\nafter,r2\n");
    let (records, _) = read(&csv, FormatChoice::ClsCsv);
    assert_eq!(records.len(), 2);
    assert!(records[0].malformed && records[0].message.len() <= MAX_PENDING_BYTES);
    assert_eq!(
        (text(&records[1]), records[1].request_id.as_deref(), records[1].malformed),
        ("after", Some("r2"), false)
    );
}

#[test]
fn tcb_block_beyond_the_cap_is_cut_and_flagged() {
    let mut out = "请求时间：2025-03-14 09:22:05 \n函数名称：f \n调用状态：成功\n返回结果：x \n日志：\n".to_string();
    let line = "y".repeat(999);
    for _ in 0..(2 * MAX_PENDING_BYTES / 1000) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("请求时间：2025-03-14 09:22:06 \n函数名称：f \n日志：\n START RequestId: r2\n");
    let (records, _) = read(out.as_bytes(), FormatChoice::Auto);
    assert_eq!(records.len(), 2);
    assert!(records[0].malformed && records[0].message.len() <= MAX_PENDING_BYTES);
    assert_eq!((records[1].request_id.as_deref(), records[1].malformed), (Some("r2"), false));
}

#[test]
fn auto_detection_is_decided_early() {
    // A plain first line: per line from then on, and only literal lines are needed.
    let mut reader = RecordReader::new(FormatChoice::Auto);
    assert!(reader.wants_every_line());
    assert_eq!(reader.detected(), None);
    reader.push(b"START RequestId: r1", &mut |_| {});
    assert!(!reader.wants_every_line());
    assert_eq!(reader.detected(), Some(Format::Text));
    let mut got = Vec::new();
    reader.push(br#"{"SCF_Message":"m","SCF_RequestId":"r1"}"#, &mut |r| got.push(owned(r)));
    assert_eq!((got[0].format, reader.detected()), (Format::Cls, Some(Format::Cls)));
    // A CSV header only counts as the first line; later it is text.
    let mut reader = RecordReader::new(FormatChoice::Auto);
    reader.push(b"", &mut |_| {});
    assert!(reader.wants_every_line(), "blank lines leave it open");
    reader.push(b"SCF_Message,SCF_RequestId", &mut |_| {});
    assert!(!reader.wants_every_line());
    // Blank lines then the tcb banner: tcb fn log.
    let mut reader = RecordReader::new(FormatChoice::Auto);
    reader.push(b"", &mut |_| {});
    reader.push(b"\xE2\x9C\x94 \xE5\x87\xBD\xE6\x95\xB0\xEF\xBC\x9Aapp \xE8\xB0\x83\xE7\x94\xA8\xE6\x97\xA5\xE5\xBF\x97\xEF\xBC\x9A", &mut |_| {});
    assert_eq!(reader.detected(), Some(Format::TcbLog));
    assert!(reader.wants_every_line());
    // Bounded: after a few blank lines the stream is per line.
    let mut reader = RecordReader::new(FormatChoice::Auto);
    for _ in 0..20 {
        reader.push(b"", &mut |_| {});
    }
    assert!(!reader.wants_every_line());
    // Forced plain forms never need every line; forced multi-line ones always do.
    assert!(!RecordReader::new(FormatChoice::Text).wants_every_line());
    assert!(!RecordReader::new(FormatChoice::Cls).wants_every_line());
    assert!(RecordReader::new(FormatChoice::ClsCsv).wants_every_line());
    assert!(RecordReader::new(FormatChoice::TcbLog).wants_every_line());
}

#[test]
fn scf_exception_json_names_its_call() {
    let line = br#"{"errorCode":-1,"errorMessage":"user code exception caught","requestId":"8f4c0b5e-0a1b-4c2d-9e3f-123456789abc","stackTrace":"Error: {\"errcode\":45011}\n    at exports.main (/var/user/index.js:12:23)","statusCode":430}"#;
    let (records, _) = read(line, FormatChoice::Auto);
    let r = &records[0];
    assert_eq!((r.format, r.malformed), (Format::Text, false));
    assert_eq!(r.request_id.as_deref(), Some("8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"));
    assert_eq!(r.status_code, Some(430));
    assert_eq!(&*r.message, &line[..], "the message stays the whole line");
    // Cut (CLS cuts messages at 8 KB): still named.
    let (records, _) = read(&line[..120], FormatChoice::Text);
    assert_eq!(records[0].request_id.as_deref(), Some("8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"));
}

/// A CSV without key line (CLS shipping's `|` rows) given to `check` without its columns is read as
/// text, and `check` says it is unsure, naming the delimiter and how to say the columns.
#[test]
fn a_csv_without_key_line_read_as_text_is_said_to_be_unsure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("202503140103_000_1");
    let rows: String = (0..5)
        .map(|i| {
            format!(
                "getLoginTicket|1741914180{i:03}|8f4c0b5e-0a1b-4c2d-9e3f-12345678900{i}|INFO|ticket length: 47{i}\n"
            )
        })
        .collect();
    std::fs::write(&path, rows).unwrap();
    let out = crate::common::run(&["check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("read as text but unsure") && err.contains("4 '|' each") && err.contains("[sources.csv]"),
        "{err}"
    );
    // A plain log is not.
    let log = dir.path().join("app.log");
    std::fs::write(
        &log,
        "2025-03-14T01:03:00.000Z\tid\tok\n2025-03-14T01:03:01.000Z\tid\tok\n2025-03-14T01:03:02.000Z\tid\tok\n",
    )
    .unwrap();
    let out = crate::common::run(&["check", log.to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("unsure"));
}
