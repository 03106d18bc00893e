-- What ``ari-app topology import`` needs so that the topology read back from the tables is
-- the one imported, and what the mode recorder needs to write each change exactly once.
--
-- * The order of the file: centres and virtual CTAs (``units.ordinal``), routing keys,
--   neighbours within a rank, virtual CTA members. Positions already had theirs.
-- * A routing key may be listed twice by one centre (the policy accepts it: the key still
--   routes to that one centre), so routing keys are identified by their place in the list.
--   That a key routes to one centre is checked by the policy, on normalised keys.
-- * The modes each centre starts with (``[centres.X.modes]``): the import stores them in
--   ``centre_modes`` for a new centre, and they are part of the topology read back.
-- * ``applied_mode_changes``: the ids of the changes the application recorded that were
--   applied (whether or not they changed anything), written in the change's transaction,
--   so that a change replayed from the spool after an outage is applied once; and
--   ``mode_changes.change_id``, the change an audit row comes from.

ALTER TABLE units ADD COLUMN ordinal integer NOT NULL DEFAULT 0;

ALTER TABLE routing_keys DROP CONSTRAINT routing_keys_pkey;
ALTER TABLE routing_keys ADD COLUMN ordinal integer NOT NULL DEFAULT 0;
ALTER TABLE routing_keys ADD PRIMARY KEY (centre_id, ordinal);
DROP INDEX routing_keys_centre;
CREATE INDEX routing_keys_key ON routing_keys (key);

ALTER TABLE neighbours ADD COLUMN ordinal integer NOT NULL DEFAULT 0;

ALTER TABLE virtual_cta_members ADD COLUMN ordinal integer NOT NULL DEFAULT 0;

ALTER TABLE centres
    ADD COLUMN initial_outgoing_mutual_aid boolean NOT NULL DEFAULT true,
    ADD COLUMN initial_incoming_mutual_aid boolean NOT NULL DEFAULT true,
    ADD COLUMN initial_diverted_to text
        REFERENCES units (id) DEFERRABLE INITIALLY IMMEDIATE,
    ADD COLUMN initial_crisis_message text CHECK (initial_crisis_message <> ''),
    ADD CONSTRAINT centres_initial_diversion_check CHECK (initial_diverted_to IS DISTINCT FROM id);

ALTER TABLE mode_changes ADD COLUMN change_id text UNIQUE CHECK (change_id <> '');

CREATE TABLE applied_mode_changes (
    change_id text PRIMARY KEY CHECK (change_id <> ''),
    applied_at timestamptz NOT NULL DEFAULT now()
);
