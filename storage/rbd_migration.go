package storage

import (
	"context"
	"strings"

	"github.com/gostack/gostack/kit/sqlstore"
)

// CapLocationInfo is the capability in which an RBD pool reports where
// it is, as Cinder's RBD driver does: "<cluster name>:<ceph.conf>:
// <fsid>:<user>:<pool>" (RBDLocationInfo).
const CapLocationInfo = "location_info"

// RBDLocationInfo is Cinder's RBD driver's location_info.
func RBDLocationInfo(cluster, conf, fsid, user, pool string) string {
	return cluster + ":" + conf + ":" + fsid + ":" + user + ":" + pool
}

// rbdPlace is an RBD pool's cluster (fsid) and Ceph pool, from its
// location_info ("" when it reports none, or one Cinder's driver would
// not read: five fields split on ':').
func rbdPlace(p *PoolState) (fsid, pool string) {
	if p == nil {
		return "", ""
	}
	info, _ := p.Capabilities[CapLocationInfo].(string)
	f := strings.Split(info, ":")
	if len(f) != 5 || f[2] == "" || f[4] == "" {
		return "", ""
	}
	return f[2], f[4]
}

// rbdMovable says whether a volume on RBD pool src can migrate to RBD
// pool dst: both name one Ceph cluster (Cinder's RBD driver compares
// the fsids the same way) and two Ceph pools, so the source's agent,
// whose client opens any pool of its cluster its key allows, writes
// the destination's copy by librbd. Between two clusters no client
// holds both clusters' keys; two backends on one Ceph pool would see
// the volume itself as the destination's copy.
func rbdMovable(src, dst *PoolState) bool {
	sf, sp := rbdPlace(src)
	df, dp := rbdPlace(dst)
	return sf != "" && sf == df && sp != dp
}

// poolOf is pool host's state, whether it is up or not (nil when it is
// gone).
func (s *Store) poolOf(ctx context.Context, tx *sqlstore.Tx, host string) (*PoolState, error) {
	b, err := backendIn(ctx, tx, host)
	if err != nil || b == nil {
		return nil, err
	}
	return b.pool(), nil
}
