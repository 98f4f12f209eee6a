package sqlstore

import (
	"context"

	"secureapi/internal/audit"
	"secureapi/internal/auth"
	"secureapi/internal/file"
	"secureapi/internal/mail"
	"secureapi/internal/pat"
	"secureapi/internal/user"
)

// Tx is every domain store bound to one transaction: the one unit of work
// of the service. Each service names the stores it uses in an interface of
// its own (auth.Stores, user.Stores, file.Stores, mail.Stores), which Tx
// implements, and reaches it through a Unit.
type Tx struct{ base }

var (
	_ auth.Stores = (*Tx)(nil)
	_ user.Stores = (*Tx)(nil)
	_ file.Stores = (*Tx)(nil)
	_ mail.Stores = (*Tx)(nil)
)

func (t *Tx) Users() user.Store       { return &Users{t.base} }
func (t *Tx) Credentials() auth.Store { return &Sessions{t.base} }
func (t *Tx) MFA() auth.MFAStore      { return &MFA{t.base} }
func (t *Tx) Files() file.Store       { return &Files{t.base} }
func (t *Tx) Audit() audit.Store      { return &Audit{t.base} }
func (t *Tx) Outbox() mail.Store      { return &Outbox{t.base} }
func (t *Tx) AccessTokens() pat.Store { return &AccessTokens{t.base} }

// Sessions is the session store as the account service sees it (ending an
// account's sessions); the same store auth reaches as Credentials.
func (t *Tx) Sessions() user.SessionRevoker { return &Sessions{t.base} }

// Unit is an engine's unit of work as one service sees it: InTx begins a
// transaction, hands fn every store bound to it (through the service's
// interface S), commits when fn returns nil and rolls back otherwise.
type Unit[S any] struct {
	e    Engine
	view func(*Tx) S
}

// NewUnit returns e's unit of work seen through view, which is normally the
// identity: func(tx *Tx) auth.Stores { return tx }, checked by the compiler.
func NewUnit[S any](e Engine, view func(*Tx) S) Unit[S] { return Unit[S]{e: e, view: view} }

// InTx runs fn in one transaction. fn must use only the stores it is given:
// on SQLite the single writer connection is held until fn returns, so a
// write through any other handle would wait for ever.
func (u Unit[S]) InTx(ctx context.Context, fn func(S) error) error {
	return u.e.InTx(ctx, func(q Querier) error { return fn(u.view(&Tx{base{e: u.e, tx: q}})) })
}
