package api

import (
	"net/http"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// extension is an entry of GET /v2.0/extensions.
type extension struct {
	Alias       string   `json:"alias"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Updated     string   `json:"updated"`
	Links       []string `json:"links"`
}

// extensions are the Neutron extensions whose attributes and behaviour
// this API really has; clients (openstacksdk, the CLI) decide what to
// send by this list.
var extensions = []extension{
	{"allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs", "2013-07-23T10:00:00-00:00", []string{}},
	{"binding", "Port Binding", "Expose port bindings of a virtual port to external application", "2014-02-03T10:00:00-00:00", []string{}},
	{"ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway", "2013-03-28T10:00:00-00:00", []string{}},
	{"external-net", "Neutron external network", "Adds external network attribute to network resource.", "2013-01-14T10:00:00-00:00", []string{}},
	{"extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router", "2013-02-01T10:00:00-00:00", []string{}},
	{"extraroute-atomic", "Atomically add/remove extra routes", "Edit extra routes of a router on server side by atomically adding/removing extra routes", "2019-07-10T00:00:00+00:00", []string{}},
	{"filter-validation", "Filter parameters validation", "Provides validation on filter parameters.", "2018-03-21T10:00:00-00:00", []string{}},
	{"net-mtu", "Network MTU", "Provides MTU attribute for a network resource.", "2015-03-25T10:00:00-00:00", []string{}},
	{"port-security", "Port Security", "Provides port security", "2012-07-23T10:00:00-00:00", []string{}},
	{"port-security-groups-filtering", "Port filtering on security groups", "Provides security groups filtering when listing ports", "2018-01-09T09:00:00-00:00", []string{}},
	{"project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled.", "2016-09-09T09:09:09-09:09", []string{}},
	{"provider", "Provider Network", "Expose mapping of virtual networks to physical networks", "2012-09-07T10:00:00-00:00", []string{}},
	{"quota-check-limit", "Quota engine limit check", "Support for checking the resource usage before applying a new quota limit", "2021-09-08T16:00:00-00:00", []string{}},
	{"quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project", "2017-02-10T10:00:00-00:00", []string{}},
	{"quotas", "Quota management support", "Expose functions for quotas management per project", "2012-07-29T10:00:00-00:00", []string{}},
	{"router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.", "2012-07-20T10:00:00-00:00", []string{}},
	{"security-group", "security-group", "The security groups extension.", "2012-10-05T10:00:00-00:00", []string{}},
	{"security-groups-normalized-cidr", "Normalized CIDR field for security group rules", "Add new field with normalized remote_ip_prefix cidr in SG rule", "2020-07-28T10:00:00-00:00", []string{}},
	{"standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes", "2016-02-10T10:00:00-00:00", []string{}},
	{"standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources.", "2016-04-11T10:00:00-00:00", []string{}},
	{"standard-attr-tag", "Tag support for resources with standard attribute: network, subnet, port, router, floatingip, security_group", "Enables to set tag on resources with standard attribute.", "2017-01-01T00:00:00-00:00", []string{}},
	{"standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.", "2016-09-12T10:00:00-00:00", []string{}},
	{"stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not", "2019-11-26T09:00:00-00:00", []string{}},
	{"tag-ports-during-bulk-creation", "Tag Ports During Bulk Creation", "Allow to tag ports during bulk creation", "2019-12-29T19:00:00-00:00", []string{}},
}

func (a *API) listExtensions(w http.ResponseWriter, r *http.Request, q *request) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"extensions": extensions})
}

func (a *API) showExtension(w http.ResponseWriter, r *http.Request, q *request) {
	for _, e := range extensions {
		if e.Alias == r.PathValue("alias") {
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"extension": e})
			return
		}
	}
	fail(w, r, &fault.Error{Kind: fault.NotFound, Type: "HTTPNotFound", Message: "Extension with alias " + r.PathValue("alias") + " does not exist"})
}
