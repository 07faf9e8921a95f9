module github.com/orymfa/orymfa/chi

go 1.26.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/ory/client-go v1.22.92
	github.com/orymfa/orymfa v0.2.0
)

require (
	github.com/elastic/go-freelru v0.16.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)

replace github.com/orymfa/orymfa => ../
