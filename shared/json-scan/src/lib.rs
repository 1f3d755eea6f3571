//! Where a JSON container ends, found without parsing it: the `{` or `[` at `i` and the index
//! just after its matching `}` or `]`, counting brackets outside strings (escapes honoured) and
//! checking nothing else. Used to step over the parts of a document nobody reads: the transcript
//! skim (words, analytics) and the Segment message scanner (context, unused properties). The
//! README gives the measurements that keep it (against serde_json and sonic-rs).

/// The index just after the container opening at `b[i]`, or `None` if it never closes. A quote
/// after an odd run of backslashes is escaped, outside strings too (not JSON, but both scanners
/// then agree).
#[inline]
pub fn container_end(b: &[u8], i: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::container_end(b, i)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        container_end_portable(b, i)
    }
}

/// [`container_end`] eight bytes at a time (inside strings) and byte by byte between them: the
/// portable version, and the reference for the block scanner's tests.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub fn container_end_portable(b: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'"' => {
                // To the closing quote, stepping over escaped bytes.
                j += 1;
                loop {
                    j = string_special(b, j)?;
                    match b[j] {
                        b'"' => break,
                        b'\\' => j += 2,
                        _ => j += 1, // a control character: not this scanner's to refuse
                    }
                }
            }
            b'\\' => {
                // Not JSON outside a string, but the block scanner finds escapes before it knows
                // where strings are: an odd run of backslashes escapes a quote after it there
                // too. Both scanners answer alike on any bytes (the arm64 functions run this one).
                let run = b[j..].iter().take_while(|&&c| c == b'\\').count();
                j += run;
                if run % 2 == 1 && b.get(j) == Some(&b'"') {
                    j += 1;
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// The first `"`, `\\` or control character (< 0x20) at or after `j`, eight bytes at a time:
/// the bytes a string scanner must stop at (the end, an escape, a byte JSON does not allow
/// unescaped in a string).
#[inline]
pub fn string_special(b: &[u8], mut j: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while j + 8 <= b.len() {
        let w = u64::from_le_bytes(b[j..j + 8].try_into().expect("8 bytes"));
        let quote = w ^ (LO * u64::from(b'"'));
        let backslash = w ^ (LO * u64::from(b'\\'));
        // Per byte: zero after the xor (a quote or backslash), or below 0x20. The lowest flagged
        // byte is always a true match (false positives can only sit above a true one).
        let hits = (quote.wrapping_sub(LO) & !quote
            | backslash.wrapping_sub(LO) & !backslash
            | w.wrapping_sub(LO * 0x20) & !w)
            & HI;
        if hits != 0 {
            return Some(j + (hits.trailing_zeros() / 8) as usize);
        }
        j += 8;
    }
    (j..b.len()).find(|&k| matches!(b[k], b'"' | b'\\' | 0x00..=0x1f))
}

/// [`container_end`] 64 bytes at a time: per block, bit masks of quotes, backslashes, openers and
/// closers (SSE2 compares); quotes escaped by an odd run of backslashes removed; string
/// interiors found with a prefix XOR of the quote mask; then depth counted with popcounts,
/// looking at individual brackets only in the block where the container may close.
// The one `unsafe` of the workspace (the lint denies it everywhere else): SSE2 intrinsics.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    const EVEN: u64 = 0x5555_5555_5555_5555;

    #[inline(always)]
    fn prefix_xor(mut x: u64) -> u64 {
        x ^= x << 1;
        x ^= x << 2;
        x ^= x << 4;
        x ^= x << 8;
        x ^= x << 16;
        x ^= x << 32;
        x
    }

    pub fn container_end(b: &[u8], start: usize) -> Option<usize> {
        let (mut prev_escaped, mut prev_in_string, mut depth) = (0u64, 0u64, 0u64);
        let mut pos = start;
        let mut tail = [b' '; 64];
        while pos < b.len() {
            let block: &[u8] = match b.get(pos..pos + 64) {
                Some(block) => block,
                None => {
                    tail[..b.len() - pos].copy_from_slice(&b[pos..]);
                    &tail
                }
            };
            let (mut quote, mut backslash, mut open, mut close) = (0u64, 0u64, 0u64, 0u64);
            for k in 0..4 {
                // SAFETY: `block` has 64 readable bytes, so 16 at 16 * k; the load is unaligned;
                // SSE2 is part of the x86_64 baseline.
                unsafe {
                    let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
                    let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
                    let mask = |x: __m128i| u64::from(_mm_movemask_epi8(x) as u16) << (16 * k);
                    quote |= mask(eq(b'"'));
                    backslash |= mask(eq(b'\\'));
                    open |= mask(_mm_or_si128(eq(b'{'), eq(b'[')));
                    close |= mask(_mm_or_si128(eq(b'}'), eq(b']')));
                }
            }
            if backslash | prev_escaped != 0 {
                // Bytes escaped by an odd run of backslashes (simdjson's method).
                backslash &= !prev_escaped;
                let follows = (backslash << 1) | prev_escaped;
                let odd_starts = backslash & !EVEN & !follows;
                let (even_runs, overflow) = odd_starts.overflowing_add(backslash);
                prev_escaped = u64::from(overflow);
                quote &= !((EVEN ^ (even_runs << 1)) & follows);
            }
            // Bits inside strings: opening quote included, closing quote excluded.
            let in_string = prefix_xor(quote) ^ prev_in_string;
            prev_in_string = ((in_string as i64) >> 63) as u64;
            open &= !in_string;
            close &= !in_string;
            let closes = u64::from(close.count_ones());
            if depth > closes {
                depth = depth + u64::from(open.count_ones()) - closes;
            } else {
                let mut both = open | close;
                while both != 0 {
                    let i = both.trailing_zeros();
                    if open >> i & 1 == 1 {
                        depth += 1;
                    } else {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(pos + i as usize + 1);
                        }
                    }
                    both &= both - 1;
                }
            }
            pos += 64;
        }
        None
    }
}

#[cfg(test)]
mod tests;
