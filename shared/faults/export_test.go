package faults

// Match counts a call to method and reports whether the plan fails it (for the tests).
func (p *Plan) Match(method string) bool { return p.match(method) != nil }
