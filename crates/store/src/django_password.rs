//! Password hashes written by Django's hashers, as a Patchwork site's
//! `auth_user.password` holds them: `import-patchwork` copies them as they
//! are, the first successful login checks the password here and replaces
//! the hash with our Argon2id one. Users of the old site so keep their
//! passwords without the import ever knowing them.
//!
//! Django's encodings (`django/contrib/auth/hashers.py`):
//! `pbkdf2_sha256$ITER$SALT$B64`, `pbkdf2_sha1$ITER$SALT$B64`,
//! `argon2$argon2id$v=19$m=..,t=..,p=..$SALT$HASH` (a PHC string after the
//! prefix), `bcrypt_sha256$$2b$..` (bcrypt of the hex SHA-256 of the
//! password), `bcrypt$$2b$..`, `scrypt$SALT$N$R$P$B64`, and the legacy
//! `sha1$SALT$HEX`, `md5$SALT$HEX`, `unsalted_sha1$$HEX`,
//! `unsalted_md5` (bare hex or `md5$$HEX`). A hash starting with `!` is
//! Django's "unusable password" and matches nothing; `crypt$` needs the
//! host's crypt(3) and is not supported.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest;

/// Whether `password` matches the Django hash `encoded`; None when
/// `encoded` is not a hash of a Django hasher we know.
pub(crate) fn verify(encoded: &str, password: &str) -> Option<bool> {
    let pw = password.as_bytes();
    let (algorithm, rest) = encoded.split_once('$').unwrap_or(("unsalted_md5", encoded));
    match algorithm {
        "pbkdf2_sha256" | "pbkdf2_sha1" => {
            let mut parts = rest.splitn(3, '$');
            let iterations: u32 = parts.next()?.parse().ok()?;
            let salt = parts.next()?;
            let expected = STANDARD.decode(parts.next()?).ok()?;
            let mut out = vec![0u8; expected.len()];
            if algorithm == "pbkdf2_sha256" {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw, salt.as_bytes(), iterations, &mut out);
            } else {
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(pw, salt.as_bytes(), iterations, &mut out);
            }
            Some(!expected.is_empty() && same(&out, &expected))
        }
        "argon2" => {
            use argon2::password_hash::{PasswordHash, PasswordVerifier};
            let phc = format!("${rest}");
            let parsed = PasswordHash::new(&phc).ok()?;
            Some(
                argon2::Argon2::default()
                    .verify_password(pw, &parsed)
                    .is_ok(),
            )
        }
        "bcrypt_sha256" | "bcrypt" => {
            let hashed = rest.strip_prefix('$')?;
            let input = if algorithm == "bcrypt_sha256" {
                hex(&sha2::Sha256::digest(pw))
            } else {
                password.to_string()
            };
            bcrypt::verify(input, hashed).ok()
        }
        "scrypt" => {
            let mut parts = rest.splitn(5, '$');
            let salt = parts.next()?;
            let n: u64 = parts.next()?.parse().ok()?;
            let r: u32 = parts.next()?.parse().ok()?;
            let p: u32 = parts.next()?.parse().ok()?;
            let expected = STANDARD.decode(parts.next()?).ok()?;
            if !n.is_power_of_two() || expected.is_empty() {
                return None;
            }
            let log_n = u8::try_from(n.trailing_zeros()).ok()?;
            let params = scrypt::Params::new(log_n, r, p, expected.len()).ok()?;
            let mut out = vec![0u8; expected.len()];
            scrypt::scrypt(pw, salt.as_bytes(), &params, &mut out).ok()?;
            Some(same(&out, &expected))
        }
        "sha1" | "md5" => {
            let (salt, expected) = rest.split_once('$')?;
            if salt.is_empty() {
                // `md5$$HEX`: Django's unsalted MD5 in its long form.
                return (algorithm == "md5").then(|| digest_hex::<md5::Md5>(b"", pw, expected));
            }
            Some(if algorithm == "sha1" {
                digest_hex::<sha1::Sha1>(salt.as_bytes(), pw, expected)
            } else {
                digest_hex::<md5::Md5>(salt.as_bytes(), pw, expected)
            })
        }
        "unsalted_sha1" => {
            let expected = rest.strip_prefix('$')?;
            Some(digest_hex::<sha1::Sha1>(b"", pw, expected))
        }
        "unsalted_md5" if rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(digest_hex::<md5::Md5>(b"", pw, rest))
        }
        _ if encoded.starts_with('!') => Some(false),
        _ => None,
    }
}

fn digest_hex<D: Digest>(salt: &[u8], password: &[u8], expected: &str) -> bool {
    let mut d = D::new();
    d.update(salt);
    d.update(password);
    same(
        hex(&d.finalize()).as_bytes(),
        expected.to_ascii_lowercase().as_bytes(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in time that depends only on the lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::verify;

    // Each vector was computed with Python's hashlib, following Django's
    // hasher code; the password is "alice-pass".

    #[test]
    fn pbkdf2_sha256_of_the_fixture() {
        // auth_user 5 (alice) of the upstream-built migration fixture,
        // made by Django 6.0 itself.
        let h = "pbkdf2_sha256$1200000$CW135U5utEfmzo3He86Ezz$\
                 HQ2r4tMoSDhtv2T1mBRtbk1rJZ655sEc4JGGn6OQXao=";
        assert_eq!(verify(h, "alice-pass"), Some(true));
        assert_eq!(verify(h, "alice-pas"), Some(false));
    }

    #[test]
    fn other_hashers() {
        for (h, _) in VECTORS {
            assert_eq!(verify(h, "alice-pass"), Some(true), "{h}");
            assert_eq!(verify(h, "bob-pass"), Some(false), "{h}");
        }
    }

    #[test]
    fn unknown_and_unusable() {
        assert_eq!(verify("crypt$ab$abc", "x"), None);
        assert_eq!(
            verify("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "x"),
            None
        );
        assert_eq!(verify("!XyZunusable", "x"), Some(false));
        assert_eq!(verify("pbkdf2_sha256$notanumber$salt$aGFzaA==", "x"), None);
    }

    /// (encoded, hasher) computed by `testdata/migration/django_hashes.py`.
    const VECTORS: &[(&str, &str)] = &include!("../../../testdata/migration/django_hashes.txt");
}
