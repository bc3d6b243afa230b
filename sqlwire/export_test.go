package sqlwire

// AfterBind is an option that calls f with a statement's SQL after the statement bound its lake tables and
// before the engine runs it, so that a test can interleave sessions (and writes) exactly there.
func AfterBind(f func(sql string)) func(*Options) {
	return func(o *Options) { o.afterBind = f }
}
