package dns_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
)

const zoneFile = `$TTL 600
$ORIGIN example.org.
@ 3600 IN SOA ns.other.example. john\.doe.example.org. 2024010101 7200 900 1209600 300
@ IN NS ns.other.example.
@ IN MX 10 mail
www 120 IN A 192.0.2.1
www 120 IN A 192.0.2.2
mail IN AAAA 2001:db8::25
sub IN NS ns.sub.example.org.
ns.sub IN A 192.0.2.53
txt IN TXT "hello world"
`

// A zone file becomes a zone of the importing project: the SOA's email,
// TTL, serial, retry and expire; the pool's SOA and NS instead of the
// file's; every other record, the delegation included.
func testImport(t *testing.T, e *env) {
	task, err := e.s.ImportZone(e.ctx, projA, zoneFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != dns.TaskComplete || task.ZoneID == "" || task.Message != "example.org. imported" || task.ProjectID != "a" {
		t.Fatalf("import: %+v", task)
	}
	z, err := e.s.GetZone(e.ctx, projA, task.ZoneID)
	if err != nil || z.Name != "example.org." || z.Email != "john.doe@example.org" || z.TTL != 3600 || z.Serial != 2024010101 ||
		z.Retry != 900 || z.Expire != 1209600 || z.Status != dns.Pending || z.SerialPending {
		t.Fatalf("imported zone: %+v %v", z, err)
	}
	sets, err := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{}, dns.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rs := range sets {
		got[rs.Type+" "+rs.Name] = strings.Join(rs.Records, ",")
	}
	for k, want := range map[string]string{
		"NS example.org.":        "ns1.example.net.,ns2.example.net.",
		"MX example.org.":        "10 mail.example.org.",
		"A www.example.org.":     "192.0.2.1,192.0.2.2",
		"AAAA mail.example.org.": "2001:db8::25",
		"NS sub.example.org.":    "ns.sub.example.org.",
		"A ns.sub.example.org.":  "192.0.2.53",
		"TXT txt.example.org.":   `"hello world"`,
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if len(sets) != 8 || !strings.Contains(got["SOA example.org."], "ns1.example.net. john\\.doe.example.org. 2024010101") {
		t.Errorf("recordsets: %v", got)
	}
	if l, _ := e.s.ListTasks(e.ctx, projB, dns.TaskImport, ""); len(l) != 0 {
		t.Errorf("another project lists the import: %v", l)
	}
	_, err = e.s.GetTask(e.ctx, projB, dns.TaskImport, task.ID)
	wantFault(t, "another project's import", err, fault.NotFound, "")
	if err := e.s.DeleteTask(e.ctx, projA, dns.TaskImport, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetZone(e.ctx, projA, z.ID); err != nil {
		t.Errorf("deleting the import deleted the zone: %v", err)
	}
}

// Files Designate refuses give an ERROR import with its message, and no
// zone.
func testImportRefused(t *testing.T, e *env) {
	e.zone(t, "b", "taken.example.")
	soa := "@ IN SOA ns.example. h.example. 1 2 3 4 5\n"
	for _, tc := range []struct{ name, file, msg string }{
		{"no origin", "example.org. 3600 IN SOA ns.example. h.example. 1 2 3 4 5\n", "The $ORIGIN statement is required and must be the first statement in the zonefile."},
		{"origin after a record", "www.example.org. IN A 192.0.2.1\n$ORIGIN example.org.\n" + soa, "The $ORIGIN statement is required"},
		{"empty", "", "The $ORIGIN statement is required"},
		{"malformed", "$ORIGIN example.org.\n" + soa + "www IN A 300.1.1.1\n", "Malformed zonefile."},
		{"include", "$ORIGIN example.org.\n$INCLUDE /etc/passwd\n" + soa, "Malformed zonefile."},
		{"no SOA", "$ORIGIN example.org.\nwww IN A 192.0.2.1\n", "An SOA record is required."},
		{"duplicate zone", "$ORIGIN taken.example.\n" + soa, "Duplicate zone."},
		{"one label", "$ORIGIN org.\n" + soa, "An undefined error occurred. More than one label is required"},
		{"cname beside a", "$ORIGIN example.org.\n" + soa + "www IN A 192.0.2.1\nwww IN CNAME other.example.\n", "An undefined error occurred. CNAME"},
		{"out of zone", "$ORIGIN example.org.\n" + soa + "www.other.example. IN A 192.0.2.1\n", "An undefined error occurred."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task, err := e.s.ImportZone(e.ctx, projA, tc.file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if task.Status != dns.TaskError || task.ZoneID != "" || !strings.HasPrefix(task.Message, tc.msg) {
				t.Errorf("import: %+v, want ERROR %q", task, tc.msg)
			}
		})
	}
	if zs, _ := e.s.ListZones(e.ctx, projA, dns.ZoneFilter{}, dns.Page{Limit: 10}); len(zs) != 0 {
		t.Errorf("refused imports left zones: %v", zs)
	}
	// Quota: the records over zone_records.
	if _, err := e.s.SetQuota(e.ctx, "a", map[string]int{"zone_records": 2}); err != nil {
		t.Fatal(err)
	}
	task, _ := e.s.ImportZone(e.ctx, projA, zoneFile, nil)
	if task.Status != dns.TaskError || task.Message != "Quota exceeded during zone import." {
		t.Errorf("import over quota: %+v", task)
	}
	// The API's name check refuses as a create would.
	task, _ = e.s.ImportZone(e.ctx, projB, zoneFile, func(string) error { return dns.ReservedNames{"example.org."}.Check("example.org.", nil) })
	if task.Status != dns.TaskError || !strings.Contains(task.Message, "Blacklisted zone name") {
		t.Errorf("blacklisted import: %+v", task)
	}
}

// An export is COMPLETE at once; its file is the zone as it is now, in
// Designate's template, and reads back as the same zone.
func testExport(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	task, err := e.s.CreateExport(e.ctx, projA, z.ID)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != dns.TaskComplete || task.ZoneID != z.ID || task.Location != "designate://v2/zones/tasks/exports/"+task.ID+"/export" {
		t.Fatalf("export: %+v", task)
	}
	file, err := e.s.ExportFile(e.ctx, projA, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := "$ORIGIN example.org.\n$TTL 3600\n\n" +
		"example.org.  IN SOA ns1.example.net. hostmaster.example.org. " + itoa(z.Serial) + " 3600 600 86400 3600\n" +
		"example.org.  IN NS ns1.example.net.\nexample.org.  IN NS ns2.example.net.\n" +
		"www.example.org.  IN A 192.0.2.1\n"
	if file != want {
		t.Fatalf("export file:\n%s\nwant:\n%s", file, want)
	}
	_, err = e.s.ExportFile(e.ctx, projB, task.ID)
	wantFault(t, "another project's export", err, fault.NotFound, "")
	_, err = e.s.CreateExport(e.ctx, projB, z.ID)
	wantFault(t, "export of another project's zone", err, fault.NotFound, "")
	if _, err := e.s.SetQuota(e.ctx, "a", map[string]int{"api_export_size": 2}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.CreateExport(e.ctx, projA, z.ID)
	wantFault(t, "export over api_export_size", err, fault.TooLarge, "")

	// The file imports as the same zone, once the original is gone.
	if _, err := e.s.DeleteZone(e.ctx, projA, z.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.FinishDelete(e.ctx, z.ID); err != nil {
		t.Fatal(err)
	}
	back, err := e.s.ImportZone(e.ctx, projA, file, nil)
	if err != nil || back.Status != dns.TaskComplete {
		t.Fatalf("reimport: %+v %v", back, err)
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
