//! S3 operations the tests and demos need, with "missing" as `None` rather than an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::Client;

use crate::poll::eventually;

/// What HeadObject tells about an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    pub etag: Option<String>,
    pub last_modified: Option<DateTime>,
    pub size: Option<i64>,
}

/// `s3://bucket/key`.
pub fn uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// The object's bytes, or `None` if there is no such key.
pub async fn get(s3: &Client, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let body = out
                .body
                .collect()
                .await
                .with_context(|| format!("reading the body of {}", uri(bucket, key)))?;
            Ok(Some(body.into_bytes().to_vec()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "GetObject {}: {}",
            uri(bucket, key),
            DisplayErrorContext(&e)
        )),
    }
}

/// HeadObject, or `None` if there is no such key.
pub async fn head(s3: &Client, bucket: &str, key: &str) -> Result<Option<ObjectInfo>> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(Some(ObjectInfo {
            etag: out.e_tag().map(str::to_owned),
            last_modified: out.last_modified().copied(),
            size: out.content_length(),
        })),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "HeadObject {}: {}",
            uri(bucket, key),
            DisplayErrorContext(&e)
        )),
    }
}

/// Every key under `prefix`, in S3's (lexicographic) order.
pub async fn list(s3: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "ListObjectsV2 {}: {}",
                    uri(bucket, prefix),
                    DisplayErrorContext(&e)
                )
            })?;
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated().unwrap_or(false) => token = Some(t.to_owned()),
            _ => return Ok(keys),
        }
    }
}

/// PutObject.
pub async fn put(s3: &Client, bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body.into()))
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "PutObject {}: {}",
                uri(bucket, key),
                DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}

/// Deletes the keys (missing ones are fine).
pub async fn delete(s3: &Client, bucket: &str, keys: &[String]) -> Result<()> {
    for key in keys {
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "DeleteObject {}: {}",
                    uri(bucket, key),
                    DisplayErrorContext(&e)
                )
            })?;
    }
    Ok(())
}

/// Deletes everything under `prefix`; returns how many objects there were.
pub async fn delete_prefix(s3: &Client, bucket: &str, prefix: &str) -> Result<usize> {
    let keys = list(s3, bucket, prefix).await?;
    delete(s3, bucket, &keys).await?;
    Ok(keys.len())
}

/// Waits until the object exists and returns its bytes.
pub async fn wait_for_object(
    s3: &Client,
    bucket: &str,
    key: &str,
    timeout: Duration,
) -> Result<Vec<u8>> {
    eventually(format!("object {}", uri(bucket, key)), timeout, || {
        get(s3, bucket, key)
    })
    .await
}

/// Waits until at least one key exists under `prefix` and returns the keys.
pub async fn wait_for_prefix(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    timeout: Duration,
) -> Result<Vec<String>> {
    eventually(
        format!("an object under {}", uri(bucket, prefix)),
        timeout,
        || async {
            let keys = list(s3, bucket, prefix).await?;
            Ok((!keys.is_empty()).then_some(keys))
        },
    )
    .await
}

/// Downloads every object under `prefix` into `dir`, keeping the key's path below `dir`;
/// returns the local paths.
pub async fn download_prefix(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for key in list(s3, bucket, prefix).await? {
        let Some(bytes) = get(s3, bucket, &key).await? else {
            continue;
        };
        let path = dir.join(&key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}
