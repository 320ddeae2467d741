package omemo

import (
	"context"
	"database/sql"
	"errors"

	"xchat/store"
)

// stmtCache hands out each statement once per transaction, bound to the
// transaction from a statement prepared once on the database (database/sql
// keeps it prepared per connection). SQLite's parser would otherwise
// dominate the cost of the many small statements libsignal's store calls
// make, several per device and message.
type stmtCache struct {
	tx    *sql.Tx
	db    *dbStmts
	stmts map[string]*sql.Stmt
}

// dbStmts are the statements prepared on the database, by query.
type dbStmts struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt
}

func (d *dbStmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := d.stmts[query]; ok {
		return st, nil
	}
	st, err := d.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	d.stmts[query] = st
	return st, nil
}

type stmtCacheKey struct{}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	dst, err := c.db.get(ctx, query)
	if err != nil {
		return nil, err
	}
	st := c.tx.StmtContext(ctx, dst)
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	for _, st := range c.stmts {
		st.Close()
	}
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return c.tx.QueryRowContext(ctx, query, args...) // reports the error
	}
	return st.QueryRowContext(ctx, args...)
}

// q returns what statements should run on: the cached statements of the
// transaction in ctx, the bare transaction, or the database.
func (s *sigStore) q(ctx context.Context) store.Querier {
	q := s.st.Q(ctx)
	if c, ok := ctx.Value(stmtCacheKey{}).(*stmtCache); ok {
		if tx, ok := q.(*sql.Tx); ok && tx == c.tx {
			return c
		}
	}
	return q
}

// withTx runs fn in a transaction of the store (nested in the one in ctx,
// if any) with a statement cache for it, and maintains the session record
// cache: records stored by a failed fn are forgotten at once (a savepoint
// rolled them back), the others are cached when the outermost withTx
// commits its own transaction.
func (m *Manager) withTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	s := m.s
	if s.depth == 0 {
		_, s.inCaller = m.st.Q(ctx).(*sql.Tx)
	}
	s.depth++
	defer func() {
		s.depth--
		if err != nil {
			clear(s.pending)
		}
		if s.depth == 0 {
			s.finish(err == nil && !s.inCaller)
		}
	}()
	return m.st.WithTx(ctx, func(ctx context.Context) error {
		tx, ok := m.st.Q(ctx).(*sql.Tx)
		if !ok {
			return errors.New("omemo: no transaction in context")
		}
		if c, ok := ctx.Value(stmtCacheKey{}).(*stmtCache); ok && c.tx == tx {
			return fn(ctx)
		}
		c := &stmtCache{tx: tx, db: &m.stmts, stmts: map[string]*sql.Stmt{}}
		defer c.close()
		return fn(context.WithValue(ctx, stmtCacheKey{}, c))
	})
}
