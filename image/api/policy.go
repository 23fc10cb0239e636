package api

import "github.com/gostack/gostack/identity/policy"

// Glance's composite checks (glance/policies/base.py, Glance 25): the
// target's project_id is the image owner, member_id the caller's project
// when the image is shared with it, visibility the image's.
const (
	projectMember      = "role:member and project_id:%(project_id)s"
	projectReader      = "role:reader and project_id:%(project_id)s"
	visibleTo          = "(project_id:%(project_id)s or project_id:%(member_id)s or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s)"
	adminOrMember      = "role:admin or (" + projectMember + ")"
	adminOrReader      = "role:admin or (" + projectReader + ")"
	adminOrSharedMbr   = "role:admin or (role:member and project_id:%(member_id)s)"
	adminOrReaderOrMbr = "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)"
)

// Defaults are Glance's default image policies (secure RBAC, as Glance 25
// enforces them), under Glance's rule names. An operator's policy file
// overrides them by name.
func Defaults() []policy.Rule {
	ops := func(method, path string) []policy.Operation {
		return []policy.Operation{{Method: method, Path: path}}
	}
	return append([]policy.Rule{
		{Name: "default", Check: "role:admin", Description: "Rule of last resort."},
		{Name: "context_is_admin", Check: "role:admin", Description: "Who is an administrator: sees and may change every image."},
		{Name: "add_image", Check: "role:admin or (" + projectMember + " and project_id:%(owner)s)",
			Description: "Create an image.", Operations: ops("POST", "/v2/images")},
		{Name: "delete_image", Check: adminOrMember, Description: "Delete an image.", Operations: ops("DELETE", "/v2/images/{image_id}")},
		{Name: "get_image", Check: "role:admin or (role:reader and " + visibleTo + ")",
			Description: "Show an image.", Operations: ops("GET", "/v2/images/{image_id}")},
		{Name: "get_images", Check: adminOrReader, Description: "List images.", Operations: ops("GET", "/v2/images")},
		{Name: "modify_image", Check: adminOrMember, Description: "Update an image.", Operations: ops("PATCH", "/v2/images/{image_id}")},
		{Name: "publicize_image", Check: "role:admin", Description: "Make an image public."},
		{Name: "communitize_image", Check: adminOrMember, Description: "Make an image a community image."},
		{Name: "download_image", Check: "role:admin or (role:member and " + visibleTo + ")",
			Description: "Download image data.", Operations: ops("GET", "/v2/images/{image_id}/file")},
		{Name: "upload_image", Check: adminOrMember, Description: "Upload or stage image data, or import it.",
			Operations: []policy.Operation{{Method: "PUT", Path: "/v2/images/{image_id}/file"}, {Method: "PUT", Path: "/v2/images/{image_id}/stage"}, {Method: "POST", Path: "/v2/images/{image_id}/import"}}},
		{Name: "add_member", Check: adminOrMember, Description: "Share an image.", Operations: ops("POST", "/v2/images/{image_id}/members")},
		{Name: "delete_member", Check: adminOrMember, Description: "Unshare an image.", Operations: ops("DELETE", "/v2/images/{image_id}/members/{member_id}")},
		{Name: "get_member", Check: adminOrReaderOrMbr, Description: "Show an image member.", Operations: ops("GET", "/v2/images/{image_id}/members/{member_id}")},
		{Name: "get_members", Check: adminOrReaderOrMbr, Description: "List image members.", Operations: ops("GET", "/v2/images/{image_id}/members")},
		{Name: "modify_member", Check: adminOrSharedMbr, Description: "Accept or reject a shared image.", Operations: ops("PUT", "/v2/images/{image_id}/members/{member_id}")},
		{Name: "deactivate", Check: adminOrMember, Description: "Deactivate an image.", Operations: ops("POST", "/v2/images/{image_id}/actions/deactivate")},
		{Name: "reactivate", Check: adminOrMember, Description: "Reactivate an image.", Operations: ops("POST", "/v2/images/{image_id}/actions/reactivate")},
		// Locations, when the operator shows them (API.ShowMultipleLocations).
		{Name: "get_image_location", Check: adminOrReader, Description: "Reads the location of the image.", Operations: ops("GET", "/v2/images/{image_id}")},
		{Name: "set_image_location", Check: adminOrMember, Description: "Sets location URI to given image.", Operations: ops("PATCH", "/v2/images/{image_id}")},
		{Name: "delete_image_location", Check: "role:admin", Description: "Deletes the location of given image.", Operations: ops("PATCH", "/v2/images/{image_id}")},
	}, metadefDefaults()...)
}

// readNamespace is Glance's ADMIN_OR_PROJECT_READER_GET_NAMESPACE: the
// target's project_id is the namespace owner, visibility its visibility.
const readNamespace = "role:admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))"

// metadefDefaults are Glance 25's metadef rules (glance/policies/metadef.py):
// reading a namespace and its content needs it to be the caller's
// project's or public; every write is metadef_admin.
func metadefDefaults() []policy.Rule {
	ns := "/v2/metadefs/namespaces/{namespace_name}"
	op := func(method, path string) []policy.Operation { return []policy.Operation{{Method: method, Path: path}} }
	return []policy.Rule{
		{Name: "metadef_default", Check: "", Description: "Defines the base rule of metadef reads (deprecated rules)."},
		{Name: "metadef_admin", Check: "role:admin", Description: "Who may write metadata definitions."},
		{Name: "get_metadef_namespace", Check: readNamespace, Description: "Get a specific namespace.", Operations: op("GET", ns)},
		{Name: "get_metadef_namespaces", Check: "role:admin or (" + projectReader + ")", Description: "List namespace.", Operations: op("GET", "/v2/metadefs/namespaces")},
		{Name: "modify_metadef_namespace", Check: "rule:metadef_admin", Description: "Modify an existing namespace.", Operations: op("PUT", ns)},
		{Name: "add_metadef_namespace", Check: "rule:metadef_admin", Description: "Create a namespace.", Operations: op("POST", "/v2/metadefs/namespaces")},
		{Name: "delete_metadef_namespace", Check: "rule:metadef_admin", Description: "Delete a namespace.", Operations: op("DELETE", ns)},
		{Name: "get_metadef_object", Check: readNamespace, Description: "Get a specific object from a namespace.", Operations: op("GET", ns+"/objects/{object_name}")},
		{Name: "get_metadef_objects", Check: readNamespace, Description: "Get objects from a namespace.", Operations: op("GET", ns+"/objects")},
		{Name: "modify_metadef_object", Check: "rule:metadef_admin", Description: "Update an object within a namespace.", Operations: op("PUT", ns+"/objects/{object_name}")},
		{Name: "add_metadef_object", Check: "rule:metadef_admin", Description: "Create an object within a namespace.", Operations: op("POST", ns+"/objects")},
		{Name: "delete_metadef_object", Check: "rule:metadef_admin", Description: "Delete an object within a namespace.", Operations: op("DELETE", ns+"/objects/{object_name}")},
		{Name: "list_metadef_resource_types", Check: readNamespace, Description: "List meta definition resource types.", Operations: op("GET", "/v2/metadefs/resource_types")},
		{Name: "get_metadef_resource_type", Check: readNamespace, Description: "Get meta definition resource types associations.", Operations: op("GET", ns+"/resource_types")},
		{Name: "add_metadef_resource_type_association", Check: "rule:metadef_admin", Description: "Create meta definition resource types association.", Operations: op("POST", ns+"/resource_types")},
		{Name: "remove_metadef_resource_type_association", Check: "rule:metadef_admin", Description: "Delete meta definition resource types association.", Operations: op("DELETE", ns+"/resource_types/{name}")},
		{Name: "get_metadef_property", Check: readNamespace, Description: "Get a specific meta definition property.", Operations: op("GET", ns+"/properties/{property_name}")},
		{Name: "get_metadef_properties", Check: readNamespace, Description: "List meta definition properties.", Operations: op("GET", ns+"/properties")},
		{Name: "modify_metadef_property", Check: "rule:metadef_admin", Description: "Update meta definition property.", Operations: op("PUT", ns+"/properties/{property_name}")},
		{Name: "add_metadef_property", Check: "rule:metadef_admin", Description: "Create meta definition property.", Operations: op("POST", ns+"/properties")},
		{Name: "remove_metadef_property", Check: "rule:metadef_admin", Description: "Delete meta definition property.", Operations: op("DELETE", ns+"/properties/{property_name}")},
		{Name: "get_metadef_tag", Check: readNamespace, Description: "Get tag definition.", Operations: op("GET", ns+"/tags/{tag_name}")},
		{Name: "get_metadef_tags", Check: readNamespace, Description: "List tag definitions.", Operations: op("GET", ns+"/tags")},
		{Name: "modify_metadef_tag", Check: "rule:metadef_admin", Description: "Update tag definition.", Operations: op("PUT", ns+"/tags/{tag_name}")},
		{Name: "add_metadef_tag", Check: "rule:metadef_admin", Description: "Add tag definition.", Operations: op("POST", ns+"/tags/{tag_name}")},
		{Name: "add_metadef_tags", Check: "rule:metadef_admin", Description: "Create tag definitions.", Operations: op("POST", ns+"/tags")},
		{Name: "delete_metadef_tag", Check: "rule:metadef_admin", Description: "Delete tag definition.", Operations: op("DELETE", ns+"/tags/{tag_name}")},
		{Name: "delete_metadef_tags", Check: "rule:metadef_admin", Description: "Delete tag definitions.", Operations: op("DELETE", ns+"/tags")},
	}
}
