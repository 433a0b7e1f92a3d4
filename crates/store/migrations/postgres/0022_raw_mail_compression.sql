-- How `raw_mail.data` is kept: 0 as received, 1 compressed with zstd.
-- Mail is text that compresses three- to fourfold, and every original
-- byte is kept for `reparse` and the downloads: new mail is stored
-- compressed, rows from before stay as they were and read the same.
ALTER TABLE raw_mail ADD COLUMN compression INT NOT NULL DEFAULT 0;
