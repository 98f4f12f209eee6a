package sqlite

import (
	"context"
	"fmt"
	"time"

	"secureapi/internal/auth"
)

var _ auth.Feed = (*DB)(nil)

// Changes reads auth_changes (see its migration). SQLite has one writer at
// a time, so a row's seq is its commit order and the cursor is the next seq.
func (d *DB) Changes(ctx context.Context, cursor int64) ([]auth.Change, int64, error) {
	if cursor == 0 {
		var next int64
		err := d.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM auth_changes`).Scan(&next)
		return nil, next, err
	}
	rows, err := d.R.QueryContext(ctx, `SELECT seq, COALESCE(session_id, ''), COALESCE(user_id, '') FROM auth_changes WHERE seq >= ? ORDER BY seq`, cursor)
	if err != nil {
		return nil, cursor, err
	}
	defer rows.Close()
	var out []auth.Change
	next := cursor
	for rows.Next() {
		var c auth.Change
		if err := rows.Scan(&c.Seq, &c.SessionID, &c.UserID); err != nil {
			return nil, cursor, err
		}
		c.Pos = c.Seq
		next = c.Seq + 1
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, cursor, err
	}
	return out, next, nil
}

// Prune deletes feed rows older than age.
func (d *DB) Prune(ctx context.Context, age time.Duration) error {
	_, err := d.W.ExecContext(ctx, `DELETE FROM auth_changes WHERE changed_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)`,
		fmt.Sprintf("-%d seconds", int64(age/time.Second)))
	return err
}
