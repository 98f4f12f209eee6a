package postgres

import (
	"context"
	"time"

	"secureapi/internal/auth"
)

var _ auth.Feed = (*DB)(nil)

// Changes reads auth_changes (see its migration). Transactions commit in
// any order, so the cursor is a transaction id: the xmin of the reading
// statement's snapshot, below which every transaction has finished and,
// if it committed, is visible to that statement. Rows of transactions at or
// above it are read again next time (the view skips repeats by seq). A
// transaction left open for long holds the cursor back, so the rows after
// it are read on every poll until it ends (pruning bounds them to an hour).
func (d *DB) Changes(ctx context.Context, cursor int64) ([]auth.Change, int64, error) {
	const horizon = `pg_snapshot_xmin(pg_current_snapshot())::text::bigint`
	if cursor == 0 {
		var next int64
		err := d.Pool.QueryRow(ctx, `SELECT `+horizon).Scan(&next)
		return nil, next, markUnavailable(err)
	}
	rows, err := d.Pool.Query(ctx, `
SELECT h.horizon, c.seq, c.pos, COALESCE(c.session_id::text, ''), COALESCE(c.user_id::text, '')
FROM (SELECT `+horizon+` AS horizon) h
LEFT JOIN auth_changes c ON c.pos >= $1
ORDER BY c.seq`, cursor)
	if err != nil {
		return nil, cursor, markUnavailable(err)
	}
	defer rows.Close()
	var out []auth.Change
	next := cursor
	for rows.Next() {
		var (
			h        int64
			seq, pos *int64
			sid, uid string
		)
		if err := rows.Scan(&h, &seq, &pos, &sid, &uid); err != nil {
			return nil, cursor, err
		}
		next = max(next, h)
		if seq != nil {
			out = append(out, auth.Change{Seq: *seq, Pos: *pos, SessionID: sid, UserID: uid})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, cursor, markUnavailable(err)
	}
	return out, next, nil
}

// Prune deletes feed rows older than age.
func (d *DB) Prune(ctx context.Context, age time.Duration) error {
	_, err := d.Pool.Exec(ctx, `DELETE FROM auth_changes WHERE changed_at < now() - make_interval(secs => $1)`, age.Seconds())
	return markUnavailable(err)
}
