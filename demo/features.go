package demo

import (
	"context"
	"fmt"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/features"
)

// FeatureDefs are the demo's feature definitions (features/demo.yaml): each user's order count and total spend
// over clean.orders, served online, so a newcomer can ask POST /get-online-features?env=dev for them.
const FeatureDefs = `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
feature_views:
  - name: user_orders
    entities: [user]
    source:
      sql: SELECT user_id, max(ordered_at) AS event_ts, count(*) AS orders, round(sum(amount), 2) AS total FROM clean.orders GROUP BY user_id
    event_time: event_ts
    ttl: 0
    online: true
    description: each user's orders and total spend
    features:
      - {name: orders, type: long, description: orders placed}
      - {name: total, type: double, description: total spend}
`

// LoadFeatures applies FeatureDefs to dev's feature registry and materializes them into features.user_orders,
// whose latest row per user `strata serve` loads into the online store. It does nothing when dev's registry
// holds any definition (the demo's, or the project's own).
func LoadFeatures(ctx context.Context, svc *envs.Service, reg *features.Registry, eng *engine.Engine, actor string) error {
	have, err := reg.List(ctx, "dev")
	if err != nil {
		return fmt.Errorf("demo features: %w", err)
	}
	if len(have) > 0 { // applied already, or the project has its own definitions: those are not replaced
		return nil
	}
	defs, err := features.Parse("features/demo.yaml", []byte(FeatureDefs))
	if err != nil {
		return fmt.Errorf("demo features: %w", err)
	}
	if _, err := reg.Apply(ctx, "dev", defs, actor); err != nil {
		return fmt.Errorf("demo features: apply: %w", err)
	}
	m := &features.Materializer{Registry: reg, Envs: svc, Engine: eng}
	if _, err := m.Materialize(ctx, features.MaterializeRequest{Env: "dev", Views: []string{"user_orders"}, Actor: actor}); err != nil {
		return fmt.Errorf("demo features: materialize: %w", err)
	}
	return nil
}
