package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

type kratosConfig struct {
	publicAddr, adminAddr string
	appURL                string // http://127.0.0.1:4455, which also serves the UI under /ui/
	// origins are more apps (scheme://host[:port]) that use this Kratos: it sends browsers
	// back to them (return_to) after login, registration, settings or logout. Redirects need
	// nothing else: no CORS, and the session cookie is for Kratos's host name, whatever the
	// port, so an app on another port of that host receives it.
	origins []string
	// courierURL is where Kratos POSTs its emails: the mailbox's loopback listener and its
	// secret path.
	courierURL string
}

// writeKratosConfig writes the identity schema and the Kratos config into dir and returns the
// config's path. The config is JSON, which Kratos reads as YAML.
func writeKratosConfig(dir string, c kratosConfig) (string, error) {
	schema := filepath.Join(dir, "identity.schema.json")
	if err := os.WriteFile(schema, []byte(identitySchema), 0o600); err != nil {
		return "", err
	}
	publicHost, publicPort, err := hostPort(c.publicAddr)
	if err != nil {
		return "", err
	}
	adminHost, adminPort, err := hostPort(c.adminAddr)
	if err != nil {
		return "", err
	}
	ui := c.appURL + "/ui/"
	returnURLs := []string{c.appURL + "/"}
	for _, o := range c.origins {
		returnURLs = append(returnURLs, o+"/")
	}
	cfg := map[string]any{
		"version": "v1.3.1",
		"dsn":     "memory",
		"log":     map[string]any{"level": "info", "format": "text", "leak_sensitive_values": false},
		"serve": map[string]any{
			"public": map[string]any{"base_url": "http://" + c.publicAddr + "/", "host": publicHost, "port": publicPort},
			"admin":  map[string]any{"base_url": "http://" + c.adminAddr + "/", "host": adminHost, "port": adminPort},
		},
		// Fixed secrets are fine for a local demo whose database lives in memory.
		"secrets": map[string]any{
			"cookie":  []string{"orymfa-demo-cookie-secret-000001"},
			"cipher":  []string{"orymfa-demo-cipher-secret-32byte"},
			"default": []string{"orymfa-demo-default-secret-00001"},
		},
		"identity": map[string]any{
			"default_schema_id": "default",
			"schemas":           []map[string]any{{"id": "default", "url": "file://" + schema}},
		},
		"selfservice": map[string]any{
			"default_browser_return_url": c.appURL + "/",
			"allowed_return_urls":        returnURLs,
			"methods": map[string]any{
				"password":      map[string]any{"enabled": true, "config": map[string]any{"haveibeenpwned_enabled": false}},
				"code":          map[string]any{"enabled": true, "mfa_enabled": true},
				"totp":          map[string]any{"enabled": true, "config": map[string]any{"issuer": "orymfa demo"}},
				"lookup_secret": map[string]any{"enabled": true},
			},
			"flows": map[string]any{
				"error": map[string]any{"ui_url": ui + "error"},
				"login": map[string]any{"ui_url": ui + "login", "lifespan": "15m"},
				"registration": map[string]any{
					"ui_url":                 ui + "registration",
					"enable_legacy_one_step": true, // email and password on one form
					"after": map[string]any{
						"password": map[string]any{"hooks": []map[string]any{{"hook": "session"}}},
					},
				},
				"settings": map[string]any{
					"ui_url":                     ui + "settings",
					"required_aal":               "highest_available",
					"privileged_session_max_age": "15m",
				},
				"verification": map[string]any{"enabled": true, "ui_url": ui + "verification", "use": "code"},
				"recovery":     map[string]any{"enabled": true, "ui_url": ui + "recovery", "use": "code"},
				"logout":       map[string]any{"after": map[string]any{"default_browser_return_url": c.appURL + "/"}},
			},
		},
		"session": map[string]any{
			"lifespan": "24h",
			"whoami":   map[string]any{"required_aal": "highest_available"},
		},
		"courier": map[string]any{
			"delivery_strategy": "http",
			"http": map[string]any{"request_config": map[string]any{
				"url":    c.courierURL,
				"method": "POST",
				"body":   "base64://" + base64.StdEncoding.EncodeToString([]byte(courierBody)),
			}},
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kratos.yml")
	return path, os.WriteFile(path, b, 0o600)
}

func hostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	return host, n, nil
}

// courierBody shapes each email Kratos POSTs to the dev mailbox.
const courierBody = `function(ctx) {
  recipient: ctx.recipient,
  template_type: ctx.template_type,
  template_data: if "template_data" in ctx then ctx.template_data else null,
}
`

// identitySchema has one trait, the email, which identifies the user for passwords and for
// one-time codes (without "code" the second-factor login would offer no method).
const identitySchema = `{
  "$id": "https://orymfa.example/identity.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "title": "Email",
          "minLength": 3,
          "ory.sh/kratos": {
            "credentials": {
              "password": {"identifier": true},
              "code": {"identifier": true, "via": "email"}
            },
            "verification": {"via": "email"},
            "recovery": {"via": "email"}
          }
        }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}
`
