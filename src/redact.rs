//! Masks secrets in a log line before it is shown anywhere (API, status page, our own logs): CloudBase
//! tickets, JWTs, openids/unionids, session keys, wx.login codes, app secrets and private-key material.
//!
//! Contract: `redact` returns the line with each secret replaced by a `<kind>` marker, cut to
//! `SAMPLE_CHARS` characters. It errs on the side of masking: a false positive costs a word, a false
//! negative leaks a credential.

use std::sync::OnceLock;

use regex::Regex;

pub const SAMPLE_CHARS: usize = 300;

fn rules() -> &'static [(Regex, &'static str)] {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RULES.get_or_init(|| {
        [
            // PEM blocks, whole or cut, and JSON-escaped.
            (r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z ]*PRIVATE KEY-----|$)", "<private-key>"),
            (r#"(?i)(\\?"(?:private_?key|secret_?key|app_?secret|secret|session_?key|access_?token|refresh_?token|ticket|openid|unionid|private_key_id)\\?"\s*:\s*\\?")[^"\\]+"#, "${1}<redacted>"),
            (r#"(?i)(\b(?:private_?key|secret|appsecret|session_?key|access_?token|ticket|openid|unionid)\s*[=:]\s*'?)[A-Za-z0-9+/=_\-.@]{6,}"#, "${1}<redacted>"),
            // wx.login codes (32 characters) but not SDK error codes, which are short or have underscores.
            (r#"(?i)(\b(?:js_)?code\\?"?\s*[=:]\s*\\?["']?)[A-Za-z0-9]{16,}\b"#, "${1}<redacted>"),
            // A CloudBase ticket: <private_key_id>/@@/<JWT>.
            (r"[A-Za-z0-9_\-]*/@@/[A-Za-z0-9_\-.=]+", "<ticket>"),
            (r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*)?", "<jwt>"),
            // WeChat openids are 28 characters starting with "o" (unionids with "o" too, 28–29).
            (r"\bo[A-Za-z0-9_\-]{26,28}\b", "<openid>"),
            // session_key is 24 base64 characters.
            (r"\b[A-Za-z0-9+/]{22}==", "<session-key>"),
        ]
        .into_iter()
        .filter_map(|(re, with)| Regex::new(re).ok().map(|r| (r, with)))
        .collect()
    })
}

pub fn redact(line: &str) -> String {
    let mut out = mask(line.to_string());
    if out.chars().count() > SAMPLE_CHARS {
        // Masked whole first (a secret cut at the edge would no longer look like one), then again as
        // cut: cutting can make a longer token end in exactly a secret's shape (found by fuzzing).
        out = mask(out.chars().take(SAMPLE_CHARS).collect::<String>() + "…");
    }
    out
}

/// Masks secrets in a longer text without cutting it (a report's fix text, an input's name): the same
/// rules as `redact`, no length limit.
pub fn redact_whole(text: &str) -> String {
    mask(text.to_string())
}

fn mask(mut out: String) -> String {
    for (re, with) in rules() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *with).into_owned();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const SECRETS: [&str; 8] = [
        "oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O",
        "tiihtNczf5v6AKRyjwEUhQ==",
        "0a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d",
        "eyJhbGciOiJSUzI1NiJ9.eyJ1aWQiOiJvWDFZIn0.c2lnbmF0dXJl",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "6f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "abcdEFGH1234ijkl",
        "kid-2025-0001",
    ];

    #[test]
    fn every_kind_of_secret_is_masked() {
        let lines = [
            r#"{"errcode":0,"session_key":"tiihtNczf5v6AKRyjwEUhQ==","openid":"oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O"}"#,
            "jscode2session?appid=wx123&secret=6f1e2d3c4b5a69788796a5b4c3d2e1f0&js_code=0a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d&grant_type=authorization_code",
            "[getLoginTicket] ticket: kid-2025-0001/@@/eyJhbGciOiJSUzI1NiJ9.eyJ1aWQiOiJvWDFZIn0.c2lnbmF0dXJl",
            r#"{"private_key":"-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END RSA PRIVATE KEY-----","private_key_id":"kid-2025-0001"}"#,
            "-----BEGIN PRIVATE KEY----- MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            r#"{"level":8,"id":"oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O","msg":[]}"#,
            r#"event {"code":"abcdEFGH1234ijkl"}"#,
            r#"SCF_Message":"{\"code\":\"0a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d\"}"#,
        ];
        for line in lines {
            let r = redact(line);
            for secret in SECRETS {
                assert!(!r.contains(secret), "{secret} leaked from {line:?} as {r:?}");
            }
        }
        // A 30-character token cut at the sample's edge to an openid's shape is masked as shown.
        let cut = format!("{}\"id\":\"oX1Yz2Ab3Cd4Ethf5Gh6Ij7Kl8Mn9O\"", "d".repeat(SAMPLE_CHARS - 35));
        let r = redact(&cut);
        assert!(!r.contains("oX1Yz2Ab3Cd4Ethf5Gh6Ij7Kl8"), "{r}");
        assert_eq!(redact(&r), r);
        // What the patterns and people need stays.
        for keep in [
            r#"{"errcode":45011,"errmsg":"api minute-quota reach limit"}"#,
            "{ code: 'INVALID_TICKET', message: 'ticket is invalid or expired' }",
            r#"{"code":"UNAUTHORIZED"} {"code":"DATABASE_PERMISSION_DENIED"}"#,
        ] {
            assert_eq!(redact(keep), keep);
        }
    }
}
