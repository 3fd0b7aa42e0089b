//! Headless Chromium for the page tests (status page, `check --report`): the DOM as rendered, a
//! screenshot, and the page's width at a given window width. Included with `#[path]` by the tests that
//! need it; the caller finds chromium with `common::external_tool` (which fails under CI=true).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

fn base(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM after rendering `url` (a file:// or http:// address) in a `width` px wide window.
pub fn dump_dom(chromium: &Path, profile: &Path, url: &str, width: u32) -> String {
    let out = base(chromium, profile)
        .args(["--virtual-time-budget=2000", &format!("--window-size={width},900"), "--dump-dom", url])
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!dom.is_empty(), "chromium rendered nothing for {url}: {}", String::from_utf8_lossy(&out.stderr));
    dom
}

/// A PNG of `url` at `width` × `height`; true when chromium wrote it.
pub fn screenshot(chromium: &Path, profile: &Path, url: &str, png: &Path, width: u32, height: u32) -> bool {
    let _ = std::fs::remove_file(png);
    let _ = base(chromium, profile)
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .output();
    std::fs::metadata(png).is_ok_and(|m| m.len() > 1000)
}

/// (document width, window width) of `html` laid out by Chromium in a `width` px window: a copy of the
/// page with a measuring script added (the page itself has none) is rendered in `dir`.
pub fn page_width(chromium: &Path, profile: &Path, html: &str, dir: &Path, width: u32) -> (u64, u64) {
    let probe = r#"<script>document.body.setAttribute("data-sw",document.documentElement.scrollWidth);document.body.setAttribute("data-cw",document.documentElement.clientWidth)</script>"#;
    let at = html.rfind("</body>").expect("a page with a body");
    let measured = format!("{}{probe}{}", &html[..at], &html[at..]);
    let file = dir.join("measure.html");
    std::fs::write(&file, measured).expect("write probe page");
    let dom = dump_dom(chromium, profile, &format!("file://{}", file.display()), width);
    let attr = |name: &str| -> u64 {
        let key = format!("{name}=\"");
        let from = dom.find(&key).unwrap_or_else(|| panic!("no {name} in the measured page: {dom}")) + key.len();
        dom[from..].split('"').next().and_then(|v| v.parse().ok()).expect("a number")
    };
    (attr("data-sw"), attr("data-cw"))
}
