//! Alerts pushed to Alertmanager's `/api/v2/alerts`.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Alertmanager;
use crate::metrics::Metrics;
use crate::observe::Shared;
use crate::tail::Clock;

/// Pushes alerts to Alertmanager: at once when one changes state, and every `resend_interval_secs`
/// while any fires. A resolution is sent until Alertmanager accepts it, then not again.
pub(super) async fn push_alerts(
    am: Alertmanager,
    observed: Shared,
    metrics: Arc<Metrics>,
    changed: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    generator: String,
    clock: Arc<dyn Clock>,
) {
    let wall_ms = || clock.now_ms() as i64;
    let resend = Duration::from_secs(am.resend_interval_secs);
    let hold_ms = am.resolve_hold_secs as i64 * 1000;
    let mut stopping = false;
    let mut next_release: Option<i64> = None;
    loop {
        if !stopping {
            // A held resolution wakes the pusher when it may go.
            let wait =
                next_release.map_or(resend, |t| resend.min(Duration::from_millis((t - wall_ms()).max(0) as u64)));
            tokio::select! {
                _ = changed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => stopping = true,
            }
        }
        let (payload, sent): (Vec<serde_json::Value>, Vec<crate::alerts::Sent>) = match observed.lock() {
            Ok(o) => {
                // Firing alerts stay valid for three resend intervals unless re-sent.
                let ends = wall_ms().max(o.now(wall_ms())) + 3 * resend.as_millis() as i64;
                next_release = o.engine.next_release_ms(hold_ms);
                o.engine.alertmanager_payload(wall_ms(), ends, hold_ms, &generator)
            }
            Err(_) => break,
        };
        if !payload.is_empty() {
            match crate::http::post_json(
                &am.authority,
                &format!("{}/api/v2/alerts", am.prefix),
                &serde_json::Value::Array(payload),
                Duration::from_millis(am.timeout_ms),
            )
            .await
            {
                Ok(()) => {
                    metrics.alertmanager_notifications_total.with_label_values(&["success"]).inc();
                    if let Ok(mut o) = observed.lock() {
                        o.engine.ack(&sent, wall_ms());
                        next_release = o.engine.next_release_ms(hold_ms);
                    }
                }
                Err(e) => {
                    metrics.alertmanager_notifications_total.with_label_values(&["failure"]).inc();
                    tracing::warn!(alertmanager = %am.authority, error = %e, "cannot push alerts; retrying");
                }
            }
        }
        if stopping {
            break;
        }
    }
}
