package dns

import (
	"context"
	"fmt"
	"slices"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/kit/sqlstore"
)

// ServedZone is what an authoritative server needs for one zone: the zone
// (serial, SOA fields), its pool's nameservers by priority, and its
// recordsets (the stored SOA and apex NS among them; RRs builds those from
// the zone and the pool instead).
type ServedZone struct {
	Zone        Zone
	Nameservers []string
	RecordSets  []RecordSet
}

// servedCond selects the zones a server answers for: live PRIMARY zones,
// and SECONDARY zones a transfer gave their content (an SOA), not being
// deleted (they leave as soon as DeleteZone is called).
const servedCond = "(z.type = 'PRIMARY' OR EXISTS (SELECT 1 FROM dns_recordsets s WHERE s.zone_id = z.id AND s.type = 'SOA' " +
	"AND z.type = 'SECONDARY')) AND z.status <> 'DELETED' AND z.action <> 'DELETE'"

// ServedZones returns every zone a server should answer for, by name, read
// in one consistent snapshot.
func (s *Store) ServedZones(ctx context.Context) ([]ServedZone, error) {
	var out []ServedZone
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		out, err = served(ctx, tx, "")
		return err
	})
	return out, err
}

// ServedZonesAt is ServedZones plus the watch revision of its snapshot: a
// server loads the zones, then follows the feed (area "dns") from that
// revision and reloads a zone with Served when a "zone" change names it.
func (s *Store) ServedZonesAt(ctx context.Context) ([]ServedZone, int64, error) {
	var out []ServedZone
	rev, err := s.feed.Snapshot(ctx, func(tx *sqlstore.Tx) (err error) {
		out, err = served(ctx, tx, "")
		return err
	})
	return out, rev, err
}

// Served returns one zone as ServedZones would; a zone that is not to be
// served (deleted, being deleted, SECONDARY) is not found.
func (s *Store) Served(ctx context.Context, zoneID string) (ServedZone, error) {
	var out []ServedZone
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		out, err = served(ctx, tx, zoneID)
		return err
	})
	if err != nil {
		return ServedZone{}, err
	}
	if len(out) == 0 {
		return ServedZone{}, zoneNotFound()
	}
	return out[0], nil
}

// served loads the served zones (one if zoneID is not "") in tx.
func served(ctx context.Context, tx *sqlstore.Tx, zoneID string) ([]ServedZone, error) {
	cond, args := servedCond, []any{}
	if zoneID != "" {
		cond, args = cond+" AND z.id = ?", []any{zoneID}
	}
	pools, err := queryPools(ctx, tx, "")
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, "SELECT "+zoneColsZ+" FROM dns_zones z WHERE "+cond+" ORDER BY z.name", args...)
	if err != nil {
		return nil, err
	}
	out := []ServedZone{}
	index := map[string]int{}
	for rows.Next() {
		z, err := scanZone(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		sz := ServedZone{Zone: z, Nameservers: []string{}, RecordSets: []RecordSet{}}
		if i := slices.IndexFunc(pools, func(p Pool) bool { return p.ID == z.PoolID }); i >= 0 {
			sz.Nameservers = pools[i].hostnames()
		}
		index[z.ID] = len(out)
		out = append(out, sz)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sets, err := servedRecordSets(ctx, tx, cond, args)
	if err != nil {
		return nil, err
	}
	for _, rs := range sets {
		if i, ok := index[rs.ZoneID]; ok {
			out[i].RecordSets = append(out[i].RecordSets, rs)
		}
	}
	return out, nil
}

// servedRecordSets loads the recordsets of the zones matching cond, and
// their records in one more query.
func servedRecordSets(ctx context.Context, tx *sqlstore.Tx, cond string, args []any) ([]RecordSet, error) {
	rows, err := tx.Query(ctx, "SELECT "+rsCols+rsFrom+" WHERE "+cond+" ORDER BY rs.zone_id, rs.name, rs.type", args...)
	if err != nil {
		return nil, err
	}
	var sets []RecordSet
	index := map[string]int{}
	for rows.Next() {
		rs, err := scanRecordSet(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		index[rs.ID] = len(sets)
		sets = append(sets, rs)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT r.recordset_id, r.data FROM dns_records r JOIN dns_zones z ON z.id = r.zone_id
		WHERE `+cond+" ORDER BY r.recordset_id, r.position", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			sets[i].Records = append(sets[i].Records, data)
		}
	}
	return sets, rows.Err()
}

// RRs turns the zone into resource records, SOA first: the SOA from the
// zone's fields (MNAME the first nameserver, RNAME the email), the apex NS
// from the nameservers, then every record of the recordsets, with the
// zone's TTL where a recordset has none. A SECONDARY zone is served as its
// master gave it (Transferred): its SOA and NS records included.
func (z ServedZone) RRs() ([]mdns.RR, error) {
	zone := z.Zone
	if zone.Type == Secondary {
		return z.transferredRRs()
	}
	if len(z.Nameservers) == 0 {
		return nil, fmt.Errorf("dns: zone %s: its pool has no nameservers", zone.Name)
	}
	ttl := uint32(zone.TTL)
	hdr := func(name string, t uint16, ttl uint32) mdns.RR_Header {
		return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: ttl}
	}
	out := []mdns.RR{&mdns.SOA{
		Hdr: hdr(zone.Name, mdns.TypeSOA, ttl), Ns: z.Nameservers[0], Mbox: rname(zone.Email), Serial: zone.Serial,
		Refresh: uint32(zone.Refresh), Retry: uint32(zone.Retry), Expire: uint32(zone.Expire), Minttl: uint32(zone.Minimum),
	}}
	for _, ns := range z.Nameservers {
		out = append(out, &mdns.NS{Hdr: hdr(zone.Name, mdns.TypeNS, ttl), Ns: ns})
	}
	for _, rs := range z.RecordSets {
		rs.ZoneName = zone.Name
		if rs.Managed() {
			continue
		}
		rsTTL := ttl
		if rs.TTL != nil {
			rsTTL = uint32(*rs.TTL)
		}
		for _, data := range rs.Records {
			rr, _, err := parseRecord(rs.Name, rs.Type, data)
			if err != nil {
				return nil, fmt.Errorf("dns: zone %s recordset %s: %w", zone.Name, rs.ID, err)
			}
			rr.Header().Ttl = rsTTL
			out = append(out, rr)
		}
	}
	return out, nil
}

// Deleting returns the zones whose deletion DeleteZone started and
// FinishDelete has not ended: a worker removes them from the nameservers,
// then calls FinishDelete.
func (s *Store) Deleting(ctx context.Context) ([]Zone, error) {
	var out []Zone
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, "SELECT "+zoneColsZ+" FROM dns_zones z WHERE z.action = 'DELETE' AND z.status <> 'DELETED' ORDER BY z.name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			z, err := scanZone(rows)
			if err != nil {
				return err
			}
			out = append(out, z)
		}
		return rows.Err()
	})
	return out, err
}

// transferredRRs is a SECONDARY zone's records as stored by Transferred,
// its SOA first. The records are read back as the master sent them (any
// type, RFC 3597's form for the ones miekg/dns does not know).
func (z ServedZone) transferredRRs() ([]mdns.RR, error) {
	var soa mdns.RR
	var out []mdns.RR
	for _, rs := range z.RecordSets {
		ttl := uint32(z.Zone.TTL)
		if rs.TTL != nil {
			ttl = uint32(*rs.TTL)
		}
		for _, data := range rs.Records {
			rr, err := mdns.NewRR(fmt.Sprintf("%s %d IN %s %s", rs.Name, ttl, rs.Type, data))
			if err != nil || rr == nil {
				return nil, fmt.Errorf("dns: zone %s recordset %s: %v", z.Zone.Name, rs.ID, err)
			}
			if rs.Type == "SOA" {
				soa = rr
				continue
			}
			out = append(out, rr)
		}
	}
	if soa == nil {
		return nil, fmt.Errorf("dns: zone %s: not transferred yet", z.Zone.Name)
	}
	return append([]mdns.RR{soa}, out...), nil
}
