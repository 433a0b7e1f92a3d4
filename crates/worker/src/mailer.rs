//! Outgoing mail: the handler that sends queued [`OutgoingMail`] over
//! SMTP, from the configured address.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use patchtrack_store::{Job, MAIL_JOB, OutgoingMail};

use crate::{Attempt, Handler, JobError};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text: a relay on this machine or a trusted network.
    None,
    /// Plain text upgraded with STARTTLS, which is required: without it
    /// nothing (no password, no mail) is sent.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl std::str::FromStr for TlsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(TlsMode::None),
            "starttls" => Ok(TlsMode::Starttls),
            "tls" => Ok(TlsMode::Tls),
            _ => Err(format!("{s:?}: expected none, starttls or tls")),
        }
    }
}

impl TlsMode {
    /// The usual port of the mode: 25, 587, 465.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        }
    }
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Server host name (checked against its certificate with TLS).
    pub host: String,
    /// Port; None: the mode's usual one.
    pub port: Option<u16>,
    /// Connection protection.
    pub tls: TlsMode,
    /// Login, when the server wants one.
    pub user: Option<String>,
    /// Its password.
    pub password: Option<String>,
    /// The sender of every mail (`Patchwork <patchwork@example.org>`).
    pub from: String,
    /// How long one SMTP command may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The From address does not parse.
    #[error("invalid From address {0:?}: {1}")]
    From(String, String),
    /// TLS cannot be set up for the host.
    #[error("cannot set up TLS for {0}: {1}")]
    Tls(String, String),
}

/// Sends mail jobs over SMTP.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// A mailer for `config`; nothing is connected until the first mail.
    pub fn new(config: &SmtpConfig) -> Result<Mailer, ConfigError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                ConfigError::From(config.from.clone(), e.to_string())
            })?;
        let tls_for = |host: &str| {
            TlsParameters::new(host.to_string())
                .map_err(|e| ConfigError::Tls(host.to_string(), e.to_string()))
        };
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::Starttls => Tls::Required(tls_for(&config.host)?),
            TlsMode::Tls => Tls::Wrapper(tls_for(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port.unwrap_or(config.tls.default_port()))
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(user) = &config.user {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                config.password.clone().unwrap_or_default(),
            ));
        }
        let domain = from.email.domain().to_string();
        Ok(Mailer {
            transport: builder.build(),
            from,
            domain,
        })
    }

    /// The message as it goes out: the mail's own From or ours, a fresh
    /// Message-Id in the sender's domain, a Date, plain UTF-8 text.
    pub fn message(&self, mail: &OutgoingMail) -> Result<Message, JobError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| JobError::permanent(format!("invalid recipient {:?}: {e}", mail.to)))?;
        let from: Mailbox = match &mail.from {
            Some(f) => f
                .parse()
                .map_err(|e| JobError::permanent(format!("invalid sender {f:?}: {e}")))?,
            None => self.from.clone(),
        };
        let domain = if mail.from.is_some() {
            from.email.domain().to_string()
        } else {
            self.domain.clone()
        };
        let id =
            patchtrack_store::random_hex(16).map_err(|e| JobError::transient(e.to_string()))?;
        let mut message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{id}@{domain}>")))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| JobError::permanent(format!("cannot build the mail: {e}")))?;
        for (name, value) in &mail.headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|e| JobError::permanent(format!("header {name:?}: {e}")))?;
            message
                .headers_mut()
                .insert_raw(HeaderValue::new(name, value.clone()));
        }
        Ok(message)
    }

    /// Sends one mail. Refusals of the recipient or the message (5.5.x)
    /// are permanent; everything else (no connection, 4xx, a login
    /// refused until an admin fixes the password) is retried.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), JobError> {
        let message = self.message(mail)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            let refused = e.is_permanent()
                && e.status()
                    .is_some_and(|code| code.to_string().starts_with("55"));
            let text = format!("SMTP: {e}");
            if refused {
                JobError::permanent(text)
            } else {
                JobError::transient(text)
            }
        })
    }
}

impl Handler for Mailer {
    fn kind(&self) -> &'static str {
        MAIL_JOB
    }

    fn run<'a>(&'a self, job: &'a Job) -> Attempt<'a> {
        Box::pin(async move {
            let mail = OutgoingMail::from_payload(&job.payload)
                .map_err(|e| JobError::permanent(e.to_string()))?;
            self.send(&mail).await
        })
    }
}
