package main

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed templates/*.html
var templateFS embed.FS

// ui serves the self-service pages for Kratos's browser flows, generically: each page fetches
// its flow from Kratos (with the browser's cookies, for the CSRF check) and renders the flow's
// UI nodes as plain HTML forms that post straight to Kratos.
type ui struct {
	public  string   // Kratos public URL, e.g. http://127.0.0.1:4433
	app     string   // the demo's origin, e.g. http://127.0.0.1:4455
	origins []string // more origins Kratos accepts in return_to (-allow-origin)
	client  *http.Client
	mail    *mailbox
	pages   map[string]*template.Template
	mux     *http.ServeMux
}

// flowKinds are the browser flows the UI renders, by their path under /self-service/.
var flowKinds = []string{"login", "registration", "settings", "verification", "recovery"}

func newUI(public, app string, origins []string, mail *mailbox) (*ui, error) {
	u := &ui{
		public:  public,
		app:     app,
		origins: origins,
		mail:    mail,
		client: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		pages: map[string]*template.Template{},
	}
	funcs := template.FuncMap{"value": nodeValue, "imgsrc": imgSrc, "since": since}
	for _, name := range []string{"flow", "error", "mailbox"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		u.pages[name] = t
	}
	mux := http.NewServeMux()
	u.mux = mux
	for _, kind := range flowKinds {
		mux.HandleFunc("GET /ui/"+kind, func(w http.ResponseWriter, r *http.Request) { u.flow(w, r, kind) })
	}
	mux.HandleFunc("GET /ui/error", u.error)
	mux.HandleFunc("GET /ui/mailbox", u.mailbox)
	mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/settings", http.StatusSeeOther)
	})
	return u, nil
}

// ServeHTTP serves the pages under /ui/.
func (u *ui) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.mux.ServeHTTP(w, r) }

// Kratos's flow, as far as the UI renders it.
type (
	flow struct {
		ID           string `json:"id"`
		State        string `json:"state"`
		ReturnTo     string `json:"return_to"`
		RequestedAAL string `json:"requested_aal"`
		Refresh      bool   `json:"refresh"`
		UI           struct {
			Action   string    `json:"action"`
			Method   string    `json:"method"`
			Nodes    []node    `json:"nodes"`
			Messages []message `json:"messages"`
		} `json:"ui"`
	}
	node struct {
		Type       string     `json:"type"`
		Group      string     `json:"group"`
		Attributes attributes `json:"attributes"`
		Messages   []message  `json:"messages"`
		Meta       struct {
			Label *message `json:"label"`
		} `json:"meta"`
		// Secondary marks a button beside the one that submits the method ("Resend code"):
		// it looks secondary and skips the browser's check of required fields.
		Secondary bool `json:"-"`
	}
	attributes struct {
		Name         string   `json:"name"`
		Type         string   `json:"type"`
		Value        any      `json:"value"`
		Required     bool     `json:"required"`
		Disabled     bool     `json:"disabled"`
		Autocomplete string   `json:"autocomplete"`
		ID           string   `json:"id"`
		Src          string   `json:"src"`
		Width        int      `json:"width"`
		Height       int      `json:"height"`
		Href         string   `json:"href"`
		Title        *message `json:"title"`
		Text         *message `json:"text"`
	}
	message struct {
		ID      int64          `json:"id"`
		Text    string         `json:"text"`
		Type    string         `json:"type"` // info, error, success
		Context map[string]any `json:"context"`
	}
)

// Label is the text shown for a node.
func (n node) Label() string {
	if n.Meta.Label != nil {
		return n.Meta.Label.Text
	}
	return n.Attributes.Name
}

// Secrets lists the backup codes of a lookup_secret_codes text node.
func (n node) Secrets() []string {
	if n.Attributes.Text == nil {
		return nil
	}
	list, _ := n.Attributes.Text.Context["secrets"].([]any)
	var out []string
	for _, s := range list {
		if m, ok := s.(map[string]any); ok {
			if t, ok := m["text"].(string); ok {
				out = append(out, t)
			}
		}
	}
	return out
}

type form struct {
	Title, Action, Method string
	Nodes                 []node
}

type link struct{ Text, Href string }

// viewer is who the browser is signed in as, shown in the header of every page.
type viewer struct {
	SignedIn  bool
	Email     string
	AAL       string // aal1 (password only) or aal2 (second factor proven)
	LogoutURL string
	Unknown   bool // Kratos did not answer
}

// AALTitle explains the assurance level in the header's tooltip.
func (v viewer) AALTitle() string {
	if v.AAL == "aal2" {
		return "second factor proven"
	}
	return "password only: pages that need a second factor will ask for it"
}

// chrome is what the layout shows on every page.
type chrome struct {
	Title  string
	Viewer viewer
}

func (c *chrome) setViewer(v viewer) { c.Viewer = v }

// page is the data of a template: a chrome and what the page adds.
type page interface{ setViewer(viewer) }

type flowPage struct {
	chrome
	Intro    string
	Kind     string
	Messages []message
	Forms    []form
	Links    []link
	CodeHint bool
	// address is where the step-up flow offers to send a code: the signed-in user's email.
	address string
}

type errorPage struct {
	chrome
	Paragraphs []string
	// ReturnTo, for a return_to Kratos refused, says which origins it accepts and how to add one.
	ReturnTo *returnToHint
}

type returnToHint struct {
	Allowed string // the origins Kratos accepts now
	Origin  string // the refused one
	More    bool   // the demo runs with -allow-origin already
	// Instead is set when the refused URL's host name is not Kratos's (localhost for
	// 127.0.0.1): Kratos's session cookie never reaches that name, so allowing its origin
	// would only turn the error into a redirect loop. Instead is the same URL on Kratos's host
	// name, which the page tells the person to open.
	Instead     string
	KratosHost  string // the host name Kratos sets its cookie for
	RefusedHost string // the refused URL's host name
	// InsteadOrigin is Instead's origin when Kratos does not accept it yet: the demo must be
	// restarted with -allow-origin and it.
	InsteadOrigin string
}

type mailboxPage struct {
	chrome
	Mails []mail
}

// groupTitles name the sections of a flow page.
var groupTitles = map[string]string{
	"password":      "Password",
	"code":          "Code by email",
	"totp":          "Authenticator app (TOTP)",
	"lookup_secret": "Backup codes",
	"profile":       "Profile",
	"webauthn":      "Security key",
	"passkey":       "Passkey",
	"oidc":          "Sign in with…",
}

func (u *ui) flow(w http.ResponseWriter, r *http.Request, kind string) {
	id := r.URL.Query().Get("flow")
	if id == "" {
		// Start a new browser flow; Kratos comes back here with ?flow=…
		target := u.public + "/self-service/" + kind + "/browser"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	var f flow
	status, body, err := u.get(r, "/self-service/"+kind+"/flows?id="+url.QueryEscape(id), &f)
	if err != nil {
		u.fail(w, r, http.StatusBadGateway, "Kratos is not answering", err.Error())
		return
	}
	switch {
	case status == http.StatusOK:
	case status == http.StatusGone || status == http.StatusNotFound:
		// The flow expired or is unknown: start a fresh one.
		http.Redirect(w, r, "/ui/"+kind, http.StatusSeeOther)
		return
	default:
		var e kratosError
		_ = json.Unmarshal(body, &e)
		if e.RedirectBrowserTo != "" {
			http.Redirect(w, r, e.RedirectBrowserTo, http.StatusSeeOther)
			return
		}
		u.fail(w, r, status, "This "+kind+" flow cannot be shown", e.sentences()...)
		return
	}
	p := u.page(r, kind, &f)
	u.render(w, r, http.StatusOK, "flow", &p, p.address)
}

// page turns a flow into sections, one form per method group.
func (u *ui) page(r *http.Request, kind string, f *flow) flowPage {
	p := flowPage{Kind: kind, Messages: f.UI.Messages}
	returnTo := url.Values{}
	if f.ReturnTo != "" {
		returnTo.Set("return_to", f.ReturnTo)
	}
	q := ""
	if len(returnTo) > 0 {
		q = "?" + returnTo.Encode()
	}
	switch kind {
	case "login":
		switch {
		case f.RequestedAAL == "aal2" && f.Refresh:
			p.Title, p.Intro = "Confirm your second factor", "This page needs a second factor proven in the last few minutes. Prove it again to continue."
		case f.RequestedAAL == "aal2":
			p.Title, p.Intro = "Second factor", "This page needs a second factor. Choose how to prove it."
		case f.Refresh:
			p.Title, p.Intro = "Confirm it's you", "Sign in again to continue."
		default:
			p.Title = "Sign in"
			p.Links = append(p.Links, link{"No account yet? Sign up", "/ui/registration" + q}, link{"Forgot your password?", "/ui/recovery" + q})
		}
		if f.RequestedAAL == "aal2" {
			if logout := u.logoutURL(r); logout != "" {
				p.Links = append(p.Links, link{"Not you? Log out", logout})
			}
		}
	case "registration":
		p.Title = "Create an account"
		p.Links = append(p.Links, link{"Already have an account? Sign in", "/ui/login" + q})
	case "settings":
		p.Title, p.Intro = "Account settings", "Add an authenticator app or backup codes as a second factor, or change your password."
		back := "/"
		if f.ReturnTo != "" {
			back = f.ReturnTo
		}
		p.Links = append(p.Links, link{"Back to the app", back})
	case "verification":
		p.Title = "Verify your email address"
		p.Links = append(p.Links, link{"Back to the app", "/"})
	case "recovery":
		p.Title = "Recover your account"
		p.Links = append(p.Links, link{"Sign in", "/ui/login" + q})
	}

	var shared []node // the default group (CSRF token, identifier), part of every form
	var order []string
	groups := map[string][]node{}
	for _, n := range f.UI.Nodes {
		if n.Type == "script" {
			continue // WebAuthn and passkeys need scripts; the demo does not enable them
		}
		if n.Group == "default" {
			shared = append(shared, n)
			continue
		}
		if _, ok := groups[n.Group]; !ok {
			order = append(order, n.Group)
		}
		groups[n.Group] = append(groups[n.Group], n)
		if n.Group == "code" {
			p.CodeHint = true
			if n.Attributes.Name == "address" && p.address == "" && f.RequestedAAL == "aal2" {
				p.address = nodeValue(n.Attributes.Value)
			}
		}
	}
	method := strings.ToUpper(f.UI.Method)
	if method == "" {
		method = http.MethodPost
	}
	for _, g := range order {
		nodes := append(append([]node{}, shared...), groups[g]...)
		// Buttons last, the one that submits the method first, so Enter submits it.
		sort.SliceStable(nodes, func(i, j int) bool { return buttonRank(nodes[i]) < buttonRank(nodes[j]) })
		hasMethod := false
		for i := range nodes {
			if nodes[i].isButton() {
				nodes[i].Secondary = hasMethod && nodes[i].Attributes.Name != "method"
				hasMethod = hasMethod || nodes[i].Attributes.Name == "method"
			}
		}
		title := groupTitles[g]
		if title == "" {
			title = g
		}
		p.Forms = append(p.Forms, form{Title: title, Action: f.UI.Action, Method: method, Nodes: nodes})
	}
	if len(p.Forms) == 0 && len(shared) > 0 {
		p.Forms = append(p.Forms, form{Action: f.UI.Action, Method: method, Nodes: shared})
	}
	if len(p.Forms) == 1 {
		p.Forms[0].Title = "" // one way to do it: no section heading needed
	}
	return p
}

func buttonRank(n node) int {
	if !n.isButton() {
		return 0
	}
	if n.Attributes.Name == "method" {
		return 1
	}
	return 2
}

func (n node) isButton() bool {
	return n.Type == "input" && (n.Attributes.Type == "submit" || n.Attributes.Type == "button")
}

// logoutURL asks Kratos for a logout link for the browser's session, or returns "".
func (u *ui) logoutURL(r *http.Request) string {
	var out struct {
		LogoutURL string `json:"logout_url"`
	}
	status, _, err := u.get(r, "/self-service/logout/browser", &out)
	if err != nil || status != http.StatusOK {
		return ""
	}
	return out.LogoutURL
}

type kratosError struct {
	ID    string `json:"id"`
	Error struct {
		ID      string `json:"id"`
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
}

// sentences returns Kratos's message and reason, each a sentence of its own: Kratos's
// messages often lack the final period ("The request was malformed or contained invalid
// parameters"), so joined they would run into each other.
func (e kratosError) sentences() []string {
	var out []string
	for _, s := range []string{e.Error.Message, e.Error.Reason} {
		if s = strings.TrimSpace(s); s != "" && !contains(out, sentence(s)) {
			out = append(out, sentence(s))
		}
	}
	return out
}

// sentence ends s with a period unless it ends with punctuation already.
func sentence(s string) string {
	if last, _ := utf8.DecodeLastRuneInString(s); strings.ContainsRune(".!?…", last) {
		return s
	}
	return s + "."
}

// errorID returns error.id of a Kratos error body, e.g. session_aal2_required.
func errorID(body []byte) string {
	var e kratosError
	_ = json.Unmarshal(body, &e)
	return e.Error.ID
}

// error shows an error Kratos stored for the browser (selfservice.flows.error.ui_url).
func (u *ui) error(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		u.fail(w, r, http.StatusBadRequest, "Something went wrong", "No error id was given.")
		return
	}
	var e kratosError
	if _, _, err := u.get(r, "/self-service/errors?id="+url.QueryEscape(id), &e); err != nil {
		u.fail(w, r, http.StatusBadGateway, "Kratos is not answering", err.Error())
		return
	}
	title := "Something went wrong"
	if e.Error.Status != "" {
		title = e.Error.Status
	}
	p := &errorPage{chrome: chrome{Title: title}, Paragraphs: e.sentences()}
	if e.Error.ID == "self_service_flow_return_to_forbidden" {
		p.ReturnTo = u.returnToHint(e.Error.Reason)
	}
	u.render(w, r, http.StatusOK, "error", p, "")
}

// returnToHint explains a return_to Kratos refused: the demo's Kratos accepts only the demo's
// origin and those given with -allow-origin.
func (u *ui) returnToHint(reason string) *returnToHint {
	allowed := append([]string{u.app}, u.origins...)
	h := &returnToHint{
		Allowed: strings.Join(allowed, ", "),
		Origin:  "http://127.0.0.1:8080",
		More:    len(u.origins) > 0,
	}
	// The reason quotes the URL: Requested return_to URL "http://…" is not allowed.
	i := strings.IndexByte(reason, '"')
	if i < 0 {
		return h
	}
	j := strings.IndexByte(reason[i+1:], '"')
	if j <= 0 {
		return h
	}
	ru, err := url.Parse(reason[i+1 : i+1+j])
	if err != nil || ru.Host == "" || (ru.Scheme != "http" && ru.Scheme != "https") {
		return h
	}
	h.Origin = ru.Scheme + "://" + strings.ToLower(ru.Host)
	kratosHost := hostOf(u.public)
	if strings.EqualFold(ru.Hostname(), kratosHost) {
		return h
	}
	alt := *ru
	alt.Host = kratosHost
	if ru.Port() != "" {
		alt.Host = net.JoinHostPort(kratosHost, ru.Port())
	}
	h.Instead, h.KratosHost, h.RefusedHost = alt.String(), kratosHost, ru.Hostname()
	if o := alt.Scheme + "://" + alt.Host; !contains(allowed, o) {
		h.InsteadOrigin = o
	}
	return h
}

func (u *ui) fail(w http.ResponseWriter, r *http.Request, status int, title string, paragraphs ...string) {
	u.render(w, r, status, "error", &errorPage{chrome: chrome{Title: title}, Paragraphs: paragraphs}, "")
}

// mailbox shows the emails, sign-in codes included, to a browser on this machine only: with
// -addr on another interface, the rest of the network gets the login UI but not the codes.
func (u *ui) mailbox(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		u.fail(w, r, http.StatusForbidden, "The dev mailbox is for this machine only", "It shows everyone's sign-in codes, so it answers only browsers on the machine that runs the demo.")
		return
	}
	u.render(w, r, http.StatusOK, "mailbox", &mailboxPage{chrome: chrome{Title: "Dev mailbox"}, Mails: u.mail.list()}, "")
}

// fromLoopback reports whether r comes from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// render writes a page with the signed-in user in its header; address, when known, is that
// user's email (see viewer).
func (u *ui) render(w http.ResponseWriter, r *http.Request, status int, name string, p page, address string) {
	p.setViewer(u.viewer(r, address))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := u.pages[name].Execute(w, p); err != nil {
		log.Printf("demo: render %s: %v", name, err)
	}
}

// viewer asks Kratos who the browser is signed in as. The demo's Kratos, like Ory by default
// (session.whoami.required_aal: highest_available), answers whoami with 403
// session_aal2_required, and no identity, while a session still lacks the second factor every
// user has here; the email then comes from address, or from a step-up flow, which lists the
// addresses a code can be sent to.
func (u *ui) viewer(r *http.Request, address string) viewer {
	if r.Header.Get("Cookie") == "" {
		return viewer{}
	}
	var s struct {
		AAL      string `json:"authenticator_assurance_level"`
		Identity struct {
			Traits struct {
				Email string `json:"email"`
			} `json:"traits"`
		} `json:"identity"`
	}
	status, body, err := u.get(r, "/sessions/whoami", &s)
	var v viewer
	switch {
	case err != nil:
		return viewer{Unknown: true}
	case status == http.StatusOK:
		v = viewer{SignedIn: true, Email: s.Identity.Traits.Email, AAL: s.AAL}
	case status == http.StatusForbidden && errorID(body) == "session_aal2_required":
		v = viewer{SignedIn: true, Email: address, AAL: "aal1"}
		if v.Email == "" {
			v.Email = u.stepUpAddress(r)
		}
	default:
		return viewer{}
	}
	v.LogoutURL = u.logoutURL(r)
	return v
}

// stepUpAddress asks Kratos for a step-up login flow (as JSON; the browser never sees it) and
// returns the first address it offers to send a code to, or "".
func (u *ui) stepUpAddress(r *http.Request) string {
	var f flow
	if status, _, err := u.get(r, "/self-service/login/browser?aal=aal2", &f); err != nil || status != http.StatusOK {
		return ""
	}
	for _, n := range f.UI.Nodes {
		if n.Group == "code" && n.Attributes.Name == "address" {
			return nodeValue(n.Attributes.Value)
		}
	}
	return ""
}

// get calls Kratos's public API with the browser's cookies and decodes a 200 answer into v.
func (u *ui) get(r *http.Request, path string, v any) (int, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.public+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if c := r.Header.Get("Cookie"); c != "" {
		req.Header.Set("Cookie", c)
	}
	res, err := u.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			return 0, nil, fmt.Errorf("decode %s: %w", path, err)
		}
	}
	return res.StatusCode, body, nil
}

// nodeValue renders an input's value.
func nodeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	case bool:
		return fmt.Sprint(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// imgSrc lets through the data: URL of the TOTP QR code, which html/template would otherwise
// replace; other sources pass through the normal URL check.
func imgSrc(src string) any {
	if strings.HasPrefix(src, "data:image/png;base64,") {
		return template.URL(src)
	}
	return src
}

func since(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d < 5*time.Second {
		return "just now"
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	}
	return t.Format("15:04:05")
}
