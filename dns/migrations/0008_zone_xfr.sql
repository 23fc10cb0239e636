-- A manual transfer-in of a SECONDARY zone (Designate's xfr task): when it
-- was last asked for, in microseconds (0: never). dns/publish's
-- Secondaries checks the zone's masters at once when it moves.
ALTER TABLE dns_zones ADD COLUMN xfr_asked_at BIGINT NOT NULL DEFAULT 0;
