// Package ipam is Neutron's address management rules for one subnet, as
// plain Go values: the default gateway, the allocation pools Neutron
// generates around it, the validation of pools, gateway, DNS servers and
// host routes a subnet create or update goes through, which addresses a
// port may hold, the first free address of the pools, and Neutron's
// random port MACs (fa:16:3e:xx:xx:xx).
//
// It holds no state: a store decides which addresses are taken (the
// network area keeps one row per allocation, unique per subnet, so that
// parallel creates never hand out one address twice) and asks Free for
// the next one.
//
// Errors are *fault.Error values carrying Neutron's exception name in
// Type and its message, wrapping this package's sentinels (ErrInvalid,
// ErrPoolOverlap, ErrGatewayInPool, ErrExhausted, ...), so a caller can
// test errors.Is(err, ipam.ErrPoolOverlap) or errors.Is(err,
// fault.ErrConflict), and an API renders Neutron's error body.
//
// What it does not do: subnet pools and prefix delegation, IPv6 SLAAC
// address computation, or storing anything.
package ipam
