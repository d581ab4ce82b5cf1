"""Everything the mailgate does outside its domain: the PostgreSQL mail store, the
SMTP/LMTP listener, the IMAP poller, the tickets service over NATS, and the
explanation mails it sends."""
