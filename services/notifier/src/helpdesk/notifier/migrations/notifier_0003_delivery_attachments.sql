-- Attachments (issue 14): the files a mail carries, as references to the object
-- store ([{"sha256", "file_name", "content_type"}]); the sender fetches them at
-- send time, so a delivery row never holds more than the composed text.
ALTER TABLE deliveries ADD COLUMN attachments jsonb;
