package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// mail is one email Kratos sent.
type mail struct {
	Seq      int
	Time     time.Time
	To       string
	Template string // Kratos's template type, e.g. login_code_valid
	Code     string
	URL      string // the link in the mail, e.g. verification_url
	// Featured marks the newest sign-in code, which the mailbox shows first and largest.
	Featured bool
}

// purpose is what a kind of mail is for, by Kratos's template type.
type purpose struct {
	label, note, class string
}

var purposes = map[string]purpose{
	"login_code_valid":          {"Sign-in code", "Enter it on the sign-in or second factor page.", "sign-in"},
	"registration_code_valid":   {"Sign-up code", "Enter it on the sign-up page.", "sign-up"},
	"verification_code_valid":   {"Verify your email", "Confirms that you own this address. Not a sign-in code.", "verify"},
	"verification_valid":        {"Verify your email", "Confirms that you own this address.", "verify"},
	"verification_code_invalid": {"Verification for an unknown address", "Someone asked to verify an address that has no account.", "other"},
	"verification_invalid":      {"Verification for an unknown address", "Someone asked to verify an address that has no account.", "other"},
	"recovery_code_valid":       {"Recovery code", "Enter it on the account recovery page. Not a sign-in code.", "recovery"},
	"recovery_valid":            {"Recovery link", "Opens the account recovery.", "recovery"},
	"recovery_code_invalid":     {"Recovery for an unknown address", "Someone asked to recover an address that has no account.", "other"},
	"recovery_invalid":          {"Recovery for an unknown address", "Someone asked to recover an address that has no account.", "other"},
}

func (m mail) purpose() purpose {
	if p, ok := purposes[m.Template]; ok {
		return p
	}
	return purpose{label: strings.ReplaceAll(m.Template, "_", " "), class: "other"}
}

// Label says what the mail is for: "Sign-in code", "Verify your email", "Recovery code"…
func (m mail) Label() string { return m.purpose().label }

// Note says where its code goes, and where it does not.
func (m mail) Note() string { return m.purpose().note }

// Kind is the purpose as a CSS class: sign-in, sign-up, verify, recovery or other.
func (m mail) Kind() string { return m.purpose().class }

// mailbox keeps the emails in memory and prints each code to the terminal. The mailbox page
// features the newest sign-in code, so a mail from anyone but the demo's Kratos would put a
// stranger's code and link in front of the person signing in: the mailbox takes mail only at
// its courier path, which carries a secret drawn for each run. Kratos learns it from its config
// file (in the demo's private temp dir); no web page or other local process can guess it.
type mailbox struct {
	log     io.Writer
	path    string // /courier/<secret>
	mu      sync.Mutex
	mails   []mail
	arrived chan struct{} // closed and replaced when a mail arrives
}

func newMailbox(log io.Writer) *mailbox {
	return &mailbox{log: log, path: "/courier/" + rand.Text(), arrived: make(chan struct{})}
}

// ServeHTTP receives one email from Kratos's HTTP courier (courier.delivery_strategy: http) at
// the secret path. Anything else is answered 404 and neither kept nor printed.
func (b *mailbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || subtle.ConstantTimeCompare([]byte(r.URL.Path), []byte(b.path)) != 1 {
		http.NotFound(w, r)
		return
	}
	var body struct {
		Recipient    string                     `json:"recipient"`
		TemplateType string                     `json:"template_type"`
		TemplateData map[string]json.RawMessage `json:"template_data"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, "bad courier message", http.StatusBadRequest)
		return
	}
	m := mail{Time: time.Now(), To: body.Recipient, Template: body.TemplateType}
	// The keys depend on the template: login_code, verification_code, verification_url…
	// (request_url is the page that asked for the mail, not a link in it).
	for k, v := range body.TemplateData {
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" {
			continue
		}
		switch {
		case strings.HasSuffix(k, "_code"):
			m.Code = s
		case strings.HasSuffix(k, "_url") && k != "request_url":
			m.URL = s
		}
	}
	b.mu.Lock()
	m.Seq = len(b.mails) + 1
	b.mails = append(b.mails, m)
	close(b.arrived)
	b.arrived = make(chan struct{})
	b.mu.Unlock()
	// The recipient and the code come from what a user typed: escaped, they cannot drive the
	// terminal.
	label, to, code := printable(m.Label()), printable(m.To), printable(m.Code)
	switch {
	case m.Code != "" && m.Kind() == "sign-in":
		fmt.Fprintf(b.log, "✉  %s for %s: %s\n", label, to, code)
	case m.Code != "":
		fmt.Fprintf(b.log, "✉  %s for %s: %s (%s)\n", label, to, code, m.Note())
	default:
		fmt.Fprintf(b.log, "✉  %s for %s\n", label, to)
	}
	w.WriteHeader(http.StatusNoContent)
}

// list returns the mails for the mailbox page: the newest sign-in code first (Featured), then
// the others, newest first. A person looking for the code the second factor step asks for
// finds it at the top, never a verification or recovery code.
func (b *mailbox) list() []mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]mail, 0, len(b.mails))
	featured := -1
	for i := len(b.mails) - 1; i >= 0; i-- {
		if m := b.mails[i]; m.Kind() == "sign-in" && m.Code != "" {
			m.Featured = true
			out = append(out, m)
			featured = i
			break
		}
	}
	for i := len(b.mails) - 1; i >= 0; i-- {
		if i != featured {
			out = append(out, b.mails[i])
		}
	}
	return out
}

// wait returns the first mail after seq to to with the given template, waiting for it until
// ctx ends. The browser test uses it to know when to open the mailbox page.
func (b *mailbox) wait(ctx context.Context, after int, to, template string) (mail, error) {
	for {
		b.mu.Lock()
		arrived := b.arrived
		for _, m := range b.mails[after:] {
			if strings.EqualFold(m.To, to) && m.Template == template {
				b.mu.Unlock()
				return m, nil
			}
		}
		b.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return mail{}, fmt.Errorf("no %s mail for %s: %w", template, to, ctx.Err())
		}
	}
}

// count returns how many mails arrived so far.
func (b *mailbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mails)
}

// printable returns s with everything a terminal would act on instead of print written as a Go
// escape: control characters (ESC starts the escape sequences that move the cursor, recolour,
// retitle the window or write the clipboard), invisible format characters such as the
// bidirectional overrides that reorder a line, and invalid UTF-8. A backslash is doubled, so
// an escape seen in the output was made here.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}
