//! Pull-request detection (`git request-pull` output in the message text).

use std::sync::LazyLock;

use regex::Regex;

use crate::text::normalise_space;

static PULL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?smi)^The following changes since commit.*^are available in the git repository at:\s*\n^\s*([\w+-]+(?:://|@)[\w/.@:~-]+[\s\\]*[\w/._-]*)\s*$",
    )
    .expect("static regex is valid")
});

/// The repository URL (and branch or tag, space-separated) of a pull
/// request, if the text is one.
pub fn parse_pull_request(text: &str) -> Option<String> {
    // A cheap test first: almost no mail is a pull request.
    if !contains_ignore_ascii_case(text, "are available in the") {
        return None;
    }
    let caps = PULL.captures(text)?;
    Some(normalise_space(caps.get(1)?.as_str()))
}

fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    hay.as_bytes()
        .windows(n.len())
        .any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_pull_forms() {
        let text = "The following changes since commit abc:\n\n  x (2020)\n\nare available in the Git repository at:\n\n  git://git.kernel.org/pub/scm/x.git tags/for-v1\n\nfor you to fetch\n";
        assert_eq!(
            parse_pull_request(text).as_deref(),
            Some("git://git.kernel.org/pub/scm/x.git tags/for-v1")
        );
        let wrapped = "The following changes since commit abc:\nare available in the git repository at:\n  https://h/x.git/\n  tags/v5\n";
        assert_eq!(
            parse_pull_request(wrapped).as_deref(),
            Some("https://h/x.git/ tags/v5")
        );
        assert_eq!(parse_pull_request("just text"), None);
    }
}
