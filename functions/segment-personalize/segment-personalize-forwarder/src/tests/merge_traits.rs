//! Partial traits: `identify` messages as analytics.js sends them (events/segment/fixtures),
//! merged with an in-memory trait store that behaves like the DynamoDB one (versioned
//! conditional writes).

use std::collections::HashMap;

use crate::ports::{Saved, StoredTraits};
use segment_personalize_core::traits::{self, TraitState};

use super::*;

const USERS: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/USERS";
const USER_TRAITS: &str = "plan,industry=company.industry,city=address.city,logins";
const USER: &str = "u-4f2a9c";

fn ajs(name: &str) -> Value {
    fixture(&format!("fixtures/{name}.json"))
}

/// The traits store of the tests: versioned conditional writes, like the DynamoDB adapter.
#[derive(Default)]
struct MemoryTraits {
    items: Mutex<HashMap<String, StoredTraits>>,
    /// Time each load takes (tokio's clock).
    load_delay: Duration,
    /// Loads of this user fail (Retryable).
    fail_user: Option<String>,
    /// Every write is refused as a conflict.
    always_conflict: bool,
    saves: AtomicUsize,
}

impl TraitStore for MemoryTraits {
    async fn load(&self, user_id: &str) -> Result<Option<StoredTraits>, PipelineError> {
        if !self.load_delay.is_zero() {
            tokio::time::sleep(self.load_delay).await;
        }
        if self.fail_user.as_deref() == Some(user_id) {
            return Err(PipelineError::retryable(
                "GetItem on USER_TRAITS_TABLE: ProvisionedThroughputExceededException",
            ));
        }
        Ok(self.items.lock().unwrap().get(user_id).cloned())
    }

    async fn save(
        &self,
        user_id: &str,
        traits: &TraitState,
        expected: Option<u64>,
    ) -> Result<Saved, PipelineError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        let mut items = self.items.lock().unwrap();
        if self.always_conflict || items.get(user_id).map(|s| s.version) != expected {
            return Ok(Saved::Conflict);
        }
        items.insert(
            user_id.to_owned(),
            StoredTraits {
                traits: traits.clone(),
                version: expected.map_or(1, |v| v + 1),
            },
        );
        Ok(Saved::Written)
    }
}

fn merging(sink: Recorder, store: MemoryTraits) -> Forwarder<Recorder, Parked, MemoryTraits> {
    Forwarder::new(
        sink,
        Some(Parked::default()),
        config(&[
            ("PERSONALIZE_USERS_DATASET_ARN", USERS),
            ("USER_TRAITS", USER_TRAITS),
        ]),
    )
    .with_trait_store(Some(store))
}

/// The `properties` of every user sent, in order, parsed.
fn users_sent(f: &Forwarder<Recorder, Parked, MemoryTraits>) -> Vec<Value> {
    f.sink
        .users
        .lock()
        .unwrap()
        .iter()
        .flat_map(|call| call["users"].as_array().unwrap().clone())
        .map(|u| {
            assert_eq!(u["userId"], USER);
            match u["properties"].as_str() {
                Some(p) => serde_json::from_str(p).unwrap(),
                None => Value::Null,
            }
        })
        .collect()
}

fn stored(f: &Forwarder<Recorder, Parked, MemoryTraits>) -> StoredTraits {
    let store = f.traits.as_ref().unwrap();
    store
        .items
        .lock()
        .unwrap()
        .get(USER)
        .cloned()
        .expect("stored")
}

#[tokio::test]
async fn a_partial_identify_keeps_the_other_traits() {
    let f = merging(Recorder::default(), MemoryTraits::default());
    let out = handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    assert_eq!(out["status"], "forwarded", "{out}");
    // From a new device, analytics.js has no cached traits: only the plan.
    let out = handle(&f, ajs("identify_ajs_new_device_partial_traits"))
        .await
        .unwrap();
    assert_eq!(out["status"], "forwarded", "{out}");
    let sent = users_sent(&f);
    assert_eq!(
        sent[0],
        json!({"plan": "premium", "industry": "Software", "city": "San Francisco", "logins": "5"})
    );
    assert_eq!(
        sent[1],
        json!({"plan": "enterprise", "industry": "Software", "city": "San Francisco", "logins": "5"}),
        "PutUsers replaces the whole user: the traits the message did not carry are kept"
    );
    assert_eq!(stored(&f).version, 2);
}

/// Data minimisation: the table keeps only what USER_TRAITS reads, not the name, e-mail,
/// street or company name Segment sends.
#[tokio::test]
async fn only_the_selected_traits_are_stored() {
    let f = merging(Recorder::default(), MemoryTraits::default());
    handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    let kept = stored(&f).traits;
    let json = kept.to_json();
    let keys: Vec<&str> = kept.0.keys().map(String::as_str).collect();
    assert_eq!(keys, ["address", "company", "logins", "plan"]);
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["address"]["value"], json!({"city": "San Francisco"}));
    assert_eq!(parsed["company"]["value"], json!({"industry": "Software"}));
    assert_eq!(parsed["logins"]["value"], json!(5));
    for personal in ["Grace", "grace@example.com", "6th St", "94103", "Initech"] {
        assert!(!json.contains(personal), "{personal} stored: {json}");
    }
    // The time of the identify that set each trait (its `timestamp`), exactly.
    assert!(json.contains(r#""at":"1795161600.395000000""#), "{json}");
}

#[tokio::test]
async fn a_trait_set_to_null_is_removed() {
    let f = merging(Recorder::default(), MemoryTraits::default());
    handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    handle(&f, ajs("identify_ajs_trait_set_to_null"))
        .await
        .unwrap();
    let sent = users_sent(&f);
    assert_eq!(
        sent[1],
        json!({"plan": "premium", "city": "San Francisco", "logins": "5"})
    );
    let kept = stored(&f).traits;
    assert!(
        kept.0["company"].value.is_null(),
        "kept as removed, with its time"
    );
}

/// Removing the user's only trait leaves nothing to map; the user is still sent, without
/// properties, or Personalize would keep the removed value.
#[tokio::test]
async fn removing_the_last_trait_sends_the_user_without_properties() {
    let f = Forwarder::new(
        Recorder::default(),
        Some(Parked::default()),
        config(&[
            ("PERSONALIZE_USERS_DATASET_ARN", USERS),
            ("USER_TRAITS", "industry=company.industry"),
        ]),
    )
    .with_trait_store(Some(MemoryTraits::default()));
    handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    let out = handle(&f, ajs("identify_ajs_trait_set_to_null"))
        .await
        .unwrap();
    assert_eq!(out["status"], "forwarded", "{out}");
    assert_eq!(
        users_sent(&f),
        [json!({"industry": "Software"}), Value::Null]
    );
}

/// Out of order: the partial identify (24 Nov) arrives first, the sign-up identify (20 Nov)
/// later. The older one fills in what the newer one did not set and changes nothing else.
#[tokio::test]
async fn an_older_identify_delivered_late_does_not_overwrite_newer_values() {
    let f = merging(Recorder::default(), MemoryTraits::default());
    handle(&f, ajs("identify_ajs_new_device_partial_traits"))
        .await
        .unwrap();
    handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    let sent = users_sent(&f);
    assert_eq!(sent[0], json!({"plan": "enterprise"}));
    assert_eq!(
        sent[1],
        json!({"plan": "enterprise", "industry": "Software", "city": "San Francisco", "logins": "5"})
    );
    // A removal newer than a value is not undone by the older value either.
    handle(&f, ajs("identify_ajs_trait_set_to_null"))
        .await
        .unwrap();
    handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    assert_eq!(
        users_sent(&f)[3],
        json!({"plan": "enterprise", "city": "San Francisco", "logins": "5"})
    );
}

#[tokio::test]
async fn a_redelivered_identify_changes_nothing() {
    let f = merging(Recorder::default(), MemoryTraits::default());
    handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    let first = stored(&f).traits;
    handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    let sent = users_sent(&f);
    assert_eq!(sent[0], sent[1]);
    assert_eq!(stored(&f).traits, first);
}

/// Two identifies of one user at once, each with a trait the other lacks: both read the empty
/// store before either writes. The second write is refused, re-read, merged and sent again:
/// the last PutUsers and the table carry both traits.
#[tokio::test(start_paused = true)]
async fn two_identifies_of_one_user_at_once_lose_no_trait() {
    let sink = Recorder {
        delay: Duration::from_millis(50),
        ..Default::default()
    };
    let f = merging(sink, MemoryTraits::default());
    let mut plan_only = ajs("identify_ajs_new_device_partial_traits");
    plan_only["traits"] = json!({"plan": "enterprise"});
    let mut logins_only = ajs("identify_ajs_new_device_partial_traits");
    logins_only["messageId"] = json!("ajs-next-1f2e3d4c5b6a79880f1e2d3c4b5a6978");
    logins_only["traits"] = json!({"logins": 6});
    let (a, b) = tokio::join!(handle(&f, plan_only), handle(&f, logins_only));
    assert_eq!(a.unwrap()["status"], "forwarded");
    assert_eq!(b.unwrap()["status"], "forwarded");
    let sent = users_sent(&f);
    assert_eq!(
        sent.len(),
        3,
        "one user sent again after the conflict: {sent:?}"
    );
    assert_eq!(
        sent.last().unwrap(),
        &json!({"plan": "enterprise", "logins": "6"})
    );
    let kept = stored(&f);
    assert_eq!(kept.version, 2);
    let keys: Vec<&str> = kept.traits.0.keys().map(String::as_str).collect();
    assert_eq!(keys, ["logins", "plan"]);
}

#[tokio::test]
async fn endless_conflicts_fail_the_message_as_retryable() {
    let store = MemoryTraits {
        always_conflict: true,
        ..Default::default()
    };
    let f = merging(Recorder::default(), store);
    let err = handle(&f, ajs("identify_ajs_new_device_partial_traits"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{}", err.message);
    assert_eq!(
        f.traits.as_ref().unwrap().saves.load(Ordering::SeqCst),
        merge::TRAIT_WRITE_ATTEMPTS
    );
}

/// In an SQS batch, a user whose stored traits cannot be read is not sent (it would wipe the
/// other traits): exactly that user's message is redelivered; the rest goes through.
#[tokio::test]
async fn a_store_failure_fails_only_that_users_messages() {
    let store = MemoryTraits {
        fail_user: Some("u-other".into()),
        ..Default::default()
    };
    let f = merging(Recorder::default(), store);
    let mut other = ajs("identify_ajs_new_device_partial_traits");
    other["userId"] = json!("u-other");
    let bodies = vec![
        ajs("identify_ajs_signup_full_traits").to_string(),
        other.to_string(),
        track("m2", "anon-t", "p-1").to_string(),
        ajs("identify_ajs_new_device_partial_traits").to_string(),
    ];
    let out = handle(&f, sqs_event(&bodies)).await.unwrap();
    assert_eq!(failures(&out), ["m-1"], "{out}");
    assert!(parked(&f).is_empty());
    assert_eq!(f.sink.events.lock().unwrap().len(), 1);
    // Both identifies of u-4f2a9c in the batch merge, in message order, into one user.
    assert_eq!(
        users_sent(&f),
        [
            json!({"plan": "enterprise", "industry": "Software", "city": "San Francisco", "logins": "5"})
        ]
    );
}

/// On the Segment path a slow trait store costs time like Personalize does: the answer still
/// comes within the deadline, as a retryable error, and nothing partial is sent.
#[tokio::test(start_paused = true)]
async fn a_slow_trait_store_fails_in_time_without_sending_a_partial_user() {
    let store = MemoryTraits {
        load_delay: Duration::from_secs(30),
        ..Default::default()
    };
    let f = merging(Recorder::default(), store);
    let start = Instant::now();
    let err = handle(&f, ajs("identify_ajs_new_device_partial_traits"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(f.sink.users.lock().unwrap().is_empty());
}

/// Without USER_TRAITS_TABLE an identify is mapped as it comes (as before): the partial one
/// replaces the user with its plan only.
#[tokio::test]
async fn without_a_trait_table_identify_is_not_merged() {
    let f = Forwarder::new(
        Recorder::default(),
        None::<Parked>,
        config(&[
            ("PERSONALIZE_USERS_DATASET_ARN", USERS),
            ("USER_TRAITS", USER_TRAITS),
        ]),
    );
    handle(&f, ajs("identify_ajs_signup_full_traits"))
        .await
        .unwrap();
    handle(&f, ajs("identify_ajs_new_device_partial_traits"))
        .await
        .unwrap();
    let users = f.sink.users.lock().unwrap().clone();
    assert_eq!(
        users[1]["users"][0]["properties"],
        json!({"plan": "enterprise"}).to_string()
    );
    assert_eq!(config(&[]).user_traits_table, None);
}

/// Stored traits written under an older USER_TRAITS: keys no longer selected are dropped,
/// values pruned to what is read now.
#[test]
fn stored_traits_are_cut_to_the_current_selectors() {
    let stored = TraitState::from_json(
        r#"{"plan":{"value":"pro","at":"1.000000000"},
            "email":{"value":"x@example.com","at":"1.000000000"},
            "address":{"value":{"city":"Paris","street":"Rue"},"at":"2.5"}}"#,
    )
    .unwrap();
    let reach = traits::Reach::of(
        config(&[("USER_TRAITS", "plan,city=address.city")])
            .mapping
            .user_traits(),
    );
    let kept = stored.selected(&reach);
    assert_eq!(
        kept.to_json(),
        r#"{"address":{"value":{"city":"Paris"},"at":"2.500000000"},"plan":{"value":"pro","at":"1.000000000"}}"#
    );
    assert!(TraitState::from_json("{\"plan\": 1}").is_err());
    assert!(TraitState::from_json("{oops").is_err());
}

/// An SQS batch whose deadline arrives after PutEvents and during PutUsers: the track message
/// is done, the identify is reported for redelivery and its traits are not written (the
/// redelivery merges from the same stored state).
#[tokio::test(start_paused = true)]
async fn an_identify_cut_by_the_batch_deadline_is_redelivered_and_not_stored() {
    let f = merging(
        Recorder {
            delay: Duration::from_millis(1_000),
            ..Default::default()
        },
        MemoryTraits::default(),
    );
    let bodies = vec![
        track("m0", "anon-t", "p-1").to_string(),
        ajs("identify_ajs_signup_full_traits").to_string(),
    ];
    let start = Instant::now();
    // Calls stop at 1.5 s: PutEvents (0-1 s) is done, PutUsers (from 1 s) is abandoned.
    let out = handle_until(&f, sqs_event(&bodies), Some(start + Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(failures(&out), ["m-1"], "{out}");
    assert_eq!(start.elapsed(), Duration::from_millis(1_500));
    assert_eq!(f.sink.events.lock().unwrap().len(), 1);
    assert!(f.sink.users.lock().unwrap().is_empty());
    assert!(f.traits.as_ref().unwrap().items.lock().unwrap().is_empty());
}
