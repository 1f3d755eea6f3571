//! Grouping parsed transcript documents by conversation.
//!
//! Genesys Cloud writes one transcript document per communication, so a conversation with a
//! transfer has several; the designer wants one file per conversation. Both the Lambda
//! converter (the documents of a raw folder) and the command-line tool (every document under a
//! directory or prefix) group with [`by_conversation`], then hand each group's documents to
//! [`convert_documents`](crate::convert_documents).

use std::collections::HashMap;

use crate::genesys::Document;

/// The documents of one conversation, with whatever identifies each one to the caller (a key,
/// an index into the inputs).
#[derive(Debug)]
pub struct Conversation<'a, T> {
    /// `conversationId` of the documents (empty if they have none; [`parse`](crate::parse)
    /// refuses such documents, so only unvalidated input groups under it).
    pub conversation_id: String,
    /// What identifies each document, parallel to `documents`.
    pub members: Vec<T>,
    pub documents: Vec<Document<'a>>,
}

/// Groups documents by `conversationId`: conversations in order of first appearance, documents
/// in input order within each. Give the documents in a stable order (e.g. by key) for
/// reproducible output.
pub fn by_conversation<'a, T>(
    documents: impl IntoIterator<Item = (T, Document<'a>)>,
) -> Vec<Conversation<'a, T>> {
    let mut groups: Vec<Conversation<'a, T>> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (member, doc) in documents {
        let id = doc.conversation_id.as_deref().unwrap_or_default();
        let index = match by_id.get(id) {
            Some(&index) => index,
            None => {
                by_id.insert(id.to_owned(), groups.len());
                groups.push(Conversation {
                    conversation_id: id.to_owned(),
                    members: Vec::new(),
                    documents: Vec::new(),
                });
                groups.len() - 1
            }
        };
        groups[index].members.push(member);
        groups[index].documents.push(doc);
    }
    groups
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(conversation: &str, communication: &str) -> String {
        json!({"conversationId": conversation, "communicationId": communication, "transcripts": []})
            .to_string()
    }

    #[test]
    fn documents_group_by_conversation_in_order_of_first_appearance() {
        let inputs = [
            doc("conv-b", "1"),
            doc("conv-a", "1"),
            doc("conv-b", "2"),
            doc("conv-c", "1"),
            doc("conv-a", "2"),
        ];
        let parsed = inputs
            .iter()
            .enumerate()
            .map(|(i, s)| (i, crate::parse(s.as_bytes()).unwrap()));
        let groups = by_conversation(parsed);
        let summary: Vec<(&str, &[usize], Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.conversation_id.as_str(),
                    g.members.as_slice(),
                    g.documents
                        .iter()
                        .map(|d| d.communication_id.as_deref().unwrap())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("conv-b", &[0, 2][..], vec!["1", "2"]),
                ("conv-a", &[1, 4][..], vec!["1", "2"]),
                ("conv-c", &[3][..], vec!["1"]),
            ]
        );
    }

    #[test]
    fn grouped_documents_convert_to_one_file_per_conversation() {
        let phrase = |comm: &str, text: &str, at: i64| {
            json!({"conversationId": "conv-9", "communicationId": comm, "conversationStartTime": 1_700_000_000_000_i64,
                   "transcripts": [{"transcriptId": comm, "language": "en-US", "phrases": [
                       {"phraseIndex": 0, "participantPurpose": "external", "text": text, "startTimeMs": at}]}]})
            .to_string()
        };
        let inputs = [
            (
                "a.json",
                phrase("a", "before the transfer", 1_700_000_001_000),
            ),
            (
                "b.json",
                phrase("b", "after the transfer", 1_700_000_060_000),
            ),
        ];
        let groups = by_conversation(
            inputs
                .iter()
                .map(|(k, s)| (*k, crate::parse(s.as_bytes()).unwrap())),
        );
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].members, ["a.json", "b.json"]);
        let crate::Outcome::Converted(c) =
            crate::convert_documents(&groups[0].documents, crate::Options::default()).unwrap()
        else {
            panic!("expected a conversion")
        };
        assert_eq!(c.file_name, "conv-9_analysis_2023-11-14T22:13:20Z.json");
        assert_eq!(c.turns, 2);
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(by_conversation(Vec::<(usize, Document)>::new()).is_empty());
    }
}
