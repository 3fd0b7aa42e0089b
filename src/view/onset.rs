//! The 45011 onset's company, decided once for every output: its bracket and the first refusal, and
//! the one sentence the status page and the report say them in.
//!
//! Semantics (`View::load`, about 45011 only):
//! - **bracket**: `clean_max`, the highest login attempts/min of a whole (not partial), complete
//!   minute with no 45011 before the onset (before the first refusal's minute when the onset is
//!   unknown; every such minute when there is no refusal); `failing_min`, the lowest login
//!   attempts/min of a whole, complete minute with 45011 (minutes with no attempt seen are left out:
//!   their rate is unknown). None when there is no such minute.
//! - **first refusal**: the first 45011 call's time and the login attempts whose call time t satisfies
//!   first − 60 s < t ≤ first (`crate::refusal`): exact, whether or not its minute is whole.
//! - **onset unknown**: 45011 was seen but no whole complete minute has it (every minute with it was
//!   cut by the start or the end of an input): said in words, with the first refusal and the bracket.

use crate::timefmt;

/// What the bracket needs of one minute of the read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteFacts {
    pub start_ms: i64,
    /// Complete and not partial.
    pub whole: bool,
    /// 45011 calls in it.
    pub refused: u64,
    pub attempts: u64,
}

/// The onset as the sentence needs it: its minute's start and login attempts (None: unknown).
pub type OnsetFacts = (i64, Option<u64>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bracket {
    pub clean_max: Option<u64>,
    pub failing_min: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstRefusal {
    pub time_ms: i64,
    pub attempts_last_60s: u64,
}

/// The load figures beside the onset (45011's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    pub bracket: Bracket,
    pub first_refusal: Option<FirstRefusal>,
}

impl Load {
    /// From the view's minutes (None: no 45011 in the catalogue), the onset minute's start, and the
    /// sink's first refusal.
    pub fn build(minutes: Option<&[MinuteFacts]>, onset_ms: Option<i64>, first: Option<(i64, u64)>) -> Load {
        let first_refusal = first.map(|(time_ms, attempts_last_60s)| FirstRefusal { time_ms, attempts_last_60s });
        let Some(minutes) = minutes else { return Load { bracket: Bracket::default(), first_refusal } };
        let whole = || minutes.iter().filter(|m| m.whole);
        let before = onset_ms
            .or_else(|| {
                first_refusal.map(|f| f.time_ms.div_euclid(crate::window::MINUTE_MS) * crate::window::MINUTE_MS)
            })
            .unwrap_or(i64::MAX);
        let clean_max = whole().filter(|m| m.start_ms < before && m.refused == 0).map(|m| m.attempts).max();
        let failing_min = whole().filter(|m| m.refused > 0 && m.attempts > 0).map(|m| m.attempts).min();
        Load { bracket: Bracket { clean_max, failing_min }, first_refusal }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `<time datetime="…">text</time>` with an id.
fn time_el(id: &str, ms: i64, text: &str) -> String {
    format!(r#"<time id="{id}" datetime="{}">{}</time>"#, timefmt::format_utc(ms), esc(text))
}

/// `2025-03-14 01:02` (`seconds`: `01:02:05`).
fn words(ms: i64, seconds: bool) -> String {
    let s = timefmt::format_utc(ms).replace('T', " ");
    s[..if seconds { 19 } else { 16 }].to_string()
}

fn hhmm(ms: i64) -> String {
    words(ms, false)[11..].to_string()
}

/// The onset in words (HTML, escaped), as the status page and the report both say it: the onset or
/// why it is unknown, the first refusal, the bracket, and the partial minutes passed over.
pub fn sentence_html(onset: Option<OnsetFacts>, skipped_partial: &[i64], load: &Load) -> String {
    let mut h = String::new();
    let skipped = || skipped_partial.iter().map(|&ms| hhmm(ms)).collect::<Vec<_>>().join(", ");
    match onset {
        Some((start_ms, attempts)) => {
            h.push_str(&format!(
                "45011 onset: WeChat began refusing logins in the minute starting {} UTC, the first whole minute with a refusal",
                time_el("onset-time", start_ms, &words(start_ms, false))
            ));
            match attempts {
                Some(a) => h.push_str(&format!(r#", at <strong id="onset-attempts">{a}</strong> login attempts/min."#)),
                None => h.push_str(" (login attempts in it unknown: none was seen)."),
            }
            if !skipped_partial.is_empty() {
                h.push_str(&format!(
                    " Earlier refusals in partial minutes ({}: cut by the start or the end of an input, so their rate is not known) are not the onset.",
                    skipped()
                ));
            }
        }
        None if load.first_refusal.is_some() => {
            h.push_str(r#"<strong id="onset-unknown">45011 onset unknown</strong>: no whole minute has a refusal"#);
            if skipped_partial.is_empty() {
                h.push_str(" yet.");
            } else {
                h.push_str(&format!(
                    " (the minutes with 45011, {}, are partial: cut by the start or the end of an input, so their rate is not known).",
                    skipped()
                ));
            }
        }
        None => h.push_str("No 45011 seen: WeChat's minute quota was not reached."),
    }
    if let Some(f) = load.first_refusal {
        h.push_str(&format!(
            r#" First refusal: {} UTC, with <strong id="first-refusal-attempts">{}</strong> login attempts in the 60 s up to it."#,
            time_el("first-refusal", f.time_ms, &words(f.time_ms, true)),
            f.attempts_last_60s
        ));
        let b = load.bracket;
        let clean = b.clean_max.map_or("no whole minute without 45011 came before it".to_string(), |c| {
            format!(r#"the busiest whole minute without 45011 before it had <strong id="clean-max">{c}</strong> attempts/min"#)
        });
        let failing = b.failing_min.map_or("no whole minute with 45011 (and attempts seen)".to_string(), |f| {
            format!(r#"the quietest whole minute with 45011 had <strong id="failing-min">{f}</strong>"#)
        });
        h.push_str(&format!(" Bracket: {clean}; {failing}."));
    }
    h
}

/// `sentence_html` as plain text (tags dropped, entities decoded): `check`'s timeline says the same.
pub fn sentence_text(onset: Option<OnsetFacts>, skipped_partial: &[i64], load: &Load) -> String {
    let html = sentence_html(onset, skipped_partial, load);
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(start_ms: i64, refused: u64, attempts: u64, partial: bool) -> MinuteFacts {
        MinuteFacts { start_ms, refused, attempts, whole: !partial }
    }

    #[test]
    fn the_bracket_takes_whole_minutes_only() {
        const M: i64 = 60_000;
        let minutes = [m(0, 0, 500, true), m(M, 0, 80, false), m(2 * M, 0, 95, false), m(3 * M, 2, 120, false)];
        let l = Load::build(Some(&minutes), Some(3 * M), Some((3 * M + 5_000, 101)));
        assert_eq!(l.bracket, Bracket { clean_max: Some(95), failing_min: Some(120) });
        // Cut at the end: the onset minute is partial, the onset unknown; the bracket stands below it.
        let cut = [m(0, 0, 500, true), m(M, 0, 80, false), m(2 * M, 0, 95, false), m(3 * M, 2, 70, true)];
        let l = Load::build(Some(&cut), None, Some((3 * M + 5_000, 101)));
        assert_eq!(l.bracket, Bracket { clean_max: Some(95), failing_min: None });
        let s = sentence_html(None, &[3 * M], &l);
        assert!(s.contains("45011 onset unknown") && s.contains(">101<") && s.contains(">95<"), "{s}");
        assert!(s.contains("00:03") && !s.contains("onset-time"), "{s}");
    }
}
