"""The mail gateway: takes e-mail in (SMTP/LMTP, IMAP) and threads it to tickets."""
