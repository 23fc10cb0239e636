-- A retype under way (Cinder's os-retype): what the volume's agent, or
-- the agents of the pools a migration moves it between, have to do, as
-- a JSON object ('' for none). retype_type_id is the new type, counted
-- in that type's quotas until the retype ends (Cinder's reservation),
-- retype_host the other pool the work is on (a migration's destination,
-- then its source for the old copy's removal), whose agent reads the
-- volume too.
ALTER TABLE storage_volumes ADD COLUMN retype TEXT NOT NULL DEFAULT '';
ALTER TABLE storage_volumes ADD COLUMN retype_type_id TEXT NOT NULL DEFAULT '';
ALTER TABLE storage_volumes ADD COLUMN retype_host TEXT NOT NULL DEFAULT '';
