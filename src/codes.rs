//! The code tables: how a reported code is compared, and which codes are errors of WeChat or the
//! CloudBase SDKs that none of the ten covers.
//!
//! Semantics:
//! - A code is compared after `normalize`: ASCII letters upper-cased, a camelCase hump and any run of
//!   punctuation or spaces become one `_`, a leading `-` of a number is kept. So `ticket_expired`,
//!   `TICKET-EXPIRED`, `TicketExpired` and `"TICKET_EXPIRED"` are one code, and `-502003` stays itself.
//!   Which of the ten a code stands for is the pattern files' business (`[match] codes`); this file
//!   holds what is not one of the ten.
//! - `KNOWN` lists the error codes the SDKs and WeChat define, each from the package and version
//!   named beside it (the same list is in patterns/README.md). A line that reports one of them, and
//!   no code of the ten, is `unlisted` even where it carries no failure word.
//! - `UNLISTED_CODES` says what the commonest of them mean, for `authwatch explain`.

/// `ticket-expired`, `TicketExpired`, `"TICKET_EXPIRED"` → `TICKET_EXPIRED`; `-502003` → `-502003`.
pub fn normalize(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut prev_lower = false;
    for c in code.trim().chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            // A number's sign is part of it (wx-server-sdk's -502003); anything else separates words.
            let sign = c == '-' && out.is_empty();
            if sign {
                out.push('-');
            } else if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out == "-" { String::new() } else { out }
}

/// Error codes none of the ten covers, normalised, by where they were read. Codes of the ten (for
/// example `PERMISSION_DENIED`, `SIGN_PARAM_INVALID`, 45011) are in the pattern files instead.
pub const KNOWN: &[(&str, &[&str])] = &[
    (
        // WeChat's global return codes and jscode2session's (log-formats.md), other than 40029 / 40163 / 45011.
        "WeChat return codes",
        &[
            "-1", "40001", "40002", "40013", "40125", "40226", "41002", "41004", "41008", "42001", "45009", "48001",
            "61006",
        ],
    ),
    (
        // index.js ERR_CODE and its name tables: errCode numbers and names (-502003 is guide error 10).
        "wx-server-sdk@3.0.4",
        &[
            "-501001",
            "-501002",
            "-501003",
            "-501004",
            "-501005",
            "-501006",
            "-501007",
            "-501008",
            "-501009",
            "-502001",
            "-502002",
            "-502004",
            "-502005",
            "-503001",
            "-503002",
            "-503003",
            "-503004",
            "-504001",
            "-504002",
            "SYS_ERR",
            "SERVER_TIMEOUT",
            "EXCEED_REQUEST_LIMIT",
            "EXCEED_CONCURRENT_REQUEST_LIMIT",
            "INVALIID_ENV",
            "INVALID_COMMON_PARAM",
            "INVALID_PARAM",
            "INVALID_REQUEST_SOURCE",
            "RESOURCE_NOT_INITIAL",
            "DATABASE_REQUEST_FAILED",
            "DATABASE_INVALID_OPERRATOR",
            "DATABASE_COLLECTION_EXCEED_LIMIT",
            "DATABASE_COLLECTION_NOT_EXIST",
            "STORAGE_REQUEST_FAIL",
            "STORAGE_EXCEED_AUTHORITY",
            "STORAGE_FILE_NONEXIST",
            "STORAGE_SIGN_PARAM_INVALID",
            "FUNCTIONS_REQUEST_FAIL",
            "FUNCTIONS_EXECUTE_FAIL",
            "TCB_STORAGE_PERMISSION_DENIED",
            "TCB_STORAGE_INVALID_SIGN_PARAM",
            "TCB_FUNCTIONS_EXEC_FAIL",
            "TCB_EXCEED_REQUEST_LIMIT",
            "TCB_RESOURCE_SERVER_TIMEOUT",
            "WX_SYSTEM_ERROR",
            "WX_SYSTEM_NETWORK_ERROR",
            "WX_SERVER_REQUEST_TIMEOUT",
            "WX_API_PERMISSION_DENIED",
            "WX_UNAUTHORIZED_API",
            "WX_UNAUTHORIZED_ENV",
        ],
    ),
    (
        // @cloudbase/utilities constants ERRORS, printed as [@cloudbase/js-sdk][CODE].
        "@cloudbase/utilities@2.27.2",
        &["INVALID_PARAMS", "INVALID_SYNTAX", "INVALID_OPERATION", "OPERATION_FAIL", "NETWORK_ERROR", "UNKOWN_ERROR"],
    ),
    (
        // auth/consts ErrorType, the OAuth `error` values (permission_denied, unauthenticated and the
        // custom-login ones belong to the ten).
        "@cloudbase/oauth@3.3.3",
        &[
            "ABORTED",
            "ACCESS_DENIED",
            "ALREADY_EXISTS",
            "CAPTCHA_INVALID",
            "CAPTCHA_REQUIRED",
            "DEADLINE_EXCEEDED",
            "FAILED_PRECONDITION",
            "INTERNAL",
            "INVALID_ARGUMENT",
            "INVALID_CREDENTIALS",
            "INVALID_GRANT",
            "INVALID_PASSWORD",
            "INVALID_REQUEST",
            "INVALID_SCOPE",
            "INVALID_STATUS",
            "LOGIN_REQUIRED",
            "NOT_FOUND",
            "OUT_OF_RANGE",
            "PASSWORD_NOT_SET",
            "RESOURCE_EXHAUSTED",
            "SERVER_ERROR",
            "TEMPORARILY_UNAVAILABLE",
            "UNAUTHORIZED_CLIENT",
            "UNAVAILABLE",
            "UNIMPLEMENTED",
            "UNKNOWN",
            "UNREACHABLE",
            "USER_BLOCKED",
            "USER_NOT_FOUND",
            "USER_PENDING",
            "WRONG_PASSWORD",
        ],
    ),
    (
        // Codes the js-sdk 2.x modules compare server answers with (auth, realtime, storage).
        "@cloudbase/js-sdk@2.27.2",
        &[
            "ACCESS_TOKEN_EXPIRED",
            "REFRESH_TOKEN_EXPIRED",
            "CHECK_LOGIN_FAILED",
            "SIGN_INVALID_ERROR",
            "SIGN_EXPIRED_ERROR",
            "QUERYID_INVALID_ERROR",
            "SERVICE_ERROR",
            "UNKNOWN_ERROR",
            "FILE_NOT_FOUND",
        ],
    ),
    (
        // TcbError codes and the Node network errors it passes on.
        "@cloudbase/node-sdk@3.18.1",
        &["INVALID_CONTEXT", "FETCH_FILE_INFO_ERROR", "TCB_CLS_UNOPEN", "ETIMEDOUT", "ESOCKETTIMEDOUT", "ECONNRESET"],
    ),
];

/// Whether a normalised code is a known error code that none of the ten covers.
pub fn is_known(code: &str) -> bool {
    KNOWN.iter().any(|(_, codes)| codes.contains(&code))
}

/// Codes that none of the ten answers to but `unlisted` counts when a log line carries them: what each
/// is, from WeChat's and CloudBase's documentation (log-formats facts), and where to look.
pub const UNLISTED_CODES: [(&str, &str); 10] = [
    ("-1", "WeChat: system busy. Retry the call after a moment; persistent -1 is on WeChat's side."),
    (
        "40226",
        "WeChat jscode2session: code blocked, a high-risk user. WeChat refuses to log this user in; nothing in your code can fix it for that user.",
    ),
    (
        "40013",
        "WeChat: invalid AppID. The Cloud Function calls jscode2session with an AppID that is not this Mini Program's.",
    ),
    (
        "40125",
        "WeChat: invalid AppSecret. The secret the Cloud Function sends to jscode2session is wrong or was reset.",
    ),
    ("41008", "WeChat jscode2session: missing code. The event reached the Cloud Function without the wx.login code."),
    ("45009", "WeChat: the API's daily quota is reached (45011 is the per-minute one)."),
    ("40001", "WeChat: invalid credential, an access_token that is wrong or not the latest."),
    ("42001", "WeChat: access_token expired. Refresh it before calling the API."),
    ("-502005", "wx-server-sdk / CloudBase database: the collection does not exist (create it, or check the env)."),
    ("-504002", "wx-server-sdk: the called Cloud Function failed (functions execute fail); its own logs say why."),
];

/// A key no pattern answers to, but that `unlisted` counts where a log line carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlistedCode {
    pub code: String,
    /// "WeChat errcode" or "CloudBase SDK code": how a log line carries it.
    pub kind: &'static str,
    /// What it is, where known (`UNLISTED_CODES`).
    pub what: Option<&'static str>,
}

/// For `explain KEY` when no pattern answers: a known code (`UNLISTED_CODES`), any other non-zero
/// number (an errcode, which `unlisted` counts), or an upper-case SDK code (`[@cloudbase/js-sdk][CODE]`,
/// `code: CODE`). None: the key is not a code at all.
pub fn unlisted_code(key: &str) -> Option<UnlistedCode> {
    let key = key.trim();
    let errcode = "WeChat errcode (or wx-server-sdk errCode)";
    if let Some((code, what)) = UNLISTED_CODES.iter().find(|(c, _)| *c == key) {
        let kind = if code.starts_with("-50") { "wx-server-sdk errCode" } else { errcode };
        return Some(UnlistedCode { code: code.to_string(), kind, what: Some(what) });
    }
    let digits = key.strip_prefix('-').unwrap_or(key);
    // `unlisted` counts a non-zero errcode: 0 is success, never an error.
    if !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.bytes().any(|b| b != b'0').then(|| UnlistedCode {
            code: key.to_string(),
            kind: errcode,
            what: None,
        });
    }
    let sdk = key.len() >= 3
        && key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_uppercase())
        && key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    sdk.then(|| UnlistedCode { code: key.to_string(), kind: "CloudBase SDK code", what: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::Catalogue;

    #[test]
    fn case_and_punctuation_do_not_matter() {
        for same in ["ticket_expired", "TICKET-EXPIRED", "TicketExpired", " 'TICKET_EXPIRED' ", "ticket expired"] {
            assert_eq!(normalize(same), "TICKET_EXPIRED", "{same:?}");
        }
        assert_eq!(normalize("-502003"), "-502003");
        assert_eq!(normalize("AUTH_INVALID_CUSTOM_LOGIN_TICKET"), "AUTH_INVALID_CUSTOM_LOGIN_TICKET");
        assert_eq!(normalize("signInWithTicket"), "SIGN_IN_WITH_TICKET");
        assert_eq!(normalize("-"), "");
        assert_eq!(normalize("!!"), "");
    }

    #[test]
    fn known_codes_are_normalised_and_none_is_one_of_the_ten() {
        let cat = Catalogue::builtin().unwrap();
        for (source, codes) in KNOWN {
            for code in *codes {
                assert_eq!(normalize(code), *code, "{source}: {code} is not written normalised");
                let owner = cat.patterns().iter().find(|p| p.codes.iter().any(|c| c == code));
                assert!(owner.is_none(), "{source}: {code} is also a code of {}", owner.map_or("", |p| &p.id));
            }
        }
        assert!(is_known("EXCEED_REQUEST_LIMIT") && is_known("-503002") && !is_known("PERMISSION_DENIED"));
    }

    #[test]
    fn codes_that_unlisted_counts_are_explained() {
        let c = unlisted_code("40226").unwrap();
        assert!(c.what.unwrap().contains("high-risk user"), "{c:?}");
        assert_eq!(
            unlisted_code(" 99999 ").unwrap(),
            UnlistedCode { code: "99999".into(), kind: "WeChat errcode (or wx-server-sdk errCode)", what: None }
        );
        assert_eq!(unlisted_code("-502005").unwrap().kind, "wx-server-sdk errCode");
        assert_eq!(unlisted_code("OPERATION_FAIL").unwrap().kind, "CloudBase SDK code");
        for not_a_code in ["0", "-0", "", "hello", "ticket length", "1234567890"] {
            assert_eq!(unlisted_code(not_a_code), None, "{not_a_code:?}");
        }
        // None of the listed codes is one a pattern of the ten answers to.
        let cat = Catalogue::builtin().unwrap();
        for (code, _) in UNLISTED_CODES {
            assert!(cat.find(code).is_none(), "{code} belongs to a pattern");
        }
    }
}
