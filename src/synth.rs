//! Synthetic but realistic Cloud Function logs, for the demo and the benchmark corpus.
//!
//! Contract: deterministic for a seed. Each `invocation` writes what SCF prints for one call of a
//! function (START, Event, console lines, Response, END, Report), as plain text or as CLS JSON export
//! records, and, when asked, one error line in the shape real services print it.

/// splitmix64: tiny, fast and identical on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n).map(|_| A[self.below(A.len() as u64) as usize] as char).collect()
    }
}

/// Error lines as functions and SDKs print them; `{rid}` is WeChat's request id. Index 0 is 45011.
pub const ERRORS: &[&str] = &[
    r#"jscode2session {"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: {rid}"}"#,
    r#"jscode2session {"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: {rid}"}"#,
    r#"jscode2session {"errcode":40029,"errmsg":"invalid code, rid: {rid}"}"#,
    r#"jscode2session failed { errcode: 40163, errmsg: 'code been used, rid: {rid}' }"#,
    "createTicket failed: customUserId must match /^[A-Za-z0-9_\\-#@(){}\\[\\]:.,<>+#~]{4,32}$/",
    r#"createTicket failed {"code":"SIGN_PARAM_INVALID","message":"signature is expired"}"#,
    "Error: 当前私钥所属环境与 init 指定环境不一致！",
    r#"signInWithCustomTicket failed { code: 'INVALID_TICKET', message: 'ticket is invalid or expired' }"#,
    r#"[@cloudbase/js-sdk][SYSTEM_NOT_OPEN]:custom login is not enabled"#,
    r#"db get failed {"code":"DATABASE_PERMISSION_DENIED","message":"Permission denied"}"#,
    r#"{"errcode":40226,"errmsg":"code blocked, rid: {rid}"}"#,
    r#"{"errcode":-1,"errmsg":"system error, rid: {rid}"}"#,
];

pub const LOGIN_FUNCTION: &str = "getLoginTicket";
const FUNCTIONS: &[&str] = &[LOGIN_FUNCTION, LOGIN_FUNCTION, LOGIN_FUNCTION, "listOrders", "httpApi"];

/// 2025-03-14T01:00:00Z: where the synthetic clock starts unless told otherwise.
pub const START_MS: u64 = 1_741_914_000_000;

pub struct Synth {
    rng: Rng,
    /// The synthetic clock, Unix ms; each line moves it forward a little.
    pub now_ms: u64,
    pub cls: bool,
    /// About this many lines in a thousand are errors (`random_error`).
    pub error_permille: u64,
}

/// Which error an invocation prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorChoice {
    None,
    /// Per `error_permille`, from the whole table.
    Random,
    /// This entry of `ERRORS`.
    Index(usize),
}

impl Synth {
    pub fn new(seed: u64, start_ms: u64, cls: bool, error_permille: u64) -> Synth {
        Synth { rng: Rng::new(seed), now_ms: start_ms, cls, error_permille }
    }

    fn emit(&mut self, out: &mut Vec<u8>, function: &str, rid: &str, platform: bool, message: &str) {
        if self.cls {
            let log_ns = self.now_ms * 1_000_000 + self.rng.below(1_000_000);
            let line = format!(
                "{{\"SCF_Alias\":\"$DEFAULT\",\"SCF_Duration\":\"{}\",\"SCF_FunctionName\":\"{function}\",\"SCF_Level\":\"INFO\",\"SCF_LogTime\":\"{log_ns}\",\"SCF_MemUsage\":\"{}\",\"SCF_Message\":{},\"SCF_Namespace\":\"prod-1g2h3j4k\",\"SCF_Qualifier\":\"$LATEST\",\"SCF_RequestId\":\"{rid}\",\"SCF_RetryNum\":\"0\",\"SCF_StartTime\":\"{}\",\"SCF_StatusCode\":\"200\",\"SCF_Type\":\"{}\"}}\n",
                20 + self.rng.below(400),
                30_000_000 + self.rng.below(9_000_000),
                serde_json::Value::String(message.to_string()),
                self.now_ms.saturating_sub(40),
                if platform { "Platform" } else { "Custom" },
            );
            out.extend_from_slice(line.as_bytes());
        } else {
            out.extend_from_slice(message.as_bytes());
            out.push(b'\n');
        }
    }

    fn console(&mut self, out: &mut Vec<u8>, function: &str, rid: &str, text: &str) {
        self.now_ms += 1 + self.rng.below(30);
        let msg = format!("{}\t{rid}\t{text}", crate::timefmt::format_utc(self.now_ms as i64));
        self.emit(out, function, rid, false, &msg);
    }

    /// One invocation of a random function (`function` forces one), appended to `out`.
    pub fn invocation(&mut self, out: &mut Vec<u8>, function: Option<&str>, error: ErrorChoice) {
        let function =
            function.unwrap_or_else(|| FUNCTIONS[self.rng.below(FUNCTIONS.len() as u64) as usize]).to_string();
        let function = function.as_str();
        let rid = self.rng.uuid();
        self.now_ms += self.rng.below(200);
        self.emit(out, function, &rid, true, &format!("START RequestId: {rid}"));
        self.emit(out, function, &rid, true, &format!("Event RequestId: {rid}"));
        match function {
            LOGIN_FUNCTION => {
                self.console(out, function, &rid, "[getLoginTicket] event code received, length 32");
                self.console(out, function, &rid, "[getLoginTicket] jscode2session ok, session cached");
                let len = 440 + self.rng.below(60);
                self.console(out, function, &rid, &format!("[getLoginTicket] ticket length: {len}"));
            }
            "listOrders" => {
                for _ in 0..1 + self.rng.below(4) {
                    let n = self.rng.below(50);
                    let text = format!(
                        "[listOrders] db.collection('orders').where({{ status: 'paid' }}).get() returned {n} docs"
                    );
                    self.console(out, function, &rid, &text);
                }
            }
            _ => {
                let path = ["/api/profile", "/api/orders", "/api/cart"][self.rng.below(3) as usize];
                let ms = 3 + self.rng.below(90);
                self.console(out, function, &rid, &format!("[httpApi] GET {path} 200 in {ms}ms"));
            }
        }
        // An invocation writes ~8 lines: erring in 8×permille of them makes ~permille ‰ of all lines errors.
        let chosen = match error {
            ErrorChoice::None => None,
            ErrorChoice::Index(i) => Some(i.min(ERRORS.len() - 1)),
            ErrorChoice::Random => {
                (self.rng.below(1000) < self.error_permille * 8).then(|| self.rng.below(ERRORS.len() as u64) as usize)
            }
        };
        if let Some(i) = chosen {
            let wx_rid = format!(
                "{:08x}-{:08x}-{:08x}",
                self.rng.next_u64() as u32,
                self.rng.next_u64() as u32,
                self.rng.next_u64() as u32
            );
            let text = ERRORS[i].replace("{rid}", &wx_rid);
            self.console(out, function, &rid, &text);
        }
        let body = if function == "httpApi" {
            let items = self.rng.below(20);
            format!(
                r#"{{"statusCode":200,"headers":{{"content-type":"application/json"}},"body":"{{\"ok\":true,\"items\":{items}}}"}}"#
            )
        } else {
            format!(r#"{{"ok":true,"ticket":"{}/@@/…","expiresIn":600}}"#, self.rng.alnum(8))
        };
        self.emit(out, function, &rid, true, &format!("Response RequestId:{rid} RetMsg:{body}"));
        self.emit(out, function, &rid, true, &format!("END RequestId: {rid}"));
        let duration = 5 + self.rng.below(400);
        let used = 28.0 + (self.rng.below(8_000_000) as f64) / 1_000_000.0;
        self.emit(
            out,
            function,
            &rid,
            true,
            &format!("Report RequestId: {rid} Duration:{duration}ms Memory:256MB MaxMemoryUsed:{used:.6}MB"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_errors_are_recognised() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut s1 = Synth::new(7, START_MS, false, 30);
        let mut s2 = Synth::new(7, START_MS, false, 30);
        for _ in 0..200 {
            s1.invocation(&mut a, None, ErrorChoice::Random);
            s2.invocation(&mut b, None, ErrorChoice::Random);
        }
        assert_eq!(a, b);
        let mut one = Vec::new();
        Synth::new(1, START_MS, true, 0).invocation(&mut one, Some(LOGIN_FUNCTION), ErrorChoice::Index(0));
        let c = crate::classify::Classifier::new(
            crate::patterns::Catalogue::builtin().unwrap(),
            crate::record::FormatChoice::Auto,
        )
        .unwrap();
        let ids: Vec<String> = one
            .split(|&b| b == b'\n')
            .filter_map(|l| c.classify(l).and_then(|x| x.pattern))
            .map(|i| c.catalogue().get(i).id.clone())
            .collect();
        assert_eq!(ids, ["wx_45011_minute_quota"]);
    }
}
