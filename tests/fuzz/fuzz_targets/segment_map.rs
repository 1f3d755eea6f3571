//! Segment messages -> PutEvents / PutUsers, as the forwarder and `mlpipe segment map` do it:
//! the input is split like a file of messages (one message, a JSON array, or JSON lines), each
//! message is parsed and mapped (`Config::map_str`) under the default configuration and two
//! full ones, and the outcomes are planned into calls (`plan`). An `identify`'s selected traits
//! go through the trait store's merge and its stored JSON, which must read back.
//!
//! Fails on a panic, and on an outcome that breaks a promise of the mapping: a field over the
//! Personalize limit it is checked against (so a request built from it would be refused), a
//! `properties` string that is not a JSON object, a call of more than 10 events or users, a
//! message lost or counted twice by the plan, and an error or warning that quotes a value of
//! the message.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use mlpipe_fuzz::{segment_configs, within, TRACKING_ID};
use segment_personalize_core::traits::{Reach, TraitState, TraitUpdate};
use segment_personalize_core::{
    limits, plan, split_messages, Config, Event, MapError, Outcome, Plan, SentAt,
};
use serde_json::Value;

/// At most this many messages of one input are mapped (an SQS batch has at most 10; a file
/// for the CLI more, but more messages only repeat the same code).
const MAX_MESSAGES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // SQS bodies and the Lambda destination's payload are text
    };
    let Ok((_, messages)) = split_messages(text) else {
        return;
    };
    let messages = &messages[..messages.len().min(MAX_MESSAGES)];
    let secrets: Vec<String> = messages.iter().flat_map(|m| secrets(m.text)).collect();
    for config in segment_configs() {
        let outcomes: Vec<Result<Outcome, MapError>> =
            messages.iter().map(|m| config.map_str(m.text)).collect();
        for o in &outcomes {
            check_outcome(o, &secrets);
        }
        let p = plan(config, outcomes);
        check_plan(&p, messages.len(), config, &secrets);
        for m in messages {
            traits_read_back(config, m.text);
        }
    }
});

fn check_outcome(outcome: &Result<Outcome, MapError>, secrets: &[String]) {
    match outcome {
        Err(e) => {
            assert!(!e.field.is_empty() && !e.reason.is_empty(), "{e:?}");
            no_secret(&e.to_string(), secrets);
        }
        Ok(Outcome::Ignored(i)) => assert!(!i.reason.is_empty()),
        Ok(Outcome::User(u)) => {
            assert!(!u.user_id.is_empty() && within(&u.user_id, limits::USER_ID, false));
            if let Some(p) = &u.properties {
                assert!(within(p, limits::USER_PROPERTIES, true), "user properties");
                json_object(p);
            }
        }
        Ok(Outcome::Interactions(i)) => {
            assert!(!i.session_id.is_empty() && within(&i.session_id, limits::SESSION_ID, false));
            if let Some(u) = &i.user_id {
                assert!(!u.is_empty() && within(u, limits::USER_ID, false));
            }
            assert!(!i.events.is_empty(), "interactions without an event");
            for e in &i.events {
                check_event(e);
            }
            for w in &i.warnings {
                assert!(!w.field.is_empty() && !w.reason.is_empty(), "{w:?}");
                no_secret(&format!("{}: {}", w.field, w.reason), secrets);
            }
        }
    }
}

fn check_event(e: &Event) {
    assert!(!e.event_type.is_empty() && within(&e.event_type, limits::EVENT_TYPE, false));
    if let Some(id) = &e.event_id {
        assert!(
            !id.is_empty() && within(id, limits::EVENT_ID, false),
            "eventId"
        );
    }
    if let Some(id) = &e.item_id {
        assert!(
            !id.is_empty() && within(id, limits::ITEM_ID, false),
            "itemId"
        );
    }
    if let Some(v) = e.event_value {
        assert!(v.is_finite(), "eventValue {v}");
    }
    if let Some(p) = &e.properties {
        assert!(within(p, limits::EVENT_PROPERTIES, true), "properties");
        let members = json_object(p);
        assert!(!members.is_empty(), "an empty properties object is sent");
        for (k, v) in &members {
            assert!(v.is_string(), "properties.{k} is not a string");
        }
    }
    if let Some(r) = &e.recommendation_id {
        assert!(!r.is_empty() && within(r, limits::RECOMMENDATION_ID, true));
    }
    if let Some(ids) = &e.impression {
        assert!(
            (1..=limits::IMPRESSION_ITEMS).contains(&ids.len()),
            "impression"
        );
        for id in ids {
            assert!(
                !id.is_empty() && within(id, limits::ITEM_ID, true),
                "impression id"
            );
        }
    }
    let json = serde_json::to_string(e).expect("the event serialises");
    serde_json::from_str::<Value>(&json).expect("the event is JSON");
}

fn check_plan(p: &Plan, messages: usize, config: &Config, secrets: &[String]) {
    let mut seen = vec![0u32; messages];
    for (i, _) in &p.invalid {
        seen[*i] += 1;
    }
    for (i, _) in &p.ignored {
        seen[*i] += 1;
    }
    let mut with_events = HashSet::new();
    for call in &p.put_events {
        let r = &call.request;
        assert_eq!(r.tracking_id, TRACKING_ID);
        assert!(
            (1..=limits::EVENTS_PER_CALL).contains(&r.event_list.len()),
            "{} events in one call",
            r.event_list.len()
        );
        assert_eq!(call.origins.len(), r.event_list.len());
        assert!(
            call.messages.windows(2).all(|w| w[0] < w[1]),
            "messages out of order"
        );
        let origins: HashSet<_> = call.origins.iter().collect();
        assert_eq!(origins.len(), call.messages.len());
        assert!(call.messages.iter().all(|m| origins.contains(m)));
        with_events.extend(call.messages.iter().copied());
        serde_json::from_str::<Value>(&r.to_json()).expect("PutEvents body is JSON");
    }
    for m in with_events {
        seen[m] += 1;
    }
    let mut users = HashSet::new();
    assert!(p.put_users.is_empty() || config.users_dataset_arn().is_some());
    for call in &p.put_users {
        let r = &call.request;
        assert!((1..=limits::USERS_PER_CALL).contains(&r.users.len()));
        assert_eq!(call.origins.len(), r.users.len());
        for u in &r.users {
            assert!(
                users.insert(u.user_id.to_string()),
                "a user sent twice in one batch"
            );
        }
        for &m in &call.messages {
            seen[m] += 1;
        }
        serde_json::from_str::<Value>(&r.to_json()).expect("PutUsers body is JSON");
    }
    for (_, w) in &p.warnings {
        no_secret(&format!("{}: {}", w.field, w.reason), secrets);
    }
    assert!(
        seen.iter().all(|&n| n == 1),
        "every message is in exactly one of invalid, ignored, a PutEvents or a PutUsers call: {seen:?}"
    );
}

/// The trait store's JSON of an identify's selected traits reads back as what was written.
fn traits_read_back(config: &Config, text: &str) {
    let reach = Reach::of(config.user_traits());
    if reach.is_empty() {
        return;
    }
    let Ok(msg) = config.parse(text) else {
        return;
    };
    let now = SentAt {
        secs: 1_700_000_000,
        nanos: 0,
    };
    let Some(update) = TraitUpdate::of(&msg, &reach, now) else {
        return;
    };
    let mut state = TraitState::default();
    state.apply(&update);
    state.apply(&update); // a redelivered identify changes nothing
    let json = state.to_json();
    let back = TraitState::from_json(&json).expect("the stored traits read back");
    assert_eq!(back, state);
    assert_eq!(back.clone().selected(&reach), back);
}

fn json_object(s: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => m,
        other => panic!("not a JSON object string: {other:?}"),
    }
}

/// String values of the message that look like personal data (an `@`, or characters beyond
/// ASCII) and are long enough not to occur in an error's wording by chance.
fn secrets(text: &str) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.chars().count() >= 8 && (s.contains('@') || !s.is_ascii()) => {
                out.push(s.clone());
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(m) => m.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        walk(&v, &mut out);
    }
    out
}

fn no_secret(message: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !message.contains(s.as_str()),
            "an error or warning quotes a value of the message: {message}"
        );
    }
}
