package rpcconformance

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/orymfa/orymfa/core"
)

// GatewayHeaderMatcher is the header matcher an app puts in front of its guarded gRPC
// service: grpc-gateway forwards Cookie (as grpcgateway-cookie) and Authorization by default,
// but drops X-Session-Token unless the app passes it on.
func GatewayHeaderMatcher(key string) (string, bool) {
	if strings.EqualFold(key, "X-Session-Token") {
		return "x-session-token", true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// ServeGateway serves a grpc-gateway on 127.0.0.1:0 that maps GET /v1/{Method} to the unary
// methods of the test service on the gRPC server at addr, as generated gateway code does, and
// returns its base URL. opts configure the gateway's mux (e.g. GatewayHeaderMatcher).
func ServeGateway(tb testing.TB, addr string, opts ...runtime.ServeMuxOption) string {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	mux := runtime.NewServeMux(opts...)
	for _, m := range UnaryMethods {
		method, pattern := "/"+Service+"/"+m, "/v1/"+m
		err := mux.HandlePath(http.MethodGet, pattern, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
			_, outbound := runtime.MarshalerForRequest(mux, r)
			ctx, err := runtime.AnnotateContext(r.Context(), mux, r, method, runtime.WithHTTPPathPattern(pattern))
			if err != nil {
				runtime.HTTPError(r.Context(), mux, outbound, w, r, err)
				return
			}
			var (
				out wrapperspb.StringValue
				md  runtime.ServerMetadata
			)
			err = conn.Invoke(ctx, method, wrapperspb.String("hi"), &out, grpc.Header(&md.HeaderMD), grpc.Trailer(&md.TrailerMD))
			ctx = runtime.NewServerMetadataContext(ctx, md) // the gateway forwards header metadata as Grpc-Metadata-*
			if err != nil {
				runtime.HTTPError(ctx, mux, outbound, w, r, err)
				return
			}
			runtime.ForwardResponseMessage(ctx, mux, outbound, w, r, &out)
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// gatewayGet calls GET /v1/{m} on the gateway. It returns the HTTP status and the Result
// decoded from the JSON (a google.rpc.Status with its details on a denial, the StringValue
// otherwise), with the challenge from the Grpc-Metadata-Www-Authenticate header.
func gatewayGet(t *testing.T, base, m string, h http.Header) (int, Result) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, base+"/v1/"+m, nil)
	must(t, err)
	req.Header = h
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	must(t, err)
	r := Result{Challenge: res.Header.Get("Grpc-Metadata-Www-Authenticate")}
	if res.StatusCode != http.StatusOK {
		var st spb.Status
		if err := protojson.Unmarshal(body, &st); err != nil {
			t.Fatalf("%d %s: %v", res.StatusCode, body, err)
		}
		r.Code, r.Message = uint32(st.GetCode()), st.GetMessage()
		var ds []proto.Message
		for _, a := range st.GetDetails() {
			m, err := a.UnmarshalNew()
			must(t, err)
			ds = append(ds, m)
		}
		r.details(ds)
		return res.StatusCode, r
	}
	var value string
	must(t, json.Unmarshal(body, &value))
	r.reply(t, value)
	return res.StatusCode, r
}

// RunGateway puts a grpc-gateway in front of the grpc module's interceptors and calls it as a
// browser would (its Cookie header, the Ory session cookie among the app's own) and as an API
// client (Authorization, and X-Session-Token, which only GatewayHeaderMatcher passes on): the
// guard sees the credentials, only the Ory cookie goes to Ory, and a denial reaches the HTTP
// client as the gateway's status JSON with the same ErrorInfo.
func RunGateway(t *testing.T) {
	for _, backend := range []string{"kratos", "kit"} {
		if backend == "kratos" && testing.Short() {
			continue
		}
		t.Run(backend, func(t *testing.T) {
			o, other := backends(t, backend, codeMFA)
			var base, plain string // with GatewayHeaderMatcher, and grpc-gateway's defaults
			gateway := Transport{Name: "grpc-gateway", HeaderChallenge: true, Serve: func(tb testing.TB, app App) Client {
				addr := ServeGRPC(tb, app)
				base = ServeGateway(tb, addr, runtime.WithIncomingHeaderMatcher(GatewayHeaderMatcher))
				plain = ServeGateway(tb, addr)
				return nil // the calls below go through the gateways over HTTP
			}}
			e := newEnv(t, gateway, o, other, core.Config{})

			status, r := gatewayGet(t, base, "AAL2", http.Header{"Cookie": {"theme=dark"}})
			if status != http.StatusUnauthorized {
				t.Fatalf("no session through the gateway: HTTP %d", status)
			}
			e.denied(r, codes.Unauthenticated, "SESSION_INACTIVE", flowURL(o.url(), "login", ""), challengeLogin, false)

			u := o.signUp(t) // aal1, with a second factor
			status, r = gatewayGet(t, base, "AAL2", http.Header{"X-Session-Token": {u.token}})
			if status != http.StatusForbidden {
				t.Fatalf("aal1 through the gateway: HTTP %d", status)
			}
			e.denied(r, codes.PermissionDenied, "SESSION_AAL2_REQUIRED", flowURL(o.url(), "login", "aal=aal2"), challengeAAL2, false)
			// Without the header matcher grpc-gateway drops X-Session-Token: no session at all.
			if status, r = gatewayGet(t, plain, "AAL2", http.Header{"X-Session-Token": {u.token}}); status != http.StatusUnauthorized {
				t.Fatalf("a token through the default gateway: HTTP %d", status)
			}
			e.denied(r, codes.Unauthenticated, "SESSION_INACTIVE", flowURL(o.url(), "login", ""), challengeLogin, false)
			// Authorization is forwarded by default.
			if status, r = gatewayGet(t, plain, "AAL2", http.Header{"Authorization": {"Bearer " + u.token}}); status != http.StatusForbidden {
				t.Fatalf("a bearer token through the default gateway: HTTP %d", status)
			}
			e.denied(r, codes.PermissionDenied, "SESSION_AAL2_REQUIRED", flowURL(o.url(), "login", "aal=aal2"), challengeAAL2, false)

			c, id := o.browserCookie(t)
			status, r = gatewayGet(t, base, "AAL2", http.Header{"Cookie": {"theme=dark; " + c + "; app_csrf=secret"}})
			if status != http.StatusOK {
				t.Fatalf("aal2 browser through the gateway: HTTP %d %+v", status, r)
			}
			e.allowed(r, 1, id, "aal2")
			if got := e.whoami.lastCookie(); got != c {
				t.Fatalf("Ory received Cookie %q, want only %q", got, c)
			}
		})
	}
}
