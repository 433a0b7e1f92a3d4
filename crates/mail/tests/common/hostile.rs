//! Mail built to hurt a parser: structures nested far deeper than any
//! mail client writes, in each way MIME allows nesting. Shared by the mail
//! crate's tests and the `parsearchive` tests.

#![allow(dead_code)]

/// How the levels nest.
#[derive(Debug, Clone, Copy)]
pub enum Nesting {
    /// `multipart/mixed` inside `multipart/mixed`.
    Multipart,
    /// `message/rfc822` enclosing `message/rfc822`.
    Message,
    /// A base64 `message/rfc822` whose decoded bytes nest `message/rfc822`.
    EncodedMessage,
    /// `multipart/digest`, whose parts are messages by default.
    Digest,
}

const DIFF: &str = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";

/// A mail whose text part (a patch) sits `depth` levels down.
pub fn nested(nesting: Nesting, depth: usize, msgid: &str) -> Vec<u8> {
    let head = format!(
        "From: Deep <deep@example.org>\nSubject: [PATCH] nested {depth}\n\
         Message-Id: <{msgid}>\nList-Id: <test.example.org>\nMIME-Version: 1.0\n"
    );
    let body = match nesting {
        Nesting::Multipart => {
            let mut s = String::new();
            for i in 0..depth {
                s.push_str(&format!(
                    "Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"
                ));
            }
            s.push_str(&format!("Content-Type: text/plain\n\n{DIFF}"));
            for i in (0..depth).rev() {
                s.push_str(&format!("--b{i}--\n"));
            }
            s
        }
        Nesting::Message => enclosed(depth),
        Nesting::EncodedMessage => {
            use base64::Engine;
            let inner = enclosed(depth.saturating_sub(1));
            let encoded = base64::engine::general_purpose::STANDARD.encode(inner);
            let mut s =
                String::from("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n");
            for line in encoded.as_bytes().chunks(76) {
                s.push_str(std::str::from_utf8(line).unwrap_or_default());
                s.push('\n');
            }
            s
        }
        Nesting::Digest => {
            let mut s = String::new();
            for i in 0..depth / 2 {
                s.push_str(&format!(
                    "Content-Type: multipart/digest; boundary=d{i}\n\n--d{i}\n\n"
                ));
            }
            s.push_str(&format!("Content-Type: text/plain\n\n{DIFF}"));
            for i in (0..depth / 2).rev() {
                s.push_str(&format!("--d{i}--\n"));
            }
            s
        }
    };
    let mut mail = head.into_bytes();
    mail.extend_from_slice(body.as_bytes());
    mail
}

fn enclosed(depth: usize) -> String {
    let mut s = "Content-Type: message/rfc822\n\n".repeat(depth);
    s.push_str(&format!("Content-Type: text/plain\n\n{DIFF}"));
    s
}
