-- Each note's hash is salted with 16 random bytes kept beside it: a phone number or a short
-- answer hashed plain could be found again by hashing every candidate, so a purge (which
-- erases the text and the salt) would erase nothing. Notes written before this have an empty
-- salt and a plain SHA-256.
ALTER TABLE notes ADD COLUMN salt TEXT NOT NULL DEFAULT '';
