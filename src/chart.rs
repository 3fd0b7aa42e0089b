//! The one chart of 45011 refusals per minute against login attempts per minute, as inline SVG: drawn
//! the same in `check --report` and on the status page.
//!
//! Contract: `svg` is a pure function of the minutes it is given (complete minutes only: the caller
//! leaves out the minute still running), the onset and the quota. Both series share one y-axis in calls
//! per minute, with ticks at 1-2-5 steps, so 120 refusals draw lower than 160 attempts; minutes are
//! labelled `HH:MM` (UTC) at a regular step aligned to the clock, with the date at day boundaries and the
//! range under the axis. The legend, the onset label and the axis captions each have their own band
//! outside the plot area, so nothing is ever drawn over the bars: the onset is a marker above the plot
//! and a dashed line that stops at the top of its minute's bar. Partial minutes (cut by the start or
//! the end of an input) are drawn pale. The quota line is the configured quota (`[alerting]
//! quota_per_minute`, 100 unless set: the guide says only that jscode2session has a per-minute limit per
//! IP, with no number, so the line is named as configured, not as WeChat's); it is drawn when it is
//! within reach of the data; otherwise the legend says it is above.
//!
//! Why hand-drawn SVG and not the `plotters` crate: plotters' SVG backend measures text with a font
//! backend (extra crates, system fonts or a bundled font), labels a time axis through chrono, and has
//! no notion of a band reserved for a label or of partial minutes; the chart needs one bar series, one
//! line, two reference marks and a fixed layout, which is about 400 lines here, with stable element ids the
//! tests look for, and no new dependency in a small daemon.

use std::fmt::Write;

use crate::timefmt;
use crate::window::MINUTE_MS;

/// The quota line unless configured (`[alerting] quota_per_minute`; the state's default).
pub use crate::observe::DEFAULT_QUOTA_PER_MINUTE;

/// One complete minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minute {
    pub start_ms: i64,
    /// 45011 refusals (calls) in the minute.
    pub errors: u64,
    pub attempts: u64,
    /// Cut by the start of an input: what happened before in this minute was not read.
    pub partial: bool,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// The `id` of the `<svg>` element.
    pub id: &'a str,
    /// Width in CSS pixels (the SVG scales down to its container).
    pub width: f64,
    pub minutes: &'a [Minute],
    /// Start of the onset minute and its login attempts (None: unknown, none seen).
    pub onset: Option<(i64, Option<u64>)>,
    pub quota_per_minute: Option<u64>,
    /// Said under the axis, e.g. that the running minute is left out.
    pub note: Option<String>,
}

pub const HEIGHT: f64 = 340.0;
const LEGEND_Y: f64 = 16.0;
/// The onset label's band: between the legend and the plot.
const ONSET_LABEL_Y: f64 = 44.0;
const PLOT_TOP: f64 = 60.0;
const PLOT_BOTTOM: f64 = HEIGHT - 70.0;
const TICK_LABEL_Y: f64 = PLOT_BOTTOM + 16.0;
const DATE_LABEL_Y: f64 = PLOT_BOTTOM + 30.0;
const CAPTION_Y: f64 = PLOT_BOTTOM + 50.0;
const NOTE_Y: f64 = PLOT_BOTTOM + 64.0;
const LEFT: f64 = 64.0;
const RIGHT_PAD: f64 = 16.0;
/// Estimated width of one character of the 12 px sans-serif labels (for placing, not for drawing).
const CHAR_W: f64 = 7.0;
/// Nothing is drawn closer than this to the chart's left or right edge.
const EDGE: f64 = 6.0;
/// Minimum horizontal room for one `HH:MM` label.
const LABEL_ROOM: f64 = 60.0;

const ERR_COLOR: &str = "#c9302c";
const ATTEMPT_COLOR: &str = "#2a6ebb";
const ONSET_COLOR: &str = "#d58512";
const QUOTA_COLOR: &str = "#555";

/// Where things go: computed apart from drawing so the tests can check that nothing overlaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub x0: f64,
    pub x1: f64,
    pub y_max: u64,
    pub y_ticks: Vec<u64>,
    /// Minutes between two x labels.
    pub label_step: i64,
    /// (index of the minute, label) for every x label.
    pub x_labels: Vec<(usize, String)>,
    pub quota_drawn: bool,
    /// The onset label: text, x, text-anchor, and its estimated box (left, right).
    pub onset_label: Option<(String, f64, &'static str, (f64, f64))>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `HH:MM` of a time.
pub fn hhmm(ms: i64) -> String {
    timefmt::format_utc(ms)[11..16].to_string()
}

/// `YYYY-MM-DD HH:MM` of a time.
pub fn date_hhmm(ms: i64) -> String {
    let s = timefmt::format_utc(ms);
    format!("{} {}", &s[..10], &s[11..16])
}

/// The smallest 1-2-5 step that splits `max` into at most `n` intervals (at least 1).
fn nice_step(max: u64, n: u64) -> u64 {
    let mut unit = 1u64;
    loop {
        for m in [1, 2, 5] {
            let step = unit * m;
            if max.div_ceil(step) <= n {
                return step;
            }
        }
        unit = unit.saturating_mul(10);
    }
}

/// Label steps in minutes, each dividing a day or a multiple of it, so labels fall on the clock.
const STEPS: [i64; 13] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880];

impl Chart<'_> {
    fn slot(&self, x0: f64, x1: f64) -> f64 {
        (x1 - x0) / self.minutes.len().max(1) as f64
    }

    fn y(&self, l: &Layout, v: u64) -> f64 {
        PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * v as f64 / l.y_max.max(1) as f64
    }

    pub fn layout(&self) -> Layout {
        let (x0, x1) = (LEFT, self.width - RIGHT_PAD);
        let data_max = self.minutes.iter().map(|m| m.errors.max(m.attempts)).max().unwrap_or(0);
        // The quota is drawn when it is within reach: scaling a 5/min test to 100 would flatten it.
        let quota_drawn =
            self.quota_per_minute.is_some_and(|q| q > 0 && (data_max * 4 >= q || self.minutes.is_empty()));
        let top = data_max.max(if quota_drawn { self.quota_per_minute.unwrap_or(0) } else { 0 }).max(1);
        let step = nice_step(top, 8);
        let y_max = top.div_ceil(step) * step;
        let y_ticks = (0..=y_max / step).map(|i| i * step).collect();
        let n = self.minutes.len() as i64;
        let slot = self.slot(x0, x1);
        let room = ((x1 - x0) / LABEL_ROOM).floor().max(1.0) as i64;
        let label_step = STEPS.iter().copied().find(|s| n / s < room).unwrap_or(10_080);
        let x_labels = self
            .minutes
            .iter()
            .enumerate()
            .filter(|(_, m)| (m.start_ms / MINUTE_MS).rem_euclid(label_step) == 0)
            .map(|(i, m)| (i, hhmm(m.start_ms)))
            .collect();
        let onset_label = self.onset.and_then(|(ms, attempts)| {
            let i = self.minutes.iter().position(|m| m.start_ms == ms)?;
            let text = match attempts {
                Some(a) => format!("onset {} UTC: {a} attempts/min", hhmm(ms)),
                None => format!("onset {} UTC: attempts unknown", hhmm(ms)),
            };
            let x = x0 + (i as f64 + 0.5) * slot;
            // Bold text: a little wider than the other labels.
            let w = text.chars().count() as f64 * (CHAR_W + 0.6);
            // Centred on the marker unless that would leave the chart; then anchored at the edge it
            // would cross, so the estimate's error only ever moves the far end.
            Some(if x - w / 2.0 < EDGE {
                (text, EDGE, "start", (EDGE, EDGE + w))
            } else if x + w / 2.0 > self.width - EDGE {
                (text, self.width - EDGE, "end", (self.width - EDGE - w, self.width - EDGE))
            } else {
                (text, x, "middle", (x - w / 2.0, x + w / 2.0))
            })
        });
        Layout { x0, x1, y_max, y_ticks, label_step, x_labels, quota_drawn, onset_label }
    }

    /// The `<svg>` element.
    pub fn svg(&self) -> String {
        let l = self.layout();
        let (w, h) = (self.width, HEIGHT);
        let mut s = String::with_capacity(4096 + self.minutes.len() * 120);
        let _ = write!(
            s,
            r#"<svg id="{}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="45011 refusals per minute against login attempts per minute" font-family="system-ui,-apple-system,'Segoe UI',Roboto,sans-serif" font-size="12">"#,
            esc(self.id)
        );
        let _ = write!(s, r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>"##);
        self.legend(&mut s, &l);
        self.axes(&mut s, &l);
        if self.minutes.is_empty() {
            let _ = write!(
                s,
                r##"<text id="chart-empty" x="{:.1}" y="{:.1}" text-anchor="middle" fill="#666">no 45011 refusals or login attempts in complete minutes yet</text>"##,
                (l.x0 + l.x1) / 2.0,
                (PLOT_TOP + PLOT_BOTTOM) / 2.0
            );
        } else {
            self.bars(&mut s, &l);
            self.attempts(&mut s, &l);
            self.onset_mark(&mut s, &l);
        }
        if let Some(note) = &self.note {
            let _ =
                write!(s, r##"<text x="{:.1}" y="{NOTE_Y}" fill="#666" font-size="11">{}</text>"##, l.x0, esc(note));
        }
        s.push_str("</svg>");
        s
    }

    fn legend(&self, s: &mut String, l: &Layout) {
        // (mark, text): the mark is drawn 14 px wide at the item's x.
        let mut items: Vec<(&str, String)> =
            vec![("bar", "45011 refusals / min".into()), ("line", "login attempts / min".into())];
        if let Some(q) = self.quota_per_minute {
            items.push((
                "quota",
                if l.quota_drawn {
                    format!("configured quota {q} / min (per IP)")
                } else {
                    format!("configured quota {q} / min (per IP; above this chart)")
                },
            ));
        }
        if self.minutes.iter().any(|m| m.partial) {
            items.push(("partial", "partial minute (cut by an input's start or end)".into()));
        }
        let y = LEGEND_Y - 4.0;
        let mut x = l.x0;
        for (mark, text) in items {
            let _ = match mark {
                "bar" => {
                    write!(s, r##"<rect x="{x:.1}" y="{:.1}" width="14" height="10" fill="{ERR_COLOR}"/>"##, y - 5.0)
                }
                "partial" => write!(
                    s,
                    r##"<rect x="{x:.1}" y="{:.1}" width="14" height="10" fill="{ERR_COLOR}" fill-opacity="0.3"/>"##,
                    y - 5.0
                ),
                "line" => write!(
                    s,
                    r##"<line x1="{x:.1}" y1="{y}" x2="{:.1}" y2="{y}" stroke="{ATTEMPT_COLOR}" stroke-width="2.5"/>"##,
                    x + 14.0
                ),
                _ => write!(
                    s,
                    r##"<line x1="{x:.1}" y1="{y}" x2="{:.1}" y2="{y}" stroke="{QUOTA_COLOR}" stroke-width="1.5" stroke-dasharray="5 3"/>"##,
                    x + 14.0
                ),
            };
            let _ = write!(s, r##"<text x="{:.1}" y="{LEGEND_Y}" fill="#222">{}</text>"##, x + 20.0, esc(&text));
            x += 20.0 + text.chars().count() as f64 * CHAR_W + 18.0;
        }
    }

    fn axes(&self, s: &mut String, l: &Layout) {
        for &t in &l.y_ticks {
            let y = self.y(l, t);
            let grid = if t == 0 { "#888" } else { "#e4e4e4" };
            let _ = write!(
                s,
                r##"<line class="y-grid" x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{grid}"/><text class="y-tick" x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{t}</text>"##,
                l.x0,
                l.x1,
                l.x0 - 6.0,
                y + 4.0
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{PLOT_TOP}" x2="{x:.1}" y2="{PLOT_BOTTOM}" stroke="#888"/><text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle" fill="#444">calls per minute</text>"##,
            (PLOT_TOP + PLOT_BOTTOM) / 2.0,
            (PLOT_TOP + PLOT_BOTTOM) / 2.0,
            x = l.x0
        );
        let slot = self.slot(l.x0, l.x1);
        let mut last_day = None;
        for (i, label) in &l.x_labels {
            let m = self.minutes[*i];
            let x = l.x0 + *i as f64 * slot;
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{PLOT_BOTTOM}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text class="x-tick" x="{x:.1}" y="{TICK_LABEL_Y}" text-anchor="middle" fill="#444">{label}</text>"##,
                PLOT_BOTTOM + 4.0
            );
            let day = m.start_ms.div_euclid(24 * 60 * MINUTE_MS);
            if last_day.is_some_and(|d| d != day) {
                let date = &timefmt::format_utc(m.start_ms)[..10];
                let _ = write!(
                    s,
                    r##"<text class="x-date" x="{x:.1}" y="{DATE_LABEL_Y}" text-anchor="middle" fill="#666" font-size="11">{date}</text>"##
                );
            }
            last_day = Some(day);
        }
        let caption = match (self.minutes.first(), self.minutes.last()) {
            (Some(a), Some(b)) => format!(
                "minute (UTC), {} to {}, one bar a minute, labels every {}",
                date_hhmm(a.start_ms),
                date_hhmm(b.start_ms),
                step_words(l.label_step)
            ),
            _ => "minute (UTC)".to_string(),
        };
        let _ = write!(
            s,
            r##"<text id="x-caption" x="{:.1}" y="{CAPTION_Y}" text-anchor="middle" fill="#444">{}</text>"##,
            (l.x0 + l.x1) / 2.0,
            esc(&caption)
        );
        if l.quota_drawn {
            if let Some(q) = self.quota_per_minute {
                let y = self.y(l, q);
                let _ = write!(
                    s,
                    r##"<line id="quota-line" x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{QUOTA_COLOR}" stroke-width="1.5" stroke-dasharray="5 3"/>"##,
                    l.x0, l.x1
                );
            }
        }
    }

    fn bars(&self, s: &mut String, l: &Layout) {
        let slot = self.slot(l.x0, l.x1);
        // Thin bars need no gap (a gap narrower than a pixel only blurs them).
        let (gap, width) = if slot >= 4.0 { (slot * 0.15, slot * 0.7) } else { (0.0, slot) };
        let titles = self.minutes.len() <= 360;
        for (i, m) in self.minutes.iter().enumerate().filter(|(_, m)| m.errors > 0) {
            let y = self.y(l, m.errors);
            let opacity = if m.partial { r#" fill-opacity="0.3""# } else { "" };
            let _ = write!(
                s,
                r##"<rect class="bar-45011" x="{:.2}" y="{y:.1}" width="{width:.2}" height="{:.1}" fill="{ERR_COLOR}"{opacity}>"##,
                l.x0 + i as f64 * slot + gap,
                PLOT_BOTTOM - y
            );
            if titles {
                let _ = write!(
                    s,
                    "<title>{} UTC: {} refusals, {} attempts{}</title>",
                    hhmm(m.start_ms),
                    m.errors,
                    m.attempts,
                    if m.partial { " (partial minute)" } else { "" }
                );
            }
            s.push_str("</rect>");
        }
    }

    fn attempts(&self, s: &mut String, l: &Layout) {
        let slot = self.slot(l.x0, l.x1);
        let point = |i: usize| (l.x0 + (i as f64 + 0.5) * slot, self.y(l, self.minutes[i].attempts));
        // Solid between complete minutes; dotted into and out of a partial one (its count is cut).
        let (mut solid, mut dotted) = (String::new(), String::new());
        for i in 0..self.minutes.len() {
            let (x, y) = point(i);
            if i == 0 {
                let _ = write!(solid, "M{x:.1},{y:.1}");
                continue;
            }
            let (px, py) = point(i - 1);
            if self.minutes[i].partial || self.minutes[i - 1].partial {
                let _ = write!(dotted, "M{px:.1},{py:.1}L{x:.1},{y:.1}");
                let _ = write!(solid, "M{x:.1},{y:.1}");
            } else {
                let _ = write!(solid, "L{x:.1},{y:.1}");
            }
        }
        let _ = write!(
            s,
            r##"<path id="attempts-line" fill="none" stroke="{ATTEMPT_COLOR}" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round" d="{solid}"/>"##
        );
        if !dotted.is_empty() {
            let _ = write!(
                s,
                r##"<path fill="none" stroke="{ATTEMPT_COLOR}" stroke-width="2" stroke-dasharray="2 3" d="{dotted}"/>"##
            );
        }
        if self.minutes.len() <= 90 {
            for i in 0..self.minutes.len() {
                let (x, y) = point(i);
                let _ = write!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{ATTEMPT_COLOR}"/>"##);
            }
        }
    }

    fn onset_mark(&self, s: &mut String, l: &Layout) {
        let Some((onset_ms, _)) = self.onset else { return };
        let Some(i) = self.minutes.iter().position(|m| m.start_ms == onset_ms) else { return };
        let Some((text, tx, anchor, _)) = &l.onset_label else { return };
        let slot = self.slot(l.x0, l.x1);
        let x = l.x0 + (i as f64 + 0.5) * slot;
        let bar_top = self.y(l, self.minutes[i].errors);
        // From the top of the plot down to the bar's top, never across it.
        let _ = write!(
            s,
            r##"<g id="onset-marker"><path d="M{:.1},{:.1}L{:.1},{:.1}L{x:.1},{:.1}Z" fill="{ONSET_COLOR}"/><line x1="{x:.1}" y1="{PLOT_TOP}" x2="{x:.1}" y2="{:.1}" stroke="{ONSET_COLOR}" stroke-width="1.5" stroke-dasharray="4 3"/></g><text id="onset-label" x="{tx:.1}" y="{ONSET_LABEL_Y}" text-anchor="{anchor}" fill="#8a5100" font-weight="600">{}</text>"##,
            x - 5.0,
            PLOT_TOP - 9.0,
            x + 5.0,
            PLOT_TOP - 9.0,
            PLOT_TOP - 1.0,
            (bar_top - 2.0).max(PLOT_TOP),
            esc(text)
        );
    }
}

fn step_words(step: i64) -> String {
    match step {
        1 => "minute".into(),
        s if s < 60 => format!("{s} minutes"),
        60 => "hour".into(),
        s if s < 1440 => format!("{} hours", s / 60),
        1440 => "day".into(),
        s => format!("{} days", s / 1440),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_741_914_000_000; // 2025-03-14T01:00:00Z

    fn minutes(n: usize, f: impl Fn(usize) -> (u64, u64)) -> Vec<Minute> {
        (0..n)
            .map(|i| {
                let (errors, attempts) = f(i);
                Minute { start_ms: T0 + i as i64 * MINUTE_MS, errors, attempts, partial: false }
            })
            .collect()
    }

    fn chart(m: &[Minute], onset: Option<(i64, Option<u64>)>) -> Chart<'_> {
        Chart { id: "c", width: 1100.0, minutes: m, onset, quota_per_minute: Some(100), note: None }
    }

    #[test]
    fn one_scale_with_1_2_5_ticks_covers_both_series_and_the_quota() {
        let m = minutes(5, |i| (i as u64 * 30, 80 + 20 * i as u64));
        let l = chart(&m, None).layout();
        assert_eq!(l.y_max, 160);
        assert_eq!(l.y_ticks, [0, 20, 40, 60, 80, 100, 120, 140, 160]);
        assert!(l.quota_drawn);
        // A tiny test is not flattened under a quota it never came near.
        let m = minutes(5, |_| (1, 3));
        let l = chart(&m, None).layout();
        assert!(!l.quota_drawn);
        assert_eq!(l.y_max, 3);
        assert_eq!(nice_step(7, 5), 2);
        assert_eq!(nice_step(1234, 5), 500);
    }

    #[test]
    fn minute_labels_are_hhmm_at_a_regular_clock_aligned_step_without_crowding() {
        for n in [1usize, 7, 45, 90, 240, 1440, 4000] {
            let m = minutes(n, |_| (0, 1));
            let l = chart(&m, None).layout();
            let slot = (l.x1 - l.x0) / n as f64;
            assert!(!l.x_labels.is_empty() || n < l.label_step as usize, "{n}");
            for pair in l.x_labels.windows(2) {
                assert_eq!((pair[1].0 - pair[0].0) as i64, l.label_step, "{n}: regular");
                assert!((pair[1].0 - pair[0].0) as f64 * slot >= LABEL_ROOM - 0.01, "{n}: room");
            }
            for (i, text) in &l.x_labels {
                assert_eq!(text.len(), 5, "{text}");
                assert_eq!(((T0 / MINUTE_MS) + *i as i64) % l.label_step, 0, "aligned to the clock");
            }
        }
        let m = minutes(1440, |_| (0, 1));
        let l = chart(&m, None).layout();
        assert_eq!(l.label_step, 120);
        assert_eq!(l.x_labels[0].1, "02:00");
    }

    #[test]
    fn the_onset_label_stays_in_its_band_inside_the_chart() {
        for (n, at) in [(3usize, 0usize), (3, 2), (100, 0), (100, 50), (100, 99), (1440, 1439)] {
            let m = minutes(n, |i| (u64::from(i >= at) * 10, 120));
            let c = chart(&m, Some((T0 + at as i64 * MINUTE_MS, Some(120))));
            let l = c.layout();
            let (text, x, anchor, (left, right)) = l.onset_label.clone().unwrap();
            assert!(text.contains("120 attempts/min"), "{text}");
            assert!(left >= EDGE && right <= c.width - EDGE, "{n}/{at}: {left}..{right}");
            // At an edge the label is anchored there, so a wider font only moves its inner end.
            match anchor {
                "start" => assert_eq!((x, left), (EDGE, EDGE)),
                "end" => assert_eq!((x, right), (c.width - EDGE, c.width - EDGE)),
                _ => assert!((x - (left + right) / 2.0).abs() < 0.01),
            }
            // The label's band is above the plot and below the legend.
            const { assert!(ONSET_LABEL_Y + 4.0 < PLOT_TOP - 9.0 && ONSET_LABEL_Y - 12.0 > LEGEND_Y + 4.0) };
            let svg = c.svg();
            assert!(svg.contains("id=\"onset-marker\"") && svg.contains("id=\"onset-label\""));
        }
    }

    #[test]
    fn bars_stay_in_the_plot_and_partial_minutes_are_pale() {
        let mut m = minutes(6, |i| (i as u64 * 10, 100));
        m[0].partial = true;
        let svg = chart(&m, Some((T0 + MINUTE_MS, Some(100)))).svg();
        assert_eq!(svg.matches("class=\"bar-45011\"").count(), 5, "zero minutes draw no bar");
        assert!(svg.contains("partial minute"));
        assert!(svg.contains("id=\"quota-line\""));
        assert!(svg.contains(">01:00<") && svg.contains(">01:05<"));
        let empty = chart(&[], None).svg();
        assert!(empty.contains("id=\"chart-empty\"") && !empty.contains("bar-45011"));
    }
}
