-- 010_telegram: commands from the Telegram chat (worker/telegram.c).
-- Never edit this file once landed; add sql/NNN_*.sql instead.
--
-- The leader long-polls the Bot API's getUpdates.  An update is confirmed
-- to Telegram by the next call's offset (its update_id + 1); the worker
-- keeps that offset here, written in the same transaction as the control
-- command an update asked for (control_commands, requested_by
-- 'telegram:<chat id>'), so that a command is recorded exactly once
-- whatever crashes: a restart, or a new leader, asks from the offset on and
-- skips what is older.  telegram_bot_id is the bot the offset belongs to
-- (the token's digits): another bot's updates are counted afresh.
ALTER TABLE worker_state
  ADD COLUMN telegram_offset bigint NOT NULL DEFAULT 0 CHECK (telegram_offset >= 0),
  ADD COLUMN telegram_bot_id bigint;
