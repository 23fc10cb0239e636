-- Reverse DNS of floating IPs (Designate's /v2/reverse/floatingips): the
-- PTR record a project set for one of its floating IPs. The record
-- itself is a PTR recordset in the reverse zone holding the address (an
-- existing zone, or one the service made for the /24 or /64, owned by
-- the managed-resource project); this row says whose it is.
CREATE TABLE dns_floatingip_ptrs (
	floatingip_id TEXT PRIMARY KEY,
	region TEXT NOT NULL,
	project_id TEXT NOT NULL,
	address TEXT NOT NULL,
	ptrdname TEXT NOT NULL,
	ttl BIGINT,
	description TEXT NOT NULL DEFAULT '',
	zone_id TEXT NOT NULL,
	recordset_id TEXT NOT NULL
);
