-- An image's locations (Glance's image_locations, kept with the image as
-- a JSON list in order): {"local": true} is the image's own data in the
-- data store, {"url": ..., "metadata": {...}} an http(s) URL its data is
-- read from. Every image that has data so far has it in the data store.
ALTER TABLE image_images ADD COLUMN locations TEXT NOT NULL DEFAULT '[]';
UPDATE image_images SET locations = '[{"metadata":{},"local":true}]' WHERE status IN ('active', 'deactivated', 'pending_delete');
