module github.com/orymfa/orymfa/echo/v5

go 1.26.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/ory/client-go v1.22.92
	github.com/orymfa/orymfa v0.2.0
)

require (
	github.com/elastic/go-freelru v0.16.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/orymfa/orymfa => ../../
