package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tenantkit/tenantkit/authn/authntest"
)

// DefaultTenants is the number of tenants whose tokens the load rotates.
const DefaultTenants = 1000

// Config configures [Start].
type Config struct {
	// Tenants is the number of tenants (DefaultTenants when 0).
	Tenants int
	// RedisAddr is the host:port of the Redis of the Redis stacks; empty
	// leaves them out.
	RedisAddr string
	// Stacks names the stacks to serve; empty serves all of Catalog (the
	// Redis ones only with RedisAddr).
	Stacks []string
	// TokensPath is where the tokens are written for the generators; empty
	// writes none.
	TokensPath string
	// CountTenants makes the handlers remember the tenants they saw, for
	// [Server.Seen]. It costs a map store per request: tests only.
	CountTenants bool
}

// Server serves every selected stack on its own loopback port.
type Server struct {
	toks   []Token
	stacks []*built
	http   []*http.Server
	wg     sync.WaitGroup
	idp    *authntest.Issuer
	redis  *redis.Client
	prefix string
}

// Start mints the tenants' tokens, builds the stacks, serves each on a
// free loopback port, and warms each with one request per tenant, failing
// unless every stack answers every tenant (200 or OK). The caller must
// Close the server.
func Start(cfg Config) (_ *Server, err error) {
	if cfg.Tenants == 0 {
		cfg.Tenants = DefaultTenants
	}
	idp, err := authntest.StartIssuer()
	if err != nil {
		return nil, err
	}
	s := &Server{idp: idp}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.toks = MintTokens(idp, cfg.Tenants)
	if cfg.TokensPath != "" {
		if err := WriteTokens(cfg.TokensPath, s.toks); err != nil {
			return nil, err
		}
	}
	ps, err := plans()
	if err != nil {
		return nil, err
	}
	bd := &builder{cfg: cfg, idp: idp, toks: s.toks, plans: ps}
	if cfg.RedisAddr != "" {
		// The client settings redislimit's documentation asks for.
		s.redis = redis.NewClient(&redis.Options{Addr: cfg.RedisAddr,
			ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1,
			DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
			WriteTimeout: 200 * time.Millisecond})
		// A prefix of its own, so that runs sharing a Redis never share
		// buckets.
		s.prefix = "tenantkit-load-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
		bd.redis, bd.prefix = s.redis, s.prefix
		pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.redis.Ping(pctx).Err()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("load: redis %s: %w", cfg.RedisAddr, err)
		}
	}
	for _, info := range catalog {
		if len(cfg.Stacks) > 0 && !slices.Contains(cfg.Stacks, info.Name) {
			continue
		}
		if info.Redis && cfg.RedisAddr == "" {
			continue
		}
		b, err := bd.build(info)
		if err != nil {
			return nil, err
		}
		s.stacks = append(s.stacks, b)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		b.info.Addr = ln.Addr().String()
		s.wg.Add(1)
		if b.grpc != nil {
			go func() { defer s.wg.Done(); _ = b.grpc.Serve(ln) }()
		} else {
			hs := &http.Server{Handler: b.http, ReadHeaderTimeout: 10 * time.Second}
			s.http = append(s.http, hs)
			go func() { defer s.wg.Done(); _ = hs.Serve(ln) }()
		}
	}
	for _, b := range s.stacks {
		if err := s.warm(b); err != nil {
			return nil, fmt.Errorf("load: warming %s: %w", b.info.Name, err)
		}
		if b.seen != nil {
			b.seen.Clear() // Seen counts the load's tenants, not the warm-up's
		}
	}
	return s, nil
}

// warm sends one request per tenant to b, from a few concurrent clients,
// so that caches, buckets and series exist before the load starts.
func (s *Server) warm(b *built) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const clients = 8
	var send func(t Token) error
	if b.grpc != nil {
		conn, err := grpc.NewClient(b.info.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		send = func(t Token) error {
			octx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+t.Token)
			return conn.Invoke(octx, PingMethod, &emptypb.Empty{}, &emptypb.Empty{})
		}
	} else {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 10 * time.Second}
		defer client.CloseIdleConnections()
		send = func(t Token) error {
			code, err := Get(ctx, client, "http://"+b.info.Addr+"/", t.Token)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("status %d", code)
			}
			return err
		}
	}
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < len(s.toks); i += clients {
				// A busy machine can stall a Redis decision past its
				// timeout (and the limiter then fails closed for its
				// retry interval): try each tenant a few times.
				var err error
				for try := 0; try < 10; try++ {
					if err = send(s.toks[i]); err == nil {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				if err != nil {
					errs[c] = fmt.Errorf("tenant %s: %w", s.toks[i].Tenant, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Get sends GET url with token as bearer token (none when empty) and
// returns the status.
func Get(ctx context.Context, client *http.Client, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = resp.Body.Read(make([]byte, 64))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// Stacks returns the served stacks with their addresses, in report order.
func (s *Server) Stacks() []Info {
	out := make([]Info, len(s.stacks))
	for i, b := range s.stacks {
		out[i] = b.info
	}
	return out
}

// Tokens returns the tenants' tokens.
func (s *Server) Tokens() []Token { return s.toks }

// Seen returns how many distinct tenants the handler of stack name saw
// (with Config.CountTenants), -1 for an unknown stack.
func (s *Server) Seen(name string) int {
	for _, b := range s.stacks {
		if b.info.Name == name && b.seen != nil {
			n := 0
			b.seen.Range(func(any, any) bool { n++; return true })
			return n
		}
	}
	return -1
}

// Close stops the servers and releases the stacks, the issuer and Redis
// (deleting the run's Redis keys).
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, hs := range s.http {
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
		}
	}
	for _, b := range s.stacks {
		if b.grpc != nil {
			b.grpc.Stop()
		}
	}
	s.wg.Wait()
	for _, b := range s.stacks {
		b.close()
	}
	if s.redis != nil {
		var errs []error
		iter := s.redis.Scan(ctx, 0, s.prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			errs = append(errs, s.redis.Del(ctx, iter.Val()).Err())
		}
		_ = errors.Join(append(errs, iter.Err())...)
		_ = s.redis.Close()
	}
	s.idp.Close()
}

// WriteReady writes the served stacks as JSON to path, for the driver.
func (s *Server) WriteReady(path string) error {
	b, err := marshalStacks(s.Stacks())
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
