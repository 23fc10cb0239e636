// Package api serves the Glance v2 image API over image.Service: version
// discovery; images (create, list with filters, sorting and pagination,
// show, JSON-patch update in both media types, delete, tags,
// deactivate/reactivate); data (upload, download with Range and
// Content-MD5, stage, import with glance-direct and web-download); members;
// schemas; import info. Every call is checked against Glance's default
// policies (Defaults) with identity/policy, and images other projects may
// not see are 404, as in Glance.
//
// The bodies of create, PATCH and the member calls are read as Glance's
// deserializer reads them, and checked before the image is looked up: a
// JSON object or array (else 400 "Unexpected body type. Expected
// list/dict."); create wants an object, PATCH an array of operation
// objects whose values match the image schema, a member POST
// {"member": "<project>"}. A refused request changes nothing.
//
// The per-image caps (image.Store.Caps: 128 extra properties, tags and
// members by default) answer 413 in Glance's words: "The limit has been
// exceeded on the number of allowed image properties. Attempted: 129,
// Maximum: 128" (or "image tags") on create and PATCH; "Image tag limit
// exceeded for image <id>: <that message>:" on PUT of a tag; "Image
// member limit exceeded for image <id>: The limit has been exceeded on
// the number of allowed image members for this image. Attempted: 129,
// Maximum: 128:" on a member POST.
//
// Metadata definitions (/v2/metadefs/...) are served as Glance 25 serves
// them: namespaces, their objects, properties and tags, resource types
// and associations, under Glance's metadef policies (reads of the
// caller's project's or public namespaces, every write metadef_admin);
// bodies are validated against the schemas Glance serves at
// /v2/schemas/metadefs/* (metadefschemas/, written by Glance itself). A
// namespace the caller may not see is a 404.
//
// Image locations are served when ShowMultipleLocations is set (Glance's
// show_multiple_locations, off by default): image bodies list them (and
// direct_url with ShowDirectURL) to callers get_image_location allows,
// and PATCH adds (/locations/- or /locations/<n>), replaces (/locations)
// and removes (/locations/<n>) them under set_image_location and
// delete_image_location with Glance 25's rules, statuses and messages.
// Off, those changes are Glance's 403s.
//
// The handler expects identity/middleware in front of it: it reads the
// caller from the request context. Not served: the tasks API, the cache
// API and multiple stores.
package api
