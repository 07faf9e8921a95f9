module github.com/orymfa/orymfa/examples

go 1.26.0

require (
	github.com/ory/client-go v1.22.92
	github.com/orymfa/orymfa v0.0.0
)

require (
	github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/pquerna/otp v1.4.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)

replace github.com/orymfa/orymfa => ../
