//! The rules: what each measures, its settings as the config file gives them, and the shipped
//! defaults (the guide's eight and `RolloutVersionWorse`). A rule is checked when the engine is
//! built from it (`super::engine::Engine::new`), which refuses a bad one with a `RuleError`.

use serde::{Deserialize, Serialize};

/// What a rule measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Matches over the last `window_secs`.
    Count,
    /// Matches per minute: the larger of the current minute so far and the last complete one.
    PerMinute,
    /// Matches over `window_secs` divided by login attempts over the same window (at least 1).
    RatioToAttempts,
    /// Per function, each version against the baseline over `window_secs` (`crate::versions::compare`):
    /// the value is the evidence (−log10 p), `threshold` the evidence that pages, `min_calls` the
    /// calls each side needs. One alert per (function, version) found worse; `pattern` is not used.
    VersionWorse,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The alert name (the `alertname` label).
    pub alert: String,
    /// A pattern id (none for `version_worse`).
    #[serde(default)]
    pub pattern: String,
    pub measure: Measure,
    /// Fires when the value is at or above this.
    pub threshold: f64,
    #[serde(default = "default_window_secs")]
    pub window_secs: u64,
    /// The condition must hold this long before the alert fires (pending meanwhile).
    #[serde(default)]
    pub for_secs: u64,
    /// A firing alert resolves only after its condition has been false this long (hysteresis).
    #[serde(default = "default_keep_firing_for_secs")]
    pub keep_firing_for_secs: u64,
    pub severity: String,
    /// `version_worse`: calls each side needs in the window (default `versions::compare::DEFAULT_MIN_CALLS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_calls: Option<u64>,
}

impl RuleConfig {
    /// The comparison a `version_worse` rule makes.
    pub fn version_test(&self) -> crate::versions::compare::Test {
        crate::versions::compare::Test {
            window_ms: self.window_secs as i64 * 1000,
            min_calls: self.min_calls.unwrap_or(crate::versions::compare::DEFAULT_MIN_CALLS),
            threshold: self.threshold,
        }
    }
}

fn default_window_secs() -> u64 {
    300
}

fn default_keep_firing_for_secs() -> u64 {
    60
}

/// The guide's defaults: any sign of a broken setup (login disabled, wrong key, npm not built, wrong SDK,
/// domain not allowed) in 5 minutes is critical; 45011 at 1/min is a warning and at 20/min critical; invalid
/// tickets above 5% of login attempts are a warning.
pub fn default_rules() -> Vec<RuleConfig> {
    let rule = |alert: &str, pattern: &str, measure, threshold, severity: &str| RuleConfig {
        alert: alert.into(),
        pattern: pattern.into(),
        measure,
        threshold,
        window_secs: default_window_secs(),
        for_secs: 0,
        keep_firing_for_secs: default_keep_firing_for_secs(),
        severity: severity.into(),
        min_calls: None,
    };
    vec![
        rule("CustomLoginDisabled", "custom_login_disabled", Measure::Count, 1.0, "critical"),
        rule("SignParamInvalid", "sign_param_invalid", Measure::Count, 1.0, "critical"),
        rule("MiniProgramNpmNotBuilt", "mp_require_undefined", Measure::Count, 1.0, "critical"),
        rule("SdkVersionMismatch", "sdk_version_mismatch", Measure::Count, 1.0, "critical"),
        rule("DomainNotAllowlisted", "domain_not_allowlisted", Measure::Count, 1.0, "critical"),
        rule("WeChatMinuteQuota", "wx_45011_minute_quota", Measure::PerMinute, 1.0, "warning"),
        rule("WeChatMinuteQuotaCritical", "wx_45011_minute_quota", Measure::PerMinute, 20.0, "critical"),
        rule("TicketInvalidRatio", "ticket_invalid", Measure::RatioToAttempts, 0.05, "warning"),
        rollout_rule(),
    ]
}

/// A new function version failing more calls than the version carrying the traffic (see
/// `crate::versions::compare` and docs/versions.md for the test and its measured error rates).
pub fn rollout_rule() -> RuleConfig {
    use crate::versions::compare;
    RuleConfig {
        alert: "RolloutVersionWorse".into(),
        pattern: String::new(),
        measure: Measure::VersionWorse,
        threshold: compare::DEFAULT_THRESHOLD,
        window_secs: compare::DEFAULT_WINDOW_SECS,
        for_secs: 0,
        keep_firing_for_secs: 5 * 60,
        severity: "warning".into(),
        min_calls: Some(compare::DEFAULT_MIN_CALLS),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("alert {alert:?}: {message}")]
pub struct RuleError {
    pub alert: String,
    pub message: String,
}
