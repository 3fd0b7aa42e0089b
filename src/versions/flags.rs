//! `check`'s flags for the per-version figures, checked where they are read: a bad value is refused
//! naming its flag (exit 2) instead of being counted as `invalid`.

use super::PathVersion;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct VersionFlags {
    /// Count calls per function version (read START lines) even where the inputs' first block names
    /// no SCF_Qualifier (a named pipe or <(…), which are not looked at before they are read; a
    /// version given only by --fn-version).
    #[arg(long)]
    pub by_version: bool,
    /// The function version of calls whose records name none (plain text, tcb fn log).
    #[arg(long, value_name = "VERSION")]
    pub fn_version: Option<String>,
    /// A regex with a named group `version` matched against each input's path: its calls' version.
    #[arg(long, value_name = "REGEX")]
    pub version_from_path: Option<String>,
    /// The function of calls whose records name none (plain text), as a source's `function`.
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
}

/// The flags, checked.
#[derive(Clone, Debug)]
pub struct Checked {
    /// Versions are asked for (`--by-version`, or a version given).
    pub by_version: bool,
    pub fn_version: Option<String>,
    pub version_from_path: Option<PathVersion>,
    pub function: Option<String>,
}

impl VersionFlags {
    pub fn checked(&self) -> Result<Checked, String> {
        let (fn_version, version_from_path) =
            from_flags(self.fn_version.as_deref(), self.version_from_path.as_deref())?;
        let function = self.function.as_deref().map(function_from_flag).transpose()?;
        let by_version = self.by_version || fn_version.is_some() || version_from_path.is_some();
        Ok(Checked { by_version, fn_version, version_from_path, function })
    }
}

/// `check`'s `--function`, checked: a function name as SCF allows it (what `clean_function` keeps);
/// anything else is refused, naming the flag, rather than counted as `invalid`.
pub fn function_from_flag(raw: &str) -> Result<String, String> {
    match super::clean_function(Some(raw)) {
        f if f == raw => Ok(f),
        _ => Err(format!(
            "--function {raw:?}: a function name is letters, digits, - and _ (at most {} characters)",
            super::MAX_FUNCTION_CHARS
        )),
    }
}

/// `check`'s `--fn-version` and `--version-from-path`, checked: the version named (cleaned), and the
/// path regex compiled; an error names the flag.
pub fn from_flags(
    version: Option<&str>,
    from_path: Option<&str>,
) -> Result<(Option<String>, Option<PathVersion>), String> {
    let from_path = match from_path.map(PathVersion::new) {
        Some(Err(why)) => return Err(format!("--version-from-path: {why}")),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let version = match version {
        Some(v) => match crate::record::clean_version(v).filter(|c| c == v.trim()) {
            Some(c) => Some(c),
            None => {
                return Err(format!(
                    "--fn-version {v:?}: a version is letters, digits, $ - _ . (at most {} characters)",
                    crate::record::MAX_VERSION_CHARS
                ));
            }
        },
        None => None,
    };
    Ok((version, from_path))
}
