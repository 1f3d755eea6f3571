use super::*;

#[test]
fn redacts_each_kind() {
    assert_eq!(
        redact("mail me at jane.doe+x@example.co.uk please"),
        "mail me at [PII] please"
    );
    assert_eq!(
        redact("card 4111 1111 1111 1111 thanks"),
        "card [PII] thanks"
    );
    assert_eq!(redact("card 4111-1111-1111-1111"), "card [PII]");
    assert_eq!(redact("ssn is 123-45-6789."), "ssn is [PII].");
    assert_eq!(
        redact("call (555) 555-0147 or 555.555.0100"),
        "call [PII] or [PII]"
    );
    assert_eq!(redact("call +1 555 555 0147"), "call [PII]");
    assert_eq!(redact("ring +44 20 7946 0958 today"), "ring [PII] today");
}

#[test]
fn leaves_ordinary_numbers_alone() {
    assert_eq!(
        redact("order 12345 shipped on 2025-06-03"),
        "order 12345 shipped on 2025-06-03"
    );
    // Fails the Luhn check, and too long to be a phone number.
    assert_eq!(redact("ref 4111 1111 1111 1112"), "ref 4111 1111 1111 1112");
    assert!(matches!(redact("no digits here"), Cow::Borrowed(_)));
}

#[test]
fn digit_by_digit_numbers_are_redacted() {
    for (text, want) in [
        // Phone numbers: ten digits, or eleven with the country code 1.
        (
            "my number is 5 5 5 0 1 0 4 4 7 7 thanks",
            "my number is [PII] thanks",
        ),
        ("it's 1 5 5 5 0 1 0 4 4 7 7", "it's [PII]"),
        ("it's 5-5-5-0-1-0-4-4-7-7.", "it's [PII]."),
        ("call 555 010 4477 or 5550104477", "call [PII] or [PII]"),
        ("call 555 0104477", "call [PII]"),
        ("call 1 555 010 4477", "call [PII]"),
        // Social security numbers: nine digits.
        ("social is 1 2 3 4 5 6 7 8 9", "social is [PII]"),
        ("social is 123 45 6789", "social is [PII]"),
        ("social is 1-2-3-4-5-6-7-8-9", "social is [PII]"),
        // Card numbers, Luhn checked.
        ("card 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 ok", "card [PII] ok"),
        ("card 4111111111111111", "card [PII]"),
        ("amex 3782 822463 10005", "amex [PII]"),
        ("visa 4222 2222 2222 2", "visa [PII]"),
        // A number followed by more digits: the longest entity from the left goes, the rest stays.
        ("card 4111 1111 1111 1111 03 27", "card [PII] 03 27"),
        ("5 5 5 0 1 0 4 4 7 7 at 10 30", "[PII] at 10 30"),
        // Sixteen single digits failing the Luhn check are no card, but their first ten are a
        // phone number's shape.
        (
            "ref 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 2",
            "ref [PII] 1 1 1 1 1 2",
        ),
    ] {
        assert_eq!(redact(text), want, "{text}");
    }
}

#[test]
fn dates_times_and_other_numbers_stay() {
    for text in [
        "March 3 2024",
        "on March 3 2024 at 10 30",
        "3 2024 10 30",
        "2024-03-03",
        "2024-03-03 10 30",
        "03 03 2024",
        "03-03-2024 at 10:30",
        "10 30",
        "10:30 am",
        "see you at 10 30 tomorrow",
        // Order numbers, ZIP codes, amounts.
        "order 7 7 3 4 1 9",
        "zip 9 0 2 1 0",
        "zip 94105-1234",
        "order 123456789",
        "that's 19.99",
        // Glued to letters: not part of a number.
        "A123 456 7890",
        // Two spaces or a spaced dash end a number.
        "555  010  4477",
        "555 - 010 - 4477",
    ] {
        assert_eq!(redact(text), text, "{text}");
    }
}

#[test]
fn spoken_email_addresses_are_redacted() {
    for (text, want) in [
        (
            "it's jane dot doe at example dot com thanks",
            "it's [PII] thanks",
        ),
        ("jane underscore doe at gmail dot com", "[PII]"),
        ("Jane Dot Doe At Example Dot Com.", "[PII]."),
        (
            "j dot doe dash 1 at mail dot example dot co dot uk",
            "[PII]",
        ),
        ("jane.doe at example.com", "[PII]"),
        ("jane.doe at example dot org", "[PII]"),
        ("my email is jane at example dot com", "my email is [PII]"),
        ("spelled j a n e at example dot net", "spelled [PII]"),
    ] {
        assert_eq!(redact(text), want, "{text}");
    }
}

#[test]
fn at_and_dot_in_ordinary_speech_stay() {
    for text in [
        "I'll be at the store at noon",
        "dot the i's and cross the t's",
        "meet me at home dot",
        "we're at version 2 dot 5",
        "at example dot something",
    ] {
        assert_eq!(redact(text), text, "{text}");
    }
}
