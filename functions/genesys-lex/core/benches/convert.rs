//! Throughput of the Genesys -> Lex designer conversion on realistic documents.
//!
//! The documents are generated deterministically (a xorshift generator, fixed seeds) in the
//! shape of `events/genesys/transcripts/01-order-status.json`: two transcripts (agent and
//! customer channels), phrases with word-level detail (`words[]` with confidence, times,
//! offsets and durations), participants and analytics (sentiment, topics). Everything the
//! conversion does not read is there on purpose: skipping it is part of the cost.
//!
//! Groups (throughput in input bytes per second):
//! * `convert`: `transcript::convert` (parse + convert + serialise) on a ~250 KB document, a
//!   ~2.5 MB document, and the ~250 KB one with `redact_pii`.
//! * `parse`: `transcript::parse` alone on the whole document; `skim::strip_unused` alone and
//!   followed by `parse` (what `convert` does); serde_json skipping the whole document
//!   (`IgnoredAny`), the floor for a serde_json parse of everything.
//!
//! `MLPIPE_BENCH_DUMP=path` writes the ~250 KB document to `path`, for comparisons with other
//! implementations on the same bytes (`cli/bench/reference_convert.py`).
//!
//! ```text
//! cargo bench -p genesys-lex-core --bench convert -- --warm-up-time 1 --measurement-time 3
//! ```

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use genesys_lex_core::{self as transcript, Options, Outcome};

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    /// A confidence-like value `0.700..=0.999`, three decimals.
    fn confidence(&mut self) -> String {
        format!("0.{}", self.range(700, 999))
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

const WORDS: &[&str] = &[
    "i",
    "you",
    "we",
    "it",
    "the",
    "a",
    "to",
    "and",
    "of",
    "my",
    "your",
    "is",
    "was",
    "that",
    "this",
    "for",
    "on",
    "in",
    "with",
    "can",
    "could",
    "would",
    "will",
    "have",
    "has",
    "just",
    "order",
    "account",
    "card",
    "payment",
    "delivery",
    "package",
    "address",
    "appointment",
    "number",
    "email",
    "phone",
    "refund",
    "replacement",
    "tracking",
    "warehouse",
    "shipping",
    "check",
    "change",
    "cancel",
    "update",
    "confirm",
    "verify",
    "help",
    "need",
    "want",
    "see",
    "thanks",
    "thank",
    "okay",
    "sure",
    "yes",
    "no",
    "great",
    "perfect",
    "sorry",
    "please",
    "today",
    "tomorrow",
    "monday",
    "friday",
    "morning",
    "afternoon",
    "week",
    "minute",
    "moment",
    "let",
    "me",
    "look",
    "that",
    "up",
    "right",
    "now",
    "again",
    "still",
    "already",
    "since",
    "supposed",
    "arrive",
    "arrived",
    "moved",
    "sent",
    "send",
    "text",
    "call",
    "back",
    "last",
    "new",
    "old",
    "same",
    "different",
    "service",
    "store",
    "online",
    "website",
    "app",
    "code",
    "balance",
    "charge",
    "fee",
    "credit",
    "statement",
    "billing",
    "problem",
    "issue",
    "question",
];

const SHORT: &[&str] = &[
    "yes",
    "no",
    "okay",
    "thank you",
    "sure",
    "yes please",
    "that's right",
    "one moment",
    "got it",
    "perfect",
    "mm-hmm",
    "great thanks",
];

/// Personal data some phrases carry, so redaction has work to do.
const PII: &[&str] = &[
    "my number is 555 014 7788",
    "it's jane.doe@example.com",
    "the card is 4111 1111 1111 1111",
    "my social is 123-45-6789",
    "call me back at (555) 010-2233",
    "order 7 7 3 4 1 9",
];

struct Phrase {
    json: String,
    start_ms: u64,
    len_ms: u64,
    text: String,
    sentiment: Option<i64>,
}

/// Phrase text: mostly short to medium sentences, some long ones, a few with personal data.
fn sentence(rng: &mut Rng) -> String {
    if rng.chance(25) {
        return rng.pick(SHORT).to_owned();
    }
    let n = match rng.range(0, 99) {
        0..=64 => rng.range(2, 6),
        65..=92 => rng.range(7, 12),
        _ => rng.range(13, 24),
    };
    let mut words: Vec<&str> = (0..n).map(|_| rng.pick(WORDS)).collect();
    if rng.chance(6) {
        let at = rng.range(0, words.len() as u64) as usize;
        words.insert(at, rng.pick(PII));
    }
    words.join(" ")
}

fn decorate(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    let mut chars = text.chars();
    if let Some(c) = chars.next() {
        out.extend(c.to_uppercase());
    }
    out.extend(chars);
    out = out.replace(" i ", " I ").replace(" i'", " I'");
    out.push(if text.starts_with("can ") || text.starts_with("could ") {
        '?'
    } else {
        '.'
    });
    out
}

fn phrase(
    rng: &mut Rng,
    index: usize,
    purpose: &str,
    channel: u8,
    start_ms: u64,
    conversation_start: u64,
) -> Phrase {
    let text = sentence(rng);
    let decorated = decorate(&text);
    let mut words = String::new();
    let mut t = start_ms;
    let tokens: Vec<&str> = text.split(' ').collect();
    for (i, w) in tokens.iter().enumerate() {
        let len = rng.range(120, 480);
        let sep = if i + 1 == tokens.len() { "" } else { "," };
        let _ = writeln!(
            words,
            "            {{\"word\": \"{w}\", \"confidence\": {}, \"startTimeMs\": {t}, \"offset\": {{\"milliseconds\": {}}}, \"duration\": {{\"milliseconds\": {len}}}}}{sep}",
            rng.confidence(),
            t - conversation_start,
        );
        t += len + rng.range(10, 90);
    }
    let len_ms = t - start_ms;
    let json = format!(
        r#"        {{
          "phraseIndex": {index},
          "text": "{text}",
          "decoratedText": "{decorated}",
          "stability": 0.{stability},
          "confidence": {confidence},
          "startTimeMs": {start_ms},
          "offset": {{"milliseconds": {offset}}},
          "duration": {{"milliseconds": {len_ms}}},
          "words": [
{words}          ],
          "participantPurpose": "{purpose}",
          "channelId": {channel}
        }}"#,
        stability = rng.range(80, 99),
        confidence = rng.confidence(),
        offset = start_ms - conversation_start,
    );
    let sentiment = rng.chance(12).then(|| rng.range(0, 20) as i64 - 10);
    Phrase {
        json,
        start_ms,
        len_ms,
        text,
        sentiment,
    }
}

fn analytics(rng: &mut Rng, purpose: &str, phrases: &[Phrase], conversation_start: u64) -> String {
    let mut sentiment = Vec::new();
    for (i, p) in phrases.iter().enumerate() {
        if let Some(s) = p.sentiment {
            sentiment.push(format!(
                r#"          {{
            "participant": "{purpose}",
            "phrase": "{}",
            "startTimeMs": {},
            "offset": {{"milliseconds": {}}},
            "duration": {{"milliseconds": {}}},
            "sentiment": {:.2},
            "phraseIndex": {i}
          }}"#,
                p.text,
                p.start_ms,
                p.start_ms - conversation_start,
                p.len_ms,
                s as f64 / 10.0,
            ));
        }
    }
    let mut topics = Vec::new();
    for p in phrases.iter().step_by(9) {
        topics.push(format!(
            r#"          {{
            "participant": "{purpose}",
            "topicId": "{}",
            "topicName": "{}",
            "topicPhrase": "{}",
            "transcriptPhrase": "{}",
            "confidence": {},
            "startTimeMs": {},
            "offset": {{"milliseconds": {}}},
            "duration": {{"milliseconds": {}}}
          }}"#,
            rng.uuid(),
            rng.pick(&[
                "Order status",
                "Billing",
                "Greeting",
                "Closing",
                "Address change"
            ]),
            p.text.split(' ').take(4).collect::<Vec<_>>().join(" "),
            p.text,
            rng.confidence(),
            p.start_ms,
            p.start_ms - conversation_start,
            p.len_ms,
        ));
    }
    format!(
        "      \"analytics\": {{\n        \"sentiment\": [\n{}\n        ],\n        \"topics\": [\n{}\n        ]\n      }}",
        sentiment.join(",\n"),
        topics.join(",\n")
    )
}

/// Generates a conversation document of about `target` bytes. Returns the JSON and the
/// number of phrases.
fn document(seed: u64, target: usize) -> (String, usize) {
    let mut rng = Rng::new(seed);
    let conversation_id = rng.uuid();
    let start: u64 = 1_748_959_920_000 + rng.range(0, 86_400_000);
    // Phrases alternate between the agent (with an IVR prompt first) and the customer.
    let mut channels: [Vec<Phrase>; 2] = [Vec::new(), Vec::new()];
    let mut t = start + rng.range(500, 1500);
    let mut size = 4_000;
    let mut speaker = 0;
    let mut index = [0usize; 2];
    while size < target {
        let (purpose, channel) = match speaker {
            0 if index[0] == 0 => ("ivr", 1u8),
            0 => ("internal", 1),
            _ => ("external", 0),
        };
        let p = phrase(&mut rng, index[speaker], purpose, channel, t, start);
        t = p.start_ms + p.len_ms + rng.range(200, 2500);
        size += p.json.len() + 2 + if p.sentiment.is_some() { 300 } else { 0 };
        channels[speaker].push(p);
        index[speaker] += 1;
        // Mostly turn-taking, sometimes two phrases in a row.
        if !rng.chance(25) {
            speaker = 1 - speaker;
        }
    }
    let end = t;
    let phrases = channels[0].len() + channels[1].len();

    let mut transcripts = Vec::new();
    for (purpose, list) in [("internal", &channels[0]), ("external", &channels[1])] {
        let first = list.first().map_or(start, |p| p.start_ms);
        let body: Vec<&str> = list.iter().map(|p| p.json.as_str()).collect();
        transcripts.push(format!(
            "    {{\n      \"transcriptId\": \"{}\",\n      \"language\": \"en-US\",\n      \"programId\": \"{}\",\n      \"engineId\": \"r2d2\",\n      \"startTime\": {first},\n      \"duration\": {{\"milliseconds\": {}}},\n      \"phrases\": [\n{}\n      ],\n{}\n    }}",
            rng.uuid(),
            rng.uuid(),
            end - first,
            body.join(",\n"),
            analytics(&mut rng, purpose, list, start),
        ));
    }
    let json = format!(
        r#"{{
  "organizationId": "{org}",
  "conversationId": "{conversation_id}",
  "communicationId": "{comm}",
  "mediaType": "call",
  "conversationStartTime": {start},
  "startTime": {start},
  "duration": {{"milliseconds": {total}}},
  "participants": [
    {{
      "participantPurpose": "customer",
      "initialDirection": "inbound",
      "ani": "tel:+15555550147",
      "dnis": "tel:+18005550100",
      "startTimeMs": {start},
      "endTimeMs": {end}
    }},
    {{
      "participantPurpose": "ivr",
      "flowId": "{flow}",
      "flowVersion": "12.0",
      "startTimeMs": {start},
      "endTimeMs": {ivr_end}
    }},
    {{
      "participantPurpose": "agent",
      "userId": "{user}",
      "queueId": "{queue}",
      "startTimeMs": {ivr_end},
      "endTimeMs": {end}
    }}
  ],
  "transcripts": [
{transcripts}
  ]
}}
"#,
        org = rng.uuid(),
        comm = rng.uuid(),
        total = end - start,
        flow = rng.uuid(),
        ivr_end = start + 30_000,
        user = rng.uuid(),
        queue = rng.uuid(),
        transcripts = transcripts.join(",\n"),
    );
    (json, phrases)
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    phrases: usize,
}

fn cases() -> Vec<Case> {
    let (small, small_phrases) = document(1, 250_000);
    let (large, large_phrases) = document(2, 2_500_000);
    if let Ok(path) = std::env::var("MLPIPE_BENCH_DUMP") {
        std::fs::write(&path, &small).unwrap_or_else(|e| panic!("MLPIPE_BENCH_DUMP={path}: {e}"));
        eprintln!("wrote the {} byte document to {path}", small.len());
    }
    let cases = vec![
        Case {
            name: "250KB",
            bytes: small.into_bytes(),
            phrases: small_phrases,
        },
        Case {
            name: "2.5MB",
            bytes: large.into_bytes(),
            phrases: large_phrases,
        },
    ];
    for case in &cases {
        // The document must be valid and convert completely, or the figures mean nothing.
        match transcript::convert(&case.bytes, Options::default()) {
            Ok(Outcome::Converted(c)) => {
                assert_eq!(
                    c.turns, case.phrases,
                    "{}: every phrase becomes a turn",
                    case.name
                );
                eprintln!(
                    "{}: {} bytes, {} phrases, output {} bytes",
                    case.name,
                    case.bytes.len(),
                    case.phrases,
                    c.body.len()
                );
            }
            other => panic!("{}: {other:?}", case.name),
        }
    }
    cases
}

fn benches(c: &mut Criterion) {
    let cases = cases();

    let mut group = c.benchmark_group("convert");
    for case in &cases {
        group.throughput(Throughput::Bytes(case.bytes.len() as u64));
        group.bench_function(case.name, |b| {
            b.iter(|| transcript::convert(black_box(&case.bytes), Options::default()).unwrap())
        });
    }
    let small = &cases[0];
    group.throughput(Throughput::Bytes(small.bytes.len() as u64));
    group.bench_function(format!("{}_redact_pii", small.name), |b| {
        let options = Options {
            redact_pii: true,
            ..Options::default()
        };
        b.iter(|| transcript::convert(black_box(&small.bytes), options).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("parse");
    for case in &cases {
        group.throughput(Throughput::Bytes(case.bytes.len() as u64));
        group.bench_function(case.name, |b| {
            b.iter(|| transcript::parse(black_box(&case.bytes)).unwrap())
        });
    }
    // What `convert` does before parsing: drop word-level detail, then parse the rest.
    for case in &cases {
        group.throughput(Throughput::Bytes(case.bytes.len() as u64));
        group.bench_function(format!("{}_strip_unused", case.name), |b| {
            b.iter(|| transcript::skim::strip_unused(black_box(&case.bytes)).len())
        });
        group.bench_function(format!("{}_strip_unused_then_parse", case.name), |b| {
            b.iter(|| {
                let skimmed = transcript::skim::strip_unused(black_box(&case.bytes));
                transcript::parse(&skimmed)
                    .map(|d| d.transcripts.map_or(0, |t| t.len()))
                    .unwrap()
            })
        });
    }
    // serde_json reading and discarding everything: what any serde_json-based parse costs.
    group.throughput(Throughput::Bytes(small.bytes.len() as u64));
    group.bench_function(format!("{}_serde_json_ignored_any", small.name), |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&small.bytes)).unwrap())
    });
    group.finish();
}

criterion_group!(convert, benches);
criterion_main!(convert);
