package sqlwire

// strataRels are the strata.* system tables as pg_class shows them.
func strataRels(env string) []catRel { return nil }

func strataObjects() map[string]*catObject { return map[string]*catObject{} }
