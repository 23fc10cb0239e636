// Package identity is gostack's identity area: Keystone's model and its
// rules for authentication and tokens.
//
//   - Store: domains, projects, users, groups, roles with implied roles,
//     assignments, the catalog, application credentials and revocation
//     events, on SQLite or PostgreSQL, every write in the watch feed.
//     Every create and update is checked against Keystone 22's input
//     rules (each type's Validate: name, id, tag, URL and description
//     limits) and refused with a 400 naming the field; domains, parents
//     and ids do not change. Names are stored stripped, as Keystone
//     stores them. A user keeps its extra properties (User.Extra: email,
//     description, any other member, as Keystone's extra column); a
//     project's tags are also edited one by one (AddProjectTag,
//     SetProjectTags, RemoveProjectTag); an endpoint named with the
//     legacy "region" may create it (CreateEndpointInRegion).
//   - Domain-specific roles (Role.DomainID) only imply others, as in
//     Keystone: EffectiveAssignments and EffectiveRoleIDs (what tokens
//     carry) leave them out after following their implications;
//     HeldRoleIDs keeps them for trusts. A grant of one on a project of
//     another domain or on the system is refused, and so is a global
//     role implying one, or any role implying admin.
//   - Security compliance (Store.Compliance, Keystone's
//     [security_compliance]): lockout after failed password
//     authentications, password expiry (and expiry at once for a
//     password an administrator sets, change_password_upon_first_use),
//     the password history a user's own change may not repeat, the
//     minimum age of a password its user set, and a regular expression
//     every new password must match, and the disabling of users inactive
//     for disable_user_account_days_inactive days: as Keystone's enabled
//     getter, such a user reads as disabled (GET, lists, token checks)
//     without a stored change, counted in UTC dates from their last
//     successful password authentication (User.LastActiveAt, stamped
//     outside the feed at most once a day by RecordActive) or an update
//     that left them enabled, else from their creation; an update that
//     enables them makes them active again. The bootstrap admin and the
//     service users are exempt from lockout, expiry and inactivity.
//   - Credentials: Keystone's credentials (EC2 ones with the SHA-256 of
//     the access key as id), their blobs encrypted with a Fernet key set
//     of their own as Keystone's credential provider does (Fernet with
//     the primary key, key_hash the SHA-1 of its text); Migrate
//     re-encrypts them with a new primary, Unmigrated tells whether a
//     rotation may purge a key.
//   - Auth: authenticate (password, token, application credential, and
//     EC2 signatures through AuthenticateEC2 with identity/ec2), scope
//     (project, domain, system), validate (keys, expiry, revocation, the
//     user and scope still enabled, roles still held), revoke, and a
//     user's own password change (ChangePassword: the original password
//     authorizes it, whoever asks; the user's tokens are revoked). Roles
//     inherited from a domain or a parent project count on the projects
//     below, never on the target itself.
//   - Trusts (OS-TRUST): Trust, stored with its delegated role ids;
//     ConsumeTrustUse takes one of its remaining_uses in a single
//     conditional UPDATE. Auth scopes a token to a trust for its trustee
//     (Fernet payload 3) and validates it against the trust every time:
//     not expired or deleted (DeleteTrust also revokes by trust id), the
//     trustor enabled and still holding every delegated role. The
//     trustor is the token's user when the trust impersonates. A user's
//     or a project's delete removes their trusts.
//   - Endpoint filter (OS-EP-FILTER): EndpointGroup (filters on
//     service_id, interface and region_id) and the associations of
//     projects with endpoints and with endpoint groups. Catalog(ctx,
//     projectID) is Keystone's catalog with the endpoint filter: a
//     project with associations that match endpoints sees only those, and
//     only the services left with one. Deleting a project, an endpoint
//     (or its service) or a group removes its associations.
//   - Policy blobs: Policy, Keystone's /v3/policies (a type, a blob and
//     extra members), stored for others to read and never enforced.
//   - Bootstrap: keystone-manage bootstrap.
//   - SharedKeys: Fernet keys in the store for several controllers, with a
//     rotation that never invalidates a valid token.
//
// Building blocks that work without this package: identity/fernet,
// identity/ec2, identity/policy, identity/password, identity/revoke and
// identity/middleware. identity/api is the Keystone v3 REST API over this
// package.
//
//   - Projects acting as domains: a domain is also a Project with
//     IsDomain (Domain.AsProject), which CreateProject, UpdateProject,
//     DeleteProject, GetProjectOrDomain and ListProjects take as Keystone
//     does. Projects follow Keystone's hierarchy rules: the parent in the
//     project's domain, no disabled project in the branch, at most
//     MaxProjectTreeDepth levels, enabled only under enabled parents,
//     disabled only above disabled projects.
//
// What it does not do: federation, OAuth, trust redelegation (and EC2
// credentials delegating a trust), LDAP, limits.
package identity
