package orymfatest

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
)

// Flow is one visit to a browser self-service endpoint, as the middleware's redirects make
// them: the login (to sign in, step up with ?aal=aal2, or re-authenticate with
// ?refresh=true) or the settings (to set up a second factor).
type Flow struct {
	// Path is the endpoint visited: /self-service/login/browser or
	// /self-service/settings/browser.
	Path string
	// AAL is the aal query parameter ("aal2" for a step-up, "" otherwise).
	AAL string
	// Refresh reports refresh=true: the user must prove the factors again.
	Refresh bool
	// ReturnTo is the return_to query parameter: where Ory sends the user back afterwards.
	ReturnTo string
	// Query is the whole query, for parameters the fields above do not cover.
	Query url.Values
}

// Flows returns the visits to the browser endpoints so far, oldest first.
func (s *Server) Flows() []Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Flow, len(s.flows))
	for i, f := range s.flows {
		f.Query = cloneValues(f.Query)
		out[i] = f
	}
	return out
}

// serveFlow answers a browser self-service endpoint. Kratos would redirect to the project's
// UI with a flow id; the kit answers 200 with a small page that shows what was asked and links
// back to return_to, so a browser test can follow the middleware's redirect and read it.
func (s *Server) serveFlow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	refresh, _ := strconv.ParseBool(q.Get("refresh"))
	f := Flow{Path: r.URL.Path, AAL: q.Get("aal"), Refresh: refresh, ReturnTo: q.Get("return_to"), Query: q}
	s.mu.Lock()
	s.flows = append(s.flows, Flow{Path: f.Path, AAL: f.AAL, Refresh: f.Refresh, ReturnTo: f.ReturnTo, Query: cloneValues(q)})
	s.mu.Unlock()

	title := "Sign in"
	switch {
	case f.Path == "/self-service/settings/browser":
		title = "Set up a second factor"
	case f.Refresh:
		title = "Confirm it is you"
	case f.AAL == "aal2":
		title = "Prove your second factor"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	_ = flowPage.Execute(w, struct {
		Title string
		Flow
	}{title, f})
}

// flowPage escapes everything it shows; html/template also refuses a javascript: return_to in
// the link.
var flowPage = template.Must(template.New("flow").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>orymfatest: {{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
<p>This page stands in for the Ory UI ({{.Path}}).</p>
<dl>
<dt>aal</dt><dd id="aal">{{.AAL}}</dd>
<dt>refresh</dt><dd id="refresh">{{.Refresh}}</dd>
<dt>return_to</dt><dd id="return_to">{{.ReturnTo}}</dd>
</dl>
{{if .ReturnTo}}<p><a id="return" href="{{.ReturnTo}}">Back to the app</a></p>{{end}}
</body>
</html>
`))

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
