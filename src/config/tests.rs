//! The config file's own tests: defaults, errors with line and key, paths, the example config.

use super::*;

fn err(text: &str) -> String {
    Config::from_toml("c.toml", text, None).unwrap_err().to_string()
}

#[test]
fn the_example_config_is_valid_and_documents_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/authwatch.example.toml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.listen, "127.0.0.1:9471".parse().unwrap());
    assert!(!c.sources.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    for key in [
        "listen",
        "state_dir",
        "patterns",
        "no_default_patterns",
        "max_line_bytes",
        "poll_interval_ms",
        "checkpoint_interval_ms",
        "max_files",
        "max_open_files",
        "close_idle_secs",
        "read_budget_bytes",
        "[labels]",
        "name",
        "paths",
        "exclude",
        "format",
        "start_at",
        "function",
        "retention_minutes",
        "max_sources",
        "max_functions",
        "future_tolerance_secs",
        "invocation_window_secs",
        "max_invocations",
        "max_seen_records",
        "login_function",
        "[alerting]",
        "clock",
        "replay_idle_secs",
        "[[alerts]]",
        "measure",
        "threshold",
        "window_secs",
        "for_secs",
        "keep_firing_for_secs",
        "severity",
        "[alertmanager]",
        "resend_interval_secs",
        "timeout_ms",
        "resolve_hold_secs",
        "[http]",
        "max_connections",
        "header_read_timeout_ms",
        "max_connection_age_ms",
        "max_header_bytes",
        "web_config_file",
        "mode",
        "settle_secs",
        "interval_secs",
        "[sources.csv]",
        "delimiter",
        "columns",
        "escape",
        "fill",
    ] {
        assert!(text.contains(key), "example lacks {key}");
    }
}

#[test]
fn empty_file_is_the_defaults() {
    let c = Config::from_toml("c.toml", "", None).unwrap();
    assert_eq!(c.limits, Limits::default());
    assert!(c.sources.is_empty());
}

#[test]
fn errors_name_line_and_key() {
    let e = err("listen = \"127.0.0.1:9471\"\nlisten_addr = \"x\"\n");
    assert!(e.starts_with("c.toml:2:1: listen_addr: unknown field"), "{e}");
    let e = err("listen = \"localhost\"\n");
    assert!(e.starts_with("c.toml:1:10: listen: "), "{e}");
    let e = err("[limits]\nmax_line_bytes = \"big\"\n");
    assert!(e.starts_with("c.toml:2:") && e.contains("limits.max_line_bytes"), "{e}");
    let e = err("[limits]\npoll_interval_ms = 1\n");
    assert!(e.starts_with("c.toml:2:") && e.contains("limits.poll_interval_ms: must be at least 10"), "{e}");
    let e = err("[http]\nmax_connections = 0\n");
    assert!(e.starts_with("c.toml:2:") && e.contains("http.max_connections: must be 1 to 65536"), "{e}");
    let e = err("[[sources]]\nname = \"a\"\npaths = []\n");
    assert!(e.starts_with("c.toml:3:") && e.contains("sources[0].paths"), "{e}");
    let e = err("[[sources]]\nname = \"a\"\npaths = [\"x\"]\n[[sources]]\nname = \"a\"\npaths = [\"y\"]\n");
    assert!(e.starts_with("c.toml:5:") && e.contains("defined twice"), "{e}");
    let e = err("[[sources]]\nname = \"a\"\npaths = [\"x\"]\nformat = \"xml\"\n");
    assert!(e.starts_with("c.toml:4:") && e.contains("sources.format") && e.contains("xml"), "{e}");
    let e = err("[labels]\npattern = \"x\"\n");
    assert!(e.starts_with("c.toml:2:") && e.contains("labels.pattern"), "{e}");
    let e = err("[[sources]]\nname = \"a\"\npaths = [\"x\"]\nexclude = [\"[\"]\n");
    assert!(e.starts_with("c.toml:4:") && e.contains("bad glob"), "{e}");
}

#[test]
fn cli_paths_become_the_default_source() {
    let mut c = Config::default();
    c.add_cli_paths(&["/var/log/a.log".into()], FormatChoice::Cls, StartAt::End);
    assert_eq!(c.sources[0].name, "default");
    assert_eq!(c.sources[0].format, FormatChoice::Cls);
    assert_eq!(c.sources[0].start_at, StartAt::End);
    assert!(c.sources[0].exclude.contains(&"*.gz".to_string()));
}

#[test]
fn relative_paths_resolve_against_the_config_file() {
    let c = Config::from_toml(
        "c.toml",
        "state_dir = \"st\"\n[[sources]]\nname = \"a\"\npaths = [\"logs/*.log\"]\n",
        Some(Path::new("/etc/aw")),
    )
    .unwrap();
    assert_eq!(c.state_dir, PathBuf::from("/etc/aw/st"));
    assert_eq!(c.sources[0].paths, ["/etc/aw/logs/*.log"]);
}

#[test]
fn max_files_still_loads_as_the_open_files_bound() {
    let limits = |text: &str| Config::from_toml("c.toml", text, None).unwrap().limits.tail;
    assert_eq!(limits("").open_files_bound(), crate::tail::DEFAULT_MAX_OPEN_FILES);
    assert_eq!(limits("[limits]\nmax_files = 50\n").open_files_bound(), 50);
    assert_eq!(limits("[limits]\nmax_files = 50\nmax_open_files = 200\n").open_files_bound(), 200);
    // An old config's tiny max_files loads; the follower keeps the few descriptors it needs.
    assert_eq!(limits("[limits]\nmax_files = 1\n").open_files_bound(), 4);
    let l = limits("[limits]\nclose_idle_secs = 60\nread_budget_bytes = 65536\n");
    assert_eq!((l.close_idle_secs, l.read_budget_bytes), (60, 65536));
    assert!(err("[limits]\nmax_open_files = 2\n").contains("limits.max_open_files: must be at least 4"));
    assert!(err("[limits]\nclose_idle_secs = 0\n").contains("limits.close_idle_secs: must be at least 1"));
}

#[test]
fn sources_of_batches_and_csv_dialects_load_or_name_their_key() {
    let c = Config::from_toml(
        "c.toml",
        "[[sources]]\nname = \"b\"\nmode = \"batches\"\npaths = [\"/d\"]\ninterval_secs = 600\n\
         [sources.csv]\ndelimiter = \"|\"\nheader = false\ncolumns = [\"SCF_Message\"]\nescape = \"\"\nfill = \"null\"\n",
        None,
    )
    .unwrap();
    let s = &c.sources[0];
    assert_eq!(s.batches, Some(crate::batch_options::BatchOptions { settle_secs: 5, interval_secs: 600 }));
    assert!(s.exclude.is_empty(), "batches are compressed on purpose: *.gz is not excluded");
    let d = s.csv.as_ref().unwrap();
    assert_eq!((d.delimiter, d.header, d.quote, d.fill.as_deref()), (b'|', false, None, Some("null")));
    let e = err("[[sources]]\nname = \"b\"\npaths = [\"/d\"]\nsettle_secs = 3\n");
    assert!(e.contains("sources[0].mode") && e.contains("need mode = \"batches\""), "{e}");
    let e = err("[[sources]]\nname = \"b\"\nmode = \"batches\"\npaths = [\"/d\"]\ninterval_secs = 10\n");
    assert!(e.contains("sources[0].interval_secs: must be 60 to 86400"), "{e}");
    let e = err("[[sources]]\nname = \"b\"\npaths = [\"/d\"]\n[sources.csv]\nheader = false\n");
    assert!(e.starts_with("c.toml:4:") && e.contains("sources[0].csv") && e.contains("columns"), "{e}");
    let e = err("[[sources]]\nname = \"b\"\npaths = [\"/d\"]\n[sources.csv]\ndelimiter = \"#\"\n");
    assert!(e.contains("sources[0].csv") && e.contains("delimiter \"#\""), "{e}");
    let e = err("[[sources]]\nname = \"b\"\nmode = \"tail\"\npaths = [\"/d\"]\n");
    assert!(e.contains("mode") && e.contains("tail"), "{e}");
}

#[test]
fn mistakes_in_an_alert_table_hide_no_other_mistake() {
    let text = "[limits]\npoll_interval_ms = 1\n\n[[alerts]]\nname = \"X\"\npattern = \"wx_45011_minute_quota\"\n\
                mesure = \"count\"\nthreshold = 1\nseverity = \"warning\"\n\n[[sources]]\nname = \"a\"\n\
                paths = [\"/tmp/x.log\"]\nfromat = \"cls\"\n";
    let e = err(text);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 4, "{e}");
    for (line, want) in lines.iter().zip(["c.toml:2:", "c.toml:5:", "c.toml:7:", "c.toml:14:"]) {
        assert!(line.starts_with(want), "{e}");
    }
    assert!(e.contains("limits.poll_interval_ms") && e.contains("mesure") && e.contains("fromat"), "{e}");
}
