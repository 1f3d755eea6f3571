use crate::botocore::java_regex::{compile, translate};

/// Asserts which values match `pattern` (as AWS matches: the whole value).
fn matches(pattern: &str, yes: &[&str], no: &[&str]) {
    let regex = compile(pattern).unwrap_or_else(|e| panic!("{e}"));
    for value in yes {
        assert!(
            regex.matches(value),
            "{pattern} ({}) should match {value:?}",
            regex.rust()
        );
    }
    for value in no {
        assert!(
            !regex.matches(value),
            "{pattern} ({}) should not match {value:?}",
            regex.rust()
        );
    }
}

#[test]
fn the_whole_value_must_match() {
    // The case AWS answered for STS roleSessionName: a search would find the empty match.
    matches(
        r"[\w+=,.@-]*",
        &["", "a.b@c", "x=1,y"],
        &["a:b", "PowerUser/jane", "dependabot[bot]"],
    );
    matches(r"\w+", &["hello"], &["!hello!"]);
    matches(
        r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*",
        &["a", "promo-1_x"],
        &["-a", "a b", ""],
    );
}

#[test]
fn java_classes_are_ascii() {
    matches(r"\d+", &["0123456789"], &["٣", "１"]);
    matches(r"\w+", &["a_Z9"], &["é", "ß"]);
    matches(
        r"\s",
        &[" ", "\t", "\n", "\u{b}", "\u{c}", "\r"],
        &["\u{a0}", "\u{2003}"],
    );
    matches(r"[^\d]", &["a", "٣"], &["5"]);
    matches(r"\D\W\S", &["a!b"], &["1!b"]);
    matches(r"[A-Za-z\d_]+", &["Device_type1"], &["device-type", "é"]);
}

#[test]
fn dot_excludes_java_line_terminators() {
    matches(
        "a.b",
        &["a b", "a\tb", "aéb"],
        &["a\nb", "a\rb", "a\u{85}b", "a\u{2028}b"],
    );
    matches("(?s)a.b", &["a\rb", "a\nb"], &[]);
    matches(
        r"arn:([a-z\d-]+):personalize:.*:.*:.+",
        &["arn:aws:personalize:us-east-1:1:x"],
        &["arn:aws:personalize:us-east-1:1:x\n"],
    );
}

#[test]
fn posix_and_unicode_properties() {
    matches(r"\p{Alpha}+", &["abcXYZ"], &["é"]);
    matches(r"\p{Alnum}\p{Punct}\p{Space}", &["a! ", "0~\t"], &["é! "]);
    matches(r"[\p{Lower}\p{Digit}]+", &["a1"], &["A"]);
    matches(r"\P{Upper}", &["a"], &["A"]);
    matches(r"\p{IsLatin}+", &["é", "abc"], &["日本"]);
    matches(r"\p{L}+\p{IsAlphabetic}", &["日本語"], &["1"]);
    matches(r"\p{javaLowerCase}", &["é"], &["É"]);
    matches(r"\p{Print}+", &[" ~"], &["\u{7f}"]);
    matches(r"^(\p{LD}|\p{Punct}| )+$", &["é1 !", "日本"], &["\t"]);
    matches(r"[\p{all}]*", &["\n😀a"], &[]);
    matches(r"\p{L1}+", &["ÿa"], &["Ā"]);
}

#[test]
fn escaped_punctuation_is_literal() {
    // `\<` and `\>` are word boundaries in Rust's regex, literals in Java.
    matches(r"\<a\>", &["<a>"], &["a"]);
    matches(r"\/\:\@\'\ ", &["/:@' "], &[]);
    matches(r"[\-_\.]+", &["-_."], &["a"]);
    // A `-` after a class escape in a class is a literal in Java.
    matches(r"[\w-.~]+", &["a-b.c~"], &["a b"]);
    matches(r"[\w- &]*", &["a- &"], &["/"]);
    matches(r"[\w-\/.@+=,]{1,5}", &["a-/.@"], &[":"]);
    matches(r"[\p{L}-x]+", &["é-x"], &["1"]);
    matches(r"[a~b]", &["~"], &["c"]);
    matches(r"a{2}\{x\}", &["aa{x}"], &["a{x}"]);
}

#[test]
fn escapes_of_code_points() {
    matches(r"\uD83D\uDE00", &["😀"], &["x"]);
    matches(
        r"\u00e9\x41\x{1F600}\0101\e\cA\t",
        &["éA😀A\u{1b}\u{1}\t"],
        &[],
    );
    matches(r"[\u0041-\u0043]+", &["ABC"], &["D"]);
    // Lone surrogates (a UTF-16 notion) are left out of classes; ranges are cut at them.
    matches(
        r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDBFF-\uDC00\uDFFF\t]*",
        &["a é\u{d7ff}\u{e000}\t"],
        &["\u{1F600}", "\n"],
    );
    matches(r"[\u0041-\uD800]", &["\u{d7ff}"], &["\u{e000}"]);
}

#[test]
fn quoting_flags_and_anchors() {
    matches(r"\Q.*\E", &[".*"], &["ab"]);
    matches(r"(?i)abc", &["ABC", "abc"], &["abd"]);
    matches(r"(?iu)é", &["É"], &[]);
    matches(r"(?U)\w", &["a"], &["é"]);
    matches(r"abc\Z", &["abc"], &["abc\n"]);
    matches(r"abc$", &["abc"], &["abc\n"]);
    matches(r"\Aab\z", &["ab"], &[]);
    matches(
        r"^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$",
        &["a", " a "],
        &["   ", "", "é"],
    );
    matches(r"\h\v\R", &["\t\n\r\n"], &[]);
}

#[test]
fn possessive_and_atomic_read_as_greedy() {
    matches(r"a*+b", &["aab", "b"], &["aa"]);
    matches(r"a++b?+c{1,2}+", &["abcc", "ac"], &["bc"]);
    matches(r"(?>ab|a)c", &["abc"], &[]);
    matches(r"a+?b", &["aab"], &[]);
    matches(r"(?<name>ab)+", &["abab"], &["aba"]);
}

#[test]
fn what_cannot_be_translated_is_reported() {
    for (pattern, reason) in [
        (r"(?=a)a", "look-ahead"),
        (r"(?!a)b", "look-ahead"),
        (r"(?<=a)b", "look-behind"),
        (r"(?<!a)b", "look-behind"),
        (r"(a)\1", "back-reference"),
        (r"\k<x>", "back-reference"),
        (r"\Ga", r"\G"),
        (r"\p{InGreek}", "Unicode block"),
        (r"\y", "unknown escape"),
        (r"a\", "trailing backslash"),
    ] {
        let error = compile(pattern).unwrap_err();
        assert!(error.to_string().contains(reason), "{pattern}: {error}");
    }
}

/// Every pattern of every service model in the project's botocore either translates to a
/// regex `regex` parses, or is reported for a construct `regex` lacks; none is mistranslated.
/// (Parsed, not compiled: compiling 4,700 patterns takes long in a debug build. The Personalize
/// ones are compiled: loading their models requires it.)
#[test]
fn every_botocore_pattern_translates_or_says_why() {
    #[derive(serde::Deserialize)]
    struct Model {
        shapes: std::collections::HashMap<String, Shape>,
    }
    #[derive(serde::Deserialize)]
    struct Shape {
        pattern: Option<String>,
    }
    let data = crate::botocore::locate_data(None).unwrap();
    let mut patterns = std::collections::BTreeSet::new();
    for service in std::fs::read_dir(&data).unwrap().flatten() {
        let name = service.file_name().to_string_lossy().into_owned();
        let Ok((_, text)) = crate::botocore::read_service_json(&data, &name) else {
            continue;
        };
        let model: Model = serde_json::from_str(&text).unwrap();
        patterns.extend(model.shapes.into_values().filter_map(|s| s.pattern));
    }
    assert!(patterns.len() > 1000, "{} patterns", patterns.len());
    let mut unsupported = Vec::new();
    let mut unexplained = Vec::new();
    for pattern in &patterns {
        match translate(pattern) {
            Ok(rust) => {
                if let Err(e) = regex_syntax::Parser::new().parse(&format!(r"\A(?:{rust})\z")) {
                    unexplained.push(format!("{pattern:?} -> {rust:?}: {e}"));
                }
            }
            Err(e)
                if [
                    "look-ahead",
                    "look-behind",
                    "back-reference",
                    "Unicode block",
                ]
                .iter()
                .any(|k| e.reason.contains(k)) =>
            {
                unsupported.push(e.to_string());
            }
            Err(e) => unexplained.push(e.to_string()),
        }
    }
    eprintln!(
        "{} patterns, {} untranslatable: {unsupported:#?}",
        patterns.len(),
        unsupported.len()
    );
    assert!(unexplained.is_empty(), "{unexplained:#?}");
}
