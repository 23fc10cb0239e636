package image

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/kit/fault"
)

// Location is one place an image's data is read from (Glance's image
// location): the image's own data in the service's data store (Local),
// or an http(s) URL the service reads and never writes or deletes.
// Metadata is the client's, kept as given: JSON objects, lists and
// strings, as glance_store accepts.
type Location struct {
	URL      string         `json:"url,omitempty"`
	Metadata map[string]any `json:"metadata"`
	Local    bool           `json:"local,omitempty"`
}

// Validation is a location's validation_data: hashes a client vouches for,
// recorded on a queued image when its first location makes it active.
// As in Glance they are not checked against the data.
type Validation struct {
	Checksum  string // md5, hex; optional
	HashAlgo  string // must be the service's os_hash_algo
	HashValue string // hex
}

// NewLocation is a location a client gives, with its validation data.
type NewLocation struct {
	Location
	Validation *Validation
}

// DataLocations are where img's data is read from, in order. An image
// that has data but lists no location (written before locations were
// kept) has its own data in the data store.
func (img Image) DataLocations() []Location {
	if len(img.Locations) == 0 && (img.Status == Active || img.Status == Deactivated || img.Status == PendingDelete) {
		return []Location{ownData()}
	}
	return img.Locations
}

// hasOwnData reports whether img's data is (also) in the data store.
func (img Image) hasOwnData() bool {
	return slices.ContainsFunc(img.DataLocations(), func(l Location) bool { return l.Local })
}

func ownData() Location { return Location{Local: true, Metadata: map[string]any{}} }

// withOwnData records, after done, that the image's data is in the data
// store: the one location of an image whose data was uploaded or imported.
func withOwnData(done func(*Image)) func(*Image) {
	return func(img *Image) {
		done(img)
		img.Locations = []Location{ownData()}
	}
}

// check holds a location to what the store keeps: the image's own data
// has no URL, any other location a URL of at most MaxValueLength bytes;
// metadata is JSON objects, lists and strings only (glance_store's
// check_location_metadata) taking at most MaxValueLength bytes as JSON.
func (l Location) check() error {
	switch {
	case l.Local && l.URL != "":
		return fault.Invalid("locations", "the image's own data has no URL")
	case !l.Local && (l.URL == "" || len(l.URL) > MaxValueLength):
		return fault.Invalid("locations", "a location's URL must have 1 to %d bytes", MaxValueLength)
	}
	if err := checkMetadata(l.Metadata, ""); err != nil {
		return err
	}
	if b, _ := json.Marshal(l.Metadata); len(b) > MaxValueLength {
		return fault.Invalid("locations", "a location's metadata must take at most %d bytes as JSON", MaxValueLength)
	}
	return nil
}

// checkMetadata is glance_store's check_location_metadata: dicts, lists
// and strings, all the way down.
func checkMetadata(v any, key string) error {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := checkMetadata(x[k], k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkMetadata(e, fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	case string:
	default:
		if len(key) > 64 {
			key = key[:64] + "..."
		}
		return fault.Invalid("locations", "The image metadata key %s has an invalid type of %s. Only dict, list, and unicode are supported.", key, jsonType(v))
	}
	return nil
}

// jsonType names the JSON type of a decoded scalar that is not a string.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	}
	return "number"
}

// LocationURL is the URL a location of image id shows: its own, or for
// the image's own data the data store's URL for it (store.Locator:
// file:// for the filesystem store, as Glance shows its own store's),
// else "local:" and the id.
func (s *Service) LocationURL(id string, l Location) string {
	if !l.Local {
		return l.URL
	}
	if loc, ok := s.Data.(store.Locator); ok {
		return loc.URL(id)
	}
	return "local:" + id
}

// Glance's messages for location changes (glance/api/v2/images.py).
func statusRefused(verb string, st Status) error {
	return fault.New(fault.Conflict, "It's not allowed to %s locations if image status is %s.", verb, st)
}

// invalidLocation is Glance's "Invalid location" (BadStoreUri, a 400),
// with why.
func invalidLocation(why string) error {
	return fault.Invalid("locations", "Invalid location: %s", why)
}

// locationTimeout bounds the request that reads a new location's size.
const locationTimeout = 30 * time.Second

// AddLocation is Glance's add of /locations/<at> (at is "-" for the end
// or an index) on img, in memory: the caller saves img with Store.Update
// on its old status. Only queued and active images take locations (409);
// a queued image becomes active, with the size read from the location
// and the hashes of the validation data. The URL must be an http(s) URL
// that External reads — through its guard — with a size, the image's
// size if it has one; anything else is Glance's 400 "Invalid location".
// A location already listed with the same metadata is a 400, one over
// Caps.Locations a *CapError (413).
func (s *Service) AddLocation(ctx context.Context, img *Image, at string, nl NewLocation) error {
	if img.Status != Queued && img.Status != Active {
		return statusRefused("add", img.Status)
	}
	img.Locations = slices.Clone(img.DataLocations())
	vals, err := s.validation(img, []NewLocation{nl})
	if err != nil {
		return err
	}
	pos, ok := position(at, len(img.Locations), true)
	if !ok {
		return fault.New(fault.BadRequest, "Invalid position for adding a location.")
	}
	if err := s.Store.Caps.locationsOver(len(img.Locations) + 1); err != nil {
		return err
	}
	if img.Status == Queued {
		if err := checkTransition(img, Active); err != nil {
			return err
		}
	}
	loc := Location{URL: nl.URL, Metadata: nl.Metadata}
	size, err := s.readSize(ctx, img, loc)
	if err != nil {
		return err
	}
	if countSame(img.Locations, loc, img.ID, s) > 0 {
		return duplicate(loc.URL)
	}
	img.Locations = slices.Insert(img.Locations, pos, loc)
	s.activate(img, size, vals)
	return nil
}

// ReplaceLocations is Glance's replace of /locations on img, in memory.
// An image that has locations may only have their metadata changed (the
// same URLs); an image without (queued) takes them as AddLocation takes
// one, all of the same size, and becomes active. Only queued and active
// images take them (409); an empty list is a 403.
func (s *Service) ReplaceLocations(ctx context.Context, img *Image, nls []NewLocation) error {
	if len(nls) == 0 {
		return fault.New(fault.Forbidden, "Cannot set locations to empty list.")
	}
	if img.Status != Queued && img.Status != Active {
		return statusRefused("replace", img.Status)
	}
	img.Locations = slices.Clone(img.DataLocations())
	vals, err := s.validation(img, nls)
	if err != nil {
		return err
	}
	if err := s.Store.Caps.locationsOver(len(nls)); err != nil {
		return err
	}
	urls := func(n int, at func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = at(i)
		}
		slices.Sort(out)
		return out
	}
	have := urls(len(img.Locations), func(i int) string { return s.LocationURL(img.ID, img.Locations[i]) })
	want := urls(len(nls), func(i int) string { return nls[i].URL })
	if slices.Equal(have, want) { // the metadata of the same locations
		own := s.LocationURL(img.ID, ownData())
		locs := make([]Location, len(nls))
		for i, nl := range nls {
			locs[i] = Location{URL: nl.URL, Metadata: nl.Metadata}
			if img.hasOwnData() && nl.URL == own {
				locs[i] = Location{Local: true, Metadata: nl.Metadata}
			}
		}
		img.Locations = locs
		return nil
	}
	if len(img.Locations) > 0 {
		return fault.Invalid("locations", "Original locations is not empty: the image has %d; only their metadata may be replaced", len(img.Locations))
	}
	if err := checkTransition(img, Active); err != nil {
		return err
	}
	locs := make([]Location, 0, len(nls))
	var size int64
	for _, nl := range nls {
		loc := Location{URL: nl.URL, Metadata: nl.Metadata}
		n, err := s.readSize(ctx, img, loc)
		if err != nil {
			return err
		}
		if len(locs) > 0 && n != size {
			return invalidLocation(fmt.Sprintf("its size %d differs from the other locations' %d", n, size))
		}
		size = n
		if countSame(locs, loc, img.ID, s) > 0 {
			return duplicate(loc.URL)
		}
		locs = append(locs, loc)
	}
	img.Locations = locs
	s.activate(img, size, vals)
	return nil
}

// RemoveLocation is Glance's remove of /locations/<at> (at is "-" for the
// last or an index) on img, in memory. Only an active image's locations
// may be removed (409), never its last one (403). Removing the image's
// own data deletes it from the data store once the change is saved
// (LocationsSaved); remote data is never deleted.
func (s *Service) RemoveLocation(img *Image, at string) error {
	if img.Status != Active {
		return statusRefused("remove", img.Status)
	}
	img.Locations = slices.Clone(img.DataLocations())
	if len(img.Locations) == 1 {
		return fault.New(fault.Forbidden, "Cannot remove last location in the image.")
	}
	pos, ok := position(at, len(img.Locations), false)
	if !ok {
		return fault.New(fault.BadRequest, "Invalid position for removing a location.")
	}
	img.Locations = slices.Delete(img.Locations, pos, pos+1)
	return nil
}

// LocationsSaved finishes a saved change of locations: when the image's
// own data is no longer among them, it is deleted from the data store.
// (After a crash in between, Recover removes it.)
func (s *Service) LocationsSaved(ctx context.Context, before, after Image) {
	if !before.hasOwnData() || after.hasOwnData() {
		return
	}
	c, cancel := detached(ctx)
	defer cancel()
	if err := s.Data.Delete(c, after.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log().Warn("image data left after its location was removed; the next start removes it", "image", after.ID, "err", err)
	}
}

// activate makes a queued image active with its first location's size
// and the validation data. (An active image keeps its size: its
// locations all have it.)
func (s *Service) activate(img *Image, size int64, vals map[string]string) {
	if img.Status != Queued {
		return
	}
	img.Size = &size
	for k, v := range vals {
		switch k {
		case "checksum":
			img.Checksum = v
		case "os_hash_algo":
			img.HashAlgo = v
		case "os_hash_value":
			img.HashValue = v
		}
	}
	img.Status = Active
}

// readSize checks that loc is an http(s) URL External reads with a size,
// the image's size unless it is queued, and returns the size.
func (s *Service) readSize(ctx context.Context, img *Image, loc Location) (int64, error) {
	u, err := url.Parse(loc.URL)
	if err != nil || u.Host == "" || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) {
		return 0, invalidLocation("only http and https URLs can be image locations")
	}
	if err := loc.check(); err != nil {
		return 0, err
	}
	if s.External == nil {
		return 0, invalidLocation("this service reads no http(s) locations")
	}
	c, cancel := context.WithTimeout(ctx, locationTimeout)
	defer cancel()
	n, err := s.External.Stat(c, loc.URL)
	if err != nil || n <= 0 {
		s.log().Info("image location refused", "image", img.ID, "url", u.Redacted(), "size", n, "err", err)
		return 0, invalidLocation("its size could not be read: the address is refused, unreachable, missing or empty")
	}
	if img.Status != Queued && img.Size != nil && n != *img.Size {
		return 0, invalidLocation(fmt.Sprintf("its size %d differs from the image's %d", n, *img.Size))
	}
	return n, nil
}

// countSame counts the locations with loc's URL and metadata (Glance's
// _count_duplicated_locations).
func countSame(locs []Location, loc Location, id string, s *Service) int {
	n := 0
	for _, l := range locs {
		if s.LocationURL(id, l) == loc.URL && sameMetadata(l.Metadata, loc.Metadata) {
			n++
		}
	}
	return n
}

// sameMetadata compares two metadata objects as JSON (json.Marshal
// sorts map keys); nil and empty are the same.
func sameMetadata(a, b map[string]any) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func duplicate(raw string) error {
	shown := raw
	if u, err := url.Parse(raw); err == nil {
		shown = u.Redacted()
	}
	if len(shown) > 255 {
		shown = shown[:255] + "..."
	}
	return fault.Invalid("locations", "The location %s already exists", shown)
}

// position is Glance's _get_locations_op_pos: "-" is the end (adding) or
// the last (removing), digits an index; an added location may go past
// the end (it is appended), a removed one must exist.
func position(at string, n int, adding bool) (int, bool) {
	pos := n
	if !adding {
		pos = n - 1
	}
	if at != "-" {
		if at == "" || strings.Trim(at, "0123456789") != "" {
			return 0, false
		}
		v, err := strconv.Atoi(at)
		if err != nil { // more digits than an int holds: past any end
			v = n + 1
		}
		pos = v
	}
	if adding {
		return min(pos, n), true
	}
	return pos, pos >= 0 && pos < n
}

// validation is Glance's _validate_validation_data: the locations'
// validation data must agree, may repeat what the image has, and may
// only set hashes on a queued image, with the service's algorithm and
// well-formed hex. It returns the values to record.
func (s *Service) validation(img *Image, nls []NewLocation) (map[string]string, error) {
	keys := []string{"checksum", "os_hash_algo", "os_hash_value"}
	given := map[string]string{}
	for _, nl := range nls {
		v := nl.Validation
		if v == nil {
			continue
		}
		for i, val := range []string{v.Checksum, v.HashAlgo, v.HashValue} {
			if i == 0 && val == "" {
				continue // no checksum given
			}
			if have, ok := given[keys[i]]; ok && have != val {
				return nil, fault.New(fault.Conflict, "Conflicting values for %s", keys[i])
			}
			given[keys[i]] = val
		}
	}
	current := map[string]string{"checksum": img.Checksum, "os_hash_algo": img.HashAlgo, "os_hash_value": img.HashValue}
	vals := map[string]string{}
	var names []string
	for _, k := range keys {
		v, ok := given[k]
		if !ok || v == current[k] {
			continue
		}
		if current[k] != "" {
			return nil, fault.New(fault.Conflict, "%s is already set with a different value", k)
		}
		vals[k] = v
		names = append(names, k)
	}
	if len(vals) == 0 {
		return nil, nil
	}
	if img.Status != Queued {
		return nil, fault.New(fault.Conflict, "New value(s) for %s may only be provided when image status is 'queued'", strings.Join(names, ", "))
	}
	if sum, ok := vals["checksum"]; ok {
		b, err := hex.DecodeString(sum)
		if err != nil {
			return nil, fault.New(fault.Conflict, "checksum (%s) is not a valid hexadecimal value", sum)
		}
		if len(b) != 16 {
			return nil, fault.New(fault.Conflict, "checksum (%s) is not the correct size for md5 (should be 16 bytes)", sum)
		}
	}
	want := s.hashAlgo()
	algo, ok := vals["os_hash_algo"]
	if !ok {
		algo = "None"
	}
	if algo != want {
		return nil, fault.New(fault.Conflict, "os_hash_algo must be %s, not %s", want, algo)
	}
	if value, ok := vals["os_hash_value"]; ok {
		b, err := hex.DecodeString(value)
		if err != nil {
			return nil, fault.New(fault.Conflict, "os_hash_value (%s) is not a valid hexadecimal value", value)
		}
		if size := digestSizes[algo]; len(b) != size {
			return nil, fault.New(fault.Conflict, "os_hash_value (%s) is not the correct size for %s (should be %d bytes)", value, algo, size)
		}
	}
	return vals, nil
}

// digestSizes are the digest sizes of the os_hash_algo a service may use.
var digestSizes = map[string]int{"sha512": 64, "sha384": 48, "sha256": 32, "sha224": 28}

func (s *Service) hashAlgo() string {
	if s.HashAlgo == "" {
		return "sha512"
	}
	return s.HashAlgo
}
