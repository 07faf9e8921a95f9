// Command demo runs one orymfa example app together with everything it needs, so a person can
// click through registration, a protected page and the step-up to a second factor:
//
//   - Ory Kratos (in-memory database) on 127.0.0.1:4433 (public) and 127.0.0.1:4434 (admin),
//     with passwords, one-time codes by email as second factor, TOTP and backup codes;
//   - a minimal self-service UI for Kratos's browser flows under /ui/, whose header names the
//     signed-in user and the session's AAL, and a dev mailbox (/ui/mailbox) that shows the
//     emails Kratos sends, labelled by purpose with the newest sign-in code on top (codes are
//     printed to the terminal too, escaped). Kratos posts each email to a loopback port of the
//     mailbox's own, at a path with a secret drawn for each run; nothing else can deliver one,
//     and the page answers browsers on this machine only;
//   - the chosen example app (examples/<framework>), reached at http://127.0.0.1:4455/.
//
// Everything is on Kratos's host name (127.0.0.1 by default), the one its session cookie is
// for: a request that reaches the demo under another name (localhost) is sent to the demo's
// origin, and -addr on another host than -kratos-public is refused.
//
// The UI and the app share one origin: the demo serves /ui/ itself and forwards every other
// request to the example, which runs as its own process on a free loopback port, exactly as a
// reader would run it (ORY_SDK_URL and ADDR set), plus ORYMFA_DEMO=1, which makes the app's
// header link the demo's login UI, settings and mailbox instead of Ory's own pages.
//
// A reader's own app can use the same Kratos and UI: run it with ORY_SDK_URL set to Kratos's
// public URL and start the demo with -allow-origin and the app's origin (e.g.
// http://127.0.0.1:8080), which Kratos then accepts as return_to.
//
// Run it with scripts/demo.sh [nethttp|chi|gin|echo|echov5|fiber|fiberv3] (-h lists the
// flags). Ctrl-C stops everything.
package main
