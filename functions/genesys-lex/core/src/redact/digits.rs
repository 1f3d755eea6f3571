//! Card, social security and phone numbers as digit groups, including digit by digit.
//!
//! A *number* is a stretch of digit groups separated by exactly one space or one dash
//! (`5 5 5 0 1 0 4 4 7 7`, `4111-1111-1111-1111`, `123 45 6789`); a group glued to a letter
//! (`10am`, `A123`) is not part of one, and any other character (two spaces, ` - `, `.`, `:`,
//! `/`, a word) ends it. Scanning its groups from the left, the longest run of consecutive
//! groups that has one of these shapes is replaced by the marker, then the scan goes on after
//! it; groups that start no such run stay:
//!
//! | entity | digits | group sizes |
//! |---|---|---|
//! | payment card (Luhn checked) | 13-19 | one group; all single digits; fours with a last group of 1-4 (4-4-4-4, 4-4-4-4-3, 4-4-4-1); 4-6-5; 4-6-4 |
//! | US social security number | 9 | 3-2-4; all single digits |
//! | US phone number | 10 | 3-3-4; 3-7; one group; all single digits |
//! | US phone number with the country code 1 | 11, the first a 1 | 1-3-3-4; one group; all single digits (a `+` just before is replaced too) |
//!
//! Dates and times have none of these shapes (`2024-03-03` is 4-2-2, `March 3 2024` 1-4,
//! `10 30` 2-2, `03 03 2024` 2-2-4), so they stay; a date spelled digit by digit into nine or
//! more single digits would not.

use std::borrow::Cow;

use super::MARKER;

/// The most groups one entity can have (19 single digits).
const MAX_GROUPS: usize = 19;

/// Replaces the numbers of [the module's](self) shapes.
pub(super) fn redact_numbers(text: Cow<'_, str>) -> Cow<'_, str> {
    let spans = spans(text.as_bytes());
    if spans.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in spans {
        out.push_str(&text[copied..start]);
        out.push_str(MARKER);
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The byte ranges to replace, in order.
fn spans(b: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A digit group: b[i..j].
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let glued = (i > 0 && b[i - 1].is_ascii_alphabetic())
            || b.get(j).is_some_and(u8::is_ascii_alphabetic);
        let joined = groups
            .last()
            .is_some_and(|&(_, end)| end + 1 == i && matches!(b[end], b' ' | b'-'));
        if !joined || glued {
            classify_run(b, &groups, &mut spans);
            groups.clear();
        }
        if !glued {
            groups.push((i, j));
        }
        i = j;
    }
    classify_run(b, &groups, &mut spans);
    spans
}

/// Adds the spans of one stretch of groups: the longest matching run from each group on.
fn classify_run(b: &[u8], groups: &[(usize, usize)], spans: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    while i < groups.len() {
        let longest = (i + 1..=groups.len().min(i + MAX_GROUPS))
            .rev()
            .find(|&j| is_entity(b, &groups[i..j]));
        match longest {
            Some(j) => {
                let mut start = groups[i].0;
                // "+1 555 555 0147": the plus belongs to the number.
                if start > 0 && b[start - 1] == b'+' {
                    start -= 1;
                }
                spans.push((start, groups[j - 1].1));
                i = j;
            }
            None => i += 1,
        }
    }
}

fn is_entity(b: &[u8], groups: &[(usize, usize)]) -> bool {
    let mut buf = [0usize; MAX_GROUPS];
    let sizes = &mut buf[..groups.len()];
    for (size, (s, e)) in sizes.iter_mut().zip(groups) {
        *size = e - s;
    }
    let sizes = &*sizes;
    let n: usize = sizes.iter().sum();
    let single_digits = sizes.iter().all(|&s| s == 1);
    let one_group = sizes.len() == 1;
    let first_is_one = b[groups[0].0] == b'1';
    match n {
        9 => single_digits || *sizes == [3, 2, 4],
        10 => single_digits || one_group || *sizes == [3, 3, 4] || *sizes == [3, 7],
        11 => first_is_one && (single_digits || one_group || *sizes == [1, 3, 3, 4]),
        13..=19 => {
            let fours = sizes.len() >= 3
                && sizes[..sizes.len() - 1].iter().all(|&s| s == 4)
                && (1..=4).contains(&sizes[sizes.len() - 1]);
            (single_digits || one_group || fours || *sizes == [4, 6, 5] || *sizes == [4, 6, 4])
                && luhn(groups.iter().flat_map(|&(s, e)| &b[s..e]))
        }
        _ => false,
    }
}

/// The Luhn checksum payment card numbers carry.
fn luhn<'a>(digits: impl DoubleEndedIterator<Item = &'a u8>) -> bool {
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let d = u32::from(c - b'0');
            match i % 2 {
                1 if d * 2 > 9 => d * 2 - 9,
                1 => d * 2,
                _ => d,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
