// Package orymfa protects gRPC services (google.golang.org/grpc) with Ory sessions and step-up
// authentication.
//
//	import orymfa "github.com/orymfa/orymfa/grpc"
//
//	rules := []orymfa.Rule{
//		orymfa.ForMethods(orymfa.RequireSession(), "/bank.v1.Bank/"),
//		orymfa.ForMethods(orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), "/bank.v1.Bank/Transfer"),
//	}
//	s := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(orymfa.UnaryServerInterceptor(rules...)),
//		grpc.ChainStreamInterceptor(orymfa.StreamServerInterceptor(rules...)),
//	)
//
// A [Rule] is a guard ([RequireSession] or [RequireAAL2]) and, with [ForMethods], the methods
// it applies to: a full method ("/pkg.Service/Method") or a whole service ("/pkg.Service/").
// A rule without ForMethods applies to every method. Every rule that matches a call applies,
// in order, as stacked HTTP guards do, and Ory is asked at most once per call; a method no
// rule matches is public. A streaming call is checked before its handler runs.
//
// The credentials are read from the incoming metadata: "authorization" (Bearer <session
// token>), "x-session-token", "cookie" and "grpcgateway-cookie" (grpc-gateway's name for a
// browser's Cookie header). Of the cookies only the Ory session cookie is sent to Ory.
//
// A denial is a status error with a google.rpc.ErrorInfo (domain [Domain]) whose reason and
// metadata tell a client what to do, and a google.rpc.Help link to the browser flow:
//
//	no or invalid session              Unauthenticated    SESSION_INACTIVE
//	second factor needed (or none yet) PermissionDenied   SESSION_AAL2_REQUIRED (setupSecondFactor "true" when none yet)
//	second factor too old (WithMaxAge) PermissionDenied   SESSION_REFRESH_REQUIRED
//	Ory down, slow, failing            Unavailable        ORY_UNAVAILABLE, with a google.rpc.RetryInfo
//
// The ErrorInfo metadata carries redirectBrowserTo (the Ory flow that resolves the denial)
// and wwwAuthenticate (the RFC 9470 challenge, also sent as the www-authenticate header).
// Denials are always API answers: a gRPC call cannot be redirected.
//
// The verified session is in the handler's context: [SessionFromContext]. Rules read
// ORY_SDK_URL unless given [WithVerifier], and panic at setup when it is missing.
//
// This package re-exports what its users need from package core ([Config], [New], the
// outcomes and errors), so one import covers the configured case too.
package orymfa

//go:generate go run -C ../internal ./exports/genexports grpc
