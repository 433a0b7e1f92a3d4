//! A small JSON writer. API objects are written field by field in
//! Patchwork's order, with version-gated fields simply not written, and no
//! intermediate tree: list pages are the hot path.

/// A JSON text being written.
#[derive(Debug, Default)]
pub struct Json {
    out: String,
    /// Whether the innermost open object or array has a member already.
    first: Vec<bool>,
}

impl Json {
    /// An empty document.
    pub fn new() -> Json {
        Json {
            out: String::with_capacity(4096),
            first: Vec::new(),
        }
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }

    fn sep(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.out.push(',');
            }
            *first = false;
        }
    }

    fn key(&mut self, k: &str) {
        self.sep();
        escape(&mut self.out, k);
        self.out.push(':');
        // The value that follows must not add a separator.
        if let Some(first) = self.first.last_mut() {
            *first = true;
        }
    }

    fn after_value(&mut self) {
        if let Some(first) = self.first.last_mut() {
            *first = false;
        }
    }

    /// Opens an object (as a value, or as `key`'s value).
    pub fn begin(&mut self, key: Option<&str>) -> &mut Self {
        match key {
            Some(k) => self.key(k),
            None => self.sep(),
        }
        self.out.push('{');
        self.first.push(true);
        self
    }

    /// Closes the innermost object.
    pub fn end(&mut self) -> &mut Self {
        self.out.push('}');
        self.first.pop();
        self.after_value();
        self
    }

    /// Opens an array.
    pub fn begin_array(&mut self, key: Option<&str>) -> &mut Self {
        match key {
            Some(k) => self.key(k),
            None => self.sep(),
        }
        self.out.push('[');
        self.first.push(true);
        self
    }

    /// Closes the innermost array.
    pub fn end_array(&mut self) -> &mut Self {
        self.out.push(']');
        self.first.pop();
        self.after_value();
        self
    }

    /// A string member.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        escape(&mut self.out, v);
        self.after_value();
        self
    }

    /// A string or null member.
    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    /// An integer member.
    pub fn int(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        self.out.push_str(&v.to_string());
        self.after_value();
        self
    }

    /// An integer or null member.
    pub fn opt_int(&mut self, k: &str, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(k, v),
            None => self.null(k),
        }
    }

    /// A boolean member.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
        self.after_value();
        self
    }

    /// A boolean or null member.
    pub fn opt_bool(&mut self, k: &str, v: Option<bool>) -> &mut Self {
        match v {
            Some(v) => self.bool(k, v),
            None => self.null(k),
        }
    }

    /// A null member.
    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.push_str("null");
        self.after_value();
        self
    }

    /// A string as an array element.
    pub fn item_str(&mut self, v: &str) -> &mut Self {
        self.sep();
        escape(&mut self.out, v);
        self
    }
}

/// Writes `s` as a JSON string the way Django REST framework does: UTF-8
/// kept raw, control characters escaped, and U+2028/U+2029 escaped too.
pub fn escape(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested() {
        let mut j = Json::new();
        j.begin(None)
            .int("id", 1)
            .str("name", "a\"b\u{1}é\u{2028}")
            .begin(Some("o"))
            .null("x")
            .end()
            .begin_array(Some("a"))
            .item_str("x")
            .item_str("y")
            .end_array()
            .begin_array(Some("e"))
            .end_array()
            .bool("t", true)
            .end();
        let text = j.finish();
        assert_eq!(
            text,
            "{\"id\":1,\"name\":\"a\\\"b\\u0001é\\u2028\",\"o\":{\"x\":null},\"a\":[\"x\",\"y\"],\"e\":[],\"t\":true}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(v["name"], "a\"b\u{1}é\u{2028}");
    }

    #[test]
    fn array_of_objects() {
        let mut j = Json::new();
        j.begin_array(None);
        j.begin(None).int("a", 1).end();
        j.begin(None).int("a", 2).end();
        j.end_array();
        assert_eq!(j.finish(), "[{\"a\":1},{\"a\":2}]");
    }
}
