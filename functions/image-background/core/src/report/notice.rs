//! What the report step tells people: the SNS subject and message (counts, failures with their
//! reasons, images not run, the link with until when it works and how to get a fresh one), and
//! how long a presigned link really works. Pure: the signing time is an argument.
//!
//! A presigned URL stops working when the credentials that signed it expire: signed with the
//! Lambda role's temporary credentials, it lasts at most as long as the role session, whatever
//! `URL_EXPIRES_SECONDS` says. [`effective_expiry`] takes the shorter of the two.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shared_core::PipelineError;

use super::{LinkNote, Report};
use crate::keys::s3_uri;

/// Failed images listed in the SNS message; the rest are counted ("and K more").
pub const MAX_LISTED_FAILURES: usize = 50;
/// Images not run listed in the SNS message; the rest are counted ("and K more").
pub const MAX_LISTED_NOT_RUN: usize = 20;
/// Shortest useful link: when the signing credentials expire sooner, the report step fails as
/// `Retryable` (a retry gets fresh credentials) rather than mailing a link that is already dead.
pub const MIN_LINK_SECONDS: u64 = 60;
/// Longest reason quoted per failed image in the SNS message.
pub const MAX_REASON_CHARS: usize = 500;
/// SNS subjects must be shorter than 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;

/// What ends a presigned URL first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryLimit {
    /// `URL_EXPIRES_SECONDS`: the credentials outlive it, or never expire (static keys).
    Configured,
    /// The signing credentials expire before `URL_EXPIRES_SECONDS` is over.
    Credentials,
    /// Temporary credentials (with a session token) that do not tell when they expire (the
    /// Lambda runtime's environment credentials): `URL_EXPIRES_SECONDS` at most, possibly less.
    ConfiguredUnlessCredentialsExpire,
}

impl ExpiryLimit {
    pub const fn as_str(self) -> &'static str {
        match self {
            ExpiryLimit::Configured => "configuration",
            ExpiryLimit::Credentials => "credentials",
            ExpiryLimit::ConfiguredUnlessCredentialsExpire => {
                "configuration, credentials expiry unknown"
            }
        }
    }
}

/// When a presigned URL was signed and how long it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkExpiry {
    pub signed_at: SystemTime,
    /// Whole seconds (what `X-Amz-Expires` says).
    pub valid_for: Duration,
    pub limit: ExpiryLimit,
}

impl LinkExpiry {
    /// When the URL stops working.
    pub fn expires_at(&self) -> SystemTime {
        self.signed_at + self.valid_for
    }
}

/// The effective validity of a URL signed at `now` for `configured`, with credentials expiring
/// at `credentials_expiry` (`None`: they do not say; `temporary`: they have a session token, so
/// they do expire, at an unknown time): the shorter of the two, in whole seconds. Credentials
/// that expire in less than [`MIN_LINK_SECONDS`] (or have expired) are a `Retryable` error.
pub fn effective_expiry(
    now: SystemTime,
    configured: Duration,
    credentials_expiry: Option<SystemTime>,
    temporary: bool,
) -> Result<LinkExpiry, PipelineError> {
    let configured = Duration::from_secs(configured.as_secs());
    let (valid_for, limit) = match credentials_expiry {
        Some(expiry) => {
            let left = Duration::from_secs(
                expiry
                    .duration_since(now)
                    .unwrap_or(Duration::ZERO)
                    .as_secs(),
            );
            if left >= configured {
                (configured, ExpiryLimit::Configured)
            } else if left.as_secs() < MIN_LINK_SECONDS {
                return Err(PipelineError::retryable(format!(
                    "the signing credentials expire at {} (in {} s): too soon for a useful link; a retry gets fresh credentials",
                    rfc3339(expiry),
                    left.as_secs()
                )));
            } else {
                (left, ExpiryLimit::Credentials)
            }
        }
        None if temporary => (configured, ExpiryLimit::ConfiguredUnlessCredentialsExpire),
        None => (configured, ExpiryLimit::Configured),
    };
    Ok(LinkExpiry {
        signed_at: now,
        valid_for,
        limit,
    })
}
/// `Image job <id>: N succeeded, M failed[, K not run]`, shortened (ASCII `...`) to stay under
/// 100 chars.
pub fn subject(report: &Report) -> String {
    let mut tail = format!(": {} succeeded, {} failed", report.succeeded, report.failed);
    if report.not_run > 0 {
        tail.push_str(&format!(", {} not run", report.not_run));
    }
    let full = format!("Image job {}{tail}", report.job_id);
    if full.len() <= MAX_SUBJECT_CHARS {
        return full;
    }
    let room = MAX_SUBJECT_CHARS.saturating_sub("Image job ...".len() + tail.len());
    // Job ids are ASCII (validated): one character is one byte.
    let short: String = report.job_id.chars().take(room).collect();
    format!("Image job {short}...{tail}")
}

/// The SNS message body: counts, failures with reasons (capped), images not run (capped), and
/// the link with until when it works and how to get a fresh one.
pub fn message(report: &Report, url: &str, link: &LinkNote) -> String {
    let how = if report.not_run > 0 {
        "stopped before every image ran"
    } else {
        "finished"
    };
    let mut m = format!(
        "Image job {} {how}.\n\nTotal: {}\nSucceeded: {}\nFailed: {}\n",
        report.job_id, report.total, report.succeeded, report.failed
    );
    if report.not_run > 0 {
        m.push_str(&format!("Not run: {}\n", report.not_run));
    }
    if report.failed > 0 {
        m.push_str("\nFailed images:\n");
        for r in report.failures().take(MAX_LISTED_FAILURES) {
            m.push_str(&format!(
                "- {}: {}\n",
                r.image_key,
                one_line(&r.reason(), MAX_REASON_CHARS)
            ));
        }
        if report.failed > MAX_LISTED_FAILURES {
            m.push_str(&format!(
                "... and {} more (see the report)\n",
                report.failed - MAX_LISTED_FAILURES
            ));
        }
    }
    if report.not_run > 0 {
        m.push_str("\nNot run (the job stopped before these images were processed; they have no result):\n");
        for r in report.not_run_rows().take(MAX_LISTED_NOT_RUN) {
            m.push_str(&format!("- {}\n", r.image_key));
        }
        if report.not_run > MAX_LISTED_NOT_RUN {
            m.push_str(&format!(
                "... and {} more (see the report)\n",
                report.not_run - MAX_LISTED_NOT_RUN
            ));
        }
    }
    m.push_str(&format!(
        "\nReport: {url}\nThe link {}\n{}\n",
        link.text, link.renew
    ));
    m
}

/// Says until when the link to `s3://bucket/key` works, why, and how to get a fresh one.
pub fn link_note(expiry: &LinkExpiry, bucket: &str, key: &str, configured: Duration) -> LinkNote {
    let until = human_utc(expiry.expires_at());
    let about = about(expiry.valid_for);
    let text = match expiry.limit {
        ExpiryLimit::Configured => format!("is valid until {until} ({about})."),
        ExpiryLimit::Credentials => format!(
            "is valid until {until} ({about}): it expires with the report function's temporary credentials, before the configured {}.",
            self::about(configured).trim_start_matches("about ")
        ),
        ExpiryLimit::ConfiguredUnlessCredentialsExpire => format!(
            "is valid until {until} at the latest ({about}): it expires with the report function's temporary credentials, possibly sooner."
        ),
    };
    let uri = s3_uri(bucket, key);
    let renew = format!(
        "For a fresh link, run `aws s3 presign {uri} --expires-in {}` with your own credentials, or download {uri} from the bucket.",
        configured.as_secs()
    );
    LinkNote {
        valid_until: rfc3339(expiry.expires_at()),
        valid_for_seconds: expiry.valid_for.as_secs(),
        limited_by: expiry.limit.as_str().to_owned(),
        text,
        renew,
    }
}

/// `about N minutes|hours|days`, rounded.
pub fn about(d: Duration) -> String {
    let secs = d.as_secs();
    let round = |unit: u64| (secs + unit / 2) / unit;
    let (n, unit) = if secs < 90 * 60 {
        (round(60).max(1), "minute")
    } else if secs < 48 * 3600 {
        (round(3600), "hour")
    } else {
        (round(86_400), "day")
    };
    format!("about {n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// RFC 3339 UTC, whole seconds: `2026-01-01T06:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return format!("{secs} s after 1970-01-01T00:00:00Z");
    }
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// For people: `2026-01-01 06:00:00 UTC`.
pub fn human_utc(t: SystemTime) -> String {
    let s = rfc3339(t);
    match s.strip_suffix('Z') {
        Some(s) => format!("{} UTC", s.replacen('T', " ", 1)),
        None => s,
    }
}

/// `text` on one line (whitespace runs collapsed), at most `max` chars (with `...`).
fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut s: String = flat.chars().take(max.saturating_sub(3)).collect();
        s.push_str("...");
        s
    }
}
