// Package vendingtest runs a local AWS Security Token Service endpoint for tests
// and examples.
//
//	srv := vendingtest.NewServer()
//	defer srv.Close()
//	vendor, err := vending.New(srv.Client(), resolver) // a real *sts.Client
//	...
//	creds, err := vendor.Credentials(ctx, isolation.Table)
//	...
//	req := srv.Requests()[0] // the AssumeRole the vendor sent: policy, tags
//
// The server listens on loopback only and speaks the real AWS Query protocol
// that aws-sdk-go-v2/service/sts uses: a form-encoded POST
// (Action=AssumeRole&Version=2011-06-15&...) in, an XML AssumeRoleResponse
// out, and an XML ErrorResponse with Code and Message and the HTTP status STS
// would use for errors. Tests drive it through the real SDK client (see
// [Server.Client]), so what they assert is exactly what the SDK puts on the
// wire.
//
// Every AssumeRole request is recorded ([Server.Requests]) with its Policy,
// Tags, TransitiveTagKeys, RoleSessionName, SourceIdentity and
// DurationSeconds. Issued credentials remember the request that obtained
// them ([Server.Issued]) and carry the TenantID session tag in their session
// token, so a test can tell whose credentials it holds. [Server.Inject]
// makes the next requests fail with throttling or any other STS error.
package vendingtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Region is the region the clients of [Server.Config] sign for.
const Region = "us-east-1"

// CallerAccessKeyID and CallerSecretAccessKey are the static credentials of
// the clients that [Server.Config] builds. The server refuses requests not
// signed with this access key ID (InvalidClientTokenId, 403).
const (
	CallerAccessKeyID     = "AKIASTSTESTCALLER000"
	CallerSecretAccessKey = "vendingtest-caller-secret"
)

// TenantTag is the session tag whose value issued credentials record as their
// owner (see [Issue.Tenant]).
const TenantTag = "TenantID"

// Tag is one session tag of a request.
type Tag struct {
	Key, Value string
}

// Request is what one AssumeRole call sent, as decoded from the wire.
type Request struct {
	Action            string
	Version           string
	RoleARN           string
	RoleSessionName   string
	Policy            string // "" when the request carried none
	DurationSeconds   int32  // 0 when the request carried none
	Tags              []Tag
	TransitiveTagKeys []string
	SourceIdentity    string
	ExternalID        string
	CallerAccessKeyID string // from the request's SigV4 Authorization header
}

// Tag returns the value of the session tag key and whether the request
// carried it.
func (r Request) Tag(key string) (string, bool) {
	for _, t := range r.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// Issue is a set of credentials the server issued, with the request that
// obtained it.
type Issue struct {
	Request         Request
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// Tenant returns the value of the TenantID session tag the credentials were
// issued for, or "".
func (i Issue) Tenant() string {
	v, _ := i.Request.Tag(TenantTag)
	return v
}

// Error is an STS error response.
type Error struct {
	Status  int    // HTTP status
	Type    string // "Sender" or "Receiver"; "Sender" when empty
	Code    string // the error code, e.g. "Throttling"
	Message string
}

// Errors STS returns, with the status and code the real service uses.
var (
	Throttling              = Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"}
	AccessDenied            = Error{Status: 403, Code: "AccessDenied", Message: "User is not authorized to perform: sts:AssumeRole"}
	ExpiredToken            = Error{Status: 400, Code: "ExpiredToken", Message: "The security token included in the request is expired"}
	PackedPolicyTooLarge    = Error{Status: 400, Code: "PackedPolicyTooLarge", Message: "Packed policy consumes 112% of allotted space"}
	MalformedPolicyDocument = Error{Status: 400, Code: "MalformedPolicyDocument", Message: "Syntax errors in policy"}
	ServiceUnavailable      = Error{Status: 503, Type: "Receiver", Code: "ServiceUnavailable", Message: "Service unavailable"}
)

// Option configures a [Server].
type Option func(*Server)

// WithAccount sets the AWS account ID in the assumed-role ARNs the server
// returns. Default "123456789012".
func WithAccount(id string) Option { return func(s *Server) { s.account = id } }

// WithClock sets the clock that expirations are computed from. Default
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLifetime makes credentials expire d after issue whatever
// DurationSeconds asked for (for refresh tests). By default they last
// DurationSeconds, or one hour when the request carried none.
func WithLifetime(d time.Duration) Option { return func(s *Server) { s.lifetime = d } }

// Server is a local STS endpoint. Its methods are safe for concurrent use.
type Server struct {
	ts       *httptest.Server
	account  string
	now      func() time.Time
	lifetime time.Duration

	mu       sync.Mutex
	requests []Request
	issued   map[string]Issue
	inject   []injection
	hook     func(Request) *Error
	seq      int
}

type injection struct {
	err   Error
	count int // remaining; <0 means forever
}

// NewServer starts a local STS endpoint on 127.0.0.1. Close it when done.
func NewServer(opts ...Option) *Server {
	s := &Server{account: "123456789012", now: time.Now, issued: map[string]Issue{}}
	for _, o := range opts {
		o(s)
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the base endpoint of the server, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.ts.URL }

// Close stops the server and closes the idle connections of the clients
// built by [Server.Config].
func (s *Server) Close() { s.ts.Close() }

// Config returns an aws.Config for an STS client of this server: region
// [Region], static caller credentials, the server's URL as BaseEndpoint, an
// HTTP client that Close cleans up, and no retries (aws.NopRetryer), so
// that an injected error costs exactly one request. Set Retryer on the
// result to test retries.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region: Region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: CallerAccessKeyID, SecretAccessKey: CallerSecretAccessKey, Source: "vendingtest"}, nil
		}),
		BaseEndpoint: aws.String(s.ts.URL),
		HTTPClient:   s.ts.Client(),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// Client returns a real *sts.Client for the server, built from [Server.Config].
func (s *Server) Client(optFns ...func(*sts.Options)) *sts.Client {
	return sts.NewFromConfig(s.Config(), optFns...)
}

// Inject makes the next count AssumeRole requests fail with e (count < 0:
// every request until [Server.ClearInjected]). Injections queue in order.
// A request that fails this way is still recorded.
func (s *Server) Inject(e Error, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = append(s.inject, injection{err: e, count: count})
}

// ClearInjected drops every pending injection.
func (s *Server) ClearInjected() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = nil
}

// SetHook installs f, called for every recorded request after injections;
// a non-nil result is sent as the error response. f runs without the
// server's lock held, so it may block (to hold requests in flight) or call
// the server. Pass nil to remove the hook.
func (s *Server) SetHook(f func(Request) *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// Requests returns a copy of every request received so far, in order of
// arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns the number of requests received so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Reset forgets the recorded requests (issued credentials stay known).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Issued returns the credentials issued with access key ID akid, if the
// server issued them.
func (s *Server) Issued(akid string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.issued[akid]
	return i, ok
}

// sessionNameRE and sourceIdentityRE are the patterns STS documents.
var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tagKeyRE      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRE    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
	roleARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, Error{Status: 404, Code: "UnknownOperation", Message: "use POST /"})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, Error{Status: 400, Code: "InvalidParameterValue", Message: "expected a form-encoded body"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, Error{Status: 400, Code: "MalformedQueryString", Message: "cannot parse the form"})
		return
	}
	caller, ok := callerKey(r.Header.Get("Authorization"))
	if !ok || caller != CallerAccessKeyID {
		writeError(w, Error{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."})
		return
	}
	f := r.PostForm
	if f.Get("Version") != "2011-06-15" {
		writeError(w, Error{Status: 400, Code: "InvalidAction", Message: "unsupported Version"})
		return
	}
	if f.Get("Action") != "AssumeRole" {
		writeError(w, Error{Status: 400, Code: "InvalidAction", Message: "only AssumeRole is implemented"})
		return
	}
	req := Request{
		Action:            f.Get("Action"),
		Version:           f.Get("Version"),
		RoleARN:           f.Get("RoleArn"),
		RoleSessionName:   f.Get("RoleSessionName"),
		Policy:            f.Get("Policy"),
		SourceIdentity:    f.Get("SourceIdentity"),
		ExternalID:        f.Get("ExternalId"),
		CallerAccessKeyID: caller,
	}
	if d := f.Get("DurationSeconds"); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil {
			writeError(w, validation("DurationSeconds is not a number"))
			return
		}
		req.DurationSeconds = int32(n)
	}
	for i := 1; ; i++ {
		k, hasKey := f["Tags.member."+strconv.Itoa(i)+".Key"]
		if !hasKey {
			break
		}
		req.Tags = append(req.Tags, Tag{Key: k[0], Value: f.Get("Tags.member." + strconv.Itoa(i) + ".Value")})
	}
	for i := 1; ; i++ {
		k, ok := f["TransitiveTagKeys.member."+strconv.Itoa(i)]
		if !ok {
			break
		}
		req.TransitiveTagKeys = append(req.TransitiveTagKeys, k[0])
	}

	s.mu.Lock()
	s.requests = append(s.requests, req)
	var injected *Error
	if len(s.inject) > 0 {
		in := &s.inject[0]
		e := in.err
		injected = &e
		if in.count > 0 {
			in.count--
			if in.count == 0 {
				s.inject = s.inject[1:]
			}
		}
	}
	hook := s.hook
	s.mu.Unlock()

	if injected != nil {
		writeError(w, *injected)
		return
	}
	if hook != nil {
		if e := hook(req); e != nil {
			writeError(w, *e)
			return
		}
	}
	if e := check(req); e != nil {
		writeError(w, *e)
		return
	}
	s.issue(w, req)
}

// check applies the input validation STS documents for AssumeRole.
func check(req Request) *Error {
	if !roleARNRE.MatchString(req.RoleARN) {
		e := validation("RoleArn is not a role ARN")
		return &e
	}
	if !sessionNameRE.MatchString(req.RoleSessionName) {
		e := validation("RoleSessionName must satisfy [\\w+=,.@-]{2,64}")
		return &e
	}
	if req.SourceIdentity != "" && !sessionNameRE.MatchString(req.SourceIdentity) {
		e := validation("SourceIdentity must satisfy [\\w+=,.@-]{2,64}")
		return &e
	}
	if len(req.Policy) > 2048 {
		e := validation("Policy must have length less than or equal to 2048")
		return &e
	}
	if d := req.DurationSeconds; d != 0 && (d < 900 || d > 43200) {
		e := validation("DurationSeconds must be between 900 and 43200")
		return &e
	}
	if len(req.Tags) > 50 {
		e := validation("Tags must have at most 50 members")
		return &e
	}
	keys := map[string]bool{}
	for _, t := range req.Tags {
		lk := strings.ToLower(t.Key)
		if !tagKeyRE.MatchString(t.Key) || !tagValueRE.MatchString(t.Value) || keys[lk] {
			e := Error{Status: 400, Code: "InvalidParameterValue", Message: "invalid or duplicate session tag"}
			return &e
		}
		keys[lk] = true
	}
	for _, k := range req.TransitiveTagKeys {
		if !keys[strings.ToLower(k)] {
			e := Error{Status: 400, Code: "InvalidParameterValue", Message: "transitive tag key is not a session tag"}
			return &e
		}
	}
	return nil
}

func validation(msg string) Error {
	return Error{Status: 400, Code: "ValidationError", Message: msg}
}

func (s *Server) issue(w http.ResponseWriter, req Request) {
	lifetime := s.lifetime
	if lifetime == 0 {
		lifetime = time.Hour
		if req.DurationSeconds != 0 {
			lifetime = time.Duration(req.DurationSeconds) * time.Second
		}
	}
	secret := make([]byte, 20)
	rand.Read(secret)

	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()

	roleName := roleARNRE.FindStringSubmatch(req.RoleARN)[1]
	partition := strings.SplitN(req.RoleARN, ":", 3)[1]
	iss := Issue{
		Request:         req,
		AccessKeyID:     fmt.Sprintf("ASIA%016d", seq),
		SecretAccessKey: hex.EncodeToString(secret),
		Expiration:      s.now().Add(lifetime).UTC().Truncate(time.Millisecond),
	}
	iss.SessionToken = "vendingtest;tenant=" + iss.Tenant() + ";session=" + req.RoleSessionName + ";key=" + iss.AccessKeyID

	s.mu.Lock()
	s.issued[iss.AccessKeyID] = iss
	s.mu.Unlock()

	type credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	type assumedRoleUser struct {
		Arn           string
		AssumedRoleID string `xml:"AssumedRoleId"`
	}
	type result struct {
		Credentials      credentials
		AssumedRoleUser  assumedRoleUser
		PackedPolicySize int
		SourceIdentity   string `xml:",omitempty"`
	}
	type response struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
		Result    result   `xml:"AssumeRoleResult"`
		RequestID string   `xml:"ResponseMetadata>RequestId"`
	}
	out := response{
		Result: result{
			Credentials: credentials{
				AccessKeyID:     iss.AccessKeyID,
				SecretAccessKey: iss.SecretAccessKey,
				SessionToken:    iss.SessionToken,
				Expiration:      iss.Expiration.Format("2006-01-02T15:04:05.000Z"),
			},
			AssumedRoleUser: assumedRoleUser{
				Arn:           "arn:" + partition + ":sts::" + s.account + ":assumed-role/" + roleName + "/" + req.RoleSessionName,
				AssumedRoleID: "AROASTSTEST000000001:" + req.RoleSessionName,
			},
			PackedPolicySize: packedSize(req),
			SourceIdentity:   req.SourceIdentity,
		},
		RequestID: fmt.Sprintf("vendingtest-%d", seq),
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", out.RequestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(out)
}

// packedSize is a rough stand-in for the percentage of the packed-policy
// allowance the request uses.
func packedSize(req Request) int {
	n := len(req.Policy)
	for _, t := range req.Tags {
		n += len(t.Key) + len(t.Value)
	}
	return n * 100 / 2048 / 2
}

func writeError(w http.ResponseWriter, e Error) {
	typ := e.Type
	if typ == "" {
		typ = "Sender"
	}
	status := e.Status
	if status == 0 {
		status = 400
	}
	type errorBody struct {
		Type    string
		Code    string
		Message string
	}
	type errorResponse struct {
		XMLName   xml.Name  `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Error     errorBody `xml:"Error"`
		RequestID string    `xml:"RequestId"`
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "vendingtest-error")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(errorResponse{Error: errorBody{Type: typ, Code: e.Code, Message: e.Message}, RequestID: "vendingtest-error"})
}

// callerKey extracts the access key ID from a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/date/region/sts/aws4_request, ...".
func callerKey(auth string) (string, bool) {
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", false
	}
	i := strings.Index(rest, "Credential=")
	if i < 0 {
		return "", false
	}
	cred := rest[i+len("Credential="):]
	if j := strings.IndexByte(cred, ','); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[3] != "sts" || parts[4] != "aws4_request" {
		return "", false
	}
	return parts[0], true
}
