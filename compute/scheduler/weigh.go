package scheduler

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// weigh scores hosts as Nova's BaseWeightHandler does and returns them
// best first with their weights. Ties keep their order (Python's sort
// is stable). Only the first c.sorted come out in order (see
// sortByWeight); sortRest orders the others. It works host by host (all weighers' raw values for one
// host, then all its products) so each host is read twice however many
// weighers there are, and splits the hosts across goroutines; a host's
// products are still added in weigher order, as Nova adds them.
func (c *cycle) weigh(hosts []*Host) ([]*Host, []float64) {
	n, nw := len(hosts), len(c.weighers)
	total := make([]float64, n)
	// Nova leaves a lone host at weight 0 without running the weighers.
	if n > 1 && nw > 0 {
		raw := c.rawBuf(nw * n)
		c.parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				h := hosts[i]
				for k, w := range c.weighers {
					raw[k*n+i] = w.bounds.clamp(w.w.Weigh(c.st, h))
				}
			}
		})
		low, span := make([]float64, nw), make([]float64, nw)
		for k, w := range c.weighers {
			lo, hi := w.bounds.rangeOf(raw[k*n : (k+1)*n])
			low[k], span[k] = lo, hi-lo
		}
		c.parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				h, t := hosts[i], 0.0
				for k, w := range c.weighers {
					if span[k] == 0 {
						continue // every host normalises to 0
					}
					// A host at the bottom of the range adds nothing
					// whatever its multiplier: skip looking it up.
					if norm := (raw[k*n+i] - low[k]) / span[k]; norm != 0 {
						t += w.w.Multiplier(c.st, h) * norm
					}
				}
				total[i] = t
			}
		})
	}
	c.weighed = hosts
	order := c.sortByWeight(total, c.inOrder(n, total))
	ordered := make([]*Host, n)
	weights := make([]float64, n)
	for i, r := range order {
		ordered[i], weights[i] = hosts[r.i], r.w
	}
	return ordered, weights
}

// inOrder is how many of n ranked hosts must come out in order: all of
// them when later instances refilter this list (Nova keeps its order,
// which decides their ties) or when scoring every host is cheap; else
// enough for the pick, its tied hosts, alternates and a walk of failed
// reservations.
func (c *cycle) inOrder(n int, total []float64) int {
	cfg := &c.s.cfg
	need := max(cfg.HostSubsetSize, cfg.MaxAttempts, 32)
	if cfg.ShuffleBestSameWeighedHosts {
		best, ties := math.Inf(-1), 0
		for _, w := range total {
			switch {
			case w > best:
				best, ties = w, 1
			case w == best:
				ties++
			}
		}
		need = max(need, ties)
	}
	if c.st.count > 1 || need >= n {
		need = n
	}
	c.sorted = need
	return need
}

// sortRest finishes the order of ordered (from weigh) past the first
// c.sorted, which are already the best in order.
func (c *cycle) sortRest(ordered []*Host, weights []float64) {
	if c.sorted >= len(ordered) {
		return
	}
	rest := c.order[c.sorted:len(ordered)]
	slices.SortFunc(rest, compareRanked)
	for k, r := range rest {
		ordered[c.sorted+k] = c.weighed[r.i]
		weights[c.sorted+k] = r.w
	}
	c.sorted = len(ordered)
}

// clamp applies Nova's minval and maxval to a raw weight.
func (b Bounds) clamp(v float64) float64 {
	if b.HasMin && v < b.Min {
		v = b.Min
	}
	if b.HasMax && v > b.Max {
		v = b.Max
	}
	return v
}

// rangeOf is the normalisation range of clamped values: the bounds where
// set, else the values' minimum and maximum.
func (b Bounds) rangeOf(vals []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	if b.HasMin {
		lo = b.Min
	}
	if b.HasMax {
		hi = b.Max
	}
	return lo, hi
}

// parallel runs fn over [0,n) in as many ranges as the scheduler has
// goroutines, on the caller's goroutine alone when n is small.
func (c *cycle) parallel(n int, fn func(lo, hi int)) {
	p := c.s.parallelism
	if n < parallelMin || p <= 1 {
		fn(0, n)
		return
	}
	size := (n + p - 1) / p
	var wg sync.WaitGroup
	for lo := size; lo < n; lo += size {
		wg.Go(func() { fn(lo, min(lo+size, n)) })
	}
	fn(0, min(size, n))
	wg.Wait()
}

// rawWeights fills raw with w's clamped values for hosts and returns the
// normalisation range; spread is false when it is empty.
func (c *cycle) rawWeights(w *weigherSlot, hosts []*Host, raw []float64) (lo, hi float64, spread bool) {
	for i, h := range hosts {
		raw[i] = w.bounds.clamp(w.w.Weigh(c.st, h))
	}
	lo, hi = w.bounds.rangeOf(raw)
	return lo, hi, lo != hi
}

func (c *cycle) rawBuf(n int) []float64 {
	if cap(c.raw) < n {
		c.raw = make([]float64, n)
	}
	return c.raw[:n]
}

// ranked is a position and its weight, sorted together for locality.
type ranked struct {
	w float64
	i int32
}

// before is the ranking order: heavier first, ties in position order
// (the order of Python's stable sort, as a strict order).
func before(a, b ranked) bool { return a.w > b.w || (a.w == b.w && a.i < b.i) }

func compareRanked(a, b ranked) int {
	switch {
	case before(a, b):
		return -1
	case before(b, a):
		return 1
	}
	return 0
}

// sortByWeight ranks the positions of total. Only the first need come
// out in order, the best of all; the rest follow in no order, for
// sortRest to finish if someone walks that far. Most requests look at a
// handful of hosts, and a full sort is most of the cost of weighing a
// large cluster.
func (c *cycle) sortByWeight(total []float64, need int) []ranked {
	n := len(total)
	if cap(c.order) < n {
		c.order = make([]ranked, n)
	}
	rs := c.order[:n]
	for i := range rs {
		rs[i] = ranked{total[i], int32(i)}
	}
	if need >= n/4 {
		slices.SortFunc(rs, compareRanked)
		return rs
	}
	// rs[:need] is a heap whose root is the worst of the best so far.
	top := rs[:need]
	for i := need/2 - 1; i >= 0; i-- {
		siftDown(top, i)
	}
	for i := need; i < n; i++ {
		if before(rs[i], top[0]) {
			rs[i], top[0] = top[0], rs[i]
			siftDown(top, 0)
		}
	}
	slices.SortFunc(top, compareRanked)
	return rs
}

// siftDown restores the heap property of h (worst at the root) below i.
func siftDown(h []ranked, i int) {
	for {
		w := i
		for _, k := range [2]int{2*i + 1, 2*i + 2} {
			if k < len(h) && before(h[w], h[k]) {
				w = k
			}
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// pick puts the chosen host first, as Nova's _get_sorted_hosts: with
// shuffle_best_same_weighed_hosts the hosts tied for the best weight are
// shuffled, then one of the best host_subset_size is chosen at random.
func (c *cycle) pick(ordered []*Host, weights []float64) {
	if len(ordered) == 0 {
		return
	}
	if c.s.cfg.ShuffleBestSameWeighedHosts {
		best := 1
		for best < len(weights) && weights[best] == weights[0] {
			best++
		}
		c.rng.Shuffle(best, func(i, j int) {
			ordered[i], ordered[j] = ordered[j], ordered[i]
			weights[i], weights[j] = weights[j], weights[i]
		})
	}
	k := 0
	if subset := min(c.s.cfg.HostSubsetSize, len(ordered)); subset > 1 {
		k = c.rng.IntN(subset)
	}
	h, w := ordered[k], weights[k]
	copy(ordered[1:k+1], ordered[:k])
	copy(weights[1:k+1], weights[:k])
	ordered[0], weights[0] = h, w
}

// weighDetailed is weigh with each weigher's part, for Rank.
func (c *cycle) weighDetailed(hosts []*Host) []Weighed {
	n := len(hosts)
	out := make([]Weighed, n)
	total := make([]float64, n)
	for i, h := range hosts {
		out[i].Host = h
		out[i].Scores = make([]Score, 0, len(c.weighers))
	}
	raw := make([]float64, n)
	for _, w := range c.weighers {
		if n < 2 {
			break
		}
		lo, hi, spread := c.rawWeights(w, hosts, raw)
		for i, h := range hosts {
			s := Score{Weigher: w.name, Raw: raw[i], Multiplier: w.w.Multiplier(c.st, h)}
			if spread {
				s.Normalized = (raw[i] - lo) / (hi - lo)
				total[i] += s.Multiplier * s.Normalized
			}
			out[i].Scores = append(out[i].Scores, s)
		}
	}
	order := c.sortByWeight(total, n)
	list := make([]Weighed, n)
	for i, r := range order {
		list[i] = out[r.i]
		list[i].Weight = r.w
	}
	return list
}

// AggregateMultiplier is a weigher's multiplier for h: def, unless h's
// aggregates set key in their metadata, in which case the least of their
// values (Nova's get_weight_multiplier; a value that is not a number
// makes it fall back to def, with all the others).
func AggregateMultiplier(h *Host, key string, def float64) float64 {
	v, found := math.Inf(1), false
	for i := range h.Aggregates {
		s, ok := h.Aggregates[i].Metadata[key]
		if !ok {
			continue
		}
		f, err := pyFloat(s)
		if err != nil {
			return def
		}
		v, found = min(v, f), true
	}
	if !found {
		return def
	}
	return v
}

// aggregateInt is the least integer value h's aggregates give key, or
// def (Nova's validate_num_values with int: a bad value means def).
func aggregateInt(h *Host, key string, def int64) int64 {
	v, found := int64(math.MaxInt64), false
	for i := range h.Aggregates {
		s, ok := h.Aggregates[i].Metadata[key]
		if !ok {
			continue
		}
		n, err := pyInt(s)
		if err != nil {
			return def
		}
		v, found = min(v, n), true
	}
	if !found {
		return def
	}
	return v
}

// formatWeight prints a weight for people and golden files.
func formatWeight(w float64) string {
	s := strconv.FormatFloat(w, 'f', 4, 64)
	if s == "-0.0000" {
		return strings.TrimPrefix(s, "-")
	}
	return s
}
