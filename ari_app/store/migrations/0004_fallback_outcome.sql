-- A call the dialplan fallback put through to a position while no application ran is
-- journaled when the application next runs (from what the dialplan kept in AstDB). Its
-- outcome is recorded as 'fallback'.

ALTER TABLE calls DROP CONSTRAINT calls_outcome_check;
ALTER TABLE calls ADD CONSTRAINT calls_outcome_check
    CHECK (outcome IN ('answered', 'abandoned', 'lost', 'handed_back', 'fallback'));

ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_outcome_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_outcome_check
    CHECK (outcome IN ('answered', 'abandoned', 'lost', 'handed_back', 'fallback'));
