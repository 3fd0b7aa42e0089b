//! A corpus shaped like a login load test's export (the shape the performance issue was measured on):
//! every call of `getLoginTicket` prints its START, its own console lines, WeChat's `jscode2session`
//! answer (`{"errcode":0,…}` for most), its END and its Report line, each call with its own request
//! id; about 4 % of calls fail and print their error twice (`console.error` and the platform's
//! `Response … RetMsg`). As SCF prints it (text: START / END / Report without a time) or as the CLS
//! JSON export writes the same records (`--json`). Deterministic: the same seed gives the same bytes.
//!
//! cargo run --release --example gen_loadtest -- LINES [--json] [--seed S] > file

use std::io::{self, BufWriter, Write};

/// xorshift64*: deterministic, no dependency, plenty for shaping a corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ERRORS: [&str; 8] = [
    r#"{"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-1b2c3d4e-5f607182"}"#,
    r#"{"errcode":40029,"errmsg":"invalid code, rid: 67d3855a-1b2c3d4e-5f607182"}"#,
    r#"{"errcode":40163,"errmsg":"code been used, rid: 67d3855a-1b2c3d4e-5f607182"}"#,
    r#"createTicket failed: Invalid uid: "undefined""#,
    r#"Error: {"code":"OPERATION_FAIL","msg":"[AUTH_INVALID_CUSTOM_LOGIN_TICKET] ticket is invalid or expired"}"#,
    r#"[@cloudbase/js-sdk][NETWORK_ERROR]:{"code":"NETWORK_ERROR","msg":"refresh access_token failed：SIGN_PARAM_INVALID"}"#,
    r#"Error: {"code":"OPERATION_FAIL","msg":"[LOGIN_MANNER_UNREGISTED] custom login is not enabled"}"#,
    r#"{"errcode":40226,"errmsg":"code blocked, rid: 67d3855a-1b2c3d4e-5f607182"}"#,
];

struct Out<W: Write> {
    w: W,
    json: bool,
    lines: u64,
}

impl<W: Write> Out<W> {
    /// One record: `own_time` false for the platform's lines, which SCF prints without a time.
    fn line(&mut self, t_ms: i64, start_ms: i64, id: &str, own_time: bool, msg: &str) -> io::Result<()> {
        self.lines += 1;
        if self.json {
            let rec = serde_json::json!({
                "SCF_FunctionName": "getLoginTicket",
                "SCF_Namespace": "staging-4g7h8j9k",
                "SCF_StartTime": start_ms.to_string(),
                "SCF_LogTime": (t_ms as i128 * 1_000_000).to_string(),
                "SCF_RequestId": id,
                "SCF_Qualifier": "$LATEST",
                "SCF_Level": "INFO",
                "SCF_Message": msg,
                "SCF_Type": if own_time { "Custom" } else { "Platform" },
                "SCF_StatusCode": "200",
            });
            writeln!(self.w, "{rec}")
        } else if own_time {
            writeln!(self.w, "{}\t{id}\t{msg}", iso(t_ms))
        } else {
            writeln!(self.w, "{msg}")
        }
    }
}

fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms.rem_euclid(1000))
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let want: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let json = args.iter().any(|a| a == "--json");
    let seed = args.iter().position(|a| a == "--seed").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(1u64);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Out { w: BufWriter::with_capacity(1 << 20, io::stdout().lock()), json, lines: 0 };
    // 2026-11-25T08:00:00Z; calls start ~25 ms apart (a load of ~2,400 logins a minute).
    let mut t: i64 = 1_764_057_600_000;
    while out.lines < want {
        t += 5 + rng.below(40) as i64;
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            rng.next() as u32,
            rng.below(1 << 16),
            rng.below(1 << 12),
            0x8000 | rng.below(1 << 14),
            rng.next() & 0xFFFF_FFFF_FFFF
        );
        let start = t;
        out.line(t, start, &id, false, &format!("START RequestId: {id}"))?;
        out.line(t + 1, start, &id, true, &format!("[getLoginTicket] code received, length {}", 30 + rng.below(6)))?;
        let failing = rng.below(100) < 4;
        if failing {
            let e = ERRORS[rng.below(ERRORS.len() as u64) as usize];
            out.line(t + 90, start, &id, true, e)?;
            out.line(t + 92, start, &id, false, &format!("Response RequestId:{id} RetMsg:{e}"))?;
        } else {
            let openid: String = (0..27)
                .map(|_| {
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"[rng.below(64) as usize] as char
                })
                .collect();
            out.line(
                t + 90,
                start,
                &id,
                true,
                &format!(
                    r#"{{"errcode":0,"errmsg":"ok","session_key":"tiihtNczf5v6AKRyjwEUhQ==","openid":"o{openid}"}}"#
                ),
            )?;
            out.line(t + 120, start, &id, true, &format!("[getLoginTicket] ticket length: {}", 380 + rng.below(80)))?;
        }
        let d = 120 + rng.below(200);
        out.line(t + d as i64, start, &id, false, &format!("END RequestId: {id}"))?;
        out.line(
            t + d as i64,
            start,
            &id,
            false,
            &format!(
                "Report RequestId: {id} Duration:{d}ms Memory:256MB MaxMemoryUsed:{}.{:06}MB",
                25 + rng.below(40),
                rng.below(1_000_000)
            ),
        )?;
    }
    out.w.flush()
}
