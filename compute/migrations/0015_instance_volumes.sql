-- The volumes attached to an instance (Nova's block device mappings of
-- volumes), kept with the instance as its ports are: each with its
-- Cinder attachment, device, tag, delete_on_termination, and the
-- attach or detach under way. JSON text.
ALTER TABLE compute_instances ADD COLUMN volumes TEXT NOT NULL DEFAULT '[]';
