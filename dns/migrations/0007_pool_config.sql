-- Pools as Designate's pool manager has them (pools.yaml): the project
-- that made the pool, its attributes, the nameservers polled for a zone's
-- serial before it is ACTIVE, and its targets (secondaries that transfer
-- the pool's zones). Lists and maps are JSON text.
ALTER TABLE dns_pools ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
ALTER TABLE dns_pools ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE dns_pools ADD COLUMN nameservers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE dns_pools ADD COLUMN targets TEXT NOT NULL DEFAULT '[]';
