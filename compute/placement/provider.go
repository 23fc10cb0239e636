package placement

import "slices"

// Provider is a resource provider: a compute host, one of its NUMA nodes,
// a shared disk pool. Providers form trees (ParentUUID, RootUUID; a root
// is its own root). Inventories and Usages are by resource class; Traits
// and Aggregates are sorted.
type Provider struct {
	UUID        string
	Name        string
	Generation  int64
	ParentUUID  string
	RootUUID    string
	Inventories map[string]Inventory
	Usages      map[string]int64
	Traits      []string
	Aggregates  []string
}

// HasTrait reports whether p has trait t.
func (p *Provider) HasTrait(t string) bool {
	_, ok := slices.BinarySearch(p.Traits, t)
	return ok
}

// InAggregate reports whether p is a member of aggregate a.
func (p *Provider) InAggregate(a string) bool {
	_, ok := slices.BinarySearch(p.Aggregates, a)
	return ok
}

// Fit reports why amount of class does not fit p now (nil if it does),
// with extra already promised on p by the same request.
func (p *Provider) Fit(class string, amount, extra int64) error {
	inv, ok := p.Inventories[class]
	if !ok {
		return &CapacityError{Provider: p.label(), Class: class, Amount: amount, Reason: ReasonMissing}
	}
	if err := inv.Fit(class, p.Usages[class]+extra, amount); err != nil {
		err.(*CapacityError).Provider = p.label()
		return err
	}
	return nil
}

func (p *Provider) label() string {
	if p.Name != "" {
		return p.Name
	}
	return p.UUID
}
