-- A counter PC's token may be bound to its window at enrolment (`device add --window 12`):
-- a specialist signs in on it only there, so a copied token does not call at another window.
ALTER TABLE devices ADD COLUMN window INTEGER;
