//! Segment -> Personalize mapping rate, in messages per second.
//!
//! Configuration: `events/segment/config.json` (event type map, item id paths with
//! `products[].product_id`, event value paths, two event properties, a users dataset with three
//! traits), so every part of the mapping runs.
//!
//! Groups (throughput in messages):
//! * `parse_map/<fixture>`: `Config::map_str` (parse + map) of one fixture from
//!   `events/segment/`, as stored (pretty-printed; the Segment spec examples carry `context`,
//!   `integrations` and other members the parser has to skip).
//! * `parse_map_compact/<fixture>`: the same messages as single-line JSON, as Segment sends them.
//! * `parse_map/mixed_1000`: 1000 generated single-line messages (track with a product,
//!   e-commerce orders of 1-4 products, pages, screens, identifies; analytics.js `context`; 10%
//!   without anonymousId), deterministic.
//! * `parse/...`: `Config::parse` alone (and `Message::parse`, which keeps every property) on
//!   the track spec example and on the mixed messages; `serde_json` skipping the same text
//!   (`IgnoredAny`), the floor for a serde_json-based parse; `Config::map` alone on the mixed
//!   messages already parsed.
//! * `batch/plan_1000`: grouping 1000 already mapped messages into PutEvents / PutUsers calls.
//! * `batch/parse_map_plan_1000`: all of it, text to calls.
//!
//! ```text
//! cargo bench -p segment-personalize-core --bench segment_map -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use segment_personalize_core::{plan, Config, Message};

const CONFIG: &str = include_str!("../../../../events/segment/config.json");

const FIXTURES: &[(&str, &str)] = &[
    (
        "track_workshop",
        include_str!("../../../../events/segment/segment_track_workshop_test_event.json"),
    ),
    (
        "track_spec",
        include_str!("../../../../events/segment/segment_track_spec_full_example.json"),
    ),
    (
        "track_viewed_recommended",
        include_str!("../../../../events/segment/segment_track_product_viewed_recommended.json"),
    ),
    (
        "track_order_3_products",
        include_str!("../../../../events/segment/segment_track_order_completed.json"),
    ),
    (
        "page_spec",
        include_str!("../../../../events/segment/segment_page_spec_full_example.json"),
    ),
    (
        "screen",
        include_str!("../../../../events/segment/segment_screen_example.json"),
    ),
    (
        "identify_spec",
        include_str!("../../../../events/segment/segment_identify_spec_full_example.json"),
    ),
];

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `n` Segment messages in the shapes analytics.js sends (with `context`).
fn generated(n: usize) -> Vec<String> {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let context = r#""context":{"library":{"name":"analytics.js","version":"4.1.0"},"page":{"path":"/p","url":"https://shop.example.com/p","title":"Shop"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36","ip":"203.0.113.7"},"integrations":{}"#;
    (0..n)
        .map(|i| {
            let user = rng.below(200);
            let anon = if rng.below(10) == 0 {
                String::new()
            } else {
                format!(r#""anonymousId":"anon-{:08x}-{user}","#, user * 7919)
            };
            let common = format!(
                r#"{anon}"userId":"user-{user}","messageId":"ajs-next-{i:016x}","timestamp":"2024-05-14T10:{:02}:{:02}.{:03}+02:00","sentAt":"2024-05-14T08:00:00.000Z",{context}"#,
                rng.below(60),
                rng.below(60),
                rng.below(1000)
            );
            match rng.below(10) {
                0..=4 => format!(
                    r#"{{"type":"track","event":"Product Viewed",{common},"properties":{{"product_id":"sku-{}","name":"Product","price":"{}.99","category":"Games","currency":"USD"}}}}"#,
                    rng.below(5000),
                    rng.below(100)
                ),
                5 => {
                    let products: Vec<String> = (0..1 + rng.below(4))
                        .map(|_| {
                            format!(
                                r#"{{"product_id":"sku-{}","sku":"S-1","name":"Product","price":{},"quantity":1,"category":"Games"}}"#,
                                rng.below(5000),
                                rng.below(100)
                            )
                        })
                        .collect();
                    format!(
                        r#"{{"type":"track","event":"Order Completed",{common},"properties":{{"order_id":"o-{i}","revenue":{},"discount":2.5,"currency":"USD","products":[{}]}}}}"#,
                        rng.below(300),
                        products.join(",")
                    )
                }
                6 | 7 => format!(
                    r#"{{"type":"page","name":"Home",{common},"properties":{{"title":"Shop","url":"https://shop.example.com/","path":"/"}}}}"#
                ),
                8 => format!(
                    r#"{{"type":"screen","name":"Product Detail",{common},"properties":{{"productId":"sku-{}"}}}}"#,
                    rng.below(5000)
                ),
                _ => format!(
                    r#"{{"type":"identify",{common},"traits":{{"email":"someone@example.com","plan":"premium","logins":{},"address":{{"city":"Lyon","country":"FR"}}}}}}"#,
                    rng.below(50)
                ),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = Config::from_json(CONFIG).expect("events/segment/config.json");

    let mut g = c.benchmark_group("parse_map");
    g.throughput(Throughput::Elements(1));
    for (name, text) in FIXTURES {
        // Fail fast on a fixture that does not map.
        config.map_str(text).expect(name);
        g.bench_function(*name, |b| {
            b.iter(|| black_box(config.map_str(black_box(text)).unwrap()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("parse_map_compact");
    g.throughput(Throughput::Elements(1));
    for (name, text) in FIXTURES {
        let compact =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(text).unwrap())
                .unwrap();
        g.bench_function(*name, |b| {
            b.iter(|| black_box(config.map_str(black_box(&compact)).unwrap()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("parse_map");
    let mixed = generated(1000);
    let bytes: usize = mixed.iter().map(String::len).sum();
    eprintln!(
        "mixed_1000: {} bytes, {:.0} bytes per message",
        bytes,
        bytes as f64 / 1000.0
    );
    for m in &mixed {
        config.map_str(m).expect("generated message maps");
    }
    g.throughput(Throughput::Elements(mixed.len() as u64));
    g.bench_function("mixed_1000", |b| {
        b.iter(|| {
            for text in &mixed {
                black_box(config.map_str(black_box(text)).unwrap());
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    let track_spec = FIXTURES[1].1;
    g.bench_function("track_spec", |b| {
        b.iter(|| black_box(config.parse(black_box(track_spec)).unwrap()))
    });
    g.bench_function("track_spec_all_properties", |b| {
        b.iter(|| black_box(Message::parse(black_box(track_spec)).unwrap()))
    });
    g.throughput(Throughput::Elements(mixed.len() as u64));
    g.bench_function("mixed_1000", |b| {
        b.iter(|| {
            for text in &mixed {
                black_box(config.parse(black_box(text)).unwrap());
            }
        })
    });
    g.bench_function("mixed_1000_serde_json_ignored_any", |b| {
        b.iter(|| {
            for text in &mixed {
                black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(text)).unwrap());
            }
        })
    });
    let parsed: Vec<Message<'_>> = mixed.iter().map(|t| config.parse(t).unwrap()).collect();
    g.bench_function("map_only_mixed_1000", |b| {
        b.iter(|| {
            for m in &parsed {
                black_box(config.map(black_box(m)).unwrap());
            }
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("track_spec_serde_json_ignored_any", |b| {
        b.iter(|| {
            black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(track_spec)).unwrap())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("batch");
    g.throughput(Throughput::Elements(mixed.len() as u64));
    let outcomes: Vec<_> = mixed
        .iter()
        .map(|t| config.map_str(t).unwrap().into_owned())
        .collect();
    let p = plan(&config, outcomes.iter().cloned().map(Ok));
    eprintln!(
        "mixed_1000: {} PutEvents calls ({} events), {} PutUsers calls",
        p.put_events.len(),
        p.event_count(),
        p.put_users.len()
    );
    g.bench_function("plan_1000", |b| {
        b.iter_batched(
            || outcomes.clone(),
            |o| black_box(plan(&config, o.into_iter().map(Ok))),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("parse_map_plan_1000", |b| {
        b.iter(|| {
            let parsed: Vec<Message<'_>> = mixed
                .iter()
                .map(|t| config.parse(black_box(t)).unwrap())
                .collect();
            black_box(plan(&config, parsed.iter().map(|m| config.map(m))))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
