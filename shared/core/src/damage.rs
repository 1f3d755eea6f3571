//! Damaged copies of an input, for tests that a parser answers every one of them with a
//! result or an error and never panics (feature `fakes`).

/// Calls `check` with every truncation of `original` (the empty input included), then with
/// every copy of it that has one byte replaced by one of `replacements`.
pub fn each_damaged_copy(original: &[u8], replacements: &[u8], mut check: impl FnMut(&[u8])) {
    for end in 0..=original.len() {
        check(&original[..end]);
    }
    let mut damaged = original.to_vec();
    for at in 0..original.len() {
        for &b in replacements {
            damaged[at] = b;
            check(&damaged);
        }
        damaged[at] = original[at];
    }
}

/// Replacements that break JSON in the usual ways: structure, strings, escapes, numbers, and
/// a byte that is never UTF-8.
pub const JSON_BREAKERS: &[u8] = b"\"{]\\09-e \xff";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncations_then_single_byte_replacements() {
        let mut seen = Vec::new();
        each_damaged_copy(b"ab", b"x", |d| seen.push(d.to_vec()));
        assert_eq!(seen, [&b""[..], b"a", b"ab", b"xb", b"ax"]);
    }
}
