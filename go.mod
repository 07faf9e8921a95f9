module github.com/orymfa/orymfa

go 1.26.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/hashicorp/golang-lru/v2 v2.0.7
	github.com/ory/client-go v1.22.92
	github.com/pquerna/otp v1.5.0
	golang.org/x/sync v0.24.0
)

require (
	github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
)
