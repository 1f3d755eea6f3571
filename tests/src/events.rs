//! EventBridge: publishing events as a partner (Genesys) or an application would.

use anyhow::{bail, Result};
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use serde_json::Value;

/// Puts one event built from a full EventBridge envelope (`source`, `detail-type`, `detail`;
/// `time` and `resources` when present) on `bus`; returns the event id.
///
/// moto delivers partner events only through `PutEvents` with the partner bus name (see
/// local/localcloud/README.md), which is also how the tests stand in for Genesys.
pub async fn put_envelope(events: &Client, bus: &str, envelope: &Value) -> Result<String> {
    let source = envelope["source"].as_str().unwrap_or_default();
    let detail_type = envelope["detail-type"].as_str().unwrap_or_default();
    if source.is_empty() || detail_type.is_empty() || !envelope["detail"].is_object() {
        bail!("an EventBridge envelope needs source, detail-type and an object detail");
    }
    let mut entry = PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(source)
        .detail_type(detail_type)
        .detail(envelope["detail"].to_string());
    for r in envelope["resources"].as_array().into_iter().flatten() {
        if let Some(r) = r.as_str() {
            entry = entry.resources(r);
        }
    }
    let out = events
        .put_events()
        .entries(entry.build())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("PutEvents on {bus}: {}", DisplayErrorContext(&e)))?;
    let result = out.entries().first();
    if out.failed_entry_count() > 0 || result.and_then(|r| r.error_code()).is_some() {
        bail!(
            "PutEvents on {bus} rejected the event: {} {}",
            result.and_then(|r| r.error_code()).unwrap_or_default(),
            result.and_then(|r| r.error_message()).unwrap_or_default()
        );
    }
    Ok(result
        .and_then(|r| r.event_id())
        .unwrap_or_default()
        .to_owned())
}
