//! The tailer thread's step after every poll (`Evaluator::run`): hand the poll's Events to the state
//! (`observe`), evaluate alerts on the daemon's clock, build the read model (`crate::view`) once and
//! publish it, set the windowed gauges from it, then the follower's health as metrics; and the
//! checkpoint + history writes that go together (`save`). Also the history restored at start.
//!
//! Order matters: the view is published before the health metrics (lines read) are bumped, so once a
//! scrape shows N lines read, every page and API answer already shows what they held.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::batches::Batches;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::observe::Shared;
use crate::pipeline::Pipeline;
use crate::read_once::ReadOnce;
use crate::tail::{Clock, Tailer};
use crate::view::{Published, View};

/// The windows + alerts sink and the windowed gauges, fed by the tailer thread after every poll.
pub struct Evaluator {
    pub observed: Shared,
    pub metrics: Arc<Metrics>,
    pub changed: Arc<tokio::sync::Notify>,
    pub checkpoints_ok: Arc<AtomicBool>,
    pub state_dir: PathBuf,
    pub history: std::cell::RefCell<crate::history::Saver>,
    pub clock: Arc<dyn Clock>,
    /// Where the read model goes after each evaluation (HTTP reads it).
    pub view: Published,
    /// `authwatch_late_lines_total` so far: the counter follows the windows' own count.
    pub late_reported: std::cell::Cell<u64>,
    /// The first minute still filling at the last view (None: no view yet).
    pub open_minute: std::cell::Cell<Option<Option<i64>>>,
}

/// Sets the event clock's idle time and puts back the history saved with the checkpoint in effect
/// (see `history`): a bad or mismatched one is logged and counted, and the daemon begins without it.
pub fn restore_history(config: &Config, observed: &Shared, metrics: &Metrics, clock: &dyn Clock) {
    let Ok(mut o) = observed.lock() else { return };
    o.replay_idle_ms = config.alerting.replay_idle_secs as i64 * 1000;
    let checkpoint = std::fs::read(crate::tail::checkpoint::path_in(&config.state_dir)).ok();
    match crate::history::load(&config.state_dir, checkpoint.as_deref()) {
        Ok(Some(h)) => {
            crate::history::apply(&h, &mut o);
            tracing::info!(minutes = h.windows.slots.len(), "history restored");
        }
        Ok(None) => {}
        Err(e) => {
            metrics.history_load_failures_total.inc();
            let aside =
                e.is_bad_file().then(|| crate::history::move_aside(&config.state_dir, clock.now_ms() / 1000)).flatten();
            match aside {
                Some(p) => tracing::error!("{e}; moved to {} and starting without history", p.display()),
                None => tracing::error!("{e}; starting without history"),
            }
        }
    }
}

impl Evaluator {
    /// Hands the poll's Events over (one lock), evaluates and publishes the view, applies the
    /// follower's health.
    pub fn run(&self, tailer: &mut Tailer, once: &mut ReadOnce, pipeline: &mut Pipeline, batches: &mut Batches) {
        pipeline.tick();
        pipeline.hand_over();
        self.evaluate();
        // The follower's health (lines read…) after the view is published: once a scrape shows N lines
        // read, every page and API answer shows what they held.
        let mut health = tailer.take_health();
        once.add_health(&mut health);
        batches.add_health(&mut health);
        pipeline.apply_health(health);
        let lookalikes = &self.metrics.file_lookalike_decisions_total;
        lookalikes.inc_by(tailer.lookalike_decisions().saturating_sub(lookalikes.get()));
    }

    /// Evaluates alerts at the daemon's clock, then builds the read model once and publishes it (the
    /// windowed gauges and every page read it).
    fn evaluate(&self) {
        let now = self.clock.now_ms() as i64;
        let Ok((changed, view)) = self.observed.lock().map(|mut o| {
            let changed = o.evaluate(now);
            // A new view when anything it shows may differ: Events came, an alert moved, or a minute
            // became complete. An idle poll publishes nothing new.
            let open = crate::view::complete_before(&o, now).map(|t| t.div_euclid(crate::window::MINUTE_MS));
            let moved = self.open_minute.replace(Some(open)) != Some(open);
            let fresh = o.take_changes() | changed | moved;
            (changed, fresh.then(|| View::of_state(&o, now)))
        }) else {
            return;
        };
        if let Some(view) = view {
            // Published before the gauges move: a reader that sees a gauge change (an alert firing)
            // then finds the view that changed it at /api/v1/*, never the one before.
            let late = view.late_lines;
            self.view.publish(view);
            let view = self.view.get();
            crate::gauges::show(&self.metrics, &view);
            self.metrics.late_lines_total.inc_by(late.saturating_sub(self.late_reported.replace(late)));
        }
        if changed {
            self.changed.notify_one();
        }
    }

    pub fn save(&self, tailer: &mut Tailer) {
        match self.saved(tailer.checkpoint()) {
            Ok(_) => self.save_history(tailer.checkpoint_path()),
            Err(e) => {
                tracing::error!(path = %tailer.checkpoint_path().display(), error = %e, "cannot write checkpoint; reading goes on");
            }
        }
    }

    /// The history, right after the checkpoint it goes with (nothing was read in between).
    pub fn save_history(&self, checkpoint_path: &Path) {
        let checkpoint = std::fs::read(checkpoint_path).ok();
        let Ok(h) = self.observed.lock().map(|o| crate::history::snapshot(&o, checkpoint.as_deref())) else { return };
        match self.history.borrow_mut().save(&self.state_dir, &h) {
            Ok(true) => self.metrics.history_writes_total.inc(),
            Ok(false) => {}
            Err(e) => {
                self.metrics.history_failures_total.inc();
                tracing::error!(dir = %self.state_dir.display(), error = %e, "cannot write history; reading goes on");
            }
        }
    }

    /// A checkpoint write's outcome, in the metrics and the readiness flag; the error is the caller's
    /// to log.
    pub fn saved(&self, result: std::io::Result<bool>) -> std::io::Result<bool> {
        let m = &self.metrics;
        let ok = result.is_ok();
        match &result {
            Ok(true) => m.checkpoint_writes_total.inc(),
            Ok(false) => {}
            Err(_) => m.checkpoint_failures_total.inc(),
        }
        m.checkpoint_healthy.set(i64::from(ok));
        self.checkpoints_ok.store(ok, Ordering::Release);
        result
    }
}
