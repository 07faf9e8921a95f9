// Package page renders the HTML pages of the example apps (nethttp, chi, gin, echo, echov5,
// fiber, fiberv3), so that each app's main.go holds only its routes, its framework and orymfa.
//
// Every page has the same header: who is signed in, with the session's AAL and a logout link,
// or "Signed out" with a sign-in link. On a guarded page the app hands [Site.Render] the
// session the guard verified; on the public home page it hands nil, and the page asks Ory
// itself who the Ory session cookie belongs to. The sign-in and settings links go to Ory's
// self-service pages, or to the demo's login UI when the demo runs the app (ORYMFA_DEMO=1).
//
// The page is the examples' look, not part of orymfa: an app of your own renders its own.
package page
