//! Stepping over a ~256 KB array of word objects (the shape of a Genesys transcript's
//! `words[]`: strings, numbers, nested objects, some escapes): the block scanner, the portable
//! scanner, and serde_json skipping the same bytes (`IgnoredAny`), the cheapest way a JSON
//! parser has to step over a value. Throughput in input bytes per second.
//!
//! ```text
//! cargo bench -p mlpipe-json-scan --bench container_end -- --warm-up-time 1 --measurement-time 3
//! ```

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// `[{"word": ..., "confidence": ..., "offset": {...}, ...}, ...]` of about `size` bytes,
/// deterministic.
fn words(size: usize) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        "order",
        "status",
        "please",
        "thanks",
        r#"say \"hi\""#,
        "C:\\\\temp",
        "ok",
        "[yes]",
    ];
    let mut out = String::from("[");
    let mut n = 0u64;
    while out.len() < size {
        if n > 0 {
            out.push(',');
        }
        let w = WORDS[(n * 7 % 8) as usize];
        write!(
            out,
            r#"{{"word":"{w}","confidence":0.{c},"offset":{{"milliseconds":{ms}}},"duration":{{"milliseconds":{d}}},"wordType":"lexical"}}"#,
            c = 700 + n * 37 % 300,
            ms = n * 310,
            d = 120 + n % 300
        )
        .expect("writing to a String");
        n += 1;
    }
    out.push(']');
    out.into_bytes()
}

fn container_end(c: &mut Criterion) {
    let doc = words(256 * 1024);
    let mut group = c.benchmark_group("container_end");
    group.throughput(Throughput::Bytes(doc.len() as u64));
    group.bench_function("container_end", |b| {
        b.iter(|| json_scan::container_end(black_box(&doc), 0).expect("closes"))
    });
    group.bench_function("portable", |b| {
        b.iter(|| json_scan::container_end_portable(black_box(&doc), 0).expect("closes"))
    });
    group.bench_function("serde_json_ignored_any", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&doc)).expect("valid JSON")
        })
    });
    group.finish();
}

criterion_group!(benches, container_end);
criterion_main!(benches);
