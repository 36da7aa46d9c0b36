package kmsenvelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
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
	cache  *cache    // nil with WithoutCache
	adPool sync.Pool // of *[]byte: additional-data buffers
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
	e.adPool.New = func() any { b := make([]byte, 0, 256); return &b }
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
	return k.seal(&e.adPool, plaintext, aad)
}

// seal builds the ciphertext in one allocation of its exact size; the
// additional data is built in a pooled buffer.
func (k *dataKey) seal(pool *sync.Pool, plaintext, aad []byte) ([]byte, error) {
	hl := len(k.header) + nonceLen
	out := make([]byte, hl, hl+len(plaintext)+tagLen)
	copy(out, k.header)
	nonce := out[len(k.header):hl]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("kmsenvelope: nonce: %w", err)
	}
	ad := k.additionalData(pool, nonce, aad)
	out = k.aead.Seal(out, nonce, plaintext, *ad)
	putAD(pool, ad)
	return out, nil
}

// additionalData returns the GCM additional data of a ciphertext of k's
// with nonce and the caller's aad, in a buffer of pool; putAD returns it.
func (k *dataKey) additionalData(pool *sync.Pool, nonce, aad []byte) *[]byte {
	p := pool.Get().(*[]byte)
	b := append((*p)[:0], k.fixedAD...)
	b = append(b, nonce...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(aad)))
	*p = append(b, aad...)
	return p
}

// maxPooledAD is the largest additional-data buffer kept for reuse.
const maxPooledAD = 4 << 10

func putAD(pool *sync.Pool, p *[]byte) {
	if cap(*p) <= maxPooledAD {
		*p = (*p)[:0]
		pool.Put(p)
	}
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
	return k.open(&e.adPool, h, aad)
}

func (k *dataKey) open(pool *sync.Pool, h header, aad []byte) ([]byte, error) {
	ad := k.additionalData(pool, h.nonce, aad)
	pt, err := k.aead.Open(make([]byte, 0, len(h.sealed)-tagLen), h.nonce, h.sealed, *ad)
	putAD(pool, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	return pt, nil
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
		fixedAD:   appendFixedAD(appendContext(nil, ec), tenantID, encrypted),
		obtained:  time.Now(),
	}, nil
}
