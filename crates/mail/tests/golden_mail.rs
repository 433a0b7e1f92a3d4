//! Golden tests over Patchwork's own `tests/data/mail` mailboxes: every
//! outcome tabulated in the reference (§3.1), asserted or computed upstream.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::parse_one;
use patchtrack_mail::Kind;

const EMPTY_SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

fn mail(name: &str) -> patchtrack_mail::ParsedMail {
    parse_one(&format!("patchwork/mail/{name}"))
}

#[test]
fn pull_requests_without_diff() {
    let cases = [
        (
            "0001-git-pull-request.mbox",
            "git://git.kernel.org/pub/scm/linux/kernel/git/benh/powerpc.git next",
        ),
        (
            "0002-git-pull-request-wrapped.mbox",
            "git://git.kernel.org/pub/scm/linux/kernel/git/benh/powerpc.git next",
        ),
        (
            "0004-git-pull-request-git+ssh.mbox",
            "git+ssh://git.kernel.org/pub/scm/linux/kernel/git/benh/powerpc.git next",
        ),
        (
            "0005-git-pull-request-ssh.mbox",
            "ssh://git.kernel.org/pub/scm/linux/kernel/git/benh/powerpc.git next",
        ),
        (
            "0006-git-pull-request-http.mbox",
            "http://git.kernel.org/pub/scm/linux/kernel/git/benh/powerpc.git next",
        ),
        (
            "0017-git-pull-request-git-2-14-3.mbox",
            "git://git.kernel.org/pub/scm/linux/kernel/git/davem/net",
        ),
        (
            "0023-git-pull-request-newline-in-url.mbox",
            "https://git.kernel.org/pub/scm/linux/kernel/git/matthias.bgg/linux.git/ tags/v5.4-next-soc",
        ),
        (
            "0024-git-pull-request-trailing-space.mbox",
            "git://git.kernel.org/pub/scm/linux/kernel/git/nsekhar/linux-davinci.git tags/davinci-for-v5.6/soc",
        ),
    ];
    for (file, url) in cases {
        let m = mail(file);
        assert_eq!(m.kind, Kind::PullRequest, "{file}");
        assert_eq!(m.pull_url.as_deref(), Some(url), "{file}");
        assert_eq!(m.diff, None, "{file}");
        assert!(!m.content.is_empty(), "{file}");
        assert_eq!(
            m.hash, None,
            "{file}: a pull request without diff has no hash"
        );
    }
    assert_eq!(
        mail("0001-git-pull-request.mbox").name.as_deref(),
        Some("[git,pull] Please pull powerpc.git next branch")
    );
}

#[test]
fn pull_request_with_diff_is_a_patch() {
    let m = mail("0003-git-pull-request-with-diff.mbox");
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(
        m.pull_url.as_deref(),
        Some(
            "git://git.kernel.org/pub/scm/linux/kernel/git/tip/linux-2.6-tip.git x86-fixes-for-linus"
        )
    );
    assert!(
        m.diff
            .as_deref()
            .unwrap()
            .starts_with("diff --git a/arch/x86/include/asm/smp.h")
    );
    assert_eq!(
        m.hash.as_deref(),
        Some("dde488c7b82265da100f9facd43c2bb72f5262fd")
    );
}

#[test]
fn cvs_diff_in_a_text_attachment() {
    let m = mail("0007-cvs-format-diff.mbox");
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(
        m.name.as_deref(),
        Some(": Fix ld pr11138 FAILures on mips*.")
    );
    assert!(m.diff.as_deref().unwrap().starts_with("Index"));
    assert_eq!(
        m.hash.as_deref(),
        Some("f0db4bd410752c95498f69ad5616422592f2bcab")
    );
    // The comment holds the text of both parts.
    assert!(m.content.contains("pr11138"));
    assert!(m.content.contains("2011-12-05  David Daney"));
    assert_eq!(m.list_ids, ["linux-mips"]);
}

#[test]
fn renames() {
    let m = mail("0008-git-rename.mbox");
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(
        m.name.as_deref(),
        Some("[Buildroot,01/11] package/rpi-userland: rename patches")
    );
    assert_eq!((m.number, m.total), (Some(1), Some(11)));
    let diff = m.diff.unwrap();
    assert_eq!(diff.matches("\nrename from ").count(), 2);
    assert_eq!(diff.matches("\nrename to ").count(), 2);
    assert_eq!(m.hash.as_deref(), Some(EMPTY_SHA1));

    let m = mail("0009-git-rename-with-diff.mbox");
    assert!(!m.content.is_empty());
    let diff = m.diff.unwrap();
    assert_eq!(diff.matches("\nrename from ").count(), 2);
    assert_eq!(diff.matches("\nrename to ").count(), 2);
    assert_eq!(diff.matches("\n-a\n+b").count(), 1);
    assert_eq!(
        m.hash.as_deref(),
        Some("1a0a2f780b578d1daa1bcb9a40679763220aa45e")
    );
}

#[test]
fn unknown_charset_falls_back() {
    let m = mail("0010-invalid-charset.mbox");
    assert_eq!(m.kind, Kind::Patch);
    assert!(!m.content.is_empty());
    assert_eq!(
        m.hash.as_deref(),
        Some("db01919ea1c391ec8bc401540af51e10e8ee62be")
    );
    assert!(m.warnings.is_empty(), "a fallback is not a repair");
}

#[test]
fn no_newline_at_end_of_file() {
    let m = mail("0011-no-newline-at-end-of-file.mbox");
    let diff = m.diff.unwrap();
    assert!(diff.starts_with("diff --git a/tools/testing/selftests/powerpc/Makefile"));
    assert!(!m.content.ends_with("\\ No newline at end of file"));
    assert!(diff.trim_end().ends_with("\\ No newline at end of file"));
    assert_eq!(diff.matches("\\ No newline at end of file").count(), 2);
    assert_eq!(m.version, 3);
    assert_eq!((m.number, m.total), (Some(5), Some(5)));
    assert_eq!(
        m.hash.as_deref(),
        Some("13005677f1587851f296d5f1934333eefe90ddad")
    );
}

#[test]
fn headers_with_8bit_and_encoded_words() {
    let m = mail("0012-invalid-header-char.mbox");
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(
        m.name.as_deref(),
        Some("[dpdk-dev] kni: fix compilation error when debug enabled")
    );
    assert_eq!(
        m.hash.as_deref(),
        Some("fcfbfcf2afbf8c9a6273178493a6bd2e523ec125")
    );

    let utf8_hash = Some("4df3c62e1f74a2a2035f7676c52e7d26d30c2adb");
    let m = mail("0013-with-utf8-body.mbox");
    assert_eq!(
        m.submitter.as_ref().unwrap().name.as_deref(),
        Some("Rafał Miłecki")
    );
    assert_eq!(m.hash.as_deref(), utf8_hash);

    let m = mail("0014-with-unencoded-utf8-headers.mbox");
    assert!(
        m.name
            .as_deref()
            .unwrap()
            .ends_with("to include Rafa\u{fffd}\u{fffd} Mi\u{fffd}\u{fffd}ecki")
    );
    assert_eq!(m.hash.as_deref(), utf8_hash);

    let m = mail("0015-with-invalid-utf8-headers.mbox");
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(m.hash.as_deref(), utf8_hash);
}

#[test]
fn empty_subject() {
    let m = mail("0016-no-subject.mbox");
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(m.name.as_deref(), Some(""));
    assert!(!m.content.is_empty());
    assert_eq!(m.hash.as_deref(), Some(EMPTY_SHA1));
}

#[test]
fn multipart_alternative_ignores_html() {
    let m = mail("0019-multipart-patch.mbox");
    assert_eq!(m.kind, Kind::Patch);
    assert!(!m.content.contains("<div"));
    assert!(!m.diff.as_deref().unwrap().contains("<div"));
    assert_eq!(
        m.hash.as_deref(),
        Some("201d414fd34cef186a0813dd4d49b5f873d00605")
    );

    let m = mail("0020-multipart-comment.mbox");
    assert_eq!(m.kind, Kind::Comment);
    assert!(m.is_reply);
    assert!(!m.content.is_empty());
    assert!(!m.content.contains("<div"));
    assert_eq!(m.diff, None);
}

#[test]
fn header_only_diffs_hash_as_empty() {
    let m = mail("0021-git-empty-new-file.mbox");
    assert!(!m.content.is_empty());
    assert_eq!(m.diff.as_deref().unwrap().lines().count(), 3);
    assert_eq!(m.hash.as_deref(), Some(EMPTY_SHA1));

    let m = mail("0022-git-mode-change.mbox");
    assert_eq!(
        m.name.as_deref(),
        Some("[1/1] kconfig: Make nconf-cfg.sh executable")
    );
    assert_eq!(m.hash.as_deref(), Some(EMPTY_SHA1));
}

#[test]
fn binary_patches_keep_upstream_quirks() {
    let m = mail("0025-git-add-binary-file.mbox");
    let diff = m.diff.unwrap();
    assert!(diff.starts_with("diff --git pixel.bmp pixel.bmp"));
    for needle in ["GIT binary patch\n", "literal 142\n", "literal 0\n"] {
        assert!(diff.contains(needle), "{needle}");
    }
    // Text after a binary patch lands in the diff, signature included.
    assert!(diff.ends_with("literal 0\nHcmV?d00001\n\n-- \n2.35.3\n\n\n"));
    let binary_hash = "28bbf89195af1c065a2ebbfbdfaf0ee9dfe8296e";
    assert_eq!(m.hash.as_deref(), Some(binary_hash));

    let m = mail("0026-git-add-mixed-binary-text-files.mbox");
    let diff = m.diff.unwrap();
    assert!(diff.starts_with("diff --git pixel.bmp pixel.bmp"));
    assert!(diff.contains("GIT binary patch\n"));
    assert!(diff.contains("diff --git quit.sh quit.sh\n"));
    // quit.sh's extended header lines go to the comment.
    assert!(
        m.content
            .contains("new file mode 100644\nindex 0000000..f5f929a")
    );
    assert_eq!(
        m.hash.as_deref(),
        Some("729b1ccd5c3d4e3d7aa012fd7216678d9d79cd3f")
    );

    let m = mail("0027-git-modify-binary-file.mbox");
    let diff = m.diff.unwrap();
    assert!(diff.starts_with("diff --git pixel.bmp pixel.bmp"));
    for needle in ["GIT binary patch\n", "literal 0\n", "literal 142\n"] {
        assert!(diff.contains(needle), "{needle}");
    }
    assert_eq!(m.hash.as_deref(), Some(binary_hash));
}

#[test]
fn every_mail_file_is_covered() {
    let dir = common::testdata().join("patchwork/mail");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let source = include_str!("golden_mail.rs");
    for f in files {
        assert!(source.contains(&f), "{f} has no golden assertion");
    }
}
