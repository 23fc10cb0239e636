-- Cinder's volume_glance_metadata of a volume made from an image (or
-- copied from one that was): the image's id, name, checksum, formats,
-- sizes and properties, as a JSON object of strings ('' for none).
ALTER TABLE storage_volumes ADD COLUMN image_metadata TEXT NOT NULL DEFAULT '';
