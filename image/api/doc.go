// Package api serves the Glance v2 image API over image.Service: version
// discovery; images (create, list with filters, sorting and pagination,
// show, JSON-patch update in both media types, delete, tags,
// deactivate/reactivate); data (upload, download with Range and
// Content-MD5, stage, import with glance-direct and web-download); members;
// schemas; import info. Every call is checked against Glance's default
// policies (Defaults) with identity/policy, and images other projects may
// not see are 404, as in Glance.
//
// The handler expects identity/middleware in front of it: it reads the
// caller from the request context. Not served: image locations
// (show_multiple_locations), the tasks API, the cache API, multiple
// stores and metadata definitions (metadefs).
package api
