//! XML-RPC on the wire: reading a `methodCall` the way Python's
//! `xmlrpc.client.loads` reads it, and writing answers byte for byte as
//! Python's `xmlrpc.client.dumps` writes them (Patchwork's server is
//! Python's dispatcher), so pwclient and CI scripts see upstream's bytes.
//!
//! The reader is a small, strict XML parser of our own: XML-RPC uses no
//! namespaces, attributes or DTDs, and a document type declaration (the
//! door to entity expansion attacks) is refused outright. Nesting is
//! capped, and nothing here recurses deeper than that cap.

use base64::Engine;

/// How deeply values may nest (arrays in structs in arrays...): far more
/// than any real call, few enough that a hostile one costs nothing.
pub const MAX_DEPTH: usize = 64;

/// An XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>`, `<i4>`, `<i8>` and friends.
    Int(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>`, or a bare `<value>` text.
    Str(String),
    /// `<double>`.
    Double(f64),
    /// `<base64>`: bytes (Patchwork sends several text fields this way).
    Bytes(Vec<u8>),
    /// `<dateTime.iso8601>`, as written.
    DateTime(String),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<struct>`, members in order.
    Struct(Vec<(String, Value)>),
    /// `<nil/>` (Python's None).
    Nil,
}

impl Value {
    /// A struct from (name, value) pairs.
    pub fn record(members: Vec<(&str, Value)>) -> Value {
        Value::Struct(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// Text as Patchwork sends it with `.encode('utf-8')`: base64.
    pub fn bytes(text: &str) -> Value {
        Value::Bytes(text.as_bytes().to_vec())
    }

    /// The empty struct Patchwork answers for a missing object.
    pub fn empty() -> Value {
        Value::Struct(Vec::new())
    }

    /// Python's type name, for `TypeError` texts.
    pub fn python_type(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Bool(_) => "bool",
            Value::Str(_) => "str",
            Value::Double(_) => "float",
            Value::Bytes(_) => "Binary",
            Value::DateTime(_) => "DateTime",
            Value::Array(_) => "list",
            Value::Struct(_) => "dict",
            Value::Nil => "NoneType",
        }
    }
}

/// A call as read from the request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `methodName`.
    pub method: String,
    /// The parameters, in order.
    pub params: Vec<Value>,
}

/// Why a body is not a call; the text becomes the fault's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

fn malformed<T>(what: impl Into<String>) -> Result<T, Malformed> {
    Err(Malformed(what.into()))
}

#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
}

#[derive(Debug, Default)]
struct Element {
    name: String,
    children: Vec<Node>,
}

impl Element {
    fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                out.push_str(t);
            }
        }
        out
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }
}

/// Reads a `methodCall` document.
pub fn parse_call(body: &[u8]) -> Result<Call, Malformed> {
    let Ok(text) = std::str::from_utf8(body) else {
        return malformed("not well-formed (invalid token): the body is not UTF-8");
    };
    let root = parse_document(text)?;
    if root.name != "methodCall" {
        return malformed(format!("unknown tag {:?}", root.name));
    }
    let Some(name) = root.child("methodName") else {
        return malformed("a methodCall without a methodName");
    };
    let mut params = Vec::new();
    if let Some(list) = root.child("params") {
        for param in list.elements() {
            if param.name != "param" {
                return malformed(format!("unknown tag {:?}", param.name));
            }
            let Some(value) = param.child("value") else {
                return malformed("a param without a value");
            };
            params.push(read_value(value, 0)?);
        }
    }
    Ok(Call {
        method: name.text(),
        params,
    })
}

fn read_value(value: &Element, depth: usize) -> Result<Value, Malformed> {
    if depth > MAX_DEPTH {
        return malformed(format!("values nested deeper than {MAX_DEPTH} levels"));
    }
    let Some(typed) = value.elements().next() else {
        // A bare value is a string.
        return Ok(Value::Str(value.text()));
    };
    let text = typed.text();
    let int = |t: &str| -> Result<Value, Malformed> {
        t.trim()
            .parse::<i64>()
            .map(Value::Int)
            .or_else(|_| malformed(format!("invalid literal for int() with base 10: {t:?}")))
    };
    match typed.name.as_str() {
        "int" | "i4" | "i8" | "i1" | "i2" | "biginteger" => int(&text),
        "boolean" => match text.as_str() {
            "0" => Ok(Value::Bool(false)),
            "1" => Ok(Value::Bool(true)),
            _ => malformed("bad boolean value"),
        },
        "string" => Ok(Value::Str(text)),
        "double" | "float" => text
            .trim()
            .parse::<f64>()
            .map(Value::Double)
            .or_else(|_| malformed(format!("could not convert string to float: {text:?}"))),
        "base64" => {
            let compact: String = text.split_ascii_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(Value::Bytes)
                .or_else(|_| malformed("Incorrect padding"))
        }
        "dateTime.iso8601" => Ok(Value::DateTime(text.trim().to_string())),
        "nil" => Ok(Value::Nil),
        "array" => {
            let Some(data) = typed.child("data") else {
                return malformed("an array without data");
            };
            data.elements()
                .map(|v| read_value(v, depth + 1))
                .collect::<Result<_, _>>()
                .map(Value::Array)
        }
        "struct" => {
            let mut members = Vec::new();
            for m in typed.elements() {
                let (Some(name), Some(v)) = (m.child("name"), m.child("value")) else {
                    return malformed("a struct member without a name or a value");
                };
                members.push((name.text(), read_value(v, depth + 1)?));
            }
            Ok(Value::Struct(members))
        }
        other => malformed(format!("unknown tag {other:?}")),
    }
}

/// Parses a whole document into its root element, iteratively.
fn parse_document(text: &str) -> Result<Element, Malformed> {
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<?") {
            let Some(end) = after.find("?>") else {
                return malformed("unclosed token: a processing instruction");
            };
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let Some(end) = after.find("-->") else {
                return malformed("unclosed token: a comment");
            };
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let Some(end) = after.find("]]>") else {
                return malformed("unclosed CDATA section");
            };
            let Some(open) = stack.last_mut() else {
                return malformed("text outside the root element");
            };
            open.children.push(Node::Text(after[..end].to_string()));
            rest = &after[end + 3..];
        } else if rest.starts_with("<!") {
            return malformed("document type declarations are refused");
        } else if let Some(after) = rest.strip_prefix("</") {
            let Some(end) = after.find('>') else {
                return malformed("unclosed token: an end tag");
            };
            let name = after[..end].trim_end();
            let Some(done) = stack.pop() else {
                return malformed(format!("an end tag </{name}> with nothing open"));
            };
            if done.name != name {
                return malformed(format!(
                    "mismatched tag: <{}> closed by </{name}>",
                    done.name
                ));
            }
            close(&mut stack, &mut root, done)?;
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = tag_end(after)?;
            let inner = &after[..end];
            let (inner, empty) = match inner.strip_suffix('/') {
                Some(i) => (i, true),
                None => (inner, false),
            };
            let name = inner
                .split(|c: char| c.is_ascii_whitespace())
                .next()
                .unwrap_or("");
            if name.is_empty() {
                return malformed("not well-formed (invalid token): an empty tag name");
            }
            if root.is_some() {
                return malformed("junk after document element");
            }
            if stack.len() > 3 * MAX_DEPTH + 8 {
                return malformed(format!(
                    "elements nested deeper than {} levels",
                    3 * MAX_DEPTH + 8
                ));
            }
            let element = Element {
                name: name.to_string(),
                children: Vec::new(),
            };
            if empty {
                close(&mut stack, &mut root, element)?;
            } else {
                stack.push(element);
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let raw = &rest[..end];
            match stack.last_mut() {
                Some(open) => open.children.push(Node::Text(unescape(raw)?)),
                None if raw.trim().is_empty() => {}
                None => return malformed("text outside the root element"),
            }
            rest = &rest[end..];
        }
    }
    if let Some(open) = stack.last() {
        return malformed(format!("no element found: <{}> is never closed", open.name));
    }
    root.ok_or_else(|| Malformed("no element found".into()))
}

/// Where a start tag's `>` is, skipping quoted attribute values.
fn tag_end(after: &str) -> Result<usize, Malformed> {
    let mut quote: Option<char> = None;
    for (i, c) in after.char_indices() {
        match (quote, c) {
            (None, '>') => return Ok(i),
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '<') => return malformed("not well-formed (invalid token): '<' in a tag"),
            _ => {}
        }
    }
    malformed("unclosed token: a start tag")
}

fn close(
    stack: &mut [Element],
    root: &mut Option<Element>,
    done: Element,
) -> Result<(), Malformed> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(done)),
        None if root.is_none() => *root = Some(done),
        None => return malformed("junk after document element"),
    }
    Ok(())
}

/// Resolves the five predefined entities and character references.
fn unescape(raw: &str) -> Result<String, Malformed> {
    if !raw.contains('&') {
        return Ok(raw.replace("\r\n", "\n"));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(end) = after.find(';') else {
            return malformed("not well-formed (invalid token): '&' without ';'");
        };
        let name = &after[..end];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                match code.and_then(char::from_u32) {
                    Some(c) if c != '\0' => c,
                    _ => return malformed(format!("undefined entity &{name};")),
                }
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out.replace("\r\n", "\n"))
}

/// Python's `xmlrpc.client.escape`.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// What Python's marshaller refuses (`allow_none=False`, 32-bit ints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmarshallable(pub &'static str, pub &'static str);

fn dump(v: &Value, out: &mut String) -> Result<(), Unmarshallable> {
    match v {
        Value::Nil => {
            return Err(Unmarshallable(
                "TypeError",
                "cannot marshal None unless allow_none is enabled",
            ));
        }
        Value::Bool(b) => {
            out.push_str("<value><boolean>");
            out.push(if *b { '1' } else { '0' });
            out.push_str("</boolean></value>\n");
        }
        Value::Int(n) => {
            if i32::try_from(*n).is_err() {
                return Err(Unmarshallable(
                    "OverflowError",
                    "int exceeds XML-RPC limits",
                ));
            }
            out.push_str(&format!("<value><int>{n}</int></value>\n"));
        }
        Value::Double(d) => out.push_str(&format!(
            "<value><double>{}</double></value>\n",
            python_repr(*d)
        )),
        Value::Str(s) => {
            out.push_str("<value><string>");
            escape(s, out);
            out.push_str("</string></value>\n");
        }
        Value::Bytes(b) => {
            out.push_str("<value><base64>\n");
            out.push_str(&encodebytes(b));
            out.push_str("</base64></value>\n");
        }
        Value::DateTime(t) => {
            out.push_str("<value><dateTime.iso8601>");
            out.push_str(t);
            out.push_str("</dateTime.iso8601></value>\n");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\n");
            for item in items {
                dump(item, out)?;
            }
            out.push_str("</data></array></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (k, v) in members {
                out.push_str("<member>\n<name>");
                escape(k, out);
                out.push_str("</name>\n");
                dump(v, out)?;
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
    }
    Ok(())
}

/// Python's `repr(float)`: whole numbers as `1.0`, others as Rust writes
/// them (no method answers a double today).
fn python_repr(d: f64) -> String {
    if d.is_finite() && d.fract() == 0.0 && d.abs() < 1e16 {
        format!("{d:.1}")
    } else {
        format!("{d}")
    }
}

/// Python's `base64.encodebytes`: lines of 76 characters, each ended by
/// a newline (none for empty input).
fn encodebytes(b: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(b);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out
}

const HEADER: &str = "<?xml version='1.0'?>\n<methodResponse>\n";

/// A successful answer carrying one value; Err when Python would have
/// failed to marshal it (the caller answers that fault instead).
pub fn response(value: &Value) -> Result<String, Unmarshallable> {
    let mut out = String::from(HEADER);
    out.push_str("<params>\n<param>\n");
    dump(value, &mut out)?;
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    Ok(out)
}

/// A fault answer: Patchwork's code is always 1, the text
/// `<class 'Type'>:message`.
pub fn fault(code: i64, text: &str) -> String {
    let mut out = String::from(HEADER);
    out.push_str("<fault>\n");
    let members = Value::Struct(vec![
        ("faultCode".into(), Value::Int(code)),
        ("faultString".into(), Value::Str(text.to_string())),
    ]);
    // A struct of an int and a string always marshals.
    let _ = dump(&members, &mut out);
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use super::*;

    #[test]
    fn reads_what_python_sends() {
        // xmlrpc.client.dumps((1, 'a&b', {'x': [True, None]}, b'hi'), 'm')
        let body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>m</methodName>\n<params>\n\
            <param>\n<value><int>1</int></value>\n</param>\n\
            <param>\n<value><string>a&amp;b</string></value>\n</param>\n\
            <param>\n<value><struct>\n<member>\n<name>x</name>\n<value><array><data>\n\
            <value><boolean>1</boolean></value>\n<value><nil/></value></data></array></value>\n\
            </member>\n</struct></value>\n</param>\n\
            <param>\n<value><base64>\naGk=\n</base64></value>\n</param>\n\
            </params>\n</methodCall>\n";
        let call = parse_call(body.as_bytes()).unwrap();
        assert_eq!(call.method, "m");
        assert_eq!(
            call.params,
            vec![
                Value::Int(1),
                Value::Str("a&b".into()),
                Value::Struct(vec![(
                    "x".into(),
                    Value::Array(vec![Value::Bool(true), Value::Nil])
                )]),
                Value::Bytes(b"hi".to_vec()),
            ]
        );
    }

    #[test]
    fn a_bare_value_is_a_string_and_entities_resolve() {
        let body = "<methodCall><methodName>f</methodName><params><param>\
            <value> x &#233;&#x41;&lt; </value></param></params></methodCall>";
        let call = parse_call(body.as_bytes()).unwrap();
        assert_eq!(call.params, vec![Value::Str(" x éA< ".into())]);
    }

    #[test]
    fn refuses_hostile_documents() {
        for body in [
            "",
            "<methodCall>",
            "<methodCall><methodName>f</methodName></methodCal>",
            "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><methodCall><methodName>&a;</methodName></methodCall>",
            "<methodCall><methodName>f</methodName></methodCall><x/>",
            "<methodCall><methodName>&bogus;</methodName></methodCall>",
            "<methodCall><methodName>f</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>",
        ] {
            assert!(parse_call(body.as_bytes()).is_err(), "{body:?}");
        }
        let deep = format!(
            "<methodCall><methodName>f</methodName><params><param><value>{}{}</value></param></params></methodCall>",
            "<array><data><value>".repeat(10_000),
            "</value></data></array>".repeat(10_000)
        );
        let refused = parse_call(deep.as_bytes()).unwrap_err();
        assert!(refused.0.contains("nested deeper"), "{refused:?}");
    }

    #[test]
    fn writes_python_bytes() {
        let v = Value::Array(vec![
            Value::Int(1),
            Value::Bool(false),
            Value::Str("<a&b>".into()),
            Value::record(vec![("k", Value::bytes("None"))]),
        ]);
        assert_eq!(
            response(&v).unwrap(),
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n\
             <value><array><data>\n<value><int>1</int></value>\n\
             <value><boolean>0</boolean></value>\n\
             <value><string>&lt;a&amp;b&gt;</string></value>\n\
             <value><struct>\n<member>\n<name>k</name>\n<value><base64>\nTm9uZQ==\n</base64></value>\n\
             </member>\n</struct></value>\n</data></array></value>\n\
             </param>\n</params>\n</methodResponse>\n"
        );
        assert_eq!(
            fault(1, "<class 'Exception'>:x"),
            "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n\
             <member>\n<name>faultCode</name>\n<value><int>1</int></value>\n</member>\n\
             <member>\n<name>faultString</name>\n<value><string>&lt;class 'Exception'&gt;:x</string></value>\n\
             </member>\n</struct></value>\n</fault>\n</methodResponse>\n"
        );
        assert_eq!(
            response(&Value::Array(vec![Value::Nil])).unwrap_err().0,
            "TypeError"
        );
        // base64.encodebytes wraps at 76 characters.
        let long = encodebytes(&[b'x'; 60]);
        assert_eq!(long.lines().map(str::len).collect::<Vec<_>>(), vec![76, 4]);
    }
}
