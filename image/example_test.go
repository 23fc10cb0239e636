package image_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/httpstore"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// qcow2 returns a qcow2 version 3 image of the given virtual size: its
// header and a few zeros.
func qcow2(virtual uint64) []byte {
	b := make([]byte, 64<<10)
	copy(b, "QFI\xfb")
	binary.BigEndian.PutUint32(b[4:], 3)
	binary.BigEndian.PutUint64(b[24:], virtual)
	binary.BigEndian.PutUint32(b[100:], 104)
	return b
}

// The image area without its HTTP API: a record in the Store, data
// uploaded through the Service (inspected, hashed and stored in one pass),
// a range downloaded; an upload whose content is not the declared format
// is refused and leaves the image queued.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "image-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "gostack.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), image.Migrations()); err != nil {
		panic(err)
	}
	svc := &image.Service{
		Store: image.NewStore(db, watch.New(db)),
		Data:  &store.Filesystem{Dir: filepath.Join(dir, "images")},
	}

	// POST /v2/images, then PUT /v2/images/{id}/file.
	img, err := svc.Store.Create(ctx, image.Image{ID: "img-1", Name: "disk", Owner: "p1", DiskFormat: "qcow2", ContainerFormat: "bare"})
	if err != nil {
		panic(err)
	}
	fmt.Println(img.ID, img.Status, img.Visibility)
	img, err = svc.Upload(ctx, img.ID, bytes.NewReader(qcow2(1<<30)), -1)
	if err != nil {
		panic(err)
	}
	fmt.Println(img.ID, img.Status, *img.Size, *img.VirtualSize, img.Checksum)

	r, err := svc.Download(ctx, img, 0, 4, false)
	if err != nil {
		panic(err)
	}
	magic, _ := io.ReadAll(r)
	r.Close()
	fmt.Printf("first bytes %q\n", magic)

	bad, err := svc.Store.Create(ctx, image.Image{ID: "img-2", Owner: "p1", DiskFormat: "qcow2", ContainerFormat: "bare"})
	if err != nil {
		panic(err)
	}
	_, err = svc.Upload(ctx, bad.ID, bytes.NewReader(make([]byte, 64<<10)), -1)
	bad, _ = svc.Store.Get(ctx, bad.ID)
	fmt.Println(bad.ID, bad.Status, fault.KindOf(err), "|", err)
	// Output:
	// img-1 queued shared
	// img-1 active 65536 1073741824 8a44bd4ac60b1b0935dd65f3f6c8f594
	// first bytes "QFI\xfb"
	// img-2 queued bad request | Image content does not match disk_format qcow2: the data is raw
}

// An image whose data stays on a web server (Glance's image locations):
// the service reads the location's size through the guarded client of
// web-download, the queued image becomes active, and its data is read
// from there. Other schemes, and addresses the guard refuses, are not
// locations.
func ExampleService_AddLocation() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "image-location-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "gostack.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), image.Migrations()); err != nil {
		panic(err)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "disk.img", time.Time{}, strings.NewReader("a raw disk on a web server"))
	}))
	defer web.Close()
	svc := &image.Service{
		Store: image.NewStore(db, watch.New(db)),
		Data:  &store.Filesystem{Dir: filepath.Join(dir, "images")},
		// The test server is on loopback, which the guard refuses unless
		// allowed (as image.web_download_allow allows it).
		External: &httpstore.Store{Client: httpstore.GuardedClient([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, time.Minute)},
	}
	img, err := svc.Store.Create(ctx, image.Image{ID: "img-1", Owner: "p1", DiskFormat: "raw", ContainerFormat: "bare"})
	if err != nil {
		panic(err)
	}
	// PATCH [{"op": "add", "path": "/locations/-", "value": {...}}].
	from := img.Status
	err = svc.AddLocation(ctx, &img, "-", image.NewLocation{Location: image.Location{URL: web.URL + "/disk.img", Metadata: map[string]any{}}})
	if err != nil {
		panic(err)
	}
	if img, err = svc.Store.Update(ctx, img, from); err != nil {
		panic(err)
	}
	fmt.Println(img.Status, *img.Size, len(img.Locations))
	r, err := svc.Download(ctx, img, 2, 3, false)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	fmt.Printf("%q\n", b)

	for _, u := range []string{"file:///etc/passwd", "rbd://fsid/images/img-1/snap", "http://169.254.169.254/latest/"} {
		err := svc.AddLocation(ctx, &img, "-", image.NewLocation{Location: image.Location{URL: u}})
		fmt.Println(fault.KindOf(err), "|", err)
	}
	// Output:
	// active 26 1
	// "raw"
	// bad request | Invalid location: only http and https URLs can be image locations
	// bad request | Invalid location: only http and https URLs can be image locations
	// bad request | Invalid location: its size could not be read: the address is refused, unreachable, missing or empty
}
