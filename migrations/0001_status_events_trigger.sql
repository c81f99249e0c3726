-- Every status change writes its event row in the same statement that makes it: the reason
-- and actor travel as columns of the UPDATE, the trigger copies them. No code path can
-- change a status without leaving history, and no history exists for a change that did not happen.
CREATE TRIGGER `instances_status_event_on_update`
AFTER UPDATE OF `status` ON `instances`
WHEN OLD.`status` <> NEW.`status`
BEGIN
  INSERT INTO `instance_events` (`instance_id`, `at`, `from_status`, `to_status`, `reason`, `actor`)
  VALUES (NEW.`id`, NEW.`status_changed_at`, OLD.`status`, NEW.`status`, NEW.`status_reason`, NEW.`status_actor`);
END;
--> statement-breakpoint
CREATE TRIGGER `instances_status_event_on_insert`
AFTER INSERT ON `instances`
BEGIN
  INSERT INTO `instance_events` (`instance_id`, `at`, `from_status`, `to_status`, `reason`, `actor`)
  VALUES (NEW.`id`, NEW.`status_changed_at`, NULL, NEW.`status`, NEW.`status_reason`, NEW.`status_actor`);
END;
