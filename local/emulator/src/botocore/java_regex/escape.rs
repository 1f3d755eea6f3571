//! Backslash escapes: Java's classes, code points and properties in Rust's syntax.

use super::{Translator, Unsupported, HSPACE, SPACE, VSPACE, WORD};

fn is_surrogate(value: u32) -> bool {
    (0xD800..0xE000).contains(&value)
}

impl Translator<'_> {
    pub(super) fn escape(&mut self) -> Result<(), Unsupported> {
        let Some(c) = self.peek(0) else {
            return Err(self.unsupported("trailing backslash"));
        };
        self.pos += 1;
        let in_class = self.class_depth > 0;
        let text = match c {
            'd' => self.class_escape("0-9", false),
            'D' => self.class_escape("0-9", true),
            'w' => self.class_escape(WORD, false),
            'W' => self.class_escape(WORD, true),
            's' => self.class_escape(SPACE, false),
            'S' => self.class_escape(SPACE, true),
            'h' => self.class_escape(HSPACE, false),
            'H' => self.class_escape(HSPACE, true),
            'v' => self.class_escape(VSPACE, false),
            'V' => self.class_escape(VSPACE, true),
            'p' | 'P' => {
                let body = self.property_body()?;
                self.class_escape(&body, c == 'P')
            }
            'R' if !in_class => format!(r"(?:\r\n|[{VSPACE}])"),
            't' | 'n' | 'r' | 'f' | 'a' => format!("\\{c}"),
            'e' => r"\x1B".to_owned(),
            'b' | 'B' | 'A' | 'z' if !in_class => format!("\\{c}"),
            // Zero-width "end, or before a final line terminator": matching whole values, it can
            // only stand before the end (unless the pattern goes on to match the terminator).
            'Z' if !in_class => r"\z".to_owned(),
            'x' => {
                let value = self.hex_value()?;
                self.code_point(value)?
            }
            'u' => {
                let value = self.unicode_value()?;
                self.code_point(value)?
            }
            '0' => {
                let value = self.octal_value()?;
                self.code_point(value)?
            }
            'c' => {
                let Some(ctl) = self.peek(0) else {
                    return Err(self.unsupported(r"\c at the end"));
                };
                self.pos += 1;
                self.code_point(u32::from(ctl) ^ 64)?
            }
            'Q' => self.quoted(),
            'G' => return Err(self.unsupported(r"\G")),
            'k' | '1'..='9' => return Err(self.unsupported("back-reference")),
            c if c.is_ascii_alphanumeric() => {
                return Err(self.unsupported(format!("unknown escape \\{c}")))
            }
            c => regex::escape(&c.to_string()),
        };
        self.out.push_str(&text);
        Ok(())
    }

    /// A class: bracketed outside a class, its body inside one (negated: a nested class). A `-`
    /// right after it inside a class is a literal, as in Java (`[\w-.]`), not a range.
    fn class_escape(&mut self, body: &str, negated: bool) -> String {
        let in_class = self.class_depth > 0;
        let mut text = match (negated, in_class) {
            (false, true) => body.to_owned(),
            (false, false) => format!("[{body}]"),
            (true, _) => format!("[^{body}]"),
        };
        if in_class && self.peek(0) == Some('-') && self.peek(1) != Some(']') {
            self.pos += 1;
            text.push_str(r"\-");
        }
        text
    }

    fn take_while(&mut self, max: usize, ok: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while s.len() < max {
            match self.peek(0) {
                Some(c) if ok(c) => {
                    s.push(c);
                    self.pos += 1;
                }
                _ => break,
            }
        }
        s
    }

    /// A code point as Rust writes it. Java strings are UTF-16, so a lone surrogate can stand in
    /// a Java class (`[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDBFF-\uDC00\uDFFF]`, an XML
    /// character class in some models); no Rust string holds one, so in a class it is left out
    /// (a range of surrogates too, a range ending or starting in them is cut at them).
    fn code_point(&mut self, value: u32) -> Result<String, Unsupported> {
        if let Some(c) = char::from_u32(value) {
            return Ok(format!(r"\x{{{:X}}}", u32::from(c)));
        }
        if !is_surrogate(value) {
            return Err(self.unsupported(format!("not a code point: {value:#X}")));
        }
        if self.class_depth == 0 {
            return Err(self.unsupported("a lone surrogate outside a class"));
        }
        let ends_range = self.out.ends_with('-')
            && !self.out.ends_with(r"\-")
            && !self.out.ends_with("[-")
            && !self.out.ends_with("[^-");
        if ends_range {
            return Ok(r"\x{D7FF}".to_owned());
        }
        if self.peek(0) == Some('-') && self.peek(1) != Some(']') {
            let save = self.pos;
            self.pos += 1;
            let end = match (self.peek(0), self.peek(1)) {
                (Some('\\'), Some('u')) => {
                    self.pos += 2;
                    self.unicode_value().ok()
                }
                _ => None,
            };
            if end.is_some_and(is_surrogate) {
                return Ok(String::new());
            }
            self.pos = save;
            return Ok(r"\x{E000}".to_owned());
        }
        Ok(String::new())
    }

    fn hex_value(&mut self) -> Result<u32, Unsupported> {
        let digits = if self.peek(0) == Some('{') {
            self.pos += 1;
            let d = self.take_while(8, |c| c.is_ascii_hexdigit());
            if self.peek(0) != Some('}') {
                return Err(self.unsupported(r"bad \x{...}"));
            }
            self.pos += 1;
            d
        } else {
            self.take_while(2, |c| c.is_ascii_hexdigit())
        };
        u32::from_str_radix(&digits, 16).map_err(|_| self.unsupported(r"bad \x escape"))
    }

    /// `\uXXXX`; a high surrogate followed by `\u` and a low one is the pair's code point.
    fn unicode_value(&mut self) -> Result<u32, Unsupported> {
        let read = |t: &mut Self| {
            let d = t.take_while(4, |c| c.is_ascii_hexdigit());
            if d.len() == 4 {
                u32::from_str_radix(&d, 16).ok()
            } else {
                None
            }
        };
        let high = read(self).ok_or_else(|| self.unsupported(r"bad \u escape"))?;
        if (0xD800..0xDC00).contains(&high)
            && self.peek(0) == Some('\\')
            && self.peek(1) == Some('u')
        {
            let save = self.pos;
            self.pos += 2;
            match read(self) {
                Some(low) if (0xDC00..0xE000).contains(&low) => {
                    return Ok(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00));
                }
                _ => self.pos = save,
            }
        }
        Ok(high)
    }

    fn octal_value(&mut self) -> Result<u32, Unsupported> {
        let max = if self.peek(0).is_some_and(|c| ('0'..='3').contains(&c)) {
            3
        } else {
            2
        };
        let digits = self.take_while(max, |c| ('0'..='7').contains(&c));
        u32::from_str_radix(&digits, 8).map_err(|_| self.unsupported(r"bad \0 escape"))
    }

    fn quoted(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek(0) {
            if c == '\\' && self.peek(1) == Some('E') {
                self.pos += 2;
                break;
            }
            self.pos += 1;
            out.push_str(&regex::escape(&c.to_string()));
        }
        out
    }

    /// The class body of `\p{Name}` / `\pL`: Java's POSIX classes are ASCII; its `java*` and
    /// `CharPredicates` names (`LD`, `L1`, `all`) become Unicode properties; `Is` prefixes
    /// go; Unicode blocks (`In...`) have no Rust equivalent.
    fn property_body(&mut self) -> Result<String, Unsupported> {
        let name = if self.peek(0) == Some('{') {
            self.pos += 1;
            let n = self.take_while(64, |c| c != '}');
            if self.peek(0) != Some('}') {
                return Err(self.unsupported(r"unclosed \p{"));
            }
            self.pos += 1;
            n
        } else {
            let n = self.take_while(1, |c| c.is_ascii_alphabetic());
            if n.is_empty() {
                return Err(self.unsupported(r"bad \p"));
            }
            n
        };
        let body = match name.as_str() {
            "Lower" => "a-z",
            "Upper" => "A-Z",
            "ASCII" => r"\x00-\x7F",
            "Alpha" => "a-zA-Z",
            "Digit" => "0-9",
            "Alnum" => "a-zA-Z0-9",
            "Punct" => r"!-/:-@\[-`\{-\~",
            "Graph" => r"!-\~",
            "Print" => r" -\~",
            "Blank" => r" \t",
            "Cntrl" => r"\x00-\x1F\x7F",
            "XDigit" => "0-9a-fA-F",
            "Space" => SPACE,
            "L1" => r"\x00-\xFF",
            "all" => r"\x{0}-\x{10FFFF}",
            "LD" | "javaLetterOrDigit" => r"\p{L}\p{Nd}",
            "javaLetter" => r"\p{L}",
            "javaDigit" => r"\p{Nd}",
            "javaAlphabetic" => r"\p{Alphabetic}",
            "javaLowerCase" => r"\p{Lowercase}",
            "javaUpperCase" => r"\p{Uppercase}",
            "javaTitleCase" => r"\p{Lt}",
            "javaSpaceChar" => r"\p{Z}",
            "javaWhitespace" => r"\t\n\x0B\x0C\r\x1C-\x1F\p{Zs}\p{Zl}\p{Zp}",
            "javaMirrored" => r"\p{Bidi_Mirrored}",
            "IsWhite_Space" | "IsWhiteSpace" => r"\p{White_Space}",
            n if n.starts_with("In") || n.starts_with("blk=") || n.starts_with("block=") => {
                return Err(self.unsupported(format!("Unicode block {n}")));
            }
            n if n.starts_with("java") => {
                return Err(self.unsupported(format!("property {n}")));
            }
            n => return Ok(format!(r"\p{{{}}}", n.strip_prefix("Is").unwrap_or(n))),
        };
        Ok(body.to_owned())
    }
}
