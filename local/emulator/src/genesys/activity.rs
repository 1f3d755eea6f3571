//! What clients did: counters and a bounded log of calls, served by the admin API so tests can
//! assert, say, that one token served several transcript fetches.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Oldest log entries are dropped beyond this many; the counters keep counting.
pub const LOG_CAPACITY: usize = 10_000;

/// The kind of client call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CallKind {
    /// `POST /oauth/token`.
    Token,
    /// `GET .../transcripturl`.
    TranscriptUrl,
    /// `GET` of a transcript link.
    Download,
}

/// One call, as logged.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// Position in the log, from 1 (keeps counting when old entries are dropped).
    pub seq: u64,
    pub kind: CallKind,
    pub method: String,
    /// Path only: queries carry signatures and are left out.
    pub path: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communication_id: Option<String>,
    /// Emulated time of the call, RFC 3339.
    pub at: String,
}

/// Status codes seen for one conversation, in call order.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationCalls {
    pub transcript_url: Vec<u16>,
    pub downloads: Vec<u16>,
}

/// Counters and log, as `GET /_emulator/genesys/requests` returns them.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// Every `POST /oauth/token`.
    pub token_requests: u64,
    /// Tokens granted (200 answers).
    pub tokens_issued: u64,
    /// Every `transcripturl` call.
    pub transcript_url_requests: u64,
    /// Every transcript-link request.
    pub download_requests: u64,
    /// Transcript documents served (200 answers).
    pub downloads: u64,
    /// Answers that were injected 429s.
    pub throttled: u64,
    /// Per conversation id.
    pub conversations: BTreeMap<String, ConversationCalls>,
    /// Most recent calls, oldest first, at most [`LOG_CAPACITY`].
    pub log: VecDeque<Call>,
    #[serde(skip)]
    seq: u64,
}

/// The call being answered.
#[derive(Debug, Clone, Copy)]
pub struct CallTarget<'a> {
    pub kind: CallKind,
    pub method: &'a str,
    pub path: &'a str,
    pub conversation_id: Option<&'a str>,
    pub communication_id: Option<&'a str>,
}

impl Activity {
    /// Records a call and the status it was answered with.
    pub fn record(&mut self, at: OffsetDateTime, call: &CallTarget<'_>, status: u16) {
        let ok = status == 200;
        match call.kind {
            CallKind::Token => {
                self.token_requests += 1;
                self.tokens_issued += u64::from(ok);
            }
            CallKind::TranscriptUrl => self.transcript_url_requests += 1,
            CallKind::Download => {
                self.download_requests += 1;
                self.downloads += u64::from(ok);
            }
        }
        self.throttled += u64::from(status == 429);
        if let Some(conversation_id) = call.conversation_id {
            let calls = self
                .conversations
                .entry(conversation_id.to_owned())
                .or_default();
            match call.kind {
                CallKind::TranscriptUrl => calls.transcript_url.push(status),
                CallKind::Download => calls.downloads.push(status),
                CallKind::Token => {}
            }
        }
        self.seq += 1;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(Call {
            seq: self.seq,
            kind: call.kind,
            method: call.method.to_owned(),
            path: call.path.to_owned(),
            status,
            conversation_id: call.conversation_id.map(str::to_owned),
            communication_id: call.communication_id.map(str::to_owned),
            at: at.format(&Rfc3339).unwrap_or_default(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(kind: CallKind, conversation_id: Option<&str>) -> CallTarget<'_> {
        CallTarget {
            kind,
            method: "GET",
            path: "/x",
            conversation_id,
            communication_id: conversation_id.map(|_| "m"),
        }
    }

    #[test]
    fn counts_and_groups_by_conversation() {
        let mut a = Activity::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        a.record(now, &call(CallKind::Token, None), 200);
        for status in [404, 429, 200] {
            a.record(now, &call(CallKind::TranscriptUrl, Some("c")), status);
        }
        a.record(now, &call(CallKind::Download, Some("c")), 200);
        assert_eq!(a.tokens_issued, 1);
        assert_eq!(a.transcript_url_requests, 3);
        assert_eq!(a.throttled, 1);
        assert_eq!(a.downloads, 1);
        assert_eq!(a.conversations["c"].transcript_url, vec![404, 429, 200]);
        assert_eq!(a.conversations["c"].downloads, vec![200]);
        assert_eq!(a.log.len(), 5);
        assert_eq!(a.log.back().unwrap().seq, 5);
    }

    #[test]
    fn log_is_bounded() {
        let mut a = Activity::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..LOG_CAPACITY + 3 {
            a.record(now, &call(CallKind::Token, None), 401);
        }
        assert_eq!(a.log.len(), LOG_CAPACITY);
        assert_eq!(a.log.front().unwrap().seq, 4);
        assert_eq!(a.token_requests, (LOG_CAPACITY + 3) as u64);
    }
}
