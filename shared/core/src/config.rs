//! Configuration from environment variables.
//!
//! Every accessor names the variable in its error, so a misconfigured deployment fails on the
//! first invocation with a message that says what to fix.

use std::str::FromStr;

/// A missing or invalid configuration value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {name}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    pub fn new(name: &str, reason: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Where configuration values come from: the process environment in production, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for std::collections::HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        std::collections::HashMap::get(self, name).cloned()
    }
}

impl<const N: usize> Source for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        Source::get(&self.as_slice(), name)
    }
}

impl Source for &[(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// A value that is set and not blank, trimmed.
pub fn optional(src: &impl Source, name: &str) -> Option<String> {
    src.get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A value that must be set and not blank.
pub fn required(src: &impl Source, name: &str) -> Result<String, ConfigError> {
    optional(src, name).ok_or_else(|| ConfigError::new(name, "is not set"))
}

/// A value parsed with `FromStr`, or `default` when unset.
pub fn parse_or<T>(src: &impl Source, name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match optional(src, name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|e| ConfigError::new(name, format!("invalid value {raw:?}: {e}"))),
    }
}

/// A boolean: `true/false`, `1/0`, `yes/no`, `on/off` (any case), or `default` when unset.
pub fn bool_or(src: &impl Source, name: &str, default: bool) -> Result<bool, ConfigError> {
    match optional(src, name) {
        None => Ok(default),
        Some(raw) => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::new(
                name,
                format!("invalid value {raw:?}: expected true or false"),
            )),
        },
    }
}

/// An S3 key prefix: leading slashes removed; `with_slash` makes it end in exactly one `/`
/// (an empty prefix stays empty).
pub fn prefix_or(
    src: &impl Source,
    name: &str,
    default: &str,
    with_slash: bool,
) -> Result<String, ConfigError> {
    let raw = optional(src, name).unwrap_or_else(|| default.to_owned());
    let trimmed = raw.trim_start_matches('/').trim_end_matches('/');
    if trimmed.contains("//") {
        return Err(ConfigError::new(
            name,
            format!("invalid prefix {raw:?}: empty path segment"),
        ));
    }
    Ok(if with_slash && !trimmed.is_empty() {
        format!("{trimmed}/")
    } else {
        trimmed.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_names_the_variable() {
        let src = [("A", "  ")];
        let err = required(&src, "A").unwrap_err();
        assert_eq!(err.to_string(), "configuration A: is not set");
        assert_eq!(required(&[("A", " x ")], "A").unwrap(), "x");
    }

    #[test]
    fn parse_or_reports_the_bad_value() {
        let src = [("T", "ten")];
        let err = parse_or::<u64>(&src, "T", 5).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("configuration T: invalid value \"ten\""));
        assert_eq!(parse_or::<u64>(&[("T", "7")], "T", 5).unwrap(), 7);
        assert_eq!(parse_or::<u64>(&[("X", "7")], "T", 5).unwrap(), 5);
    }

    #[test]
    fn booleans_and_prefixes() {
        assert!(bool_or(&[("B", "TRUE")], "B", false).unwrap());
        assert!(!bool_or(&[("B", "0")], "B", true).unwrap());
        assert!(bool_or(&[("B", "maybe")], "B", true).is_err());
        assert_eq!(prefix_or(&[("P", "/raw")], "P", "", true).unwrap(), "raw/");
        assert_eq!(prefix_or(&[("P", "out/")], "P", "", false).unwrap(), "out");
        assert_eq!(prefix_or(&[("Q", "x")], "P", "", true).unwrap(), "");
        assert!(prefix_or(&[("P", "a//b")], "P", "", true).is_err());
    }
}
