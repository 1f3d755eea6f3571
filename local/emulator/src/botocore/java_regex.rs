//! botocore `pattern`s as AWS applies them, in Rust's `regex`.
//!
//! The patterns come from AWS's service definitions, enforced by Java services: they are
//! `java.util.regex` syntax (Smithy's spec says ECMA 262; the two agree on what the
//! Personalize models use), and AWS matches them against the **whole** value. Smithy's `@pattern` says a pattern is
//! not implicitly anchored (`\w+` would accept `!hello!`), but AWS answers, e.g., STS
//! `roleSessionName` `'a:b'` with "Member must satisfy regular expression pattern:
//! `[\w+=,.@-]*`", a pattern a search finds (empty) in any string: AWS matches whole
//! values (JuliaCloud/AWSCore.jl#38, zalando-stups/aws-credentials-service#7,
//! aws-actions/configure-aws-credentials#1306). Whole-value matching is also the stricter
//! reading: what it accepts, a search accepts too.
//!
//! Translation (what `regex` reads differently or not at all):
//!
//! | Java | here |
//! |---|---|
//! | `\d \w \s` (ASCII in Java) and `\D \W \S` | explicit ASCII classes (Rust's are Unicode) |
//! | `\h \H \v \V \R \e \cX \0oct \uXXXX` (surrogate pairs joined) | explicit classes / code points |
//! | `\p{Lower}` ... `\p{Space}` (POSIX, ASCII) | explicit ASCII classes |
//! | `\p{IsLatin}`, `\p{IsAlphabetic}`, `\p{javaLowerCase}` | `\p{Latin}`, `\p{Alphabetic}`, `\p{Lowercase}` |
//! | `.` (not a line terminator: `\n \r \u0085 \u2028 \u2029`) | that class, unless the pattern sets `(?s)` |
//! | `\Z`, `$` (the end, or before a final line terminator) | the end (what whole-value matching leaves of it, unless the pattern goes on to match the terminator) |
//! | `\Q...\E`, `\` before any punctuation | escaped literals (`\<` is a word boundary in Rust) |
//! | possessive `*+ ++ ?+ {n,m}+`, atomic `(?>...)` | greedy, plain group (they can only reject more) |
//! | flags `u d U` | dropped |
//!
//! Not translatable, reported as [`Unsupported`]: look-ahead and look-behind, back-references,
//! `\G`, Unicode blocks (`\p{InGreek}`), and counted repetitions too large for `regex`'s
//! compiled-size limit (`.{1,100000}`). Of the 4,771 distinct patterns of all botocore 1.43
//! models, 176 use look-around or back-references (nearly all a look-ahead, such as
//! `^(?!aws:)` on tag keys) and 6 compile too large; none of the Personalize ones does (loading
//! their models requires each pattern to compile).

mod escape;

use std::fmt;

use regex::Regex;

/// A model pattern: the text as the model has it and its whole-value matcher.
#[derive(Debug, Clone)]
pub struct JavaRegex {
    source: String,
    regex: Regex,
}

impl JavaRegex {
    /// The pattern as the model writes it (what error messages quote).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }

    /// The Rust regex used.
    pub fn rust(&self) -> &str {
        self.regex.as_str()
    }
}

/// A pattern this module cannot express in Rust's `regex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub pattern: String,
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern {:?}: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for Unsupported {}

/// Translates `java` and compiles it to match whole values.
pub fn compile(java: &str) -> Result<JavaRegex, Unsupported> {
    let translated = translate(java)?;
    let regex = Regex::new(&format!(r"\A(?:{translated})\z")).map_err(|e| Unsupported {
        pattern: java.to_owned(),
        reason: match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("too large for regex (over {limit} bytes compiled)")
            }
            e => format!("translated to {translated:?}, which regex rejects: {e}"),
        },
    })?;
    Ok(JavaRegex {
        source: java.to_owned(),
        regex,
    })
}

const LINE_TERMINATORS: &str = r"\n\r\x{85}\x{2028}\x{2029}";
const SPACE: &str = r"\t\n\x0B\x0C\r ";
const WORD: &str = "0-9A-Za-z_";
const HSPACE: &str = r" \t\xA0\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";
const VSPACE: &str = r"\n\x0B\x0C\r\x{85}\x{2028}\x{2029}";

/// `java` in Rust `regex` syntax (not anchored).
pub fn translate(java: &str) -> Result<String, Unsupported> {
    Translator {
        chars: java.chars().collect(),
        pos: 0,
        out: String::with_capacity(java.len() + 16),
        class_depth: 0,
        dotall: java.contains("(?s") || has_flag_group_with(java, 's'),
        pattern: java,
    }
    .run()
}

fn has_flag_group_with(java: &str, flag: char) -> bool {
    java.match_indices("(?").any(|(i, _)| {
        java[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
            .take_while(|c| *c != '-')
            .any(|c| c == flag)
    })
}

struct Translator<'a> {
    chars: Vec<char>,
    pos: usize,
    out: String,
    class_depth: usize,
    dotall: bool,
    pattern: &'a str,
}

impl Translator<'_> {
    fn unsupported(&self, reason: impl Into<String>) -> Unsupported {
        Unsupported {
            pattern: self.pattern.to_owned(),
            reason: reason.into(),
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn run(mut self) -> Result<String, Unsupported> {
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            if self.class_depth > 0 {
                self.in_class(c)?;
            } else {
                self.outside(c)?;
            }
        }
        Ok(self.out)
    }

    fn outside(&mut self, c: char) -> Result<(), Unsupported> {
        match c {
            '\\' => self.escape()?,
            '[' => self.open_class(),
            '.' if !self.dotall => {
                self.out.push_str(&format!("[^{LINE_TERMINATORS}]"));
            }
            '(' => self.group()?,
            '*' | '+' | '?' => {
                self.out.push(c);
                self.after_quantifier();
            }
            '{' => {
                let close = self.chars[self.pos..].iter().position(|&c| c == '}');
                let body: Option<String> =
                    close.map(|n| self.chars[self.pos..self.pos + n].iter().collect());
                match (close, body) {
                    (Some(n), Some(body))
                        if !body.is_empty()
                            && body.chars().all(|c| c.is_ascii_digit() || c == ',')
                            && body.starts_with(|c: char| c.is_ascii_digit()) =>
                    {
                        self.out.push('{');
                        self.out.push_str(&body);
                        self.out.push('}');
                        self.pos += n + 1;
                        self.after_quantifier();
                    }
                    _ => self.out.push_str(r"\{"),
                }
            }
            '}' => self.out.push_str(r"\}"),
            _ => self.out.push(c),
        }
        Ok(())
    }

    /// After a quantifier: a possessive `+` is dropped, a lazy `?` kept.
    fn after_quantifier(&mut self) {
        match self.peek(0) {
            Some('+') => self.pos += 1,
            Some('?') => {
                self.out.push('?');
                self.pos += 1;
            }
            _ => {}
        }
    }

    fn open_class(&mut self) {
        self.class_depth += 1;
        self.out.push('[');
        if self.peek(0) == Some('^') {
            self.out.push('^');
            self.pos += 1;
        }
    }

    fn in_class(&mut self, c: char) -> Result<(), Unsupported> {
        match c {
            '\\' => self.escape()?,
            '[' => self.open_class(),
            ']' => {
                self.class_depth -= 1;
                self.out.push(']');
            }
            '~' => self.out.push_str(r"\~"),
            '-' if self.peek(0) == Some('-') => self.out.push_str(r"\-"),
            _ => self.out.push(c),
        }
        Ok(())
    }

    fn group(&mut self) -> Result<(), Unsupported> {
        if self.peek(0) != Some('?') {
            self.out.push('(');
            return Ok(());
        }
        let next = self.peek(1);
        let after = self.peek(2);
        match (next, after) {
            (Some('='), _) | (Some('!'), _) => Err(self.unsupported("look-ahead")),
            (Some('<'), Some('=')) | (Some('<'), Some('!')) => Err(self.unsupported("look-behind")),
            (Some('>'), _) => {
                self.out.push_str("(?:");
                self.pos += 2;
                Ok(())
            }
            (Some(':'), _) | (Some('<'), _) => {
                self.out.push('(');
                Ok(())
            }
            _ => {
                // Inline flags: `(?idmsuxU-idmsuxU)` or `(?flags:`.
                self.pos += 1;
                let mut flags = String::new();
                while let Some(c) = self.peek(0) {
                    self.pos += 1;
                    match c {
                        'i' | 'm' | 's' | 'x' | '-' => flags.push(c),
                        'u' | 'd' | 'U' => {}
                        ':' | ')' => {
                            let flags = flags.trim_end_matches('-');
                            if flags.is_empty() {
                                self.out.push_str(if c == ':' { "(?:" } else { "" });
                            } else {
                                self.out.push_str(&format!("(?{flags}{c}"));
                            }
                            return Ok(());
                        }
                        other => {
                            return Err(self.unsupported(format!("inline flag {other:?}")));
                        }
                    }
                }
                Err(self.unsupported("unclosed group"))
            }
        }
    }
}
