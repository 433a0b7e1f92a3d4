//! `patchtrack lmtp`: mail in over LMTP (RFC 2033), for Postfix's and
//! Exim's LMTP transports. One mail is stored once whatever its number of
//! recipients, through the same ingestion as `parsemail`, and each
//! recipient gets its own reply once the mail is committed: `250` when it
//! was stored or deliberately not stored (a duplicate, a mail that is no
//! patch or comment: the reason is in the reply), `451` when the database
//! failed, so that the MTA keeps the mail and retries later. Nothing is
//! acknowledged before it is committed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use patchtrack_store::{IngestOptions, Outcome, Store};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};

/// Arguments of `patchtrack lmtp`.
#[derive(Debug, clap::Args)]
pub struct LmtpArgs {
    /// Where to listen: `HOST:PORT`, or a Unix socket's path (`/run/...`
    /// or `unix:PATH`).
    #[arg(long, env = "PATCHTRACK_LMTP_LISTEN", default_value = "127.0.0.1:8024")]
    listen: String,
    /// Use this list id instead of the mail's List-Id headers.
    #[arg(long, env = "PATCHTRACK_LMTP_LIST_ID")]
    list_id: Option<String>,
    /// The largest mail accepted, in bytes (announced as SIZE).
    #[arg(long, env = "PATCHTRACK_LMTP_MAX_SIZE", default_value_t = 64 * 1024 * 1024)]
    max_size: usize,
    /// Sessions at once; more wait for a free one.
    #[arg(long, env = "PATCHTRACK_LMTP_MAX_SESSIONS", default_value_t = 64)]
    max_sessions: usize,
}

/// The longest command line read (RFC 5321 allows 512 octets; extensions
/// add a little).
const COMMAND_LIMIT: usize = 4096;

/// How long a client may stay silent.
const IDLE: Duration = Duration::from_secs(300);

/// What a command line asks.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Lhlo,
    /// HELO or EHLO: LMTP wants LHLO.
    Helo,
    Mail {
        size: Option<usize>,
    },
    Rcpt(String),
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Unknown,
}

fn parse_command(line: &str) -> Command {
    let line = line.trim_end_matches(['\r', '\n']);
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    match verb.to_ascii_uppercase().as_str() {
        "LHLO" => Command::Lhlo,
        "HELO" | "EHLO" => Command::Helo,
        "MAIL" if rest.to_ascii_uppercase().starts_with("FROM:") => {
            let size = rest
                .split_whitespace()
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.eq_ignore_ascii_case("SIZE"))
                .and_then(|(_, v)| v.parse().ok());
            Command::Mail { size }
        }
        "RCPT" if rest.to_ascii_uppercase().starts_with("TO:") => {
            Command::Rcpt(rest[3..].trim().to_string())
        }
        "DATA" => Command::Data,
        "RSET" => Command::Rset,
        "NOOP" => Command::Noop,
        "QUIT" => Command::Quit,
        "VRFY" => Command::Vrfy,
        _ => Command::Unknown,
    }
}

/// How the body read went.
enum Body {
    Complete(Vec<u8>),
    /// Over the size limit: read to its end and dropped.
    TooLarge,
}

/// Reads a DATA body up to the lone `.`, undoing dot-stuffing and
/// turning CRLF into LF (how mail is stored from a pipe).
async fn read_body<R: AsyncBufRead + Unpin>(reader: &mut R, max: usize) -> Result<Option<Body>> {
    let mut out = Vec::new();
    let mut too_large = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = tokio::time::timeout(IDLE, reader.read_until(b'\n', &mut line))
            .await
            .context("the client went silent")??;
        if n == 0 {
            return Ok(None);
        }
        let content = line
            .strip_suffix(b"\r\n")
            .or_else(|| line.strip_suffix(b"\n"))
            .unwrap_or(&line);
        if content == b"." {
            break;
        }
        let content = content.strip_prefix(b".").unwrap_or(content);
        if too_large || out.len() + content.len() + 1 > max {
            too_large = true;
            out = Vec::new();
            continue;
        }
        out.extend_from_slice(content);
        out.push(b'\n');
    }
    Ok(Some(if too_large {
        Body::TooLarge
    } else {
        Body::Complete(out)
    }))
}

/// The reply to every recipient once a mail was handled.
fn outcome_reply(outcome: &patchtrack_store::Result<Outcome>) -> String {
    match outcome {
        Ok(Outcome::Duplicate) => "250 2.0.0 already stored".into(),
        Ok(Outcome::Dropped(why)) => format!("250 2.0.0 not stored: {}", one_line(why)),
        Ok(Outcome::Rejected(why)) => format!("250 2.0.0 not stored: {}", one_line(why)),
        Ok(_) => "250 2.0.0 stored".into(),
        Err(e) => {
            tracing::warn!(error = %e, "lmtp: mail not stored: {e}");
            "451 4.3.0 the database is unavailable; try again later".into()
        }
    }
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

/// One LMTP session, until QUIT or the client leaves.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    store: &Store,
    options: &IngestOptions,
    max_size: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    write
        .write_all(format!("220 {host} LMTP patchtrack ready\r\n").as_bytes())
        .await?;
    let mut greeted = false;
    let mut from = false;
    let mut recipients: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        // Between two commands a stop closes the session (RFC 5321's 421:
        // the MTA keeps what it has not sent and tries again later); a
        // mail being received or stored is finished first.
        let mut limited = (&mut reader).take(COMMAND_LIMIT as u64);
        let read = tokio::time::timeout(IDLE, limited.read_until(b'\n', &mut line));
        let n = tokio::select! {
            // The stop first: a pipelining client always has its next
            // command ready.
            biased;
            _ = crate::shutdown::requested(&mut stop) => {
                write.write_all(b"421 4.3.2 shutting down; try again later\r\n").await?;
                write.flush().await?;
                return Ok(());
            }
            n = read => n.context("the client went silent")??,
        };
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            write.write_all(b"500 5.5.2 line too long\r\n").await?;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let reply: String = match parse_command(&text) {
            Command::Lhlo => {
                greeted = true;
                from = false;
                recipients.clear();
                format!(
                    "250-{host}\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n\
                     250 SIZE {max_size}"
                )
            }
            Command::Helo => "500 5.5.1 LMTP wants LHLO".into(),
            Command::Mail { .. } if !greeted => "503 5.5.1 LHLO first".into(),
            Command::Mail { .. } if from => "503 5.5.1 nested MAIL command".into(),
            Command::Mail { size: Some(s) } if s > max_size => {
                format!("552 5.3.4 message too big (at most {max_size} bytes)")
            }
            Command::Mail { .. } => {
                from = true;
                "250 2.1.0 OK".into()
            }
            Command::Rcpt(_) if !from => "503 5.5.1 MAIL first".into(),
            Command::Rcpt(to) => {
                recipients.push(to);
                "250 2.1.5 OK".into()
            }
            Command::Data if recipients.is_empty() => "503 5.5.1 RCPT first".into(),
            Command::Data => {
                write
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                write.flush().await?;
                let Some(body) = read_body(&mut reader, max_size).await? else {
                    return Ok(());
                };
                let answer = match body {
                    Body::TooLarge => {
                        format!("552 5.3.4 message too big (at most {max_size} bytes)")
                    }
                    Body::Complete(raw) => outcome_reply(&store.ingest(&raw, options).await),
                };
                let replies: Vec<&str> = recipients.iter().map(|_| answer.as_str()).collect();
                from = false;
                recipients.clear();
                replies.join("\r\n")
            }
            Command::Rset => {
                from = false;
                recipients.clear();
                "250 2.0.0 OK".into()
            }
            Command::Noop => "250 2.0.0 OK".into(),
            Command::Vrfy => "252 2.5.0 cannot verify".into(),
            Command::Quit => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                write.flush().await?;
                return Ok(());
            }
            Command::Unknown => "500 5.5.2 command not recognised".into(),
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\r\n").await?;
        write.flush().await?;
    }
}

/// A connection from either kind of listener.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<Box<dyn Stream>> {
        Ok(match self {
            Listener::Tcp(l) => Box::new(l.accept().await?.0),
            Listener::Unix(l) => Box::new(l.accept().await?.0),
        })
    }
}

/// Serves LMTP until SIGTERM or SIGINT, then lets the sessions finish the
/// mail they are receiving or storing (for up to [`crate::shutdown::GRACE`])
/// and closes them between commands with 421.
pub async fn run(store: Store, args: &LmtpArgs) -> Result<()> {
    let options = Arc::new(IngestOptions {
        list_id: args.list_id.clone(),
    });
    let sessions = args.max_sessions.max(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(sessions));
    let max_size = args.max_size;
    let unix = args
        .listen
        .strip_prefix("unix:")
        .or_else(|| args.listen.starts_with('/').then_some(args.listen.as_str()));
    let listener = match unix {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            let listener = tokio::net::UnixListener::bind(path)
                .with_context(|| format!("cannot listen on {path}"))?;
            eprintln!("patchtrack: LMTP on unix:{path}");
            Listener::Unix(listener)
        }
        None => {
            let listener = tokio::net::TcpListener::bind(&args.listen)
                .await
                .with_context(|| format!("cannot listen on {}", args.listen))?;
            eprintln!("patchtrack: LMTP on {}", listener.local_addr()?);
            Listener::Tcp(listener)
        }
    };
    let mut stop = crate::shutdown::on_signal()?;
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit?,
            _ = crate::shutdown::requested(&mut stop) => break,
        };
        let stream = tokio::select! {
            stream = listener.accept() => match stream {
                Ok(stream) => stream,
                // Out of file descriptors and the like: wait, do not spin
                // and do not stop serving.
                Err(e) => {
                    tracing::warn!(error = %e, "lmtp: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = crate::shutdown::requested(&mut stop) => break,
        };
        let (store, options, stop) = (store.clone(), options.clone(), stop.clone());
        tokio::spawn(async move {
            if let Err(e) = session(stream, &store, &options, max_size, stop).await {
                tracing::debug!(error = %e, "lmtp session ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    if let Some(path) = unix {
        let _ = std::fs::remove_file(path);
    }
    // Every slot free again: every session has ended.
    let all = u32::try_from(sessions).unwrap_or(u32::MAX);
    match tokio::time::timeout(crate::shutdown::GRACE, slots.acquire_many(all)).await {
        Ok(_) => eprintln!("patchtrack: LMTP stopped; every session ended"),
        Err(_) => eprintln!(
            "patchtrack: LMTP stopped with sessions still open after {} s; \
             their mail was not acknowledged, the MTA sends it again",
            crate::shutdown::GRACE.as_secs()
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_as_rfc_2033_says() {
        assert_eq!(parse_command("LHLO mx.example.org\r\n"), Command::Lhlo);
        assert_eq!(parse_command("ehlo x\r\n"), Command::Helo);
        assert_eq!(
            parse_command("MAIL FROM:<a@b> SIZE=1234 BODY=8BITMIME\r\n"),
            Command::Mail { size: Some(1234) }
        );
        assert_eq!(
            parse_command("mail from:<>\r\n"),
            Command::Mail { size: None }
        );
        assert_eq!(
            parse_command("RCPT TO:<list@example.org>\r\n"),
            Command::Rcpt("<list@example.org>".into())
        );
        assert_eq!(parse_command("RCPT <x>\r\n"), Command::Unknown);
        assert_eq!(parse_command("DATA\r\n"), Command::Data);
        assert_eq!(parse_command("\r\n"), Command::Unknown);
    }

    #[tokio::test]
    async fn a_body_is_unstuffed_and_cut_at_the_limit() {
        let mut input: &[u8] = b"Subject: x\r\n\r\n..leading dot\r\nline\r\n.\r\nNOOP\r\n";
        match read_body(&mut input, 1000).await.unwrap().unwrap() {
            Body::Complete(b) => assert_eq!(b, b"Subject: x\n\n.leading dot\nline\n"),
            Body::TooLarge => panic!("not too large"),
        }
        assert_eq!(input, b"NOOP\r\n", "the next command is left");
        let mut big: &[u8] = b"0123456789\r\n0123456789\r\n.\r\n";
        assert!(matches!(
            read_body(&mut big, 15).await.unwrap().unwrap(),
            Body::TooLarge
        ));
        let mut cut: &[u8] = b"no end\r\n";
        assert!(read_body(&mut cut, 100).await.unwrap().is_none());
    }
}
