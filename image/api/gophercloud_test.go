package api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// TestGophercloud drives the API with gophercloud's image v2 packages, as
// Terraform and other Go tools do: one image through its whole life
// (create, list, get, update, upload, download, delete), one through the
// interoperable import (stage, glance-direct), and sharing.
func TestGophercloud(t *testing.T) {
	c := newCloud(t)
	q := newQemu(t)
	qcow2 := q.create("qcow2", "disk.qcow2", "1G")
	a, b := c.client(memberA), c.client(memberB)
	ctx := t.Context()

	var img *images.Image
	t.Run("create", func(t *testing.T) {
		private := images.ImageVisibilityPrivate
		var err error
		img, err = images.Create(ctx, a, images.CreateOpts{
			Name: "debian", ContainerFormat: "bare", DiskFormat: "qcow2", Visibility: &private,
			Tags: []string{"linux", "lts"}, MinRAM: 512, Properties: map[string]string{"os_distro": "debian"},
		}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if img.ID == "" || img.Name != "debian" || img.Status != images.ImageStatusQueued || img.Owner != projectA ||
			img.Visibility != private || img.DiskFormat != "qcow2" || img.ContainerFormat != "bare" || img.MinRAMMegabytes != 512 {
			t.Fatalf("created %+v", img)
		}
		if !slices.Equal(img.Tags, []string{"linux", "lts"}) || img.Properties["os_distro"] != "debian" {
			t.Fatalf("tags %v, properties %v", img.Tags, img.Properties)
		}
		if !slices.Equal(img.OpenStackImageImportMethods, []string{"glance-direct"}) {
			t.Errorf("import methods header = %v", img.OpenStackImageImportMethods)
		}
		if img.File != "/v2/images/"+img.ID+"/file" || img.Schema != "/v2/schemas/image" {
			t.Errorf("file %q, schema %q", img.File, img.Schema)
		}
	})
	if img == nil {
		t.FailNow()
	}

	t.Run("get", func(t *testing.T) {
		got, err := images.Get(ctx, a, img.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != img.ID || got.Name != img.Name || !got.CreatedAt.Equal(img.CreatedAt) {
			t.Fatalf("got %+v, created %+v", got, img)
		}
	})

	t.Run("update", func(t *testing.T) {
		got, err := images.Update(ctx, a, img.ID, images.UpdateOpts{
			images.ReplaceImageName{NewName: "debian-12"},
			images.UpdateImageProperty{Op: images.AddOp, Name: "hw_disk_bus", Value: "scsi"},
			images.UpdateImageProperty{Op: images.ReplaceOp, Name: "os_distro", Value: "Debian"},
			images.ReplaceImageTags{NewTags: []string{"linux", "bookworm"}},
			images.ReplaceImageMinDisk{NewMinDisk: 2},
		}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "debian-12" || got.MinDiskGigabytes != 2 || !slices.Equal(got.Tags, []string{"linux", "bookworm"}) ||
			got.Properties["hw_disk_bus"] != "scsi" || got.Properties["os_distro"] != "Debian" {
			t.Fatalf("updated %+v", got)
		}
		got, err = images.Update(ctx, a, img.ID, images.UpdateOpts{
			images.UpdateImageProperty{Op: images.RemoveOp, Name: "hw_disk_bus"},
		}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Properties["hw_disk_bus"]; ok {
			t.Fatalf("hw_disk_bus not removed: %v", got.Properties)
		}
		again, err := images.Get(ctx, a, img.ID).Extract()
		if err != nil || again.Name != "debian-12" || again.Properties["os_distro"] != "Debian" {
			t.Fatalf("read back %+v, %v", again, err)
		}
	})

	t.Run("upload", func(t *testing.T) {
		if err := imagedata.Upload(ctx, a, img.ID, bytes.NewReader(qcow2)).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		got, err := images.Get(ctx, a, img.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(qcow2)
		sha := sha512.Sum512(qcow2)
		if got.Status != images.ImageStatusActive || got.SizeBytes != int64(len(qcow2)) || got.VirtualSize != 1<<30 ||
			got.Checksum != hex.EncodeToString(sum[:]) {
			t.Fatalf("after upload: %+v", got)
		}
		if got.Properties["os_hash_algo"] != "sha512" || got.Properties["os_hash_value"] != hex.EncodeToString(sha[:]) {
			t.Errorf("hash %v %v", got.Properties["os_hash_algo"], got.Properties["os_hash_value"])
		}
		if f := files(t, c.DataDir); !slices.Equal(f, []string{"objects/" + img.ID + " " + itoa(len(qcow2))}) {
			t.Errorf("data files = %v", f)
		}
	})

	t.Run("download", func(t *testing.T) {
		res := imagedata.Download(ctx, a, img.ID)
		rc, err := res.Extract()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, qcow2) {
			t.Fatalf("downloaded %d bytes differ from the %d uploaded", len(data), len(qcow2))
		}
		got, _ := images.Get(ctx, a, img.ID).Extract()
		sum := md5.Sum(data)
		if hex.EncodeToString(sum[:]) != got.Checksum || res.Header.Get("Content-MD5") != got.Checksum {
			t.Fatalf("md5 %x, Content-MD5 %q, checksum %q", sum, res.Header.Get("Content-MD5"), got.Checksum)
		}
	})

	var imported *images.Image
	t.Run("stage and import", func(t *testing.T) {
		info, err := imageimport.Get(ctx, a).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(info.ImportMethods.Value, []string{"glance-direct"}) {
			t.Fatalf("import methods %+v", info.ImportMethods)
		}
		imported, err = images.Create(ctx, a, images.CreateOpts{Name: "imported", ContainerFormat: "bare", DiskFormat: "qcow2"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if err := imagedata.Stage(ctx, a, imported.ID, bytes.NewReader(qcow2)).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if got, _ := images.Get(ctx, a, imported.ID).Extract(); got.Status != "uploading" {
			t.Fatalf("after stage: %s", got.Status)
		}
		err = imageimport.Create(ctx, a, imported.ID, imageimport.CreateOpts{Name: imageimport.GlanceDirectMethod}).ExtractErr()
		if err != nil {
			t.Fatal(err)
		}
		var got *images.Image
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if got, err = images.Get(ctx, a, imported.ID).Extract(); err != nil || got.Status == images.ImageStatusActive {
				break
			}
		}
		if err != nil || got.Status != images.ImageStatusActive {
			t.Fatalf("import did not finish: %+v, %v", got, err)
		}
		c.Service.Wait()
		sum := md5.Sum(qcow2)
		if got.SizeBytes != int64(len(qcow2)) || got.Checksum != hex.EncodeToString(sum[:]) || got.VirtualSize != 1<<30 {
			t.Fatalf("imported %+v", got)
		}
		if f := files(t, c.StagingDir); len(f) != 0 {
			t.Errorf("staged data left after the import: %v", f)
		}
	})

	t.Run("list", func(t *testing.T) {
		for i := range 5 {
			if _, err := images.Create(ctx, a, images.CreateOpts{Name: "extra", Tags: []string{"extra", itoa(i)}}).Extract(); err != nil {
				t.Fatal(err)
			}
		}
		all := func(t *testing.T, opts images.ListOpts) []images.Image {
			t.Helper()
			var pages int
			var out []images.Image
			err := images.List(a, opts).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
				pages++
				got, err := images.ExtractImages(p)
				if opts.Limit > 0 && len(got) > opts.Limit {
					t.Errorf("page of %d images, limit %d", len(got), opts.Limit)
				}
				out = append(out, got...)
				return true, err
			})
			if err != nil {
				t.Fatal(err)
			}
			if opts.Limit > 0 && pages < (len(out)+opts.Limit-1)/opts.Limit {
				t.Errorf("%d images in %d pages of at most %d", len(out), pages, opts.Limit)
			}
			return out
		}
		names := func(imgs []images.Image) []string {
			var out []string
			for _, i := range imgs {
				out = append(out, i.Name)
			}
			return out
		}
		got := all(t, images.ListOpts{Limit: 2})
		if len(got) != 7 {
			t.Fatalf("listed %d images: %v", len(got), names(got))
		}
		seen := map[string]bool{}
		for _, i := range got {
			if seen[i.ID] {
				t.Errorf("image %s listed twice", i.ID)
			}
			seen[i.ID] = true
		}
		if !seen[img.ID] || imported == nil || !seen[imported.ID] {
			t.Errorf("missing images: %v", names(got))
		}
		pages, err := images.List(a, images.ListOpts{Limit: 3, SortKey: "name", SortDir: "asc"}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := images.ExtractImages(pages); err != nil || len(got) != 7 || got[0].Name != "debian-12" || got[6].Name != "imported" {
			t.Errorf("AllPages: %v, %v", names(got), err)
		}
		if got := all(t, images.ListOpts{Limit: 2, Tags: []string{"extra"}, Sort: "name:asc"}); len(got) != 5 {
			t.Errorf("tag filter: %v", names(got))
		}
		if got := all(t, images.ListOpts{Name: "debian-12"}); len(got) != 1 || got[0].ID != img.ID {
			t.Errorf("name filter: %v", names(got))
		}
		if got := all(t, images.ListOpts{Status: images.ImageStatusActive, SortKey: "name", SortDir: "asc"}); !slices.Equal(names(got), []string{"debian-12", "imported"}) {
			t.Errorf("status filter: %v", names(got))
		}
		if got := all(t, images.ListOpts{DiskFormat: "in:qcow2,raw", SizeMin: 1}); len(got) != 2 {
			t.Errorf("disk format and size filter: %v", names(got))
		}
		if got := all(t, images.ListOpts{Owner: projectB}); len(got) != 0 {
			t.Errorf("owner filter: %v", names(got))
		}
	})

	t.Run("members", func(t *testing.T) {
		shared := images.ImageVisibilityShared
		sh, err := images.Create(ctx, a, images.CreateOpts{Name: "shared", Visibility: &shared}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		listB := func(status images.ImageMemberStatus) []string {
			var out []string
			pages, err := images.List(b, images.ListOpts{MemberStatus: status}).AllPages(ctx)
			if err != nil {
				t.Fatal(err)
			}
			imgs, _ := images.ExtractImages(pages)
			for _, i := range imgs {
				out = append(out, i.ID)
			}
			return out
		}
		m, err := members.Create(ctx, a, sh.ID, projectB).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if m.ImageID != sh.ID || m.MemberID != projectB || m.Status != "pending" || m.Schema != "/v2/schemas/member" {
			t.Fatalf("member %+v", m)
		}
		if ids := listB(""); slices.Contains(ids, sh.ID) {
			t.Fatal("a pending shared image is in the default list")
		}
		if ids := listB(images.ImageMemberStatusPending); !slices.Equal(ids, []string{sh.ID}) {
			t.Fatalf("pending list = %v", ids)
		}
		m, err = members.Update(ctx, b, sh.ID, projectB, members.UpdateOpts{Status: "accepted"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != "accepted" || m.CreatedAt.IsZero() {
			t.Fatalf("accepted %+v", m)
		}
		if ids := listB(""); !slices.Equal(ids, []string{sh.ID}) {
			t.Fatalf("after accepting, B lists %v", ids)
		}
		pages, err := members.List(a, sh.ID).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := members.ExtractMembers(pages)
		if len(ms) != 1 || ms[0].MemberID != projectB || ms[0].Status != "accepted" {
			t.Fatalf("members %+v", ms)
		}
		if got, err := members.Get(ctx, b, sh.ID, projectB).Extract(); err != nil || got.Status != "accepted" {
			t.Fatalf("B reads its membership: %+v, %v", got, err)
		}
		if err := members.Delete(ctx, a, sh.ID, projectB).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if _, err := images.Get(ctx, b, sh.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("B reads the unshared image: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := images.Delete(ctx, a, img.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if _, err := images.Get(ctx, a, img.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
		if err := images.Delete(ctx, a, img.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		for _, f := range files(t, c.DataDir) {
			if strings.HasPrefix(f, "objects/"+img.ID) {
				t.Errorf("data of the deleted image left: %s", f)
			}
		}
	})
}
