// Package exampletest runs the same scenario against every example app (nethttp, chi, gin,
// echo, echov5, fiber, fiberv3), so no example can rot: once against orymfatest, the fake Ory
// ([RunWithKit], seconds, no Kratos), and once against a real Ory Kratos ([Run], skipped with
// -short). Each example's main_test.go calls [Main] from TestMain and both runners from tests,
// passing a function that serves its newApp on loopback.
//
// The scenario: an anonymous browser is sent to Ory's login with return_to; an API client
// without a session gets 401 JSON; the aal1 session of a user with a second factor gets 403
// session_aal2_required as JSON on every guarded route; after the step-up the pages and
// /api/me answer with the identity; every page's header says who is signed in (the public home
// page asks Ory itself); and a cross-origin POST /transfer with a valid aal2 session cookie is
// refused while a same-origin one goes through.
package exampletest
