package readme

// The README's snippets may import these; the blank imports keep their
// modules in this module's go.mod, which the snippet build reads with
// -mod=readonly.
import (
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/aws/aws-sdk-go-v2/service/kms"
	_ "github.com/aws/aws-sdk-go-v2/service/sts"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/open-feature/go-sdk/openfeature"
	_ "github.com/open-feature/go-sdk/openfeature/memprovider"
	_ "github.com/redis/go-redis/v9"
	_ "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	_ "go.opentelemetry.io/otel"
	_ "go.opentelemetry.io/otel/attribute"
	_ "go.opentelemetry.io/otel/sdk/metric"
	_ "go.opentelemetry.io/otel/sdk/trace"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/credentials"

	_ "github.com/tenantkit/tenantkit/emf"
	_ "github.com/tenantkit/tenantkit/featureflag"
	_ "github.com/tenantkit/tenantkit/kmsenvelope"
	_ "github.com/tenantkit/tenantkit/lambdaedge/authorizer"
	_ "github.com/tenantkit/tenantkit/lambdaedge/lambdahttp"
	_ "github.com/tenantkit/tenantkit/pgtenant"
)
