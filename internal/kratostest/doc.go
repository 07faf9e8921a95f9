// Package kratostest runs a real Ory Kratos for orymfa's tests and drives its self-service
// flows, so the middleware is tested against what Kratos actually answers rather than against
// mocks written from the documentation.
//
// Each call to [Start] launches one Kratos process (one to two seconds with `dsn: memory`), so a
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
// builds Kratos v1.3.1 from Go modules once and caches it. On Linux, Kratos dies with the test
// binary even when that is killed before Close runs ([DieWithParent]).
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
// Measured against Kratos v1.3.1 (the tests in this package assert each point unless noted):
//   - No or an invalid credential: whoami 401, and the body has no error.id.
//   - CodeMFA: a session from password registration or login is aal1 and whoami answers 403
//     session_aal2_required, with redirect_browser_to (and error.details.redirect_browser_to) set
//     to {public}/self-service/login/browser?aal=aal2 without return_to, and no Ory-Error-Id
//     header (checked by hand). After [Project.StepUpCodeAPI] the same token is aal2.
//   - TOTP: a fresh user's aal1 session gets 200 aal1 from Strict whoami. Enrolling TOTP in the
//     settings flow (API or browser) upgrades that same session to aal2 at once. A later
//     password login gets 403 session_aal2_required until the TOTP step-up.
//   - Lax (whoami required_aal aal1): 200 aal1 even when the identity has a second factor.
//   - A JSON browser login of a user with a second factor answers 422
//     browser_location_change_required pointing at the aal2 login, with the aal1 session
//     cookie already set. A user without one gets 200.
//   - ory_kratos_session is a host-only cookie (no Domain) for the public URL's host, Path=/,
//     HttpOnly, SameSite=Lax, not Secure under --dev (checked by hand); its value changes on
//     step-up.
//   - A second ?aal=aal2 login on an aal2 session fails with session_already_available;
//     ?refresh=true&aal=aal2 works and moves authenticated_at forward.
//   - The same TOTP code is accepted again within its 30-second window (step-up, then refresh).
//   - One-time codes reach the courier sink about a second after the request (the courier
//     polls its queue); the login code is template_data.login_code, template login_code_valid
//     (checked by hand).
//   - Kratos exits with status 0 even on a bad config or a port already in use; only its log
//     says why.
package kratostest
