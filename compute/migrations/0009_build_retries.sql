-- A build that failed on a host and was sent back to the scheduler
-- (Nova's reschedule, its filter_properties' retry): the hosts tried, in
-- order, and each one's error. The builder keeps the next try off them.
CREATE TABLE compute_build_retries (
	instance_uuid TEXT PRIMARY KEY,
	attempts INTEGER NOT NULL,
	hosts TEXT NOT NULL,
	faults TEXT NOT NULL
);
-- A rescheduled build has one build event per host it was tried on, as
-- Nova's: the events are keyed by their host too.
CREATE TABLE compute_instance_action_events_new (
	action_id BIGINT NOT NULL REFERENCES compute_instance_actions (id) ON DELETE CASCADE,
	event TEXT NOT NULL,
	host TEXT NOT NULL,
	result TEXT,
	details TEXT,
	start_time BIGINT NOT NULL,
	finish_time BIGINT,
	traceback TEXT,
	PRIMARY KEY (action_id, event, host)
);
INSERT INTO compute_instance_action_events_new (action_id, event, host, result, details, start_time, finish_time, traceback)
	SELECT action_id, event, host, result, details, start_time, finish_time, traceback FROM compute_instance_action_events;
DROP TABLE compute_instance_action_events;
ALTER TABLE compute_instance_action_events_new RENAME TO compute_instance_action_events;
