//! Mail the site sends (confirmations, password resets, notifications),
//! as it waits in the job queue: who it goes to and what it says. The
//! Date and the Message-Id are added when it is sent, and the sender too
//! unless the mail names its own (notifications may come from another
//! address than confirmations, as Patchwork's NOTIFICATION_FROM_EMAIL).

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::job::NewJob;

/// The job kind of an outgoing mail.
pub const MAIL_JOB: &str = "mail";

/// One mail to send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutgoingMail {
    /// The one recipient.
    pub to: String,
    /// Plain text, encoded on sending when it is not ASCII.
    pub subject: String,
    /// Plain text, lines ending in `\n`.
    pub body: String,
    /// Further headers (`Precedence: bulk` for digests), in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The sender, when not the worker's configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl OutgoingMail {
    /// A mail without extra headers.
    pub fn new(to: &str, subject: &str, body: String) -> OutgoingMail {
        OutgoingMail {
            to: to.to_string(),
            subject: subject.to_string(),
            body,
            headers: Vec::new(),
            from: None,
        }
    }

    /// The job that sends it.
    pub fn to_job(&self) -> Result<NewJob> {
        let payload = serde_json::to_string(self)
            .map_err(|e| StoreError::Invalid(format!("cannot encode a mail: {e}")))?;
        Ok(NewJob::new(MAIL_JOB, payload))
    }

    /// The mail a job's payload holds.
    pub fn from_payload(payload: &str) -> Result<OutgoingMail> {
        serde_json::from_str(payload)
            .map_err(|e| StoreError::Inconsistent(format!("a mail job that is not a mail: {e}")))
    }
}

impl Store {
    /// Queues one mail; returns its job's id.
    pub async fn queue_mail(&self, mail: &OutgoingMail) -> Result<i64> {
        self.enqueue(&mail.to_job()?).await
    }
}
