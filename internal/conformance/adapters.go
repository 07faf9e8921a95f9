package conformance

// Adapters is the registry of frameworks: every adapter the repository ships, in table order.
// It is the one place that knows how to serve an app on each framework; the conformance
// table, the otel tests and the benchmarks all take their apps from here.
var Adapters = []Adapter{
	{Name: "nethttp", Serve: serveNetHTTP},
	{Name: "chi", Serve: serveChi},
	{Name: "gin", Serve: serveGin},
	// echo's default HTTPErrorHandler re-encodes the API denials' JSON (the same values).
	{Name: "echo", Serve: serveEcho, ReencodesJSON: true},
	{Name: "echov5", Serve: serveEchoV5, ReencodesJSON: true},
	{Name: "fiber", Serve: serveFiber},
	{Name: "fiberv3", Serve: serveFiberV3},
}

// AdapterNamed returns the registered adapter of that name.
func AdapterNamed(name string) (Adapter, bool) {
	for _, a := range Adapters {
		if a.Name == name {
			return a, true
		}
	}
	return Adapter{}, false
}
