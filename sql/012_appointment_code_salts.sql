-- An appointment's six-digit check-in code is hashed in its event with 16 random bytes kept
-- here: a plain SHA-256 of six digits gave the code back to anyone holding the log in under a
-- second. Appointments booked before this have an empty salt and a plain SHA-256.
ALTER TABLE appointments ADD COLUMN code_salt TEXT NOT NULL DEFAULT '';
