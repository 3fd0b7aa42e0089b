//! Writers of one generated load test in the four export forms a team has: SCF plain text, the CLS JSON
//! export, the CLS console's CSV download and `tcb fn log` output. Shapes from `../shared/log-formats.md`,
//! `tests/golden/` and, for `tcb fn log`, the CLI itself (`@cloudbase/cli@2.12.10`, see
//! `src/formats/tcb_log.rs`).
//!
//! Every call prints: `START`, a console line as it asks WeChat, and on failure the function's
//! `console.error` of the jscode2session answer; then a `Returned` failure's `Response RequestId:… RetMsg:`
//! (an `Ok` call's too) or a `Thrown` one's SCF exception JSON with the answer inside `stackTrace`;
//! `END`; `Report`. So a failure is printed twice in text and CLS, three times in `tcb fn log` (its
//! `返回结果：` again). Only console lines carry a time in text (UTC ms). Calls of different functions
//! interleave by time. A returned error is a success for SCF (status 200, `调用状态：成功`); only a
//! thrown one fails (430, `失败`, level ERROR).
#![allow(dead_code)]

use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
pub struct Call {
    pub request_id: String,
    pub function: String,
    pub start_ms: i64,
    pub duration_ms: i64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Returned { errcode: i64 },
    Thrown { errcode: i64 },
}

/// The CloudBase env id the records name in `SCF_Namespace`.
pub const NAMESPACE: &str = "prod-1g2h3j4k";

/// `2025-03-14T01:22:05.117Z`.
pub fn iso_utc(ms: i64) -> String {
    authwatch::timefmt::format_utc(ms)
}

/// `2025-03-14 09:22:05`: Beijing time to the second, as `tcb fn log` prints `请求时间`.
pub fn beijing_seconds(ms: i64) -> String {
    let s = iso_utc(ms + 8 * 3_600_000);
    format!("{} {}", &s[..10], &s[11..19])
}

/// A WeChat `rid` that stays the same for a call.
fn rid(call: &Call) -> String {
    let h = call.request_id.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("{:08x}-{:08x}-{:08x}", (call.start_ms / 1000) as u32, h, h.rotate_left(13))
}

/// The jscode2session answer for a refused call.
pub fn wechat_answer(call: &Call, errcode: i64) -> String {
    let errmsg = match errcode {
        45011 => "api minute-quota reach limit, must slower, retry next minute",
        40029 => "invalid code",
        40163 => "code been used",
        40226 => "code blocked",
        _ => "system error",
    };
    format!(r#"{{"errcode":{errcode},"errmsg":"{errmsg}, rid: {}"}}"#, rid(call))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// START, END, Report, Response, exception JSON: printed by the runtime, no time in text.
    Platform,
    /// The function's console.log.
    Info,
    /// The function's console.error.
    Error,
}

/// One printed line of a call: when it was printed, who printed it, its text in a plain-text export.
struct Printed {
    time_ms: i64,
    kind: Kind,
    text: String,
}

fn exception_json(call: &Call, errcode: i64) -> String {
    let stack = format!("Error: {}\n    at exports.main (/var/user/index.js:12:23)", wechat_answer(call, errcode));
    let mut m = Map::new();
    m.insert("errorCode".into(), json!(-1));
    m.insert("errorMessage".into(), json!("user code exception caught"));
    m.insert("requestId".into(), json!(call.request_id));
    m.insert("stackTrace".into(), json!(stack));
    m.insert("statusCode".into(), json!(430));
    Value::Object(m).to_string()
}

/// What the function returned, as `Response … RetMsg:` and `返回结果：` print it.
fn ret_msg(call: &Call) -> String {
    match call.outcome {
        Outcome::Ok => r#"{"ok":true,"ticket":"redacted","expiresIn":600}"#.to_string(),
        Outcome::Returned { errcode } => format!(r#"{{"error":"WX_API_ERROR","errcode":{errcode}}}"#),
        Outcome::Thrown { errcode } => exception_json(call, errcode),
    }
}

fn thrown(call: &Call) -> bool {
    matches!(call.outcome, Outcome::Thrown { .. })
}

fn printed(call: &Call) -> Vec<Printed> {
    let id = &call.request_id;
    let (start, end) = (call.start_ms, call.start_ms + call.duration_ms);
    let console = |t: i64, msg: String| format!("{}\t{id}\t{msg}", iso_utc(t));
    let mut out = vec![
        Printed { time_ms: start, kind: Kind::Platform, text: format!("START RequestId: {id}") },
        Printed {
            time_ms: start,
            kind: Kind::Info,
            text: console(start, "[getLoginTicket] event code received, length 32".into()),
        },
    ];
    match call.outcome {
        Outcome::Ok => {}
        Outcome::Returned { errcode } | Outcome::Thrown { errcode } => {
            let t = start + call.duration_ms / 2;
            out.push(Printed {
                time_ms: t,
                kind: Kind::Error,
                text: console(t, format!("jscode2session {}", wechat_answer(call, errcode))),
            });
        }
    }
    let last = if thrown(call) {
        exception_json(call, errcode_of(call))
    } else {
        format!("Response RequestId:{id} RetMsg:{}", ret_msg(call))
    };
    out.push(Printed { time_ms: end, kind: Kind::Platform, text: last });
    out.push(Printed { time_ms: end, kind: Kind::Platform, text: format!("END RequestId: {id}") });
    out.push(Printed {
        time_ms: end,
        kind: Kind::Platform,
        text: format!("Report RequestId: {id} Duration:{}ms Memory:256MB MaxMemoryUsed:31.417969MB", call.duration_ms),
    });
    out
}

fn errcode_of(call: &Call) -> i64 {
    match call.outcome {
        Outcome::Ok => 0,
        Outcome::Returned { errcode } | Outcome::Thrown { errcode } => errcode,
    }
}

/// Every printed line of every call, ordered by time (calls interleave; one call's lines keep their order).
fn interleaved(calls: &[Call]) -> Vec<(usize, Printed)> {
    let mut all: Vec<(usize, usize, Printed)> = calls
        .iter()
        .enumerate()
        .flat_map(|(c, call)| printed(call).into_iter().enumerate().map(move |(i, p)| (c, i, p)))
        .collect();
    all.sort_by_key(|(c, i, p)| (p.time_ms, *c, *i));
    all.into_iter().map(|(c, _, p)| (c, p)).collect()
}

/// The time of each printed line, in the order `scf_text` and `cls_json` print them (one a line).
pub fn printed_times(calls: &[Call]) -> Vec<i64> {
    interleaved(calls).into_iter().map(|(_, p)| p.time_ms).collect()
}

/// SCF plain text, as the console's log download or a Node runtime prints it.
pub fn scf_text(calls: &[Call]) -> Vec<u8> {
    let mut out = String::new();
    for (_, p) in interleaved(calls) {
        out.push_str(&p.text);
        out.push('\n');
    }
    out.into_bytes()
}

/// One CLS record per printed line, every value a string, fields in the export's (alphabetical) order.
fn cls_records(calls: &[Call]) -> Vec<Map<String, Value>> {
    cls_records_as(calls, &|_| "$LATEST".to_string())
}

/// `cls_records` with each call's `SCF_Qualifier` given (a canary rollout: two versions).
fn cls_records_as(calls: &[Call], version_of: &dyn Fn(&Call) -> String) -> Vec<Map<String, Value>> {
    interleaved(calls)
        .into_iter()
        .map(|(c, p)| {
            let call = &calls[c];
            let s = |v: &str| Value::String(v.to_string());
            let mut m = Map::new();
            m.insert("SCF_Alias".into(), s("$DEFAULT"));
            m.insert("SCF_Duration".into(), s(&call.duration_ms.to_string()));
            m.insert("SCF_FunctionName".into(), s(&call.function));
            m.insert("SCF_Level".into(), s(if p.kind == Kind::Error { "ERROR" } else { "INFO" }));
            m.insert("SCF_LogTime".into(), s(&(p.time_ms * 1_000_000).to_string()));
            m.insert("SCF_MemUsage".into(), s("31457280"));
            m.insert("SCF_Message".into(), s(&p.text));
            m.insert("SCF_Namespace".into(), s(NAMESPACE));
            m.insert("SCF_Qualifier".into(), s(&version_of(call)));
            m.insert("SCF_RequestId".into(), s(&call.request_id));
            m.insert("SCF_RetryNum".into(), s("0"));
            m.insert("SCF_StartTime".into(), s(&call.start_ms.to_string()));
            m.insert("SCF_StatusCode".into(), s(if thrown(call) { "430" } else { "200" }));
            m.insert("SCF_Type".into(), s(if p.kind == Kind::Platform { "Platform" } else { "Custom" }));
            m
        })
        .collect()
}

/// The CLS JSON export: one record per line.
pub fn cls_json(calls: &[Call]) -> Vec<u8> {
    let mut out = String::new();
    for m in cls_records(calls) {
        out.push_str(&Value::Object(m).to_string());
        out.push('\n');
    }
    out.into_bytes()
}

/// Columns of the CSV download: the CLS fields in another order than the JSON export, and the two
/// columns the console adds.
pub const CSV_COLUMNS: [&str; 16] = [
    "__TIMESTAMP__",
    "SCF_FunctionName",
    "SCF_Namespace",
    "SCF_StartTime",
    "SCF_LogTime",
    "SCF_RequestId",
    "SCF_Duration",
    "SCF_Level",
    "SCF_Message",
    "SCF_Type",
    "SCF_StatusCode",
    "SCF_Alias",
    "SCF_Qualifier",
    "SCF_MemUsage",
    "SCF_RetryNum",
    "__SOURCE__",
];

/// The same records as the CLS console's CSV download: a header row, RFC 4180 quoting (the message's
/// JSON has its quotes doubled; a value with a newline is quoted).
pub fn cls_csv(calls: &[Call]) -> Vec<u8> {
    cls_csv_as(calls, &|_| "$LATEST".to_string())
}

/// The CLS JSON export with each call's `SCF_Qualifier` given.
pub fn cls_json_as(calls: &[Call], version_of: &dyn Fn(&Call) -> String) -> Vec<u8> {
    let mut out = String::new();
    for m in cls_records_as(calls, version_of) {
        out.push_str(&Value::Object(m).to_string());
        out.push('\n');
    }
    out.into_bytes()
}

/// The CSV download with each call's `SCF_Qualifier` given.
pub fn cls_csv_as(calls: &[Call], version_of: &dyn Fn(&Call) -> String) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).unwrap();
    for m in cls_records_as(calls, version_of) {
        let row = CSV_COLUMNS.map(|col| match col {
            "__TIMESTAMP__" => (m["SCF_LogTime"].as_str().unwrap().parse::<i64>().unwrap() / 1_000_000).to_string(),
            "__SOURCE__" => "10.0.0.1".to_string(),
            field => m[field].as_str().unwrap().to_string(),
        });
        w.write_record(&row).unwrap();
    }
    w.into_inner().unwrap()
}

/// The `RequestId` of the `GetFunctionLogDetail` API answer, which `tcb fn log` prints as `请求 Id`: the
/// API call's own id, not the invocation's.
pub fn api_request_id(call: &Call) -> String {
    let r = rid(call).replace('-', "");
    format!("{}-{}-4{}-a{}-{}{}", &r[..8], &r[8..12], &r[13..16], &r[17..20], &r[20..24], &r[..8])
}

/// `tcb fn log <function> --order asc` for each function in turn (the order functions first appear),
/// concatenated; each call one block, as `@cloudbase/cli@2.12.10` prints it.
pub fn tcb_log(calls: &[Call]) -> Vec<u8> {
    let mut functions: Vec<&str> = Vec::new();
    for c in calls {
        if !functions.contains(&c.function.as_str()) {
            functions.push(&c.function);
        }
    }
    let mut out = String::new();
    for f in functions {
        // log.success(chalk.green(t('函数：{{name}} 调用日志：\n', { name }))) → "✔ " + text + "\n".
        out.push_str(&format!("✔ 函数：{f} 调用日志：\n\n"));
        let mut mine: Vec<&Call> = calls.iter().filter(|c| c.function == f).collect();
        mine.sort_by_key(|c| c.start_ms);
        for call in mine {
            let log: Vec<String> = printed(call).into_iter().map(|p| p.text).collect();
            let log_json = log.join("\n") + "\n";
            out.push_str(&format!("请求时间：{} \n", beijing_seconds(call.start_ms)));
            out.push_str(&format!("函数名称：{} \n", call.function));
            out.push_str(&format!("运行时间(ms)：{} \n", call.duration_ms));
            out.push_str(&format!("占用内存：{:.3} MB\n", 31_457_280f64 / 1024.0 / 1024.0));
            out.push_str(&format!("请求 Id：{} \n", api_request_id(call)));
            out.push_str(&format!("调用状态：{}\n", if thrown(call) { "失败" } else { "成功" }));
            out.push_str(&format!("返回结果：{} \n", ret_msg(call)));
            // t('日志：\n {{log}} \n', { log: log.LogJson }), then console.log's own newline.
            out.push_str(&format!("日志：\n {log_json} \n\n"));
        }
    }
    out.into_bytes()
}
