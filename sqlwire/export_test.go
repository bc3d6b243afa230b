package sqlwire

// AfterBind is an option that calls f with a statement's SQL after the statement bound its lake tables and
// before the engine runs it, so that a test can interleave sessions (and writes) exactly there.
func AfterBind(f func(sql string)) func(*Options) {
	return func(o *Options) { o.afterBind = f }
}

// OnCatalogBuild is an option that calls f whenever a catalog statement builds a new catalog database (its
// key had no pooled database).
func OnCatalogBuild(f func()) func(*Options) {
	return func(o *Options) { o.onCatalogBuild = f }
}
