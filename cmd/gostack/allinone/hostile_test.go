package allinone_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	novaapi "github.com/gostack/gostack/compute/api/nova"
	placementapi "github.com/gostack/gostack/compute/api/placement"
	dnsapi "github.com/gostack/gostack/dns/api"
	identityapi "github.com/gostack/gostack/identity/api"
	imageapi "github.com/gostack/gostack/image/api"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
	networkapi "github.com/gostack/gostack/network/api"
)

// The hostile-input suite: every route of every area gets malformed
// bodies, wrong types, oversized and deeply nested JSON, NUL and invalid
// UTF-8, path tricks, injection-looking filters, huge limits and markers,
// and bad or foreign tokens, through the real daemon. None of it may
// answer 5xx, an error must come in the area's OpenStack format, and
// nothing may change: the feed's head after every request, every table
// and the image files after every route.
//
// A new area adds its routes to hostileRoutes (and fixtures for its path
// parameters); a route its API serves that the table lacks fails the test.
// An area that needs a header on every request (Placement's microversion)
// lists it in areaHeaders; one whose routes are all for admins, in
// adminAreas.

// hostileRoute is one route of an area's API.
type hostileRoute struct {
	area    string // the listener and the error format: identity, image, dns, network, placement
	pattern string // exactly as the area's Routes lists it
	// body is a valid body for routes that read one; the body battery
	// breaks it. {{key}} stands for a fixture. Routes without a JSON body
	// leave it empty.
	body  string
	ctype string // the body's media type when not application/json
	flags routeFlag
}

type routeFlag int

const (
	// public routes answer without a token and may act on a valid body
	// (POST /v3/users/{id}/password authenticates by the old password):
	// the token battery leaves them out.
	public routeFlag = 1 << iota
	// foreignWrite: another project may legitimately write here (an image
	// member accepting the share), so the foreign token gets no valid body.
	foreignWrite
	// recordsRefusals: the route keeps a record of a refused body, as
	// Designate's zone import does (a task in ERROR saying why): its
	// probes may add such records (zone tasks), and nothing else.
	recordsRefusals
)

var hostileRoutes = append(append(append(append(assignmentRoutes(), networkTagRoutes()...), computeRoutes()...), volumeRoutes()...), []hostileRoute{
	// identity
	{area: "identity", pattern: "GET /{$}", flags: public},
	{area: "identity", pattern: "GET /v3", flags: public},
	{area: "identity", pattern: "GET /v3/{$}", flags: public},
	{area: "identity", pattern: "POST /v3/auth/tokens", flags: public,
		body: `{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"{{user}}","password":"a-pw"}}},"scope":{"project":{"id":"{{project}}"}}}}`},
	{area: "identity", pattern: "GET /v3/auth/tokens"},
	{area: "identity", pattern: "HEAD /v3/auth/tokens"},
	{area: "identity", pattern: "DELETE /v3/auth/tokens"},
	{area: "identity", pattern: "GET /v3/auth/catalog"},
	{area: "identity", pattern: "GET /v3/auth/projects"},
	{area: "identity", pattern: "GET /v3/auth/domains"},
	{area: "identity", pattern: "GET /v3/auth/system"},
	{area: "identity", pattern: "GET /v3/domains"},
	{area: "identity", pattern: "POST /v3/domains", body: `{"domain":{"name":"hostile-new","description":"d","enabled":true}}`},
	{area: "identity", pattern: "GET /v3/domains/{id}"},
	{area: "identity", pattern: "PATCH /v3/domains/{id}", body: `{"domain":{"description":"changed","enabled":true}}`},
	{area: "identity", pattern: "DELETE /v3/domains/{id}"},
	{area: "identity", pattern: "GET /v3/projects"},
	{area: "identity", pattern: "POST /v3/projects", body: `{"project":{"name":"hostile-new","domain_id":"default","description":"d","enabled":true,"tags":["a"]}}`},
	{area: "identity", pattern: "GET /v3/projects/{id}"},
	{area: "identity", pattern: "PATCH /v3/projects/{id}", body: `{"project":{"description":"changed","tags":["b"]}}`},
	{area: "identity", pattern: "DELETE /v3/projects/{id}"},
	{area: "identity", pattern: "GET /v3/projects/{id}/tags"},
	{area: "identity", pattern: "PUT /v3/projects/{id}/tags", body: `{"tags":["hostile-a","hostile-b"]}`},
	{area: "identity", pattern: "DELETE /v3/projects/{id}/tags"},
	{area: "identity", pattern: "GET /v3/projects/{id}/tags/{tag}"},
	{area: "identity", pattern: "PUT /v3/projects/{id}/tags/{tag}"},
	{area: "identity", pattern: "DELETE /v3/projects/{id}/tags/{tag}"},
	{area: "identity", pattern: "GET /v3/users"},
	{area: "identity", pattern: "POST /v3/users", body: `{"user":{"name":"hostile-new","password":"pw","domain_id":"default","enabled":true,"description":"d"}}`},
	{area: "identity", pattern: "GET /v3/users/{id}"},
	{area: "identity", pattern: "PATCH /v3/users/{id}", body: `{"user":{"description":"changed","enabled":true}}`},
	{area: "identity", pattern: "DELETE /v3/users/{id}"},
	// A wrong original password: every variant is refused, none changes it.
	{area: "identity", pattern: "POST /v3/users/{id}/password", flags: public, body: `{"user":{"password":"new-pw","original_password":"not-a-pw"}}`},
	{area: "identity", pattern: "GET /v3/users/{id}/projects"},
	{area: "identity", pattern: "GET /v3/users/{id}/groups"},
	{area: "identity", pattern: "GET /v3/groups"},
	{area: "identity", pattern: "POST /v3/groups", body: `{"group":{"name":"hostile-new","domain_id":"default","description":"d"}}`},
	{area: "identity", pattern: "GET /v3/groups/{id}"},
	{area: "identity", pattern: "PATCH /v3/groups/{id}", body: `{"group":{"description":"changed"}}`},
	{area: "identity", pattern: "DELETE /v3/groups/{id}"},
	{area: "identity", pattern: "GET /v3/groups/{id}/users"},
	{area: "identity", pattern: "PUT /v3/groups/{id}/users/{uid}"},
	{area: "identity", pattern: "HEAD /v3/groups/{id}/users/{uid}"},
	{area: "identity", pattern: "GET /v3/groups/{id}/users/{uid}"},
	{area: "identity", pattern: "DELETE /v3/groups/{id}/users/{uid}"},
	{area: "identity", pattern: "GET /v3/roles"},
	{area: "identity", pattern: "POST /v3/roles", body: `{"role":{"name":"hostile-new","description":"d"}}`},
	{area: "identity", pattern: "GET /v3/roles/{id}"},
	{area: "identity", pattern: "PATCH /v3/roles/{id}", body: `{"role":{"description":"changed"}}`},
	{area: "identity", pattern: "DELETE /v3/roles/{id}"},
	{area: "identity", pattern: "GET /v3/roles/{id}/implies"},
	{area: "identity", pattern: "PUT /v3/roles/{id}/implies/{implied}"},
	{area: "identity", pattern: "GET /v3/roles/{id}/implies/{implied}"},
	{area: "identity", pattern: "HEAD /v3/roles/{id}/implies/{implied}"},
	{area: "identity", pattern: "DELETE /v3/roles/{id}/implies/{implied}"},
	{area: "identity", pattern: "GET /v3/role_inferences"},
	{area: "identity", pattern: "GET /v3/role_assignments"},
	{area: "identity", pattern: "GET /v3/regions"},
	{area: "identity", pattern: "POST /v3/regions", body: `{"region":{"id":"hostile-new","description":"d"}}`},
	{area: "identity", pattern: "GET /v3/regions/{id}"},
	// The body's id pins the region: another id in the path is refused
	// (Conflicting region IDs), the fixture's own is taken (409).
	{area: "identity", pattern: "PUT /v3/regions/{id}", body: `{"region":{"id":"hostile-region","description":"d"}}`},
	{area: "identity", pattern: "PATCH /v3/regions/{id}", body: `{"region":{"description":"changed"}}`},
	{area: "identity", pattern: "DELETE /v3/regions/{id}"},
	{area: "identity", pattern: "GET /v3/services"},
	{area: "identity", pattern: "POST /v3/services", body: `{"service":{"type":"hostile","name":"hostile-new","enabled":true}}`},
	{area: "identity", pattern: "GET /v3/services/{id}"},
	{area: "identity", pattern: "PATCH /v3/services/{id}", body: `{"service":{"description":"changed"}}`},
	{area: "identity", pattern: "DELETE /v3/services/{id}"},
	{area: "identity", pattern: "GET /v3/endpoints"},
	{area: "identity", pattern: "POST /v3/endpoints", body: `{"endpoint":{"service_id":"{{service}}","interface":"public","url":"http://new.example/","region_id":"RegionOne","enabled":true}}`},
	{area: "identity", pattern: "GET /v3/endpoints/{id}"},
	{area: "identity", pattern: "PATCH /v3/endpoints/{id}", body: `{"endpoint":{"url":"http://changed.example/"}}`},
	{area: "identity", pattern: "DELETE /v3/endpoints/{id}"},
	{area: "identity", pattern: "POST /v3/users/{uid}/application_credentials", body: `{"application_credential":{"name":"hostile-new","description":"d","unrestricted":false}}`},
	{area: "identity", pattern: "GET /v3/users/{uid}/application_credentials"},
	{area: "identity", pattern: "GET /v3/users/{uid}/application_credentials/{id}"},
	{area: "identity", pattern: "DELETE /v3/users/{uid}/application_credentials/{id}"},
	{area: "identity", pattern: "POST /v3/credentials", body: `{"credential":{"user_id":"{{user}}","type":"cert","blob":"hostile"}}`},
	{area: "identity", pattern: "GET /v3/credentials"},
	{area: "identity", pattern: "GET /v3/credentials/{id}"},
	{area: "identity", pattern: "PATCH /v3/credentials/{id}", body: `{"credential":{"blob":"changed"}}`},
	{area: "identity", pattern: "DELETE /v3/credentials/{id}"},
	{area: "identity", pattern: "POST /v3/users/{uid}/credentials/OS-EC2", body: `{"tenant_id":"{{project}}"}`},
	{area: "identity", pattern: "GET /v3/users/{uid}/credentials/OS-EC2"},
	{area: "identity", pattern: "GET /v3/users/{uid}/credentials/OS-EC2/{id}"},
	{area: "identity", pattern: "DELETE /v3/users/{uid}/credentials/OS-EC2/{id}"},
	{area: "identity", pattern: "POST /v3/ec2tokens",
		body: `{"credentials":{"access":"{{OS-EC2}}","signature":"x","host":"h:1","verb":"GET","path":"/","params":{"SignatureVersion":"2"}}}`},
	{area: "identity", pattern: "POST /v3/OS-TRUST/trusts",
		body: `{"trust":{"trustor_user_id":"{{user}}","trustee_user_id":"{{trustee}}","project_id":"{{project}}","impersonation":false,"roles":[{"name":"member"}]}}`},
	{area: "identity", pattern: "GET /v3/OS-TRUST/trusts"},
	{area: "identity", pattern: "GET /v3/OS-TRUST/trusts/{id}"},
	{area: "identity", pattern: "DELETE /v3/OS-TRUST/trusts/{id}"},
	{area: "identity", pattern: "GET /v3/OS-TRUST/trusts/{id}/roles"},
	{area: "identity", pattern: "GET /v3/OS-TRUST/trusts/{id}/roles/{role_id}"},
	{area: "identity", pattern: "POST /v3/OS-EP-FILTER/endpoint_groups",
		body: `{"endpoint_group":{"name":"hostile-new","description":"d","filters":{"interface":"admin","region_id":"hostile-region"}}}`},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/endpoint_groups"},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/endpoint_groups/{id}"},
	{area: "identity", pattern: "PATCH /v3/OS-EP-FILTER/endpoint_groups/{id}", body: `{"endpoint_group":{"name":"changed","filters":{"interface":"internal"}}}`},
	{area: "identity", pattern: "DELETE /v3/OS-EP-FILTER/endpoint_groups/{id}"},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/endpoint_groups/{id}/endpoints"},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/endpoint_groups/{id}/projects"},
	{area: "identity", pattern: "PUT /v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project_id}"},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project_id}"},
	{area: "identity", pattern: "DELETE /v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project_id}"},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/projects/{project_id}/endpoints"},
	{area: "identity", pattern: "PUT /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}"},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}"},
	{area: "identity", pattern: "DELETE /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}"},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups"},
	{area: "identity", pattern: "GET /v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects"},
	{area: "identity", pattern: "POST /v3/policies", body: `{"policy":{"type":"application/json","blob":"{}"}}`},
	{area: "identity", pattern: "GET /v3/policies"},
	{area: "identity", pattern: "GET /v3/policies/{id}"},
	{area: "identity", pattern: "PATCH /v3/policies/{id}", body: `{"policy":{"blob":"{\"changed\": 1}"}}`},
	{area: "identity", pattern: "DELETE /v3/policies/{id}"},

	// image
	{area: "image", pattern: "GET /{$}", flags: public},
	{area: "image", pattern: "GET /versions", flags: public},
	{area: "image", pattern: "GET /v2", flags: public},
	{area: "image", pattern: "GET /v2/{$}", flags: public},
	{area: "image", pattern: "POST /v2/images", body: `{"name":"hostile-new","disk_format":"raw","container_format":"bare","min_ram":1,"protected":false,"tags":["a"],"visibility":"private"}`},
	{area: "image", pattern: "GET /v2/images"},
	{area: "image", pattern: "GET /v2/images/{id}"},
	{area: "image", pattern: "PATCH /v2/images/{id}", ctype: "application/openstack-images-v2.1-json-patch",
		body: `[{"op":"replace","path":"/name","value":"changed"},{"op":"add","path":"/hw_disk_bus","value":"scsi"}]`},
	{area: "image", pattern: "DELETE /v2/images/{id}"},
	{area: "image", pattern: "PUT /v2/images/{id}/tags/{tag}"},
	{area: "image", pattern: "DELETE /v2/images/{id}/tags/{tag}"},
	{area: "image", pattern: "POST /v2/images/{id}/actions/deactivate"},
	{area: "image", pattern: "POST /v2/images/{id}/actions/reactivate"},
	{area: "image", pattern: "PUT /v2/images/{id}/file"},
	{area: "image", pattern: "GET /v2/images/{id}/file"},
	{area: "image", pattern: "PUT /v2/images/{id}/stage"},
	{area: "image", pattern: "POST /v2/images/{id}/import", body: `{"method":{"name":"glance-direct"}}`},
	{area: "image", pattern: "GET /v2/info/import"},
	{area: "image", pattern: "GET /v2/images/{id}/members"},
	{area: "image", pattern: "POST /v2/images/{id}/members", body: `{"member":"{{project_c}}"}`},
	{area: "image", pattern: "GET /v2/images/{id}/members/{member}"},
	{area: "image", pattern: "PUT /v2/images/{id}/members/{member}", body: `{"status":"accepted"}`, flags: foreignWrite},
	{area: "image", pattern: "DELETE /v2/images/{id}/members/{member}"},
	{area: "image", pattern: "GET /v2/schemas/image", flags: public},
	{area: "image", pattern: "GET /v2/schemas/images", flags: public},
	{area: "image", pattern: "GET /v2/schemas/member", flags: public},
	{area: "image", pattern: "GET /v2/schemas/members", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/namespace", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/namespaces", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/object", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/objects", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/property", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/properties", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/tag", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/tags", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/resource_type", flags: public},
	{area: "image", pattern: "GET /v2/schemas/metadefs/resource_types", flags: public},
	{area: "image", pattern: "GET /v2/metadefs/namespaces"},
	{area: "image", pattern: "POST /v2/metadefs/namespaces", body: `{"namespace":"hostile-new","display_name":"d","visibility":"private","protected":false,"tags":[{"name":"a"}],"properties":{"p":{"type":"string","title":"P"}}}`},
	{area: "image", pattern: "GET /v2/metadefs/namespaces/{ns}"},
	{area: "image", pattern: "PUT /v2/metadefs/namespaces/{ns}", body: `{"namespace":"hostile-ns","display_name":"changed","visibility":"private","owner":"{{project}}"}`},
	{area: "image", pattern: "DELETE /v2/metadefs/namespaces/{ns}"},
	{area: "image", pattern: "GET /v2/metadefs/resource_types"},
	{area: "image", pattern: "GET /v2/metadefs/namespaces/{ns}/resource_types"},
	{area: "image", pattern: "POST /v2/metadefs/namespaces/{ns}/resource_types", body: `{"name":"OS::Cinder::Volume","prefix":"x_"}`},
	{area: "image", pattern: "DELETE /v2/metadefs/namespaces/{ns}/resource_types/{rt}"},
	{area: "image", pattern: "GET /v2/metadefs/namespaces/{ns}/objects"},
	{area: "image", pattern: "POST /v2/metadefs/namespaces/{ns}/objects", body: `{"name":"hostile-new","description":"d","required":["p"],"properties":{"p":{"type":"integer","title":"P","minimum":1}}}`},
	{area: "image", pattern: "DELETE /v2/metadefs/namespaces/{ns}/objects"},
	{area: "image", pattern: "GET /v2/metadefs/namespaces/{ns}/objects/{item}"},
	{area: "image", pattern: "PUT /v2/metadefs/namespaces/{ns}/objects/{item}", body: `{"name":"hostile-obj","description":"changed"}`},
	{area: "image", pattern: "DELETE /v2/metadefs/namespaces/{ns}/objects/{item}"},
	{area: "image", pattern: "GET /v2/metadefs/namespaces/{ns}/properties"},
	{area: "image", pattern: "POST /v2/metadefs/namespaces/{ns}/properties", body: `{"name":"hostile-new","title":"T","type":"string","enum":["a","b"]}`},
	{area: "image", pattern: "DELETE /v2/metadefs/namespaces/{ns}/properties"},
	{area: "image", pattern: "GET /v2/metadefs/namespaces/{ns}/properties/{item}"},
	{area: "image", pattern: "PUT /v2/metadefs/namespaces/{ns}/properties/{item}", body: `{"name":"hostile-prop","title":"T","type":"boolean"}`},
	{area: "image", pattern: "DELETE /v2/metadefs/namespaces/{ns}/properties/{item}"},
	{area: "image", pattern: "GET /v2/metadefs/namespaces/{ns}/tags"},
	{area: "image", pattern: "POST /v2/metadefs/namespaces/{ns}/tags", body: `{"tags":[{"name":"x"},{"name":"y"}]}`},
	{area: "image", pattern: "DELETE /v2/metadefs/namespaces/{ns}/tags"},
	{area: "image", pattern: "GET /v2/metadefs/namespaces/{ns}/tags/{item}"},
	{area: "image", pattern: "POST /v2/metadefs/namespaces/{ns}/tags/{item}"},
	{area: "image", pattern: "PUT /v2/metadefs/namespaces/{ns}/tags/{item}", body: `{"name":"hostile-tag2"}`},
	{area: "image", pattern: "DELETE /v2/metadefs/namespaces/{ns}/tags/{item}"},

	// dns
	{area: "dns", pattern: "GET /{$}", flags: public},
	{area: "dns", pattern: "GET /v2", flags: public},
	{area: "dns", pattern: "POST /v2/zones", body: `{"name":"new.hostile.example.","email":"h@hostile.example","ttl":300,"description":"d"}`},
	{area: "dns", pattern: "GET /v2/zones"},
	{area: "dns", pattern: "GET /v2/zones/{zone_id}"},
	{area: "dns", pattern: "PATCH /v2/zones/{zone_id}", body: `{"email":"changed@hostile.example","ttl":600}`},
	{area: "dns", pattern: "DELETE /v2/zones/{zone_id}"},
	{area: "dns", pattern: "GET /v2/zones/{zone_id}/nameservers"},
	{area: "dns", pattern: "POST /v2/zones/{zone_id}/recordsets", body: `{"name":"new.{{zonename}}","type":"A","records":["192.0.2.7"],"ttl":300}`},
	{area: "dns", pattern: "GET /v2/zones/{zone_id}/recordsets"},
	{area: "dns", pattern: "GET /v2/zones/{zone_id}/recordsets/{recordset_id}"},
	{area: "dns", pattern: "PUT /v2/zones/{zone_id}/recordsets/{recordset_id}", body: `{"records":["192.0.2.8"],"ttl":600}`},
	{area: "dns", pattern: "DELETE /v2/zones/{zone_id}/recordsets/{recordset_id}"},
	{area: "dns", pattern: "POST /v2/zones/{zone_id}/tasks/transfer_requests", body: `{"target_project_id":"{{project_b}}","description":"d"}`},
	{area: "dns", pattern: "GET /v2/zones/tasks/transfer_requests"},
	{area: "dns", pattern: "GET /v2/zones/tasks/transfer_requests/{transfer_request_id}"},
	{area: "dns", pattern: "PATCH /v2/zones/tasks/transfer_requests/{transfer_request_id}", body: `{"description":"changed"}`},
	{area: "dns", pattern: "DELETE /v2/zones/tasks/transfer_requests/{transfer_request_id}"},
	{area: "dns", pattern: "POST /v2/zones/tasks/transfer_accepts", body: `{"zone_transfer_request_id":"{{transfer_requests}}","key":"{{transfer_key}}"}`},
	{area: "dns", pattern: "GET /v2/zones/tasks/transfer_accepts"},
	{area: "dns", pattern: "GET /v2/zones/tasks/transfer_accepts/{transfer_accept_id}"},
	{area: "dns", pattern: "POST /v2/zones/tasks/imports", ctype: "text/dns", flags: recordsRefusals,
		body: "$ORIGIN imported.hostile.example.\n@ IN SOA ns.hostile.example. h.hostile.example. 1 3600 600 86400 300\nwww IN A 192.0.2.9\n"},
	{area: "dns", pattern: "GET /v2/zones/tasks/imports"},
	{area: "dns", pattern: "GET /v2/zones/tasks/imports/{zone_import_id}"},
	{area: "dns", pattern: "DELETE /v2/zones/tasks/imports/{zone_import_id}"},
	{area: "dns", pattern: "POST /v2/zones/{zone_id}/tasks/export"},
	{area: "dns", pattern: "GET /v2/zones/tasks/exports"},
	{area: "dns", pattern: "GET /v2/zones/tasks/exports/{zone_export_id}"},
	{area: "dns", pattern: "DELETE /v2/zones/tasks/exports/{zone_export_id}"},
	{area: "dns", pattern: "GET /v2/zones/tasks/exports/{zone_export_id}/export"},
	{area: "dns", pattern: "POST /v2/zones/{zone_id}/tasks/abandon"},
	{area: "dns", pattern: "POST /v2/zones/{zone_id}/tasks/xfr"},
	{area: "dns", pattern: "POST /v2/zones/{zone_id}/tasks/pool_move", body: `{"pool_id":"{{pool}}"}`}, // the zone's own pool: refused
	{area: "dns", pattern: "POST /v2/zones/{zone_id}/shares", body: `{"target_project_id":"{{project_b}}"}`},
	{area: "dns", pattern: "GET /v2/zones/{zone_id}/shares"},
	{area: "dns", pattern: "GET /v2/zones/{zone_id}/shares/{zone_share_id}"},
	{area: "dns", pattern: "DELETE /v2/zones/{zone_id}/shares/{zone_share_id}"},
	{area: "dns", pattern: "GET /v2/recordsets"},
	{area: "dns", pattern: "GET /v2/recordsets/{recordset_id}"},
	{area: "dns", pattern: "POST /v2/tsigkeys", body: `{"name":"hostile-new","algorithm":"hmac-sha256","secret":"c2VjcmV0","scope":"POOL","resource_id":"{{pool}}"}`},
	{area: "dns", pattern: "GET /v2/tsigkeys"},
	{area: "dns", pattern: "GET /v2/tsigkeys/{tsigkey_id}"},
	{area: "dns", pattern: "PATCH /v2/tsigkeys/{tsigkey_id}", body: `{"name":"hostile-changed"}`},
	{area: "dns", pattern: "DELETE /v2/tsigkeys/{tsigkey_id}"},
	{area: "dns", pattern: "POST /v2/tlds", body: `{"name":"hostile-new","description":"d"}`},
	{area: "dns", pattern: "GET /v2/tlds"},
	{area: "dns", pattern: "GET /v2/tlds/{tld_id}"},
	{area: "dns", pattern: "PATCH /v2/tlds/{tld_id}", body: `{"name":"hostile-changed","description":"changed"}`},
	{area: "dns", pattern: "DELETE /v2/tlds/{tld_id}"},
	{area: "dns", pattern: "POST /v2/blacklists", body: `{"pattern":"^hostile-new\\.","description":"d"}`},
	{area: "dns", pattern: "GET /v2/blacklists"},
	{area: "dns", pattern: "GET /v2/blacklists/{blacklist_id}"},
	{area: "dns", pattern: "PATCH /v2/blacklists/{blacklist_id}", body: `{"pattern":"^hostile-changed\\.","description":"changed"}`},
	{area: "dns", pattern: "DELETE /v2/blacklists/{blacklist_id}"},
	{area: "dns", pattern: "POST /v2/pools", body: `{"name":"hostile-new","description":"d","attributes":{"k":"v"},` +
		`"ns_records":[{"hostname":"ns1.hostile.example.","priority":1}],"also_notifies":[{"host":"192.0.2.9","port":53}],` +
		`"targets":[{"type":"secondary","options":{"host":"192.0.2.10","port":"53"}}]}`},
	{area: "dns", pattern: "GET /v2/pools"},
	{area: "dns", pattern: "GET /v2/pools/{pool_id}"},
	{area: "dns", pattern: "PATCH /v2/pools/{pool_id}", body: `{"description":"changed","attributes":{"k":"v"}}`},
	{area: "dns", pattern: "DELETE /v2/pools/{pool_id}"},
	{area: "dns", pattern: "GET /v2/service_statuses"},
	{area: "dns", pattern: "GET /v2/service_statuses/{service_id}"},
	{area: "dns", pattern: "GET /v2/quotas"},
	{area: "dns", pattern: "GET /v2/quotas/{project_id}"},
	{area: "dns", pattern: "PATCH /v2/quotas/{project_id}", body: `{"zones":20,"recordset_records":30}`},
	{area: "dns", pattern: "DELETE /v2/quotas/{project_id}"},
	{area: "dns", pattern: "GET /v2/limits"},
	{area: "dns", pattern: "GET /v2/reverse/floatingips"},
	{area: "dns", pattern: "GET /v2/reverse/floatingips/{fip_key}"},
	{area: "dns", pattern: "PATCH /v2/reverse/floatingips/{fip_key}", body: `{"ptrdname":"ptr.hostile.example.","ttl":300}`},

	// network
	{area: "network", pattern: "GET /{$}", flags: public},
	{area: "network", pattern: "GET /v2.0"},
	{area: "network", pattern: "GET /v2.0/{$}"},
	{area: "network", pattern: "GET /v2.0/extensions"},
	{area: "network", pattern: "GET /v2.0/extensions/{alias}"},
	// Neutron takes "yes" and 1 for a boolean (convert_to_boolean), so the
	// sample bodies leave booleans out: their mutations are valid input.
	{area: "network", pattern: "POST /v2.0/networks", body: `{"network":{"name":"hostile-new"}}`},
	{area: "network", pattern: "GET /v2.0/networks"},
	{area: "network", pattern: "GET /v2.0/networks/{id}"},
	{area: "network", pattern: "PUT /v2.0/networks/{id}", body: `{"network":{"name":"hostile-changed"}}`},
	{area: "network", pattern: "DELETE /v2.0/networks/{id}"},
	{area: "network", pattern: "POST /v2.0/subnets", body: `{"subnet":{"network_id":"{{networks}}","cidr":"10.77.0.0/24","ip_version":4}}`},
	{area: "network", pattern: "GET /v2.0/subnets"},
	{area: "network", pattern: "GET /v2.0/subnets/{id}"},
	{area: "network", pattern: "PUT /v2.0/subnets/{id}", body: `{"subnet":{"name":"hostile-changed"}}`},
	{area: "network", pattern: "DELETE /v2.0/subnets/{id}"},
	{area: "network", pattern: "POST /v2.0/ports", body: `{"port":{"network_id":"{{networks}}","name":"hostile-new"}}`},
	{area: "network", pattern: "GET /v2.0/ports"},
	{area: "network", pattern: "GET /v2.0/ports/{id}"},
	{area: "network", pattern: "PUT /v2.0/ports/{id}", body: `{"port":{"name":"hostile-changed"}}`},
	{area: "network", pattern: "DELETE /v2.0/ports/{id}"},
	// The rule's sample has no ports: Neutron takes "22" for 22, so a
	// mutation of a port would be valid input.
	{area: "network", pattern: "POST /v2.0/security-groups", body: `{"security_group":{"name":"hostile-new","description":"d"}}`},
	{area: "network", pattern: "GET /v2.0/security-groups"},
	{area: "network", pattern: "GET /v2.0/security-groups/{id}"},
	{area: "network", pattern: "PUT /v2.0/security-groups/{id}", body: `{"security_group":{"name":"hostile-changed"}}`},
	{area: "network", pattern: "DELETE /v2.0/security-groups/{id}"},
	{area: "network", pattern: "POST /v2.0/security-group-rules",
		body: `{"security_group_rule":{"security_group_id":"{{security-groups}}","direction":"ingress","remote_ip_prefix":"10.9.0.0/16"}}`},
	{area: "network", pattern: "GET /v2.0/security-group-rules"},
	{area: "network", pattern: "GET /v2.0/security-group-rules/{id}"},
	{area: "network", pattern: "DELETE /v2.0/security-group-rules/{id}"},
	{area: "network", pattern: "POST /v2.0/routers", body: `{"router":{"name":"hostile-new","external_gateway_info":{"network_id":"{{external}}"}}}`},
	{area: "network", pattern: "GET /v2.0/routers"},
	{area: "network", pattern: "GET /v2.0/routers/{id}"},
	{area: "network", pattern: "PUT /v2.0/routers/{id}",
		body: `{"router":{"name":"hostile-changed","routes":[{"destination":"10.99.0.0/16","nexthop":"10.66.0.50"}]}}`},
	{area: "network", pattern: "DELETE /v2.0/routers/{id}"},
	{area: "network", pattern: "PUT /v2.0/routers/{id}/add_router_interface", body: `{"subnet_id":"{{subnet-unrouted}}"}`},
	{area: "network", pattern: "PUT /v2.0/routers/{id}/remove_router_interface", body: `{"subnet_id":"{{subnets}}"}`},
	{area: "network", pattern: "PUT /v2.0/routers/{id}/add_extraroutes",
		body: `{"router":{"routes":[{"destination":"10.98.0.0/16","nexthop":"10.66.0.51"}]}}`},
	{area: "network", pattern: "PUT /v2.0/routers/{id}/remove_extraroutes",
		body: `{"router":{"routes":[{"destination":"10.97.0.0/16","nexthop":"10.66.0.52"}]}}`},
	{area: "network", pattern: "POST /v2.0/floatingips", body: `{"floatingip":{"floating_network_id":"{{external}}","description":"d"}}`},
	{area: "network", pattern: "GET /v2.0/floatingips"},
	{area: "network", pattern: "GET /v2.0/floatingips/{id}"},
	{area: "network", pattern: "PUT /v2.0/floatingips/{id}", body: `{"floatingip":{"port_id":"{{ports}}","description":"hostile-changed"}}`},
	{area: "network", pattern: "DELETE /v2.0/floatingips/{id}"},
	// The fixture project already has this limit: a mutation Neutron
	// takes ("12345" for 12345) changes nothing.
	{area: "network", pattern: "GET /v2.0/quotas"},
	{area: "network", pattern: "GET /v2.0/quotas/{project_id}"},
	{area: "network", pattern: "PUT /v2.0/quotas/{project_id}", body: `{"quota":{"network":12345}}`},
	{area: "network", pattern: "DELETE /v2.0/quotas/{project_id}"},
	{area: "network", pattern: "GET /v2.0/quotas/{project_id}/default"},
	{area: "network", pattern: "GET /v2.0/quotas/{project_id}/details"},
	{area: "network", pattern: "GET /v2.0/agents"},
	{area: "network", pattern: "GET /v2.0/agents/{id}"},
	{area: "network", pattern: "PUT /v2.0/agents/{id}", body: `{"agent":{"description":"hostile-changed"}}`},
	{area: "network", pattern: "DELETE /v2.0/agents/{id}"},
	// The agents' internal API (service role).
	{area: "network", pattern: "GET /internal/hosts/{host}"},
	{area: "network", pattern: "PUT /internal/hosts/{host}/agent",
		body: `{"agent":{"agent_type":"Open vSwitch agent","binary":"gostack-network-agent","tunnel_ip":"192.0.2.1"}}`},
	{area: "network", pattern: "PUT /internal/hosts/{host}/ports", body: `{"ports":{"{{ports}}":"ACTIVE"}}`},
	{area: "network", pattern: "PUT /internal/hosts/{host}/dhcp/{network}"},
	{area: "network", pattern: "PUT /internal/hosts/{host}/floatingips", body: `{"floatingips":{"{{floatingips/id}}":"ACTIVE"}}`},

	// placement, at its latest microversion (areaHeaders)
	{area: "placement", pattern: "GET /{$}", flags: public},
	{area: "placement", pattern: "GET /resource_providers"},
	{area: "placement", pattern: "POST /resource_providers", body: `{"name":"hostile-new","parent_provider_uuid":"{{resource_providers}}"}`},
	{area: "placement", pattern: "GET /resource_providers/{uuid}"},
	{area: "placement", pattern: "PUT /resource_providers/{uuid}", body: `{"name":"hostile-changed"}`},
	{area: "placement", pattern: "DELETE /resource_providers/{uuid}"},
	{area: "placement", pattern: "GET /resource_providers/{uuid}/aggregates"},
	{area: "placement", pattern: "PUT /resource_providers/{uuid}/aggregates",
		body: `{"aggregates":["{{aggregate}}","{{aggregate_new}}"],"resource_provider_generation":{{rp_generation}}}`},
	{area: "placement", pattern: "GET /resource_providers/{uuid}/usages"},
	{area: "placement", pattern: "GET /resource_providers/{uuid}/allocations"},
	{area: "placement", pattern: "GET /resource_providers/{uuid}/inventories"},
	{area: "placement", pattern: "PUT /resource_providers/{uuid}/inventories",
		body: `{"resource_provider_generation":{{rp_generation}},"inventories":{"VCPU":{"total":16,"allocation_ratio":2.0},"MEMORY_MB":{"total":8192,"reserved":512},"DISK_GB":{"total":200}}}`},
	{area: "placement", pattern: "POST /resource_providers/{uuid}/inventories", body: `{"resource_class":"{{resource_classes}}","total":4,"max_unit":2}`},
	{area: "placement", pattern: "DELETE /resource_providers/{uuid}/inventories"},
	{area: "placement", pattern: "GET /resource_providers/{uuid}/inventories/{class}"},
	{area: "placement", pattern: "PUT /resource_providers/{uuid}/inventories/{class}", body: `{"resource_provider_generation":{{rp_generation}},"total":16,"reserved":1}`},
	{area: "placement", pattern: "DELETE /resource_providers/{uuid}/inventories/{class}"},
	{area: "placement", pattern: "GET /traits"},
	{area: "placement", pattern: "GET /traits/{name}"},
	{area: "placement", pattern: "PUT /traits/{name}"},
	{area: "placement", pattern: "DELETE /traits/{name}"},
	{area: "placement", pattern: "GET /resource_providers/{uuid}/traits"},
	{area: "placement", pattern: "PUT /resource_providers/{uuid}/traits", body: `{"traits":["{{traits}}","HW_CPU_X86_AVX2"],"resource_provider_generation":{{rp_generation}}}`},
	{area: "placement", pattern: "DELETE /resource_providers/{uuid}/traits"},
	{area: "placement", pattern: "GET /resource_classes"},
	{area: "placement", pattern: "POST /resource_classes", body: `{"name":"CUSTOM_HOSTILE_NEW"}`},
	{area: "placement", pattern: "GET /resource_classes/{name}"},
	{area: "placement", pattern: "PUT /resource_classes/{name}"},
	{area: "placement", pattern: "DELETE /resource_classes/{name}"},
	{area: "placement", pattern: "POST /allocations",
		body: `{"{{consumer_new}}":{"allocations":{"{{resource_providers}}":{"resources":{"VCPU":1}}},"project_id":"{{project}}","user_id":"{{user}}","consumer_generation":null,"consumer_type":"MIGRATION"}}`},
	{area: "placement", pattern: "GET /allocations/{consumer}"},
	{area: "placement", pattern: "PUT /allocations/{consumer}",
		body: `{"allocations":{"{{resource_providers}}":{"resources":{"VCPU":2,"MEMORY_MB":512}}},"project_id":"{{project}}","user_id":"{{user}}","consumer_generation":{{consumer_generation}},"consumer_type":"INSTANCE"}`},
	{area: "placement", pattern: "DELETE /allocations/{consumer}"},
	{area: "placement", pattern: "GET /allocation_candidates"},
	{area: "placement", pattern: "GET /usages"},
}...)

// assignmentRoutes are Keystone's grant routes: on projects and domains
// (and inherited to projects), and on the system, for users and groups.
func assignmentRoutes() []hostileRoute {
	var out []hostileRoute
	add := func(method, path string) {
		out = append(out, hostileRoute{area: "identity", pattern: method + " " + path})
	}
	for _, target := range []string{"projects", "domains"} {
		for _, actor := range []string{"users", "groups"} {
			base := "/v3/" + target + "/{target}/" + actor + "/{actor}/roles"
			add("GET", base)
			for _, m := range []string{"PUT", "HEAD", "GET", "DELETE"} {
				add(m, base+"/{role}")
				add(m, "/v3/OS-INHERIT"+strings.TrimPrefix(base, "/v3")+"/{role}/inherited_to_projects")
			}
		}
	}
	for _, actor := range []string{"users", "groups"} {
		add("GET", "/v3/OS-INHERIT/domains/{target}/"+actor+"/{actor}/roles/inherited_to_projects")
	}
	for _, actor := range []string{"users", "groups"} {
		base := "/v3/system/" + actor + "/{actor}/roles"
		add("GET", base)
		for _, m := range []string{"PUT", "HEAD", "GET", "DELETE"} {
			add(m, base+"/{role}")
		}
	}
	return out
}

// networkTagRoutes are Neutron's tag routes on each tagged collection
// (their {id} the collection's fixture, {tag} the free "tags" one).
func networkTagRoutes() []hostileRoute {
	var out []hostileRoute
	for _, c := range []string{"networks", "subnets", "ports", "routers", "floatingips", "security-groups"} {
		base := "/v2.0/" + c + "/{id}/tags"
		for _, r := range []hostileRoute{{pattern: "GET " + base}, {pattern: "PUT " + base, body: `{"tags":["hostile-a","hostile-b"]}`},
			{pattern: "DELETE " + base}, {pattern: "GET " + base + "/{tag}"}, {pattern: "PUT " + base + "/{tag}"}, {pattern: "DELETE " + base + "/{tag}"}} {
			r.area = "network"
			out = append(out, r)
		}
	}
	return out
}

// freeParams are path parameters whose value is the caller's free choice
// (a tag, a project id Designate does not check): any text there is a
// valid request, so they get only the variants no route may accept.
// Keyed by the segment before the parameter, or segment/parameter where
// areas share the segment.
var freeParams = map[string]bool{"tags": true, "quotas": true, "floatingips/fip_key": true, "hosts": true}

// areaRoutes are the routes each area's API serves.
func areaRoutes() map[string][]string {
	return map[string][]string{
		"identity":  (&identityapi.API{}).Routes(),
		"image":     (&imageapi.API{}).Routes(),
		"dns":       (&dnsapi.API{}).Routes(),
		"network":   (&networkapi.API{}).Routes(),
		"placement": (&placementapi.API{}).Routes(),
		"compute":   (&novaapi.API{}).Routes(),
		"volume":    volumeServed(),
	}
}

// areaHeaders are headers every request to an area carries, fixtures
// included: Placement answers a route newer than its default 1.0 with
// 404, so the suite asks for its latest microversion.
var areaHeaders = map[string]map[string]string{
	"placement": {"OpenStack-API-Version": "placement latest"},
	"compute":   {"OpenStack-API-Version": "compute latest"},
	"volume":    {"OpenStack-API-Version": "volume latest"},
}

// adminAreas are the areas whose every route but the public ones needs
// role admin or service (Placement's default policy): another project's
// member gets 403 on a valid path, and never a success.
var adminAreas = map[string]bool{"placement": true}

func TestHostileRoutesCoverEveryRoute(t *testing.T) {
	listed := map[string]bool{}
	for _, r := range hostileRoutes {
		k := r.area + " " + r.pattern
		if listed[k] {
			t.Errorf("%s listed twice", k)
		}
		listed[k] = true
	}
	served := map[string]bool{}
	for area, routes := range areaRoutes() {
		for _, p := range routes {
			served[area+" "+p] = true
			if !listed[area+" "+p] {
				t.Errorf("%s serves %q: add it to hostileRoutes", area, p)
			}
		}
	}
	for k := range listed {
		if !served[k] {
			t.Errorf("hostileRoutes lists %q, which no area serves", k)
		}
	}
}

func TestHostileInput(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := testConfig(t, e.DSN)
			cfg.Identity.PasswordRounds = 4
			h := newHostile(t, cfg)
			for _, r := range hostileRoutes {
				t.Run(r.area+" "+r.pattern, func(t *testing.T) { h.route(t, r) })
			}
			t.Logf("%d hostile requests", h.sent)
		})
	}
}

// hostile is the suite's daemon, its fixtures and its view of the store.
type hostile struct {
	t          *testing.T
	d          *daemon
	cfg        *cloudConfig
	db         *sqlstore.DB
	admin      string // admin token
	owner      string // project A's member: owns the image and the zone
	foreign    string // project B's member
	fix        map[string]string
	sent       int
	head       int64
	state      string
	imageFiles string
}

func newHostile(t *testing.T, cfg *cloudConfig) *hostile {
	d := start(t, cfg, withVolume(cfg.all())...)
	h := &hostile{t: t, d: d, cfg: cfg, fix: map[string]string{}}
	dsn := cfg.Database
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(cfg.DataDir, "gostack.db")
	}
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	h.admin = issueToken(t, d, "admin", adminPassword(t, cfg), `{"project":{"name":"admin","domain":{"id":"default"}}}`)
	h.fixtures()
	h.placementFixtures()
	h.computeFixtures()
	h.volumeFixtures()
	h.settle()
	return h
}

// call sends one request and reads the answer.
func (h *hostile) call(method, area, path string, header map[string]string, body []byte) (int, http.Header, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, "http://"+h.d.addrs[area]+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range areaHeaders[area] {
		req.Header.Set(k, v)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h.sent++
	return resp.StatusCode, resp.Header, b
}

// must makes a fixture and returns its JSON answer.
func (h *hostile) must(want int, method, area, path, token, body string) map[string]any {
	h.t.Helper()
	hdr := map[string]string{"X-Auth-Token": token, "Content-Type": "application/json"}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	code, _, out := h.call(method, area, path, hdr, b)
	if code != want {
		h.t.Fatalf("fixture %s %s: %d %s", method, path, code, out)
	}
	var m map[string]any
	json.Unmarshal(out, &m)
	return m
}

func field(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		v = v.(map[string]any)[k]
	}
	return v.(string)
}

// fixtures builds one resource for every path parameter, through the
// APIs, and the tokens. Keys are the path segment before the parameter
// (segment/parameter where areas share the segment).
func (h *hostile) fixtures() {
	adm := h.admin
	f := h.fix
	f["domains"] = field(h.must(201, "POST", "identity", "/v3/domains", adm, `{"domain":{"name":"hostile-d"}}`), "domain", "id")
	f["project"] = field(h.must(201, "POST", "identity", "/v3/projects", adm, `{"project":{"name":"hostile-a","domain_id":"default"}}`), "project", "id")
	f["projects"] = f["project"]
	f["project_b"] = field(h.must(201, "POST", "identity", "/v3/projects", adm, `{"project":{"name":"hostile-b","domain_id":"default"}}`), "project", "id")
	f["project_c"] = field(h.must(201, "POST", "identity", "/v3/projects", adm, `{"project":{"name":"hostile-c","domain_id":"default"}}`), "project", "id")
	f["user"] = field(h.must(201, "POST", "identity", "/v3/users", adm, `{"user":{"name":"hostile-a","password":"a-pw","domain_id":"default"}}`), "user", "id")
	f["users"] = f["user"]
	userB := field(h.must(201, "POST", "identity", "/v3/users", adm, `{"user":{"name":"hostile-b","password":"b-pw","domain_id":"default"}}`), "user", "id")
	roles := h.must(200, "GET", "identity", "/v3/roles?name=member", adm, "")["roles"].([]any)
	member := roles[0].(map[string]any)["id"].(string)
	h.must(204, "PUT", "identity", "/v3/projects/"+f["project"]+"/users/"+f["user"]+"/roles/"+member, adm, "")
	h.must(204, "PUT", "identity", "/v3/projects/"+f["project_b"]+"/users/"+userB+"/roles/"+member, adm, "")
	f["groups"] = field(h.must(201, "POST", "identity", "/v3/groups", adm, `{"group":{"name":"hostile-g","domain_id":"default"}}`), "group", "id")
	h.must(204, "PUT", "identity", "/v3/groups/"+f["groups"]+"/users/"+f["user"], adm, "")
	f["roles"] = field(h.must(201, "POST", "identity", "/v3/roles", adm, `{"role":{"name":"hostile-r"}}`), "role", "id")
	f["implies"] = field(h.must(201, "POST", "identity", "/v3/roles", adm, `{"role":{"name":"hostile-r2"}}`), "role", "id")
	h.must(201, "PUT", "identity", "/v3/roles/"+f["roles"]+"/implies/"+f["implies"], adm, "")
	for _, a := range []string{"/v3/projects/" + f["project"] + "/users/" + f["user"], "/v3/projects/" + f["project"] + "/groups/" + f["groups"],
		"/v3/domains/" + f["domains"] + "/users/" + f["user"], "/v3/domains/" + f["domains"] + "/groups/" + f["groups"],
		"/v3/system/users/" + f["user"], "/v3/system/groups/" + f["groups"]} {
		h.must(204, "PUT", "identity", a+"/roles/"+f["roles"], adm, "")
	}
	for _, a := range []string{"/v3/OS-INHERIT/projects/" + f["project"] + "/users/" + f["user"], "/v3/OS-INHERIT/domains/" + f["domains"] + "/groups/" + f["groups"]} {
		h.must(204, "PUT", "identity", a+"/roles/"+f["roles"]+"/inherited_to_projects", adm, "")
	}
	f["regions"] = field(h.must(201, "POST", "identity", "/v3/regions", adm, `{"region":{"id":"hostile-region"}}`), "region", "id")
	f["services"] = field(h.must(201, "POST", "identity", "/v3/services", adm, `{"service":{"type":"hostile","name":"hostile-s"}}`), "service", "id")
	f["service"] = f["services"]
	f["endpoints"] = field(h.must(201, "POST", "identity", "/v3/endpoints", adm,
		fmt.Sprintf(`{"endpoint":{"service_id":%q,"interface":"public","url":"http://hostile.example/","region_id":"hostile-region"}}`, f["services"])), "endpoint", "id")
	h.owner = issueToken(h.t, h.d, "hostile-a", "a-pw", fmt.Sprintf(`{"project":{"id":%q}}`, f["project"]))
	h.foreign = issueToken(h.t, h.d, "hostile-b", "b-pw", fmt.Sprintf(`{"project":{"id":%q}}`, f["project_b"]))
	f["application_credentials"] = field(h.must(201, "POST", "identity", "/v3/users/"+f["user"]+"/application_credentials", h.owner,
		`{"application_credential":{"name":"hostile-ac"}}`), "application_credential", "id")
	f["credentials"] = field(h.must(201, "POST", "identity", "/v3/credentials", h.owner,
		fmt.Sprintf(`{"credential":{"user_id":%q,"type":"cert","blob":"hostile-blob"}}`, f["user"])), "credential", "id")
	f["OS-EC2"] = field(h.must(201, "POST", "identity", "/v3/users/"+f["user"]+"/credentials/OS-EC2", h.owner,
		fmt.Sprintf(`{"tenant_id":%q}`, f["project"])), "credential", "access")
	// A trust of the owner's (hostile-r, which it holds on project A) to
	// user B.
	f["trustee"] = userB
	f["trusts"] = field(h.must(201, "POST", "identity", "/v3/OS-TRUST/trusts", h.owner,
		fmt.Sprintf(`{"trust":{"trustor_user_id":%q,"trustee_user_id":%q,"project_id":%q,"impersonation":true,"roles":[{"id":%q}]}}`,
			f["user"], userB, f["project"], f["roles"])), "trust", "id")
	// An endpoint group (the fixture endpoint's interface) on project C,
	// which also has the fixture endpoint: C, which no token is scoped to,
	// so that no area's catalog is filtered.
	f["projects/project_id"] = f["project_c"]
	f["endpoint_groups"] = field(h.must(201, "POST", "identity", "/v3/OS-EP-FILTER/endpoint_groups", adm,
		`{"endpoint_group":{"name":"hostile-eg","filters":{"interface":"public"}}}`), "endpoint_group", "id")
	h.must(204, "PUT", "identity", "/v3/OS-EP-FILTER/endpoint_groups/"+f["endpoint_groups"]+"/projects/"+f["project_c"], adm, "")
	h.must(204, "PUT", "identity", "/v3/OS-EP-FILTER/projects/"+f["project_c"]+"/endpoints/"+f["endpoints"], adm, "")
	f["policies"] = field(h.must(201, "POST", "identity", "/v3/policies", adm, `{"policy":{"type":"application/json","blob":"{}"}}`), "policy", "id")

	img := h.must(201, "POST", "image", "/v2/images", h.owner, `{"name":"hostile-i","disk_format":"raw","container_format":"bare","tags":["t1"],"visibility":"shared"}`)
	f["images"] = img["id"].(string)
	f["tags"] = "t1"
	code, _, out := h.call("PUT", "image", "/v2/images/"+f["images"]+"/file", map[string]string{"X-Auth-Token": h.owner,
		"Content-Type": "application/octet-stream"}, bytes.Repeat([]byte{7}, 4096))
	if code != 204 {
		h.t.Fatalf("fixture upload: %d %s", code, out)
	}
	h.must(200, "POST", "image", "/v2/images/"+f["images"]+"/members", h.owner, fmt.Sprintf(`{"member":%q}`, f["project_b"]))
	f["members"] = f["project_b"]
	// A private metadef namespace of project A (an admin's: metadef
	// writes are admin-only) with one of each thing it holds.
	h.must(201, "POST", "image", "/v2/metadefs/namespaces", adm, fmt.Sprintf(`{"namespace":"hostile-ns","visibility":"private","owner":%q,`+
		`"resource_type_associations":[{"name":"OS::Glance::Image","prefix":"h_"}],"objects":[{"name":"hostile-obj"}],`+
		`"properties":{"hostile-prop":{"type":"string","title":"P"}},"tags":[{"name":"hostile-tag"}]}`, f["project"]))
	f["namespaces"], f["resource_types"] = "hostile-ns", "OS::Glance::Image"
	f["objects/item"], f["properties/item"], f["tags/item"] = "hostile-obj", "hostile-prop", "hostile-tag"

	zone := h.must(202, "POST", "dns", "/v2/zones", h.owner, `{"name":"hostile.example.","email":"h@hostile.example"}`)
	f["zones"], f["zonename"] = zone["id"].(string), "hostile.example."
	f["recordsets"] = h.must(202, "POST", "dns", "/v2/zones/"+f["zones"]+"/recordsets", h.owner,
		`{"name":"www.hostile.example.","type":"A","records":["192.0.2.1"]}`)["id"].(string)
	// A zone the owner offered to its own project and accepted (the
	// accept), and an offer of the fixture zone to the owner's project (a
	// transfer request another project can neither see nor accept).
	moved := h.must(202, "POST", "dns", "/v2/zones", h.owner, `{"name":"moved.hostile.example.","email":"h@hostile.example"}`)
	done := h.must(201, "POST", "dns", "/v2/zones/"+moved["id"].(string)+"/tasks/transfer_requests", h.owner, "{}")
	f["transfer_accepts"] = h.must(201, "POST", "dns", "/v2/zones/tasks/transfer_accepts", h.owner,
		fmt.Sprintf(`{"zone_transfer_request_id":%q,"key":%q}`, done["id"], done["key"]))["id"].(string)
	offer := h.must(201, "POST", "dns", "/v2/zones/"+f["zones"]+"/tasks/transfer_requests", h.owner,
		fmt.Sprintf(`{"target_project_id":%q}`, f["project"]))
	f["transfer_requests"], f["transfer_key"] = offer["id"].(string), offer["key"].(string)
	// A share of the fixture zone with project C, which no token acts
	// for: the foreign project (B) sees neither the zone nor the share.
	f["shares"] = h.must(201, "POST", "dns", "/v2/zones/"+f["zones"]+"/shares", h.owner,
		fmt.Sprintf(`{"target_project_id":%q}`, f["project_c"]))["id"].(string)
	// An export of the fixture zone, and an import that failed (no zone).
	f["exports"] = h.must(202, "POST", "dns", "/v2/zones/"+f["zones"]+"/tasks/export", h.owner, "")["id"].(string)
	code, _, out = h.call("POST", "dns", "/v2/zones/tasks/imports", map[string]string{"X-Auth-Token": h.owner,
		"Content-Type": "text/dns"}, []byte("www IN A 192.0.2.1\n"))
	if code != 202 {
		h.t.Fatalf("fixture import: %d %s", code, out)
	}
	var imp map[string]any
	if err := json.Unmarshal(out, &imp); err != nil {
		h.t.Fatalf("fixture import: %v %s", err, out)
	}
	f["imports"] = imp["id"].(string)
	pools := h.must(200, "GET", "dns", "/v2/pools", adm, "")["pools"].([]any)
	f["pools"] = pools[0].(map[string]any)["id"].(string)
	f["pool"] = f["pools"]
	// The daemon's DNS services heartbeat from its start.
	statuses := h.must(200, "GET", "dns", "/v2/service_statuses", adm, "")["service_statuses"].([]any)
	if len(statuses) == 0 {
		h.t.Fatal("fixture service status: none")
	}
	f["service_statuses"] = statuses[0].(map[string]any)["id"].(string)
	f["tsigkeys"] = h.must(201, "POST", "dns", "/v2/tsigkeys", adm,
		fmt.Sprintf(`{"name":"hostile-k","algorithm":"hmac-sha256","secret":"c2VjcmV0","scope":"POOL","resource_id":%q}`, f["pools"]))["id"].(string)
	// A TLD that every zone of the suite lies below, and a blacklist
	// pattern none of them matches.
	f["tlds"] = h.must(201, "POST", "dns", "/v2/tlds", adm, `{"name":"example"}`)["id"].(string)
	f["blacklists"] = h.must(201, "POST", "dns", "/v2/blacklists", adm, `{"pattern":"^hostile-blocked\\."}`)["id"].(string)
	if code, _, out := h.call("PATCH", "dns", "/v2/quotas/"+f["project"], map[string]string{"X-Auth-Token": adm,
		"X-Auth-All-Projects": "true", "Content-Type": "application/json"}, []byte(`{"zones":15}`)); code != 200 {
		h.t.Fatalf("fixture quota: %d %s", code, out)
	}
	f["quotas"] = f["project"]
	f["floatingips"] = "RegionOne:" + uuid.NewString()

	f["extensions"] = "provider"
	f["networks"] = field(h.must(201, "POST", "network", "/v2.0/networks", h.owner, `{"network":{"name":"hostile-n"}}`), "network", "id")
	f["subnets"] = field(h.must(201, "POST", "network", "/v2.0/subnets", h.owner,
		fmt.Sprintf(`{"subnet":{"network_id":%q,"cidr":"10.66.0.0/24","ip_version":4}}`, f["networks"])), "subnet", "id")
	f["ports"] = field(h.must(201, "POST", "network", "/v2.0/ports", h.owner,
		fmt.Sprintf(`{"port":{"network_id":%q,"name":"hostile-p"}}`, f["networks"])), "port", "id")
	f["security-groups"] = field(h.must(201, "POST", "network", "/v2.0/security-groups", h.owner, `{"security_group":{"name":"hostile-sg"}}`),
		"security_group", "id")
	f["security-group-rules"] = field(h.must(201, "POST", "network", "/v2.0/security-group-rules", h.owner,
		fmt.Sprintf(`{"security_group_rule":{"security_group_id":%q,"direction":"ingress","protocol":"tcp","port_range_min":22,"port_range_max":22}}`,
			f["security-groups"])), "security_group_rule", "id")
	// A router of A's with a gateway on the admin's external network and
	// an interface on A's subnet, a floating IP of A's, and a subnet of
	// A's no router is on.
	f["external"] = field(h.must(201, "POST", "network", "/v2.0/networks", adm, `{"network":{"name":"hostile-ext","router:external":true}}`),
		"network", "id")
	h.must(201, "POST", "network", "/v2.0/subnets", adm, fmt.Sprintf(`{"subnet":{"network_id":%q,"cidr":"198.51.100.0/24","ip_version":4}}`, f["external"]))
	unrouted := field(h.must(201, "POST", "network", "/v2.0/networks", h.owner, `{"network":{"name":"hostile-n2"}}`), "network", "id")
	f["subnet-unrouted"] = field(h.must(201, "POST", "network", "/v2.0/subnets", h.owner,
		fmt.Sprintf(`{"subnet":{"network_id":%q,"cidr":"10.67.0.0/24","ip_version":4}}`, unrouted)), "subnet", "id")
	f["routers"] = field(h.must(201, "POST", "network", "/v2.0/routers", h.owner,
		fmt.Sprintf(`{"router":{"name":"hostile-r","external_gateway_info":{"network_id":%q}}}`, f["external"])), "router", "id")
	h.must(200, "PUT", "network", "/v2.0/routers/"+f["routers"]+"/add_router_interface", h.owner, fmt.Sprintf(`{"subnet_id":%q}`, f["subnets"]))
	f["floatingips/id"] = field(h.must(201, "POST", "network", "/v2.0/floatingips", h.owner,
		fmt.Sprintf(`{"floatingip":{"floating_network_id":%q}}`, f["external"])), "floatingip", "id")
	h.must(200, "PUT", "network", "/v2.0/quotas/"+f["quotas"], adm, `{"quota":{"network":12345}}`)
	f["hosts"] = "hostile-host"
	f["agents"] = field(h.must(200, "PUT", "network", "/internal/hosts/hostile-host/agent", adm,
		`{"agent":{"agent_type":"Open vSwitch agent","binary":"gostack-network-agent","tunnel_ip":"192.0.2.1"}}`), "agent", "id")
	f["dhcp"] = f["networks"]
	// A project gets its default security group when it first lists its
	// groups, as in Neutron: every project the suite acts for has one
	// before the state is taken.
	for _, tok := range []string{adm, h.owner, h.foreign} {
		h.must(200, "GET", "network", "/v2.0/security-groups", tok, "")
	}
}

// placementFixtures make, through the Placement API as the admin, a
// provider with VCPU, MEMORY_MB and DISK_GB, a custom trait it has, a
// custom resource class, an aggregate it is in, and a consumer of project
// A's with an allocation on it; the sample bodies' generations are the
// ones the fixtures end with.
func (h *hostile) placementFixtures() {
	adm, f := h.admin, h.fix
	rp := field(h.must(200, "POST", "placement", "/resource_providers", adm, `{"name":"hostile-rp"}`), "uuid")
	f["resource_providers"] = rp
	h.must(200, "PUT", "placement", "/resource_providers/"+rp+"/inventories", adm,
		`{"resource_provider_generation":0,"inventories":{"VCPU":{"total":8},"MEMORY_MB":{"total":4096},"DISK_GB":{"total":100}}}`)
	f["inventories"] = "VCPU"
	f["traits"] = "CUSTOM_HOSTILE"
	h.must(201, "PUT", "placement", "/traits/"+f["traits"], adm, "")
	h.must(200, "PUT", "placement", "/resource_providers/"+rp+"/traits", adm,
		fmt.Sprintf(`{"traits":[%q],"resource_provider_generation":1}`, f["traits"]))
	f["resource_classes"] = "CUSTOM_HOSTILE_CLASS"
	h.must(201, "PUT", "placement", "/resource_classes/"+f["resource_classes"], adm, "")
	f["aggregate"], f["aggregate_new"] = uuid.NewString(), uuid.NewString()
	h.must(200, "PUT", "placement", "/resource_providers/"+rp+"/aggregates", adm,
		fmt.Sprintf(`{"aggregates":[%q],"resource_provider_generation":2}`, f["aggregate"]))
	f["allocations"], f["consumer_new"] = uuid.NewString(), uuid.NewString()
	h.must(204, "PUT", "placement", "/allocations/"+f["allocations"], adm, fmt.Sprintf(
		`{"allocations":{%q:{"resources":{"VCPU":1,"MEMORY_MB":256}}},"project_id":%q,"user_id":%q,"consumer_generation":null,"consumer_type":"INSTANCE"}`,
		rp, f["project"], f["user"]))
	f["rp_generation"] = fmt.Sprint(h.must(200, "GET", "placement", "/resource_providers/"+rp, adm, "")["generation"])
	f["consumer_generation"] = fmt.Sprint(h.must(200, "GET", "placement", "/allocations/"+f["allocations"], adm, "")["consumer_generation"])
}

// settle waits until the background work the fixtures caused (the zone's
// publication) is done, then takes the state every check compares with.
func (h *hostile) settle() {
	h.t.Helper()
	eventually(h.t, "fixture zone active", func() bool {
		z := h.must(200, "GET", "dns", "/v2/zones/"+h.fix["zones"], h.owner, "")
		return z["status"] == "ACTIVE"
	})
	for stable := 0; stable < 5; time.Sleep(200 * time.Millisecond) {
		head := h.feedHead()
		if head == h.head {
			stable++
		} else {
			h.head, stable = head, 0
		}
	}
	h.state, h.imageFiles = h.dump(), h.files()
}

func (h *hostile) feedHead() int64 {
	h.t.Helper()
	var head int64
	if err := h.db.Get(context.Background(), "SELECT head FROM watch_state", nil, &head); err != nil {
		h.t.Fatal(err)
	}
	return head
}

// dump is every row of every table, sorted.
func (h *hostile) dump() string {
	h.t.Helper()
	ctx := context.Background()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
	if h.db.Dialect() == sqlstore.Postgres {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
	}
	rows, err := h.db.Query(ctx, q)
	if err != nil {
		h.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var lines []string
	for _, tb := range tables {
		if tb == "dns_service_statuses" {
			continue // rewritten by the DNS services' heartbeats, not by requests
		}
		rows, err := h.db.Query(ctx, "SELECT * FROM "+tb)
		if err != nil {
			h.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			var b strings.Builder
			b.WriteString(tb)
			for i, v := range vals {
				if s, ok := v.([]byte); ok {
					v = string(s)
				}
				fmt.Fprintf(&b, " %s=%v", cols[i], v)
			}
			lines = append(lines, b.String())
		}
		rows.Close()
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// files lists the image directory: name and size of every file.
func (h *hostile) files() string {
	var out []string
	filepath.Walk(filepath.Join(h.cfg.DataDir, "images"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, fmt.Sprintf("%s %d", p, fi.Size()))
		}
		return nil
	})
	return strings.Join(out, "\n")
}

// probe is one hostile request.
type probe struct {
	what   string
	method string
	path   string
	token  string
	ctype  string
	body   []byte
}

// route runs the batteries against one route.
func (h *hostile) route(t *testing.T, r hostileRoute) {
	method, tmpl, _ := strings.Cut(r.pattern, " ")
	tmpl = strings.ReplaceAll(tmpl, "{$}", "")
	valid, params := h.fill(t, tmpl, nil)
	body := h.expand(r.body)
	ctype := r.ctype
	if ctype == "" {
		ctype = "application/json"
	}
	var probes []probe
	add := func(what, path, token, ct string, b []byte) {
		probes = append(probes, probe{what, method, path, token, ct, b})
	}

	// Tokens: none, garbage, a Fernet look-alike, another project's.
	if r.flags&public == 0 {
		for what, tok := range map[string]string{"no token": "", "garbage token": "garbage",
			"forged token": "gAAAAAB" + strings.Repeat("A", 180), "long token": strings.Repeat("t", 8000)} {
			add(what, valid, tok, ctype, body)
		}
		if r.flags&foreignWrite == 0 && (len(params) > 0 || body == nil || adminAreas[r.area]) {
			add("foreign project's token", valid, h.foreign, ctype, body)
		}
	}
	// Path parameters: one at a time, the others valid.
	for _, p := range params {
		for _, v := range pathVariants(freeParams[p.segment] || freeParams[p.segment+"/"+p.name]) {
			path, _ := h.fill(t, tmpl, map[int]string{p.index: v})
			add("path "+p.name+"="+shorten(v), path, h.admin, ctype, body)
			if r.flags&public == 0 {
				add("foreign, path "+p.name+"="+shorten(v), path, h.foreign, ctype, body)
			}
		}
	}
	// Queries, on reads.
	if method == "GET" || method == "HEAD" {
		for _, q := range queryVariants {
			add("query "+shorten(q), valid+"?"+q, h.admin, "", nil)
		}
	}
	// Bodies: broken, oversized, nested, NUL, wrong types, wrong media
	// types.
	if body != nil {
		for what, b := range brokenBodies(body) {
			add("body "+what, valid, h.admin, ctype, b)
		}
		// Mutations walk a JSON body; a route that takes another media
		// type (a zone file) gets the broken bodies and the wrong types.
		if ctype == "" || strings.Contains(ctype, "json") {
			for what, b := range mutations(t, body) {
				add("mutation "+what, valid, h.admin, ctype, b)
			}
		}
		if r.area != "image" || r.ctype != "" { // Glance reads JSON whatever the type, except patches
			for _, ct := range []string{"-", "text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"} {
				if ct == "-" && r.area == "identity" {
					continue // Keystone reads a body without a Content-Type as JSON
				}
				if (ct == "-" || ct == "text/plain") && r.area == "compute" && !strings.HasPrefix(r.pattern, "PUT /internal/") {
					continue // so does Nova, and one labelled text/plain (nova/api/openstack/wsgi.py)
				}
				add("content type "+ct, valid, h.admin, ct, body)
			}
		}
	}

	for _, p := range probes {
		h.send(t, r, p)
	}
	if state := h.dump(); r.flags&recordsRefusals != 0 && state != h.state {
		// Only zone tasks (and the feed's head) may have changed.
		for _, line := range strings.Split(apitest.LineDiff(h.state, state), "\n") {
			line = strings.TrimSpace(line)
			if (strings.HasPrefix(line, "+") || strings.HasPrefix(line, "-")) && !strings.Contains(line, "zone_task") && !strings.Contains(line, "watch_state") {
				t.Errorf("state changed by the route's hostile requests beyond its records of refusals: %s", line)
			}
		}
		h.state = state
	}
	if state, files := h.dump(), h.files(); state != h.state || files != h.imageFiles {
		t.Errorf("state changed by the route's hostile requests:\n%s%s", apitest.LineDiff(h.state, state), apitest.LineDiff(h.imageFiles, files))
		h.state, h.imageFiles = state, files
	}
}

// send makes one probe and checks its answer.
func (h *hostile) send(t *testing.T, r hostileRoute, p probe) {
	t.Helper()
	hdr := map[string]string{}
	if p.token != "" {
		hdr["X-Auth-Token"] = p.token
	}
	if p.token == h.admin && r.area == "dns" {
		hdr["X-Auth-All-Projects"] = "true" // past Designate's project check, to the input checks
	}
	if p.body != nil && p.ctype != "-" {
		hdr["Content-Type"] = p.ctype
	}
	code, header, body := h.call(p.method, r.area, p.path, hdr, p.body)
	desc := fmt.Sprintf("%s %s [%s]", p.method, shorten(p.path), p.what)
	if code >= 500 {
		t.Errorf("%s: %d %s", desc, code, shorten(string(body)))
	}
	if p.token == h.foreign && adminAreas[r.area] && (code < 300 || p.what == "foreign project's token" && code != http.StatusForbidden) {
		t.Errorf("%s: %d for another project's member, who has no role admin or service: %s", desc, code, shorten(string(body)))
	}
	if code >= 400 && p.method != "HEAD" {
		if err := errorFormat(r.area, code, header, body); err != nil {
			t.Errorf("%s: %d: %v: %s", desc, code, err, shorten(string(body)))
		}
	}
	if head := h.feedHead(); head != h.head {
		if r.flags&recordsRefusals == 0 || code >= 300 {
			t.Errorf("%s: %d changed the state (feed %d -> %d): %s", desc, code, h.head, head, shorten(string(body)))
		}
		h.head = head
	}
}

// errorFormat checks an error body against the area's OpenStack format.
func errorFormat(area string, code int, header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("Content-Type %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	str := func(v any) bool { s, ok := v.(string); return ok && s != "" }
	num := func(v any) bool { n, ok := v.(float64); return ok && int(n) == code }
	switch area {
	case "identity":
		e, ok := m["error"].(map[string]any)
		if !ok || !num(e["code"]) || !str(e["message"]) || !str(e["title"]) {
			return fmt.Errorf("not Keystone's {error:{code,message,title}}")
		}
	case "image":
		if !str(m["message"]) || m["code"] != fmt.Sprintf("%d %s", code, http.StatusText(code)) || !str(m["title"]) {
			return fmt.Errorf("not Glance's {message,code,title}")
		}
	case "dns":
		if !num(m["code"]) || !str(m["type"]) || !str(m["message"]) {
			return fmt.Errorf("not Designate's {code,type,message}")
		}
	case "compute", "volume":
		if len(m) != 1 {
			return fmt.Errorf("not Nova's or Cinder's {<kind>:{code,message}}")
		}
		for _, v := range m {
			e, ok := v.(map[string]any)
			if !ok || !num(e["code"]) || !str(e["message"]) {
				return fmt.Errorf("not Nova's or Cinder's {<kind>:{code,message}}")
			}
		}
	case "placement":
		errs, _ := m["errors"].([]any)
		if len(errs) != 1 {
			return fmt.Errorf("not Placement's {errors:[{status,title,detail,code}]}")
		}
		e, ok := errs[0].(map[string]any)
		if !ok || !num(e["status"]) || e["title"] != http.StatusText(code) || !str(e["detail"]) || !strings.HasPrefix(fmt.Sprint(e["code"]), "placement.") {
			return fmt.Errorf("not Placement's {errors:[{status,title,detail,code}]}")
		}
	}
	return nil
}

type param struct {
	name, segment string
	index         int
}

// fill puts fixtures (or the replacements, by parameter index) into a
// route's path template.
func (h *hostile) fill(t *testing.T, tmpl string, replace map[int]string) (string, []param) {
	t.Helper()
	segs := strings.Split(tmpl, "/")
	var params []param
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		p := param{name: strings.Trim(s, "{}"), segment: segs[i-1], index: len(params)}
		params = append(params, p)
		if v, ok := replace[p.index]; ok {
			segs[i] = v
			continue
		}
		v, ok := h.fix[p.segment+"/"+p.name] // where areas share the segment
		if !ok {
			v, ok = h.fix[p.segment]
		}
		if !ok {
			t.Fatalf("no fixture for {%s} after /%s/: add one to hostile.fixtures", p.name, p.segment)
		}
		segs[i] = escapePath(v)
	}
	return strings.Join(segs, "/"), params
}

// escapePath escapes one path segment, "/" included.
func escapePath(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (h *hostile) expand(body string) []byte {
	if body == "" {
		return nil
	}
	for k, v := range h.fix {
		body = strings.ReplaceAll(body, "{{"+k+"}}", v)
	}
	return []byte(body)
}

// pathVariants replace a path parameter, already escaped. A free
// parameter gets only what no route may accept.
func pathVariants(free bool) []string {
	bad := []string{"a%00b", "%ff%fe", strings.Repeat("a", 5000)}
	if free {
		return bad
	}
	return append(bad, escapePath("' OR '1'='1"), escapePath("../../../../etc/passwd"), "..%2f..%2fetc",
		escapePath("ünïcødé-😀"), "*", "null", "-1", "99999999999999999999999999", uuid.NewString(), "%2e%2e",
		escapePath("${jndi:ldap://x}"), escapePath("<script>alert(1)</script>"))
}

var queryVariants = []string{
	"limit=-1", "limit=0", "limit=99999999999999999999", "limit=abc", "limit=1.5",
	"marker=" + escapePath("' OR 1=1--"), "marker=" + uuid.NewString(), "marker=" + strings.Repeat("m", 5000),
	"sort_key=" + escapePath("name;DROP TABLE x"), "sort_dir=sideways", "sort=" + escapePath("name:up,id:down,x"),
	"name=" + escapePath("' OR '1'='1"), "name%5B%24ne%5D=1", "name=" + strings.Repeat("n", 5000),
	"id=a%00b", "name=%ff", "%zz=1", "a=b;c=d", "tags-any=" + escapePath(",,,"), "status=" + escapePath("in:a,b,\"c"),
	"created_at=" + escapePath("gte:not-a-date"), "size_min=-5", "include_names=maybe", "effective=" + escapePath("1'"),
}

// brokenBodies are bodies no route accepts.
func brokenBodies(valid []byte) map[string][]byte {
	return map[string][]byte{
		"empty":            {},
		"null":             []byte("null"),
		"string":           []byte(`"x"`),
		"number":           []byte("1"),
		"true":             []byte("true"),
		"truncated":        valid[:len(valid)/2],
		"trailing garbage": append(bytes.Clone(valid), " x"...),
		"two values":       append(bytes.Clone(valid), valid...),
		"deep nesting":     []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)),
		"deep objects":     []byte(strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)),
		"2 MiB":            []byte(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`),
		"NUL":              bytes.Replace(valid, []byte(`"`), []byte(`"\u0000`), 2),
		"invalid UTF-8":    bytes.Replace(valid, []byte(`"`), []byte("\"\xff\xfe"), 2),
		"BOM":              append([]byte("\xef\xbb\xbf"), valid...),
		"single quotes":    bytes.ReplaceAll(valid, []byte(`"`), []byte(`'`)),
		"raw control char": bytes.Replace(valid, []byte(`"`), []byte("\"\x01"), 2),
	}
}

// mutations replace every value of the valid body, down to three levels,
// by a value of another JSON type (never null: many fields take it).
func mutations(t *testing.T, valid []byte) map[string][]byte {
	var root any
	if err := json.Unmarshal(valid, &root); err != nil {
		t.Fatalf("sample body %s: %v", valid, err)
	}
	out := map[string][]byte{}
	var walk func(path string, depth int, get func() any, set func(any))
	walk = func(path string, depth int, get func() any, set func(any)) {
		if depth > 3 {
			return
		}
		orig := get()
		for _, wrong := range wrongTypes(orig) {
			set(wrong)
			b, _ := json.Marshal(root)
			out[fmt.Sprintf("%s=%s", path, shorten(string(mustJSON(wrong))))] = b
		}
		set(orig)
		switch v := orig.(type) {
		case map[string]any:
			for k := range v {
				walk(path+"."+k, depth+1, func() any { return v[k] }, func(x any) { v[k] = x })
			}
		case []any:
			if len(v) > 0 {
				walk(path+"[0]", depth+1, func() any { return v[0] }, func(x any) { v[0] = x })
			}
		}
	}
	walk("$", 0, func() any { return root }, func(x any) { root = x })
	return out
}

func wrongTypes(v any) []any {
	switch v.(type) {
	case string:
		return []any{12345, true, []any{"x"}, map[string]any{"$ne": 1}}
	case float64:
		return []any{"12345", true, []any{1}, map[string]any{}}
	case bool:
		return []any{"yes", 1, []any{}, map[string]any{}}
	case []any:
		return []any{"x", 1, map[string]any{}}
	case map[string]any:
		return []any{"x", 1, []any{}}
	}
	return nil
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func shorten(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%s...(%d bytes)", s[:100], len(s))
	}
	return s
}
