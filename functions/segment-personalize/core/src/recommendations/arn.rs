//! Amazon Personalize ARNs.

use super::MAX_ARN_CHARS;

/// How an ARN of the resource type looks, for error messages.
pub fn arn_example(resource: &str) -> String {
    format!("arn:aws:personalize:<region>:<account>:{resource}/<name>")
}

/// Whether `arn` is a Personalize ARN of the resource type: `arn:<aws partition>:personalize:
/// <region>:<12-digit account>:<resource>/<name>`, at most 256 characters.
pub fn is_personalize_arn(arn: &str, resource: &str) -> bool {
    if arn.chars().count() > MAX_ARN_CHARS {
        return false;
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, rest] = parts.as_slice() else {
        return false;
    };
    let name = rest
        .strip_prefix(resource)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or_default();
    *prefix == "arn"
        && partition.starts_with("aws")
        && partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        && *service == "personalize"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
