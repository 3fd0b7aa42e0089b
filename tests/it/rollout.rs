//! Canary rollouts with known truth: two versions of a function, the canary taking a share of the
//! calls and failing at a rate of our choosing. Every form (CLS JSON and CSV with `SCF_Qualifier`,
//! plain text per version with the version from the path or given) gives the true calls and failed
//! calls per version; a worse canary fires `RolloutVersionWorse` at the minute the test predicts, in
//! event time, through Alertmanager, and resolves after it is rolled back; an equal one never fires.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::daemon::*;
use crate::common::forms::{Call, Outcome, cls_csv_as, cls_json_as, scf_text, tcb_log};
use crate::common::{gzip, json, run, run_stdin, write};

pub const T0: i64 = 1_741_914_000_000; // 2025-03-14T01:00:00Z
pub const MIN: i64 = 60_000;
pub const BASE: &str = "7";
pub const CANARY: &str = "8";

/// A small fixed-seed generator (xorshift64*): the same rollout every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub struct Plan {
    pub function: &'static str,
    pub minutes: i64,
    pub per_minute: i64,
    /// The canary's share of calls while it runs.
    pub share: f64,
    /// Both versions fail this share of calls with 40029.
    pub base_rate: f64,
    /// The canary fails this much more, with 45011.
    pub extra: f64,
    /// The canary takes calls in minutes before this one (then it is rolled back).
    pub canary_until: i64,
    pub seed: u64,
}

/// Per version: calls, failed calls, failed calls per id; and per minute (calls, failed) per version.
#[derive(Default, Debug)]
pub struct Truth {
    pub calls: BTreeMap<String, u64>,
    pub failed: BTreeMap<String, u64>,
    pub by_id: BTreeMap<String, BTreeMap<String, u64>>,
    pub minutes: BTreeMap<(String, i64), (u64, u64)>,
}

pub fn rollout(p: &Plan) -> (Vec<(Call, &'static str)>, Truth) {
    let mut rng = Rng(p.seed | 1);
    let mut calls = Vec::new();
    let mut t = Truth::default();
    for m in 0..p.minutes {
        for i in 0..p.per_minute {
            let version = if m < p.canary_until && rng.f64() < p.share { CANARY } else { BASE };
            let u = rng.f64();
            let errcode = if u < p.base_rate {
                Some(40029)
            } else if version == CANARY && u < p.base_rate + p.extra {
                Some(45011)
            } else {
                None
            };
            let v = version.to_string();
            *t.calls.entry(v.clone()).or_default() += 1;
            let cell = t.minutes.entry((v.clone(), m)).or_default();
            cell.0 += 1;
            if let Some(code) = errcode {
                cell.1 += 1;
                *t.failed.entry(v.clone()).or_default() += 1;
                let id = if code == 45011 { "wx_45011_minute_quota" } else { "wx_40029_invalid_code" };
                *t.by_id.entry(v.clone()).or_default().entry(id.into()).or_default() += 1;
            }
            calls.push((
                Call {
                    request_id: format!("{m:08x}-0a1b-4c2d-9e3f-{i:012x}"),
                    function: p.function.into(),
                    start_ms: T0 + m * MIN + i * (MIN / p.per_minute) + 100,
                    duration_ms: 80,
                    outcome: errcode.map_or(Outcome::Ok, |errcode| Outcome::Returned { errcode }),
                },
                version,
            ));
        }
    }
    (calls, t)
}

type VersionOf = Box<dyn Fn(&Call) -> String>;

fn versioned(calls: &[(Call, &'static str)]) -> (Vec<Call>, VersionOf) {
    let map: BTreeMap<String, &'static str> = calls.iter().map(|(c, v)| (c.request_id.clone(), *v)).collect();
    (calls.iter().map(|(c, _)| c.clone()).collect(), Box::new(move |c: &Call| map[&c.request_id].to_string()))
}

/// `check --output json`'s `versions` for one function as {version: (calls, failed_calls, ratio)}.
fn versions_of(doc: &Value, function: &str) -> BTreeMap<String, (u64, BTreeMap<String, u64>, f64)> {
    doc["versions"]
        .as_array()
        .expect("a versions list")
        .iter()
        .filter(|r| r["function"] == function)
        .map(|r| {
            let ids =
                r["failed_calls"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
            (
                r["version"].as_str().unwrap().to_string(),
                (r["calls"].as_u64().unwrap(), ids, r["failed_ratio"].as_f64().unwrap()),
            )
        })
        .collect()
}

fn expected(t: &Truth) -> BTreeMap<String, (u64, BTreeMap<String, u64>, f64)> {
    t.calls
        .iter()
        .map(|(v, n)| {
            let failed = t.failed.get(v).copied().unwrap_or(0);
            let ratio = (failed as f64 / *n as f64 * 1e6).round() / 1e6;
            (v.clone(), (*n, t.by_id.get(v).cloned().unwrap_or_default(), ratio))
        })
        .collect()
}

#[test]
fn every_form_of_a_canary_export_gives_the_true_figures_per_version() {
    let plan = Plan {
        function: "orderPay",
        minutes: 10,
        per_minute: 60,
        share: 0.3,
        base_rate: 0.05,
        extra: 0.10,
        canary_until: 10,
        seed: 22,
    };
    let (calls, truth) = rollout(&plan);
    let want = expected(&truth);
    assert!(want[CANARY].0 > 100 && want[BASE].0 > 300, "{want:?}");
    let dir = tempfile::tempdir().unwrap();
    let (plain, version_of) = versioned(&calls);

    // CLS JSON and CSV: the version from SCF_Qualifier (found in the first block: no flag needed).
    let jsonl = dir.path().join("export.jsonl");
    write(&jsonl, &cls_json_as(&plain, &version_of));
    let csv = dir.path().join("export.csv");
    write(&csv, &cls_csv_as(&plain, &version_of));
    for (form, path) in [("cls json", &jsonl), ("cls csv", &csv)] {
        let doc = json(&run(&["check", "--output", "json", path.to_str().unwrap()]));
        assert_eq!(versions_of(&doc, "orderPay"), want, "{form}");
        // The same bytes piped in, plain or gzip: standard input's first block is looked at too.
        let bytes = std::fs::read(path).unwrap();
        for (how, input) in [("standard input", bytes.clone()), ("standard input, gzip", gzip(&bytes))] {
            let doc = json(&run_stdin(&["check", "--output", "json", "-"], &input));
            assert_eq!(versions_of(&doc, "orderPay"), want, "{form} on {how}");
        }
    }

    // Versions first named past the first 64 KB (another function's records come first): START
    // lines are not read, so no figure per version is made (each call would be seen only at its
    // errors, all failed); `--by-version` reads them, and the rows are the true ones.
    let mut late = Vec::new();
    for line in std::str::from_utf8(&cls_json_as(&plain, &version_of)).unwrap().lines() {
        let mut rec: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
        rec.remove("SCF_Qualifier");
        rec.insert("SCF_FunctionName".into(), "warmUp".into());
        // Its own calls: each request id written backwards.
        let id = rec["SCF_RequestId"].as_str().unwrap().to_string();
        let other: String = id.chars().rev().collect();
        let message = rec["SCF_Message"].as_str().unwrap().replace(&id, &other);
        rec.insert("SCF_RequestId".into(), other.into());
        rec.insert("SCF_Message".into(), message.into());
        late.extend_from_slice(Value::Object(rec).to_string().as_bytes());
        late.push(b'\n');
        if late.len() > 70_000 {
            break;
        }
    }
    late.extend_from_slice(&cls_json_as(&plain, &version_of));
    let doc = json(&run_stdin(&["check", "--output", "json", "-"], &late));
    assert!(doc["versions"].as_array().is_none_or(|v| v.is_empty()), "no START read, no versions: {}", doc["versions"]);
    let doc = json(&run_stdin(&["check", "--output", "json", "--by-version", "-"], &late));
    assert_eq!(versions_of(&doc, "orderPay"), want, "versions named late, --by-version");

    // Plain text, one directory per version: the version from the path.
    for v in [BASE, CANARY] {
        let mine: Vec<Call> = calls.iter().filter(|(_, cv)| *cv == v).map(|(c, _)| c.clone()).collect();
        std::fs::create_dir(dir.path().join(format!("v{v}"))).unwrap();
        write(&dir.path().join(format!("v{v}/app.log")), &scf_text(&mine));
    }
    let p = |v: &str| dir.path().join(format!("v{v}/app.log")).display().to_string();
    let doc = json(&run(&[
        "check",
        "--output",
        "json",
        "--version-from-path",
        "/v(?P<version>[0-9]+)/",
        &p(BASE),
        &p(CANARY),
    ]));
    assert_eq!(versions_of(&doc, "unknown"), want, "plain text, version from the path");
    // One file, its version given.
    let doc = json(&run(&["check", "--output", "json", "--fn-version", CANARY, &p(CANARY)]));
    assert_eq!(
        versions_of(&doc, "unknown"),
        want.iter().filter(|(v, _)| *v == CANARY).map(|(k, v)| (k.clone(), v.clone())).collect()
    );
    // Its function given too (`--function`, as a source's `function`): the same rows under it.
    let doc = json(&run(&["check", "--output", "json", "--fn-version", CANARY, "--function", "orderPay", &p(CANARY)]));
    assert_eq!(
        versions_of(&doc, "orderPay"),
        want.iter().filter(|(v, _)| *v == CANARY).map(|(k, v)| (k.clone(), v.clone())).collect()
    );
    assert!(versions_of(&doc, "unknown").is_empty());
    // A record that names its function keeps it.
    let doc = json(&run(&["check", "--output", "json", "--function", "elsewhere", jsonl.to_str().unwrap()]));
    assert_eq!(versions_of(&doc, "orderPay"), want, "cls json keeps its own function");

    // `tcb fn log` output per version (it names the function, not the version).
    for v in [BASE, CANARY] {
        let mine: Vec<Call> = calls.iter().filter(|(_, cv)| *cv == v).map(|(c, _)| c.clone()).collect();
        std::fs::create_dir(dir.path().join(format!("tcb-v{v}"))).unwrap();
        write(&dir.path().join(format!("tcb-v{v}/fn.log")), &tcb_log(&mine));
    }
    let t = |v: &str| dir.path().join(format!("tcb-v{v}/fn.log")).display().to_string();
    let doc = json(&run(&[
        "check",
        "--output",
        "json",
        "--version-from-path=tcb-v(?P<version>[0-9]+)/",
        &t(BASE),
        &t(CANARY),
    ]));
    assert_eq!(versions_of(&doc, "orderPay"), want, "tcb fn log, version from the path");

    // The daemon: a source per directory glob, the version from each file's path.
    let cfg = dir.path().join("authwatch.toml");
    write(
        &cfg,
        format!(
            "[[sources]]\nname = \"text\"\npaths = [\"{}/v*/app.log\"]\nformat = \"text\"\nfunction = \"orderPay\"\nversion_from_path = '/v(?P<version>[0-9]+)/'\n",
            dir.path().display()
        )
        .as_bytes(),
    );
    let d = Daemon::in_process(&[], Some(&cfg), &dir.path().join("state"), 1_765_000_000_000);
    wait_until("the daemon's figures per version", || {
        d.advance(500);
        let v: Value = serde_json::from_str(&d.get("/api/v1/versions").1).unwrap();
        versions_of(&serde_json::json!({"versions": v["data"]["versions"]}), "orderPay") == want
    });
    let page = d.get("/").1;
    assert!(page.contains(r#"<table id="versions">"#) && page.contains("<code>orderPay</code>"), "the status page");
    d.stop();

    // The table's section says the same.
    let table = crate::common::stdout(&run(&["check", jsonl.to_str().unwrap()]));
    assert!(table.contains("By version"), "{table}");
    let canary_line =
        table.lines().find(|l| l.starts_with("orderPay") && l.split_whitespace().nth(1) == Some(CANARY)).unwrap();
    assert!(canary_line.contains(&format!(" {} ", want[CANARY].0)), "{canary_line}");
}

/// The first minute whose close finds the canary worse (the default test over the default window),
/// computed from the truth with the library's exact test, and the minute whose close resolves it.
pub fn predicted(t: &Truth, minutes: i64) -> (Option<i64>, Option<i64>) {
    use authwatch::versions::compare::{DEFAULT_MIN_CALLS, DEFAULT_THRESHOLD, DEFAULT_WINDOW_SECS, evidence};
    let window = DEFAULT_WINDOW_SECS as i64 / 60;
    let hold = authwatch::alerts::rollout_rule().keep_firing_for_secs as i64 / 60;
    let (mut fired, mut clear_since) = (None, None);
    for m in 0..minutes {
        let sum = |v: &str| {
            (m - window + 1..=m).fold((0, 0), |acc, k| {
                let c = t.minutes.get(&(v.to_string(), k)).copied().unwrap_or((0, 0));
                (acc.0 + c.0, acc.1 + c.1)
            })
        };
        let ((n1, x1), (n0, x0)) = (sum(CANARY), sum(BASE));
        let worse = n1 >= DEFAULT_MIN_CALLS
            && n0 >= DEFAULT_MIN_CALLS
            && n1 < n0
            && (x1 as f64 / n1 as f64) > (x0 as f64 / n0 as f64)
            && evidence(x1, n1, x0, n0) >= DEFAULT_THRESHOLD;
        match (fired, worse) {
            (None, true) => fired = Some(m),
            (Some(_), false) => {
                let since = *clear_since.get_or_insert(m);
                if m - since >= hold {
                    return (fired, Some(m));
                }
            }
            (Some(_), true) => clear_since = None,
            _ => {}
        }
    }
    (fired, None)
}

fn end_of(m: i64) -> String {
    authwatch::timefmt::format_utc(T0 + (m + 1) * MIN - 1)
}

#[test]
fn a_worse_canary_fires_at_its_own_minute_in_a_replay_and_resolves_after_the_rollback() {
    let test = "a_worse_canary_fires_at_its_own_minute_in_a_replay_and_resolves_after_the_rollback";
    let Some(am_bin) = crate::common::external_tool("prometheus-alertmanager", test) else { return };
    let plan = Plan {
        function: "getLoginTicket",
        minutes: 45,
        per_minute: 120,
        share: 0.15,
        base_rate: 0.02,
        extra: 0.05,
        canary_until: 20,
        seed: 7,
    };
    let (calls, truth) = rollout(&plan);
    let (fires, resolves) = predicted(&truth, plan.minutes);
    let (fires, resolves) = (fires.expect("the worse canary is found"), resolves.expect("and resolved"));
    assert!(fires < plan.canary_until && resolves > plan.canary_until, "{fires} {resolves}");

    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = crate::replay_alertmanager::webhook();
    let (_am, am) = crate::common::alertmanager(
        &am_bin,
        dir.path(),
        &format!(
            "route:\n  receiver: hook\n  group_by: [alertname, function, version]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{hook}/\n        send_resolved: true\n"
        ),
    );
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = dir.path().join("authwatch.toml");
    // The shipped rules (no [[alerts]]): RolloutVersionWorse is on by default.
    write(
        &cfg,
        format!(
            "[alerting]\nclock = \"event\"\nreplay_idle_secs = 1\n[alertmanager]\nurl = \"http://{am}\"\nresend_interval_secs = 1\nresolve_hold_secs = 2\n[[sources]]\nname = \"cls\"\npaths = [\"{}/*.jsonl\"]\nformat = \"cls\"\n",
            logs.display()
        )
        .as_bytes(),
    );
    let (plain, version_of) = versioned(&calls);
    let staged = dir.path().join("export.jsonl");
    write(&staged, &cls_json_as(&plain, &version_of));
    // `check --report` replays the same export minute by minute: the same episode, the same minutes.
    let report = dir.path().join("r.html");
    run(&["check", "--report", report.to_str().unwrap(), staged.to_str().unwrap()]);
    let html = std::fs::read_to_string(&report).unwrap();
    let row = html.split("<tr class=\"alert-row\">").find(|r| r.contains("RolloutVersionWorse")).expect("an episode");
    let minute = |m: i64| end_of(m)[..19].replace('T', " ");
    assert!(row.contains("getLoginTicket version 8 against 7: wx_45011_minute_quota"), "{row}");
    assert!(
        row.contains(&minute(fires)) && row.contains(&minute(resolves)),
        "fired {fires}, resolved {resolves}: {row}"
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()], &dir.path().join("state"));
    std::fs::rename(&staged, logs.join("export.jsonl")).unwrap();

    let rollout_alerts = || -> Vec<Value> {
        got.lock()
            .unwrap()
            .iter()
            .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["labels"]["alertname"] == "RolloutVersionWorse")
            .collect()
    };
    wait_until("RolloutVersionWorse firing, then resolved", || {
        let a = rollout_alerts();
        a.iter().any(|a| a["status"] == "firing") && a.iter().any(|a| a["status"] == "resolved")
    });
    let a = rollout_alerts();
    let firing = a.iter().find(|a| a["status"] == "firing").unwrap();
    let resolved = a.iter().find(|a| a["status"] == "resolved").unwrap();
    let labels = &firing["labels"];
    assert_eq!(
        (&labels["function"], &labels["version"], &labels["baseline"], &labels["pattern"], &labels["severity"]),
        (
            &Value::from("getLoginTicket"),
            &Value::from(CANARY),
            &Value::from(BASE),
            &Value::from("wx_45011_minute_quota"),
            &Value::from("warning")
        ),
        "{firing}"
    );
    assert_eq!(firing["startsAt"], end_of(fires), "fired at the close of the predicted minute: {a:?}");
    assert_eq!(resolved["startsAt"], firing["startsAt"], "the same episode");
    assert_eq!(resolved["endsAt"], end_of(resolves), "resolved in event time: {a:?}");
    assert!(a.iter().all(|x| x["labels"]["version"] == CANARY), "only the canary: {a:?}");

    // The daemon's figures: the whole truth per version, in the API and in /metrics.
    let (_, body) = d.get("/api/v1/versions");
    let api: Value = serde_json::from_str(&body).unwrap();
    let doc = serde_json::json!({"versions": api["data"]["versions"]});
    assert_eq!(versions_of(&doc, "getLoginTicket"), expected(&truth));
    let metrics = d.metrics();
    let series = format!("authwatch_version_calls_total{{function=\"getLoginTicket\",version=\"{CANARY}\"}}");
    assert_eq!(d.metric(&series), Some(truth.calls[CANARY] as f64), "{metrics}");
    crate::common::promtool_check(&metrics, test);
    d.stop();
}

#[test]
fn an_equal_canary_never_fires_in_a_replay_or_a_report() {
    let plan = Plan {
        function: "getLoginTicket",
        minutes: 40,
        per_minute: 120,
        share: 0.15,
        base_rate: 0.04,
        extra: 0.0,
        canary_until: 40,
        seed: 8,
    };
    let (calls, truth) = rollout(&plan);
    assert_eq!(predicted(&truth, plan.minutes).0, None, "the test itself finds nothing");
    let dir = tempfile::tempdir().unwrap();
    let (plain, version_of) = versioned(&calls);
    let export = dir.path().join("export.jsonl");
    write(&export, &cls_json_as(&plain, &version_of));
    // The report's replay, minute by minute with the shipped rules: no RolloutVersionWorse episode.
    let report = dir.path().join("r.html");
    let out = run(&["check", "--report", report.to_str().unwrap(), export.to_str().unwrap()]);
    assert!(out.status.success() || out.status.code() == Some(0), "{}", crate::common::stderr(&out));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains(r#"<table id="versions">"#), "the report shows versions");
    assert!(!html.contains("RolloutVersionWorse"), "no episode of the rollout rule");

    // The daemon's replay: the comparisons were made (enough calls) and found nothing.
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = dir.path().join("authwatch.toml");
    write(
        &cfg,
        format!("[alerting]\nclock = \"event\"\nreplay_idle_secs = 1\n[[sources]]\nname = \"cls\"\npaths = [\"{}/*.jsonl\"]\nformat = \"cls\"\n", logs.display()).as_bytes(),
    );
    let d = Daemon::in_process(&[], Some(&cfg), &dir.path().join("state"), 1_765_000_000_000);
    std::fs::copy(&export, logs.join("export.jsonl")).unwrap();
    let firing = "authwatch_alert_firing{alertname=\"RolloutVersionWorse\",severity=\"warning\"}";
    wait_until("every call read", || {
        let (_, body) = d.get("/api/v1/versions");
        let v: Value = serde_json::from_str(&body).unwrap();
        let doc = serde_json::json!({"versions": v["data"]["versions"]});
        d.advance(500);
        versions_of(&doc, "getLoginTicket") == expected(&truth)
    });
    d.advance(2_000);
    let (_, body) = d.get("/api/v1/versions");
    let v: Value = serde_json::from_str(&body).unwrap();
    let c = &v["data"]["comparisons"][0];
    assert_eq!(
        (&c["version"], &c["baseline"], &c["verdict"]),
        (&Value::from(CANARY), &Value::from(BASE), &Value::from("not_worse")),
        "{v}"
    );
    assert_eq!(d.metric(firing), Some(0.0));
    assert_eq!(d.get("/api/v1/alerts").1, r#"{"status":"success","data":{"alerts":[]}}"#);
    d.stop();
}
