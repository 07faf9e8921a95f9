package rpcconformance

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	ory "github.com/ory/client-go"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/orymfa/orymfa/core"
)

// The test service's names. Every method takes and returns a wrapperspb.StringValue; Watch is
// a server stream that sends two replies.
const (
	Service = "orymfa.test.v1.Test"
	// Admin is a second service that a rule covers as a whole ("/orymfa.test.v1.Admin/").
	Admin = "orymfa.test.v1.Admin"

	Public       = "/" + Service + "/Public"       // no rule
	Session      = "/" + Service + "/Session"      // RequireSession
	AAL2         = "/" + Service + "/AAL2"         // RequireAAL2
	Fresh        = "/" + Service + "/Fresh"        // RequireAAL2 with WithMaxAge(MaxAge)
	Watch        = "/" + Service + "/Watch"        // RequireAAL2, a server stream
	StackedAAL2  = "/" + Service + "/StackedAAL2"  // RequireSession, then RequireAAL2
	StackedFresh = "/" + Service + "/StackedFresh" // RequireSession, then RequireAAL2 with WithMaxAge
	Two          = "/" + Service + "/Two"          // RequireSession, then RequireAAL2 of another Ory project
	AdminPing    = "/" + Admin + "/Ping"           // RequireSession on the whole Admin service
)

// UnaryMethods are the unary methods of Service, by short name; AdminPing is Admin's one.
var UnaryMethods = []string{"Public", "Session", "AAL2", "Fresh", "StackedAAL2", "StackedFresh", "Two"}

// RuleSpec is one rule of the table, adapter-neutral: the requirement, its options and the
// methods it applies to. Each transport builds it with its adapter's constructors
// (ForMethods or ForProcedures).
type RuleSpec struct {
	Require  core.Requirement
	Verifier *core.Verifier
	MaxAge   time.Duration // WithMaxAge when not 0
	Methods  []string
}

// App is what a transport serves: the rules, in order, and the handler every method runs.
type App struct {
	Rules []RuleSpec
	// Handle is called by every method with the session from the adapter's accessor
	// (SessionFromContext) and from core.SessionFromContext of the handler's context; its
	// answer is the reply's value.
	Handle func(fromAccessor, fromContext *ory.Session) string
}

// NewApp returns the table's App: the rules above, with v for the project under test and
// other for Two's inner rule; ran counts the handler's runs.
func NewApp(v, other *core.Verifier, ran *atomic.Int64) App {
	return App{
		Rules: []RuleSpec{
			{Require: core.RequireSession, Verifier: v, Methods: []string{Session, StackedAAL2, StackedFresh, Two, "/" + Admin + "/"}},
			{Require: core.RequireAAL2, Verifier: v, Methods: []string{AAL2, Watch, StackedAAL2}},
			{Require: core.RequireAAL2, Verifier: v, MaxAge: MaxAge, Methods: []string{Fresh, StackedFresh}},
			{Require: core.RequireAAL2, Verifier: other, Methods: []string{Two}},
		},
		Handle: func(fromAccessor, fromContext *ory.Session) string {
			ran.Add(1)
			r := Reply{Handler: "ran"}
			if fromAccessor != nil {
				r.IdentityID = fromAccessor.Identity.Id
				r.AAL = string(fromAccessor.GetAuthenticatorAssuranceLevel())
				r.SameContext = fromContext == fromAccessor
			}
			b, _ := json.Marshal(r)
			return string(b)
		},
	}
}

// MaxAge is the table's WithMaxAge.
const MaxAge = 5 * time.Minute

// Reply is what the handler answers, so the table can see who the handler saw.
type Reply struct {
	Handler     string `json:"handler"`
	IdentityID  string `json:"identity_id"`
	AAL         string `json:"aal"`
	SameContext bool   `json:"same_context"`
}

// Respond is the handler body every transport's methods share: the reply as a StringValue.
func Respond(ctx context.Context, app App, fromAccessor *ory.Session) *wrapperspb.StringValue {
	fromContext, _ := core.SessionFromContext(ctx)
	return wrapperspb.String(app.Handle(fromAccessor, fromContext))
}
