package cinder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/pyjson"
)

// cinderSchemas pairs python3-cinder's schemas (module.name) with ours.
var cinderSchemas = []struct {
	python string
	ours   *schema
}{
	{"volumes.create", volumeCreateSchema},
	{"volumes.create_volume_v313", volumeCreateV313Schema},
	{"volumes.create_volume_v347", volumeCreateV347Schema},
	{"volumes.create_volume_v353", volumeCreateV353Schema},
	{"volumes.update", volumeUpdateSchema},
	{"volume_actions.volume_upload_image", uploadImageSchema},
	{"volume_actions.volume_upload_image_v31", uploadImageV31Schema},
	{"volumes.update_volume_v353", volumeUpdateV353Schema},
	{"volume_actions.extend", extendSchema},
	{"volume_actions.retype", retypeSchema},
	{"volume_actions.set_bootable", setBootableSchema},
	{"volume_actions.volume_readonly_update", readonlySchema},
	{"admin_actions.reset", resetStatusSchema},
	{"admin_actions.migrate_volume", migrateVolumeSchema},
	{"admin_actions.migrate_volume_v316", migrateVolumeV316Schema},
	{"volume_types.create", typeCreateSchema},
	{"volume_types.update", typeUpdateSchema},
	{"types_extra_specs.create", specsCreateSchema},
	{"types_extra_specs.update", specsUpdateSchema},
	{"volume_type_access.add_project_access", addAccessSchema},
	{"volume_type_access.remove_project_access", removeAccessSchema},
	{"default_types.create_or_update", defaultTypeSchema},
	{"quotas.update_quota", quotaUpdateSchema},
	{"scheduler_hints.create", schedulerHintsSchema},
	{"services.enable_and_disable", serviceSchema},
	{"services.disable_log_reason", serviceReasonSchema},
	{"volume_metadata.create", metadataCreateSchema},
	{"volume_metadata.update", metadataUpdateSchema},
	{"attachments.create", attachmentCreateSchema},
	{"attachments.create_v354", attachmentCreateV354Schema},
	{"attachments.update", attachmentUpdateSchema},
	{"volume_actions.attach", attachSchema},
	{"volume_actions.detach", detachSchema},
	{"volume_actions.initialize_connection", initializeConnectionSchema},
	{"volume_actions.terminate_connection", terminateConnectionSchema},
	{"snapshots.create", snapshotCreateSchema},
	{"snapshots.update", snapshotUpdateSchema},
	{"admin_actions.reset_status_snapshot", snapshotResetSchema},
	{"volume_transfer.create", transferCreateSchema},
	{"volume_transfer.create_v355", transferCreateV355Schema},
	{"volume_transfer.accept", transferAcceptSchema},
	{"backups.create", backupCreateSchema},
	{"backups.create_backup_v343", backupCreateV343Schema},
	{"backups.create_backup_v351", backupCreateV351Schema},
	{"backups.update", backupUpdateSchema},
	{"backups.update_backup_v343", backupUpdateV343Schema},
	{"backups.restore", backupRestoreSchema},
	{"backups.import_record", backupImportSchema},
	{"admin_actions.reset_status_backup", backupResetSchema},
	{"qos_specs.create", qosCreateSchema},
	{"qos_specs.set", qosSetSchema},
	{"qos_specs.unset", qosUnsetSchema},
}

// pythonHarness validates bodies with Cinder's own _SchemaValidator: it
// reads [[schema, body], ...] and prints the message of each refusal
// ("" when the body passes), or the schema itself as JSON when the body
// is "<schema>". Quota keys are those of quotaKeys below.
const pythonHarness = `
import json, sys
from cinder.api.validation import parameter_types, validators
from cinder.api import schemas
from cinder.api.schemas import (volumes, volume_actions, admin_actions, volume_types, types_extra_specs,
    volume_type_access, default_types, quotas, volume_metadata, scheduler_hints, services, attachments, snapshots,
    volume_transfer, backups, qos_specs)
from cinder import exception
import webob.exc

validators.QUOTAS = {'volumes': 1, 'snapshots': 1, 'gigabytes': 1, 'backups': 1, 'backup_gigabytes': 1,
                     'per_volume_gigabytes': 1, 'volumes_lvm': 1}
validators.GROUP_QUOTAS = {'groups': 1}


def clean(o):
    if isinstance(o, dict):
        return {k: clean({p: x for p, x in v.items() if isinstance(x, dict)} if k == 'properties' else v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(x) for x in o]
    if o == parameter_types.valid_description_regex:
        return '<printable>'
    return o


out = []
for name, body in json.load(sys.stdin):
    module, attr = name.split('.')
    s = getattr(getattr(schemas, module), attr)
    if body == '<schema>':
        out.append(json.dumps(clean(s)))
        continue
    try:
        validators._SchemaValidator(s).validate(json.loads(body))
        out.append('')
    except webob.exc.HTTPException as e:
        out.append(e.explanation)
    except exception.CinderException as e:
        out.append(str(e))
print(json.dumps(out))
`

// quotaKeys are the quota resources the harness knows.
func quotaKeys(k string) bool {
	switch k {
	case "volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "per_volume_gigabytes", "volumes_lvm", "groups":
		return true
	}
	return false
}

func runCinder(t *testing.T, pairs [][2]string) []string {
	t.Helper()
	testenv.RequirePython(t, "cinder.api.validation.validators", "python3-cinder")
	script := filepath.Join(t.TempDir(), "schemas.py")
	if err := os.WriteFile(script, []byte(pythonHarness), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := testenv.PythonJSON(t, script, pairs)
	if len(raw) != len(pairs) {
		t.Fatalf("%d answers for %d bodies", len(raw), len(pairs))
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Our schemas are Cinder's, keyword for keyword and in Cinder's order.
func TestSchemasAreCinders(t *testing.T) {
	pairs := make([][2]string, len(cinderSchemas))
	for i, s := range cinderSchemas {
		pairs[i] = [2]string{s.python, "<schema>"}
	}
	for i, text := range runCinder(t, pairs) {
		if want := mustJSON(text).Repr(); cinderSchemas[i].ours.src.Repr() != want {
			t.Errorf("%s:\n ours   %s\n Cinder %s", cinderSchemas[i].python, cinderSchemas[i].ours.src.Repr(), want)
		}
	}
}

// truthyNonString reports whether JSON text v is a value Python finds
// true that is not a string.
func truthyNonString(v string) bool {
	switch {
	case strings.HasPrefix(v, `"`), v == "null", v == "false", v == "0", v == "[]", v == "{}":
		return false
	}
	return true
}

// Cinder's validator and ours refuse the same bodies with the same
// message. Python's Unicode tables are older than Go's: the giant
// description pattern in a message is compared up to its first range.
func TestSchemaMessagesDifferential(t *testing.T) {
	values := []string{`1`, `0`, `-1`, `1.5`, `1.0`, `"1"`, `"01"`, `" 1"`, `"1.5"`, `"abc"`, `""`, `" "`, `true`, `false`, `null`,
		`[]`, `{}`, `2147483647`, `2147483648`, `"2147483648"`, `"1\n"`, `1e3`, `"1e3"`, `"inf"`, `"nan"`, `"x y"`, `"\n"`,
		`"a\u0001"`, `"\u00e9t\u00e9"`, `"\ud83d\ude00"`, `"True"`, `"on"`, `"maybe"`, `99999999999999999999999`,
		`[1, {"k": null}]`, `{"a": "b"}`, `"` + strings.Repeat("n", 256) + `"`, `"  ` + strings.Repeat("n", 255) + `  "`,
		`"11111111-2222-3333-4444-555555555555"`, `"{11111111222233334444555555555555}"`, `"urn:uuid:11111111-2222-3333-4444-555555555555"`,
		`"available"`, `"AVAILABLE"`, `"attached"`, `"bogus"`, `"migrating"`, `"raw"`}
	var bodies [][2]string
	add := func(schema, body string) { bodies = append(bodies, [2]string{schema, body}) }
	volumeFields := []string{"name", "description", "display_name", "display_description", "volume_type", "metadata",
		"snapshot_id", "source_volid", "consistencygroup_id", "size", "availability_zone", "multiattach", "image_id",
		"imageRef", "group_id", "backup_id", "bogus"}
	for _, f := range volumeFields {
		for _, v := range values {
			body := fmt.Sprintf(`{"volume": {"size": 1, "%s": %s}}`, f, v)
			for _, s := range []string{"volumes.create", "volumes.create_volume_v313", "volumes.create_volume_v347", "volumes.create_volume_v353"} {
				add(s, body)
			}
			if f != "size" {
				add("volumes.update", fmt.Sprintf(`{"volume": {"%s": %s}}`, f, v))
				add("volumes.update_volume_v353", fmt.Sprintf(`{"volume": {"%s": %s}}`, f, v))
			}
		}
	}
	for _, v := range values {
		add("volumes.create_volume_v353", fmt.Sprintf(`{"volume": {"metadata": {"k": %s}}}`, v))
		add("volume_actions.extend", fmt.Sprintf(`{"os-extend": {"new_size": %s}}`, v))
		add("volume_actions.set_bootable", fmt.Sprintf(`{"os-set_bootable": {"bootable": %s}}`, v))
		add("volume_actions.retype", fmt.Sprintf(`{"os-retype": {"new_type": %s}}`, v))
		add("volume_actions.retype", fmt.Sprintf(`{"os-retype": {"new_type": "t", "migration_policy": %s}}`, v))
		for _, f := range []string{"image_name", "force", "disk_format", "container_format", "visibility", "protected", "bogus"} {
			add("volume_actions.volume_upload_image", fmt.Sprintf(`{"os-volume_upload_image": {"image_name": "i", "%s": %s}}`, f, v))
			add("volume_actions.volume_upload_image_v31", fmt.Sprintf(`{"os-volume_upload_image": {"image_name": "i", "%s": %s}}`, f, v))
		}
		add("volume_actions.volume_readonly_update", fmt.Sprintf(`{"os-update_readonly_flag": {"readonly": %s}}`, v))
		for _, f := range []string{"status", "attach_status", "migration_status"} {
			add("admin_actions.reset", fmt.Sprintf(`{"os-reset_status": {"%s": %s}}`, f, v))
		}
		add("volume_types.create", fmt.Sprintf(`{"volume_type": {"name": %s}}`, v))
		add("volume_types.create", fmt.Sprintf(`{"volume_type": {"name": "t", "description": %s}}`, v))
		add("volume_types.create", fmt.Sprintf(`{"volume_type": {"name": "t", "os-volume-type-access:is_public": %s}}`, v))
		add("volume_types.create", fmt.Sprintf(`{"volume_type": {"name": "t", "extra_specs": {"k": %s}}}`, v))
		add("volume_types.update", fmt.Sprintf(`{"volume_type": {"name": %s}}`, v))
		add("volume_types.update", fmt.Sprintf(`{"volume_type": {"is_public": %s, "description": %s}}`, v, v))
		add("types_extra_specs.create", fmt.Sprintf(`{"extra_specs": {"k": %s}}`, v))
		add("types_extra_specs.update", fmt.Sprintf(`{"k": %s}`, v))
		add("volume_type_access.add_project_access", fmt.Sprintf(`{"addProjectAccess": {"project": %s}}`, v))
		add("volume_type_access.remove_project_access", fmt.Sprintf(`{"removeProjectAccess": {"project": %s}}`, v))
		add("default_types.create_or_update", fmt.Sprintf(`{"default_type": {"volume_type": %s}}`, v))
		add("quotas.update_quota", fmt.Sprintf(`{"quota_set": {"volumes": %s}}`, v))
		add("quotas.update_quota", fmt.Sprintf(`{"quota_set": {"volumes_lvm": %s, "groups": 1}}`, v))
		add("volume_metadata.create", fmt.Sprintf(`{"metadata": {"k": %s}}`, v))
		add("volume_metadata.update", fmt.Sprintf(`{"meta": {"k": %s}}`, v))
	}
	for _, v := range append(values, `["11111111-2222-3333-4444-555555555555", "11111111-2222-3333-4444-555555555555"]`,
		`["11111111-2222-3333-4444-555555555555", "x"]`, `["11111111-2222-3333-4444-555555555555"]`) {
		for _, k := range []string{"local_to_instance", "different_host", "same_host", "query", "other"} {
			add("scheduler_hints.create", `{"OS-SCH-HNT:scheduler_hints": {"`+k+`": `+v+`}}`)
		}
	}
	add("scheduler_hints.create", `{"OS-SCH-HNT:scheduler_hints": 1}`)
	for _, v := range append(values, `"h@b#p"`, `"h,b"`, `"[::1]"`) {
		for _, k := range []string{"binary", "host", "cluster", "service", "disabled_reason", "other"} {
			add("services.enable_and_disable", `{"binary": "cinder-volume", "`+k+`": `+v+`}`)
			add("services.disable_log_reason", `{"service": "cinder-volume", "`+k+`": `+v+`}`)
		}
	}
	for _, body := range []string{`{}`, `{"host": "h"}`, `3`} {
		add("services.enable_and_disable", body)
	}
	for _, key := range []string{`"a b"`, `"a:b.c-d_e/f"`, `"a\n"`, `"\n"`, `""`, `"` + strings.Repeat("k", 256) + `"`, `"\u00e9"`, `"a$"`} {
		add("types_extra_specs.create", `{"extra_specs": {`+key+`: "1"}}`)
		add("volume_metadata.create", `{"metadata": {`+key+`: "1"}}`)
		add("volumes.create_volume_v353", `{"volume": {"metadata": {`+key+`: "1"}}}`)
	}
	for _, body := range []string{`{}`, `3`, `"x"`, `null`, `[]`, `{"volume": null}`, `{"volume": []}`, `{"volume": {}}`,
		`{"volume": {"size": 1}, "b": 1, "a": 2}`, `{"volume": {"size": 1, "z": 1, "a": 2}}`, `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": 1}`,
		`{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"same_host": "x"}}`} {
		for _, s := range []string{"volumes.create", "volumes.create_volume_v353", "volumes.update", "volumes.update_volume_v353"} {
			add(s, body)
		}
	}
	for _, body := range []string{`{}`, `{"os-reset_status": {}}`, `{"os-reset_status": {"status": ""}}`, `{"os-reset_status": {"status": null}}`,
		`{"os-reset_status": {"bogus": 1}}`, `{"os-reset_status": 1}`, `{"os-extend": {}}`, `{"os-extend": {"new_size": 2, "x": 1}}`} {
		add("admin_actions.reset", body)
		add("volume_actions.extend", body)
	}
	for _, v := range values {
		for _, k := range []string{"instance_uuid", "connector", "volume_uuid", "mode", "other"} {
			body := `{"attachment": {"volume_uuid": "11111111-2222-3333-4444-555555555555", "` + k + `": ` + v + `}}`
			add("attachments.create", body)
			add("attachments.create_v354", body)
		}
		add("attachments.update", `{"attachment": {"connector": `+v+`}}`)
		for _, k := range []string{"instance_uuid", "mountpoint", "host_name", "mode", "other"} {
			add("volume_actions.attach", `{"os-attach": {"mountpoint": "/dev/vdb", "`+k+`": `+v+`}}`)
		}
		add("volume_actions.detach", `{"os-detach": {"attachment_id": `+v+`}}`)
		add("volume_actions.detach", `{"os-detach": `+v+`}`)
		add("volume_actions.initialize_connection", `{"os-initialize_connection": {"connector": `+v+`}}`)
		add("volume_actions.terminate_connection", `{"os-terminate_connection": {"connector": `+v+`}}`)
	}
	for _, body := range []string{`{}`, `{"attachment": {}}`, `{"attachment": null}`, `{"attachment": {"volume_uuid": "x"}, "b": 1}`,
		`{"attachment": {"connector": {}}}`, `{"os-attach": {}}`, `{"os-attach": {"mountpoint": "/dev/vdb"}}`,
		`{"os-attach": {"host_name": "h"}}`, `{"os-detach": {}}`, `{"os-detach": {"x": 1}}`, `{"os-initialize_connection": {}}`,
		`{"os-terminate_connection": {"connector": null, "x": 1}}`} {
		for _, s := range []string{"attachments.create", "attachments.create_v354", "attachments.update", "volume_actions.attach",
			"volume_actions.detach", "volume_actions.initialize_connection", "volume_actions.terminate_connection"} {
			add(s, body)
		}
	}
	for _, body := range []string{`{"quota_set": {}}`, `{"quota_set": {"bogus": 1}}`, `{"quota_set": {"bogus": 1, "volumes": "x"}}`,
		`{"quota_set": {"id": "x", "tenant_id": 1, "volumes": 3}}`, `{"quota_set": 1}`, `{"quota_set": {"b": 1, "a": 2}}`,
		`{}`, `{"quota_set": {"volumes": 1}, "x": 1}`, `{"k": "v", "j": "w"}`, `{}`} {
		add("quotas.update_quota", body)
		add("types_extra_specs.update", body)
	}
	for _, v := range append(values, `"error_deleting"`, `"Backing-Up"`, `"deleted"`) {
		for _, f := range []string{"name", "display_name", "description", "volume_id", "force", "metadata", "display_description", "other"} {
			add("snapshots.create", `{"snapshot": {"volume_id": "11111111-2222-3333-4444-555555555555", "`+f+`": `+v+`}}`)
			add("snapshots.update", `{"snapshot": {"`+f+`": `+v+`}}`)
		}
		add("snapshots.create", `{"snapshot": {"volume_id": "11111111-2222-3333-4444-555555555555", "metadata": {"k": `+v+`}}}`)
		add("admin_actions.reset_status_snapshot", `{"os-reset_status": {"status": `+v+`}}`)
		add("admin_actions.reset_status_snapshot", `{"os-reset_status": `+v+`}`)
	}
	for _, body := range []string{`{}`, `3`, `null`, `{"snapshot": null}`, `{"snapshot": {}}`, `{"snapshot": {"volume_id": null}}`,
		`{"snapshot": {"name": "x"}}`, `{"os-reset_status": {}}`,
		`{"os-reset_status": {"status": "available", "x": 1}}`, `{"os-reset_status": {"status": "available"}, "x": 1}`} {
		for _, s := range []string{"snapshots.create", "snapshots.update", "admin_actions.reset_status_snapshot"} {
			add(s, body)
		}
	}

	for _, v := range append(values, `"  x  "`, `"`+strings.Repeat("n", 255)+`"`, `"\u00e9"`) {
		for _, f := range []string{"volume_id", "name", "no_snapshots", "other"} {
			if f == "name" && truthyNonString(v) {
				continue // Cinder's name check calls strip() on it: a 500 (ours is a 400)
			}
			body := `{"transfer": {"volume_id": "11111111-2222-3333-4444-555555555555", "` + f + `": ` + v + `}}`
			add("volume_transfer.create", body)
			add("volume_transfer.create_v355", body)
		}
		add("volume_transfer.accept", `{"accept": {"auth_key": `+v+`}}`)
		add("volume_transfer.accept", `{"accept": `+v+`}`)
	}
	for _, body := range []string{`{}`, `3`, `null`, `{"transfer": null}`, `{"transfer": {}}`, `{"transfer": {"name": "x"}}`,
		`{"accept": {}}`, `{"accept": {"auth_key": "k", "x": 1}}`, `{"accept": {"auth_key": "k"}, "x": 1}`,
		`{"transfer": {"volume_id": "11111111-2222-3333-4444-555555555555"}, "x": 1}`} {
		for _, s := range []string{"volume_transfer.create", "volume_transfer.create_v355", "volume_transfer.accept"} {
			add(s, body)
		}
	}

	for _, v := range append(values, `{"k": "v"}`, `{"a b": "c"}`) {
		for _, f := range []string{"volume_id", "container", "description", "incremental", "force", "name", "snapshot_id", "metadata",
			"availability_zone", "other"} {
			body := `{"backup": {"volume_id": "11111111-2222-3333-4444-555555555555", "` + f + `": ` + v + `}}`
			for _, s := range []string{"backups.create", "backups.create_backup_v343", "backups.create_backup_v351"} {
				add(s, body)
			}
			add("backups.update", `{"backup": {"`+f+`": `+v+`}}`)
			add("backups.update_backup_v343", `{"backup": {"`+f+`": `+v+`}}`)
		}
		add("backups.restore", `{"restore": {"name": `+v+`}}`)
		add("backups.restore", `{"restore": {"volume_id": `+v+`}}`)
		add("backups.restore", `{"restore": `+v+`}`)
		if !truthyNonString(v) { // Cinder's check calls lower() on it: a 500
			add("admin_actions.reset_status_backup", `{"os-reset_status": {"status": `+v+`}}`)
		}
	}
	for _, body := range []string{`{}`, `3`, `null`, `{"backup": null}`, `{"backup": {}}`, `{"restore": {}, "x": 1}`,
		`{"restore": {"x": 1}}`, `{"os-reset_status": {}}`, `{"os-reset_status": {"status": "Error"}}`} {
		for _, s := range []string{"backups.create", "backups.update", "backups.restore", "admin_actions.reset_status_backup"} {
			add(s, body)
		}
	}

	for _, v := range append(values, `"  x  "`, `"`+strings.Repeat("n", 256)+`"`, `{"k": "v"}`, `["a", "a"]`, `["a", ""]`, `["a", "b"]`) {
		if !truthyNonString(v) { // Cinder's name check calls strip() on it: a 500 (ours is a 400)
			add("qos_specs.create", `{"qos_specs": {"name": `+v+`}}`)
		}
		add("qos_specs.create", `{"qos_specs": {"name": "q", "total_iops_sec": `+v+`}}`)
		add("qos_specs.create", `{"qos_specs": `+v+`}`)
		for _, k := range []string{"total_iops_sec", "consumer", "bad key!", "a/b c", ""} {
			add("qos_specs.set", `{"qos_specs": {"`+k+`": `+v+`}}`)
		}
		add("qos_specs.set", `{"qos_specs": `+v+`}`)
		add("qos_specs.unset", `{"keys": `+v+`}`)
		add("qos_specs.unset", `{"keys": [`+v+`]}`)
	}
	for _, body := range []string{`{}`, `3`, `null`, `{"qos_specs": {}}`, `{"qos_specs": {"name": "q"}, "x": 1}`,
		`{"keys": []}`, `{"keys": ["a"], "x": 1}`} {
		for _, s := range []string{"qos_specs.create", "qos_specs.set", "qos_specs.unset"} {
			add(s, body)
		}
	}

	want := runCinder(t, bodies)
	cut := func(msg string) string {
		if i := strings.Index(msg, `does not match '^[\\ -`); i >= 0 {
			return msg[:i]
		}
		return msg
	}
	env := &checkEnv{quotaKey: quotaKeys}
	for i, b := range bodies {
		var ours *schema
		for _, s := range cinderSchemas {
			if s.python == b[0] {
				ours = s.ours
			}
		}
		v, err := pyjson.Parse([]byte(b[1]))
		if err != nil {
			t.Fatalf("%s: %v", b[1], err)
		}
		got := ""
		if e := ours.validate(env, v, nil); e != nil {
			got = e.message()
		}
		if cut(got) != cut(want[i]) {
			t.Errorf("%s %s:\n ours   %q\n Cinder %q", b[0], b[1], got, want[i])
		}
	}
}
