//! The block scanner (on x86_64), the portable scanner and serde_json agree on where every
//! container ends, on published documents of both users and on strings built to trip a
//! scanner: escapes, brackets and quotes inside strings at every alignment against the 64-byte
//! blocks, long backslash runs, and documents cut short.

use super::*;

fn documents() -> Vec<Vec<u8>> {
    let mut docs: Vec<Vec<u8>> = [
        &include_bytes!("../../../events/genesys/transcripts/01-order-status.json")[..],
        &include_bytes!("../../../events/genesys/transcripts/02-card-replacement-pii.json")[..],
        &include_bytes!("../../../events/segment/segment_track_spec_full_example.json")[..],
        &include_bytes!("../../../events/segment/segment_identify_spec_full_example.json")[..],
        &include_bytes!("../../../events/segment/segment_track_order_completed.json")[..],
        br#"{"a":"\\","b":"\\\"}{[","c":["\\\\\\\"]"],"d":{}}"#,
        br#"[{"x":"]}"},"\u005d",[[[]]],{"y":{"z":"\\\\"}}]"#,
    ]
    .iter()
    .map(|d| d.to_vec())
    .collect();
    let tricky = r#"[{"w": "a\\", "x": "\"]", "y": "\\\"[", "z": ["}", {"q": "\\\\\\\""}]}, "]]", [[[]]], "\\"]"#;
    for pad in 0..70 {
        docs.push(format!("{}{tricky}", " ".repeat(pad)).into_bytes());
        let filler = "x".repeat(pad);
        docs.push(
            format!(r#"{{"k{filler}":"a\\\\\\\"]{{\\\\","l":["{filler}\\\"",{{"m":"}}"}}]}}"#)
                .into_bytes(),
        );
        docs.push(format!(r#"["{filler}\\",["\\\\\\\\"],"{filler}"]"#).into_bytes());
    }
    docs.push(
        format!(
            r#"["{}\"", {}]"#,
            r"\\".repeat(100),
            "[1],".repeat(50) + "2"
        )
        .into_bytes(),
    );
    docs
}

fn both(b: &[u8], start: usize) -> Option<usize> {
    let portable = container_end_portable(b, start);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(sse2::container_end(b, start), portable, "sse2 at {start}");
    portable
}

#[test]
fn every_container_ends_where_serde_json_says() {
    let mut checked = 0;
    for doc in &documents() {
        serde_json::from_slice::<serde::de::IgnoredAny>(doc)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(doc)));
        for (start, &b) in doc.iter().enumerate() {
            if b != b'[' && b != b'{' {
                continue;
            }
            let mut de = serde_json::Deserializer::from_slice(&doc[start..])
                .into_iter::<serde::de::IgnoredAny>();
            let Some(Ok(_)) = de.next() else { continue }; // inside a string
            assert_eq!(
                both(doc, start),
                Some(start + de.byte_offset()),
                "at {start}"
            );
            assert_eq!(container_end(doc, start), Some(start + de.byte_offset()));
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn a_container_cut_short_never_closes() {
    for doc in &documents() {
        let first = doc.iter().position(|&b| b == b'[' || b == b'{').unwrap();
        let end = both(doc, first).unwrap();
        for cut in [first + 1, (first + end) / 2, end - 1] {
            assert_eq!(both(&doc[..cut], first), None, "cut at {cut}");
        }
    }
}

#[test]
fn an_unopened_closer_is_not_a_container() {
    assert_eq!(both(b"]", 0), None);
    assert_eq!(both(b"[]]", 0), Some(2));
    assert_eq!(both(br#"{"a":"}"}"#, 0), Some(9));
}

#[test]
fn string_special_finds_the_first_quote_backslash_or_control_byte() {
    for len in 0..40 {
        for at in 0..len {
            for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                let mut b = vec![b'a'; len];
                // Bytes next to the special ones (and above 0x80) must not be found.
                for (k, x) in b.iter_mut().enumerate() {
                    *x = [b'a', b'!', b'#', 0x20, 0x7f, 0xc3, b'[', b']'][k % 8];
                }
                b[at] = special;
                for from in 0..=at {
                    assert_eq!(string_special(&b, from), Some(at), "{b:?} from {from}");
                }
                assert_eq!(string_special(&b, at + 1), None, "{b:?} after {at}");
            }
        }
    }
}

#[test]
fn a_raw_control_character_in_a_string_does_not_stop_the_scan() {
    assert_eq!(both(b"[\"a\nb\", \"]\"]", 0), Some(12));
}

/// Fuzzing found (issue 14, segment_scanner_vs_serde): from a `{` inside a string (a Segment
/// payload's `properties` written as a JSON string), the block scanner took `\"` as an escaped
/// quote and the portable one as a backslash and a quote opening a string: 34 and 41. Bytes
/// that are not JSON are the Segment scanner's to skip, so both scanners must agree on them:
/// a quote after an odd run of backslashes is escaped outside strings too.
#[test]
fn backslashes_outside_strings_escape_a_quote_in_both_scanners() {
    let reproducer = b"{\\\"itemId\\\": \\\"ocean-blue-shirt\\\"}\"\n    }\n  ]\n}";
    assert_eq!(both(reproducer, 0), Some(34));
    // Runs of every length before a quote, a bracket and a letter, at every alignment against
    // the 64-byte blocks; the escaped quote never opens a string, an even run's quote does.
    for pad in 0..70 {
        let filler = " ".repeat(pad);
        for run in 1..6 {
            let slashes = "\\".repeat(run);
            for doc in [
                format!("{{{filler}{slashes}\"]}}\"]}}"),
                format!("[{filler}{slashes}[]]]"),
                format!("[{filler}{slashes}x\"]\"]"),
            ] {
                let got = both(doc.as_bytes(), 0);
                if doc.contains("\"]}\"") {
                    let want = if run % 2 == 1 {
                        3 + pad + run
                    } else {
                        6 + pad + run
                    };
                    assert_eq!(got, Some(want), "{doc:?}");
                }
            }
        }
    }
}
