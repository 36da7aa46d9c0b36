package kmsenvelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"
	"time"
)

// The envelope's cost over bare AES-256-GCM for a 1 KiB record once the
// data key is cached: the tenant lookup in the context, the cache lookup
// and its counters, the header and its share of the GCM additional data.
// Both generate a random nonce and allocate the result.

const recordLen = 1024

func benchEnvelope(b *testing.B) *Envelope {
	c := newClient(b)
	return mustNew(b, c, StaticKey(createKey(b, c)),
		WithMaxAge(time.Hour), WithMaxMessages(MaxMessagesLimit), WithMaxBytes(1<<50))
}

func bareGCM(b *testing.B) cipher.AEAD {
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	return aead
}

func bareSeal(aead cipher.AEAD, rec []byte) []byte {
	out := make([]byte, nonceLen, nonceLen+len(rec)+tagLen)
	rand.Read(out)
	return aead.Seal(out, out[:nonceLen], rec, nil)
}

func BenchmarkEncrypt1KiB(b *testing.B) {
	rec := make([]byte, recordLen)
	b.Run("impl=envelope", func(b *testing.B) {
		e := benchEnvelope(b)
		ctx := tenantCtx(b, "acme")
		if _, err := e.Encrypt(ctx, rec, nil); err != nil { // the one KMS call
			b.Fatal(err)
		}
		b.SetBytes(recordLen)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Encrypt(ctx, rec, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=bare", func(b *testing.B) {
		aead := bareGCM(b)
		b.SetBytes(recordLen)
		b.ReportAllocs()
		for b.Loop() {
			bareSeal(aead, rec)
		}
	})
}

func BenchmarkDecrypt1KiB(b *testing.B) {
	rec := make([]byte, recordLen)
	b.Run("impl=envelope", func(b *testing.B) {
		e := benchEnvelope(b)
		ctx := tenantCtx(b, "acme")
		ct, err := e.Encrypt(ctx, rec, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(recordLen)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Decrypt(ctx, ct, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=bare", func(b *testing.B) {
		aead := bareGCM(b)
		ct := bareSeal(aead, rec)
		b.SetBytes(recordLen)
		b.ReportAllocs()
		for b.Loop() {
			out := make([]byte, 0, recordLen)
			if _, err := aead.Open(out, ct[:nonceLen], ct[nonceLen:], nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPaired1KiB interleaves the two in small batches, alternating
// which goes first, so that both see the same load on a shared machine,
// and reports each one's time per record and their ratio (envelope/bare).
func BenchmarkPaired1KiB(b *testing.B) {
	const batch = 16
	rec := make([]byte, recordLen)
	e := benchEnvelope(b)
	ctx := tenantCtx(b, "acme")
	aead := bareGCM(b)
	sealed, err := e.Encrypt(ctx, rec, nil)
	if err != nil {
		b.Fatal(err)
	}
	bare := bareSeal(aead, rec)
	for _, tc := range []struct {
		name          string
		envelope, raw func()
	}{
		{"op=encrypt",
			func() {
				if _, err := e.Encrypt(ctx, rec, nil); err != nil {
					b.Fatal(err)
				}
			},
			func() { bareSeal(aead, rec) }},
		{"op=decrypt",
			func() {
				if _, err := e.Decrypt(ctx, sealed, nil); err != nil {
					b.Fatal(err)
				}
			},
			func() {
				out := make([]byte, 0, recordLen)
				if _, err := aead.Open(out, bare[:nonceLen], bare[nonceLen:], nil); err != nil {
					b.Fatal(err)
				}
			}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var tEnv, tRaw time.Duration
			timed := func(f func()) time.Duration {
				start := time.Now()
				for range batch {
					f()
				}
				return time.Since(start)
			}
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					tEnv += timed(tc.envelope)
					tRaw += timed(tc.raw)
				} else {
					tRaw += timed(tc.raw)
					tEnv += timed(tc.envelope)
				}
				i++
			}
			n := float64(i * batch)
			b.ReportMetric(float64(tEnv.Nanoseconds())/n, "envelope-ns/rec")
			b.ReportMetric(float64(tRaw.Nanoseconds())/n, "bare-ns/rec")
			b.ReportMetric(float64(tEnv)/float64(tRaw), "envelope/bare")
		})
	}
}
