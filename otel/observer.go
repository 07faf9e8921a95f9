package orymfaotel

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/orymfa/orymfa/core"
)

// ScopeName is the instrumentation scope of the tracer and meter: this module's path.
const ScopeName = "github.com/orymfa/orymfa/otel"

// Span names.
const (
	checkSpan  = "orymfa.check"
	whoamiSpan = "orymfa.whoami"
)

// Attribute keys of this package (see the package documentation for their values).
const (
	keyOutcome     = attribute.Key("orymfa.outcome")
	keyRequirement = attribute.Key("orymfa.requirement")
	keyAAL         = attribute.Key("orymfa.aal")
	keyCached      = attribute.Key("orymfa.cached")
	keyFromContext = attribute.Key("orymfa.from_context")
	keyWaiters     = attribute.Key("orymfa.whoami.waiters")
	keyCacheResult = attribute.Key("orymfa.cache.result")
)

// error.type values for whoami calls that got no usable answer (besides Ory's status code
// as a string when it answered with an error).
const (
	errTimeout     = "timeout"           // the verifier's timeout or the request's deadline passed
	errUnreachable = "unreachable"       // no answer: connection refused or reset, DNS, TLS
	errCanceled    = "canceled"          // every request waiting on the call went away
	errMalformed   = "malformed_session" // 200 with a body that is not a usable session
)

// whoamiBuckets are the bucket bounds of orymfa.whoami.duration, in seconds: the semantic
// conventions' HTTP duration buckets, with 1 ms and 2.5 ms in front because a Kratos next
// to the app answers in about a millisecond.
var whoamiBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Option configures [NewObserver].
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider makes the observer start its spans with tp instead of the global
// TracerProvider (otel.GetTracerProvider). A nil tp keeps the global one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	}
}

// WithMeterProvider makes the observer record its metrics with mp instead of the global
// MeterProvider (otel.GetMeterProvider). A nil mp keeps the global one.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	}
}

// How many outcomes and requirements the core knows today; a newer one is recorded through
// the slow path.
const (
	numOutcomes     = int(core.Unavailable) + 1
	numRequirements = int(core.RequireAAL2) + 1
)

// Observer implements [core.Observer] with OpenTelemetry: a span for every guard check and
// every whoami call, and the metrics listed in the package documentation. Build it with
// [NewObserver] and set it as core.Config.Observer. It is safe for concurrent use.
type Observer struct {
	tracer      trace.Tracer
	checkStart  []trace.SpanStartOption
	whoamiStart []trace.SpanStartOption

	decisions      metric.Int64Counter
	whoamiDuration metric.Float64Histogram
	whoamiActive   metric.Int64UpDownCounter
	cacheLookups   metric.Int64Counter
	cacheEvictions metric.Int64Counter

	// Precomputed measurement options, so that recording allocates nothing for the
	// combinations that occur.
	decisionOpts [numOutcomes][numRequirements][]metric.AddOption // by outcome, requirement
	hitOpts      []metric.AddOption
	missOpts     []metric.AddOption
	whoamiOpts   map[whoamiKey][]metric.RecordOption // the common answers, read-only
	whoamiMore   sync.Map                            // whoamiKey → []metric.RecordOption, the rest

	// The attributes of orymfa.check spans, by outcome, requirement, cached, from context and
	// AAL (none, aal1, aal2), built on first use.
	checkAttrs [numOutcomes * numRequirements * 2 * 2 * 3]atomic.Pointer[[]attribute.KeyValue]
}

// whoamiKey is what the whoami duration is recorded by: Ory's status (0: no answer) and the
// error.type ("" when Ory gave a usable answer).
type whoamiKey struct {
	status  int
	errType string
}

var _ core.Observer = (*Observer)(nil)

// NewObserver returns an observer that records to the global TracerProvider and
// MeterProvider, or to those given with [WithTracerProvider] and [WithMeterProvider]. Its
// instruments are created here, once; an error creating one (only a custom MeterProvider
// can cause it) goes to otel.Handle and leaves that instrument a no-op.
func NewObserver(opts ...Option) *Observer {
	var c config
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	o := &Observer{
		tracer: c.tp.Tracer(ScopeName,
			trace.WithInstrumentationVersion(version()),
			trace.WithSchemaURL(semconv.SchemaURL)),
		checkStart:  []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)},
		whoamiStart: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)},
	}
	meter := c.mp.Meter(ScopeName,
		metric.WithInstrumentationVersion(version()),
		metric.WithSchemaURL(semconv.SchemaURL))
	noop := metricnoop.Meter{}

	var err error
	if o.decisions, err = meter.Int64Counter("orymfa.decisions",
		metric.WithUnit("{decision}"),
		metric.WithDescription("Decisions of orymfa guards, by outcome and route requirement.")); err != nil || o.decisions == nil {
		o.decisions, _ = noop.Int64Counter("")
		handle(err)
	}
	if o.whoamiDuration, err = meter.Float64Histogram("orymfa.whoami.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of the calls to Ory's whoami (one per call shared by concurrent requests)."),
		metric.WithExplicitBucketBoundaries(whoamiBuckets...)); err != nil || o.whoamiDuration == nil {
		o.whoamiDuration, _ = noop.Float64Histogram("")
		handle(err)
	}
	if o.whoamiActive, err = meter.Int64UpDownCounter("orymfa.whoami.active",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls to Ory's whoami in flight.")); err != nil || o.whoamiActive == nil {
		o.whoamiActive, _ = noop.Int64UpDownCounter("")
		handle(err)
	}
	if o.cacheLookups, err = meter.Int64Counter("orymfa.cache.lookups",
		metric.WithUnit("{lookup}"),
		metric.WithDescription("Lookups in the session cache, by result (hit or miss).")); err != nil || o.cacheLookups == nil {
		o.cacheLookups, _ = noop.Int64Counter("")
		handle(err)
	}
	if o.cacheEvictions, err = meter.Int64Counter("orymfa.cache.evictions",
		metric.WithUnit("{session}"),
		metric.WithDescription("Sessions that left the session cache (expired, or evicted when full).")); err != nil || o.cacheEvictions == nil {
		o.cacheEvictions, _ = noop.Int64Counter("")
		handle(err)
	}

	for out := range numOutcomes {
		for r := range numRequirements {
			set := attribute.NewSet(keyOutcome.String(core.Outcome(out).String()), keyRequirement.String(core.Requirement(r).String()))
			o.decisionOpts[out][r] = []metric.AddOption{metric.WithAttributeSet(set)}
		}
	}
	o.hitOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyCacheResult.String("hit")))}
	o.missOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyCacheResult.String("miss")))}
	o.whoamiOpts = map[whoamiKey][]metric.RecordOption{}
	for _, k := range []whoamiKey{
		{http.StatusOK, ""},
		{http.StatusUnauthorized, ""},
		{http.StatusForbidden, ""},
		{0, errUnreachable},
		{0, errTimeout},
		{0, errCanceled},
		{http.StatusOK, errMalformed},
	} {
		o.whoamiOpts[k] = whoamiRecordOpts(k)
	}
	return o
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// version is this module's version as the binary's build info records it ("" when unknown).
var version = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if bi.Main.Path == ScopeName { // this module's own tests and examples
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == ScopeName {
			return d.Version
		}
	}
	return ""
})

// StartCheck starts the orymfa.check span, a child of the request's span when ctx has one.
func (o *Observer) StartCheck(ctx context.Context) context.Context {
	ctx, _ = o.tracer.Start(ctx, checkSpan, o.checkStart...)
	return ctx
}

// EndCheck counts the decision and ends the orymfa.check span with its attributes.
func (o *Observer) EndCheck(ctx context.Context, e core.CheckEvent) {
	out, req := int(e.Outcome), int(e.Requirement)
	known := out >= 0 && out < numOutcomes && req >= 0 && req < numRequirements
	if known {
		o.decisions.Add(ctx, 1, o.decisionOpts[out][req]...)
	} else {
		o.decisions.Add(ctx, 1, metric.WithAttributes(
			keyOutcome.String(e.Outcome.String()), keyRequirement.String(e.Requirement.String())))
	}

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		span.End()
		return
	}
	if e.Outcome == core.Unavailable {
		status, reason := http.StatusBadGateway, "Ory is unavailable"
		var ue *core.UnavailableError
		if errors.As(e.Err, &ue) {
			status, reason = ue.Status, ue.Reason
		}
		span.SetAttributes(append(checkAttrs(e), semconv.ErrorTypeKey.String(strconv.Itoa(status)))...)
		span.SetStatus(codes.Error, reason)
	} else if aal := aalIndex(e.AAL); known && aal >= 0 {
		// The attributes of a check take at most 144 combinations: each is built
		// once and then handed to every span that has it (the SDK copies them).
		i := (((out*numRequirements+req)*2+b2i(e.Cached))*2+b2i(e.FromContext))*3 + aal
		p := o.checkAttrs[i].Load()
		if p == nil {
			kv := checkAttrs(e)
			p = &kv
			o.checkAttrs[i].Store(p)
		}
		span.SetAttributes(*p...)
	} else {
		span.SetAttributes(checkAttrs(e)...)
	}
	span.End()
}

// checkAttrs builds the attributes of an orymfa.check span (but error.type).
func checkAttrs(e core.CheckEvent) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 6)
	kv = append(kv, keyOutcome.String(e.Outcome.String()), keyRequirement.String(e.Requirement.String()),
		keyCached.Bool(e.Cached), keyFromContext.Bool(e.FromContext))
	if e.AAL != "" {
		kv = append(kv, keyAAL.String(e.AAL))
	}
	return kv
}

// aalIndex numbers the usual AAL values for the attribute cache: 0 none, 1 aal1, 2 aal2; -1
// for anything else.
func aalIndex(aal string) int {
	switch aal {
	case "":
		return 0
	case "aal1":
		return 1
	case "aal2":
		return 2
	}
	return -1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// StartWhoami counts the call in flight and starts the orymfa.whoami span, a child of the
// orymfa.check span of the request that made the call.
func (o *Observer) StartWhoami(ctx context.Context) context.Context {
	o.whoamiActive.Add(ctx, 1)
	ctx, _ = o.tracer.Start(ctx, whoamiSpan, o.whoamiStart...)
	return ctx
}

// EndWhoami records the call's duration, counts it out, and ends the orymfa.whoami span.
func (o *Observer) EndWhoami(ctx context.Context, e core.WhoamiEvent) {
	o.whoamiActive.Add(ctx, -1)
	k := whoamiKey{status: e.Status, errType: errorType(e)}
	o.whoamiDuration.Record(ctx, e.Duration.Seconds(), o.recordOpts(k)...)

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		span.End()
		return
	}
	attrs := make([]attribute.KeyValue, 0, 3)
	if k.status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(k.status))
	}
	attrs = append(attrs, keyWaiters.Int(e.Waiters))
	if k.errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(k.errType))
		reason := k.errType
		var ue *core.UnavailableError
		if errors.As(e.Err, &ue) {
			reason = ue.Reason
		}
		span.SetStatus(codes.Error, reason)
	}
	span.SetAttributes(attrs...)
	span.End()
}

// CacheLookup counts a lookup in the session cache.
func (o *Observer) CacheLookup(hit bool) {
	if hit {
		o.cacheLookups.Add(context.Background(), 1, o.hitOpts...)
	} else {
		o.cacheLookups.Add(context.Background(), 1, o.missOpts...)
	}
}

// CacheEvicted counts a session that left the cache.
func (o *Observer) CacheEvicted() {
	o.cacheEvictions.Add(context.Background(), 1)
}

// recordOpts returns the measurement options for a whoami call: precomputed for the common
// answers, computed once and kept for the others (their number is bounded by the HTTP status
// codes).
func (o *Observer) recordOpts(k whoamiKey) []metric.RecordOption {
	if opts, ok := o.whoamiOpts[k]; ok {
		return opts
	}
	if opts, ok := o.whoamiMore.Load(k); ok {
		return opts.([]metric.RecordOption)
	}
	opts, _ := o.whoamiMore.LoadOrStore(k, whoamiRecordOpts(k))
	return opts.([]metric.RecordOption)
}

func whoamiRecordOpts(k whoamiKey) []metric.RecordOption {
	var kv []attribute.KeyValue
	if k.status != 0 {
		kv = append(kv, semconv.HTTPResponseStatusCode(k.status))
	}
	if k.errType != "" {
		kv = append(kv, semconv.ErrorTypeKey.String(k.errType))
	}
	return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// errorType classifies a whoami call for error.type: "" when Ory gave a usable answer (a
// session, 401 no session, or 403 session_aal2_required), else why it did not.
func errorType(e core.WhoamiEvent) string {
	switch {
	case e.Err == nil, errors.Is(e.Err, core.ErrNoSession), errors.Is(e.Err, core.ErrAAL2Required):
		return ""
	case errors.Is(e.Err, context.Canceled):
		return errCanceled
	}
	var ue *core.UnavailableError
	isUE := errors.As(e.Err, &ue)
	switch {
	case isUE && ue.Status == http.StatusGatewayTimeout, errors.Is(e.Err, context.DeadlineExceeded):
		return errTimeout
	case e.Status == http.StatusOK:
		return errMalformed
	case e.Status != 0:
		if e.Status >= 100 && e.Status <= 999 {
			return strconv.Itoa(e.Status)
		}
		return semconv.ErrorTypeOther.Value.AsString()
	case isUE && ue.Status == http.StatusServiceUnavailable:
		return errUnreachable
	}
	return semconv.ErrorTypeOther.Value.AsString()
}
