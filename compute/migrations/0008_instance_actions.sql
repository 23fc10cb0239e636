-- The traceback of an instance action's event, as Nova keeps it beside
-- the event's details (os-instance-actions shows it to admins): for
-- gostack, the explanation of the fault that failed the event.
ALTER TABLE compute_instance_action_events ADD COLUMN traceback TEXT;
-- Actions by request id, as os-instance-actions/{request_id} reads them.
CREATE INDEX compute_instance_actions_request ON compute_instance_actions (instance_uuid, request_id);
