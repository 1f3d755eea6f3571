//! What each model accepts: the [`Limits`] per model, the sizes ([`SizeRule`], the Titan
//! resolution list), the request body limit, and byte sizes as written in messages.

/// Every width x height Titan Image Generator G1 (v1 and v2) accepts, from the Bedrock user
/// guide's table (1:1, 2:3, 3:2, 3:5, 5:3, 7:9, 9:7, 6:11, 11:6, 5:11, 11:5, 9:5, 16:9).
/// The longest side is at most 1408 px.
pub const TITAN_RESOLUTIONS: &[(u32, u32)] = &[
    (1024, 1024),
    (768, 768),
    (512, 512),
    (768, 1152),
    (384, 576),
    (1152, 768),
    (576, 384),
    (768, 1280),
    (384, 640),
    (1280, 768),
    (640, 384),
    (896, 1152),
    (448, 576),
    (1152, 896),
    (576, 448),
    (768, 1408),
    (384, 704),
    (1408, 768),
    (704, 384),
    (640, 1408),
    (320, 704),
    (1408, 640),
    (704, 320),
    (1152, 640),
    (1173, 640),
];

/// A megabyte as used in the limits and messages (5 MB = 5,242,880 bytes).
pub const MB: usize = 1024 * 1024;

/// The largest InvokeModel body (botocore's bedrock-runtime model: `Body`, max 25,000,000).
pub const MAX_BODY_BYTES: usize = 25_000_000;

/// The sizes a model accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeRule {
    /// Only these width x height pairs.
    Fixed(&'static [(u32, u32)]),
    /// Any size within these bounds.
    Free {
        min_side: u32,
        max_side: u32,
        multiple: u32,
        /// The pixel count sent at most (may be below what the model accepts, see
        /// [`Limits::max_input_pixels`]).
        max_pixels: u64,
        /// Longest side / shortest side, at most.
        max_aspect: f64,
    },
}

/// What a model accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest source file for the legacy models, which send it close to as-is; `None`: only the
    /// request sent is limited (sources are decoded and scaled down to fit).
    pub max_source_bytes: Option<usize>,
    /// Largest encoded image in the request.
    pub max_input_bytes: usize,
    /// Largest image in the request, in pixels.
    pub max_input_pixels: u64,
    pub max_text_chars: usize,
    pub max_negative_chars: usize,
    pub max_mask_prompt_chars: usize,
    /// `numberOfImages` per job image, at most.
    pub max_images: u8,
    pub max_seed: u32,
    pub sizes: SizeRule,
}

pub(crate) const TITAN_LIMITS: Limits = Limits {
    max_source_bytes: None,
    max_input_bytes: 5 * MB,
    max_input_pixels: 1408 * 768,
    max_text_chars: 512,
    max_negative_chars: 512,
    max_mask_prompt_chars: 512,
    max_images: 5,
    max_seed: 2_147_483_646,
    sizes: SizeRule::Fixed(TITAN_RESOLUTIONS),
};

pub(crate) const NOVA_LIMITS: Limits = Limits {
    max_source_bytes: None,
    max_input_bytes: 10 * MB,
    max_input_pixels: 4_194_304,
    max_text_chars: 1024,
    max_negative_chars: 1024,
    max_mask_prompt_chars: 1024,
    max_images: 5,
    max_seed: 858_993_459,
    sizes: SizeRule::Free {
        min_side: 320,
        max_side: 4096,
        multiple: 16,
        max_pixels: 4_194_304,
        max_aspect: 4.0,
    },
};

/// Stable Image Inpaint. It accepts up to 9,437,184 pixels but answers about 4 megapixels
/// whatever the input, so the builder sends at most 4,194,304 (a smaller, faster request with
/// the same result).
pub(crate) const STABILITY_LIMITS: Limits = Limits {
    max_source_bytes: None,
    max_input_bytes: 18 * MB,
    max_input_pixels: 9_437_184,
    max_text_chars: 10_000,
    max_negative_chars: 10_000,
    max_mask_prompt_chars: 0,
    max_images: 5,
    max_seed: 4_294_967_294,
    sizes: SizeRule::Free {
        min_side: 64,
        max_side: 16_384,
        multiple: 1,
        max_pixels: 4_194_304,
        max_aspect: 2.5,
    },
};

/// `5 MB`, `6.2 MB`, `900 KB`: sizes in messages.
pub(crate) fn human_bytes(n: usize) -> String {
    if n >= MB {
        let mb = n as f64 / MB as f64;
        if (mb - mb.round()).abs() < 0.05 {
            format!("{} MB", mb.round())
        } else {
            format!("{mb:.1} MB")
        }
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titan_resolutions_are_within_documented_bounds() {
        assert_eq!(TITAN_RESOLUTIONS.len(), 25);
        for &(w, h) in TITAN_RESOLUTIONS {
            assert!(w.max(h) <= 1408 && w.min(h) >= 320, "{w}x{h}");
        }
    }

    #[test]
    fn sizes_are_human_readable() {
        assert_eq!(human_bytes(5 * MB), "5 MB");
        assert_eq!(human_bytes(6 * MB + MB / 5), "6.2 MB");
        assert_eq!(human_bytes(1000), "1 KB");
    }
}
