use super::*;

#[test]
fn every_series_exists_from_the_start() {
    let c = Catalogue::builtin().unwrap();
    let m = Metrics::new(&c, &["default"]).unwrap();
    let text = m.render().unwrap();
    for p in c.patterns() {
        let series = format!("authwatch_errors_total{{pattern=\"{}\",source=\"default\"}} 0", p.id);
        assert!(text.contains(&series), "missing {series}");
    }
    assert!(text.contains("authwatch_lines_total{source=\"default\"} 0"));
    assert!(text.contains("# HELP authwatch_errors_total "));
}

#[test]
fn function_labels_are_capped_and_validated() {
    let c = Catalogue::builtin().unwrap();
    let m = Metrics::with_labels(&c, &["a", "b", "c"], &[], LabelCaps { max_sources: 2, max_functions: 2 }).unwrap();
    for f in ["getLoginTicket", "other-fn", "third", "getLoginTicket", "bad name", "o_7Jt2QmZ"] {
        m.count_function_error(f, "wx_45011_minute_quota");
    }
    let text = m.render().unwrap();
    let value = |series: &str| text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')).map(str::to_string);
    assert_eq!(
        value("authwatch_function_errors_total{function=\"getLoginTicket\",pattern=\"wx_45011_minute_quota\"}")
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        value("authwatch_function_errors_total{function=\"other-fn\",pattern=\"wx_45011_minute_quota\"}").as_deref(),
        Some("1")
    );
    // "third" is past the cap; "bad name" is not a function name; "o_7Jt2QmZ" is past the cap too.
    assert_eq!(
        value("authwatch_function_errors_total{function=\"_other\",pattern=\"wx_45011_minute_quota\"}").as_deref(),
        Some("3")
    );
    assert_eq!(value("authwatch_label_values_dropped_total{label=\"function\"}").as_deref(), Some("3"));
    // Sources: the third configured source shares the overflow bucket.
    assert!(text.contains("authwatch_lines_total{source=\"a\"} 0"));
    assert!(text.contains("authwatch_lines_total{source=\"_other\"} 0"));
    assert!(!text.contains("source=\"c\""));
    assert!(!text.contains("third") && !text.contains("bad name"));
    // Raising the cap admits new names; old ones keep their series.
    m.set_caps(LabelCaps { max_sources: 2, max_functions: 3 });
    m.count_function_error("fourth", "wx_45011_minute_quota");
    assert!(m.render().unwrap().contains("function=\"fourth\""));
}

#[test]
fn function_name_rules() {
    assert!(valid_function_name("getLoginTicket"));
    assert!(valid_function_name("a-b_c9"));
    for bad in ["", "_other", "9x", "a b", "a/b", "a\"b", &"x".repeat(61)] {
        assert!(!valid_function_name(bad), "{bad}");
    }
}
