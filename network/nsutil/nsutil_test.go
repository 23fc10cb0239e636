package nsutil_test

import (
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/gostack/gostack/network/nsutil"
)

// A namespace made by Ensure is empty but for its loopback, In runs code
// there, and the thread is back home after.
func TestEnsureIn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces")
	}
	name := fmt.Sprintf("gsnsutil%d", os.Getpid())
	ns, err := nsutil.Ensure(name)
	if err != nil {
		t.Fatal(err)
	}
	defer netns.DeleteNamed(name)
	defer ns.Close()
	again, err := nsutil.Ensure(name) // opens the same one
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !ns.Equal(again) {
		t.Fatal("a second Ensure made another namespace")
	}
	var inside []net.Interface
	if err := nsutil.In(ns, func() (err error) { inside, err = net.Interfaces(); return err }); err != nil {
		t.Fatal(err)
	}
	if len(inside) != 1 || inside[0].Name != "lo" {
		t.Fatalf("interfaces inside: %v", inside)
	}
	home, _ := netns.Get()
	defer home.Close()
	if home.Equal(ns) {
		t.Fatal("the thread stayed in the namespace")
	}
}
