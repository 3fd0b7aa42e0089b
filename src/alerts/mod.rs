//! Alerts evaluated in the daemon (and replayed by `check`): rules over the event-time windows, a
//! Prometheus-like state machine with hysteresis, and the Alertmanager payload. What `/api/v1/alerts`
//! and the status page show is read from the view (`crate::view`).
//!
//! Rooms, each importing only the ones before it: `rules` (what a rule measures, its settings, the
//! shipped defaults), `state` (where each alert stands: states, transitions, episodes), `rollout`
//! (the `RolloutVersionWorse` alerts per function version), `engine` (evaluation in time, the state
//! machine, the outbox), `alertmanager` (the payload and what Alertmanager accepted), `replay` (the
//! rules over a finished history). This file only declares them and re-exports.

mod alertmanager;
mod engine;
mod replay;
mod rollout;
mod rules;
mod state;

pub use alertmanager::{Alertmanager, Sent};
pub use engine::Engine;
pub use replay::replay_transitions;
pub use rules::{Measure, RuleConfig, RuleError, default_rules, rollout_rule};
pub use state::{Alert, Episode, State, Transition, format_value, minute_end};

#[cfg(test)]
mod tests;
