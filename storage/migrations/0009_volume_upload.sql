-- An upload of a volume to an image under way (Cinder's
-- os-volume_upload_image): the image's id and disk format and the
-- status to return to, as a JSON object ('' for none). The volume's
-- agent reads it, copies the volume into the image and reports.
ALTER TABLE storage_volumes ADD COLUMN upload TEXT NOT NULL DEFAULT '';
