//! SIGTERM and SIGINT as a value the long-running commands watch, so that
//! each stops at a point where nothing is lost: `serve` after the requests
//! in progress, `lmtp` after the mail in progress, `import-public-inbox
//! --follow` after the mail in hand and its mark.

use std::time::Duration;

use anyhow::Result;
use tokio::sync::watch;

/// How long the work in progress may take to finish after the signal
/// (systemd's default stop timeout is 90 s; the units give 45).
pub const GRACE: Duration = Duration::from_secs(30);

/// Becomes `true` on the first SIGTERM or SIGINT; the second ends the
/// process at once.
pub fn on_signal() -> Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => eprintln!("patchtrack: SIGTERM: finishing the work in progress"),
            _ = int.recv() => eprintln!("patchtrack: SIGINT: finishing the work in progress"),
        }
        let _ = tx.send(true);
        // A second signal is an admin who will not wait: stop now (what
        // is committed stays committed; mail not acknowledged is resent).
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        eprintln!("patchtrack: second signal: stopping now");
        std::process::exit(1);
    });
    Ok(rx)
}

/// Resolves once `stop` is `true`.
pub async fn requested(stop: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens at exit.
    let _ = stop.wait_for(|s| *s).await;
}
