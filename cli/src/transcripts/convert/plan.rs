//! The first pass: which conversation each input belongs to, without parsing any document, and
//! the conversations to convert.
//!
//! * A local file: its top-level `conversationId`, found by
//!   [`genesys_lex_core::skim::scan_conversation_id`] in the file's first [`HEAD`] bytes (the
//!   whole file only when the id is not in them, e.g. after the transcripts).
//! * An S3 object in the raw layout, `<prefix><conversationId>/<communicationId>.json` (exactly
//!   one folder below the input prefix): the folder name, without a request. It is presumptive:
//!   the second pass sets aside a document whose parsed `conversationId` differs (see
//!   [`super::tally`]).
//! * Any other object (a loose file, a deeper path): the scanner over its first [`HEAD`] bytes
//!   (a ranged GET), the whole object only when the id is not in them.
//!
//! Only the ids and the input indices are kept for the whole corpus ([`Plan`]).

use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::Path;

use genesys_lex_core::skim::{self, IdScan};

use super::work::{Ctx, Job};
use crate::par;
use crate::transcripts::files::{Source, Store, RESERVE};

/// How much of a local file is read to find its conversation id (the whole file when the id
/// is not in it).
pub(super) const HEAD: usize = 16 * 1024;

/// The conversations to convert, and the inputs that could not be read. Four bytes per input
/// and a conversation id per conversation: what is kept for the whole corpus.
pub(super) struct Plan {
    /// Input indices grouped by conversation: group `g`'s are `members[starts[g]..starts[g + 1]]`,
    /// ascending. Groups in order of their first input.
    members: Vec<u32>,
    starts: Vec<u32>,
    /// Each group's conversation id (presumptive on S3), one after the other: group `g`'s ends
    /// at `key_ends[g]`. Empty: a group of one input whose id the scanner did not find (the
    /// parser refuses it, or its parsed id sets it aside).
    keys: String,
    key_ends: Vec<u32>,
    /// `(input index, reason)`: inputs that could not be read.
    pub(super) failed: Vec<(usize, String)>,
}

impl Plan {
    pub(super) fn groups(&self) -> usize {
        self.key_ends.len()
    }

    /// Group `g`'s input indices, ascending.
    pub(super) fn members(&self, g: usize) -> impl Iterator<Item = usize> + '_ {
        let range = self.starts[g] as usize..self.starts[g + 1] as usize;
        self.members[range].iter().map(|&i| i as usize)
    }

    pub(super) fn key(&self, g: usize) -> Option<&str> {
        let start = g.checked_sub(1).map_or(0, |p| self.key_ends[p] as usize);
        let key = &self.keys[start..self.key_ends[g] as usize];
        (!key.is_empty()).then_some(key)
    }

    /// The conversion of group `g`.
    pub(super) fn job(&self, g: usize) -> Job {
        Job::new(g, self.key(g).map(str::to_owned), self.members(g).collect())
    }
}

/// Inputs looked at together in the first pass: bounds what the pass holds besides the plan.
const CHUNK: usize = 1024;

/// Finds every input's conversation id (presumptive on S3) and groups the inputs by it.
pub(super) fn plan<S: Store>(
    ctx: &Ctx<S>,
    rt: Option<&tokio::runtime::Runtime>,
    input_prefix: &str,
    threads: usize,
) -> Plan {
    let sources = &ctx.sources;
    let mut grouper = Grouper::for_inputs(sources.len());
    let n = sources.len();
    for start in (0..n).step_by(CHUNK) {
        let chunk: Vec<usize> = (start..n.min(start + CHUNK)).collect();
        let ids = match (rt, &ctx.store) {
            (Some(rt), Some(store)) if !sources.is_empty() && is_object(ctx, 0) => {
                rt.block_on(par::map_async(chunk.clone(), super::S3_CONCURRENCY, |i| {
                    let (store, bar) = (store.clone(), ctx.bar.clone());
                    let Source::Object { bucket, key } = sources.get(i) else {
                        unreachable!("S3 input lists objects");
                    };
                    let from_key = folder_id(input_prefix, key).map(str::to_owned);
                    let (bucket, key) = (bucket.to_owned(), key.to_owned());
                    async move {
                        let id = match from_key {
                            Some(id) => Ok(Some(id)),
                            None => object_id(&store, &bucket, &key).await,
                        };
                        bar.inc(1);
                        id
                    }
                }))
            }
            _ => par::map(chunk.clone(), threads, |_, i| {
                let id = match sources.get(i) {
                    Source::File(path) => file_id(&path),
                    Source::Object { .. } => unreachable!("local input lists files"),
                };
                ctx.bar.inc(1);
                id
            }),
        };
        for (&i, id) in chunk.iter().zip(ids) {
            grouper.push(i, id);
        }
    }
    grouper.finish()
}

fn is_object<S>(ctx: &Ctx<S>, i: usize) -> bool {
    matches!(ctx.sources.get(i), Source::Object { .. })
}

/// Groups input indices by conversation id, in order of first appearance. The ids are kept
/// once, in the plan's string of keys; the table finds them by their hash.
#[derive(Default)]
struct Grouper {
    /// Group of each id hash (the first id with that hash).
    by_hash: HashMap<u64, u32>,
    /// Groups of ids whose hash an earlier id has (practically never).
    collided: HashMap<Box<str>, u32>,
    keys: String,
    key_ends: Vec<u32>,
    /// The group of each input (`UNREAD`: not read).
    group_of: Vec<u32>,
    failed: Vec<(usize, String)>,
}

const UNREAD: u32 = u32::MAX;

impl Grouper {
    /// Room for `n` inputs, so the lists do not leave outgrown copies behind as they grow.
    fn for_inputs(n: usize) -> Self {
        Self {
            keys: String::with_capacity(RESERVE),
            key_ends: Vec::with_capacity(n),
            group_of: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    /// Input `i` (inputs come in order) and its id.
    fn push(&mut self, i: usize, id: Result<Option<String>, String>) {
        debug_assert_eq!(i, self.group_of.len());
        let g = match id {
            Err(reason) => {
                self.failed.push((i, reason));
                UNREAD
            }
            // No id (refused by the parser, or set aside later): a group of its own.
            Ok(None) => self.new_group(""),
            Ok(Some(id)) if id.is_empty() => self.new_group(""),
            Ok(Some(id)) => {
                let mut hasher = std::hash::DefaultHasher::new();
                id.hash(&mut hasher);
                self.group(id, hasher.finish())
            }
        };
        self.group_of.push(g);
    }

    /// The group of `id`, whose hash is `hash`; a new one for a new id.
    fn group(&mut self, id: String, hash: u64) -> u32 {
        match self.by_hash.get(&hash) {
            Some(&g) if self.key(g) == id => g,
            Some(_) => match self.collided.get(id.as_str()) {
                Some(&g) => g,
                None => {
                    let g = self.new_group(&id);
                    self.collided.insert(id.into_boxed_str(), g);
                    g
                }
            },
            None => {
                let g = self.new_group(&id);
                self.by_hash.insert(hash, g);
                g
            }
        }
    }

    fn new_group(&mut self, key: &str) -> u32 {
        self.keys.push_str(key);
        let end = u32::try_from(self.keys.len()).expect("conversation ids under 4 GB");
        self.key_ends.push(end);
        let g = u32::try_from(self.key_ends.len() - 1).expect("fewer than 4 294 967 295 inputs");
        assert!(g < UNREAD, "fewer than 4 294 967 295 inputs");
        g
    }

    fn key(&self, g: u32) -> &str {
        let g = g as usize;
        let start = g.checked_sub(1).map_or(0, |p| self.key_ends[p] as usize);
        &self.keys[start..self.key_ends[g] as usize]
    }

    fn finish(self) -> Plan {
        drop(self.by_hash);
        let groups = self.key_ends.len();
        // Counting sort by group: members ascending within each.
        let mut starts = vec![0u32; groups + 1];
        for &g in self.group_of.iter().filter(|&&g| g != UNREAD) {
            starts[g as usize + 1] += 1;
        }
        for g in 0..groups {
            starts[g + 1] += starts[g];
        }
        let mut next = starts.clone();
        let mut members = vec![0u32; starts[groups] as usize];
        for (i, &g) in self.group_of.iter().enumerate() {
            if g != UNREAD {
                members[next[g as usize] as usize] = i as u32;
                next[g as usize] += 1;
            }
        }
        Plan {
            members,
            starts,
            keys: self.keys,
            key_ends: self.key_ends,
            failed: self.failed,
        }
    }
}

/// The conversation folder of a raw key: `<prefix><conversationId>/<communicationId>.json`,
/// exactly one folder below the input prefix (taken as a folder, as the listing does).
pub(super) fn folder_id<'k>(prefix: &str, key: &'k str) -> Option<&'k str> {
    let rest = key.strip_prefix(prefix)?;
    let rest = match prefix.is_empty() || prefix.ends_with('/') {
        true => rest,
        false => rest.strip_prefix('/')?,
    };
    let (folder, name) = rest.split_once('/')?;
    (!folder.is_empty() && !name.is_empty() && !name.contains('/')).then_some(folder)
}

/// A loose object's conversation id from its first [`HEAD`] bytes (a ranged GET), reading the
/// whole object only when the id is not in them. The error is the reading error's message.
async fn object_id<S: Store>(store: &S, bucket: &str, key: &str) -> Result<Option<String>, String> {
    let head = store
        .get_head(bucket, key, HEAD)
        .await
        .map_err(|e| e.message)?;
    match skim::scan_conversation_id(&head) {
        IdScan::Found(id) => Ok(Some(id)),
        IdScan::Truncated if head.len() == HEAD => match store.get(bucket, key).await {
            Ok(body) => Ok(skim::conversation_id(&body)),
            Err(e) => Err(e.message),
        },
        IdScan::Absent | IdScan::Truncated => Ok(None),
    }
}

/// A local file's conversation id from its head, reading on only when the id is not in it.
/// The error is the reading error, as `fs::read` gives it.
pub(super) fn file_id(path: &Path) -> Result<Option<String>, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; HEAD];
    let mut len = 0;
    while len < HEAD {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    buf.truncate(len);
    match skim::scan_conversation_id(&buf) {
        IdScan::Found(id) => Ok(Some(id)),
        IdScan::Truncated if len == HEAD => {
            file.read_to_end(&mut buf).map_err(|e| e.to_string())?;
            Ok(skim::conversation_id(&buf))
        }
        IdScan::Absent | IdScan::Truncated => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys_give_their_folder() {
        for prefix in ["genesys/", "genesys"] {
            assert_eq!(folder_id(prefix, "genesys/c-1/m-1.json"), Some("c-1"));
            assert_eq!(folder_id(prefix, "genesys/loose.json"), None);
            assert_eq!(folder_id(prefix, "genesys/2025/06/c.json"), None);
            assert_eq!(folder_id(prefix, "genesys//m.json"), None);
        }
        assert_eq!(folder_id("", "c-1/m-1.json"), Some("c-1"));
        assert_eq!(folder_id("", "m-1.json"), None);
        assert_eq!(
            folder_id("genesys/c-1/m-1.json", "genesys/c-1/m-1.json"),
            None
        );
        assert_eq!(folder_id("gen", "genesys/c-1/m-1.json"), None);
    }

    #[test]
    fn a_file_is_read_on_only_when_its_head_has_no_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("late.json");
        let filler = format!("[{}1]", "1, ".repeat(HEAD));
        std::fs::write(
            &path,
            format!(r#"{{"transcripts": {filler}, "conversationId": "c-late"}}"#),
        )
        .unwrap();
        assert_eq!(file_id(&path), Ok(Some("c-late".to_owned())));
        std::fs::write(&path, format!(r#"{{"transcripts": {filler}}}"#)).unwrap();
        assert_eq!(file_id(&path), Ok(None));
        std::fs::write(&path, "\u{feff}{\"conversationId\": \"c-1\"").unwrap();
        assert_eq!(file_id(&path), Ok(Some("c-1".to_owned())));
        assert!(file_id(&dir.path().join("missing.json"))
            .unwrap_err()
            .contains("No such file"));
    }

    #[test]
    fn ids_with_the_same_hash_keep_their_own_groups() {
        let mut grouper = Grouper::default();
        let groups: Vec<u32> = ["a", "b", "a", "c", "b"]
            .into_iter()
            .map(|id| grouper.group(id.to_owned(), 7))
            .collect();
        assert_eq!(groups, [0, 1, 0, 2, 1]);
        assert_eq!((grouper.key(1), grouper.key(2)), ("b", "c"));
    }

    #[test]
    fn groups_keep_input_order() {
        let some = |s: &str| Ok(Some(s.to_owned()));
        let mut grouper = Grouper::default();
        for (i, id) in [
            some("b"),
            Ok(None),
            some("a"),
            Err("unreadable".to_owned()),
            some("b"),
        ]
        .into_iter()
        .enumerate()
        {
            grouper.push(i, id);
        }
        let plan = grouper.finish();
        let groups: Vec<_> = (0..plan.groups())
            .map(|g| (plan.key(g), plan.members(g).collect::<Vec<_>>()))
            .collect();
        assert_eq!(
            groups,
            [
                (Some("b"), vec![0, 4]),
                (None, vec![1]),
                (Some("a"), vec![2])
            ]
        );
        assert_eq!(plan.failed, [(3, "unreadable".to_owned())]);
        let job = plan.job(0);
        assert_eq!((job.group, job.key.as_deref()), (0, Some("b")));
        assert_eq!(job.members, [0, 4]);
    }
}
