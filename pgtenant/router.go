package pgtenant

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/tenant"
)

// ErrRoute is wrapped by the error a [Router] returns when it cannot say
// which database holds the tenant's data: the route failed or named none.
// The transaction is then not begun anywhere; a Router never falls back to
// another database.
var ErrRoute = errors.New("pgtenant: no database for the tenant")

// RouteFunc returns the DB that holds tenant t's data.
type RouteFunc func(ctx context.Context, t tenant.Tenant) (*DB, error)

// Router begins each tenant transaction on the DB of the context's tenant:
// the bridge model, where pooled tenants share one database and siloed
// tenants have their own. Every DB applies row-level security as a DB
// does, so a silo database can use the same schema and policies.
type Router struct {
	route RouteFunc
}

// NewRouter returns a Router over route. [PlacementRoute] builds one from
// the tenants' isolation placements.
func NewRouter(route RouteFunc) (*Router, error) {
	if route == nil {
		return nil, fmt.Errorf("%w: NewRouter: a nil RouteFunc", ErrInvalidOption)
	}
	return &Router{route: route}, nil
}

// DB returns the DB of the context's tenant, or an error wrapping
// [tenant.ErrNoTenant] or [ErrRoute].
func (r *Router) DB(ctx context.Context) (*DB, error) {
	t, ok := tenant.FromContext(ctx)
	if !ok || t.IsZero() {
		return nil, fmt.Errorf("pgtenant: %w", tenant.ErrNoTenant)
	}
	db, err := r.route(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRoute, err)
	}
	if db == nil {
		return nil, fmt.Errorf("%w: the route named none for tenant %s", ErrRoute, t.ID())
	}
	return db, nil
}

// BeginTx begins a tenant transaction ([DB.BeginTx]) on the tenant's DB.
func (r *Router) BeginTx(ctx context.Context, txOptions pgx.TxOptions) (pgx.Tx, error) {
	db, err := r.DB(ctx)
	if err != nil {
		return nil, err
	}
	return db.BeginTx(ctx, txOptions)
}

// BeginFunc runs fn in a tenant transaction ([DB.BeginFunc]) on the
// tenant's DB.
func (r *Router) BeginFunc(ctx context.Context, fn func(pgx.Tx) error) error {
	return r.BeginTxFunc(ctx, pgx.TxOptions{}, fn)
}

// BeginTxFunc runs fn in a tenant transaction ([DB.BeginTxFunc]) on the
// tenant's DB.
func (r *Router) BeginTxFunc(ctx context.Context, txOptions pgx.TxOptions, fn func(pgx.Tx) error) error {
	db, err := r.DB(ctx)
	if err != nil {
		return err
	}
	return db.BeginTxFunc(ctx, txOptions, fn)
}

// PlacementRoute routes by the tenant's placement from res: a tenant
// whose Table resource is siloed (Binding.Model Silo, as in the silo
// model or a bridge that silos the table) goes to silo(ctx, placement),
// every other tenant to pooled. The relational data thus follows the
// tenant's table placement. silo typically looks up, or opens and keeps,
// a pool for the tenant's own database; it must not return pooled for a
// silo tenant unless that is meant.
func PlacementRoute(res isolation.Resolver, pooled *DB, silo func(ctx context.Context, p isolation.Placement) (*DB, error)) RouteFunc {
	return func(ctx context.Context, t tenant.Tenant) (*DB, error) {
		if res == nil {
			return nil, errors.New("no placement resolver")
		}
		p, err := res.Resolve(ctx, t)
		if err != nil {
			return nil, err
		}
		if p.TenantID != t.ID() {
			return nil, fmt.Errorf("the placement is tenant %s's, not %s's", p.TenantID, t.ID())
		}
		if p.Table.Model == isolation.Silo {
			if silo == nil {
				return nil, fmt.Errorf("tenant %s is siloed and there is no silo route", t.ID())
			}
			return silo(ctx, p)
		}
		return pooled, nil
	}
}
