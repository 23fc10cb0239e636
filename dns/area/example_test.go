package area_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/gostack/gostack/dns/area"
	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/kit/compose"
	mdns "github.com/miekg/dns"
)

// Serve Designate and its authoritative DNS server: the zones the API
// stores are answered on dns.listen.
func Example() {
	dir, _ := os.MkdirTemp("", "dns-area-")
	defer os.RemoveAll(dir)

	dns := area.New()
	dns.Config.Listen = "127.0.0.1:0" // any free port, UDP and TCP
	dns.Config.Nameservers = []string{"ns1.example.net."}
	areas := []compose.Area{identityarea.New(), dns}
	cfg := compose.Defaults(areas...)
	cfg.DataDir = dir
	stack, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: areas,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stack.Close()

	// No zone yet: the server refuses what it is not authoritative for.
	m := new(mdns.Msg)
	m.SetQuestion("www.example.org.", mdns.TypeA)
	in, err := mdns.Exchange(m, stack.Announced()["dns-server"])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(mdns.RcodeToString[in.Rcode])
	// Output: REFUSED
}
