// Package placement serves OpenStack's Placement API v1 (the shapes of
// Placement 8.0.0, Zed: microversions 1.0 to 1.39) over a compute.Store,
// behind identity/middleware.
//
// What it serves: the version document at / (public); resource
// providers (list with name, uuid, member_of with in: and !, in_tree,
// resources, required with !T and in:; create, show, update with
// re-parenting since 1.37, delete), their inventories (all at once or
// one class; DELETE of all since 1.5), usages, allocations, traits
// (1.6) and aggregates (1.1; with the generation since 1.19); resource
// classes (1.2; PUT creates since 1.7); traits (1.6); allocations of a
// consumer (the list form before 1.12; project and user since 1.8;
// consumer_generation required since 1.28; consumer_type required since
// 1.38) and of several consumers at once (POST /allocations, 1.13);
// allocation candidates (1.10: the unnumbered group, granular groups
// since 1.25 with names since 1.33, group_policy, limit, in_tree,
// member_of, required, root_required, nested providers since 1.29,
// mappings since 1.34); usages of a project (1.9; by consumer type
// since 1.38). Bodies and query strings are held to Placement's schemas
// for the version asked for, with its messages; errors are Placement's
// {"errors": [{"status", "title", "detail", "code", "request_id"}]}
// with its codes (placement.concurrent_update on a stale generation).
// Reads answer Last-Modified and Cache-Control: no-cache since 1.15.
//
// Policy: Placement's defaults let admins (and, since Zed, the service
// role) do everything and nobody else; API.Authorize replaces that rule.
//
// What it does not do: POST /reshaper (the Store has no reshape);
// same_subtree (1.36) is refused with a 400 naming it; a candidate
// anchored on a tree takes at least one class from that tree, so
// resources two sharing providers (MISC_SHARES_VIA_AGGREGATE) alone
// satisfy come only from their own trees; PUT
// /resource_classes/{name} before 1.7 renames only a class no inventory
// uses (the Store keeps inventories by class name); the error code is
// sent at every version, where Placement sends it since 1.23; a
// missing provider is placement.resource_provider.not_found, where
// Placement leaves the code undefined.
package placement
