//! What the passes found, put back into the order the summary has always had, and the last
//! pass for documents set aside.
//!
//! The summary lists, in this order: listing failures; documents that could not be read or
//! parsed, in input order; conversion failures, conversation by conversation (members in input
//! order); write failures, conversation by conversation. Conversations (so the skipped and
//! left-out lists too) come in order of the first appearance of their `conversationId` among
//! the documents that parsed, in input order. The passes finish in any order; every entry is
//! tagged with its input index or conversation and sorted here.
//!
//! **Set aside.** A document whose parsed `conversationId` differs from the conversation it was
//! grouped under (on S3, a document in another conversation's folder, or in a folder named
//! after no conversation; locally, only a file changed during the run) is not converted with
//! that folder. It is converted in a last pass with the documents that carry its own
//! `conversationId`, wherever they lie, as if it had been grouped with them from the start:
//! that conversation is converted again with it and its file written again (the earlier file
//! is removed when the new one is named differently, e.g. because the document starts the
//! conversation earlier). Outputs and summary are the same as when every document sits in its
//! own folder; the cost is reading that conversation's documents once more. Nothing is lost
//! and nothing is converted with a conversation it does not belong to; a file that changes
//! between the passes is reported (`conversationId: changed while the conversion ran`), not
//! chased.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::plan::Plan;
use super::work::{Conversion, Done, Job, LastPass};
use super::Summary;
use crate::transcripts::files::Sources;

/// What a conversation came to, as far as the last pass needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Not converted (yet): no document of it parsed.
    Nothing,
    /// Converted and written, nothing to report.
    Written,
    /// Converted and written, with transcripts left out (an entry).
    WrittenLeftOut,
    /// Skipped, failed, or not written (an entry).
    Reported,
}

/// A line of the summary, with the input that orders it.
struct Entry {
    /// The conversation's first input that parsed.
    first: usize,
    group: usize,
    kind: Kind,
}

enum Kind {
    LeftOut(String, Vec<String>),
    Skipped(String, String),
    /// Members, reason.
    Failed(Vec<usize>, String),
    WriteFailed(Vec<usize>, String),
}

/// The summary so far. Conversations converted without anything to report cost a byte each.
pub(super) struct Tally {
    converted: usize,
    /// By group.
    status: Vec<Status>,
    entries: Vec<Entry>,
    /// `(input index, reason)`: documents not read or not parsed.
    failed: Vec<(usize, String)>,
    /// `(input index, conversationId)`.
    misfits: Vec<(usize, String)>,
    stale_failed: Vec<(String, String)>,
}

impl Tally {
    /// Starts with the inputs the first pass could not read, for `groups` conversations.
    pub(super) fn new(failed: Vec<(usize, String)>, groups: usize) -> Self {
        Self {
            converted: 0,
            status: vec![Status::Nothing; groups],
            entries: Vec::new(),
            failed,
            misfits: Vec::new(),
            stale_failed: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, done: Done) {
        self.failed.extend(done.failed);
        self.misfits.extend(done.misfits);
        self.stale_failed.extend(done.stale_failed);
        let Some(record) = done.record else {
            return;
        };
        let (first, group) = (record.members[0], done.group);
        let (status, kind) = match record.result {
            Conversion::Written(left_out) if left_out.is_empty() => (Status::Written, None),
            Conversion::Written(left_out) => (
                Status::WrittenLeftOut,
                Some(Kind::LeftOut(record.conversation_id, left_out)),
            ),
            Conversion::WriteFailed(reason) => (
                Status::Reported,
                Some(Kind::WriteFailed(record.members, reason)),
            ),
            Conversion::Skipped(reason) => (
                Status::Reported,
                Some(Kind::Skipped(record.conversation_id, reason)),
            ),
            Conversion::Failed(reason) => {
                (Status::Reported, Some(Kind::Failed(record.members, reason)))
            }
        };
        if matches!(status, Status::Written | Status::WrittenLeftOut) {
            self.converted += 1;
        }
        self.status[group] = status;
        if let Some(kind) = kind {
            self.entries.push(Entry { first, group, kind });
        }
    }

    /// The last pass: one job per conversation that documents set aside belong to, with the
    /// documents it already had; what the first conversion of those conversations reported is
    /// forgotten. Empty when nothing was set aside.
    pub(super) fn last_pass(&mut self, plan: &Plan) -> Vec<Job> {
        if self.misfits.is_empty() {
            return Vec::new();
        }
        let misfits = std::mem::take(&mut self.misfits);
        // The documents the first conversions did not keep.
        let left: HashSet<usize> = (self.failed.iter().map(|(i, _)| *i))
            .chain(misfits.iter().map(|(i, _)| *i))
            .collect();
        let by_id: HashMap<&str, usize> = (0..plan.groups())
            .filter_map(|g| plan.key(g).map(|k| (k, g)))
            .collect();
        let mut strays: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, id) in misfits {
            strays.entry(id).or_default().push(i);
        }
        let mut jobs = Vec::with_capacity(strays.len());
        let mut again = HashSet::new();
        for (id, strays) in strays {
            let (group, before) = match by_id.get(id.as_str()) {
                Some(&g) => {
                    let kept: Vec<usize> = plan.members(g).filter(|i| !left.contains(i)).collect();
                    (g, kept)
                }
                None => {
                    self.status.push(Status::Nothing);
                    (self.status.len() - 1, Vec::new())
                }
            };
            let status = std::mem::replace(&mut self.status[group], Status::Nothing);
            let written = matches!(status, Status::Written | Status::WrittenLeftOut);
            if written {
                self.converted -= 1;
            }
            again.insert(group);
            let mut members = before.clone();
            members.extend(strays);
            members.sort_unstable();
            let mut job = Job::new(group, Some(id), members);
            job.last_pass = Some(LastPass {
                written_before: written.then_some(before),
            });
            jobs.push(job);
        }
        self.entries.retain(|e| !again.contains(&e.group));
        jobs
    }

    /// The summary, in the order of the module docs. `listing`: the listing failures.
    pub(super) fn summary(mut self, sources: &Sources, listing: Vec<(String, String)>) -> Summary {
        let mut summary = Summary {
            documents: sources.len(),
            converted: self.converted,
            failed: listing,
            ..Summary::default()
        };
        self.failed.sort_by_key(|(i, _)| *i);
        summary.failed.extend(
            self.failed
                .into_iter()
                .map(|(i, reason)| (sources.name(i), reason)),
        );
        self.entries.sort_by_key(|e| e.first);
        let mut write_failed = Vec::new();
        for entry in self.entries {
            match entry.kind {
                Kind::LeftOut(id, languages) => summary.left_out.push((id, languages)),
                Kind::Skipped(id, reason) => summary.skipped.push((id, reason)),
                Kind::Failed(members, reason) => {
                    for i in members {
                        summary.failed.push((sources.name(i), reason.clone()));
                    }
                }
                Kind::WriteFailed(members, reason) => {
                    let names: Vec<String> = members.iter().map(|&i| sources.name(i)).collect();
                    write_failed.push((names.join(", "), reason));
                }
            }
        }
        summary.failed.extend(write_failed);
        summary.failed.extend(self.stale_failed);
        summary
    }
}
