module github.com/orymfa/orymfa

go 1.26.0

require (
	github.com/elastic/go-freelru v0.16.0
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/ory/client-go v1.22.92
	golang.org/x/sync v0.24.0
)

require golang.org/x/oauth2 v0.37.0 // indirect
