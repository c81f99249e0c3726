ALTER TABLE `instances` ADD `degraded_since` integer;--> statement-breakpoint
ALTER TABLE `instances` ADD `degraded_reason` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `volume_id` text;