package kmsenvelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/tenant"
)

// KMSAPI is the part of *kms.Client that this package uses; a *kms.Client
// satisfies it.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, params *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, params *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Envelope encrypts and decrypts data of the context's tenant under data
// keys of the tenant's KMS key. It is safe for concurrent use.
type Envelope struct {
	client KMSAPI
	keys   KeyResolver
	extra  map[string]string
	cache  *cache // nil with WithoutCache
}

// New returns an Envelope that asks client for data keys of the keys that
// keys resolves. Errors wrap [ErrInvalidOption].
func New(client KMSAPI, keys KeyResolver, opts ...Option) (*Envelope, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if d := nilarg.Describe(client); d != "" {
		return nil, fmt.Errorf("%w: New: the KMS client is %s", ErrInvalidOption, d)
	}
	if d := nilarg.Describe(keys); d != "" {
		return nil, fmt.Errorf("%w: New: the key resolver is %s", ErrInvalidOption, d)
	}
	e := &Envelope{client: client, keys: keys, extra: c.extra}
	if !c.noCache {
		e.cache = newCache(c)
	}
	return e, nil
}

// Overhead is how many bytes a ciphertext of tenantID's is longer than its
// plaintext, for an encrypted data key of keyLen bytes (KMS's are about
// 180).
func Overhead(tenantID string, keyLen int) int {
	return 4 + len(tenantID) + 2 + keyLen + nonceLen + tagLen
}

// encryptionContext returns the encryption context of tenantID's data keys.
func (e *Envelope) encryptionContext(tenantID string) map[string]string {
	ec := make(map[string]string, len(e.extra)+1)
	for k, v := range e.extra {
		ec[k] = v
	}
	ec[TenantContextKey] = tenantID // last: nothing overrides it
	return ec
}

// Encrypt seals plaintext for the context's tenant and returns the
// ciphertext (see the package documentation for its format). aad, which
// may be nil, is authenticated but not stored: Decrypt must be given the
// same. Without a tenant in ctx it returns [ErrNoTenant] and makes no KMS
// call.
func (e *Envelope) Encrypt(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	t, ok := tenant.FromContext(ctx)
	if !ok || t.IsZero() {
		return nil, ErrNoTenant
	}
	var k *dataKey
	var err error
	if e.cache == nil {
		k, err = e.generate(ctx, t)
	} else {
		k, err = e.cache.sealKey(ctx, t.ID(), uint64(len(plaintext)), func() (*dataKey, error) { return e.generate(ctx, t) })
	}
	if err != nil {
		return nil, err
	}
	return k.seal(plaintext, aad)
}

// seal builds the ciphertext in one allocation: the additional data is
// laid out in front of the header, which is its last part, and cut off the
// result.
func (k *dataKey) seal(plaintext, aad []byte) ([]byte, error) {
	start := len(k.context) + 4 + len(aad) // where the ciphertext's header starts
	adLen := start + len(k.header) + nonceLen
	end := adLen + len(plaintext) + tagLen
	buf := make([]byte, adLen, end)
	n := copy(buf, k.context)
	binary.BigEndian.PutUint32(buf[n:], uint32(len(aad)))
	copy(buf[n+4:], aad)
	copy(buf[start:], k.header)
	nonce := buf[adLen-nonceLen : adLen]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("kmsenvelope: nonce: %w", err)
	}
	out := k.aead.Seal(buf, nonce, plaintext, buf)
	return out[start:end:end], nil
}

// Decrypt opens a ciphertext of the context's tenant, sealed by Encrypt with
// the same aad. It returns no plaintext with an error: without a tenant in
// ctx, [ErrNoTenant] (no KMS call); for a ciphertext of another tenant,
// [ErrWrongTenant]; for one that is malformed, tampered with or whose data
// key KMS refuses under the tenant's encryption context, an error wrapping
// [ErrDecrypt]; when the tenant's key is disabled or deleted, one wrapping
// [ErrShredded].
func (e *Envelope) Decrypt(ctx context.Context, ciphertext, aad []byte) ([]byte, error) {
	t, ok := tenant.FromContext(ctx)
	if !ok || t.IsZero() {
		return nil, ErrNoTenant
	}
	h, err := parse(ciphertext)
	if err != nil {
		return nil, err
	}
	if string(h.tenant) != t.ID() {
		return nil, ErrWrongTenant
	}
	var k *dataKey
	if e.cache == nil {
		k, err = e.decryptKey(ctx, t, h.encryptedKey)
	} else {
		k, err = e.cache.openKey(ctx, t.ID(), h.encryptedKey, func() (*dataKey, error) { return e.decryptKey(ctx, t, h.encryptedKey) })
	}
	if err != nil {
		return nil, err
	}
	return k.open(h, aad)
}

func (k *dataKey) open(h header, aad []byte) ([]byte, error) {
	n := len(h.sealed) - tagLen
	buf := make([]byte, n, n+len(k.context)+4+len(aad)+len(h.raw))
	ad := append(buf[n:n], k.context...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(aad)))
	ad = append(ad, aad...)
	ad = append(ad, h.raw...)
	pt, err := k.aead.Open(buf[:0], h.nonce, h.sealed, ad)
	if err != nil {
		clear(buf)
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	return pt[:n:n], nil
}

// generate asks KMS for a new data key of t's key.
func (e *Envelope) generate(ctx context.Context, t tenant.Tenant) (*dataKey, error) {
	keyID, err := e.resolveKey(ctx, t)
	if err != nil {
		return nil, err
	}
	ec := e.encryptionContext(t.ID())
	out, err := e.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             &keyID,
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: ec,
	})
	if err != nil {
		return nil, kmsError(ctx, "GenerateDataKey", err)
	}
	if len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxEncryptedKeyLen {
		clear(out.Plaintext)
		return nil, fmt.Errorf("kmsenvelope: GenerateDataKey: %w: an encrypted data key of %d bytes", ErrKMS, len(out.CiphertextBlob))
	}
	return newDataKey(t.ID(), out.Plaintext, out.CiphertextBlob, ec, "GenerateDataKey")
}

// decryptKey asks KMS to decrypt a data key of t's under t's encryption
// context.
func (e *Envelope) decryptKey(ctx context.Context, t tenant.Tenant, encrypted []byte) (*dataKey, error) {
	keyID, err := e.resolveKey(ctx, t)
	if err != nil {
		return nil, err
	}
	ec := e.encryptionContext(t.ID())
	// The encrypted key aliases the caller's input, which may change after
	// Decrypt returns; the cache keeps a copy.
	blob := append([]byte(nil), encrypted...)
	out, err := e.client.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:      blob,
		KeyId:               &keyID,
		EncryptionContext:   ec,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	if err != nil {
		return nil, kmsError(ctx, "Decrypt", err)
	}
	return newDataKey(t.ID(), out.Plaintext, blob, ec, "Decrypt")
}

func newDataKey(tenantID string, plaintext, encrypted []byte, ec map[string]string, op string) (*dataKey, error) {
	defer clear(plaintext)
	if len(plaintext) != dataKeyLen {
		return nil, fmt.Errorf("kmsenvelope: %s: %w: a data key of %d bytes, want %d", op, ErrKMS, len(plaintext), dataKeyLen)
	}
	block, err := aes.NewCipher(plaintext)
	if err != nil {
		return nil, fmt.Errorf("kmsenvelope: %s: %w: %w", op, ErrKMS, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("kmsenvelope: %s: %w: %w", op, ErrKMS, err)
	}
	return &dataKey{
		aead:      aead,
		encrypted: encrypted,
		tenantID:  tenantID,
		header:    appendHeader(nil, tenantID, encrypted),
		context:   appendContext(nil, ec),
		obtained:  time.Now(),
	}, nil
}
