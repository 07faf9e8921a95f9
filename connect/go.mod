module github.com/orymfa/orymfa/connect

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	github.com/ory/client-go v1.22.92
	github.com/orymfa/orymfa v0.2.0
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261110000943-09e21b237f2c
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/elastic/go-freelru v0.16.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)

replace github.com/orymfa/orymfa => ../
