//! What the fuzz targets share: how an input is cut into documents, the settings each target
//! runs under, and the configurations built once per process.
//!
//! The targets are in `fuzz_targets/`; README.md says what each one checks.

use std::sync::OnceLock;

use genesys_lex_core::{Languages, Options};
use segment_personalize_core::Config;

/// Separates the documents of one conversation in a `genesys_convert` input (ASCII record
/// separator: a raw control byte, which no valid JSON document contains outside a string and
/// none inside one either, so a seed made of one document is one document).
pub const DOCUMENT_SEPARATOR: u8 = 0x1E;

/// At most this many documents of one input are converted (the rest are ignored), so one
/// input cannot make an execution arbitrarily slow by being cut into thousands of pieces.
pub const MAX_DOCUMENTS: usize = 8;

/// The documents of a `genesys_convert` input: the bytes between separators.
pub fn documents(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == DOCUMENT_SEPARATOR)
        .take(MAX_DOCUMENTS)
        .collect()
}

/// `DESIGNER_LANGUAGES` values the converter is run with: unset (en-US), the English variants
/// an organisation opts into, and a list spelled the way people write it (case, `_`, spaces).
pub const DESIGNER_LANGUAGES: [Option<&str>; 3] = [
    None,
    Some("en-US,en-GB,en-AU,en-IN"),
    Some(" EN_gb , en-za "),
];

/// Every conversion setting a target tries: redaction off and on under each
/// [`DESIGNER_LANGUAGES`] value.
pub fn genesys_options() -> &'static [Options] {
    static OPTIONS: OnceLock<Vec<Options>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut all = Vec::new();
        for list in DESIGNER_LANGUAGES {
            let languages = match list {
                None => Languages::default(),
                Some(list) => Languages::parse(list).expect("the fuzz language lists parse"),
            };
            for redact_pii in [false, true] {
                all.push(Options {
                    redact_pii,
                    languages,
                });
            }
        }
        all
    })
}

/// The Segment forwarder's tracking id in the fuzz configurations.
pub const TRACKING_ID: &str = "00000000-0000-4000-8000-000000000001";

/// The configurations the Segment targets map every message with:
///
/// 1. the default: only `PERSONALIZE_TRACKING_ID` (built-in e-commerce mapping, default item
///    id paths, no value, no properties, `identify` ignored);
/// 2. a full one: an `EVENT_TYPE_MAP` naming events (one mapped to `null`), item id paths with
///    `[]` arrays, value paths, `EVENT_PROPERTIES` selectors with alternatives and nesting,
///    a users dataset with `USER_TRAITS`, a session id prefix;
/// 3. a full one with the `"*"` entry (every other name mapped, list views left out) and
///    paths that reach into nested objects and arrays.
pub fn segment_configs() -> &'static [Config] {
    static CONFIGS: OnceLock<Vec<Config>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let full: &[(&str, &str)] = &[
            ("PERSONALIZE_TRACKING_ID", TRACKING_ID),
            (
                "PERSONALIZE_USERS_DATASET_ARN",
                "arn:aws:personalize:us-east-1:123456789012:dataset/shop/USERS",
            ),
            (
                "EVENT_TYPE_MAP",
                r#"{"Product Viewed":"View","Product Clicked":"Click","Product Added":"AddToCart","Order Completed":"Purchase","Page Viewed":"View","Screen Viewed":"View","Signed In":null}"#,
            ),
            (
                "ITEM_ID_PATHS",
                "productId,product_id,sku,products[].product_id,products[].sku",
            ),
            ("EVENT_VALUE_PATH", "price,revenue,products[].price"),
            (
                "EVENT_PROPERTIES",
                "category=category|products[].category,discount,brand=details.brand,currency,coupon",
            ),
            (
                "USER_TRAITS",
                "plan,logins,country=address.country,email,tags",
            ),
        ];
        let wildcard: &[(&str, &str)] = &[
            ("PERSONALIZE_TRACKING_ID", TRACKING_ID),
            (
                "PERSONALIZE_USERS_DATASET_ARN",
                "arn:aws:personalize:eu-west-1:123456789012:dataset/g/USERS",
            ),
            (
                "EVENT_TYPE_MAP",
                r#"{"Order Completed":"Purchase","Product Removed":null,"*":"Other"}"#,
            ),
            ("ITEM_ID_PATHS", "item.id,lines[].sku,id"),
            ("EVENT_VALUE_PATH", "lines[].amount,total"),
            ("EVENT_PROPERTIES", "a=x.y.z|w,b=lines[].kind,c"),
            ("USER_TRAITS", "name,org=company.name|company.id,age"),
            ("SESSION_ID_PREFIX", "s-"),
        ];
        vec![
            Config::new(TRACKING_ID).expect("the default configuration"),
            Config::from_source(&full).expect("the full configuration"),
            Config::from_source(&wildcard).expect("the wildcard configuration"),
        ]
    })
}

/// Whether `s` is at most `max` characters (the API's Smithy `length`, which counts
/// characters) and, when `utf16`, at most `max` UTF-16 code units (what is cut to fit).
pub fn within(s: &str, max: usize, utf16: bool) -> bool {
    if utf16 {
        s.encode_utf16().count() <= max
    } else {
        s.chars().count() <= max
    }
}
