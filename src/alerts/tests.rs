use super::*;
use crate::patterns::Catalogue;
use crate::timefmt;
use crate::window::{MINUTE_MS, Windows};

const T0: i64 = 1_741_914_000_000;
const S: i64 = 1000;

fn setup() -> (Catalogue, Windows) {
    let c = Catalogue::builtin().unwrap();
    let n = c.patterns().len();
    (c, Windows::new(n, 60))
}

fn rule(measure: Measure, threshold: f64, for_secs: u64) -> RuleConfig {
    RuleConfig {
        alert: "Q".into(),
        pattern: "wx_45011_minute_quota".into(),
        measure,
        threshold,
        window_secs: 300,
        for_secs,
        keep_firing_for_secs: 60,
        severity: "warning".into(),
        min_calls: None,
    }
}

#[test]
fn inactive_pending_firing_resolved_with_hysteresis() {
    let (c, mut w) = setup();
    let p = c.index_of("wx_45011_minute_quota").unwrap();
    let mut e = Engine::new(&[rule(Measure::PerMinute, 2.0, 30)], &c).unwrap();
    assert!(!e.evaluate(T0, &w));
    w.add(p, T0 + S);
    w.add(p, T0 + 2 * S);
    assert!(e.evaluate(T0 + 5 * S, &w));
    assert_eq!(e.alerts[0].state, State::Pending);
    assert!(e.alertmanager_payload(T0, T0, 0, "x").0.is_empty(), "pending is not sent");
    e.evaluate(T0 + 35 * S, &w);
    assert_eq!(e.alerts[0].state, State::Firing);
    let (body, sent) = e.alertmanager_payload(T0, T0 + 100 * S, 0, "x");
    assert_eq!(body.len(), 1);
    assert_eq!(body[0]["startsAt"], timefmt::format_utc(T0 + 5 * S), "activeAt, when it became pending");
    e.ack(&sent, T0);
    // The burst is two minutes old: the condition is false, but it keeps firing for 60 s.
    e.evaluate(T0 + 125 * S, &w);
    assert_eq!(e.alerts[0].state, State::Firing);
    e.evaluate(T0 + 184 * S, &w);
    assert_eq!(e.alerts[0].state, State::Firing);
    e.evaluate(T0 + 185 * S, &w);
    assert_eq!(e.alerts[0].state, State::Inactive);
    let (resolved, sent) = e.alertmanager_payload(T0 + 200 * S, T0 + 300 * S, 0, "x");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["startsAt"], timefmt::format_utc(T0 + 5 * S));
    assert_eq!(resolved[0]["endsAt"], timefmt::format_utc(T0 + 185 * S));
    e.ack(&sent, T0 + 200 * S);
    assert!(e.alertmanager_payload(T0 + 200 * S, T0, 0, "x").0.is_empty(), "a resolution is sent once");
}

#[test]
fn an_episode_run_through_at_once_is_told_firing_then_resolved_after_the_hold() {
    let (c, mut w) = setup();
    let p = c.index_of("wx_45011_minute_quota").unwrap();
    let mut e = Engine::new(&[rule(Measure::PerMinute, 1.0, 0)], &c).unwrap();
    w.add(p, T0 + 10 * S);
    for m in 0..5 {
        e.close_minute(T0 + m * MINUTE_MS, &w);
    }
    assert_eq!(e.alerts[0].state, State::Inactive, "fired and resolved within one read");
    const WALL: i64 = 2_000_000_000_000;
    let (body, sent) = e.alertmanager_payload(WALL, WALL + 180 * S, 30 * S, "x");
    assert_eq!(body.len(), 1);
    assert_eq!(body[0]["startsAt"], timefmt::format_utc(T0 + MINUTE_MS - 1));
    assert_eq!(body[0]["endsAt"], timefmt::format_utc(WALL + 180 * S), "first told firing");
    assert_eq!(e.next_release_ms(30 * S), None, "nothing held before Alertmanager heard of it");
    e.ack(&sent, WALL);
    assert_eq!(e.next_release_ms(30 * S), Some(WALL + 30 * S));
    let (held, _) = e.alertmanager_payload(WALL + 29 * S, WALL + 200 * S, 30 * S, "x");
    assert_eq!(held[0]["endsAt"], timefmt::format_utc(WALL + 200 * S), "held: still told firing");
    let (body, sent) = e.alertmanager_payload(WALL + 30 * S, WALL, 30 * S, "x");
    assert_eq!(body[0]["endsAt"], timefmt::format_utc(T0 + 4 * MINUTE_MS - 1), "its own end, event time");
    e.ack(&sent, WALL + 30 * S);
    assert!(e.outbox.is_empty());
}

#[test]
fn a_burst_in_the_middle_replays_pending_firing_resolved_in_event_time() {
    let (c, mut w) = setup();
    let p = c.index_of("wx_45011_minute_quota").unwrap();
    // Quiet minutes 0-4 and 8-14, a burst of 30/min in minutes 5-7; attempts every minute.
    for m in 0..15 {
        for i in 0..50 {
            w.add_attempt(T0 + m * MINUTE_MS + i * S);
        }
        if (5..=7).contains(&m) {
            for i in 0..30 {
                w.add(p, T0 + m * MINUTE_MS + i * S);
            }
        }
    }
    let t = replay_transitions(&[rule(Measure::PerMinute, 20.0, 60)], &c, &w).unwrap();
    let got: Vec<(State, State, i64)> = t.iter().map(|t| (t.from, t.to, t.at_ms)).collect();
    let end = |m: i64| T0 + (m + 1) * MINUTE_MS - 1;
    assert_eq!(
        got,
        [
            (State::Inactive, State::Pending, end(5)),
            (State::Pending, State::Firing, end(6)),
            // Minute 8 still sees minute 7 (per_minute takes the last complete minute too); the
            // condition is false from minute 9, and the alert resolves 60 s later.
            (State::Firing, State::Inactive, end(10)),
        ]
    );
    assert_eq!(t[1].active_at_ms, Some(end(5)), "activeAt is in the burst's first minute");
    // The same history evaluated live, minute by minute as the daemon does, tells the same story.
    let mut e = Engine::new(&[rule(Measure::PerMinute, 20.0, 60)], &c).unwrap();
    let live: Vec<Transition> = (0..15).flat_map(|m| e.close_minute(T0 + m * MINUTE_MS, &w)).collect();
    assert_eq!(live, t);
}

#[test]
fn a_rule_changed_at_reload_is_judged_at_once() {
    let (c, mut w) = setup();
    let p = c.index_of("wx_45011_minute_quota").unwrap();
    let mut old = Engine::new(&[rule(Measure::PerMinute, 1.0, 0)], &c).unwrap();
    for _ in 0..5 {
        w.add(p, T0);
    }
    old.evaluate(T0 + S, &w);
    assert_eq!(old.alerts[0].state, State::Firing);
    // The same rule: state carries over and stays.
    let mut same = Engine::new(&[rule(Measure::PerMinute, 1.0, 0)], &c).unwrap();
    same.inherit(&old);
    same.evaluate(T0 + S, &w);
    assert_eq!(same.alerts[0].state, State::Firing);
    // The threshold raised above the value: resolved at the next evaluation, at the same event time.
    let mut raised = Engine::new(&[rule(Measure::PerMinute, 10.0, 0)], &c).unwrap();
    raised.inherit(&old);
    assert!(raised.evaluate(T0 + S, &w));
    assert_eq!(raised.alerts[0].state, State::Inactive);
    assert_eq!(raised.outbox[0].ends_ms, Some(T0 + S));
}

#[test]
fn a_flap_inside_the_hysteresis_does_not_resolve() {
    let (c, mut w) = setup();
    let p = c.index_of("wx_45011_minute_quota").unwrap();
    let mut e = Engine::new(&[rule(Measure::PerMinute, 1.0, 0)], &c).unwrap();
    w.add(p, T0);
    e.evaluate(T0 + S, &w);
    assert_eq!(e.alerts[0].state, State::Firing);
    e.evaluate(T0 + 130 * S, &w); // clearing
    w.add(p, T0 + 150 * S);
    e.evaluate(T0 + 151 * S, &w); // back before 60 s passed
    e.evaluate(T0 + 200 * S, &w);
    assert_eq!(e.alerts[0].state, State::Firing);
    assert_eq!(e.alerts[0].active_at_ms, Some(T0 + S));
}

#[test]
fn ratio_and_count_measures() {
    let (c, mut w) = setup();
    let t = c.index_of("ticket_invalid").unwrap();
    let mut r = rule(Measure::RatioToAttempts, 0.05, 0);
    r.pattern = "ticket_invalid".into();
    let mut e = Engine::new(&[r], &c).unwrap();
    for i in 0..100 {
        w.add_attempt(T0 + i * S);
    }
    for i in 0..4 {
        w.add(t, T0 + i * S);
    }
    e.evaluate(T0 + 100 * S, &w);
    assert_eq!((e.alerts[0].state, e.alerts[0].value), (State::Inactive, 0.04));
    w.add(t, T0 + 50 * S);
    e.evaluate(T0 + 101 * S, &w);
    assert_eq!(e.alerts[0].state, State::Firing);
    let d = default_rules();
    let e = Engine::new(&d, &c).unwrap();
    assert_eq!(e.alerts.len(), 9, "the guide's eight and RolloutVersionWorse");
}

#[test]
fn bad_rules_are_refused_by_name() {
    let (c, _) = setup();
    let mut r = rule(Measure::Count, 1.0, 0);
    r.pattern = "nope".into();
    assert_eq!(Engine::new(&[r], &c).unwrap_err().to_string(), "alert \"Q\": no pattern \"nope\"");
    assert!(Engine::new(&[rule(Measure::Count, 0.0, 0)], &c).is_err());
}

/// A version alert's summary is the comparison of the same evaluation as its value: after more
/// failed calls, both have moved together (the summary was the one of the moment it fired).
#[test]
fn a_version_alerts_summary_follows_its_value() {
    let (c, mut w) = setup();
    let q = c.index_of("wx_45011_minute_quota").unwrap();
    let mut e = Engine::new(&[rollout_rule()], &c).unwrap();
    let add = |w: &mut Windows, v: &str, calls: i64, failed: i64, t: i64| {
        for i in 0..calls {
            w.versions.add_call(Some("f"), v, t + i);
            if i < failed {
                w.versions.add_failure(Some("f"), v, q, true, t + i);
            }
        }
    };
    add(&mut w, "7", 5000, 50, T0);
    add(&mut w, "8", 500, 40, T0);
    e.evaluate(T0 + 59_999, &w);
    let figures = |e: &Engine| {
        let a = e.alerts.iter().find(|a| !a.key.is_empty()).unwrap();
        (a.state, a.value, a.summary.clone())
    };
    let (state, value, summary) = figures(&e);
    assert_eq!(state, State::Firing);
    assert!(summary.contains("(40 of 500)"), "{summary}");
    add(&mut w, "8", 100, 60, T0 + 30_000);
    e.evaluate(T0 + 119_999, &w);
    let (state, later, summary) = figures(&e);
    assert_eq!(state, State::Firing);
    assert!(later > value, "{value} → {later}");
    assert!(summary.contains("(100 of 600)"), "the summary of now: {summary}");
    let now = crate::versions::compare::compare_all(&w.versions, T0 + 119_999, &rollout_rule().version_test());
    assert_eq!(now.iter().find(|c| c.version == "8").unwrap().evidence, later, "the value of the same comparison");
}
