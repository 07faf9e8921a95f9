// Command demo runs one orymfa example app together with everything it needs, so a person can
// click through registration, a protected page and the step-up to a second factor:
//
//   - Ory Kratos (in-memory database) on 127.0.0.1:4433 (public) and 127.0.0.1:4434 (admin),
//     with passwords, one-time codes by email as second factor, TOTP and backup codes;
//   - a minimal self-service UI for Kratos's browser flows under /ui/ and a dev mailbox
//     (/ui/mailbox) that shows the emails Kratos sends, codes included (they are printed to
//     the terminal too);
//   - the chosen example app (examples/<framework>), reached at http://127.0.0.1:4455/.
//
// The UI and the app share one origin: the demo serves /ui/ itself and forwards every other
// request to the example, which runs as its own process on a free loopback port, exactly as a
// reader would run it (ORY_SDK_URL and ADDR set).
//
// Run it with scripts/demo.sh [nethttp|chi|gin|echo|fiber]. Ctrl-C stops everything.
package main
