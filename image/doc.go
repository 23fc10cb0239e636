// Package image is gostack's image area: image records with Glance's
// status machine, visibility, members (Store), and the service that moves
// data in and out of them (Service).
//
// Store keeps records on SQLite or PostgreSQL, every transition a
// compare-and-swap on the old status, every write in the watch feed.
// Service uploads (inspection by image/format and hashing by image/store
// while the data streams, bounded by the size cap and the owner's byte
// quota), stages and imports (glance-direct, web-download), downloads,
// deletes, and recovers writes a restart interrupted. image/api is the
// Glance v2 HTTP API on top; image/convert converts after inspection.
//
// Store.Caps bound what one image holds, as Glance's per-image quotas
// image_property_quota, image_tag_quota and image_member_quota: 128 extra
// properties (os_glance_* not counted), 128 tags and 128 members by
// default (DefaultCaps), negative for unlimited, 0 for none. Create,
// Update when it adds a property or a tag, and AddMember refuse a write
// that would go over with a *CapError (fault.TooLarge, Glance's 413) and
// change nothing; an image over caps lowered since it was written may
// still change as long as it gains nothing. Every write also holds
// names, tags, property names and member ids to 255 bytes and property
// values to 65535 (MaxNameLength, MaxValueLength: Glance's column sizes).
//
// Store also keeps Glance's metadata definitions catalog (metadefs):
// namespaces (public or private to their owner, protected ones whose
// content cannot be deleted) holding objects, properties and tags (Item),
// and their resource type associations. A namespace a viewer may not see
// is a 404 to it, as in Glance. LoadMetadefs loads Glance's default
// definitions files once per database, as glance-manage db_load_metadefs.
//
// Image locations (Glance's show_multiple_locations) are kept with each
// image in order: its own data in the data store (an uploaded or
// imported image's one location), and http(s) URLs a client adds
// (Service.AddLocation, ReplaceLocations, RemoveLocation, with Glance's
// rules) whose size and data Service.External reads through its guard.
// Download reads the first location that answers; Delete never touches
// remote data. Caps.Locations is Glance's image_location_quota (10).
//
// Not here: locations in other stores (rbd, swift, cinder, file URLs are
// refused as Glance refuses an unknown scheme), multiple stores, Glance's
// tasks and cache APIs, and the RBD store (it comes with the storage
// area).
package image
