package api

import "github.com/gostack/gostack/identity/policy"

// Designate's check strings (designate/common/policies/base.py and
// recordset.py, Designate 17.0 and later: project scope, "role:admin"
// for administrators). The target's project_id is the owner of the zone
// (or the caller's project for lists), zone_type the zone's type,
// recordset_project_id the recordset's owner, zone_shared whether the
// caller sees the zone because it is shared with its project, all_tenants
// whether the caller asked for every project.
const (
	admin                = "role:admin"
	projectMember        = "role:member and project_id:%(project_id)s"
	projectReader        = "role:reader and project_id:%(project_id)s"
	adminOrMember        = "(" + admin + ") or (" + projectMember + ")"
	adminOrReader        = "(" + admin + ") or (" + projectReader + ")"
	adminOrReaderOrAll   = adminOrReader + " or (True:%(all_tenants)s and role:reader)"
	adminOrReaderOrShare = adminOrReader + " or ('True':%(zone_shared)s)"
	memberPrimary        = "(" + projectMember + ") and ('PRIMARY':%(zone_type)s)"
	adminPrimary         = "(" + admin + ") and ('PRIMARY':%(zone_type)s)"
	adminSecondary       = "(" + admin + ") and ('SECONDARY':%(zone_type)s)"
	sharedPrimary        = "('True':%(zone_shared)s) and ('PRIMARY':%(zone_type)s)"
	ownerPrimary         = "role:member and (project_id:%(recordset_project_id)s) and ('PRIMARY':%(zone_type)s)"
	createRecordSet      = memberPrimary + " or " + adminPrimary + " or " + adminSecondary + " or " + sharedPrimary
	changeRecordSet      = memberPrimary + " or " + adminPrimary + " or " + adminSecondary + " or " + ownerPrimary
	zoneTransfer         = "(" + adminOrMember + ") or project_id:%(target_project_id)s or None:%(target_project_id)s"
)

// Defaults are Designate's default policies for the areas this API
// serves (designate/common/policies base, context, zone, recordset,
// record, blacklist, tld, pool, tsigkey, quota, service_status,
// zone_transfer_request, zone_transfer_accept, zone_import, zone_export
// and shared_zones), under Designate's rule
// names, with Designate's scope types. An operator's policy file
// overrides them by name. Rules Designate checks only inside its central
// service are kept so that a policy file naming them loads as it would
// for Designate.
func Defaults() []policy.Rule {
	project := []string{"project"}
	ops := func(method string, paths ...string) []policy.Operation {
		out := make([]policy.Operation, len(paths))
		for i, p := range paths {
			out[i] = policy.Operation{Method: method, Path: p}
		}
		return out
	}
	rule := func(name, check, desc string, op []policy.Operation) policy.Rule {
		return policy.Rule{Name: name, Check: check, Description: desc, ScopeTypes: project, Operations: op}
	}
	return []policy.Rule{
		// base.py: the legacy rules, still registered by Designate.
		{Name: "admin", Check: "role:admin or is_admin:True"},
		{Name: "owner", Check: "project_id:%(tenant_id)s"},
		{Name: "admin_or_owner", Check: "rule:admin or rule:owner"},
		{Name: "default", Check: adminOrMember},

		// context.py
		rule("all_tenants", admin, "Action on all tenants.", nil),
		rule("edit_managed_records", admin, "Edit managed records.", nil),
		rule("use_low_ttl", admin, "Use low TTL.", nil),
		rule("use_sudo", admin, "Accept sudo from user to tenant.", nil),
		rule("hard_delete", admin, "Clean backend resources associated with zone", nil),

		// zone.py
		rule("create_zone", adminOrMember, "Create Zone", ops("POST", "/v2/zones")),
		rule("get_zones", adminOrReader, "", nil),
		rule("get_zone", adminOrReaderOrShare, "Get Zone", ops("GET", "/v2/zones/{zone_id}")),
		rule("get_zone_servers", adminOrReader, "", nil),
		rule("get_zone_ns_records", adminOrReader, "Get the Name Servers for a Zone", ops("GET", "/v2/zones/{zone_id}/nameservers")),
		rule("find_zones", adminOrReader, "List existing zones", ops("GET", "/v2/zones")),
		rule("update_zone", adminOrMember, "Update Zone", ops("PATCH", "/v2/zones/{zone_id}")),
		rule("delete_zone", adminOrMember, "Delete Zone", ops("DELETE", "/v2/zones/{zone_id}")),
		rule("xfr_zone", adminOrMember, "Manually Trigger an Update of a Secondary Zone", ops("POST", "/v2/zones/{zone_id}/tasks/xfr")),
		rule("abandon_zone", admin, "Abandon Zone", ops("POST", "/v2/zones/{zone_id}/tasks/abandon")),
		rule("count_zones", adminOrReader, "", nil),
		rule("count_zones_pending_notify", adminOrReader, "", nil),
		rule("purge_zones", admin, "", nil),
		rule("pool_move_zone", admin, "Pool Move Zone", ops("POST", "/v2/zones/{zone_id}/tasks/pool_move")),

		// recordset.py
		rule("create_recordset", createRecordSet, "Create Recordset", ops("POST", "/v2/zones/{zone_id}/recordsets")),
		rule("get_recordsets", adminOrReader, "", nil),
		rule("get_recordset", adminOrReaderOrShare, "Get recordset", ops("GET", "/v2/zones/{zone_id}/recordsets/{recordset_id}")),
		rule("find_recordset", adminOrReader, "List a Recordset in a Zone", nil),
		rule("find_recordsets", adminOrReader, "List Recordsets in a Zone", ops("GET", "/v2/zones/{zone_id}/recordsets")),
		rule("update_recordset", changeRecordSet, "Update recordset", ops("PUT", "/v2/zones/{zone_id}/recordsets/{recordset_id}")),
		rule("delete_recordset", changeRecordSet, "Delete RecordSet", ops("DELETE", "/v2/zones/{zone_id}/recordsets/{recordset_id}")),
		rule("count_recordset", adminOrReader, "Count recordsets", nil),

		// zone_transfer_request.py and zone_transfer_accept.py
		rule("create_zone_transfer_request", adminOrMember, "Create Zone Transfer Accept",
			ops("POST", "/v2/zones/{zone_id}/tasks/transfer_requests")),
		rule("get_zone_transfer_request", zoneTransfer, "Show a Zone Transfer Request",
			ops("GET", "/v2/zones/tasks/transfer_requests/{zone_transfer_request_id}")),
		rule("get_zone_transfer_request_detailed", adminOrReader, "", nil),
		{Name: "find_zone_transfer_requests", Check: "@", Description: "List Zone Transfer Requests",
			Operations: ops("GET", "/v2/zones/tasks/transfer_requests")},
		rule("update_zone_transfer_request", adminOrMember, "Update a Zone Transfer Request",
			ops("PATCH", "/v2/zones/tasks/transfer_requests/{zone_transfer_request_id}")),
		rule("delete_zone_transfer_request", adminOrMember, "Delete a Zone Transfer Request",
			ops("DELETE", "/v2/zones/tasks/transfer_requests/{zone_transfer_request_id}")),
		rule("create_zone_transfer_accept", zoneTransfer, "Create Zone Transfer Accept",
			ops("POST", "/v2/zones/tasks/transfer_accepts")),
		rule("get_zone_transfer_accept", adminOrReader, "Get Zone Transfer Accept",
			ops("GET", "/v2/zones/tasks/transfer_requests/{zone_transfer_accept_id}")),
		rule("find_zone_transfer_accepts", admin, "List Zone Transfer Accepts", ops("GET", "/v2/zones/tasks/transfer_accepts")),

		// shared_zones.py
		rule("get_zone_share", adminOrMember, "Get a Zone Share", ops("GET", "/v2/zones/{zone_id}/shares/{zone_share_id}")),
		rule("share_zone", adminOrMember, "Share a Zone", ops("POST", "/v2/zones/{zone_id}/shares")),
		{Name: "find_zone_shares", Check: "@", Description: "List Shared Zones", Operations: ops("GET", "/v2/zones/{zone_id}/shares")},
		rule("find_project_zone_share", adminOrMember, "Check the can query for a specific projects shares.", nil),
		rule("unshare_zone", adminOrMember, "Unshare Zone", ops("DELETE", "/v2/zones/{zone_id}/shares/{shared_zone_id}")),

		// zone_import.py and zone_export.py
		rule("create_zone_import", adminOrMember, "Create Zone Import", ops("POST", "/v2/zones/tasks/imports")),
		rule("find_zone_imports", adminOrReader, "List all Zone Imports", ops("GET", "/v2/zones/tasks/imports")),
		rule("get_zone_import", adminOrReader, "Get Zone Imports", ops("GET", "/v2/zones/tasks/imports/{zone_import_id}")),
		rule("update_zone_import", adminOrMember, "Update Zone Imports", ops("POST", "/v2/zones/tasks/imports")),
		rule("delete_zone_import", adminOrMember, "Delete a Zone Import", ops("GET", "/v2/zones/tasks/imports/{zone_import_id}")),
		rule("zone_export", adminOrMember, "Retrieve a Exported Zone", ops("GET", "/v2/zones/tasks/exports/{zone_export_id}/export")),
		rule("create_zone_export", adminOrMember, "Create Zone Export", ops("POST", "/v2/zones/{zone_id}/tasks/export")),
		rule("find_zone_exports", adminOrReader, "List all Zone Exports", ops("GET", "/v2/zones/tasks/exports")),
		rule("get_zone_export", adminOrReader, "Get Zone Exports", ops("GET", "/v2/zones/tasks/exports/{zone_export_id}")),
		rule("update_zone_export", adminOrMember, "Update Zone Exports", ops("POST", "/v2/zones/tasks/exports")),
		rule("delete_zone_export", adminOrMember, "Delete a zone export", ops("DELETE", "/v2/zones/tasks/exports/{zone_export_id}")),

		// record.py
		rule("find_records", adminOrReader, "Find records.",
			ops("GET", "/v2/reverse/floatingips/{region}:{floatingip_id}", "/v2/reverse/floatingips")),
		rule("count_records", adminOrReader, "", nil),

		// blacklist.py: use_blacklisted_zone lets a caller create a zone a
		// blacklist pattern or dns.ReservedNames.Check refuses.
		rule("create_blacklist", admin, "Create blacklist.", ops("POST", "/v2/blacklists")),
		rule("find_blacklists", admin, "Find blacklists.", ops("GET", "/v2/blacklists")),
		rule("get_blacklist", admin, "Get blacklist.", ops("GET", "/v2/blacklists/{blacklist_id}")),
		rule("update_blacklist", admin, "Update blacklist.", ops("PATCH", "/v2/blacklists/{blacklist_id}")),
		rule("delete_blacklist", admin, "Delete blacklist.", ops("DELETE", "/v2/blacklists/{blacklist_id}")),
		rule("use_blacklisted_zone", admin, "Allowed bypass the blacklist.", ops("POST", "/v2/zones")),

		// tld.py
		rule("create_tld", admin, "Create Tld", ops("POST", "/v2/tlds")),
		rule("find_tlds", admin, "List Tlds", ops("GET", "/v2/tlds")),
		rule("get_tld", admin, "Show Tld", ops("GET", "/v2/tlds/{tld_id}")),
		rule("update_tld", admin, "Update Tld", ops("PATCH", "/v2/tlds/{tld_id}")),
		rule("delete_tld", admin, "Delete Tld", ops("DELETE", "/v2/tlds/{tld_id}")),

		// pool.py
		rule("create_pool", admin, "Create pool.", nil),
		rule("find_pools", admin, "Find pool.", ops("GET", "/v2/pools")),
		rule("find_pool", admin, "Find pools.", ops("GET", "/v2/pools")),
		rule("get_pool", admin, "Get pool.", ops("GET", "/v2/pools/{pool_id}")),
		rule("update_pool", admin, "Update pool.", nil),
		rule("delete_pool", admin, "Delete pool.", nil),
		rule("zone_create_forced_pool", admin, "load and set the pool to the one provided in the Zone attributes.", ops("POST", "/v2/zones")),

		// tsigkey.py
		rule("create_tsigkey", admin, "Create Tsigkey", ops("POST", "/v2/tsigkeys")),
		rule("find_tsigkeys", admin, "List Tsigkeys", ops("GET", "/v2/tsigkeys")),
		rule("get_tsigkey", admin, "Show a Tsigkey", ops("GET", "/v2/tsigkeys/{tsigkey_id}")),
		rule("update_tsigkey", admin, "Update Tsigkey", ops("PATCH", "/v2/tsigkeys/{tsigkey_id}")),
		rule("delete_tsigkey", admin, "Delete a Tsigkey", ops("DELETE", "/v2/tsigkeys/{tsigkey_id}")),

		// service_status.py
		rule("find_service_status", admin, "Find a single Service Status", ops("GET", "/v2/service_status/{service_id}")),
		rule("find_service_statuses", admin, "List service statuses.", ops("GET", "/v2/service_status")),
		rule("update_service_status", admin, "", nil),
		rule("delete_service_status", admin, "", nil),

		// quota.py
		rule("get_quotas", adminOrReaderOrAll, "View Current Project's Quotas.", ops("GET", "/v2/quotas")),
		rule("set_quota", admin, "Set Quotas.", ops("PATCH", "/v2/quotas/{project_id}")),
		rule("reset_quotas", admin, "Reset Quotas.", ops("DELETE", "/v2/quotas/{project_id}")),
	}
}
