-- Shared zones (Designate's shared_zones, 2023.1): a zone shared with
-- another project, which may then see the zone and manage recordsets of
-- its own in it. A share belongs to the zone's owner, so it has no
-- project column of its own. Removing a zone (FinishDelete, AbandonZone)
-- removes its shares.
CREATE TABLE dns_shared_zones (
	id TEXT PRIMARY KEY,
	zone_id TEXT NOT NULL REFERENCES dns_zones (id) ON DELETE CASCADE,
	target_project_id TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (zone_id, target_project_id)
);
CREATE INDEX dns_shared_zones_target ON dns_shared_zones (target_project_id);
-- A zone's recordsets are listed to its owner and the projects it is
-- shared with whoever owns each one: their pages walk this index, in
-- the lists' default order.
CREATE INDEX dns_recordsets_zone ON dns_recordsets (zone_id, created_at, id);
