-- A request id answers only the same request again: the SHA-256 of what it asked (PIN fields
-- left out) is kept beside it, so a retry with another body, or from another device, is
-- refused instead of being answered with the first request's outcome. Rows written before
-- this have an empty body and are checked by device only.
ALTER TABLE requests ADD COLUMN body TEXT NOT NULL DEFAULT '';
