// Package kratostest runs a real Ory Kratos for orymfa's tests and drives its self-service
// flows, so the middleware is tested against what Kratos actually answers rather than against
// mocks written from the documentation.
//
// Each call to [Start] launches one Kratos process (about two seconds with `dsn: memory`), so a
// test package should start its projects once in TestMain and share them:
//
//	var codeMFA *kratostest.Project
//
//	func TestMain(m *testing.M) {
//		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
//		p, err := kratostest.Start(ctx, kratostest.CodeMFA)
//		cancel()
//		if err != nil {
//			log.Fatal(err)
//		}
//		codeMFA = p
//		code := m.Run()
//		p.Close()
//		os.Exit(code)
//	}
//
// The Kratos binary comes from $ORYMFA_KRATOS_BIN, or else from scripts/build-kratos.sh, which
// builds Kratos v1.3.1 from Go modules once and caches it.
//
// Two kinds of project cover the two ways a user meets a second factor (see [Kind]):
// [CodeMFA], where every identity already has one (one-time codes by email), and [TOTP], where
// users start without one and enroll in the settings flow.
//
// A [Project] also runs, on loopback:
//   - a courier sink: Kratos delivers its emails over HTTP to the harness, and
//     [Project.WaitForCode] hands the one-time code to the test;
//   - a reverse proxy in front of the public API ([Project.ProxyURL]) that counts whoami calls
//     and records the Cookie header they carried, so tests can prove caching and that the app's
//     other cookies never reach Ory.
//
// Measured against Kratos v1.3.1 (the tests in this package assert each point):
//   - CodeMFA: a session from password registration or login is aal1, and whoami answers 403
//     session_aal2_required for it (Strict). After [Project.StepUpCodeAPI] the same token is aal2.
//   - TOTP: a fresh user's aal1 session gets 200 from whoami. Enrolling TOTP in the settings flow
//     upgrades that same session to aal2 at once.
//   - A JSON browser login of a user with a second factor answers 422
//     browser_location_change_required, with the aal1 session cookie already set.
package kratostest
