//! The one record type that flows between stages, and how a raw log line becomes one.
//!
//! Contract: `parse` never fails. A line that claims to be a structured record (CLS JSON export, Mini
//! Program real-time log item) but does not parse is kept as text and flagged `malformed`, so its
//! words are still classified. Invalid UTF-8 stays bytes; only decoded JSON strings are UTF-8. The
//! openid that real-time log items carry in `id` is never copied into a record.
//!
//! `parse` reads one line alone. A stream (a file, stdin) is read through a `formats::reader::RecordReader`, which
//! detects the form from the stream's start and reads the multi-line forms (`src/formats/`): the CLS
//! CSV download (one record a row, quoted newlines) and `tcb fn log` (one record a block). The CLS
//! fields are mapped to a record in one place, `from_cls_fields`, for the JSON export and the CSV alike.
//! The SCF exception JSON (`{"errorCode":-1,…,"requestId":…,"statusCode":430}`) stays text, with the
//! request id and status code it names.

use std::borrow::Cow;

use serde_json::Value;

use crate::timefmt;

/// How lines are read: detected per stream and line, or forced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FormatChoice {
    #[default]
    Auto,
    /// SCF plain text, Node console lines, DevTools output, SCF exception JSON.
    Text,
    /// CLS (Cloud Log Service) JSON export, one record per line.
    Cls,
    /// CLS console CSV download: a header row naming the `SCF_*` fields, then one record a row.
    ClsCsv,
    /// `tcb fn log` (CloudBase CLI) output: one labelled block per invocation, Beijing time.
    TcbLog,
    /// WeChat Mini Program real-time log items, one JSON object per line.
    Realtime,
}

/// The shape a record was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Cls,
    ClsCsv,
    TcbLog,
    Realtime,
}

impl Format {
    /// As `--format` names it (the `form` of `check`'s inputs).
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Cls => "cls",
            Format::ClsCsv => "cls-csv",
            Format::TcbLog => "tcb-log",
            Format::Realtime => "realtime",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" | "fatal" => Some(Level::Error),
            _ => None,
        }
    }
}

/// One log record: the message and, where the format carries them, its own time, function, request id,
/// level and SCF status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub format: Format,
    /// The text the patterns run on: the whole line for text, `SCF_Message` for CLS, the entries'
    /// messages for real-time log items.
    pub message: Cow<'a, [u8]>,
    /// Event time, Unix milliseconds.
    pub time_ms: Option<i64>,
    pub function: Option<String>,
    /// Borrowed from the line where it stands there as is (a text line's id: no allocation per line).
    pub request_id: Option<Cow<'a, str>>,
    pub level: Option<Level>,
    pub status_code: Option<u16>,
    /// The function version the call ran under (`SCF_Qualifier`, else `SCF_Alias`), cleaned by
    /// `clean_version`; None where the line does not say (plain text: the source may, see `event`).
    pub version: Option<String>,
    /// The line looked like a structured record but was not valid JSON of that shape.
    pub malformed: bool,
    /// When the record's call started (`SCF_StartTime`, the same on every record of a call), Unix ms:
    /// the call's time whatever order its records come in.
    pub call_start_ms: Option<i64>,
}

impl<'a> Record<'a> {
    /// The same record with another message and request id (of another lifetime: a record kept
    /// apart from the bytes it was read from, `classify::ahead`).
    pub fn with_message<'b>(self, message: Cow<'b, [u8]>, request_id: Option<Cow<'b, str>>) -> Record<'b> {
        Record {
            format: self.format,
            message,
            time_ms: self.time_ms,
            function: self.function,
            request_id,
            level: self.level,
            status_code: self.status_code,
            version: self.version,
            malformed: self.malformed,
            call_start_ms: self.call_start_ms,
        }
    }

    pub(crate) fn text(message: &'a [u8]) -> Self {
        Record {
            format: Format::Text,
            message: Cow::Borrowed(message),
            time_ms: None,
            function: None,
            request_id: None,
            level: None,
            status_code: None,
            version: None,
            malformed: false,
            call_start_ms: None,
        }
    }
}

/// Longest version name kept; a longer one is `invalid` (a label value must stay short).
pub const MAX_VERSION_CHARS: usize = 40;

/// A version name as it may be shown and used as a label value: SCF versions are numbers, `$LATEST`,
/// or alias names (letters, digits, `-`, `_`). Anything else (too long, other characters: perhaps not
/// a version at all, perhaps a secret pasted in the wrong field) becomes `invalid`, never echoed.
/// Empty is no version.
pub fn clean_version(raw: &str) -> Option<String> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    let ok = v.len() <= MAX_VERSION_CHARS
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'$' | b'-' | b'_' | b'.'))
        && !looks_like_a_token(v);
    Some(if ok { v.to_string() } else { "invalid".to_string() })
}

/// A credential pasted where a version goes must not become a label: a JWT (base64 JSON, `eyJ…`, in
/// dotted parts) or a long run of letters and digits mixed (a key or secret). SCF versions are numbers,
/// `$LATEST` or alias names (words joined by `-` / `_`), which look like neither.
fn looks_like_a_token(v: &str) -> bool {
    let jwt = v.starts_with("eyJ") || v.split('.').filter(|p| p.len() >= 8).count() >= 2;
    let longest_run = v
        .split(['-', '_', '.', '$'])
        .filter(|p| p.bytes().any(|b| b.is_ascii_digit()) && p.bytes().any(|b| b.is_ascii_alphabetic()))
        .map(str::len)
        .max()
        .unwrap_or(0);
    jwt || longest_run >= 20
}

/// Parses one line (without its newline) in the given format.
pub fn parse(line: &[u8], choice: FormatChoice) -> Record<'_> {
    let json_like = line.trim_ascii_start().first() == Some(&b'{');
    let wanted = match choice {
        // One line of a multi-line form, seen without its stream: read as text. `RecordReader` is the
        // way to read those forms.
        FormatChoice::Text | FormatChoice::ClsCsv | FormatChoice::TcbLog => None,
        FormatChoice::Cls => Some(Format::Cls),
        FormatChoice::Realtime => Some(Format::Realtime),
        FormatChoice::Auto if !json_like => None,
        FormatChoice::Auto if memchr::memmem::find(line, b"\"SCF_").is_some() => Some(Format::Cls),
        FormatChoice::Auto if looks_realtime(line) => Some(Format::Realtime),
        FormatChoice::Auto => None,
    };
    let Some(format) = wanted else {
        return parse_text(line);
    };
    if format == Format::Cls {
        return match crate::formats::cls_json::read(line) {
            Ok(Some(fields)) if fields.scf => from_cls_fields(|key| fields.get(key), Format::Cls),
            // Valid JSON of another shape is text, not malformed.
            Ok(_) => parse_text(line),
            Err(_) => Record { malformed: true, ..parse_text(line) },
        };
    }
    let Ok(value) = serde_json::from_slice::<Value>(line) else {
        return Record { malformed: true, ..parse_text(line) };
    };
    // Valid JSON of another shape (a pino line with "level" and "msg") is text, not malformed.
    let parsed = match format {
        Format::Realtime => from_realtime(&value),
        Format::Cls | Format::Text | Format::ClsCsv | Format::TcbLog => None,
    };
    parsed.unwrap_or_else(|| parse_text(line))
}

/// Real-time log items end with `traceid`, so a cut one still has `level` and `msg` near its start.
fn looks_realtime(line: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(line, needle).is_some();
    has(b"\"msg\"") && has(b"\"level\"")
}

const RUNTIME_PREFIXES: [&[u8]; 5] =
    [b"START RequestId:", b"END RequestId:", b"Report RequestId:", b"Event RequestId:", b"Response RequestId:"];

/// SCF runtime lines keep their whole text as message (a `START` line is a login-attempt signal); Node
/// console lines lose their `time<TAB>request id<TAB>` prefix so that a quoted comment is seen as one.
pub(crate) fn parse_text(line: &[u8]) -> Record<'_> {
    let mut rec = Record::text(line);
    if line.first() == Some(&b'{') && memchr::memmem::find(line, b"\"requestId\"").is_some() {
        let (id, status) = scf_exception(line);
        (rec.request_id, rec.status_code) = (id.map(Cow::Owned), status);
        return rec;
    }
    if let Some(prefix) = RUNTIME_PREFIXES.iter().find(|p| line.starts_with(p)) {
        rec.request_id = first_token(&line[prefix.len()..]).map(borrowed);
        return rec;
    }
    let Some((ms, used)) = timefmt::parse_iso_prefix(line) else {
        return rec;
    };
    rec.time_ms = Some(ms);
    let mut rest = &line[used..];
    if let Some(id) = id_token(rest) {
        rec.request_id = Some(borrowed(id));
        rest = skip_token(rest);
        if let Some(level) = level_token(rest) {
            rec.level = Some(level);
            rest = skip_token(rest);
        }
    }
    rec.message = Cow::Borrowed(rest.trim_ascii_start());
    rec
}

fn level_word(t: &str) -> Option<Level> {
    matches!(t, "ERROR" | "WARN" | "INFO" | "DEBUG").then(|| Level::parse(t)).flatten()
}

/// The level word a message may start with. Only its first 6 bytes are looked at: a message that
/// is no level (a returned object, often long and without a space) is not walked to its end.
fn level_token(rest: &[u8]) -> Option<Level> {
    let b = rest.trim_ascii_start();
    let end = b.iter().take(6).position(u8::is_ascii_whitespace).unwrap_or(b.len());
    if end > 5 {
        return None;
    }
    std::str::from_utf8(&b[..end]).ok().and_then(level_word)
}

fn first_token(b: &[u8]) -> Option<&[u8]> {
    let b = b.trim_ascii_start();
    let end = b.iter().position(u8::is_ascii_whitespace).unwrap_or(b.len());
    (end > 0).then(|| &b[..end])
}

fn skip_token(b: &[u8]) -> &[u8] {
    let b = b.trim_ascii_start();
    let end = b.iter().position(u8::is_ascii_whitespace).unwrap_or(b.len());
    &b[end..]
}

/// The request id a text line's message may start with: a token of 16 to 64 hex digits and dashes
/// ending at whitespace or the line's end. No more of a message that has none is walked than that.
fn id_token(rest: &[u8]) -> Option<&[u8]> {
    let b = rest.trim_ascii_start();
    // One table lookup a byte: the branches of `is_ascii_hexdigit` mispredict on random hex (they
    // were half of `parse_text`'s time on a load test's export).
    let n = b.iter().take(65).position(|&c| !ID_BYTE[usize::from(c)]).unwrap_or(b.len().min(65));
    let ends = b.get(n).is_none_or(u8::is_ascii_whitespace);
    (ends && (16..=64).contains(&n)).then(|| &b[..n])
}

/// The bytes of an SCF request id (a UUID or 32 hex digits): hex digits and `-`.
static ID_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_hexdigit() || c == b'-' as usize;
        c += 1;
    }
    t
};

/// As is where it is UTF-8 (ids always are), else with replacement characters.
fn borrowed(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// CLS values are documented as strings; numbers are accepted too because exporters differ.
fn field_str(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn field_i64(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// The SCF exception JSON the runtime prints when a function throws:
/// `{"errorCode":-1,"errorMessage":"user code exception caught","requestId":"…","stackTrace":"…","statusCode":430}`.
/// Returns its request id and status code. A line cut before its end (CLS cuts messages at 8 KB) still
/// gives the fields found before the cut.
pub(crate) fn scf_exception(line: &[u8]) -> (Option<String>, Option<u16>) {
    if let Ok(v) = serde_json::from_slice::<Value>(line) {
        let status = field_i64(&v, "statusCode").and_then(|c| u16::try_from(c).ok());
        return (field_str(&v, "requestId").filter(|s| !s.is_empty()), status);
    }
    let after = |key: &[u8]| memchr::memmem::find(line, key).map(|i| &line[i + key.len()..]);
    let id = after(b"\"requestId\":\"").and_then(|rest| {
        let end = memchr::memchr(b'"', rest)?;
        (end > 0).then(|| lossy(&rest[..end]))
    });
    let status = after(b"\"statusCode\":").and_then(|rest| {
        let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        std::str::from_utf8(&rest[..n]).ok()?.parse().ok()
    });
    (id, status)
}

/// A time field: an integer in `unit_ms` per millisecond (1 for ms, 1e6 for ns), or, as some exporters
/// print it, a date-time (Beijing time when it names no zone, as the CLS console shows it).
fn time_field(s: &str, per_ms: i64) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n / per_ms);
    }
    timefmt::parse_local_prefix(s.as_bytes(), timefmt::BEIJING).map(|(ms, _)| ms)
}

/// The one mapping of CLS fields to a record, shared by the JSON export and the CSV download: `get`
/// returns a field's value by its CLS name. Every value is a string in both forms.
pub(crate) fn from_cls_fields<'v>(get: impl Fn(&str) -> Option<Cow<'v, str>>, format: Format) -> Record<'static> {
    let text = |key: &str| get(key).map(Cow::into_owned);
    let message = text("SCF_Message").unwrap_or_default();
    let time_ms = get("SCF_LogTime")
        .and_then(|t| time_field(&t, 1_000_000))
        .or_else(|| get("SCF_StartTime").and_then(|t| time_field(&t, 1)))
        .or_else(|| timefmt::parse_iso_prefix(message.as_bytes()).map(|(ms, _)| ms))
        .or_else(|| get("__TIMESTAMP__").and_then(|t| time_field(&t, 1)));
    let (mut request_id, mut status_code) = (text("SCF_RequestId").filter(|s| !s.is_empty()), None);
    if let Some(code) = get("SCF_StatusCode").and_then(|c| c.trim().parse::<u16>().ok()) {
        status_code = Some(code);
    }
    // A thrown exception's JSON names its call even where the export left SCF_RequestId out.
    if message.starts_with('{') && message.contains("\"requestId\"") {
        let (id, code) = scf_exception(message.as_bytes());
        request_id = request_id.or(id);
        status_code = status_code.or(code);
    }
    Record {
        format,
        time_ms,
        function: text("SCF_FunctionName").filter(|s| !s.is_empty()),
        request_id: request_id.map(Cow::Owned),
        level: get("SCF_Level").as_deref().and_then(Level::parse),
        status_code,
        // The version a call ran under; through an alias that does not name it, the alias.
        version: get("SCF_Qualifier")
            .and_then(|v| clean_version(&v))
            .or_else(|| get("SCF_Alias").and_then(|v| clean_version(&v))),
        malformed: false,
        call_start_ms: get("SCF_StartTime").and_then(|t| time_field(&t, 1)),
        message: Cow::Owned(message.into_bytes()),
    }
}

/// `level` is a bit-or of 2 info, 4 warn, 8 error.
fn realtime_level(bits: i64) -> Option<Level> {
    [(8, Level::Error), (4, Level::Warn), (2, Level::Info)].into_iter().find(|(b, _)| bits & b != 0).map(|(_, l)| l)
}

fn from_realtime(v: &Value) -> Option<Record<'static>> {
    let entries = v.get("msg")?.as_array()?;
    let mut message = String::new();
    for entry in entries {
        let parts: Vec<&Value> = match entry.get("msg") {
            Some(Value::Array(parts)) => parts.iter().collect(),
            Some(other) => vec![other],
            None => vec![entry],
        };
        for part in parts {
            if !message.is_empty() {
                message.push(' ');
            }
            match part {
                Value::String(s) => message.push_str(s),
                other => message.push_str(&other.to_string()),
            }
        }
    }
    let time_ms =
        field_i64(v, "timestamp").map(|s| s * 1000).or_else(|| entries.first().and_then(|e| field_i64(e, "time")));
    Some(Record {
        format: Format::Realtime,
        message: Cow::Owned(message.into_bytes()),
        time_ms,
        function: None,
        request_id: field_str(v, "traceid").map(Cow::Owned),
        level: field_i64(v, "level").and_then(realtime_level),
        status_code: None,
        version: None,
        malformed: false,
        call_start_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_the_version_field_is_never_a_label() {
        for token in [
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ] {
            assert_eq!(clean_version(token).as_deref(), Some("invalid"), "{token}");
        }
        for version in ["$LATEST", "3", "12", "prod", "canary-2024-06", "gray_release", "v1.2.3", "release-20240601-1"]
        {
            assert_eq!(clean_version(version).as_deref(), Some(version), "{version}");
        }
    }

    fn msg<'a>(r: &'a Record<'_>) -> &'a str {
        std::str::from_utf8(&r.message).unwrap()
    }

    #[test]
    fn node_console_line_loses_its_prefix() {
        let r =
            parse(b"2021-12-27T03:53:59.192Z\t8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\thello world", FormatChoice::Auto);
        assert_eq!(r.time_ms, Some(1_640_577_239_192));
        assert_eq!(r.request_id.as_deref(), Some("8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"));
        assert_eq!(msg(&r), "hello world");
        let r = parse(b"2021-12-27T03:53:59.192Z 0123456789abcdef0123456789abcdef ERROR boom", FormatChoice::Auto);
        assert_eq!((r.level, msg(&r)), (Some(Level::Error), "boom"));
    }

    #[test]
    fn runtime_lines_keep_their_text() {
        let r = parse(b"START RequestId: 8f4c0b5e-0a1b-4c2d-9e3f-123456789abc", FormatChoice::Auto);
        assert_eq!(r.request_id.as_deref(), Some("8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"));
        assert_eq!(msg(&r), "START RequestId: 8f4c0b5e-0a1b-4c2d-9e3f-123456789abc");
        let r = parse(b"Response RequestId:0123456789abcdef0123456789abcdef RetMsg:{}", FormatChoice::Auto);
        assert_eq!(r.request_id.as_deref(), Some("0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn cls_fields_are_strings() {
        let line = br#"{"SCF_FunctionName":"getLoginTicket","SCF_StartTime":"1741915325117","SCF_LogTime":"1741915325190000000","SCF_RequestId":"r1","SCF_Level":"ERROR","SCF_Message":"a {\"errcode\":45011}","SCF_StatusCode":"430"}"#;
        let r = parse(line, FormatChoice::Auto);
        assert_eq!(r.format, Format::Cls);
        assert_eq!(msg(&r), r#"a {"errcode":45011}"#);
        assert_eq!(r.time_ms, Some(1_741_915_325_190));
        assert_eq!(r.function.as_deref(), Some("getLoginTicket"));
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(r.status_code, Some(430));
        // The simplified export has no SCF_LogTime: the start time stands in.
        let r = parse(br#"{"SCF_StartTime":"1741915325117","SCF_Message":"x"}"#, FormatChoice::Auto);
        assert_eq!(r.time_ms, Some(1_741_915_325_117));
    }

    #[test]
    fn realtime_items_join_entries_and_drop_the_openid() {
        let line = br#"{"level":12,"id":"oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O","timestamp":1741915325,"msg":[{"time":1,"level":4,"msg":["a",{"code":"X"}]},{"time":2,"level":8,"msg":["b"]}],"traceid":"t1"}"#;
        let r = parse(line, FormatChoice::Auto);
        assert_eq!(r.format, Format::Realtime);
        assert_eq!(msg(&r), r#"a {"code":"X"} b"#);
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(r.time_ms, Some(1_741_915_325_000));
        assert!(!format!("{r:?}").contains("oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O"));
    }

    #[test]
    fn scf_exception_json_gives_request_id_and_status() {
        let line = br#"{"errorCode":-1,"errorMessage":"user code exception caught","requestId":"8f4c0b5e-0a1b-4c2d-9e3f-123456789abc","stackTrace":"Error: x\n    at y","statusCode":430}"#;
        let r = parse(line, FormatChoice::Auto);
        assert_eq!((r.format, r.malformed), (Format::Text, false));
        assert_eq!(r.request_id.as_deref(), Some("8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"));
        assert_eq!(r.status_code, Some(430));
        assert_eq!(&*r.message, &line[..]);
        // Inside a CLS record that left SCF_RequestId out.
        let cls = serde_json::json!({"SCF_Message": std::str::from_utf8(line).unwrap()}).to_string();
        let r = parse(cls.as_bytes(), FormatChoice::Auto);
        assert_eq!((r.format, r.status_code), (Format::Cls, Some(430)));
        assert_eq!(r.request_id.as_deref(), Some("8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"));
    }

    #[test]
    fn format_names_on_the_command_line() {
        use clap::ValueEnum;
        let names: Vec<String> = FormatChoice::value_variants()
            .iter()
            .map(|v| v.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(names, ["auto", "text", "cls", "cls-csv", "tcb-log", "realtime"]);
    }

    #[test]
    fn broken_json_is_text_and_flagged() {
        let line = br#"{"SCF_Message":"{\"errcode\":45011"#;
        let r = parse(line, FormatChoice::Auto);
        assert_eq!((r.format, r.malformed), (Format::Text, true));
        assert_eq!(&*r.message, &line[..]);
        let r = parse(b"plain words", FormatChoice::Cls);
        assert!(r.malformed);
        let r = parse(br#"{"level":30,"msg":"pino says hi"}"#, FormatChoice::Auto);
        assert_eq!((r.format, r.malformed), (Format::Text, false));
        // Plain JSON that is no known record is just text, not malformed.
        let r = parse(br#"{"errcode":40029}"#, FormatChoice::Auto);
        assert_eq!((r.format, r.malformed), (Format::Text, false));
    }
}
