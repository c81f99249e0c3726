CREATE TABLE `rollouts` (
	`id` text PRIMARY KEY NOT NULL,
	`target_image` text NOT NULL,
	`previous_image` text,
	`state` text NOT NULL,
	`state_reason` text,
	`batch_size` integer NOT NULL,
	`upgrade_claimed` integer DEFAULT false NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`upgraded` integer DEFAULT 0 NOT NULL,
	`actor` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `rollouts_created_idx` ON `rollouts` (`created_at`);--> statement-breakpoint
ALTER TABLE `instances` ADD `image` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `upgrade_image` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `upgrade_previous_image` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `upgrade_phase` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `upgrade_deployment_id` text;