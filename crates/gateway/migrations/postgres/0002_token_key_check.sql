-- A value sealed with the token key the first instance used: an instance started with another
-- key cannot open it, and refuses to start (store/mod.rs, check_token_key).
CREATE TABLE token_key_check (
    id integer PRIMARY KEY CHECK (id = 1),
    sealed bytea NOT NULL
);
