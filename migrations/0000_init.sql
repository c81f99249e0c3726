CREATE TABLE `claims` (
	`key` text PRIMARY KEY NOT NULL,
	`body_hash` text NOT NULL,
	`state` text NOT NULL,
	`instance_id` text,
	`result` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `claims_expires_idx` ON `claims` (`expires_at`);--> statement-breakpoint
CREATE TABLE `instance_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`instance_id` text NOT NULL,
	`at` integer NOT NULL,
	`from_status` text,
	`to_status` text NOT NULL,
	`reason` text,
	`actor` text
);
--> statement-breakpoint
CREATE INDEX `instance_events_instance_idx` ON `instance_events` (`instance_id`,`id`);--> statement-breakpoint
CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`status_reason` text,
	`status_actor` text,
	`status_changed_at` integer NOT NULL,
	`deadline_at` integer,
	`created_at` integer NOT NULL,
	`ready_at` integer,
	`provider` text NOT NULL,
	`service_name` text NOT NULL,
	`service_id` text,
	`url` text,
	`deployment_status` text,
	`runtime_version` text,
	`last_health_at` integer,
	`health_failures` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`gateway_token_sealed` text,
	`openrouter_key_hash` text,
	`agentmail_inbox_id` text,
	`phone_number` text,
	`claim_id` text,
	`agent_name` text,
	`template` text,
	`join_url` text,
	`conversation_id` text,
	`invite_url` text,
	`joined` integer,
	`claim_status` text,
	`claimed_at` integer,
	`teardown_attempts` integer DEFAULT 0 NOT NULL,
	`next_teardown_at` integer,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE INDEX `instances_status_idx` ON `instances` (`status`,`ready_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `instances_service_name_idx` ON `instances` (`service_name`);--> statement-breakpoint
CREATE UNIQUE INDEX `instances_join_url_claiming_idx` ON `instances` (`join_url`) WHERE status = 'claiming' AND join_url IS NOT NULL;--> statement-breakpoint
CREATE TABLE `phone_numbers` (
	`phone_number` text PRIMARY KEY NOT NULL,
	`telnyx_id` text,
	`instance_id` text,
	`released_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `phone_numbers_instance_idx` ON `phone_numbers` (`instance_id`);--> statement-breakpoint
CREATE TABLE `rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`window_start` integer NOT NULL,
	`count` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `templates` (
	`slug` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`category` text NOT NULL,
	`emoji` text NOT NULL,
	`skills` text NOT NULL,
	`instructions` text,
	`notion_page_id` text,
	`featured` integer DEFAULT false NOT NULL,
	`published` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `templates_category_idx` ON `templates` (`category`);