//! What of an object a set of property paths can reach, for the parser.

use super::same_key;

/// The parts of an object that a set of paths can reach: the parser keeps these and skips the
/// rest without decoding it. Arrays are transparent (a path's members apply to each element).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Keep {
    /// Keep the whole value.
    pub whole: bool,
    /// Otherwise, keep these members (of an object, or of each object in an array).
    pub members: Vec<(String, Keep)>,
}

impl Keep {
    /// Also keeps what `segments` reaches.
    pub fn add(&mut self, segments: &[String]) {
        if self.whole {
            return;
        }
        let Some((first, rest)) = segments.split_first() else {
            self.whole = true;
            self.members.clear();
            return;
        };
        let i = match self.members.iter().position(|(k, _)| k == first) {
            Some(i) => i,
            None => {
                self.members.push((first.clone(), Keep::default()));
                self.members.len() - 1
            }
        };
        self.members[i].1.add(rest);
    }

    /// What to keep under member `key`, if anything.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Keep> {
        self.members
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, k)| k)
    }
}
