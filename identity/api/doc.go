// Package api is the Keystone v3 REST API over identity.Auth and
// identity.Store: an http.Handler to mount on the identity port. Every
// call but discovery and POST /v3/auth/tokens needs a valid X-Auth-Token,
// and every call passes the policy engine with Keystone's default rules.
//
// Input follows Keystone 22's JSON schemas, one place per rule: the shape
// of a body here, in one apply per resource shared by POST and PATCH (a
// member the schema types as a boolean, a name or a list may not be null;
// a PATCH may not name another id; an update object needs a member), and
// the values in the identity package's Validate methods, which the store
// runs on every create and update (lengths, id and tag rules, endpoint
// URLs, immutable domains and parents). A refused write is a 400 naming
// the field (Keystone's 403 for a new parent_id) and changes nothing.
// Bodies are limited to Keystone's max_request_body_size, 114688 bytes.
//
// Lists take Keystone's filters: exact (every value of a repeated
// parameter), inexact (name__contains, __startswith, __endswith and their
// case-insensitive i forms), booleans read as oslo's bool_from_string,
// the project tag filters, password_expires_at and role_assignments'
// include_subtree. A filter gostack cannot apply is refused with a 400;
// parameters Keystone does not know are ignored, as Keystone ignores them.
//
// API.ListLimit is Keystone's list_limit: the lists Keystone 22 limits
// (users, groups, a group's users, a user's groups, projects, domains,
// roles, services, endpoints) answer at most that many entities, with
// "truncated": true when there were more. The database cuts the list when
// it applies every filter of the request; otherwise the API filters and
// then cuts, as Keystone does. Keystone 22 has no limit or marker query
// parameters (Keystone 27, 2025.1, added them to projects, domains, users
// and groups), and neither has this API; regions and role assignments
// are never limited, as in Keystone 22, whose regions call passes its
// hints where list_limit does not look for them.
//
// POST /v3/users/{id}/password is Keystone's unenforced call: no policy,
// no token needed (one sent must be valid), the original password
// authorizes it — an admin's token does not do without it, and anyone
// who knows it may change it; a wrong one or an unknown user is the
// generic 401, a disabled user Keystone's "The account is disabled for
// user". Administrators reset passwords with PATCH /v3/users/{id}.
//
// Security compliance follows the identity store's Compliance, as
// Keystone's [security_compliance]: a locked-out user and a wrong
// password get the same generic 401, an expired password Keystone's 401
// "The password is expired and needs to be changed for user", a new
// password the regex, the history or the minimum age refuses Keystone's
// 400s; any update of a user that leaves it enabled unlocks it, as
// Keystone's does. With disable_user_account_days_inactive, a user
// without a successful password authentication for that many days (UTC
// dates, from their last one, else from an update that left them
// enabled or their creation) is shown with "enabled": false and gets
// the generic 401 for a token and Keystone's "The account is disabled
// for user" 401 for a password change; PATCH enabled true lets them in
// again (counting today as their activity), and any other update stores
// them disabled, as Keystone's update writes what its getter read.
//
// Deliberate differences from Keystone 22:
//   - Limits Keystone's schema leaves to its database are checked as 400s
//     where Keystone's SQL would fail: group names at most 64 characters
//     (the schema says 255), role and region descriptions and region ids
//     at most 255. No string may hold NUL or invalid UTF-8, which
//     PostgreSQL cannot store. Region ids may not contain "/".
//   - Error messages name the field and the rule but never repeat the
//     value (Keystone's quote it, however long).
//   - Domains keep no tags: an empty list is accepted, others are refused
//     (Keystone stores them). POST /v3/domains takes "id" besides
//     Keystone's explicit_domain_id; a PATCH naming another id is refused
//     (Keystone ignores it).
//   - Endpoint URL substitutions are checked on PATCH as on POST (Keystone
//     checks POST only). An endpoint's legacy "region" (without
//     "region_id") creates the region when it is missing, as in Keystone,
//     but in one transaction with the endpoint: a refused endpoint leaves
//     no region (Keystone keeps it), and an empty "region" is refused
//     (Keystone creates a region with an empty id).
//   - Regions keep no extra properties (Keystone keeps and shows them).
//   - A user's extra properties are Keystone's (kept, null included, shown
//     at the top level; "tenants", "groups" and "domains" kept but not
//     shown; a PATCH reply also shows them as "extra"), but "links" in a
//     body is ignored (Keystone stores it and merges or fails on it), and
//     a POST member whose name becomes an attribute's once ':' and '-'
//     are read as '_' ("domain-id") is refused (Keystone sets the
//     attribute from it unchecked).
//   - A project tag is refused when stripping its white space leaves it
//     empty or equal to another (Keystone stores the empty tag, or fails
//     in its database). PUT .../tags/{tag} answers Keystone's Location,
//     which lacks "projects/"; the tag replies' "self" link is Keystone's
//     too, the API's base.
//   - A user's "federated" attribute is refused, and the filters idp_id,
//     protocol_id and unique_id match no user: gostack has no federated
//     users, and a Keystone without them answers the same empty list.
//   - Projects acting as domains (is_domain) are the domains, seen as
//     projects where Keystone's project calls see them: POST, GET, PATCH
//     and DELETE /v3/projects[/{id}] and the is_domain filter. Other
//     calls naming a project (grants, tag sub-resources, endpoint
//     filter associations, trusts, credentials) answer 404 for one, where
//     Keystone takes it as a project (a grant on it is a project grant
//     no token can use: a project acting as a domain scopes no token).
//     Keystone answers 500 to a domain named "Federated"; gostack, which
//     has no federation, takes the name.
//   - The tag filters all hold together, as documented. Keystone's SQL
//     differs in two corners: not-tags with not-tags-any also lists the
//     projects that have a not-tags-any tag, and tags matching no project
//     with not-tags drops the tags filter.
//   - Inexact filters compare literally; Keystone's case-insensitive ones
//     are SQL ILIKE, where "%" and "_" in the value are wildcards.
//   - GET /v3/role_assignments refuses a scope.system other than "all"
//     (Keystone ignores it). With effective, it is Keystone's listing:
//     no system assignments (a scope.system filter is ignored, as
//     Keystone ignores it there), no domain-specific roles, each role
//     listed once per way it is held, what an inherited assignment gives
//     marked inherited, and links to the assignment it comes from, the
//     group membership and the implication (prior_role).
//   - Credentials (API.Credentials; without it their routes answer 404):
//     the user and project a credential names must exist, and go with
//     it; an ec2 blob's access must be a string and stay the same on
//     PATCH, and a blob naming a trust_id, app_cred_id or
//     access_token_id is refused; the list is not cut by list_limit.
//     GET .../OS-EC2 gives the policy the path's user as the credential
//     owner (Keystone gives no target, and only its deprecated rule lets
//     the owner list); GET and DELETE .../OS-EC2/{access} answer 404 for
//     another user's credential (Keystone ignores the path's user).
//   - POST /v3/ec2tokens refuses signature versions 0 and 1, answers 401
//     for an unknown access key (Keystone's 404) and 400 for members of
//     the wrong type (Keystone's 500).
//   - OS-TRUST: no redelegation (allow_redelegation true is refused with
//     a 400; a trust-scoped token creating a trust gets Keystone's 403
//     for a trust with no redelegation depth left); a trust without a
//     project cannot scope a token (403); extra members of a trust body
//     are ignored (Keystone keeps them). Tokens of a trust whose
//     remaining_uses ran out stay valid (Keystone 22 without a token
//     cache refuses them all once the last use is taken). The roles_links
//     of a trust are Keystone's, without "OS-TRUST/trusts/".
//   - OS-EP-FILTER: a filter's value must be a string of at most 255
//     characters or null (Keystone stores any JSON value; the others
//     match no endpoint), and members of an endpoint group body other
//     than name, description, filters and id are ignored (Keystone's
//     model fails on them). The endpoint list of a project does not
//     repair associations with deleted endpoints, since deletes remove
//     them. As in Keystone, a project whose associations match no
//     endpoint gets the whole catalog, the self link of a
//     project_endpoint_group is a path without the API's base, and GET
//     .../endpoint_groups/{id}/projects answers an empty list for a
//     group that does not exist.
//   - Security compliance: password_regex is a backtracking expression
//     as Python's (lookarounds, backreferences, (?P<name>...): Keystone's
//     documented example works), and a match that runs over 100 ms
//     refuses the password where Python would hang; gostack's own users (the
//     bootstrap admin and the service users) are exempt from lockout,
//     expiry and disable_user_account_days_inactive without options.
//     Failed authentications are counted, and the last activity stamped,
//     outside the watch feed. GET /v3/users?enabled= matches the enabled
//     shown, so a user disabled for inactivity is listed under false
//     (Keystone's SQL filter reads the stored column, listing them under
//     true). A token issued before a user turned inactive stops
//     validating here, as every token of a disabled user does (Keystone's
//     stays valid until it expires, no revocation being written);
//     services' cached validations (identity/middleware) keep it until
//     the next identity change or its expiry.
//   - User options: Keystone 22's seven, stored, shown in every user
//     body and set or removed (null) member by member on PATCH, with
//     Keystone's schema and validators and the effects of
//     ignore_lockout_failure_attempts, ignore_password_expiry,
//     ignore_change_password_upon_first_use, lock_password and
//     ignore_user_inactivity, and
//     multi-factor rules enforced: POST /v3/auth/tokens with credentials
//     that satisfy none of the user's rules in force answers Keystone's
//     401 auth receipt (the Openstack-Auth-Receipt header and its body),
//     and the receipt sent back in that header counts for its methods.
//     Differences: a rule in force may name only the methods gostack
//     serves (Keystone drops the others and enforces the rest);
//     options given on create apply to that create's password (Keystone
//     applies them from the next password on); "Could not find auth
//     receipt" shows the receipt cut to 8 characters.
//   - /v3/policies: a member of a create body whose name holds ':' or
//     '-' is kept as given (Keystone's _normalize_dict reads them as
//     '_'), and "links" in a body is ignored (Keystone stores it).
//
// Policy blobs: /v3/policies (create, list with the type filters and
// list_limit, show, update merging extra members, delete) with Keystone's
// schema (type and blob strings, type at most 255 characters; other
// members kept and shown at the top level), messages and policies; the
// blobs are stored, never enforced.
//
// Endpoint filter: /v3/OS-EP-FILTER/endpoint_groups (create, list with
// Keystone's one filter, an exact name; show, update, delete; a group's
// endpoints and projects), the associations of a project with endpoints
// (PUT, GET/HEAD (204), DELETE .../projects/{id}/endpoints/{id}; a
// project's endpoints, an endpoint's projects) and with groups (PUT,
// GET/HEAD, DELETE .../endpoint_groups/{id}/projects/{id}; a project's
// groups), with Keystone's schema, order of checks, messages and
// policies. A project-scoped token's catalog and GET /v3/auth/catalog
// show only the project's associated endpoints, as Keystone's catalog
// does with the endpoint filter.
//
// Credentials: /v3/credentials, /v3/users/{id}/credentials/OS-EC2 and
// /v3/ec2tokens (signatures checked by identity/ec2) with Keystone's
// policies; delegated tokens (an application credential's, an EC2 one's)
// may not touch credentials. OS-INHERIT: grants inherited to projects on
// domains and projects, and the list of a domain's inherited grants.
//
// Trusts: /v3/OS-TRUST/trusts and its roles with Keystone's schema,
// policies and 404s; POST /v3/auth/tokens with scope "OS-TRUST:trust"
// (the trustee only; the trust's roles; the trustor as the user when
// impersonating; remaining_uses taken atomically); delegated tokens may
// not manage trusts, and a trust-scoped token may not get another token.
//
// What it does not do: federation, OAuth1/2, trust redelegation, limits,
// domain-specific configuration, the external and mapped
// authentication methods, and the immutable option of domains, projects
// and roles. The totp method is served when identity.Store.AuthMethods
// (Keystone's [auth] methods) lists it.
// Those paths answer 404; in a domain, project or role body, options may
// only set immutable to false or null (immutable true, which gostack
// would not enforce, and any other option are a 400).
package api
