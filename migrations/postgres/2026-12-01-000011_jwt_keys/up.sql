-- Ed25519 signing keys (ACCOUNTD_JWT_ALGORITHM=EdDSA), shared by every
-- instance on this database. kid is the RFC 7638 thumbprint of the public
-- key; public_x its 32 bytes, base64url (the JWK's x); private_key the
-- PKCS#8 DER of the private key sealed with XChaCha20-Poly1305 under a key
-- derived from the server secret (the kid bound in). Times are milliseconds
-- since the epoch: a key is published from created_at and signs from
-- signs_from; it retires when the next key's signs_from comes, and its row
-- is deleted by the first rotation after it has been retired for longer
-- than the token lifetime.
CREATE TABLE jwt_keys (
    kid         TEXT PRIMARY KEY,
    public_x    TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    signs_from  BIGINT NOT NULL
);
