//! The original bytes of a mail as `raw_mail` keeps them: compressed with
//! zstd, so that keeping every byte (for `reparse`, for a later parser, for
//! the admin who wants the exact mail) costs a fraction of its size.

use crate::error::{Result, StoreError};

/// `raw_mail.compression` of bytes kept as received (rows from before
/// migration 0022, imported placeholders, mail too small to gain).
pub(crate) const PLAIN: i32 = 0;
/// `raw_mail.compression` of a zstd frame.
pub(crate) const ZSTD: i32 = 1;

/// zstd's level. On mail compressed one message at a time (`zstd -b1 -e9
/// -B4K` over the git-list corpus) 3 keeps 2.55x at 196 MB/s where 6 gains
/// 2.5 % more for half the speed, and 1 loses 2 % for a quarter more.
const LEVEL: i32 = 3;

/// The largest mail kept compressed: [`unpack`] allocates what a frame
/// says it holds, and refuses more than this from a damaged row.
const LARGEST: usize = 256 << 20;

/// The bytes to store for `raw` and how they are encoded (a mail larger
/// than [`LARGEST`] is kept as it came).
pub(crate) fn pack(raw: &[u8]) -> (Vec<u8>, i32) {
    if raw.len() > LARGEST {
        return (raw.to_vec(), PLAIN);
    }
    // One compression context per thread: making one per mail (over a
    // megabyte of tables) cost more than compressing a small mail.
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let packed = COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        match slot.as_mut() {
            Some(compressor) => compressor.compress(raw),
            None => zstd::bulk::compress(raw, LEVEL),
        }
    });
    match packed {
        Ok(packed) if packed.len() < raw.len() => (packed, ZSTD),
        _ => (raw.to_vec(), PLAIN),
    }
}

/// The original bytes of a stored row.
pub(crate) fn unpack(data: Vec<u8>, compression: i32) -> Result<Vec<u8>> {
    match compression {
        PLAIN => Ok(data),
        ZSTD => {
            // The frame records its size; a corrupted one cannot ask for
            // more than `pack` ever compresses.
            let size = zstd::zstd_safe::get_frame_content_size(&data)
                .ok()
                .flatten()
                .unwrap_or(0)
                .min(LARGEST as u64);
            zstd::bulk::decompress(&data, usize::try_from(size).unwrap_or(0)).map_err(|e| {
                StoreError::Inconsistent(format!("a stored mail does not decompress: {e}"))
            })
        }
        other => Err(StoreError::Inconsistent(format!(
            "a stored mail has unknown compression {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_comes_back_byte_for_byte() {
        let mail = b"From: A <a@example.org>\nSubject: [PATCH] x\n\n".repeat(40);
        let (packed, how) = pack(&mail);
        assert_eq!(how, ZSTD);
        assert!(
            packed.len() * 4 < mail.len(),
            "{} of {}",
            packed.len(),
            mail.len()
        );
        assert_eq!(unpack(packed, how).unwrap(), mail);
    }

    #[test]
    fn tiny_or_incompressible_mail_is_kept_plain() {
        let (packed, how) = pack(b"x");
        assert_eq!((packed.as_slice(), how), (&b"x"[..], PLAIN));
        assert_eq!(unpack(packed, how).unwrap(), b"x");
    }

    #[test]
    fn a_damaged_frame_is_an_error_not_a_panic() {
        let (mut packed, how) = pack(&b"Subject: y\n".repeat(100));
        let n = packed.len();
        packed.truncate(n / 2);
        assert!(unpack(packed, how).is_err());
        assert!(unpack(vec![1, 2, 3], 7).is_err());
    }
}
