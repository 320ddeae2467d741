-- 0011: the GET URLs of files we uploaded (XEP-0363). A message whose body
-- is exactly one of them goes out with an XEP-0066 element, also when it
-- is sent again from the outbox after a restart.
CREATE TABLE uploads (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	url        TEXT NOT NULL,
	PRIMARY KEY (account_id, url)
) STRICT, WITHOUT ROWID;
