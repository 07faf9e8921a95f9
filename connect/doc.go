// Package orymfa protects Connect services (connectrpc.com/connect) with Ory sessions and
// step-up authentication, for the Connect, gRPC and gRPC-Web protocols alike.
//
//	import orymfa "github.com/orymfa/orymfa/connect"
//
//	guard := orymfa.Interceptor(
//		orymfa.ForProcedures(orymfa.RequireSession(), "/bank.v1.Bank/"),
//		orymfa.ForProcedures(orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), "/bank.v1.Bank/Transfer"),
//	)
//	path, handler := bankv1connect.NewBankHandler(bank, connect.WithInterceptors(guard))
//
// A [Rule] is a guard ([RequireSession] or [RequireAAL2]) and, with [ForProcedures], the
// procedures it applies to: a full procedure ("/pkg.Service/Method") or a whole service
// ("/pkg.Service/"). A rule without ForProcedures applies to every procedure. Every rule that
// matches a call applies, in order, as stacked HTTP guards do, and Ory is asked at most once
// per call; a procedure no rule matches is public. Unary and streaming handlers are checked
// before they run; the interceptor does nothing on the client side.
//
// The credentials are read from the request headers: Authorization (Bearer <session token>),
// X-Session-Token, Cookie and Grpcgateway-Cookie. Of the cookies only the Ory session cookie
// is sent to Ory, so a connect-web client in the browser is recognised by its Ory cookie.
//
// A denial is a *connect.Error with a google.rpc.ErrorInfo (domain [Domain]) whose reason and
// metadata tell a client what to do, and a google.rpc.Help link to the browser flow:
//
//	no or invalid session              Unauthenticated    SESSION_INACTIVE
//	second factor needed (or none yet) PermissionDenied   SESSION_AAL2_REQUIRED (setupSecondFactor "true" when none yet)
//	second factor too old (WithMaxAge) PermissionDenied   SESSION_REFRESH_REQUIRED
//	Ory down, slow, failing            Unavailable        ORY_UNAVAILABLE, with a google.rpc.RetryInfo
//
// The ErrorInfo metadata carries redirectBrowserTo (the Ory flow that resolves the denial)
// and wwwAuthenticate (the RFC 9470 challenge; it is also the error's WWW-Authenticate
// metadata, a real header for the Connect protocol, but a trailer Go's HTTP/2 server drops for
// gRPC). Denials are always API answers.
//
// The verified session is in the handler's context: [SessionFromContext]. Rules read
// ORY_SDK_URL unless given [WithVerifier], and panic at setup when it is missing.
//
// This package re-exports what its users need from package core ([Config], [New], the
// outcomes and errors), so one import covers the configured case too.
package orymfa

//go:generate go run -C ../internal ./exports/genexports connect
