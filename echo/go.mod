module github.com/orymfa/orymfa/echo

go 1.26.0

require (
	github.com/labstack/echo/v4 v4.16.0
	github.com/ory/client-go v1.22.92
	github.com/orymfa/orymfa v0.2.0
)

require (
	github.com/elastic/go-freelru v0.16.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	golang.org/x/crypto v0.53.0 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.46.0 // indirect
	golang.org/x/text v0.40.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/orymfa/orymfa => ../
