// Package storage is gostack's block-storage area: Cinder's volumes and
// their rules, kept in a Store on kit/sqlstore (every write appended to
// the watch feed, area "volume", in the same transaction), usable alone
// from another module with plain public types.
//
// What works today:
//
//   - Volumes (Volume): Cinder's statuses and attach statuses, create
//     (status creating on the pool the scheduler picked; size, type,
//     zone, source volume and metadata checked as Cinder checks them),
//     get, list with Cinder's filters (name, name~, status, metadata,
//     bootable, availability zone, host; all_tenants and project_id for
//     admins) and keyset pagination with Cinder's sort keys and
//     directions, update (name, description, metadata), metadata items,
//     bootable, delete (Cinder's conditions, deleting for the backend's
//     agent, at once when never placed), extend (available to
//     extending) and an admin's reset_status. Refusals are kit/fault
//     errors carrying Cinder's exception name and message ("Invalid
//     volume: ..."), which the API edge turns into HTTP.
//   - Volume types (VolumeType): Cinder's default type __DEFAULT__ made
//     by the migration, create, get, get by name or id, list (public,
//     private shared with the viewer's project; is_public and extra
//     specs filters; keyset pages), update, delete (not the default
//     type, not while volumes use it), extra specs set and unset (not
//     while volumes use the type), private type access. A volume's type
//     gives its size limits (provisioning:min_vol_size, max_vol_size)
//     and multiattach.
//   - Quotas as Cinder's (volumes, gigabytes, per_volume_gigabytes,
//     snapshots, backups, backup_gigabytes, groups, and volumes_<type>,
//     gigabytes_<type>, snapshots_<type>) with cinder/quota.py's
//     defaults, a project's own limits set by admins (never below its
//     use), and usage counted from the volumes themselves. A create or
//     an extend counts and writes in one transaction under the
//     project's lock, so parallel requests never exceed a limit.
//   - Backends (Backend, ReportBackend): each volume agent reports its
//     pools (host@backend#pool) with Cinder's capacity figures; a pool
//     is up when heard from within ServiceDownTime (60 s) and takes
//     nothing while down or disabled. A create runs Cinder's filter
//     scheduler (Scheduler: AvailabilityZoneFilter, CapacityFilter,
//     CapabilitiesFilter, CapacityWeigher, with Cinder's arithmetic,
//     proven against python3-cinder) over the pools and claims the best
//     in its transaction, comparing the pool's generation, so parallel
//     creates never take the same last space; an extend claims its
//     growth on the volume's pool the same way.
//   - Attachments (Attachment), Cinder's v3 flow: CreateAttachment
//     reserves the volume for an instance (available to reserved; an
//     in-use multiattach volume too; the same instance again while it
//     moves), UpdateAttachment connects it with the host's connector
//     (the connection info computed from the volume's export:
//     ISCSIConnection, Cinder's tgt answer), CompleteAttachment makes it
//     in-use, DeleteAttachment detaches it; the volume's status and
//     attach status follow its attachments as Cinder's do. The legacy
//     volume actions Nova used before: ReserveVolume, UnreserveVolume,
//     InitializeConnection, AttachVolume, BeginDetaching,
//     RollDetaching, DetachVolume. Every step is one transaction with
//     the volume's row locked, so two reserves of one volume never
//     both win. An in-use volume extends (ExtendAttachedVolume); one
//     with attachments is not deleted.
//   - Retype (RetypeVolume), Cinder's os-retype: its checks in Cinder's
//     order (the type as the caller sees it, its size limits, multiattach
//     changes on available volumes only, the new type's quotas held
//     until the retype ends, the status, the type, front-end QoS of
//     in-use volumes), then the pool: the volume's own when the type
//     fits it (retyping, for its agent: the driver's retype), else with
//     the on-demand policy another pool claimed and Cinder's generic
//     migration (VolumeRetype's steps: the destination makes its copy,
//     marked with the migration's Claim so that it never takes or
//     removes another pool's volume of the same name, the data is copied, the volume moves, the old copy is removed);
//     the never policy, snapshots, or no pool leave the volume as it
//     was with a message, as Cinder's failure after its 202 does. An
//     in-use volume's migration (Nova's swap_volume) is refused.
//   - Migration (MigrateVolume), an admin's os-migrate_volume: Cinder's
//     checks in its order, then the same steps as a retype's migration
//     (VolumeRetype.Migrate), the volume keeping its type and its status
//     (maintenance with lock_volume); a destination the scheduler's
//     filters refuse leaves migration_status error, as Cinder's
//     scheduler does after its 202.
//   - What a backend's agent needs, through the API: BackendState (its
//     volumes, with the feed revision of the read) and ReportVolume
//     (creating, deleting, extending ended or failed).
//   - A Viewer is a project (another project's volume is not found) or
//     an admin.
//
// The scheduler does not reuse compute/scheduler's code: its filter
// and weigher interfaces take Nova's host and request types, which have
// no place for a pool's figures (README.md says more).
//
// What it does not do: no HTTP (storage/api/cinder serves the Cinder v3
// API over this Store), no rescheduling after an agent's failure, no
// groups, os-migrate_volume_completion (no temporary destination volume
// is made), migrations of in-use volumes or between two Ceph clusters,
// encryption or per-project default types;
// connection info for iSCSI exports only (no RBD yet); nothing asks
// Nova whether a server still uses an attachment (the API does); QoS
// specs are kept and their front-end specs put in the connection info,
// but nothing here applies them; the agents that make the volumes on
// backends are their own packages.
package storage
