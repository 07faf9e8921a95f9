package conformance

// Adapters is the registry of frameworks: every adapter the repository ships, in table order.
// It is the one place that knows how to serve an app on each framework; the conformance
// table, the otel tests and the benchmarks all take their apps from here.
var Adapters = []Adapter{
	{Name: "nethttp", Serve: serveNetHTTP, ZeroConfig: zeroNetHTTP},
	{Name: "chi", Serve: serveChi, ZeroConfig: zeroChi},
	{Name: "gin", Serve: serveGin, ZeroConfig: zeroGin},
	// echo's default HTTPErrorHandler re-encodes the API denials' JSON (the same values).
	{Name: "echo", Serve: serveEcho, ZeroConfig: zeroEcho, ReencodesJSON: true, DeniesWithErrors: true, ErrorHandler: true, Skips: true, WrapsNetHTTP: true},
	{Name: "echov5", Serve: serveEchoV5, ZeroConfig: zeroEchoV5, ReencodesJSON: true, DeniesWithErrors: true, ErrorHandler: true, Skips: true, WrapsNetHTTP: true},
	{Name: "fiber", Serve: serveFiber, ZeroConfig: zeroFiber, FastHTTP: fastHTTPFiber, Skips: true, ErrorHandler: true},
	{Name: "fiberv3", Serve: serveFiberV3, ZeroConfig: zeroFiberV3, FastHTTP: fastHTTPFiberV3, Skips: true, ErrorHandler: true},
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
