-- pgbench reference for a non-conflicting deposit: in one transaction, read the account's latest events (those
-- after the last multiple of 50, as the service reads the events after its snapshot) and insert one event row.
-- One account per pgbench client, like one account per load-program thread.
BEGIN;
SELECT sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id FROM account_events WHERE aggregate_id = md5('pgbench-' || :client_id)::uuid AND sequence_number > (SELECT COALESCE(MAX(sequence_number), 0) FROM account_events WHERE aggregate_id = md5('pgbench-' || :client_id)::uuid) / 50 * 50 ORDER BY sequence_number;
INSERT INTO account_events (aggregate_id, sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id) SELECT md5('pgbench-' || :client_id)::uuid, COALESCE(MAX(sequence_number), 0) + 1, gen_random_uuid(), 2, NULL, 1, 0, NULL FROM account_events WHERE aggregate_id = md5('pgbench-' || :client_id)::uuid;
END;
