package sqlwire

// AfterBind is an option that calls f with a statement's SQL after the statement bound its lake tables and
// before the engine runs it, so that a test can interleave sessions (and writes) exactly there.
func AfterBind(f func(sql string)) func(*Options) {
	return func(o *Options) { o.afterBind = f }
}

// OnCatalogBuild is an option that calls f whenever a catalog statement builds a catalog database: the
// long-lived one of its key (pooled true: no pooled database had the key) or a fresh one with just the objects
// it names (pooled false).
func OnCatalogBuild(f func(pooled bool)) func(*Options) {
	return func(o *Options) { o.onCatalogBuild = f }
}

// OnCatalogRekey is an option that calls f whenever a catalog statement updated the pooled catalog database of
// its session's previous key in place instead of building one for its key.
func OnCatalogRekey(f func()) func(*Options) {
	return func(o *Options) { o.onCatalogRekey = f }
}
