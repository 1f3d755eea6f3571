//! Differential: the Genesys skim (`skim::strip_unused_bytes`, then the parser and the
//! conversion) against plain serde_json parsing of the original document.
//!
//! On a document that is valid JSON, both must succeed with the same conversion outcome, or
//! both fail naming the same field. On one that is not, the original never parses; the skimmed
//! copy may, but only because what the skim removed was broken (the skim does not validate the
//! values it drops: that is its point), so the skimmed copy must then be valid JSON and the
//! original must hold one of the dropped members. The skim is also idempotent.

#![no_main]

use bytes::Bytes;
use genesys_lex_core::skim;
use genesys_lex_core::{convert_documents, parse_with, ConvertError, Options, Outcome};
use libfuzzer_sys::fuzz_target;
use mlpipe_fuzz::genesys_options;
use serde::de::IgnoredAny;

/// The members the skim drops (skim.rs `UNUSED`).
const DROPPED: [&[u8]; 4] = [
    b"\"words\"",
    b"\"alternatives\"",
    b"\"analytics\"",
    b"\"participants\"",
];

fuzz_target!(|data: &[u8]| {
    let skimmed = skim::strip_unused_bytes(Bytes::copy_from_slice(data));
    assert_eq!(
        skim::strip_unused(&skimmed).as_ref(),
        skimmed.as_ref(),
        "the skim is not idempotent"
    );
    let body = data
        .strip_prefix(genesys_lex_core::BYTE_ORDER_MARK)
        .unwrap_or(data);
    let valid_json = serde_json::from_slice::<IgnoredAny>(body).is_ok();
    // Two settings are enough here: the language and redaction rules act after parsing.
    let options = genesys_options();
    for &options in [options[0], options[options.len() - 1]].iter() {
        let plain = outcome(data, options);
        let skim = outcome(&skimmed, options);
        match (&skim, &plain) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "the skim changed the conversion"),
            (Err(a), Err(b)) if valid_json => {
                assert_eq!(a.field, b.field, "{a} / {b}");
                assert_eq!(without_position(&a.problem), without_position(&b.problem));
            }
            (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) => {
                assert!(!valid_json, "only the skimmed copy converts: {e}");
                let stripped = skimmed
                    .strip_prefix(genesys_lex_core::BYTE_ORDER_MARK)
                    .unwrap_or(&skimmed);
                assert!(serde_json::from_slice::<IgnoredAny>(stripped).is_ok());
                assert!(
                    DROPPED
                        .iter()
                        .any(|k| body.windows(k.len()).any(|w| w == *k)),
                    "the skim fixed a document without removing anything"
                );
            }
            (Err(e), Ok(_)) => panic!("only the original converts; the skimmed copy: {e}"),
        }
    }
});

fn outcome(bytes: &[u8], options: Options) -> Result<Outcome, ConvertError> {
    let doc = parse_with(bytes, options)?;
    convert_documents(std::slice::from_ref(&doc), options)
}

/// serde_json's messages end in ` at line L column C`, which the skim changes.
fn without_position(problem: &str) -> &str {
    problem
        .rfind(" at line ")
        .map_or(problem, |at| &problem[..at])
}
