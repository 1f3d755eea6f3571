//! Object storage behind a small trait, so handlers are tested without a network.
//!
//! [`S3Store`] is the production implementation; `MemoryStore` (feature `fakes`) keeps objects
//! in memory for handler tests.

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use crate::error::PipelineError;

/// The object operations the pipelines need.
pub trait ObjectStore: Send + Sync {
    /// Reads a whole object. A missing object is [`crate::ErrorKind::InvalidInput`].
    fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Bytes, PipelineError>> + Send;

    /// Writes (or overwrites) an object.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;

    /// Lists every key under a prefix, in key order.
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, PipelineError>> + Send;

    /// Lists every object under a prefix with its last-modified time when the store knows it,
    /// in key order. By default [`ObjectStore::list`] without times.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<Listed>, PipelineError>> + Send {
        async move {
            Ok(self
                .list(bucket, prefix)
                .await?
                .into_iter()
                .map(|key| Listed {
                    key,
                    modified: None,
                })
                .collect())
        }
    }
}

/// An object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// Last modified, in seconds since the Unix epoch, when known.
    pub modified: Option<i64>,
}

/// `s3://bucket/key` for messages.
pub fn s3_uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// A missing object: the key is wrong (a mistyped manifest key), not the configuration.
pub fn not_found_error(bucket: &str, key: &str) -> PipelineError {
    PipelineError::invalid_input(format!(
        "reading {}: not found (NoSuchKey): check the key",
        s3_uri(bucket, key)
    ))
}

/// Splits `s3://bucket/prefix` into bucket and prefix.
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, key))
}

/// An object key as S3 event notifications carry it: URL-encoded, with `+` for spaces.
pub fn decode_event_key(key: &str) -> Result<String, PipelineError> {
    urlencoding::decode(&key.replace('+', " "))
        .map(|k| k.into_owned())
        .map_err(|_| {
            PipelineError::invalid_input(format!("{key:?} is not valid URL-encoded UTF-8"))
        })
}

/// [`ObjectStore`] on Amazon S3.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
}

impl S3Store {
    /// The object's first `len` bytes (all of it when shorter), by a ranged GET. S3 answers
    /// InvalidRange for an empty object, which is then read whole (as empty).
    pub async fn get_head(
        &self,
        bucket: &str,
        key: &str,
        len: usize,
    ) -> Result<Bytes, PipelineError> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        self.read(bucket, key, Some(format!("bytes=0-{}", len - 1)))
            .await
    }

    /// Reads an object, or the HTTP `range` of it.
    async fn read(
        &self,
        bucket: &str,
        key: &str,
        range: Option<String>,
    ) -> Result<Bytes, PipelineError> {
        let what = format!("reading {}", s3_uri(bucket, key));
        let out = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_range(range.clone())
            .send()
            .await
        {
            Ok(out) => out,
            Err(err)
                if range.is_some()
                    && err.as_service_error().and_then(|e| e.meta().code())
                        == Some("InvalidRange") =>
            {
                return Box::pin(self.read(bucket, key, None)).await;
            }
            Err(err) => {
                let not_found = err.as_service_error().is_some_and(|e| e.is_no_such_key());
                let mut e = crate::error::from_sdk(&what, &err);
                if not_found {
                    e = not_found_error(bucket, key);
                }
                return Err(e);
            }
        };
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| PipelineError::retryable(format!("{what}: body interrupted: {e}")))?;
        Ok(body.into_bytes())
    }
}

impl ObjectStore for S3Store {
    async fn get(&self, bucket: &str, key: &str) -> Result<Bytes, PipelineError> {
        self.read(bucket, key, None).await
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), PipelineError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| crate::error::from_sdk(format!("writing {}", s3_uri(bucket, key)), &e))?;
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, PipelineError> {
        Ok(self
            .list_objects(bucket, prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect())
    }

    async fn list_objects(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, PipelineError> {
        let mut objects = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                crate::error::from_sdk(format!("listing {}", s3_uri(bucket, prefix)), &e)
            })?;
            objects.extend(page.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_owned(),
                    modified: o.last_modified().map(|t| t.secs()),
                })
            }));
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }
}

#[cfg(any(test, feature = "fakes"))]
pub use memory::MemoryStore;

#[cfg(any(test, feature = "fakes"))]
mod memory {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;

    /// In-memory [`ObjectStore`] for tests. Records every put, so tests can check that a
    /// redelivery rewrote the same bytes.
    #[derive(Default, Debug)]
    pub struct MemoryStore {
        objects: Mutex<BTreeMap<(String, String), (Bytes, String)>>,
        puts: Mutex<u64>,
        fail_puts: Mutex<Option<PipelineError>>,
        modified: Mutex<BTreeMap<(String, String), i64>>,
    }

    impl MemoryStore {
        pub fn new() -> Self {
            Self::default()
        }

        pub fn insert(&self, bucket: &str, key: &str, body: impl Into<Bytes>) {
            self.objects.lock().unwrap().insert(
                (bucket.into(), key.into()),
                (body.into(), "application/octet-stream".into()),
            );
        }

        pub fn object(&self, bucket: &str, key: &str) -> Option<Bytes> {
            self.objects
                .lock()
                .unwrap()
                .get(&(bucket.into(), key.into()))
                .map(|(b, _)| b.clone())
        }

        pub fn content_type(&self, bucket: &str, key: &str) -> Option<String> {
            self.objects
                .lock()
                .unwrap()
                .get(&(bucket.into(), key.into()))
                .map(|(_, c)| c.clone())
        }

        /// All `(bucket, key)` pairs, sorted.
        pub fn keys(&self) -> Vec<(String, String)> {
            self.objects.lock().unwrap().keys().cloned().collect()
        }

        pub fn put_count(&self) -> u64 {
            *self.puts.lock().unwrap()
        }

        /// Sets the last-modified time (seconds since the Unix epoch) listings report for an
        /// object; objects without one are listed without a time.
        pub fn set_modified(&self, bucket: &str, key: &str, secs: i64) {
            self.modified
                .lock()
                .unwrap()
                .insert((bucket.into(), key.into()), secs);
        }

        /// Makes every following put fail with `err`.
        pub fn fail_puts_with(&self, err: PipelineError) {
            *self.fail_puts.lock().unwrap() = Some(err);
        }
    }

    impl ObjectStore for MemoryStore {
        async fn get(&self, bucket: &str, key: &str) -> Result<Bytes, PipelineError> {
            self.object(bucket, key)
                .ok_or_else(|| not_found_error(bucket, key))
        }

        async fn put(
            &self,
            bucket: &str,
            key: &str,
            body: Bytes,
            content_type: &str,
        ) -> Result<(), PipelineError> {
            if let Some(err) = self.fail_puts.lock().unwrap().clone() {
                return Err(err);
            }
            *self.puts.lock().unwrap() += 1;
            self.objects
                .lock()
                .unwrap()
                .insert((bucket.into(), key.into()), (body, content_type.into()));
            Ok(())
        }

        async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, PipelineError> {
            Ok(self
                .objects
                .lock()
                .unwrap()
                .keys()
                .filter(|(b, k)| b == bucket && k.starts_with(prefix))
                .map(|(_, k)| k.clone())
                .collect())
        }

        async fn list_objects(
            &self,
            bucket: &str,
            prefix: &str,
        ) -> Result<Vec<Listed>, PipelineError> {
            let modified = self.modified.lock().unwrap().clone();
            Ok(self
                .list(bucket, prefix)
                .await?
                .into_iter()
                .map(|key| Listed {
                    modified: modified.get(&(bucket.to_owned(), key.clone())).copied(),
                    key,
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn event_keys_decode() {
        assert_eq!(decode_event_key("a%2Fb+c%C3%A9").unwrap(), "a/b cé");
        assert_eq!(
            decode_event_key("%FF").unwrap_err().kind,
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn s3_uris_parse() {
        assert_eq!(parse_s3_uri("s3://b/p/q"), Some(("b", "p/q")));
        assert_eq!(parse_s3_uri("s3://b"), Some(("b", "")));
        assert_eq!(parse_s3_uri("s3:///x"), None);
        assert_eq!(parse_s3_uri("/tmp/x"), None);
    }

    #[tokio::test]
    async fn memory_store_round_trips() {
        let s = MemoryStore::new();
        s.put("b", "a/1", Bytes::from_static(b"x"), "text/plain")
            .await
            .unwrap();
        s.put("b", "c/2", Bytes::from_static(b"y"), "text/plain")
            .await
            .unwrap();
        assert_eq!(s.get("b", "a/1").await.unwrap(), Bytes::from_static(b"x"));
        assert_eq!(s.list("b", "a/").await.unwrap(), vec!["a/1".to_owned()]);
        let err = s.get("b", "zzz").await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        s.set_modified("b", "c/2", 1_700_000_000);
        assert_eq!(
            s.list_objects("b", "").await.unwrap(),
            vec![
                Listed {
                    key: "a/1".into(),
                    modified: None
                },
                Listed {
                    key: "c/2".into(),
                    modified: Some(1_700_000_000)
                },
            ]
        );
    }
}
