// Package placement is OpenStack Placement's resource model as plain Go
// values: resource classes, inventories and their capacity rule, traits
// and aggregates, providers in trees, consumers and their allocations,
// and the search for allocation candidates over a snapshot of providers.
//
// It has no database and no HTTP. The compute area keeps providers and
// allocations in its Store (claims are atomic there) and serves them as
// the Placement API; compute/scheduler scores hosts with these types.
//
// The capacity of an inventory is Placement's:
//
//	capacity = int((total - reserved) * allocation_ratio)
//
// and an amount fits when used+amount <= capacity, min_unit <= amount <=
// max_unit and amount is a multiple of step_size.
package placement
