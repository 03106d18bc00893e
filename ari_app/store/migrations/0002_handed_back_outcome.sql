-- A call whose session failed is handed back to the dialplan, whose fallback rings positions
-- directly: not lost, but no longer followed by the application. Its outcome is recorded as
-- 'handed_back'.

ALTER TABLE calls DROP CONSTRAINT calls_outcome_check;
ALTER TABLE calls ADD CONSTRAINT calls_outcome_check
    CHECK (outcome IN ('answered', 'abandoned', 'lost', 'handed_back'));

ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_outcome_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_outcome_check
    CHECK (outcome IN ('answered', 'abandoned', 'lost', 'handed_back'));
