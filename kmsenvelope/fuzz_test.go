package kmsenvelope

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// FuzzParse: the format parser never panics, reads only its input, and
// what it accepts is exactly the encoding of the fields it returns.
func FuzzParse(f *testing.F) {
	good := appendHeader(nil, "acme", bytes.Repeat([]byte{7}, 180))
	good = append(good, make([]byte, nonceLen+tagLen+5)...)
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte("TK\x01\x00"))
	f.Add([]byte("TK\x01\x04acme\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		h, err := parse(b)
		if !bytes.Equal(in, b) {
			t.Fatal("parse changed its input")
		}
		if err != nil {
			return
		}
		if len(h.tenant) == 0 || len(h.tenant) > 64 || len(h.encryptedKey) == 0 || len(h.encryptedKey) > maxEncryptedKeyLen ||
			len(h.nonce) != nonceLen || len(h.sealed) < tagLen {
			t.Fatalf("accepted fields out of range: %+v", h)
		}
		re := appendHeader(nil, string(h.tenant), h.encryptedKey)
		re = append(re, h.nonce...)
		if !bytes.Equal(re, h.raw) || !bytes.Equal(append(re, h.sealed...), b) {
			t.Fatal("accepted input is not the encoding of its fields")
		}
	})
}

// fixedKMS stands in for KMS in the fuzzer, which cannot reach a server:
// it hands out one data key, bound to its encryption context, and decrypts
// only that key's blob under that context.
type fixedKMS struct {
	mu   sync.Mutex
	key  []byte
	blob []byte
	ec   map[string]string
}

func (k *fixedKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ec = in.EncryptionContext
	return &kms.GenerateDataKeyOutput{Plaintext: bytes.Clone(k.key), CiphertextBlob: bytes.Clone(k.blob)}, nil
}

func (k *fixedKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	same := len(in.EncryptionContext) == len(k.ec)
	for key, v := range k.ec {
		same = same && in.EncryptionContext[key] == v
	}
	if !same || !bytes.Equal(in.CiphertextBlob, k.blob) {
		return nil, &types.InvalidCiphertextException{Message: new(string)}
	}
	return &kms.DecryptOutput{Plaintext: bytes.Clone(k.key)}, nil
}

// FuzzDecrypt: Decrypt of any input as tenant acme never panics, never
// returns plaintext with an error, and succeeds only for a ciphertext that
// Encrypt made, with its associated data, returning its plaintext. (The
// fuzzing workers each run this function, so the seeds a worker gets were
// sealed by another process under the same fixed data key: a success is
// checked against the records sealed, not against this process's
// ciphertexts.)
func FuzzDecrypt(f *testing.F) {
	fk := &fixedKMS{key: bytes.Repeat([]byte{0x42}, dataKeyLen), blob: bytes.Repeat([]byte{0x17}, 180)}
	ctx := tenantCtx(f, "acme")
	records := map[string]string{} // aad -> plaintext
	for _, cached := range []bool{true, false} {
		var opts []Option
		if !cached {
			opts = append(opts, WithoutCache())
		}
		e := mustNew(f, fk, StaticKey("1234abcd-12ab-34cd-56ef-1234567890ab"), opts...)
		for _, rec := range []struct{ pt, aad string }{{"", ""}, {"a record", "row/1"}, {string(bytes.Repeat([]byte("x"), 300)), "big"}} {
			ct, err := e.Encrypt(ctx, []byte(rec.pt), []byte(rec.aad))
			if err != nil {
				f.Fatal(err)
			}
			records[rec.aad] = rec.pt
			f.Add(ct, []byte(rec.aad))
		}
	}
	f.Add([]byte("TK\x01\x04acme"), []byte(nil))
	cachedEnv := mustNew(f, fk, StaticKey("1234abcd-12ab-34cd-56ef-1234567890ab"))
	uncachedEnv := mustNew(f, fk, StaticKey("1234abcd-12ab-34cd-56ef-1234567890ab"), WithoutCache())
	f.Fuzz(func(t *testing.T, ct, aad []byte) {
		for _, e := range []*Envelope{cachedEnv, uncachedEnv} {
			pt, err := e.Decrypt(ctx, ct, aad)
			if err != nil {
				if pt != nil {
					t.Fatalf("plaintext with an error: %v", err)
				}
				if !errors.Is(err, ErrDecrypt) {
					t.Fatalf("error of another class: %v", err)
				}
				continue
			}
			want, ok := records[string(aad)]
			h, perr := parse(ct)
			if !ok || string(pt) != want && !(want == "" && len(pt) == 0) || perr != nil || string(h.tenant) != "acme" ||
				!bytes.Equal(h.encryptedKey, fk.blob) || len(ct) != len(h.raw)+len(pt)+tagLen {
				t.Fatalf("decrypted %d bytes that Encrypt never sealed so (aad %q)", len(pt), aad)
			}
		}
	})
}
