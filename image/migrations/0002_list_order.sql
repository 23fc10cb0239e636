-- The default list order (created_at desc, then id): with this index a
-- page of a long list reads its own rows, not every image.
CREATE INDEX image_images_created ON image_images (created_at, id);
