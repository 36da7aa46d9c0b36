module github.com/tenantkit/tenantkit/lambdaedge

go 1.26.0

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/tenantkit/tenantkit v0.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/aws/smithy-go v1.28.9 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)

replace github.com/tenantkit/tenantkit => ../
