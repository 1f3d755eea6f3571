//! Metrics in CloudWatch Embedded Metric Format (EMF).
//!
//! A [`Metrics`] collects values during an invocation and [`Metrics::flush`] prints them as EMF
//! documents on stdout, where the Lambda log pipeline turns them into CloudWatch metrics without
//! an API call. Values with the same name are summed; a document holds at most 100 metrics, as
//! EMF allows.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{json, Map, Value};

/// EMF's limit of metrics per document.
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Bytes,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::None => "None",
        }
    }
}

/// Metrics of one invocation, flushed as EMF.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    dimensions: Vec<(String, String)>,
    values: BTreeMap<String, (Unit, f64)>,
}

impl Metrics {
    /// Namespace from `POWERTOOLS_METRICS_NAMESPACE` (default `mlpipe`), dimension `service`.
    pub fn from_env() -> Self {
        let namespace =
            std::env::var("POWERTOOLS_METRICS_NAMESPACE").unwrap_or_else(|_| "mlpipe".to_owned());
        Self::new(namespace, crate::logging::service_name())
    }

    pub fn new(namespace: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            dimensions: vec![("service".to_owned(), service.into())],
            values: BTreeMap::new(),
        }
    }

    /// Adds a dimension (at most 29 besides `service` are kept, EMF's limit being 30).
    pub fn dimension(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        if self.dimensions.len() < 30 {
            self.dimensions.push((name.into(), value.into()));
        }
        self
    }

    /// Adds `value` to the metric `name`.
    pub fn add(&mut self, name: &str, unit: Unit, value: f64) -> &mut Self {
        let entry = self.values.entry(name.to_owned()).or_insert((unit, 0.0));
        entry.1 += value;
        self
    }

    /// Adds 1 to a count.
    pub fn count(&mut self, name: &str) -> &mut Self {
        self.add(name, Unit::Count, 1.0)
    }

    /// Adds every value of `other` (collected by a concurrent part of the invocation).
    pub fn absorb(&mut self, other: Metrics) -> &mut Self {
        for (name, (unit, value)) in other.values {
            self.add(&name, unit, value);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The EMF documents for the collected values (one per 100 metrics), clearing them.
    pub fn take_documents(&mut self, timestamp_ms: i64) -> Vec<Value> {
        let values = std::mem::take(&mut self.values);
        let entries: Vec<_> = values.into_iter().collect();
        entries
            .chunks(MAX_METRICS_PER_DOCUMENT)
            .map(|chunk| {
                let mut doc = Map::new();
                let dims: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
                let defs: Vec<Value> = chunk
                    .iter()
                    .map(|(name, (unit, _))| json!({"Name": name, "Unit": unit.as_str()}))
                    .collect();
                doc.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": self.namespace,
                            "Dimensions": [dims],
                            "Metrics": defs,
                        }]
                    }),
                );
                for (k, v) in &self.dimensions {
                    doc.insert(k.clone(), Value::from(v.clone()));
                }
                for (name, (_, value)) in chunk {
                    doc.insert(name.clone(), json!(value));
                }
                Value::Object(doc)
            })
            .collect()
    }

    /// Prints the collected values as EMF lines on stdout.
    pub fn flush(&mut self) {
        if self.values.is_empty() {
            return;
        }
        let now = time::OffsetDateTime::now_utc();
        let ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        let docs = self.take_documents(ms);
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for doc in docs {
            let _ = writeln!(out, "{doc}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_emf() {
        let mut m = Metrics::new("ns", "svc");
        m.count("Converted")
            .count("Converted")
            .add("Bytes", Unit::Bytes, 10.0);
        let docs = m.take_documents(1_700_000_000_000);
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Namespace"], "ns");
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "service"
        );
        assert_eq!(d["service"], "svc");
        assert_eq!(d["Converted"], 2.0);
        assert_eq!(d["Bytes"], 10.0);
        assert!(m.is_empty());
    }

    #[test]
    fn absorbed_values_add_up() {
        let mut m = Metrics::new("ns", "svc");
        m.count("A");
        let mut part = Metrics::new("", "");
        part.count("A").add("B", Unit::Bytes, 5.0);
        m.absorb(part);
        let doc = &m.take_documents(0)[0];
        assert_eq!(doc["A"], 2.0);
        assert_eq!(doc["B"], 5.0);
    }

    #[test]
    fn more_than_100_metrics_split() {
        let mut m = Metrics::new("ns", "svc");
        for i in 0..150 {
            m.count(&format!("m{i}"));
        }
        let docs = m.take_documents(0);
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            100
        );
    }
}
