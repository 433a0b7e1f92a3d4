//! Request bodies: JSON, form-encoded and multipart, read into one shape so
//! every write handler accepts what git-pw, pwclient, b4 and bots send
//! (`True`/`False`, `yes`/`no`, repeated keys for lists).

use serde_json::Value;

use crate::error::ApiError;

/// One submitted value.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// JSON null.
    Null,
    /// JSON boolean.
    Bool(bool),
    /// JSON number.
    Number(serde_json::Number),
    /// A string (every form value is one).
    Str(String),
    /// A JSON array, or a repeated form key.
    List(Vec<Input>),
    /// A JSON object.
    Object(serde_json::Map<String, Value>),
}

impl Input {
    /// Whether a string in it holds a NUL.
    fn has_nul(&self) -> bool {
        match self {
            Input::Str(s) => s.contains('\0'),
            Input::List(l) => l.iter().any(Input::has_nul),
            Input::Object(m) => m.values().any(|v| v.to_string().contains("\\u0000")),
            _ => false,
        }
    }

    fn from_json(v: Value) -> Input {
        match v {
            Value::Null => Input::Null,
            Value::Bool(b) => Input::Bool(b),
            Value::Number(n) => Input::Number(n),
            Value::String(s) => Input::Str(s),
            Value::Array(a) => Input::List(a.into_iter().map(Input::from_json).collect()),
            Value::Object(o) => Input::Object(o),
        }
    }

    /// A boolean as Django REST framework reads one; None when invalid.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Input::Bool(b) => Some(*b),
            Input::Number(n) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            Input::Str(s) => match s.trim() {
                "true" | "True" | "TRUE" | "1" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
                | "t" | "T" | "y" | "Y" => Some(true),
                "false" | "False" | "FALSE" | "0" | "no" | "No" | "NO" | "off" | "Off" | "OFF"
                | "f" | "F" | "n" | "N" => Some(false),
                _ => None,
            },
            Input::List(l) if l.len() == 1 => l[0].as_bool(),
            _ => None,
        }
    }

    /// A string value (numbers as text); None for null, lists, objects.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Input::Str(s) => Some(s.clone()),
            Input::Number(n) => Some(n.to_string()),
            Input::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Input::List(l) if l.len() == 1 => l[0].as_text(),
            _ => None,
        }
    }

    /// A primary key: an integer, or a string of digits.
    pub fn as_id(&self) -> Option<i64> {
        match self {
            Input::Number(n) => n.as_i64(),
            Input::Str(s) => s.trim().parse().ok(),
            Input::List(l) if l.len() == 1 => l[0].as_id(),
            _ => None,
        }
    }

    /// Python's type name, for "Expected ... but got type" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Input::Null => "NoneType",
            Input::Bool(_) => "bool",
            Input::Number(n) if n.is_f64() => "float",
            Input::Number(_) => "int",
            Input::Str(_) => "str",
            Input::List(_) => "list",
            Input::Object(_) => "dict",
        }
    }
}

/// The most items one bulk write may hold: enough for the longest series
/// (a few hundred patches), and a bound on one transaction's work.
pub const BULK_LIMIT: usize = 1000;

/// Whether the body came from a form (where a key may be given once for a
/// list, and an empty value means null for relations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/json`.
    Json,
    /// Form-encoded or multipart.
    Form,
}

/// A parsed body.
#[derive(Debug, Clone)]
pub struct Body {
    fields: Vec<(String, Input)>,
    /// How it was encoded.
    pub encoding: Encoding,
}

impl Body {
    /// Parses a body by its content type. An empty body is an empty form.
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Body, ApiError> {
        Body::parse_any(content_type, bytes)?.without_nul()
    }

    /// The body, or Django REST framework's answer to a NUL in a string
    /// field: no such value may reach the store (PostgreSQL cannot hold
    /// one).
    fn without_nul(self) -> Result<Body, ApiError> {
        let nul: Vec<(String, String)> = self
            .fields
            .iter()
            .filter(|(_, v)| v.has_nul())
            .map(|(k, _)| (k.clone(), "Null characters are not allowed.".to_string()))
            .collect();
        if !nul.is_empty() {
            return Err(ApiError::Field(nul));
        }
        Ok(self)
    }

    /// Parses a JSON list of objects, one [`Body`] (or the item's own
    /// error) each: the changes of a bulk write (API 1.5). Only JSON can
    /// say "a list of objects", so any other content type is refused as
    /// unsupported.
    pub fn parse_list(
        content_type: Option<&str>,
        bytes: &[u8],
    ) -> Result<Vec<Result<Body, ApiError>>, ApiError> {
        let ct = content_type.unwrap_or("").trim();
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMediaType(ct.to_string()));
        }
        let items = match json(bytes)? {
            Value::Array(items) => items,
            other => {
                return Err(ApiError::field(
                    "non_field_errors",
                    format!(
                        "Expected a list of items but got type \"{}\".",
                        Input::from_json(other).type_name()
                    ),
                ));
            }
        };
        if items.len() > BULK_LIMIT {
            return Err(ApiError::field(
                "non_field_errors",
                format!("Ensure this field has no more than {BULK_LIMIT} elements."),
            ));
        }
        Ok(items.into_iter().map(Body::from_item).collect())
    }

    /// A JSON body, or one item of a bulk write: an object, without NULs,
    /// else DRF's error for it.
    fn from_item(item: Value) -> Result<Body, ApiError> {
        let Value::Object(map) = item else {
            return Err(ApiError::field(
                "non_field_errors",
                format!(
                    "Invalid data. Expected a dictionary, but got {}.",
                    Input::from_json(item).type_name()
                ),
            ));
        };
        Body {
            fields: map
                .into_iter()
                .map(|(k, v)| (k, Input::from_json(v)))
                .collect(),
            encoding: Encoding::Json,
        }
        .without_nul()
    }

    fn parse_any(content_type: Option<&str>, bytes: &[u8]) -> Result<Body, ApiError> {
        let empty = Body {
            fields: Vec::new(),
            encoding: Encoding::Form,
        };
        let ct = content_type.unwrap_or("").trim();
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if bytes.is_empty() && (mime.is_empty() || mime != "application/json") {
            return Ok(empty);
        }
        match mime.as_str() {
            "application/json" => {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Body {
                        fields: Vec::new(),
                        encoding: Encoding::Json,
                    });
                }
                Body::from_item(json(bytes)?)
            }
            "application/x-www-form-urlencoded" => {
                Ok(Body::from_pairs(form_urlencoded::parse(bytes).into_owned()))
            }
            "multipart/form-data" => {
                let boundary = ct
                    .split(';')
                    .filter_map(|p| p.trim().strip_prefix("boundary="))
                    .next()
                    .map(|b| b.trim_matches('"').to_string())
                    .ok_or_else(|| {
                        ApiError::BadRequest(
                            "Multipart form parse error - Invalid boundary in multipart: None"
                                .into(),
                        )
                    })?;
                Ok(Body::from_pairs(multipart(bytes, &boundary)))
            }
            _ => Err(ApiError::UnsupportedMediaType(ct.to_string())),
        }
    }

    fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Body {
        let mut fields: Vec<(String, Input)> = Vec::new();
        for (k, v) in pairs {
            match fields.iter_mut().find(|(name, _)| *name == k) {
                Some((_, Input::List(l))) => l.push(Input::Str(v)),
                Some((_, existing)) => {
                    let first = std::mem::replace(existing, Input::Null);
                    *existing = Input::List(vec![first, Input::Str(v)]);
                }
                None => fields.push((k, Input::Str(v))),
            }
        }
        Body {
            fields,
            encoding: Encoding::Form,
        }
    }

    /// The value of a field.
    pub fn get(&self, key: &str) -> Option<&Input> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A list of primary keys (a form key given once is a list of one).
    pub fn id_list(&self, key: &str) -> Result<Option<Vec<i64>>, ApiError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let items: Vec<&Input> = match v {
            Input::List(l) => l.iter().collect(),
            Input::Str(s) if self.encoding == Encoding::Form => {
                if s.is_empty() {
                    Vec::new()
                } else {
                    vec![v]
                }
            }
            other => {
                return Err(ApiError::field(
                    key,
                    format!(
                        "Expected a list of items but got type \"{}\".",
                        other.type_name()
                    ),
                ));
            }
        };
        items
            .into_iter()
            .map(|i| match (i, i.as_id()) {
                (Input::Bool(_), _) | (_, None) => Err(ApiError::field(
                    key,
                    format!(
                        "Incorrect type. Expected pk value, received {}.",
                        i.type_name()
                    ),
                )),
                (_, Some(id)) => Ok(id),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// A JSON body, or Django REST framework's 400 for one it cannot parse.
fn json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("JSON parse error - {e}")))
}

/// The text fields of a multipart body (files are read as text too).
fn multipart(bytes: &[u8], boundary: &str) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let name = head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .flat_map(|l| l.split(';'))
            .filter_map(|p| p.trim().strip_prefix("name="))
            .map(|n| n.trim_matches('"').to_string())
            .next();
        if let Some(name) = name {
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            out.push((name, value.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_repeat_keys() {
        let b = Body::parse(
            Some("application/x-www-form-urlencoded"),
            b"name=b&patches=1&patches=2&public=True",
        )
        .ok();
        let b = b.as_ref();
        assert_eq!(
            b.and_then(|b| b.id_list("patches").ok().flatten()),
            Some(vec![1, 2])
        );
        assert_eq!(
            b.and_then(|b| b.get("public")).and_then(Input::as_bool),
            Some(true)
        );
    }

    #[test]
    fn json_and_errors() {
        let b = Body::parse(
            Some("application/json"),
            br#"{"archived":"yes","related":3}"#,
        )
        .ok();
        assert_eq!(
            b.as_ref()
                .and_then(|b| b.get("archived"))
                .and_then(Input::as_bool),
            Some(true)
        );
        assert!(b.as_ref().is_some_and(|b| b.id_list("related").is_err()));
        assert!(matches!(
            Body::parse(Some("application/json"), b"{nope"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            Body::parse(Some("text/plain"), b"x"),
            Err(ApiError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn multipart_fields() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"state\"\r\n\r\nsuccess\r\n--XX\r\nContent-Disposition: form-data; name=\"context\"\r\n\r\nci\r\n--XX--\r\n";
        let b = Body::parse(Some("multipart/form-data; boundary=XX"), body).ok();
        assert_eq!(
            b.as_ref()
                .and_then(|b| b.get("state"))
                .and_then(Input::as_text)
                .as_deref(),
            Some("success")
        );
        assert_eq!(
            b.as_ref()
                .and_then(|b| b.get("context"))
                .and_then(Input::as_text)
                .as_deref(),
            Some("ci")
        );
    }
}
