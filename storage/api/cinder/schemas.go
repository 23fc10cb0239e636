package cinder

import "strings"

// Cinder 21's request schemas (cinder/api/schemas/*.py and
// cinder/api/validation/parameter_types.py), keyword for keyword in
// Cinder's order, so that the first error found is the one Cinder
// reports. TestSchemasAreCinders compares each with python3-cinder's.
// Two departures: "<printable>" stands for Cinder's description
// pattern (built from Unicode tables), and the stray "type": "object"
// entries some of Cinder's schemas have under "properties" (a property
// named type whose schema is not a schema: Cinder answers a body with
// that key with a 500) are left out, so such a body is refused as any
// other unexpected key is.

// Parameter types.
const (
	boolEnum = `{"type": ["boolean", "string"], "enum": [true, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", "y", "t",
		false, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no", "n", "f"]}`
	optionalUUID    = `{"oneOf": [{"type": "null"}, {"type": "string", "format": "uuid"}]}`
	uuidType        = `{"type": "string", "format": "uuid"}`
	volumeSize      = `{"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 2147483647}`
	volumeSizeNull  = `{"type": ["integer", "string", "null"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 2147483647}`
	nameType        = `{"type": "string", "minLength": 1, "maxLength": 255, "format": "name"}`
	descriptionType = `{"type": ["string", "null"], "minLength": 0, "maxLength": 255, "pattern": "<printable>"}`
	metadataProps   = `"patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}}, "additionalProperties": false`
	nameField       = `{"type": ["string", "null"], "format": "name_non_mandatory_remove_white_spaces"}`
	descField       = `{"type": ["string", "null"], "format": "description_non_mandatory_remove_white_spaces"}`
	noSpaceSpecs    = `"patternProperties": {"^[a-zA-Z0-9-_:.]{1,255}$": {"type": ["string", "null"], "minLength": 0, "maxLength": 255}}, "additionalProperties": false`
	nameZeroMin     = `{"type": ["string", "null"], "minLength": 0, "maxLength": 255}`
	uuidAllowNull   = `{"oneOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}`
)

// expand puts the parameter types into a schema's text.
func expand(text string) string {
	return strings.NewReplacer(
		"$bool", boolEnum, "$optionalUUID", optionalUUID, "$uuid", uuidType, "$volumeSizeNull", volumeSizeNull,
		"$volumeSize", volumeSize, "$nameType", nameType, "$descriptionType", descriptionType,
		"$metadataProps", metadataProps, "$nameField", nameField, "$descField", descField, "$noSpaceSpecs", noSpaceSpecs,
		"$nameZeroMin", nameZeroMin, "$nullOrUUID", uuidAllowNull,
	).Replace(text)
}

// volumeCreateProps are create's volume properties (schemas/volumes.py).
const volumeCreateProps = `"name": $nameField, "description": $descField, "display_name": $nameField, "display_description": $descField,
	"volume_type": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
	"metadata": {"type": ["object", "null"], $metadataProps},
	"snapshot_id": $optionalUUID, "source_volid": $optionalUUID, "consistencygroup_id": $optionalUUID,
	"size": $volumeSizeNull,
	"availability_zone": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
	"multiattach": {"oneOf": [{"type": "null"}, $bool]},
	"image_id": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
	"imageRef": {"type": ["string", "null"], "minLength": 0, "maxLength": 255}`

func volumeCreate(extra, additional string) string {
	return expand(`{"type": "object", "properties": {"volume": {"type": "object", "properties": {` + volumeCreateProps + extra + `},
		"additionalProperties": ` + additional + `}, "OS-SCH-HNT:scheduler_hints": {"type": ["object", "null"]}},
		"required": ["volume"], "additionalProperties": false}`)
}

const (
	groupIDProp  = `, "group_id": {"type": ["string", "null"], "minLength": 0, "maxLength": 255}`
	backupIDProp = `, "backup_id": $optionalUUID`
)

func volumeUpdate(anyOf string) string {
	return expand(`{"type": "object", "properties": {"volume": {"type": "object", "properties": {
		"name": $nameField, "description": $descField, "display_name": $nameField, "display_description": $descField,
		"metadata": {"type": "object", $metadataProps}}, "additionalProperties": false` + anyOf + `}},
		"required": ["volume"], "additionalProperties": false}`)
}

// uploadImage is os-volume_upload_image's inner schema, with extra
// properties (3.1's visibility and protected).
func uploadImage(extra string) string {
	return `{"type": "object", "properties": {"image_name": {"type": "string", "minLength": 1, "maxLength": 255},
		"force": $bool, "disk_format": {"type": "string", "enum": ["raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop"]},
		"container_format": $descriptionType` + extra + `}, "required": ["image_name"], "additionalProperties": false}`
}

// action is the schema of an action body {"<name>": {...}}.
func action(name, inner string) *schema {
	return compile(expand(`{"type": "object", "properties": {"` + name + `": ` + inner + `}, "required": ["` + name + `"], "additionalProperties": false}`))
}

var (
	volumeCreateSchema     = compile(volumeCreate("", "true"))                        // 3.0 to 3.12
	volumeCreateV313Schema = compile(volumeCreate(groupIDProp, "true"))               // 3.13 to 3.46
	volumeCreateV347Schema = compile(volumeCreate(groupIDProp+backupIDProp, "true"))  // 3.47 to 3.52
	volumeCreateV353Schema = compile(volumeCreate(groupIDProp+backupIDProp, "false")) // 3.53 on
	volumeUpdateSchema     = compile(volumeUpdate(""))
	volumeUpdateV353Schema = compile(volumeUpdate(`, "anyOf": [{"required": ["name"]}, {"required": ["description"]},
		{"required": ["display_name"]}, {"required": ["display_description"]}, {"required": ["metadata"]}]`))

	extendSchema = action("os-extend", `{"type": "object", "properties": {"new_size": $volumeSize},
		"required": ["new_size"], "additionalProperties": false}`)
	retypeSchema = action("os-retype", `{"type": "object", "properties": {"new_type": {"type": "string"},
		"migration_policy": {"type": ["string", "null"], "enum": ["on-demand", "never"]}},
		"required": ["new_type"], "additionalProperties": false}`)
	setBootableSchema = action("os-set_bootable", `{"type": "object", "properties": {"bootable": $bool},
		"required": ["bootable"], "additionalProperties": false}`)
	readonlySchema = action("os-update_readonly_flag", `{"type": "object", "properties": {"readonly": $bool},
		"required": ["readonly"], "additionalProperties": false}`)
	uploadImageSchema    = action("os-volume_upload_image", uploadImage(""))
	uploadImageV31Schema = action("os-volume_upload_image", uploadImage(`, "visibility": {"type": "string",
		"enum": ["community", "public", "private", "shared"]}, "protected": $bool`))
	migrateVolumeSchema = action("os-migrate_volume", `{"type": "object", "properties": {"host": {"type": "string", "maxLength": 255},
		"force_host_copy": $bool, "lock_volume": $bool}, "required": ["host"], "additionalProperties": false}`)
	migrateVolumeV316Schema = action("os-migrate_volume", `{"type": "object", "properties": {"host": {"type": ["string", "null"], "maxLength": 255},
		"force_host_copy": $bool, "lock_volume": $bool, "cluster": $nameZeroMin}, "additionalProperties": false}`)
	resetStatusSchema = action("os-reset_status", `{"type": "object", "format": "validate_volume_reset_body", "properties": {
		"status": {"type": ["string", "null"], "format": "volume_status"},
		"attach_status": {"type": ["string", "null"], "format": "volume_attach_status"},
		"migration_status": {"type": ["string", "null"], "format": "volume_migration_status"}}, "additionalProperties": false}`)

	typeCreateSchema = compile(expand(`{"type": "object", "properties": {"volume_type": {"type": "object", "properties": {
		"name": $nameType, "description": $descriptionType,
		"extra_specs": {"type": "object", "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": ["string", "null"], "maxLength": 255}},
			"additionalProperties": false},
		"os-volume-type-access:is_public": $bool}, "required": ["name"], "additionalProperties": false}},
		"required": ["volume_type"], "additionalProperties": false}`))
	typeUpdateSchema = compile(expand(`{"type": "object", "properties": {"volume_type": {"type": "object", "properties": {
		"name": {"type": ["string", "null"], "minLength": 1, "maxLength": 255}, "description": $descriptionType,
		"is_public": $bool}, "additionalProperties": false}}, "required": ["volume_type"], "additionalProperties": false}`))
	specsCreateSchema = compile(expand(`{"type": "object", "properties": {"extra_specs": {"type": "object", $noSpaceSpecs}},
		"required": ["extra_specs"], "additionalProperties": false}`))
	specsUpdateSchema = compile(expand(`{"type": "object", $noSpaceSpecs, "minProperties": 1, "maxProperties": 1}`))
	addAccessSchema   = action("addProjectAccess", `{"type": "object", "properties": {"project": $uuid},
		"required": ["project"], "additionalProperties": false}`)
	removeAccessSchema = action("removeProjectAccess", `{"type": "object", "properties": {"project": $uuid},
		"required": ["project"], "additionalProperties": false}`)
	defaultTypeSchema = compile(expand(`{"type": "object", "properties": {"default_type": {"type": "object", "properties": {
		"volume_type": $nameType}, "required": ["volume_type"], "additionalProperties": false}}}`))

	// schedulerHintsSchema is schemas/scheduler_hints.py's create, which
	// Cinder checks a create's hints against (contrib/scheduler_hints.py).
	schedulerHintsSchema = compile(expand(`{"type": "object", "properties": {"OS-SCH-HNT:scheduler_hints": {
		"type": ["object", "null"], "properties": {
			"local_to_instance": $optionalUUID,
			"different_host": {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "array", "items": $uuid, "uniqueItems": true}]},
			"same_host": {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "array", "items": $uuid, "uniqueItems": true}]},
			"query": {"type": ["string", "object"]}},
		"additionalProperties": true}}}`))

	serviceSchema       = compile(serviceBody(""))
	serviceReasonSchema = compile(serviceBody(`, "disabled_reason": {"type": "string", "minLength": 1, "maxLength": 255,
		"format": "disabled_reason"}`))

	quotaUpdateSchema = compile(`{"type": "object", "properties": {"quota_set": {"type": "object", "minProperties": 1,
		"format": "quota_set"}}, "required": ["quota_set"], "additionalProperties": false}`)

	// schemas/attachments.py (create_v354 from 3.54) and the attach
	// actions of schemas/volume_actions.py.
	attachmentCreateSchema     = compile(attachmentCreate(""))
	attachmentCreateV354Schema = compile(attachmentCreate(`, "mode": {"type": "string", "enum": ["rw", "ro"]}`))
	attachmentUpdateSchema     = compile(`{"type": "object", "properties": {"attachment": {"type": "object", "properties": {
		"connector": {"type": "object", "minProperties": 1}}, "required": ["connector"], "additionalProperties": false}},
		"required": ["attachment"], "additionalProperties": false}`)
	attachSchema = action("os-attach", `{"type": "object", "properties": {"instance_uuid": $uuid,
		"mountpoint": {"type": "string", "minLength": 1, "maxLength": 255}, "host_name": {"type": "string", "maxLength": 255},
		"mode": {"type": "string", "enum": ["rw", "ro"]}}, "required": ["mountpoint"],
		"anyOf": [{"required": ["instance_uuid"]}, {"required": ["host_name"]}], "additionalProperties": false}`)
	detachSchema = action("os-detach", `{"type": ["object", "null"], "properties": {"attachment_id": {"oneOf": [$uuid, {"type": "null"}]}},
		"additionalProperties": false}`)
	initializeConnectionSchema = action("os-initialize_connection", `{"type": "object", "properties": {
		"connector": {"type": ["object", "string"]}}, "required": ["connector"], "additionalProperties": false}`)
	terminateConnectionSchema = action("os-terminate_connection", `{"type": "object", "properties": {
		"connector": {"type": ["string", "object", "null"]}}, "required": ["connector"], "additionalProperties": false}`)

	// schemas/snapshots.py and admin_actions.py's reset_status_snapshot.
	snapshotCreateSchema = compile(expand(`{"type": "object", "properties": {"snapshot": {"type": "object", "properties": {
		"name": $nameZeroMin, "display_name": $nameZeroMin, "description": $descriptionType, "volume_id": $nullOrUUID,
		"force": $bool, "metadata": {"type": ["object", "null"], $metadataProps}},
		"required": ["volume_id"], "additionalProperties": false}}, "required": ["snapshot"], "additionalProperties": false}`))
	snapshotUpdateSchema = compile(expand(`{"type": "object", "properties": {"snapshot": {"type": "object", "properties": {
		"name": $nameZeroMin, "description": $descriptionType, "display_name": $nameZeroMin, "display_description": $descriptionType},
		"additionalProperties": false, "anyOf": [{"required": ["name"]}, {"required": ["description"]},
		{"required": ["display_name"]}, {"required": ["display_description"]}]}},
		"required": ["snapshot"], "additionalProperties": false}`))
	snapshotResetSchema = action("os-reset_status", `{"type": "object", "properties": {
		"status": {"type": "string", "format": "snapshot_status"}}, "required": ["status"], "additionalProperties": false}`)

	// schemas/qos_specs.py.
	qosCreateSchema = compile(`{"type": "object", "properties": {"qos_specs": {"type": "object", "properties": {
		"name": {"type": "string", "format": "name_skip_leading_trailing_spaces"}}, "required": ["name"],
		"additionalProperties": true}}, "required": ["qos_specs"], "additionalProperties": false}`)
	qosSetSchema = compile(`{"type": "object", "properties": {"qos_specs": {"type": "object", "patternProperties": {
		"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": ["string", "null"], "maxLength": 255}}, "additionalProperties": false}},
		"required": ["qos_specs"], "additionalProperties": false}`)
	qosUnsetSchema = compile(`{"type": "object", "properties": {"keys": {"type": "array", "items": {
		"type": "string", "minLength": 1, "maxLength": 255}, "uniqueItems": true}}, "required": ["keys"], "additionalProperties": false}`)

	// schemas/volume_transfer.py.
	transferCreateSchema     = compile(transferCreate(""))
	transferCreateV355Schema = compile(transferCreate(`, "no_snapshots": $bool`))
	transferAcceptSchema     = compile(`{"type": "object", "properties": {"accept": {"type": "object", "properties": {
		"auth_key": {"type": ["string", "integer"]}}, "required": ["auth_key"], "additionalProperties": false}},
		"required": ["accept"], "additionalProperties": false}`)

	// schemas/backups.py and admin_actions.py's reset_status_backup.
	backupCreateSchema     = compile(backupCreate(""))
	backupCreateV343Schema = compile(backupCreate(backupMetadataProp))
	backupCreateV351Schema = compile(backupCreate(backupMetadataProp + `, "availability_zone": $nameZeroMin`))
	backupUpdateSchema     = compile(backupUpdate(""))
	backupUpdateV343Schema = compile(backupUpdate(`, "metadata": {"type": "object", $metadataProps}`))
	backupRestoreSchema    = compile(expand(`{"type": "object", "properties": {"restore": {"type": ["object", "null"], "properties": {
		"name": $nameZeroMin, "volume_id": $nullOrUUID}, "additionalProperties": false}}, "required": ["restore"],
		"additionalProperties": false}`))
	backupImportSchema = compile(`{"type": "object", "properties": {"backup-record": {"type": "object",
		"properties": {"backup_service": {"type": "string", "minLength": 0, "maxLength": 255},
		"backup_url": {"type": "string", "minLength": 1, "format": "base64"}}, "required": ["backup_service", "backup_url"],
		"additionalProperties": false}}, "required": ["backup-record"], "additionalProperties": false}`)
	backupResetSchema = action("os-reset_status", `{"type": "object", "properties": {
		"status": {"type": "string", "format": "backup_status"}}, "required": ["status"], "additionalProperties": false}`)

	metadataCreateSchema = compile(expand(`{"type": "object", "properties": {"metadata": {"type": "object", $metadataProps}},
		"required": ["metadata"], "additionalProperties": false}`))
	metadataUpdateSchema = compile(expand(`{"type": "object", "properties": {"meta": {"type": "object", $metadataProps,
		"minProperties": 1, "maxProperties": 1}}, "required": ["meta"], "additionalProperties": false}`))
)

// attachmentCreate is schemas/attachments.py's create, with extra
// properties (create_v354's mode).
func attachmentCreate(extra string) string {
	return expand(`{"type": "object", "properties": {"attachment": {"type": "object", "properties": {
		"instance_uuid": $uuid, "connector": {"type": ["object", "null"]}, "volume_uuid": $uuid` + extra + `},
		"required": ["volume_uuid"], "additionalProperties": false}}, "required": ["attachment"], "additionalProperties": false}`)
}

// transferCreate is schemas/volume_transfer.py's create, with extra
// properties (create_v355's no_snapshots).
func transferCreate(extra string) string {
	return expand(`{"type": "object", "properties": {"transfer": {"type": "object", "properties": {
		"volume_id": $uuid, "name": {"oneOf": [{"type": "string", "format": "name_skip_leading_trailing_spaces"}, {"type": "null"}]}` +
		extra + `}, "required": ["volume_id"], "additionalProperties": false}}, "required": ["transfer"], "additionalProperties": false}`)
}

// backupMetadataProp is create_backup_v343's metadata.
const backupMetadataProp = `, "metadata": {"type": ["object", "null"], $metadataProps}`

// backupCreate is schemas/backups.py's create, with extra properties
// (3.43's metadata, 3.51's availability_zone).
func backupCreate(extra string) string {
	return expand(`{"type": "object", "properties": {"backup": {"type": "object", "properties": {
		"volume_id": $uuid, "container": $nameZeroMin, "description": $descriptionType, "incremental": $bool, "force": $bool,
		"name": $nameZeroMin, "snapshot_id": $nullOrUUID` + extra + `}, "required": ["volume_id"], "additionalProperties": false}},
		"required": ["backup"], "additionalProperties": false}`)
}

// backupUpdate is schemas/backups.py's update, with extra properties
// (3.43's metadata).
func backupUpdate(extra string) string {
	return expand(`{"type": "object", "properties": {"backup": {"type": ["object", "null"], "properties": {
		"name": $nameZeroMin, "description": $descriptionType` + extra + `}, "additionalProperties": false}},
		"required": ["backup"], "additionalProperties": false}`)
}

// serviceBody is os-services' enable_and_disable, with extra
// properties (disable_log_reason's reason).
func serviceBody(extra string) string {
	return `{"type": "object", "properties": {"binary": {"type": "string", "minLength": 1, "maxLength": 255},
		"host": {"type": ["string", "null"], "minLength": 1, "maxLength": 255, "pattern": "^[a-zA-Z0-9-._#@:/+\\[\\]]*$"},
		"cluster": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
		"service": {"type": "string", "minLength": 1, "maxLength": 255}` + extra + `},
		"anyOf": [{"required": ["binary"]}, {"required": ["service"]}], "additionalProperties": false}`
}

// volumeCreateSchemaAt is create's schema at a microversion.
func volumeCreateSchemaAt(q *request) *schema {
	switch {
	case q.at(53):
		return volumeCreateV353Schema
	case q.at(47):
		return volumeCreateV347Schema
	case q.at(13):
		return volumeCreateV313Schema
	}
	return volumeCreateSchema
}
