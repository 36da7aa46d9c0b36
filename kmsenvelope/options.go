package kmsenvelope

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TenantContextKey is the encryption context key that carries the tenant
// ID in every GenerateDataKey and Decrypt call, for IAM conditions on
// kms:EncryptionContext:tenant_id (see isolation.KMSTenantContext).
const TenantContextKey = "tenant_id"

// Defaults of the cache bounds.
const (
	// DefaultMaxAge bounds how long a data key from KMS is used, and so how
	// long after the tenant's key is disabled its data can still be
	// decrypted by a process that had the data key.
	DefaultMaxAge = 5 * time.Minute
	// DefaultMaxMessages bounds how many messages one data key encrypts.
	DefaultMaxMessages = 1 << 20
	// DefaultMaxBytes bounds how many plaintext bytes one data key encrypts.
	DefaultMaxBytes = 1 << 30
	// DefaultMaxEntries bounds the data keys held for all tenants together.
	DefaultMaxEntries = 10000
)

// Limits of the option values.
const (
	// MaxMessagesLimit is the largest WithMaxMessages: 2^32 messages per key
	// keeps the chance of a repeated random 96-bit GCM nonce within NIST
	// SP 800-38D's bound.
	MaxMessagesLimit = 1 << 32
	// MaxAgeLimit is the largest WithMaxAge.
	MaxAgeLimit = 24 * time.Hour

	maxContextPairs   = 8
	maxContextItemLen = 256
)

// Option configures an [Envelope].
type Option func(*config)

type config struct {
	extra       map[string]string
	maxAge      time.Duration
	maxMessages uint64
	maxBytes    uint64
	maxEntries  int
	noCache     bool
	err         error // the first invalid option
}

func newConfig(opts []Option) (config, error) {
	c := config{
		maxAge:      DefaultMaxAge,
		maxMessages: DefaultMaxMessages,
		maxBytes:    DefaultMaxBytes,
		maxEntries:  DefaultMaxEntries,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	return c, c.err
}

// fail records the first invalid option; New returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithEncryptionContext adds pairs to the encryption context of every data
// key, besides tenant_id = the tenant's ID, which no pair may replace: a
// key equal to [TenantContextKey] in any letter case is an error (IAM
// compares condition key names without regard to case), and so is a key
// that starts with "aws" (reserved by AWS). Keys and values are 1 to 256
// bytes of printable UTF-8; at most 8 pairs. Decrypt needs the same pairs
// as Encrypt, so they are a property of the Envelope, not of a call.
func WithEncryptionContext(pairs map[string]string) Option {
	return func(c *config) {
		if len(pairs) > maxContextPairs {
			c.fail("WithEncryptionContext: %d pairs, at most %d", len(pairs), maxContextPairs)
			return
		}
		m := make(map[string]string, len(pairs))
		for k, v := range pairs {
			switch {
			case strings.EqualFold(k, TenantContextKey):
				c.fail("WithEncryptionContext: key %q is the tenant's, set by the Envelope", k)
				return
			case len(k) >= 3 && strings.EqualFold(k[:3], "aws"):
				c.fail("WithEncryptionContext: key %q starts with the reserved prefix aws", k)
				return
			case !contextText(k) || !contextText(v):
				c.fail("WithEncryptionContext: key %q or its value is empty, longer than %d bytes or not printable UTF-8", k, maxContextItemLen)
				return
			}
			m[k] = v
		}
		c.extra = m
	}
}

func contextText(s string) bool {
	if s == "" || len(s) > maxContextItemLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// WithMaxAge bounds how long a data key obtained from KMS is used, for
// encryption and for decryption alike: it is the longest a tenant's data
// stays readable in this process after its KMS key is disabled or
// scheduled for deletion. Between 1 ms and [MaxAgeLimit]; default
// [DefaultMaxAge].
func WithMaxAge(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond || d > MaxAgeLimit {
			c.fail("WithMaxAge(%v): outside [1ms, %v]", d, MaxAgeLimit)
			return
		}
		c.maxAge = d
	}
}

// WithMaxMessages bounds how many messages one data key encrypts, between
// 1 and [MaxMessagesLimit]; default [DefaultMaxMessages].
func WithMaxMessages(n uint64) Option {
	return func(c *config) {
		if n < 1 || n > MaxMessagesLimit {
			c.fail("WithMaxMessages(%d): outside [1, 2^32]", n)
			return
		}
		c.maxMessages = n
	}
}

// WithMaxBytes bounds how many plaintext bytes one data key encrypts, at
// least 1; default [DefaultMaxBytes]. A plaintext longer than the bound
// gets a data key of its own, which is not cached.
func WithMaxBytes(n uint64) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithMaxBytes(%d): at least 1", n)
			return
		}
		c.maxBytes = n
	}
}

// WithMaxEntries bounds the data keys the cache holds for all tenants
// together (one encryption key per tenant and the decrypted keys), at
// least 1; the least recently used goes first. Default
// [DefaultMaxEntries].
func WithMaxEntries(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithMaxEntries(%d): at least 1", n)
			return
		}
		c.maxEntries = n
	}
}

// WithoutCache makes every Encrypt generate a data key and every Decrypt
// ask KMS for it: one KMS call per operation, and a disabled key refuses
// at once.
func WithoutCache() Option {
	return func(c *config) { c.noCache = true }
}
