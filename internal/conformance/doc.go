// Package conformance is the one scenario table every adapter (nethttp, chi, gin, echo, fiber)
// runs against a real Ory Kratos, in the spirit of rs/cors's TestSpec and testing/fstest.TestFS:
// an adapter supplies only "serve an app with these guards"; the requests, the users, the
// step-ups and the assertions live here once.
//
// Use it from an adapter's tests:
//
//	func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Adapter{Name: "gin", Serve: serve})
//	}
package conformance
