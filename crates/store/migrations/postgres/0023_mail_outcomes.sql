-- What became of every mail handed to patchtrack, by any door (parsemail,
-- lmtp, parsearchive, import-public-inbox): one counter per outcome and
-- reason, for `/metrics`. Kept in the database because mail arrives in
-- other processes than the one that serves the metrics. A stored mail's
-- counter moves in its own transaction; the others on their own.
CREATE TABLE mail_outcome (
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (outcome, reason)
);
