-- The CN of a TLS client certificate the sender showed ([smtp] tls_client_ca), for
-- sender verification (core/verification.py).
ALTER TABLE items ADD COLUMN tls_client TEXT;
