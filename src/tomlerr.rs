//! Where in a TOML file a problem is: line, column and the dotted key, for errors people can act on.
//!
//! Contract: `locate` turns a `toml` deserialisation error into (line, column, field, message); the
//! field is the key toml names (unknown or missing field) or else the nearest `key =` above the error,
//! under its `[table]`. Shared by pattern files and the config file. `ConfigError` is the error of every
//! configuration file (the TOML config, the web config): file, line, column and key.

/// A configuration file that cannot be used: `file:line:column: key: message`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{file}:{line}:{column}: {key}: {message}")]
    Invalid { file: String, line: usize, column: usize, key: String, message: String },
    /// Every error of one file, in file order (one a line).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<ConfigError>),
}

impl ConfigError {
    /// One error as itself, several in file order.
    pub fn all(mut errors: Vec<ConfigError>) -> ConfigError {
        errors
            .sort_by_key(|e| if let ConfigError::Invalid { line, column, .. } = e { (*line, *column) } else { (0, 0) });
        if errors.len() == 1 { errors.remove(0) } else { ConfigError::Several(errors) }
    }
}

pub struct Location {
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
}

pub fn locate(text: &str, e: &toml::de::Error) -> Location {
    let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
    let field = field_of(e.message())
        .or_else(|| e.span().and_then(|s| key_at(text, s.start)))
        .unwrap_or_else(|| "-".to_string());
    Location { line, column, field, message: e.message().to_string() }
}

/// toml names the offending key in backticks for unknown and missing fields.
fn field_of(message: &str) -> Option<String> {
    let named = message.starts_with("unknown field") || message.starts_with("missing field");
    named.then(|| message.split('`').nth(1).map(str::to_string)).flatten()
}

/// The dotted key whose value holds `offset`: the nearest `key =` at or above it, under its `[table]`.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let mut key = None;
    for line in before.lines().rev() {
        let t = line.trim_start();
        if t.starts_with('[') {
            let table = t.trim_start_matches('[').split(']').next()?.trim();
            return Some(key.map_or_else(|| table.to_string(), |k| format!("{table}.{k}")));
        }
        if key.is_none() {
            let name: String = t.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
            if !name.is_empty() && t[name.len()..].trim_start().starts_with('=') {
                key = Some(name);
            }
        }
    }
    key
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
    (line, column)
}
