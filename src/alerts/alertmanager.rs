//! The Alertmanager `/api/v2/alerts` payload. Each firing episode (activeAt → resolution) waits in
//! the engine's outbox until Alertmanager has accepted it firing and then, no sooner than `hold_ms`
//! later, resolved, so an episode that a replay runs through in one read still reaches receivers as
//! firing, then resolved (Alertmanager notifies a group only after its `group_wait`, and never for an
//! alert it first hears of already resolved).

use serde_json::{Value, json};

use crate::timefmt;

use super::engine::Engine;
use super::state::{Alert, format_value};

/// Where alerts are pushed, Alertmanager's `/api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alertmanager {
    /// host:port of the Alertmanager (http only).
    pub authority: String,
    /// The path prefix before `/api/v2/alerts` (for Alertmanagers behind a route prefix).
    pub prefix: String,
    pub resend_interval_secs: u64,
    pub timeout_ms: u64,
    /// A resolution is sent no sooner than this after Alertmanager accepted the alert firing, so a
    /// replayed episode reaches receivers as firing, then resolved (Alertmanager's group_wait).
    pub resolve_hold_secs: u64,
}

/// What one push carried: (alert, key, episode start, sent resolved).
pub type Sent = (String, String, i64, bool);

impl Engine {
    fn labels(a: &Alert) -> Value {
        let mut l = serde_json::Map::new();
        l.insert("alertname".into(), json!(a.rule.alert));
        l.insert("severity".into(), json!(a.rule.severity));
        for (k, v) in &a.labels {
            l.insert(k.clone(), json!(v));
        }
        Value::Object(l)
    }

    fn annotations(a: &Alert) -> Value {
        json!({ "summary": a.summary, "fix": a.fix, "value": format_value(a.value) })
    }

    /// The Alertmanager `/api/v2/alerts` body at wall time `wall_ms`, and what it carries (for `ack`).
    /// Per alert its oldest episode not fully told: firing until Alertmanager has accepted it so, and
    /// while it fires or its resolution is held (re-sent, valid until `ends_at_ms`); resolved, with its
    /// own `endsAt`, once it has ended and `hold_ms` have passed since Alertmanager accepted it firing.
    pub fn alertmanager_payload(
        &self,
        wall_ms: i64,
        ends_at_ms: i64,
        hold_ms: i64,
        generator_url: &str,
    ) -> (Vec<Value>, Vec<Sent>) {
        let mut body = Vec::new();
        let mut sent = Vec::new();
        for a in &self.alerts {
            let Some(e) = self.outbox.iter().find(|e| e.alert == a.rule.alert && e.key == a.key) else { continue };
            let (ends, resolved) = match (e.firing_sent_ms, e.ends_ms) {
                (Some(told), Some(ended)) if wall_ms - told >= hold_ms => (ended, true),
                // Firing (or held: still told firing, or Alertmanager would time it out by itself).
                _ => (ends_at_ms, false),
            };
            body.push(json!({
                "labels": Engine::labels(a),
                "annotations": Engine::annotations(a),
                "startsAt": timefmt::format_utc(e.starts_ms),
                "endsAt": timefmt::format_utc(ends),
                "generatorURL": generator_url,
            }));
            sent.push((a.rule.alert.clone(), a.key.clone(), e.starts_ms, resolved));
        }
        (body, sent)
    }

    /// Alertmanager accepted a payload at wall time `wall_ms`: episodes it heard of firing are marked,
    /// resolutions it heard of are done.
    pub fn ack(&mut self, sent: &[Sent], wall_ms: i64) {
        for (alert, key, starts_ms, resolved) in sent {
            let Some(i) =
                self.outbox.iter().position(|e| &e.alert == alert && &e.key == key && e.starts_ms == *starts_ms)
            else {
                continue;
            };
            if *resolved {
                self.outbox.remove(i);
            } else {
                self.outbox[i].firing_sent_ms.get_or_insert(wall_ms);
            }
        }
    }

    /// The wall time at which a held resolution may be sent, if one waits.
    pub fn next_release_ms(&self, hold_ms: i64) -> Option<i64> {
        self.outbox.iter().filter(|e| e.ends_ms.is_some()).filter_map(|e| e.firing_sent_ms).map(|t| t + hold_ms).min()
    }
}
