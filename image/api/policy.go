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
	return []policy.Rule{
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
	}
}
