-- The first schema: topology, modes and their audit trail, API tokens, the call journal
-- and the abandoned-callers callback list. docs/store.md explains every table.
--
-- Topology foreign keys are DEFERRABLE so that an import can replace the whole topology in
-- one transaction; history tables (journal, audit) hold plain ids, without foreign keys to
-- the topology, because history must outlive a centre being renamed or removed.

-- Topology ------------------------------------------------------------------------------

-- A unit is what a call waits at: a centre, or a virtual CTA pooling several centres.
-- Centres and virtual CTAs share this one id space so that "a unit" can be referenced.
CREATE TABLE units (
    id text PRIMARY KEY CHECK (id <> ''),
    kind text NOT NULL CHECK (kind IN ('centre', 'virtual_cta')),
    name text NOT NULL,
    UNIQUE (id, kind)
);

-- Limits and announcements of a unit (the pooled unit, for a virtual CTA): see the policy.
-- Announcements: ``welcome`` once, ``reminder`` every ``reminder_every_s`` after it, music
-- on hold of class ``music_on_hold`` in between.
CREATE TABLE centres (
    id text PRIMARY KEY,
    kind text NOT NULL DEFAULT 'centre' CHECK (kind = 'centre'),
    department text,
    max_queue integer NOT NULL CHECK (max_queue >= 0),
    max_wait_s double precision NOT NULL CHECK (max_wait_s > 0),
    reserve integer NOT NULL CHECK (reserve >= 0),
    overflow_cap integer NOT NULL CHECK (overflow_cap >= 0),
    welcome text NOT NULL,
    reminder text NOT NULL,
    reminder_every_s double precision NOT NULL CHECK (reminder_every_s > 0),
    music_on_hold text NOT NULL,
    FOREIGN KEY (id, kind) REFERENCES units (id, kind)
        ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);

-- ``active`` is the state the topology starts it in; duty officers switch it (vcta_modes).
CREATE TABLE virtual_ctas (
    id text PRIMARY KEY,
    kind text NOT NULL DEFAULT 'virtual_cta' CHECK (kind = 'virtual_cta'),
    active boolean NOT NULL,
    max_queue integer NOT NULL CHECK (max_queue >= 0),
    max_wait_s double precision NOT NULL CHECK (max_wait_s > 0),
    reserve integer NOT NULL CHECK (reserve >= 0),
    overflow_cap integer NOT NULL CHECK (overflow_cap >= 0),
    welcome text NOT NULL,
    reminder text NOT NULL,
    reminder_every_s double precision NOT NULL CHECK (reminder_every_s > 0),
    music_on_hold text NOT NULL,
    FOREIGN KEY (id, kind) REFERENCES units (id, kind)
        ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);

CREATE TABLE virtual_cta_members (
    virtual_cta_id text NOT NULL
        REFERENCES virtual_ctas (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    centre_id text NOT NULL
        REFERENCES centres (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    PRIMARY KEY (virtual_cta_id, centre_id)
);
CREATE INDEX virtual_cta_members_centre ON virtual_cta_members (centre_id);

-- An operator seat. ``endpoint`` is what Asterisk dials, e.g. PJSIP/sdis77-op1.
CREATE TABLE positions (
    id text PRIMARY KEY CHECK (id <> ''),
    centre_id text NOT NULL
        REFERENCES centres (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    endpoint text NOT NULL UNIQUE CHECK (endpoint LIKE '%/%'),
    ordinal integer NOT NULL DEFAULT 0
);
CREATE INDEX positions_centre ON positions (centre_id, ordinal);

-- What the network gives to identify a call's home centre: routing number or origin code.
CREATE TABLE routing_keys (
    key text PRIMARY KEY CHECK (key <> ''),
    centre_id text NOT NULL
        REFERENCES centres (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX routing_keys_centre ON routing_keys (centre_id);

-- A centre's neighbours for mutual aid by rank: rank 1 is tried first; several neighbours
-- may share a rank (the policy then prefers the one with the most free positions).
CREATE TABLE neighbours (
    centre_id text NOT NULL
        REFERENCES centres (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    neighbour_id text NOT NULL
        REFERENCES units (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    rank integer NOT NULL CHECK (rank >= 1),
    PRIMARY KEY (centre_id, neighbour_id),
    CHECK (neighbour_id <> centre_id)
);
CREATE INDEX neighbours_rank ON neighbours (centre_id, rank);

-- Settings of the topology as a whole: exactly one row once a topology is imported.
CREATE TABLE topology (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    default_unit text NOT NULL REFERENCES units (id) DEFERRABLE INITIALLY IMMEDIATE,
    backup_unit text NOT NULL REFERENCES units (id) DEFERRABLE INITIALLY IMMEDIATE,
    last_resort_after_s double precision NOT NULL CHECK (last_resort_after_s > 0),
    skip_failed_position_for_s double precision NOT NULL CHECK (skip_failed_position_for_s > 0),
    source text NOT NULL,
    digest text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);

-- Modes: what duty officers switch -------------------------------------------------------

CREATE TABLE centre_modes (
    centre_id text PRIMARY KEY
        REFERENCES centres (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    outgoing_mutual_aid boolean NOT NULL,
    incoming_mutual_aid boolean NOT NULL,
    diverted_to text REFERENCES units (id) DEFERRABLE INITIALLY IMMEDIATE,
    crisis_message text CHECK (crisis_message <> ''),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    CHECK (diverted_to IS DISTINCT FROM centre_id)
);

-- Whether a virtual CTA is active, once a duty officer has switched it (until then, the
-- topology's ``virtual_ctas.active``).
CREATE TABLE vcta_modes (
    virtual_cta_id text PRIMARY KEY
        REFERENCES virtual_ctas (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    active boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL
);

-- A row while the position is paused; resuming deletes it (the audit keeps the history).
CREATE TABLE position_pauses (
    position_id text PRIMARY KEY
        REFERENCES positions (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    since timestamptz NOT NULL DEFAULT now(),
    paused_by text NOT NULL,
    reason text
);

-- Every change of a mode, a virtual CTA's activation or a pause, written in the same
-- transaction as the change. ``unit_id`` is the centre (of the position, for a pause) or
-- the virtual CTA changed. ``before`` and ``after`` hold the changed fields only;
-- ``before`` is NULL when the centre had no stored modes yet (it ran on its defaults).
-- ``at`` is the time of the write, not of the transaction's start: changes queued on a
-- centre's lock are then dated in the order they were applied.
CREATE TABLE mode_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL CHECK (actor <> ''),
    unit_id text NOT NULL,
    position_id text,
    what text NOT NULL CHECK (what <> ''),
    before jsonb,
    after jsonb NOT NULL,
    reason text
);
CREATE INDEX mode_changes_at ON mode_changes (at DESC, id DESC);
CREATE INDEX mode_changes_unit ON mode_changes (unit_id, at DESC, id DESC);

-- API tokens -------------------------------------------------------------------------------

-- Only the SHA-256 of a token is stored; the plaintext is shown once, at creation.
-- Scopes: 'read', 'national', 'centre:<centre id>'.
CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (name <> ''),
    scopes text[] NOT NULL CHECK (cardinality(scopes) > 0),
    secret_sha256 bytea NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    revoked_at timestamptz,
    revoked_by text,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

-- Call journal ---------------------------------------------------------------------------

-- One row per call, derived from its journal entries (recomputed whenever entries arrive).
CREATE TABLE calls (
    call_id text PRIMARY KEY,
    caller text,
    routing_key text,
    channel_id text,
    home_centre text,
    unit text,
    position text,
    arrived_at timestamptz,
    connected_at timestamptz,
    ended_at timestamptz,
    outcome text CHECK (outcome IN ('answered', 'abandoned', 'lost')),
    hops integer NOT NULL DEFAULT 0,
    entries integer NOT NULL DEFAULT 0
);
CREATE INDEX calls_arrived_at ON calls (arrived_at);
CREATE INDEX calls_open ON calls (arrived_at) WHERE ended_at IS NULL;
CREATE INDEX calls_home_centre ON calls (home_centre, arrived_at);

-- One row per journal entry; ``id`` is the order entries were recorded in.
CREATE TABLE journal_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id text NOT NULL UNIQUE,
    call_id text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    kind text NOT NULL CHECK (kind IN (
        'arrived', 'routed', 'waiting', 'offered', 'offer_failed',
        'connected', 'moved', 'picked', 'recovered', 'ended'
    )),
    unit text,
    home_centre text,
    position text,
    caller text,
    reason text,
    outcome text CHECK (outcome IN ('answered', 'abandoned', 'lost')),
    details jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journal_entries_call ON journal_entries (call_id, at, id);

-- Every abandoned call, to be called back; a duty officer marks it done with an outcome.
CREATE TABLE callbacks (
    call_id text PRIMARY KEY REFERENCES calls (call_id) ON DELETE CASCADE,
    caller text,
    home_centre text,
    arrived_at timestamptz NOT NULL,
    hung_up_at timestamptz NOT NULL,
    waited_s double precision NOT NULL CHECK (waited_s >= 0),
    done_at timestamptz,
    done_by text,
    done_outcome text CHECK (done_outcome IN (
        'reached', 'no_answer', 'voicemail', 'invalid_number', 'not_needed'
    )),
    note text,
    CHECK ((done_at IS NULL) = (done_by IS NULL) AND (done_at IS NULL) = (done_outcome IS NULL))
);
CREATE INDEX callbacks_pending ON callbacks (hung_up_at) WHERE done_at IS NULL;
CREATE INDEX callbacks_home_centre ON callbacks (home_centre, hung_up_at);
