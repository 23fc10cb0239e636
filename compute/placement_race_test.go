package compute_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// The race: 40 hosts of 16 VCPU and 8 GiB each (640 instances of 1 VCPU
// and 512 MiB) and a shared disk pool of 600 GiB, from which every
// instance also takes 1 GiB in the same claim. Exactly 600 claims can
// succeed, and only if no claim ever half-writes: a claim that took a
// host's VCPU without the pool's disk (or the other way) would show in
// the sums.
const (
	raceHosts = 40
	racePool  = 600
)

func raceSetup(t testing.TB, s *compute.Store) (hosts []string, pool string) {
	t.Helper()
	for i := range raceHosts {
		hosts = append(hosts, host(t, s, fmt.Sprintf("race-%02d", i), 16, 8192, 1))
	}
	p, err := s.CreateProvider(context.Background(), "", "race-pool", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetInventories(context.Background(), p.UUID, nil, compute.ReplaceAll,
		map[string]placement.Inventory{placement.DiskGB: placement.NewInventory(racePool)}); err != nil {
		t.Fatal(err)
	}
	return hosts, p.UUID
}

// raceClaims runs workers that each claim until every host refuses,
// walking the hosts from a random start as a scheduler walks its sorted
// list. It returns the successful claims.
func raceClaims(t testing.TB, s *compute.Store, hosts []string, pool string, workers int, seed uint64) int {
	return raceClaimsWith(t, s.Claim, hosts, pool, workers, seed)
}

// claimFunc is Store.Claim or ClaimBatcher.Claim.
type claimFunc func(context.Context, compute.Claim) error

func raceClaimsWith(t testing.TB, claim claimFunc, hosts []string, pool string, workers int, seed uint64) int {
	var mu sync.Mutex
	won := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				ok, err := claimAnywhereWith(claim, hosts, pool, rng.IntN(len(hosts)))
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return won
}

// claimAnywhere tries one new instance on each host from start on; false
// when none took it.
func claimAnywhere(s *compute.Store, hosts []string, pool string, start int) (bool, error) {
	return claimAnywhereWith(s.Claim, hosts, pool, start)
}

func claimAnywhereWith(claim claimFunc, hosts []string, pool string, start int) (bool, error) {
	inst := uuid.NewString()
	for i := range hosts {
		h := hosts[(start+i)%len(hosts)]
		err := claim(context.Background(), compute.Claim{Consumer: inst, ProjectID: "p", UserID: "u", CheckGeneration: true,
			Resources: map[string]map[string]int64{h: {placement.VCPU: 1, placement.MemoryMB: 512}, pool: {placement.DiskGB: 1}}})
		if err == nil {
			return true, nil
		}
		if fault.KindOf(err) == fault.Conflict { // full, or lost a race to the last unit
			continue
		}
		return false, err
	}
	return false, nil
}

// checkSums verifies every inventory's usage is the sum of its
// allocations and within capacity, and every consumer holds all three
// classes.
func checkSums(t *testing.T, s *compute.Store, db *sqlstore.DB, wantClaims int) {
	t.Helper()
	ctx := context.Background()
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range snap {
		for c, inv := range p.Inventories {
			var sum int64
			if err := db.Get(ctx, `SELECT COALESCE(SUM(used), 0) FROM compute_allocations WHERE provider_uuid = ? AND resource_class = ?`,
				[]any{p.UUID, c}, &sum); err != nil {
				t.Fatal(err)
			}
			if sum != p.Usages[c] || sum > inv.Capacity() {
				t.Errorf("%s %s: usage %d, allocations %d, capacity %d", p.Name, c, p.Usages[c], sum, inv.Capacity())
			}
		}
	}
	var consumers, half int64
	if err := db.Get(ctx, `SELECT COUNT(*) FROM compute_consumers`, nil, &consumers); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(ctx, `SELECT COUNT(*) FROM compute_consumers c WHERE (SELECT COUNT(*) FROM compute_allocations a WHERE a.consumer_uuid = c.uuid) <> 3`,
		nil, &half); err != nil {
		t.Fatal(err)
	}
	if consumers != int64(wantClaims) || half != 0 {
		t.Errorf("%d consumers (want %d), %d with a partial allocation", consumers, wantClaims, half)
	}
}

func TestClaimRace(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, db, _ := newStore(t, eng.New(t))
			hosts, pool := raceSetup(t, s)
			won := raceClaims(t, s, hosts, pool, 64, 1)
			if won != racePool {
				t.Errorf("%d claims succeeded, capacity allows %d", won, racePool)
			}
			checkSums(t, s, db, won)
		})
	}
}

// The same race through a ClaimBatcher: claims share transactions, each
// in its savepoint; the refused ones (most of them, once the pool is
// full) never take the others down or half-write.
func TestClaimBatcherRace(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, db, _ := newStore(t, eng.New(t))
			hosts, pool := raceSetup(t, s)
			b := &compute.ClaimBatcher{Store: s, Max: 16}
			won := raceClaimsWith(t, b.Claim, hosts, pool, 64, 2)
			if won != racePool {
				t.Errorf("%d batched claims succeeded, capacity allows %d", won, racePool)
			}
			checkSums(t, s, db, won)
		})
	}
}

// TestClaimRaceProcesses: two processes (this test binary again) with 32
// workers each claim on one database.
func TestClaimRaceProcesses(t *testing.T) {
	if dsn := os.Getenv("COMPUTE_RACE_DSN"); dsn != "" {
		childClaims(t, dsn)
		return
	}
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			dsn := eng.New(t)
			s, db, _ := newStore(t, dsn)
			raceSetup(t, s)
			var cmds []*exec.Cmd
			outs := make([]*lockedBuf, 2)
			for i := range 2 {
				outs[i] = &lockedBuf{}
				cmd := exec.Command(os.Args[0], "-test.run=^TestClaimRaceProcesses$", "-test.v")
				cmd.Env = append(os.Environ(), "COMPUTE_RACE_DSN="+dsn, "COMPUTE_RACE_SEED="+strconv.Itoa(i+10))
				cmd.Stdout, cmd.Stderr = outs[i], outs[i]
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds = append(cmds, cmd)
			}
			total := 0
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("child %d: %v\n%s", i, err, outs[i].String())
				}
				var n int
				if _, err := fmt.Sscanf(lastLine(outs[i].String(), "won "), "won %d", &n); err != nil {
					t.Fatalf("child %d said:\n%s", i, outs[i].String())
				}
				total += n
			}
			if total != racePool {
				t.Errorf("%d claims succeeded across two processes, capacity allows %d", total, racePool)
			}
			checkSums(t, s, db, total)
		})
	}
}

func childClaims(t *testing.T, dsn string) {
	s, _ := openExisting(t, dsn)
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	pool := ""
	for _, p := range snap {
		if p.Name == "race-pool" {
			pool = p.UUID
		} else {
			hosts = append(hosts, p.UUID)
		}
	}
	seed, _ := strconv.Atoi(os.Getenv("COMPUTE_RACE_SEED"))
	fmt.Printf("won %d\n", raceClaims(t, s, hosts, pool, 32, uint64(seed)))
}

// TestClaimCrash kills a process in the middle of a claim (after its
// first inventory row, and after its consumers) and checks the restart
// finds all of it or none of it.
func TestClaimCrash(t *testing.T) {
	if dsn := os.Getenv("COMPUTE_CRASH_DSN"); dsn != "" {
		s, _ := openExisting(t, dsn)
		h, pool := crashProviders(t, s)
		claimAnywhere(s, []string{h}, pool, 0) // dies inside
		t.Fatal("the crash point did not fire")
	}
	for _, eng := range testenv.Engines(t) {
		for _, point := range []string{"compute.claim.consumers", "compute.claim.inventory:1", "compute.claim.inventory:3"} {
			t.Run(eng.Name+"/"+point, func(t *testing.T) {
				dsn := eng.New(t)
				s, db, _ := newStore(t, dsn)
				host(t, s, "a-host", 4, 4096, 1)
				pool, _ := s.CreateProvider(context.Background(), "", "b-pool", "")
				s.SetInventories(context.Background(), pool.UUID, nil, compute.ReplaceAll, map[string]placement.Inventory{placement.DiskGB: placement.NewInventory(10)})
				cmd := exec.Command(os.Args[0], "-test.run=^TestClaimCrash$")
				cmd.Env = append(os.Environ(), "COMPUTE_CRASH_DSN="+dsn, crashpoint.Env+"="+point)
				out, err := cmd.CombinedOutput()
				if err == nil || cmd.ProcessState.ExitCode() != -1 {
					t.Fatalf("child was not killed: %v\n%s", err, out)
				}
				checkSums(t, s, db, 0)
				// And the store works on: the same claim now succeeds whole.
				h, poolID := crashProviders(t, s)
				if ok, err := claimAnywhere(s, []string{h}, poolID, 0); !ok || err != nil {
					t.Fatalf("claim after the crash: %v %v", ok, err)
				}
				checkSums(t, s, db, 1)
			})
		}
	}
}

func crashProviders(t testing.TB, s *compute.Store) (host, pool string) {
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range snap {
		if p.Name == "b-pool" {
			pool = p.UUID
		} else {
			host = p.UUID
		}
	}
	return host, pool
}

// openExisting opens a store on a database another process migrated.
func openExisting(t testing.TB, dsn string) (*compute.Store, *sqlstore.DB) {
	s, db, _ := newStore(t, dsn)
	return s, db
}

type lockedBuf struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

func lastLine(s, prefix string) string {
	out := ""
	for _, l := range splitLines(s) {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			out = l
		}
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}
