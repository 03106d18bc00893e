-- The Asterisk node that carried each call (one per datacentre, ARI_APP_ASTERISK_NODES):
-- written on every journal entry, and on the call's row (the node of its first entry that
-- names one; a call never changes node). NULL for entries journaled before nodes were named.

ALTER TABLE journal_entries ADD COLUMN node text;
ALTER TABLE calls ADD COLUMN node text;
CREATE INDEX calls_open_by_node ON calls (node) WHERE ended_at IS NULL;
