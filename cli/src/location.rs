//! Where inputs come from and outputs go: a local path or an `s3://bucket/prefix` URI.

use std::fmt;
use std::path::PathBuf;

use shared::store::parse_s3_uri;

/// A local path or an S3 bucket and key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// Parses a command-line argument: `s3://bucket[/prefix]` or a local path.
    pub fn parse(arg: &str) -> Result<Self, String> {
        if arg.trim().is_empty() {
            return Err("must not be empty".to_owned());
        }
        if let Some(rest) = strip_prefix_ignore_case(arg, "s3://") {
            let uri = format!("s3://{rest}");
            let (bucket, prefix) = parse_s3_uri(&uri).ok_or_else(|| {
                format!("{arg:?} has no bucket name (expected s3://bucket/prefix)")
            })?;
            if bucket.contains(char::is_whitespace) {
                return Err(format!("{bucket:?} is not a valid bucket name"));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        if let Some((scheme, _)) = arg.split_once("://") {
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "{scheme}:// locations are not supported (use a local path or s3://bucket/prefix)"
                ));
            }
        }
        Ok(Self::Local(PathBuf::from(arg)))
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Self::S3 { .. })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Whether `key` lies under the S3 `prefix` taken as a folder (`in` covers `in/a.json` but not
/// `input/a.json`), or is the prefix itself (a single object).
pub fn key_under_prefix(key: &str, prefix: &str) -> bool {
    if prefix.is_empty() || key == prefix {
        return true;
    }
    match key.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, prefix: &str) -> Location {
        Location::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn s3_uris() {
        assert_eq!(
            Location::parse("s3://raw/genesys/"),
            Ok(s3("raw", "genesys/"))
        );
        assert_eq!(Location::parse("s3://raw/a/b"), Ok(s3("raw", "a/b")));
        assert_eq!(Location::parse("s3://raw"), Ok(s3("raw", "")));
        assert_eq!(Location::parse("s3://raw/"), Ok(s3("raw", "")));
        assert_eq!(Location::parse("S3://raw/x"), Ok(s3("raw", "x")));
        assert!(Location::parse("s3://").is_err());
        assert!(Location::parse("s3:///prefix").is_err());
        assert!(Location::parse("s3://my bucket/x").is_err());
    }

    #[test]
    fn local_paths() {
        assert_eq!(Location::parse("out"), Ok(Location::Local("out".into())));
        assert_eq!(
            Location::parse("/tmp/a b/c.json"),
            Ok(Location::Local("/tmp/a b/c.json".into()))
        );
        assert_eq!(
            Location::parse("./s3:/x"),
            Ok(Location::Local("./s3:/x".into()))
        );
        assert!(Location::parse("").is_err());
        assert!(Location::parse("https://example.com/x").is_err());
    }

    #[test]
    fn display_round_trips() {
        for arg in ["s3://raw/genesys/", "s3://raw/", "relative/dir"] {
            assert_eq!(Location::parse(arg).unwrap().to_string(), arg);
        }
    }

    #[test]
    fn prefixes_are_folders() {
        assert!(key_under_prefix("in/a.json", "in"));
        assert!(key_under_prefix("in/a.json", "in/"));
        assert!(key_under_prefix("in/x/a.json", "in"));
        assert!(!key_under_prefix("input/a.json", "in"));
        assert!(key_under_prefix("input/a.json", ""));
        assert!(key_under_prefix("in/a.json", "in/a.json"));
        assert!(!key_under_prefix("in/a.json.bak", "in/a.json"));
    }
}
