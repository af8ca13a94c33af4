-- pgbench reference for GET /api/account/{id}: the service's two load statements (events after the snapshot,
-- then the snapshot) for one account, prepared (-M prepared). Pass the account with -D aid=<uuid>.
SELECT sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id FROM account_events WHERE aggregate_id = :aid::uuid AND sequence_number > COALESCE((SELECT sequence_number FROM account_snapshots WHERE aggregate_id = :aid::uuid), 0) ORDER BY sequence_number;
SELECT sequence_number, owner_id, balance, is_open FROM account_snapshots WHERE aggregate_id = :aid::uuid;
