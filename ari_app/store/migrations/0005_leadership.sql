-- Who holds the active instance's lease (a session-level advisory lock, see
-- ari_app/store/lease.py), for the standby's answers, metrics and logs. One row; ``term``
-- grows by one at each take-over, so log lines and metrics tell two terms apart.

CREATE TABLE leadership (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    instance text NOT NULL,
    api_url text,
    term bigint NOT NULL,
    since timestamptz NOT NULL DEFAULT now()
);
