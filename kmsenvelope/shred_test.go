package kmsenvelope

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// waitShredded decrypts ct as ctx's tenant every few milliseconds after
// the tenant's key was disabled at off, until it fails. It fails the test
// if a Decrypt that started more than maxAge after off succeeded (the
// cached data keys were all obtained before off), if the failure is not
// ErrShredded, or if it comes with plaintext. It returns how long after
// off the first refusal came.
func waitShredded(t *testing.T, e *Envelope, ctx context.Context, ct []byte, off time.Time, maxAge time.Duration) (time.Duration, error) {
	t.Helper()
	deadline := off.Add(maxAge + 5*time.Second)
	for i := 0; ; i++ {
		start := time.Now()
		pt, err := e.Decrypt(ctx, ct, nil)
		if err != nil {
			if !errors.Is(err, ErrShredded) || pt != nil {
				t.Fatalf("after the key was disabled: %q, %v; want ErrShredded", pt, err)
			}
			return time.Since(off), err
		}
		if late := start.Sub(off); late > maxAge {
			t.Fatalf("decrypted %v after the key was disabled, past the max age %v", late, maxAge)
		}
		if start.After(deadline) || i > 10000 {
			t.Fatalf("still decrypting %v after the key was disabled", start.Sub(off))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDisabledKeyShredsWithinMaxAge disables acme's key through the SDK:
// acme's data, cached data keys or not, stops decrypting at the latest one
// max age later, with ErrShredded; globex is unaffected; enabling the key
// again brings the data back; scheduling its deletion shreds it again.
func TestDisabledKeyShredsWithinMaxAge(t *testing.T) {
	const maxAge = 300 * time.Millisecond
	e, cc, c, keys := twoTenants(t, WithMaxAge(maxAge))
	acme, globex := tenantCtx(t, "acme"), tenantCtx(t, "globex")
	ctx := context.Background()

	ct, err := e.Encrypt(acme, []byte("acme's record"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A record of another process: its data key is in the decrypt cache only.
	other := mustNew(t, cc.c, e.keys, WithMaxAge(maxAge))
	ct2, err := other.Encrypt(acme, []byte("acme's other record"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Decrypt(acme, ct2, nil); err != nil {
		t.Fatal(err)
	}
	ctG, err := e.Encrypt(globex, []byte("globex's record"), nil)
	if err != nil {
		t.Fatal(err)
	}
	uncached := mustNew(t, cc, e.keys, WithoutCache())

	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keys["acme"])}); err != nil {
		t.Fatal(err)
	}
	off := time.Now()
	// Without a cache the refusal is immediate.
	if pt, err := uncached.Decrypt(acme, ct, nil); !errors.Is(err, ErrShredded) || pt != nil {
		t.Fatalf("uncached: %q, %v", pt, err)
	}
	lag, err := waitShredded(t, e, acme, ct, off, maxAge)
	var disabled *types.DisabledException
	if !errors.As(err, &disabled) {
		t.Errorf("the SDK's error is not wrapped: %v", err)
	}
	t.Logf("refused %v after DisableKey (max age %v)", lag, maxAge)
	waitShredded(t, e, acme, ct2, off, maxAge)
	if out, err := e.Encrypt(acme, []byte("new"), nil); !errors.Is(err, ErrShredded) || out != nil {
		t.Errorf("Encrypt after the max age: %q, %v", out, err)
	}
	// globex's key is its own.
	if pt, err := e.Decrypt(globex, ctG, nil); err != nil || string(pt) != "globex's record" {
		t.Errorf("globex: %q, %v", pt, err)
	}
	if _, err := e.Encrypt(globex, []byte("more"), nil); err != nil {
		t.Errorf("globex: %v", err)
	}

	// Disabling is reversible: shredding for good is deleting the key.
	if _, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(keys["acme"])}); err != nil {
		t.Fatal(err)
	}
	if pt, err := e.Decrypt(acme, ct, nil); err != nil || string(pt) != "acme's record" {
		t.Fatalf("after EnableKey: %q, %v", pt, err)
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keys["acme"]), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	off = time.Now()
	_, err = waitShredded(t, e, acme, ct, off, maxAge)
	var invalid *types.KMSInvalidStateException
	if !errors.As(err, &invalid) {
		t.Errorf("pending deletion: %v", err)
	}
	if _, err := e.Encrypt(acme, []byte("new"), nil); !errors.Is(err, ErrShredded) {
		t.Errorf("Encrypt, pending deletion: %v", err)
	}
}

// TestDeletedKeyIsShredded: a key KMS does not know (deleted) refuses with
// NotFoundException, which is ErrShredded too.
func TestDeletedKeyIsShredded(t *testing.T) {
	c := newClient(t)
	gone := "arn:aws:kms:" + region() + ":111122223333:key/00000000-dead-4000-8000-000000000000"
	e := mustNew(t, c, StaticKey(gone))
	out, err := e.Encrypt(tenantCtx(t, "acme"), []byte("s"), nil)
	var nf *types.NotFoundException
	if !errors.Is(err, ErrShredded) || !errors.As(err, &nf) || out != nil {
		t.Fatalf("%q, %v", out, err)
	}
	if bytes.Contains([]byte(err.Error()), []byte("s\"")) {
		t.Errorf("error echoes input: %v", err)
	}
}
